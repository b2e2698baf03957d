"""The integrity tables' write and read paths: leaves, tree nodes, checkpoints, published keys, purges.

Leaf order is commit order (docs/integrity.md §1). `append_leaves` runs inside the transaction that stored the
versions, after their rows, under one register-wide lock: on PostgreSQL a transaction-scoped advisory lock held
until commit, on SQLite the single writer (store.db). A transaction holding the lock is the only one appending,
so the leaf indexes it takes follow every committed leaf and precede every later one. The lock is always the
last one a write transaction takes (lineage and VAR locks come first), so it adds no deadlock.

Cost per appended batch: one read (the tree size and its O(log n) border nodes, primary-key probes), then one
multi-row insert of the leaves and the nodes they complete (amortised two rows per leaf).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, func, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    NodeID,
    Plan,
    plan_nodes,
    range_nodes,
    rehash,
    root_plan,
)
from verwerkingenlog.integrity.records import KIND_ACTIE, HerpseudonimiseringEntry, PurgeEntry
from verwerkingenlog.store.tables import (
    activiteit_versie,
    checkpoint,
    herpseudonimiseerd_object,
    herpseudonimisering,
    herpseudonimisering_grens,
    merkle_node,
    purge,
    purged_leaf,
    signing_key,
    versie,
    verwerkt_object,
)

LOG_LOCK_KEY = 0x766C_6F67_6C65_6166  # ASCII "vlogleaf"
"""pg_advisory_xact_lock key serialising every leaf append (and checkpoint signing) of the register."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """A stored row about to become a leaf: its kind, its `seq` (or purge id) and its record."""

    kind: str
    ref: int
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    id: int
    tree_size: int
    root_hash: bytes
    created_us: int
    note: str


@dataclass(frozen=True, slots=True)
class KeyEvent:
    vkey: str
    event: str
    at_us: int


ACTIVE = "actief"
REPLACED = "vervangen"


# -- which leaves a request wrote (for the Leaf-Index response header) --------------------------------------

_receipt: ContextVar[list[int] | None] = ContextVar("verwerkingenlog_leaf_receipt", default=None)


@contextmanager
def leaf_receipt() -> Iterator[list[int]]:
    """Collect the indexes of the leaves committed while this context is active (one HTTP request)."""
    receipt: list[int] = []
    token = _receipt.set(receipt)
    try:
        yield receipt
    finally:
        _receipt.reset(token)


def note_leaves(indexes: Sequence[int]) -> None:
    """Report already committed leaf ``indexes`` to the active receipt (group commit resolves a request after
    its batch committed, in the request's own context)."""
    receipt = _receipt.get()
    if receipt is not None:
        receipt.extend(indexes)


def _note_on_commit(conn: AsyncConnection, indexes: list[int]) -> None:
    """Report ``indexes`` to the active receipt once the transaction commits (never for a rolled-back one)."""
    receipt = _receipt.get()
    sync = conn.sync_connection
    if receipt is None or sync is None:
        return

    def committed(_conn: Connection) -> None:
        receipt.extend(indexes)

    event.listen(sync, "commit", committed, once=True)


# -- the tree ------------------------------------------------------------------------------------------------


async def lock_log(conn: AsyncConnection) -> None:
    """Take the register-wide append lock until the end of the transaction (PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOG_LOCK_KEY})


async def tree_size(conn: AsyncConnection) -> int:
    """The number of leaves: one past the highest leaf index (a single descent of the primary key)."""
    stmt = select(func.max(merkle_node.c.idx)).where(merkle_node.c.level == 0)
    highest = (await conn.execute(stmt)).scalar_one()
    return 0 if highest is None else int(highest) + 1


async def _border(conn: AsyncConnection) -> CompactRange:
    """The compact range of the whole tree: the tree size (one descent of the primary key), then the border of
    [0, n) — for every set bit `level` of n the perfect subtree (level, (n >> level) - 1), integrity.merkle.
    range_nodes — by primary key. Two statements whose plans need no statistics: one statement joining the size
    to the border was planned, on a table never analysed, as a walk over every leaf (docs/performance.md)."""
    size = await tree_size(conn)
    nodes = range_nodes(0, size)
    return CompactRange(size, await get_nodes(conn, nodes))


async def tree_head(conn: AsyncConnection) -> tuple[int, bytes]:
    """RFC 9162 §2.1.1: the tree size and its root hash, from the border."""
    border = await _border(conn)
    return border.size, border.root()


async def hashes_of(conn: AsyncConnection, plan: Plan) -> list[bytes]:
    """The hashes a proof plan describes (integrity.merkle), read in one query."""
    ids = plan_nodes(plan)
    return rehash(plan, dict(zip(ids, await get_nodes(conn, ids), strict=True)))


async def root_at(conn: AsyncConnection, size: int) -> bytes:
    """RFC 9162 §2.1.1 MTH of the first ``size`` leaves, from stored perfect subtrees (O(log n) reads)."""
    return (await hashes_of(conn, root_plan(size)))[0] if size else EMPTY_ROOT


async def get_nodes(conn: AsyncConnection, ids: Sequence[NodeID]) -> list[bytes]:
    """Stored hashes of ``ids`` in the same order, in one query; `KeyError` for a node not stored."""
    if not ids:
        return []
    wanted = sorted(set(ids))
    stmt = select(merkle_node.c.level, merkle_node.c.idx, merkle_node.c.hash).where(
        tuple_(merkle_node.c.level, merkle_node.c.idx).in_([(n.level, n.index) for n in wanted])
    )
    found = {NodeID(int(r[0]), int(r[1])): bytes(r[2]) for r in await conn.execute(stmt)}
    return [found[node] for node in ids]


async def append_leaves(conn: AsyncConnection, leaves: Sequence[Leaf]) -> list[int]:
    """Append one leaf per stored row, in order, in the caller's transaction; returns their leaf indexes.

    RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || JCS(record)). The leaves and every perfect subtree they
    complete are stored in one multi-row insert, so proofs never read leaf content.
    """
    if not leaves:
        return []
    await lock_log(conn)
    border = await _border(conn)
    indexes: list[int] = []
    rows: list[dict[str, Any]] = []
    for leaf in leaves:
        indexes.append(border.size)
        for node, value in border.append(record_leaf_hash(leaf.record)):
            ref = (leaf.kind, leaf.ref) if node.level == 0 else (None, None)
            rows.append({"level": node.level, "idx": node.index, "hash": value, "kind": ref[0], "ref": ref[1]})
    await conn.execute(insert(merkle_node), rows)
    _note_on_commit(conn, indexes)
    return indexes


_NEXT_VERSION_SEQ = text(
    "SELECT MAX(COALESCE((SELECT MAX(seq) FROM verwerkingsactie_versie), 0), "
    "COALESCE((SELECT MAX(ref) FROM merkle_node WHERE kind = 'verwerkingsactie' AND level = 0), 0)) + 1"
)


async def next_version_seq(conn: AsyncConnection) -> int:
    """The next `seq` of a verwerkingsactie version on SQLite, which hands out the highest rowid again once its
    row is deleted (by a purge): a seq names one version for ever (R-VER-2), and its leaf (unique kind, ref)
    must never be claimed by a new row. PostgreSQL sequences never go back, so it needs no such help."""
    return int((await conn.execute(_NEXT_VERSION_SEQ)).scalar_one())


async def leaf_of(conn: AsyncConnection, kind: str, ref: int) -> int | None:
    """The leaf index of a stored row (unique index on kind, ref)."""
    stmt = select(merkle_node.c.idx).where(
        merkle_node.c.kind == kind, merkle_node.c.ref == ref, merkle_node.c.level == 0
    )
    found = (await conn.execute(stmt)).scalar_one_or_none()
    return None if found is None else int(found)


async def leaves_of(conn: AsyncConnection, kind: str, refs: Sequence[int]) -> dict[int, int]:
    """ref → leaf index, for rows of one kind."""
    if not refs:
        return {}
    stmt = select(merkle_node.c.ref, merkle_node.c.idx).where(
        merkle_node.c.kind == kind, merkle_node.c.ref.in_(sorted(set(refs))), merkle_node.c.level == 0
    )
    return {int(r[0]): int(r[1]) for r in await conn.execute(stmt)}


@dataclass(frozen=True, slots=True)
class StoredLeaf:
    """A level-0 node: the leaf hash and the row it covers."""

    index: int
    hash: bytes
    kind: str
    ref: int


async def leaves_between(conn: AsyncConnection, start: int, stop: int) -> dict[int, StoredLeaf]:
    """The stored leaves with ``start <= index < stop``."""
    stmt = select(merkle_node.c.idx, merkle_node.c.hash, merkle_node.c.kind, merkle_node.c.ref).where(
        merkle_node.c.level == 0, merkle_node.c.idx >= start, merkle_node.c.idx < stop
    )
    return {int(r[0]): StoredLeaf(int(r[0]), bytes(r[1]), str(r[2]), int(r[3])) for r in await conn.execute(stmt)}


async def inner_nodes(conn: AsyncConnection, start: int, stop: int) -> dict[NodeID, bytes]:
    """Stored nodes above level 0 whose last leaf lies in ``[start, stop)``: one range query per level."""
    out: dict[NodeID, bytes] = {}
    for level in range(1, max(stop, 1).bit_length() + 1):
        lo, hi = start >> level, stop >> level
        stmt = select(merkle_node.c.idx, merkle_node.c.hash).where(
            merkle_node.c.level == level, merkle_node.c.idx >= lo, merkle_node.c.idx <= hi
        )
        for r in await conn.execute(stmt):
            node = NodeID(level, int(r[0]))
            if start <= node.end - 1 < stop:
                out[node] = bytes(r[1])
    return out


async def version_and_current_vertrouwelijkheid(conn: AsyncConnection, actie_id: str) -> tuple[int, str] | None:
    """The `seq` of exactly the version with this actieId and the vertrouwelijkheid of its lineage's current
    version: what decides whether a caller may see that the action exists (R-GETS-4)."""
    found = (await conn.execute(select(versie.c.seq, versie.c.lineage_id).where(versie.c.actie_id == actie_id))).first()
    if found is None:
        return None
    current = (
        await conn.execute(
            select(versie.c.vertrouwelijkheid)
            .where(versie.c.lineage_id == found[1])
            .order_by(versie.c.seq.desc())
            .limit(1)
        )
    ).scalar_one()
    return int(found[0]), str(current)


async def version_seqs(conn: AsyncConnection) -> dict[int, str]:
    """Every stored version: seq → actieId (verify: rows that have no leaf)."""
    return {int(r[0]): str(r[1]) for r in await conn.execute(select(versie.c.seq, versie.c.actie_id))}


async def activiteit_seqs(conn: AsyncConnection) -> dict[int, str]:
    """Every stored VAR version: seq → "<id> v<versie>" (verify: rows that have no leaf)."""
    rows = await conn.execute(
        select(activiteit_versie.c.seq, activiteit_versie.c.activiteit_id, activiteit_versie.c.versie)
    )
    return {int(r[0]): f"{r[1]} v{r[2]}" for r in rows}


async def registration_times(conn: AsyncConnection, kind: str) -> dict[int, int]:
    """seq → tijdstip_registratie_us of every version of one kind (adopting a log that predates the tree)."""
    table = versie if kind == KIND_ACTIE else activiteit_versie
    rows = await conn.execute(select(table.c.seq, table.c.tijdstip_registratie_us))
    return {int(r[0]): int(r[1]) for r in rows}


async def refs_of_kind(conn: AsyncConnection, kind: str) -> set[int]:
    """Every ref with a leaf of this kind (verify: rows without a leaf)."""
    stmt = select(merkle_node.c.ref).where(merkle_node.c.kind == kind, merkle_node.c.level == 0)
    return {int(r[0]) for r in await conn.execute(stmt)}


# -- checkpoints ---------------------------------------------------------------------------------------------


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row.id), int(row.tree_size), bytes(row.root_hash), int(row.created_us), row.note)


async def add_checkpoint(conn: AsyncConnection, size: int, root: bytes, created_us: int, note: str) -> StoredCheckpoint:
    stmt = insert(checkpoint).values(tree_size=size, root_hash=root, created_us=created_us, note=note)
    result = await conn.execute(stmt.returning(checkpoint.c.id))
    return StoredCheckpoint(int(result.scalar_one()), size, root, created_us, note)


async def latest_checkpoint(conn: AsyncConnection) -> StoredCheckpoint | None:
    row = (await conn.execute(select(checkpoint).order_by(checkpoint.c.id.desc()).limit(1))).first()
    return None if row is None else _checkpoint(row)


async def checkpoint_of_size(conn: AsyncConnection, size: int) -> StoredCheckpoint | None:
    """The latest checkpoint of exactly this tree size."""
    stmt = select(checkpoint).where(checkpoint.c.tree_size == size).order_by(checkpoint.c.id.desc()).limit(1)
    row = (await conn.execute(stmt)).first()
    return None if row is None else _checkpoint(row)


async def list_checkpoints(conn: AsyncConnection, offset: int = 0, limit: int | None = None) -> list[StoredCheckpoint]:
    """Checkpoints in the order they were signed."""
    stmt = select(checkpoint).order_by(checkpoint.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_checkpoint(r) for r in await conn.execute(stmt)]


async def count_checkpoints(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(checkpoint))).scalar_one())


# -- published keys ------------------------------------------------------------------------------------------


async def key_events(conn: AsyncConnection) -> list[KeyEvent]:
    rows = await conn.execute(
        select(signing_key.c.vkey, signing_key.c.event, signing_key.c.at_us).order_by(signing_key.c.id)
    )
    return [KeyEvent(str(r[0]), str(r[1]), int(r[2])) for r in rows]


async def add_key_event(conn: AsyncConnection, vkey: str, event_name: str, at_us: int) -> None:
    await conn.execute(insert(signing_key).values(vkey=vkey, event=event_name, at_us=at_us))


# -- purges --------------------------------------------------------------------------------------------------


async def add_purge(
    conn: AsyncConnection,
    tijdstip_us: int,
    peilmoment_us: int,
    criterium: str,
    counts: tuple[int, int, int],
    leaves: Sequence[int],
) -> PurgeEntry:
    """Record a purge and the leaves whose content it removes (before removing it: the triggers check this)."""
    lineages, versies, objecten = counts
    stmt = insert(purge).values(
        tijdstip_registratie_us=tijdstip_us,
        peilmoment_us=peilmoment_us,
        criterium=criterium,
        lineages=lineages,
        versies=versies,
        objecten=objecten,
    )
    purge_id = int((await conn.execute(stmt.returning(purge.c.id))).scalar_one())
    if leaves:
        await conn.execute(insert(purged_leaf), [{"leaf_index": i, "purge_id": purge_id} for i in leaves])
    return PurgeEntry(purge_id, tijdstip_us, peilmoment_us, criterium, lineages, versies, objecten, tuple(leaves))


async def purges(conn: AsyncConnection, ids: Sequence[int] | None = None) -> dict[int, PurgeEntry]:
    """Purges with the leaves each removed (all, or the given ids)."""
    stmt = select(purge)
    leaves_stmt = select(purged_leaf.c.purge_id, purged_leaf.c.leaf_index)
    if ids is not None:
        stmt = stmt.where(purge.c.id.in_(list(ids)))
        leaves_stmt = leaves_stmt.where(purged_leaf.c.purge_id.in_(list(ids)))
    removed: dict[int, list[int]] = {}
    for pair in await conn.execute(leaves_stmt):
        removed.setdefault(int(pair[0]), []).append(int(pair[1]))
    out: dict[int, PurgeEntry] = {}
    for r in (await conn.execute(stmt)).mappings():
        pid = int(r["id"])
        out[pid] = PurgeEntry(
            pid,
            int(r["tijdstip_registratie_us"]),
            int(r["peilmoment_us"]),
            str(r["criterium"]),
            int(r["lineages"]),
            int(r["versies"]),
            int(r["objecten"]),
            tuple(sorted(removed.get(pid, []))),
        )
    return out


async def purged_leaves(conn: AsyncConnection, start: int, stop: int) -> dict[int, int]:
    """leaf index → purge id, for purged leaves with ``start <= index < stop``."""
    stmt = select(purged_leaf.c.leaf_index, purged_leaf.c.purge_id).where(
        purged_leaf.c.leaf_index >= start, purged_leaf.c.leaf_index < stop
    )
    return {int(r[0]): int(r[1]) for r in await conn.execute(stmt)}


async def leaf_refs_between(conn: AsyncConnection, start: int, stop: int) -> list[tuple[str, int]]:
    """(kind, ref) of the leaves start ≤ index < stop: the rows a verify batch reads (services.verify)."""
    stmt = select(merkle_node.c.kind, merkle_node.c.ref).where(
        merkle_node.c.level == 0, merkle_node.c.idx >= start, merkle_node.c.idx < stop
    )
    return [(str(kind), int(ref)) for kind, ref in await conn.execute(stmt)]


async def leaves_with_hashes(conn: AsyncConnection, hashes: Sequence[bytes]) -> dict[bytes, int]:
    """hash → the index of a leaf appended with it, for the hashes given (verify tells altered from reordered)."""
    owners: dict[bytes, int] = {}
    wanted = sorted(set(hashes))
    for start in range(0, len(wanted), 500):
        stmt = select(merkle_node.c.hash, merkle_node.c.idx).where(
            merkle_node.c.level == 0, merkle_node.c.hash.in_(wanted[start : start + 500])
        )
        owners.update({bytes(r[0]): int(r[1]) for r in await conn.execute(stmt)})
    return owners


# -- re-pseudonymisation (issue 19.3, docs/integrity.md §14) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A verwerkt_object row a re-pseudonymisation looks at: objectId in the clear, or sealed (``sealed``)."""

    row: int
    versie_seq: int
    objecttype: str
    soort_object_id: str
    object_id: str | None
    sealed: bytes | None
    sleutel: bytes


