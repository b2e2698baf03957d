"""The DDL of the append-only and purge-only guards (R-VER-5, R-RET-3), for the migrations.

The database itself refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) of a log row; DELETE only of a row whose
Merkle leaf a recorded purge lists in `purged_leaf` (docs/integrity.md). Every migration that guards a table
writes its triggers with these helpers, so a guard reads the same wherever it is declared.

**Frozen.** A migration is a snapshot: what it emitted once it must emit for ever, or a database migrated by an
older release would hold other triggers than one migrated today. So the text a helper returns never changes
(tests/test_migration_guards.py pins, per revision and dialect, every statement each migration runs, up and
down). A new kind of guard, or a changed message, is a *new* helper (named after the revision that introduces
it, e.g. ``append_only_0013``) used by a new migration, which drops and recreates the triggers it replaces.

A new guarded table in a new migration::

    from verwerkingenlog.store.migrations import guards

    for statement in guards.append_only(TABLE, op.get_bind().dialect.name):
        op.execute(statement)

and it is added to `GUARDED_TABLES` below (the test proves the database refuses both statements on it).
"""

from __future__ import annotations

from typing import Literal

Guard = Literal["append-only", "purge-only"]

# The one list of guarded tables, as the newest migration leaves them: "append-only" refuses UPDATE and DELETE;
# "purge-only" refuses UPDATE and DELETE except of rows whose leaf a recorded purge lists (R-RET-3).
GUARDED_TABLES: dict[str, Guard] = {
    "verwerkingsactie_versie": "purge-only",  # 0002, purge-only since 0005
    "verwerkt_object": "purge-only",  # 0002, purge-only since 0005; UPDATE by a recorded re-pseudonymisation (0010)
    "verwerkingsactiviteit_versie": "append-only",  # 0003
    "merkle_node": "append-only",  # 0005
    "checkpoint": "append-only",  # 0005
    "signing_key": "append-only",  # 0005
    "purge": "append-only",  # 0005
    "purged_leaf": "append-only",  # 0005
    "logboekregel": "purge-only",  # 0006, purge-only since 0008
    "admin_audit": "append-only",  # 0007
    "verify_result": "append-only",  # 0007
    "herpseudonimisering": "append-only",  # 0010
    "herpseudonimiseerd_object": "append-only",  # 0010
    "herpseudonimisering_grens": "append-only",  # 0010
    "fg_volglijst": "append-only",  # 0013 (the FG's watch list: events, never changed)
}

# ---- PostgreSQL ------------------------------------------------------------------------------------------------

# 0002: the trigger function every append-only trigger runs.
PG_APPEND_ONLY_FUNCTION = """
            CREATE OR REPLACE FUNCTION verwerkingenlog_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'verwerkingenlog: % on % is not allowed; the log is append-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END $$ LANGUAGE plpgsql
            """
PG_DROP_APPEND_ONLY_FUNCTION = "DROP FUNCTION IF EXISTS verwerkingenlog_append_only()"


def pg_refuse(table: str, events: str = "UPDATE OR DELETE") -> str:
    """0002: the row trigger ``<table>_append_only`` refusing `events` (0005 on: ``UPDATE`` alone)."""
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE {events} ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_append_only()"
    )


def pg_no_truncate(table: str) -> str:
    """0002: the statement trigger ``<table>_no_truncate``."""
    return (
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION verwerkingenlog_append_only()"
    )


def pg_drop(table: str, trigger: str) -> str:
    """Drop the trigger ``<table>_<trigger>`` (``append_only``, ``no_truncate``, ``purge_only``)."""
    return f"DROP TRIGGER IF EXISTS {table}_{trigger} ON {table}"


def purged(kind: str, seq: str) -> str:
    """0005: the condition of a purge-only DELETE: the row's leaf (of `kind`, `ref` = `seq`) is listed."""
    return (
        "SELECT 1 FROM merkle_node n JOIN purged_leaf p ON p.leaf_index = n.idx "
        f"WHERE n.kind = '{kind}' AND n.ref = {seq} AND n.level = 0"
    )


