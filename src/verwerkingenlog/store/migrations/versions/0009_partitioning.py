"""PostgreSQL: the log tables partitioned by registration time, one partition per month (issue 7)

Revision ID: 0009
Revises: 0008

docs/performance.md "Partitioning by registration time". On PostgreSQL `verwerkingsactie_versie` and
`verwerkt_object` become `PARTITION BY RANGE (tijdstip_registratie_us)`, one partition per calendar month (UTC)
plus a DEFAULT partition. The existing rows move into the new tables with their `seq`/`id` values, and the
sequences move with them (they are never reset: a `seq` names one version for ever). Objects get a copy of
their version's `tijdstip_registratie_us` (the partition key must be a column of every partitioned table);
on SQLite they get the same column and nothing else changes (one set of SQLAlchemy statements for both).

What the partition key changes on PostgreSQL:

- Every primary key and unique constraint must contain the key: `PRIMARY KEY (seq, tijdstip_registratie_us)`.
  `actie_id` and `(lineage_id, versie)` lose their (no longer possible) global unique constraints; both stay
  unique by construction (a new random v4 UUID per version; versions appended under the lineage lock, R-VER-7)
  and `actie_id` keeps an index (`ix_versie_actie`, one probe per partition).
- The foreign key verwerkt_object → verwerkingsactie_versie is dropped: between partitioned tables it pins
  every version partition to the whole object table (neither TRUNCATE nor DROP of one month is possible). Both
  rows are only ever written together, in one transaction (store.write, store.bulk).
- The append-only triggers of 0002/0005 are declared on the parents: the row triggers (UPDATE refused, DELETE
  only for listed leaves) are inherited by every partition. TRUNCATE triggers are statement triggers, which a
  partition does not inherit: each partition gets its own `..._purged_only` TRUNCATE trigger that refuses
  unless the leaf of every row in it is listed in `purged_leaf` (the partition purge, services.partitions).
- Partitions are created by the SECURITY DEFINER function `verwerkingenlog_create_partition(month)` (as the
  owner: creating a partition needs ownership of the parent), which the server calls at start and daily for
  the current month and the months ahead; a fully purged partition is emptied by
  `verwerkingenlog_purge_partition(month)` (TRUNCATE, still checked by the trigger) and removed by
  `verwerkingenlog_drop_partition(month)`, which drops only empty partitions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

VERSIE = "verwerkingsactie_versie"
OBJECT = "verwerkt_object"
AHEAD_MONTHS = 3  # settings.partitions_ahead_months' default; the server keeps it up to date from then on

_VERSIE_COLUMNS = """
    seq bigint NOT NULL DEFAULT nextval('verwerkingsactie_versie_seq_seq'),
    actie_id varchar(36) NOT NULL,
    lineage_id varchar(36) NOT NULL,
    versie integer NOT NULL,
    vervallen boolean NOT NULL,
    tijdstip_registratie_us bigint NOT NULL,
    client_id varchar(100),
    tijdstip varchar(64) NOT NULL,
    tijdstip_us bigint NOT NULL,
    vertrouwelijkheid varchar(16) NOT NULL,
    actie_naam varchar(242),
    handeling_naam varchar(242),
    verwerking_naam varchar(242),
    verwerking_id varchar(36),
    verwerkingsactiviteit_id varchar(36),
    verwerkingsactiviteit_url varchar(2042),
    bewaartermijn varchar(64),
    uitvoerder varchar(20),
    systeem varchar(242),
    gebruiker varchar(40),
    gegevensbron varchar(242),
    soort_afnemer_id varchar(242),
    afnemer_id varchar(40),
    afnemer_id_enc bytea,
    verwerkingsactiviteit_id_afnemer varchar(36),
    verwerkingsactiviteit_url_afnemer varchar(2042),
    verwerking_id_afnemer varchar(36)
"""

_OBJECT_COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('verwerkt_object_id_seq'),
    versie_seq bigint NOT NULL,
    positie integer NOT NULL,
    verwerkt_object_id varchar(36) NOT NULL,
    objecttype varchar(16) NOT NULL,
    soort_object_id varchar(242) NOT NULL,
    object_id varchar(40),
    object_id_enc bytea,
    object_sleutel bytea NOT NULL,
    tijdstip_us bigint NOT NULL,
    betrokkenheid varchar(242),
    soorten_gegevens text NOT NULL,
    tijdstip_registratie_us bigint NOT NULL
"""

