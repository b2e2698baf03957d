"""Monthly partitions on PostgreSQL (docs/performance.md "Partitioning by registration time"): created ahead, and
purged as a whole when everything in them has expired.

- `Partitions.ensure_ahead` creates the partitions of the current month and of `ahead` months after it (the
  server does this at start and every `PARTITION_MAINTENANCE_INTERVAL_SECONDS`; `verwerkingenlog partitions
  --create` by hand). A registration time outside every monthly partition lands in the DEFAULT partition, so a
  write never fails for want of one.
- `PartitionPurge.run` is the first step of the retention purge (services.purge): a month that has ended and
  whose every version belongs to an expired lineage (R-RET-1, the same rule and code as the row-wise purge) is
  purged in one purge entry: all its leaves are listed in `purged_leaf`, the lineages' versions in later
  months and their logboekregels are deleted row by row, and the month's partitions are emptied with TRUNCATE
  (whose trigger refuses unless every row's leaf is listed) and then dropped (only an empty partition can be).
  A month with one live lineage is left to the row-wise purge.

SQLite has no partitions: both are no-ops there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from verwerkingenlog.integrity.records import KIND_ACTIE, KIND_LOGBOEKREGEL, KIND_PURGE, PurgeEntry, purge_record
from verwerkingenlog.store import integrity as leaves_store
from verwerkingenlog.store import logboek as logboek_store
from verwerkingenlog.store import partitions as store
from verwerkingenlog.store import retention
from verwerkingenlog.store.db import Connection, Database, DBAPIError
from verwerkingenlog.store.integrity import Leaf

log = logging.getLogger("verwerkingenlog.partitions")
T = TypeVar("T")

CHUNK = 1000
"""Lineages per IN list when a whole month is checked."""
LOCK_TIMEOUT = "5s"
"""How long emptying or dropping a partition waits for running queries of that partition (then: next run)."""


class Partitions:
    def __init__(self, db: Database, ahead: int, clock: Callable[[], int]) -> None:
        self.db = db
        self.ahead = ahead
        self.clock = clock

    def months(self) -> list[date]:
        """The current month (UTC) and ``ahead`` months after it."""
        first = store.month_of(self.clock())
        return [store.add_months(first, n) for n in range(self.ahead + 1)]

    async def ensure_ahead(self) -> list[date]:
        """Create the missing partitions of the current and the coming months; returns those created.

        Reads the catalog first, so the daily run takes no lock on the log when nothing is missing; creating a
        partition briefly locks the parent table (a lock_timeout keeps it from queueing behind long reads)."""
        if self.db.is_sqlite:
            return []
        async with self.db.reading() as conn:
            existing = await store.existing_months(conn)
        missing = [m for m in self.months() if m not in existing]
        created = []
        for month in missing:
            async with self.db.writing() as conn:
                await store.set_lock_timeout(conn, LOCK_TIMEOUT)
                outcome = (await store.create_months(conn, [month]))[month]
            if outcome is None:
                log.warning("partition %s not created: rows of that month are in the DEFAULT partition", month)
            elif outcome:
                created.append(month)
                log.info("created the partitions of %s", f"{month:%Y-%m}")
        return created

    async def run(self, interval_seconds: int) -> None:
        """Every ``interval_seconds``: create the partitions ahead. Errors are logged, never fatal."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.ensure_ahead()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("creating partitions ahead failed")

    async def overview(self, counts: bool = True) -> list[store.Partition]:
        """Every partition of the log tables with its rows (exact, or the planner's estimate) and sizes."""
        async with self.db.reading() as conn:
            return await store.list_partitions(conn, counts=counts)


@dataclass(frozen=True, slots=True)
class MonthPurge:
    """What purging one whole month removed."""

    month: date
    lineages: list[str]
    terms: dict[str, retention.Termijn]
    versions: dict[str, list[int]]
    objecten: int
    logboekregels: int
    entry: PurgeEntry
    leaf_index: int
    dropped: bool


# The purge's decision for one lineage, passed in by services.purge (which owns the retention rule).
Expired = Callable[[retention.Termijn, int], bool]