_STORED = (
    verwerkt_object.c.id,
    verwerkt_object.c.versie_seq,
    verwerkt_object.c.objecttype,
    verwerkt_object.c.soort_object_id,
    verwerkt_object.c.object_id,
    verwerkt_object.c.object_id_enc,
    verwerkt_object.c.object_sleutel,
)


async def objects_to_restore(conn: AsyncConnection, casings: Sequence[str]) -> list[StoredObject]:
    """The object rows a re-pseudonymisation considers, each found through a partial index of migration 0010:
    every row whose objectId is in the clear, and every row written before the upgrade under one of
    ``casings`` (of "bsn") that no pass listed yet."""
    grens = select(herpseudonimisering_grens.c.object_row).where(herpseudonimisering_grens.c.id == 1)
    listed = select(herpseudonimiseerd_object.c.object_row)
    clear = select(*_STORED).where(verwerkt_object.c.object_id.is_not(None))
    # As literals, exactly the predicate of ix_object_bsn_casing: SQLite uses a partial index only then.
    in_casings = "soort_object_id IN (" + ", ".join(f"'{c}'" for c in casings if c.isalpha()) + ")"
    cased = select(*_STORED).where(
        text(in_casings),
        verwerkt_object.c.id <= grens.scalar_subquery(),
        verwerkt_object.c.object_id.is_(None),
        verwerkt_object.c.id.not_in(listed),
    )
    found: dict[int, StoredObject] = {}
    for stmt in (clear, cased):
        for r in await conn.execute(stmt):
            found[int(r[0])] = StoredObject(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                str(r[3]),
                None if r[4] is None else str(r[4]),
                None if r[5] is None else bytes(r[5]),
                bytes(r[6]),
            )
    return [found[k] for k in sorted(found)]


