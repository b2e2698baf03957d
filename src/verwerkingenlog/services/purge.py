"""The retention purge (§11, R-RET-1..4): the only way content ever leaves the register.

A lineage (every version of one action) is purged as a whole (R-RET-3) once its *current* version's tijdstip
plus its current bewaartermijn lies before the peilmoment (R-RET-1, calendar arithmetic in domain.retention);
a logically deleted lineage follows the same rule (R-RET-4). A lineage whose current version has no
bewaartermijn is never purged (R-RET-2: this register has no organisation-wide maximum). A PATCH that lengthened
the term (F4415) thus keeps the lineage: only the current version counts.

Each batch of lineages is one transaction and one purge entry: the purge is recorded with the leaves whose
content it removes (no personal data: counts, criterion, leaf indexes), the rows are deleted, and the purge's
record is appended as a leaf of its own. The leaf hashes of the removed versions stay in the tree, so every
checkpoint and every other proof still verifies. A lineage that came in through OTLP also loses its logboekregel
row (the Logius fields, a leaf of its own): its leaf is listed with the versions' leaves. Rows whose lineage
was purged before that (migration 0008) are purged at the end of each run, in purges of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.retention import expires_at
from verwerkingenlog.domain.values import duration_value, moment_value, to_epoch_us
from verwerkingenlog.integrity.records import KIND_ACTIE, KIND_LOGBOEKREGEL, KIND_PURGE, PurgeEntry, purge_record
from verwerkingenlog.services.partitions import PartitionPurge
from verwerkingenlog.services.register import wall_clock_us
from verwerkingenlog.store import integrity as leaves_store
from verwerkingenlog.store import logboek as logboek_store
from verwerkingenlog.store import retention as store
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.integrity import Leaf
from verwerkingenlog.store.retention import Termijn
from verwerkingenlog.store.write import LogWriter

log = logging.getLogger("verwerkingenlog.purge")

CRITERIUM = "R-RET-1: tijdstip + bewaartermijn of the lineage's current version lies before the peilmoment"
ORPHAN_CRITERIUM = "R-RET-3: the logboekregel of a lineage whose versions an earlier purge removed"
BATCH = 500


def expiry(term: Termijn) -> datetime | None:
    """R-RET-1: when the lineage may be purged; None when the stored values cannot be read (never purged)."""
    try:
        try:
            tijdstip = datetime.fromisoformat(term.tijdstip)  # keeps the supplied offset: calendar days there
        except ValueError:
            tijdstip = moment_value(term.tijdstip).instant
        return expires_at(tijdstip, duration_value(term.bewaartermijn))
    except (InvalidValue, OverflowError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Verlopen:
    """An expired lineage and what purging it removes."""

    lineage_id: str
    verlopen_op: datetime
    versies: int = 0


@dataclass
class PurgeReport:
    peilmoment_us: int
    dry_run: bool
    lineages: list[Verlopen] = field(default_factory=list)
    versies: int = 0
    objecten: int = 0
    logboekregels: int = 0
    entries: list[tuple[PurgeEntry, int]] = field(default_factory=list)  # (purge, its own leaf index)

    @property
    def leaves(self) -> list[int]:
        return sorted(i for entry, _ in self.entries for i in entry.leaves)


class Purger:
    def __init__(self, db: Database, writer: LogWriter, clock: Callable[[], int] = wall_clock_us) -> None:
        self.db = db
        self.writer = writer
        self.clock = clock

    async def run(
        self,
        dry_run: bool = False,
        peilmoment_us: int | None = None,
        batch: int = BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> PurgeReport:
        """Purge every lineage expired at the peilmoment (default: now); with ``dry_run`` only report."""
        peil = self.clock() if peilmoment_us is None else peilmoment_us
        report = PurgeReport(peil, dry_run)
        if not dry_run:
            await self._purge_months(report)
        after = 0
        while True:
            async with self.db.reading() as conn:
                page = await store.current_terms(conn, after, batch)
            if not page:
                break
            after = page[-1].seq
            expired = [t.lineage_id for t in page if _expired(t, peil)]
            if expired:
                await (self._report(report, expired) if dry_run else self._purge(report, expired))
            if progress is not None:
                progress(len(page))
        await self._orphans(report, batch)
        return report

    async def _orphans(self, report: PurgeReport, batch: int) -> None:
        """R-RET-3 for what purges before migration 0008 left behind: a logboekregel whose lineage is gone."""
        if report.dry_run:
            async with self.db.reading() as conn:
                report.logboekregels += await logboek_store.orphan_count(conn)
            return
        while True:
            async with self.db.writing() as conn:
                await leaves_store.lock_log(conn)
                regels = await logboek_store.orphan_seqs(conn, batch)
                if not regels:
                    return
                leaves = await leaves_store.leaves_of(conn, KIND_LOGBOEKREGEL, regels)
                entry = await leaves_store.add_purge(
                    conn,
                    self.clock(),
                    report.peilmoment_us,
                    ORPHAN_CRITERIUM,
                    (len(regels), 0, 0),
                    sorted(leaves.values()),
                )
                await store.remove_logboekregels(conn, regels)
                (own,) = await leaves_store.append_leaves(conn, [Leaf(KIND_PURGE, entry.id, purge_record(entry))])
            report.logboekregels += len(regels)
            report.entries.append((entry, own))
            log.info(
                "purge #%d removed %d logboekregels of lineages purged earlier (leaf %d)", entry.id, len(regels), own
            )

    async def _purge_months(self, report: PurgeReport) -> None:
        """PostgreSQL: every ended month whose lineages have all expired goes as a whole (services.partitions)."""
        months = PartitionPurge(self.db, self.clock, _expired, CRITERIUM)
        for partition in await months.candidates():
            done = await months.purge_month(partition, report.peilmoment_us)
            if done is not None:
                report.objecten += done.objecten
                report.logboekregels += done.logboekregels
                report.entries.append((done.entry, done.leaf_index))
                self._count(report, done.lineages, done.terms, done.versions)
        await months.drop_empty()

    async def _report(self, report: PurgeReport, lineage_ids: list[str]) -> None:
        async with self.db.reading() as conn:
            terms = await store.terms_of(conn, lineage_ids)
            versions = await store.lineage_versions(conn, lineage_ids)
            seqs = [seq for lineage in lineage_ids for seq in versions.get(lineage, [])]
            report.objecten += await store.object_count(conn, seqs)
            report.logboekregels += len(await logboek_store.seqs_of_lineages(conn, lineage_ids))
        self._count(report, lineage_ids, terms, versions)

    async def _purge(self, report: PurgeReport, lineage_ids: list[str]) -> None:
        """One purge entry: lock the lineages (R-VER-7), re-check them, record, delete, append the purge leaf."""
        async with self.db.writing() as conn:
            await self.writer.lock(conn, lineage_ids)
            terms = await store.terms_of(conn, lineage_ids)
            still = [
                lineage
                for lineage in lineage_ids
                if lineage in terms and _expired(terms[lineage], report.peilmoment_us)
            ]
            versions = await store.lineage_versions(conn, still)
            seqs = [seq for lineage in still for seq in versions.get(lineage, [])]
            if not seqs:
                return
            leaves = await leaves_store.leaves_of(conn, KIND_ACTIE, seqs)
            regels = await logboek_store.seqs_of_lineages(conn, still)
            regel_leaves = await leaves_store.leaves_of(conn, KIND_LOGBOEKREGEL, regels)
            objecten = await store.object_count(conn, seqs)
            await leaves_store.lock_log(conn)
            entry = await leaves_store.add_purge(
                conn,
                self.clock(),
                report.peilmoment_us,
                CRITERIUM,
                (len(still), len(seqs), objecten),
                sorted([*leaves.values(), *regel_leaves.values()]),
            )
            await store.remove_versions(conn, seqs)
            await store.remove_logboekregels(conn, regels)
            (own,) = await leaves_store.append_leaves(conn, [Leaf(KIND_PURGE, entry.id, purge_record(entry))])
        report.objecten += objecten
        report.logboekregels += len(regels)
        report.entries.append((entry, own))
        self._count(report, still, terms, versions)
        log.info("purge #%d removed %d versions of %d lineages (leaf %d)", entry.id, len(seqs), len(still), own)

    @staticmethod
    def _count(
        report: PurgeReport, lineage_ids: list[str], terms: dict[str, Termijn], versions: dict[str, list[int]]
    ) -> None:
        for lineage in lineage_ids:
            when = expiry(terms[lineage]) if lineage in terms else None
            if when is None:
                continue
            report.lineages.append(Verlopen(lineage, when, len(versions.get(lineage, []))))
            report.versies += len(versions.get(lineage, []))


def _expired(term: Termijn, peilmoment_us: int) -> bool:
    when = expiry(term)
    return when is not None and to_epoch_us(when) <= peilmoment_us