# Declared on the parents: PostgreSQL builds each on every partition, present and future.
_INDEXES = (
    f"ALTER TABLE {VERSIE} ADD CONSTRAINT pk_verwerkingsactie_versie PRIMARY KEY (seq, tijdstip_registratie_us)",
    f"CREATE INDEX ix_versie_actie ON {VERSIE} (actie_id)",
    f"CREATE INDEX ix_versie_lineage_seq ON {VERSIE} (lineage_id, seq)",
    f"CREATE INDEX ix_versie_verwerking ON {VERSIE} (verwerking_id)",
    f"CREATE INDEX ix_versie_activiteit ON {VERSIE} (verwerkingsactiviteit_id)",
    f"ALTER TABLE {OBJECT} ADD CONSTRAINT pk_verwerkt_object PRIMARY KEY (id, tijdstip_registratie_us)",
    f"CREATE INDEX ix_object_sleutel_tijdstip ON {OBJECT} (object_sleutel, tijdstip_us)",
    f"CREATE INDEX ix_object_versie ON {OBJECT} (versie_seq)",
    f"CREATE INDEX ix_object_verwerkt_object_id ON {OBJECT} (verwerkt_object_id)",
)

_FUNCTIONS = (
    guards.PG_TRUNCATE_PURGED_FUNCTION,
    # month → (partition suffix, lower bound µs, upper bound µs), UTC calendar months.
    """
    CREATE OR REPLACE FUNCTION verwerkingenlog_partition_bounds(month date, OUT suffix text, OUT lo bigint,
                                                                OUT hi bigint)
    LANGUAGE sql IMMUTABLE AS $$
      SELECT to_char(date_trunc('month', month), '"p"YYYY_MM'),
             (extract(epoch FROM date_trunc('month', month)::timestamp) * 1000000)::bigint,
             (extract(epoch FROM (date_trunc('month', month) + interval '1 month')::timestamp) * 1000000)::bigint
    $$
    """,
    # Creates the month's partition of both tables (idempotent). NULL when rows of that month are already in the
    # DEFAULT partition (PostgreSQL refuses the new partition then; the rows stay where they are).
    f"""
    CREATE OR REPLACE FUNCTION verwerkingenlog_create_partition(month date) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
      b record := verwerkingenlog_partition_bounds(month);
      created boolean := false;
      t text;
      col text;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('verwerkingenlog_create_partition'));  -- server workers start together
      FOREACH t IN ARRAY ARRAY['{VERSIE}', '{OBJECT}'] LOOP
        col := CASE WHEN t = '{VERSIE}' THEN 'seq' ELSE 'versie_seq' END;
        IF to_regclass(t || '_' || b.suffix) IS NULL THEN
          BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                           t || '_' || b.suffix, t, b.lo, b.hi);
          EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'verwerkingenlog: partition % not created: the DEFAULT partition holds rows of that month',
              t || '_' || b.suffix;
            RETURN NULL;
          END;
          EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                         'EXECUTE FUNCTION verwerkingenlog_truncate_purged(%L)',
                         t || '_' || b.suffix || '_purged_only', t || '_' || b.suffix, col);
          created := true;
        END IF;
      END LOOP;
      RETURN created;
    END $$
    """,
    # Empties the month's partitions; the TRUNCATE triggers refuse unless every row's leaf is listed.
    f"""
    CREATE OR REPLACE FUNCTION verwerkingenlog_purge_partition(month date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
      b record := verwerkingenlog_partition_bounds(month);
      removed bigint;
    BEGIN
      IF to_regclass('{VERSIE}_' || b.suffix) IS NULL OR to_regclass('{OBJECT}_' || b.suffix) IS NULL THEN
        RAISE EXCEPTION 'verwerkingenlog: no partition for %', b.suffix;
      END IF;
      EXECUTE format('SELECT count(*) FROM %I', '{VERSIE}_' || b.suffix) INTO removed;
      EXECUTE format('TRUNCATE %I', '{OBJECT}_' || b.suffix);
      EXECUTE format('TRUNCATE %I', '{VERSIE}_' || b.suffix);
      RETURN removed;
    END $$
    """,
    # Drops the month's partitions, only when both are empty (so only after the purge above).
    f"""
    CREATE OR REPLACE FUNCTION verwerkingenlog_drop_partition(month date) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
      b record := verwerkingenlog_partition_bounds(month);
      t text;
      found boolean;
    BEGIN
      IF to_regclass('{VERSIE}_' || b.suffix) IS NULL THEN
        RETURN false;
      END IF;
      FOREACH t IN ARRAY ARRAY['{OBJECT}', '{VERSIE}'] LOOP
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', t || '_' || b.suffix);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t || '_' || b.suffix) INTO found;
        IF found THEN
          RAISE EXCEPTION 'verwerkingenlog: partition % is not empty; only an emptied (purged) partition is dropped',
            t || '_' || b.suffix USING ERRCODE = 'insufficient_privilege';
        END IF;
      END LOOP;
      EXECUTE format('DROP TABLE %I, %I', '{OBJECT}_' || b.suffix, '{VERSIE}_' || b.suffix);
      RETURN true;
    END $$
    """,
)
_FUNCTION_SIGNATURES = (
    "verwerkingenlog_create_partition(date)",
    "verwerkingenlog_purge_partition(date)",
    "verwerkingenlog_drop_partition(date)",
)


