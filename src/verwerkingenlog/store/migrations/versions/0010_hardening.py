"""hardening: the client change counter (issue 19.5)

Revision ID: 0010
Revises: 0009

`client_change` holds one row whose `counter` the database itself raises on every INSERT, UPDATE and DELETE of
`api_client` (triggers, on both databases). A server process on SQLite reads it on every client lookup it
would otherwise serve from its cache (services.client_cache): a removal or rotation committed by another
process (the CLI beside the server), or by hand in SQL, empties the cache before the next request is
authenticated. PostgreSQL processes hear changes through LISTEN/NOTIFY; the counter runs there too, so that both
databases have one schema (its trigger function is SECURITY DEFINER: the application role needs no privilege
on `client_change`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "client_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO client_change (id, counter) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION verwerkingenlog_client_changed() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
            BEGIN
              UPDATE client_change SET counter = counter + 1 WHERE id = 1;
              RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER api_client_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_client "
            "FOR EACH STATEMENT EXECUTE FUNCTION verwerkingenlog_client_changed()"
        )
    else:
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER api_client_{event.lower()}_counted AFTER {event} ON api_client "
                "BEGIN UPDATE client_change SET counter = counter + 1 WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS api_client_changed ON api_client")
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_client_changed()")
    else:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS api_client_{event.lower()}_counted")
    op.drop_table("client_change")