async def actie_leaves(conn: AsyncConnection, seqs: Sequence[int]) -> dict[int, int]:
    """seq → leaf index of these versions."""
    if not seqs:
        return {}
    stmt = select(merkle_node.c.ref, merkle_node.c.idx).where(
        merkle_node.c.level == 0, merkle_node.c.kind == KIND_ACTIE, merkle_node.c.ref.in_(sorted(set(seqs)))
    )
    return {int(r[0]): int(r[1]) for r in await conn.execute(stmt)}


async def repseudonymise(
    conn: AsyncConnection, tijdstip_us: int, objects: Sequence[StoredObject], sealed: Mapping[int, tuple[bytes, bytes]]
) -> HerpseudonimiseringEntry:
    """Record the pass and the rows it re-stores, then re-store them (the trigger of migration 0010 lets a listed
    row change its storage form only): ``sealed`` maps each row to (object_id_enc, object_sleutel)."""
    seqs = sorted({o.versie_seq for o in objects})
    leaves = await actie_leaves(conn, seqs)
    stmt = insert(herpseudonimisering).values(
        tijdstip_registratie_us=tijdstip_us, versies=len(seqs), objecten=len(objects)
    )
    entry_id = int((await conn.execute(stmt.returning(herpseudonimisering.c.id))).scalar_one())
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # overwrite the old cell content with zeros instead of leaving it in the page's free space
        await conn.exec_driver_sql("PRAGMA secure_delete = ON")
    await conn.execute(
        insert(herpseudonimiseerd_object),
        [
            {"object_row": o.row, "herpseudonimisering_id": entry_id, "leaf_index": leaves.get(o.versie_seq)}
            for o in objects
        ],
    )
    for o in objects:
        enc, sleutel = sealed[o.row]
        await conn.execute(
            update(verwerkt_object)
            .where(verwerkt_object.c.id == o.row)
            .values(object_id=None, object_id_enc=enc, object_sleutel=sleutel)
        )
    if sqlite:
        await conn.exec_driver_sql("PRAGMA secure_delete = OFF")
    return HerpseudonimiseringEntry(entry_id, tijdstip_us, len(seqs), len(objects), tuple(sorted(set(leaves.values()))))


