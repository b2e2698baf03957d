"""`verwerkingenlog verify`: recompute every leaf from the database and check it against the signed checkpoints.

One pass over the tree in leaf order (docs/integrity.md §9), in batches:

1. each leaf's stored row is read and its record rebuilt (integrity.records, BSNs decrypted as the API shows
   them) and hashed; a leaf whose row is gone is *missing* unless a purge recorded the removal (then it is
   reported as purged, not as a finding); a hash that differs is *altered*, or *out of order* when it equals
   the hash another leaf was appended with (rows or leaves swapped);
2. the stored leaf hashes are folded into the tree again (RFC 9162 §2.1.1); every stored interior node must
   equal the recomputed one (proofs are served from them);
3. at the size of every stored checkpoint and of every checkpoint in a witness copy, the recomputed root must
   equal the signed root, and the signature must verify with the trusted keys;
4. afterwards every stored version (and every logboekregel row) must have a leaf: a row without one was
   *inserted* behind the register's back.

A row is read before the leaves that cover it are looked up, so concurrent writes (which commit row and leaf
together) and purges (which record before they delete) never show up as findings.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.checkpoint import NoteError, VerifierKey
from verwerkingenlog.integrity.merkle import EMPTY_ROOT, HASH_SIZE, CompactRange
from verwerkingenlog.integrity.records import (
    KIND_ACTIE,
    KIND_ACTIVITEIT,
    KIND_HERPSEUDONIMISERING,
    KIND_LOGBOEKREGEL,
    KIND_PURGE,
    actie_record,
    activiteit_record,
    herpseudonimisering_record,
    logboekregel_record,
    purge_record,
)
from verwerkingenlog.integrity.verify import verify_checkpoint
from verwerkingenlog.store import integrity as store
from verwerkingenlog.store import logboek
from verwerkingenlog.store.db import Connection, Database
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.var import VarStore

ALTERED = "altered"
MISSING = "missing"
INSERTED = "inserted"
OUT_OF_ORDER = "out of order"
TREE = "tree"
CHECKPOINT = "checkpoint"
WITNESS = "witness"

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing verify found wrong, naming the entry where it can: leaf index, kind, volgnummer, actieId."""

    what: str
    detail: str
    leaf_index: int | None = None
    kind: str | None = None
    ref: int | None = None
    entry: str | None = None


@dataclass(frozen=True, slots=True)
class PurgedLeaf:
    """A leaf whose content a recorded purge removed: not a finding; its leaf hash still proves its place."""

    leaf_index: int
    kind: str
    ref: int
    purge_id: int

    @property
    def detail(self) -> str:
        return f"purged (content removed by purge #{self.purge_id})"


@dataclass
class VerifyReport:
    tree_size: int = 0
    checkpoints: int = 0
    witness_checkpoints: int = 0
    matched_size: int = 0
    findings: list[Finding] = field(default_factory=list)
    purged: list[PurgedLeaf] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True, slots=True)
class _Target:
    """A signed root to compare at one tree size."""

    label: str
    what: str
    root: bytes


def _entry_name(kind: str, ref: int, row: Any) -> str:
    if kind == KIND_ACTIE:
        return str(row.actie_id) if row is not None else f"volgnummer {ref}"
    if kind == KIND_ACTIVITEIT:
        return f"{row.id} v{row.versie}" if row is not None else f"VAR volgnummer {ref}"
    if kind == KIND_LOGBOEKREGEL:
        return logboek.entry_name(row.lineage_id, row.regel.span_id) if row is not None else f"logboekregel {ref}"
    if kind == KIND_HERPSEUDONIMISERING:
        return f"herpseudonimisering #{ref}"
    return f"purge #{ref}"


