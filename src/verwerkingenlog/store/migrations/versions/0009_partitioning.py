"""PostgreSQL monthly partitioning by registration time (issue 7)

Placeholder reserved so that parallel work keeps one Alembic head; filled in by its issue's change.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