class PartitionPurge:
    def __init__(self, db: Database, clock: Callable[[], int], expired: Expired, criterium: str) -> None:
        self.db = db
        self.clock = clock
        self.expired = expired
        self.criterium = criterium

    async def candidates(self) -> list[store.Partition]:
        """Monthly partitions of versions that have ended (no registration can land in them any more) and hold
        rows, oldest first."""
        if self.db.is_sqlite:
            return []
        now = self.clock()
        async with self.db.reading() as conn:
            found = await store.list_partitions(conn, store.VERSIONS, counts=False)
            out = []
            for p in found:
                if p.month is None or p.hi_us is None or p.lo_us is None or p.hi_us > now:
                    continue
                if await store.has_versions_in(conn, p.lo_us, p.hi_us):
                    out.append(p)
        return out

    async def purge_month(self, partition: store.Partition, peilmoment_us: int) -> MonthPurge | None:
        """Purge the month as a whole when every lineage in it has expired, or return None when it holds a live
        lineage (the row-wise purge then handles its expired ones) — and when emptying it failed: a lock timeout
        behind long reads of the month, or a row registered in the month meanwhile that no purge lists (the
        TRUNCATE trigger refuses). Then nothing of it happened (one transaction) and the row-wise purge of the
        same run takes the month's expired lineages."""
        try:
            return await self._purge_month(partition, peilmoment_us)
        except DBAPIError as exc:
            log.warning("the month %s was not purged as a whole (%s); its lineages go row by row", partition.label, exc)
            return None

    async def _purge_month(self, partition: store.Partition, peilmoment_us: int) -> MonthPurge | None:
        assert partition.month is not None and partition.lo_us is not None and partition.hi_us is not None
        lo, hi = partition.lo_us, partition.hi_us
        async with self.db.writing() as conn:
            # No lineage changes from here to the commit (store.write.LogWriter.lock takes this lock shared).
            await store.lock_against_changes(conn)
            lineages = await store.lineages_in(conn, lo, hi)
            terms = await self._expired_terms(conn, lineages, peilmoment_us)
            if not lineages or terms is None:
                return None
            versions: dict[str, list[int]] = {}
            outside: list[int] = []
            for chunk in _chunks(lineages):
                for lineage, seq, registered in await store.versions_of(conn, chunk):
                    versions.setdefault(lineage, []).append(seq)
                    if not lo <= registered < hi:
                        outside.append(seq)
            seqs = sorted(s for vs in versions.values() for s in vs)
            leaves: dict[int, int] = {}
            for chunk_seqs in _chunks(seqs):
                leaves.update(await leaves_store.leaves_of(conn, KIND_ACTIE, chunk_seqs))
            regels: list[int] = []  # the lineages' logboekregels (an OTLP entry's Logius fields) go with them
            for chunk in _chunks(lineages):
                regels += await logboek_store.seqs_of_lineages(conn, chunk)
            regel_leaves: list[int] = []
            for chunk_seqs in _chunks(regels):
                regel_leaves += (await leaves_store.leaves_of(conn, KIND_LOGBOEKREGEL, chunk_seqs)).values()
            objecten = await store.object_count_in(conn, lo, hi) + await retention.object_count(conn, outside)
            await leaves_store.lock_log(conn)
            entry = await leaves_store.add_purge(
                conn,
                self.clock(),
                peilmoment_us,
                self.criterium,
                (len(lineages), len(seqs), objecten),
                sorted([*leaves.values(), *regel_leaves]),
            )
            await retention.remove_versions(conn, outside)  # the lineages' versions in later months
            await retention.remove_logboekregels(conn, regels)
            await store.set_lock_timeout(conn, LOCK_TIMEOUT)
            await store.empty_month(conn, partition.month)
            (own,) = await leaves_store.append_leaves(conn, [Leaf(KIND_PURGE, entry.id, purge_record(entry))])
        dropped = await self._drop(partition.month)
        log.info(
            "purge #%d removed the month %s as a whole: %d versions of %d lineages (leaf %d)%s",
            entry.id,
            partition.label,
            len(seqs),
            len(lineages),
            own,
            "" if dropped else "; its empty partitions stay until the next purge",
        )
        return MonthPurge(partition.month, lineages, terms, versions, objecten, len(regels), entry, own, dropped)

    async def drop_empty(self) -> list[date]:
        """Drop the empty partitions of ended months: those a purge emptied but could not drop (lock timeout)
        before. A write with a registration time in an ended month is a clock anomaly; it lands in DEFAULT."""
        if self.db.is_sqlite:
            return []
        now = self.clock()
        async with self.db.reading() as conn:
            empty = [
                p.month
                for p in await store.list_partitions(conn, store.VERSIONS, counts=True)
                if p.month is not None and p.hi_us is not None and p.hi_us <= now and p.rows == 0
            ]
        return [m for m in empty if await self._drop(m)]

    async def _drop(self, month: date) -> bool:
        try:
            async with self.db.writing() as conn:
                await store.set_lock_timeout(conn, LOCK_TIMEOUT)
                return await store.drop_month(conn, month)
        except Exception as exc:  # a lock timeout: the empty partition is dropped by a later purge
            log.warning("dropping the emptied partitions of %s failed: %s", f"{month:%Y-%m}", exc)
            return False

    async def _expired_terms(
        self, conn: Connection, lineages: Sequence[str], peilmoment_us: int
    ) -> dict[str, retention.Termijn] | None:
        """The retention inputs of every lineage, or None as soon as one of them has not expired."""
        out: dict[str, retention.Termijn] = {}
        for chunk in _chunks(lineages):
            terms = await retention.terms_of(conn, chunk)
            if any(lineage not in terms or not self.expired(terms[lineage], peilmoment_us) for lineage in chunk):
                return None
            out.update(terms)
        return out


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
