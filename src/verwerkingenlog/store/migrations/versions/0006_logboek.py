"""logboek dataverwerkingen: what a Logius log line has beside its verwerkingsactie (docs/logboek.md)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "logboekregel"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("lineage_id", sa.String(length=36), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("parent_span_id", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=5), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("processor", sa.Text(), nullable=True),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("lineage_id", name="pk_logboekregel"),
        sa.UniqueConstraint("trace_id", "span_id", name="uq_logboekregel_span"),
    )
    # Insert-only like the log tables (R-VER-5).
    for statement in guards.append_only(TABLE, op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table(TABLE)