async def truncate_sqlite_wal(conn: AsyncConnection) -> None:
    """SQLite: copy the write-ahead log into the database file and empty it, so that the page images it held
    from before a re-pseudonymisation (with the values in the clear) are gone from the disk too."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


async def herpseudonimiseringen(
    conn: AsyncConnection, ids: Sequence[int] | None = None
) -> dict[int, HerpseudonimiseringEntry]:
    """Re-pseudonymisation passes with the leaves of the versions each touched (all, or the given ids)."""
    stmt = select(herpseudonimisering)
    leaves_stmt = select(herpseudonimiseerd_object.c.herpseudonimisering_id, herpseudonimiseerd_object.c.leaf_index)
    if ids is not None:
        stmt = stmt.where(herpseudonimisering.c.id.in_(list(ids)))
        leaves_stmt = leaves_stmt.where(herpseudonimiseerd_object.c.herpseudonimisering_id.in_(list(ids)))
    touched: dict[int, set[int]] = {}
    for pair in await conn.execute(leaves_stmt):
        if pair[1] is not None:
            touched.setdefault(int(pair[0]), set()).add(int(pair[1]))
    out: dict[int, HerpseudonimiseringEntry] = {}
    for r in (await conn.execute(stmt)).mappings():
        hid = int(r["id"])
        out[hid] = HerpseudonimiseringEntry(
            hid,
            int(r["tijdstip_registratie_us"]),
            int(r["versies"]),
            int(r["objecten"]),
            tuple(sorted(touched.get(hid, set()))),
        )
    return out