class Verifier:
    def __init__(self, db: Database, reader: LogReader, var: VarStore, batch: int = BATCH) -> None:
        self.db = db
        self.reader = reader
        self.var = var
        self.batch = batch

    async def run(
        self,
        trusted: Sequence[VerifierKey],
        witness_notes: Sequence[str] = (),
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyReport:
        report = VerifyReport()
        async with self.db.reading() as conn:
            size = report.tree_size = await store.tree_size(conn)
            stored = await store.list_checkpoints(conn)
            report.checkpoints, report.witness_checkpoints = len(stored), len(witness_notes)
            targets: dict[int, list[_Target]] = {}
            for cp in stored:
                self._target(report, targets, size, cp.note, f"checkpoint #{cp.id}", CHECKPOINT, trusted, cp)
            known_notes = {cp.note for cp in stored}
            for number, note in enumerate(witness_notes, 1):
                label = f"witness checkpoint {number}"
                if self._target(report, targets, size, note, label, WITNESS, trusted) and note not in known_notes:
                    report.findings.append(
                        Finding(WITNESS, f"{label} is signed by the register but missing from its checkpoint table")
                    )
            mismatched = await self._leaves(conn, report, targets, progress)
            await self._classify(conn, report, mismatched)
            await self._rows_without_leaves(conn, report)
        return report

    @staticmethod
    def _target(
        report: VerifyReport,
        targets: dict[int, list[_Target]],
        size: int,
        note: str,
        label: str,
        what: str,
        trusted: Sequence[VerifierKey],
        stored: store.StoredCheckpoint | None = None,
    ) -> bool:
        """Check a checkpoint's signature and remember its root for the pass; False when it is unusable."""
        try:
            checkpoint = verify_checkpoint(note, trusted)
        except NoteError as exc:
            report.findings.append(Finding(what, f"{label}: {exc}"))
            return False
        if stored is not None and (checkpoint.size, checkpoint.root_hash) != (stored.tree_size, stored.root_hash):
            report.findings.append(Finding(what, f"{label}: its stored size or root differs from its signed note"))
        if checkpoint.size > size:
            report.findings.append(
                Finding(
                    what,
                    f"{label} covers {checkpoint.size} leaves but the log has {size}: "
                    f"leaves {size}…{checkpoint.size - 1} were removed",
                )
            )
            return True
        targets.setdefault(checkpoint.size, []).append(_Target(label, what, checkpoint.root_hash))
        return True

    async def _leaves(
        self,
        conn: Connection,
        report: VerifyReport,
        targets: Mapping[int, list[_Target]],
        progress: Callable[[int, int], None] | None,
    ) -> list[tuple[int, bytes, str, int, str]]:
        """The pass over the tree; returns (leaf, recomputed hash, kind, ref, entry) of every content mismatch."""
        size = report.tree_size
        border = CompactRange()
        missing: list[int] = []
        mismatched: list[tuple[int, bytes, str, int, str]] = []
        self._compare_roots(report, targets, border)
        for start in range(0, size, self.batch):
            stop = min(size, start + self.batch)
            rows = await self._rows(conn, start, stop)
            leaves = await store.leaves_between(conn, start, stop)
            purged = await store.purged_leaves(conn, start, stop)
            nodes = await store.inner_nodes(conn, start, stop)
            for index in range(start, stop):
                leaf = leaves.get(index)
                if leaf is None:
                    missing.append(index)
                    report.findings.append(Finding(MISSING, "the leaf hash itself was removed from the tree", index))
                    value = bytes(HASH_SIZE)
                else:
                    value = leaf.hash
                    found = self._check_leaf(report, leaf, rows, purged)
                    if found is not None:
                        mismatched.append(found)
                for node, recomputed in border.append(value)[1:]:
                    position = bisect.bisect_left(missing, node.begin)
                    if position < len(missing) and missing[position] < node.end:
                        continue  # depends on a missing leaf, reported already
                    if nodes.get(node) != recomputed:
                        report.findings.append(
                            Finding(
                                TREE,
                                f"stored node (level {node.level}, index {node.index}) over leaves "
                                f"{node.begin}…{node.end - 1} is not the hash of those leaves: proofs through it fail",
                            )
                        )
                self._compare_roots(report, targets, border)
            if progress is not None:
                progress(stop, size)
        return mismatched

    async def _rows(self, conn: Connection, start: int, stop: int) -> dict[tuple[str, int], Any]:
        """The rows the leaves of a batch cover, keyed (kind, ref); read before the leaves (see module doc)."""
        refs: dict[str, list[int]] = {}
        for kind, ref in await store.leaf_refs_between(conn, start, stop):
            refs.setdefault(kind, []).append(ref)
        out: dict[tuple[str, int], Any] = {}
        for seq, v in (await self.reader.by_seq(conn, refs.get(KIND_ACTIE, []))).items():
            out[(KIND_ACTIE, seq)] = v
        for seq, a in (await self.var.by_seq(conn, refs.get(KIND_ACTIVITEIT, []))).items():
            out[(KIND_ACTIVITEIT, seq)] = a
        for pid, p in (await store.purges(conn, refs.get(KIND_PURGE, []))).items():
            out[(KIND_PURGE, pid)] = p
        for hid, h in (await store.herpseudonimiseringen(conn, refs.get(KIND_HERPSEUDONIMISERING, []))).items():
            out[(KIND_HERPSEUDONIMISERING, hid)] = h
        for seq, e in (await logboek.entries_by_seq(conn, refs.get(KIND_LOGBOEKREGEL, []))).items():
            out[(KIND_LOGBOEKREGEL, seq)] = e
        return out

    @staticmethod
    def _check_leaf(
        report: VerifyReport, leaf: store.StoredLeaf, rows: Mapping[tuple[str, int], Any], purged: Mapping[int, int]
    ) -> tuple[int, bytes, str, int, str] | None:
        row = rows.get((leaf.kind, leaf.ref))
        if leaf.index in purged:
            report.purged.append(PurgedLeaf(leaf.index, leaf.kind, leaf.ref, purged[leaf.index]))
            return None
        name = _entry_name(leaf.kind, leaf.ref, row)
        if row is None:
            report.findings.append(
                Finding(
                    MISSING,
                    "the stored row was removed, and no purge recorded it",
                    leaf.index,
                    leaf.kind,
                    leaf.ref,
                    name,
                )
            )
            return None
        if leaf.kind == KIND_ACTIE:
            record = actie_record(row)
        elif leaf.kind == KIND_ACTIVITEIT:
            record = activiteit_record(row)
        elif leaf.kind == KIND_LOGBOEKREGEL:
            record = logboekregel_record(row)
        elif leaf.kind == KIND_HERPSEUDONIMISERING:
            record = herpseudonimisering_record(row)
        else:
            record = purge_record(row)
        recomputed = record_leaf_hash(record)
        if recomputed == leaf.hash:
            return None
        return leaf.index, recomputed, leaf.kind, leaf.ref, name

    @staticmethod
    def _compare_roots(report: VerifyReport, targets: Mapping[int, list[_Target]], border: CompactRange) -> None:
        for target in targets.get(border.size, []):
            root = border.root() if border.size else EMPTY_ROOT
            if root == target.root:
                report.matched_size = max(report.matched_size, border.size)
                continue
            report.findings.append(
                Finding(
                    target.what,
                    f"{target.label} (tree size {border.size}) does not match the log: the stored leaves before "
                    f"index {border.size} are not the ones it signed (the last matching signed size is "
                    f"{report.matched_size})",
                )
            )

    @staticmethod
    async def _classify(
        conn: Connection, report: VerifyReport, mismatched: list[tuple[int, bytes, str, int, str]]
    ) -> None:
        """Altered, or out of order: the row's content is exactly what another leaf was appended with."""
        owners = await store.leaves_with_hashes(conn, [m[1] for m in mismatched])
        for index, recomputed, kind, ref, name in mismatched:
            other = owners.get(recomputed)
            if other is not None and other != index:
                report.findings.append(
                    Finding(
                        OUT_OF_ORDER,
                        f"holds the entry that was appended as leaf {other}: the order of the log was changed",
                        index,
                        kind,
                        ref,
                        name,
                    )
                )
            else:
                report.findings.append(
                    Finding(ALTERED, "the stored row differs from what was logged", index, kind, ref, name)
                )

    @staticmethod
    async def _rows_without_leaves(conn: Connection, report: VerifyReport) -> None:
        """Rows first, then the leaves: a concurrent write commits both, so it is never reported."""
        for kind, rows in (
            (KIND_ACTIE, await store.version_seqs(conn)),
            (KIND_ACTIVITEIT, await store.activiteit_seqs(conn)),
            (KIND_LOGBOEKREGEL, await logboek.stored_seqs(conn)),
        ):
            what = "logboekregel" if kind == KIND_LOGBOEKREGEL else "version"
            for seq in sorted(set(rows) - await store.refs_of_kind(conn, kind)):
                report.findings.append(
                    Finding(
                        INSERTED,
                        f"a stored {what} without a leaf: it was not logged by the register",
                        None,
                        kind,
                        seq,
                        rows[seq],
                    )
                )
