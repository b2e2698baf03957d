"""append-only: the database itself refuses UPDATE and DELETE on the log tables (R-VER-5)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LOG_TABLES = ("verwerkingsactie_versie", "verwerkt_object")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(guards.PG_APPEND_ONLY_FUNCTION)
    for table in LOG_TABLES:
        for statement in guards.append_only(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in LOG_TABLES:
        for statement in guards.drop_append_only(table, dialect):
            op.execute(statement)
    if dialect == "postgresql":
        op.execute(guards.PG_DROP_APPEND_ONLY_FUNCTION)
