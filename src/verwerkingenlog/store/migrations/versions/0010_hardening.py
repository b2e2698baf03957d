"""hardening: the client change counter (issue 19.5), recorded re-pseudonymisation (issue 19.3)

Revision ID: 0010
Revises: 0009

`client_change` holds one row whose `counter` the database itself raises on every INSERT, UPDATE and DELETE of
`api_client` (triggers, on both databases). A server process on SQLite reads it on every client lookup it
would otherwise serve from its cache (services.client_cache): a removal or rotation committed by another
process (the CLI beside the server), or by hand in SQL, empties the cache before the next request is
authenticated. PostgreSQL processes hear changes through LISTEN/NOTIFY; the counter runs there too, so that both
databases have one schema (its trigger function is SECURITY DEFINER: the application role needs no privilege
on `client_change`).

Re-pseudonymisation (issue 19.3, docs/integrity.md §14): `herpseudonimisering` records each pass that
re-stored objectIds written in the clear or re-keyed an earlier blind index (counts and the leaves of the versions
it touched; the pass is itself a leaf of the log, like a purge), `herpseudonimiseerd_object` lists the object rows
it re-stored, `herpseudonimisering_grens` keeps the highest object row written before this upgrade. All three are
insert-only. The UPDATE refusal on `verwerkt_object` (migrations 0002/0009) gets exactly one exception: a row
listed in `herpseudonimiseerd_object` may change its storage form — `object_id` to NULL, `object_id_enc` and
`object_sleutel` set — and nothing else. The pass itself needs the pseudonymisation key, so it runs in Python
after the upgrade (`verwerkingenlog migrate`, and at start-up with MIGRATE_ON_START), like the adoption of 0005.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EVENTS = ("INSERT", "UPDATE", "DELETE")
SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OBJECT = "verwerkt_object"
RECORDS = ("herpseudonimisering", "herpseudonimiseerd_object", "herpseudonimisering_grens")
# Casings of "bsn" other than "BSN": earlier versions pseudonymised these, but with a blind index over the casing.
BSN_CASINGS = "('BSn', 'BsN', 'Bsn', 'bSN', 'bSn', 'bsN', 'bsn')"
# Every column of verwerkt_object that a re-pseudonymisation must leave as it is.
_KEPT = (
    "id",
    "versie_seq",
    "positie",
    "verwerkt_object_id",
    "objecttype",
    "soort_object_id",
    "tijdstip_us",
    "betrokkenheid",
    "soorten_gegevens",
    "tijdstip_registratie_us",
)
_UNCHANGED = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _KEPT)
_UNCHANGED_SQLITE = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _KEPT)
_LISTED = "EXISTS (SELECT 1 FROM herpseudonimiseerd_object h WHERE h.object_row = OLD.id)"
_STORED_SEALED = "NEW.object_id IS NULL AND NEW.object_id_enc IS NOT NULL"


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
    _repseudonymisation()


def _repseudonymisation() -> None:
    op.create_table(
        "herpseudonimisering",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("tijdstip_registratie_us", sa.BigInteger(), nullable=False),
        sa.Column("versies", sa.Integer(), nullable=False),
        sa.Column("objecten", sa.Integer(), nullable=False),
    )
    op.create_table(
        "herpseudonimiseerd_object",
        sa.Column("object_row", SeqType, primary_key=True, autoincrement=False),
        sa.Column("herpseudonimisering_id", SeqType, sa.ForeignKey("herpseudonimisering.id"), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_herpseudonimiseerd_pass", "herpseudonimiseerd_object", ["herpseudonimisering_id"])
    # The highest object row an earlier version wrote: only rows up to it can carry an earlier blind index.
    op.create_table(
        "herpseudonimisering_grens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("object_row", sa.BigInteger(), nullable=False),
    )
    op.execute(f"INSERT INTO herpseudonimisering_grens (id, object_row) SELECT 1, COALESCE(MAX(id), 0) FROM {OBJECT}")
    op.create_index(
        "ix_object_bsn_casing",
        OBJECT,
        ["id"],
        postgresql_where=sa.text(f"soort_object_id IN {BSN_CASINGS}"),
        sqlite_where=sa.text(f"soort_object_id IN {BSN_CASINGS}"),
    )
    # Finding what is still in the clear costs nothing once nothing is: an index of only those rows.
    op.create_index(
        "ix_object_in_the_clear",
        OBJECT,
        ["id"],
        postgresql_where=sa.text("object_id IS NOT NULL"),
        sqlite_where=sa.text("object_id IS NOT NULL"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in RECORDS:  # insert-only, like the purge records (0005) and the admin tables (0007)
        for statement in guards.append_only(table, op.get_bind().dialect.name):
            op.execute(statement)
    if postgres:
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION verwerkingenlog_repseudonymise_only() RETURNS trigger AS $$
            BEGIN
              IF {_LISTED} AND {_UNCHANGED} AND {_STORED_SEALED} THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION
                'verwerkingenlog: % on % is not allowed; the log is append-only (only a recorded '
                're-pseudonymisation changes how an objectId is stored)',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(f"DROP TRIGGER IF EXISTS {OBJECT}_append_only ON {OBJECT}")
        op.execute(
            f"CREATE TRIGGER {OBJECT}_append_only BEFORE UPDATE ON {OBJECT} "
            "FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_repseudonymise_only()"
        )
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {OBJECT}_no_update")
        op.execute(
            f"CREATE TRIGGER {OBJECT}_no_update BEFORE UPDATE ON {OBJECT} "
            f"WHEN NOT ({_LISTED} AND {_UNCHANGED_SQLITE} AND {_STORED_SEALED}) "
            f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: UPDATE on {OBJECT} is not allowed; "
            "the log is append-only'); END"
        )


def _undo_repseudonymisation() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(guards.pg_drop(OBJECT, "append_only"))
        op.execute(guards.pg_refuse(OBJECT, "UPDATE"))
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_repseudonymise_only()")
    else:
        op.execute(guards.sqlite_drop(OBJECT, "update"))
        op.execute(guards.sqlite_refuse(OBJECT, "UPDATE"))
    op.drop_index("ix_object_in_the_clear", table_name=OBJECT)
    op.drop_index("ix_object_bsn_casing", table_name=OBJECT)
    op.drop_table("herpseudonimisering_grens")
    op.drop_index("ix_herpseudonimiseerd_pass", table_name="herpseudonimiseerd_object")
    op.drop_table("herpseudonimiseerd_object")
    op.drop_table("herpseudonimisering")


def downgrade() -> None:
    _undo_repseudonymisation()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS api_client_changed ON api_client")
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_client_changed()")
    else:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS api_client_{event.lower()}_counted")
    op.drop_table("client_change")