def _grants(bind: Any, table: str) -> list[tuple[str, str]]:
    rows = bind.execute(
        sa.text(
            "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = current_schema() AND table_name = :t AND grantee <> current_user"
        ),
        {"t": table},
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def _upgrade_postgresql() -> None:
    bind = op.get_bind()
    grants = {table: _grants(bind, table) for table in (VERSIE, OBJECT)}
    # 1. The old tables aside; their sequences stay (and keep their privileges) for the new ones.
    op.execute(f"ALTER SEQUENCE {VERSIE}_seq_seq OWNED BY NONE")
    op.execute(f"ALTER SEQUENCE {OBJECT}_id_seq OWNED BY NONE")
    op.execute(f"ALTER TABLE {OBJECT} RENAME TO {OBJECT}_0008")
    op.execute(f"ALTER TABLE {VERSIE} RENAME TO {VERSIE}_0008")
    # 2. The partitioned parents.
    op.execute(f"CREATE TABLE {VERSIE} ({_VERSIE_COLUMNS}) PARTITION BY RANGE (tijdstip_registratie_us)")
    op.execute(f"CREATE TABLE {OBJECT} ({_OBJECT_COLUMNS}) PARTITION BY RANGE (tijdstip_registratie_us)")
    op.execute(f"ALTER SEQUENCE {VERSIE}_seq_seq OWNED BY {VERSIE}.seq")
    op.execute(f"ALTER SEQUENCE {OBJECT}_id_seq OWNED BY {OBJECT}.id")
    for statement in _FUNCTIONS:
        op.execute(statement)
    for signature in _FUNCTION_SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    # 3. A partition for every month that has rows, and for this month and the ones ahead; a DEFAULT for the rest.
    op.execute(
        f"""
        SELECT verwerkingenlog_create_partition(m::date) FROM generate_series(
          date_trunc('month', LEAST(now() AT TIME ZONE 'UTC', to_timestamp(
            (SELECT MIN(tijdstip_registratie_us) FROM {VERSIE}_0008) / 1000000.0) AT TIME ZONE 'UTC')),
          date_trunc('month', GREATEST((now() AT TIME ZONE 'UTC') + interval '{AHEAD_MONTHS} months', to_timestamp(
            (SELECT MAX(tijdstip_registratie_us) FROM {VERSIE}_0008) / 1000000.0) AT TIME ZONE 'UTC')),
          interval '1 month') AS m
        """
    )
    for table, column in ((VERSIE, "seq"), (OBJECT, "versie_seq")):
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        op.execute(guards.pg_truncate_purged(f"{table}_default", column))
    # 4. The rows, with their seq and id values.
    op.execute(f"INSERT INTO {VERSIE} SELECT * FROM {VERSIE}_0008")
    op.execute(
        f"INSERT INTO {OBJECT} SELECT o.*, v.tijdstip_registratie_us FROM {OBJECT}_0008 o "
        f"JOIN {VERSIE}_0008 v ON v.seq = o.versie_seq"
    )
    op.execute(f"DROP TABLE {OBJECT}_0008")
    op.execute(f"DROP TABLE {VERSIE}_0008")
    # 5. Keys and indexes (built per partition after the load), the append-only triggers, the privileges.
    for statement in _INDEXES:
        op.execute(statement)
    for table, column in ((VERSIE, "seq"), (OBJECT, "versie_seq")):
        op.execute(guards.pg_refuse(table, "UPDATE"))
        op.execute(guards.pg_purge_only(table, f"verwerkingenlog_purge_only('{column}')"))
        op.execute(guards.pg_no_truncate(table))
        for grantee, privilege in grants[table]:
            op.execute(f'GRANT {privilege} ON {table} TO "{grantee}"')
    op.execute(f"ANALYZE {VERSIE}")
    op.execute(f"ANALYZE {OBJECT}")


def _upgrade_sqlite() -> None:
    # The column, filled from each object's version; the UPDATE trigger of 0002 steps aside for it.
    op.execute(f"ALTER TABLE {OBJECT} ADD COLUMN tijdstip_registratie_us BIGINT NOT NULL DEFAULT 0")
    op.execute(f"DROP TRIGGER {OBJECT}_no_update")
    op.execute(
        f"UPDATE {OBJECT} SET tijdstip_registratie_us = "
        f"(SELECT v.tijdstip_registratie_us FROM {VERSIE} v WHERE v.seq = {OBJECT}.versie_seq)"
    )
    op.execute(guards.sqlite_refuse(OBJECT, "UPDATE"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute(f"ALTER TABLE {OBJECT} DROP COLUMN tijdstip_registratie_us")
        return
    raise NotImplementedError(
        "0009 is not reversed on PostgreSQL: restore the backup taken before the upgrade "
        "(docs/deployment.md), or copy the rows into unpartitioned tables by hand."
    )
