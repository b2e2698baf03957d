"""The monthly partitions of the log tables on PostgreSQL (migration 0009, docs/performance.md).

`verwerkingsactie_versie` and `verwerkt_object` are partitioned by `tijdstip_registratie_us`, one partition per
calendar month (UTC), named `<table>_pYYYY_MM`, plus `<table>_default` for any registration time outside them.
Creating, emptying and dropping a partition goes through the owner's SECURITY DEFINER functions of migration
0009, so the application role needs no DDL or TRUNCATE privilege; SQLite has no partitions (every function here
is a no-op or returns nothing there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.store.tables import versie, verwerkt_object

PARTITIONED = (versie.name, verwerkt_object.name)
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")

PURGE_LOCK_KEY = 0x766C_7061_7274_7067  # ASCII "vlpartpg"
"""Advisory lock: a partition purge holds it exclusively; every change of an existing lineage (and the row-wise
purge) holds it shared (store.write.LogWriter.lock), so no lineage of a partition being purged can change."""


def month_of(us: int) -> date:
    """The first day of the UTC calendar month of an epoch-µs instant."""
    moment = datetime.fromtimestamp(us / 1_000_000, UTC)
    return date(moment.year, moment.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[int, int]:
    """[lower, upper) of the month's partition in epoch µs."""
    lo = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    hi = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    return int(lo.timestamp()) * 1_000_000, int(hi.timestamp()) * 1_000_000


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition of a log table: its month (None for DEFAULT), bounds, rows and size on disk."""

    table: str
    name: str
    month: date | None
    lo_us: int | None
    hi_us: int | None
    rows: int
    table_bytes: int
    index_bytes: int

    @property
    def label(self) -> str:
        return "DEFAULT" if self.month is None else f"{self.month:%Y-%m}"


def partitioned(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


async def create_months(conn: AsyncConnection, months: Sequence[date]) -> dict[date, bool | None]:
    """Create the partitions of ``months`` unless they exist: month → True (created), False (existed) or None
    (not possible: the DEFAULT partition already holds rows of that month)."""
    if not partitioned(conn):
        return {}
    out: dict[date, bool | None] = {}
    for month in months:
        found = (await conn.execute(text("SELECT verwerkingenlog_create_partition(:m)"), {"m": month})).scalar_one()
        out[month] = None if found is None else bool(found)
    return out


async def existing_months(conn: AsyncConnection) -> set[date]:
    """The months that have a partition of `verwerkingsactie_versie` (a catalog read, no lock on the log)."""
    return {p.month for p in await list_partitions(conn, versie.name, counts=False) if p.month is not None}


async def list_partitions(conn: AsyncConnection, table: str | None = None, counts: bool = True) -> list[Partition]:
    """The partitions of the log tables (or of one), oldest month first and DEFAULT last; with ``counts`` the
    exact row count of each (a scan of each partition) instead of the planner's estimate."""
    if not partitioned(conn):
        return []
    rows = await conn.execute(
        text(
            "SELECT p.relname AS parent, c.relname AS name, c.oid::int8 AS oid, "
            "pg_get_expr(c.relpartbound, c.oid) AS bound, "
            "c.reltuples::bigint AS estimate, pg_table_size(c.oid) AS table_bytes, "
            "pg_indexes_size(c.oid) AS index_bytes "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = ANY(:tables) AND p.relnamespace = to_regnamespace(current_schema())"
        ),
        {"tables": [table] if table else list(PARTITIONED)},
    )
    out = []
    for r in rows.mappings():
        bounds = _BOUNDS.search(r["bound"])
        lo, hi = (int(bounds[1]), int(bounds[2])) if bounds else (None, None)
        n = max(int(r["estimate"]), 0)
        if counts:  # through the parent: the application role has privileges on the parents only
            where = "tijdstip_registratie_us >= :lo AND tijdstip_registratie_us < :hi" if bounds else "tableoid = :t"
            found = await conn.execute(
                text(f'SELECT count(*) FROM "{r["parent"]}" WHERE {where}'),
                {"lo": lo, "hi": hi} if bounds else {"t": r["oid"]},
            )
            n = int(found.scalar_one())
        month = month_of(lo) if lo is not None else None
        out.append(Partition(r["parent"], r["name"], month, lo, hi, n, int(r["table_bytes"]), int(r["index_bytes"])))
    return sorted(out, key=lambda p: (p.table, p.month is None, p.month or date.min))


async def lineages_in(conn: AsyncConnection, lo_us: int, hi_us: int) -> list[str]:
    """Every lineage with a version registered in [lo, hi) — read from that month's partition only."""
    stmt = (
        select(versie.c.lineage_id)
        .where(versie.c.tijdstip_registratie_us >= lo_us, versie.c.tijdstip_registratie_us < hi_us)
        .distinct()
    )
    return [str(r[0]) for r in await conn.execute(stmt)]


async def object_count_in(conn: AsyncConnection, lo_us: int, hi_us: int) -> int:
    stmt = (
        select(func.count())
        .select_from(verwerkt_object)
        .where(verwerkt_object.c.tijdstip_registratie_us >= lo_us, verwerkt_object.c.tijdstip_registratie_us < hi_us)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def lock_against_changes(conn: AsyncConnection) -> None:
    """Hold `PURGE_LOCK_KEY` exclusively until the end of the transaction (no lineage changes meanwhile)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PURGE_LOCK_KEY})


async def empty_month(conn: AsyncConnection, month: date) -> int:
    """TRUNCATE the month's partitions (their TRUNCATE triggers refuse unless every leaf is listed)."""
    return int((await conn.execute(text("SELECT verwerkingenlog_purge_partition(:m)"), {"m": month})).scalar_one())


async def drop_month(conn: AsyncConnection, month: date) -> bool:
    """DROP the month's partitions; refused (an error) unless they are empty."""
    return bool((await conn.execute(text("SELECT verwerkingenlog_drop_partition(:m)"), {"m": month})).scalar_one())


VERSIONS = versie.name
"""The partitioned table of versions (services.partitions lists its partitions)."""


async def set_lock_timeout(conn: AsyncConnection, timeout: str) -> None:
    """How long the statements of this transaction wait for a lock (e.g. ``5s``), then fail."""
    if not re.fullmatch(r"\d+(ms|s|min)?", timeout):
        raise ValueError(f"not a lock_timeout: {timeout!r}")
    await conn.execute(text(f"SET LOCAL lock_timeout = '{timeout}'"))


async def versions_of(conn: AsyncConnection, lineages: Sequence[str]) -> list[tuple[str, int, int]]:
    """(lineage, seq, tijdstip_registratie_us) of every version of these lineages, in any month."""
    stmt = select(versie.c.lineage_id, versie.c.seq, versie.c.tijdstip_registratie_us).where(
        versie.c.lineage_id.in_(lineages)
    )
    return [(str(lineage), int(seq), int(registered)) for lineage, seq, registered in await conn.execute(stmt)]


async def has_versions_in(conn: AsyncConnection, lo_us: int, hi_us: int) -> bool:
    """Whether some version was registered in lo_us ≤ t < hi_us (one index probe)."""
    stmt = (
        select(versie.c.seq)
        .where(versie.c.tijdstip_registratie_us >= lo_us, versie.c.tijdstip_registratie_us < hi_us)
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None
