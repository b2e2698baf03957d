"""admin pages: audit entries and the stored last verify result (issue 9)

Placeholder reserved so that parallel work keeps one Alembic head; filled in by its issue's change.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
