"""web sessions: the portal's and the admin pages' logged-in sessions, so that logout ends them (issue 19.6)

Not a log table: rows are inserted at login and deleted at logout or when they are too old.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        sa.Column("ui", sa.String(length=16), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_web_session_created", "web_session", ["created_us"])


def downgrade() -> None:
    # IF EXISTS: on SQLite a downgrade that a later step refuses (0011 with key-pair clients) has already run this
    # DDL outside any transaction; the retry must not fail on what is already gone.
    op.execute("DROP INDEX IF EXISTS ix_web_session_created")
    op.execute("DROP TABLE IF EXISTS web_session")