def pg_purge_only_function(name: str, kind: str, seq: str) -> str:
    """0005: a trigger function that lets a DELETE through only for a listed leaf (`seq`: an expression on OLD)."""
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN
          IF EXISTS ({purged(kind, seq)}) THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION
            'verwerkingenlog: % on % is not allowed; the log is append-only (only a recorded purge removes content)',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql
        """


def pg_purge_only(table: str, call: str) -> str:
    """0005: the row trigger ``<table>_purge_only`` on DELETE; `call` is the function with its arguments."""
    return f"CREATE TRIGGER {table}_purge_only BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {call}"


def pg_purge_function(name: str, deletes: tuple[str, ...]) -> tuple[str, str]:
    """0005: the SECURITY DEFINER function through which the application role removes purged rows (it needs no
    DELETE privilege, docs/deployment.md; the purge-only triggers still check every row), and its REVOKE."""
    body = "\n          ".join(f"{delete};" for delete in deletes)
    return (
        f"""
        CREATE OR REPLACE FUNCTION {name}(seqs bigint[]) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        DECLARE removed bigint;
        BEGIN
          {body}
          GET DIAGNOSTICS removed = ROW_COUNT;
          RETURN removed;
        END $$
        """,
        f"REVOKE ALL ON FUNCTION {name}(bigint[]) FROM PUBLIC",
    )


# 0009: a row of a partition whose version's leaf no purge lists (quoted for format()).
_UNLISTED = (
    "SELECT 1 FROM %I.%I t WHERE NOT EXISTS (SELECT 1 FROM merkle_node n JOIN purged_leaf p ON p.leaf_index = n.idx "
    "WHERE n.kind = ''verwerkingsactie'' AND n.level = 0 AND n.ref = t.%I)"
)

# 0009: the TRUNCATE trigger function of a partition: refuses unless the leaf of every row in it is listed.
PG_TRUNCATE_PURGED_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION verwerkingenlog_truncate_purged() RETURNS trigger AS $$
    DECLARE unlisted boolean;
    BEGIN
      EXECUTE format('SELECT EXISTS ({_UNLISTED})', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]) INTO unlisted;
      IF unlisted THEN
        RAISE EXCEPTION 'verwerkingenlog: TRUNCATE on % is not allowed; the log is append-only '
          '(only a recorded purge removes content)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """


def pg_truncate_purged(partition: str, column: str) -> str:
    """0009: the TRUNCATE trigger ``<partition>_purged_only`` (`column` holds the version's seq). The monthly
    partitions get theirs from verwerkingenlog_create_partition (migration 0009), in the same words."""
    return (
        f"CREATE TRIGGER {partition}_purged_only BEFORE TRUNCATE ON {partition} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION verwerkingenlog_truncate_purged('{column}')"
    )


# ---- SQLite ----------------------------------------------------------------------------------------------------


def sqlite_refuse(table: str, event: str, subject: str = "the log") -> str:
    """0002: the trigger ``<table>_no_<event>`` refusing `event` (UPDATE or DELETE); 0003 says "the register"."""
    return (
        f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: {event} on {table} is not allowed; "
        f"{subject} is append-only'); END"
    )


def sqlite_purge_only(table: str, kind: str, seq: str) -> str:
    """0005: the trigger ``<table>_no_delete`` refusing a DELETE unless the row's leaf is listed."""
    return (
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN NOT EXISTS ({purged(kind, seq)}) "
        f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: DELETE on {table} is not allowed; the log is "
        "append-only (only a purge recorded in the log removes content)'); END"
    )


def sqlite_drop(table: str, event: str) -> str:
    """Drop the trigger ``<table>_no_<event>`` (`event` lower case: update, delete)."""
    return f"DROP TRIGGER IF EXISTS {table}_no_{event}"


# ---- both ------------------------------------------------------------------------------------------------------


def append_only(table: str, dialect: str, subject: str = "the log") -> list[str]:
    """0002: the guards of an append-only table (PostgreSQL: UPDATE/DELETE and TRUNCATE; SQLite: UPDATE, DELETE,
    whose message names `subject`). On PostgreSQL they run PG_APPEND_ONLY_FUNCTION, which migration 0002 creates."""
    if dialect == "postgresql":
        return [pg_refuse(table), pg_no_truncate(table)]
    return [sqlite_refuse(table, event, subject) for event in ("UPDATE", "DELETE")]


def drop_append_only(table: str, dialect: str) -> list[str]:
    """0002: the guards of `append_only`, dropped (downgrades)."""
    if dialect == "postgresql":
        return [pg_drop(table, "append_only"), pg_drop(table, "no_truncate")]
    return [sqlite_drop(table, event) for event in ("update", "delete")]
