"""admin pages: audit entries and the stored last verify result (issue 9, docs/admin.md)

Both tables are insert-only like the log tables (R-VER-5): the database refuses UPDATE, DELETE and TRUNCATE.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("admin_audit", "verify_result")


def upgrade() -> None:
    op.create_table(
        "admin_audit",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("roles", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_admin_audit_at", "admin_audit", ["at_us"])
    op.create_table(
        "verify_result",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=False),
        sa.Column("run_by", sa.String(length=255), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoints", sa.Integer(), nullable=False),
        sa.Column("witness_checkpoints", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("purged", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
    )
    # Insert-only (the function verwerkingenlog_append_only() is migration 0002's).
    for table in TABLES:
        for statement in guards.append_only(table, op.get_bind().dialect.name):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("verify_result")
    op.drop_index("ix_admin_audit_at", table_name="admin_audit")
    op.drop_table("admin_audit")
