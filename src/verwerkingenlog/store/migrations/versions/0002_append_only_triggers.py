"""append-only: the database itself refuses UPDATE and DELETE on the log tables (R-VER-5)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LOG_TABLES = ("verwerkingsactie_versie", "verwerkt_object")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION verwerkingenlog_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'verwerkingenlog: % on % is not allowed; the log is append-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END $$ LANGUAGE plpgsql
            """
        )
        for table in LOG_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION verwerkingenlog_append_only()"
            )
    else:
        for table in LOG_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: {event} on {table} is not allowed; "
                    "the log is append-only'); END"
                )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in LOG_TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_append_only()")
