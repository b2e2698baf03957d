"""Storage of Logius log lines' extra fields (domain.logboek.Logboekregel) and the read extension's query.

The action itself is stored by the ordinary write path (store.write), so it is a leaf of the Merkle log and
its data subject is pseudonymised; this table keeps, insert-only (migration 0006), what the VNG model has
no field for, keyed by the action's lineage. The unique (trace_id, span_id) makes a retried span the same
entry, also when two exports race.

Each row is a leaf of its own too (kind ``logboekregel``, integrity.records; migration 0008), appended in the
transaction that stores it, right after its action's version; its ``seq`` is the leaf's ``ref``. Only a purge
recorded in the log removes a row (store.retention, the trigger of migration 0008).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.logboek import Logboekregel, Status, activiteit_id_of
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.integrity.records import KIND_LOGBOEKREGEL, LogboekregelEntry, logboekregel_record
from verwerkingenlog.store.integrity import Leaf, append_leaves
from verwerkingenlog.store.read import is_current
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import merkle_node, metadata, versie
from verwerkingenlog.store.tables import verwerkt_object as obj

logboekregel = Table(
    "logboekregel",
    metadata,
    Column("lineage_id", String(36), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16)),
    Column("status", String(5), nullable=False),
    Column("status_message", Text),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("processor", Text),
    Column("resource", Text, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("client_id", String(100)),
    # The row's own sequence number, the `ref` of its leaf (migration 0008): an identity on PostgreSQL, handed
    # out by `_next_seq` on SQLite.
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("lineage_id", name="pk_logboekregel"),
    UniqueConstraint("trace_id", "span_id", name="uq_logboekregel_span"),
    UniqueConstraint("seq", name="uq_logboekregel_seq"),
)

_NEXT_SEQ = text(
    "SELECT MAX(COALESCE((SELECT MAX(seq) FROM logboekregel), 0), "
    "COALESCE((SELECT MAX(ref) FROM merkle_node WHERE kind = 'logboekregel' AND level = 0), 0)) + 1"
)


@dataclass(frozen=True, slots=True)
class Criteria:
    """The read extension's criteria, already validated (api.logboek)."""

    trace_ids: tuple[str, ...] = ()  # 32 lowercase hex digits each; several: a batch query (any of them)
    start_us: int | None = None
    end_us: int | None = None
    activity: str | None = None
    subject_type: str | None = None
    subject_ids: tuple[str, ...] = ()  # several: a batch query (any of them)
    vertrouwelijkheid: frozenset[Vertrouwelijkheid] = frozenset({Vertrouwelijkheid.NORMAAL})


def _regel(row: Mapping[Any, Any]) -> Logboekregel:
    return Logboekregel(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        status=Status(row["status"]),
        status_message=row["status_message"],
        start_ns=int(row["start_ns"]),
        end_ns=int(row["end_ns"]),
        processor=row["processor"],
        resource=json.loads(row["resource"]),
        attributes=json.loads(row["attributes"]),
    )


def _entry(row: Mapping[Any, Any]) -> LogboekregelEntry:
    return LogboekregelEntry(int(row["seq"]), str(row["lineage_id"]), row["client_id"], _regel(row))


async def entries_by_seq(conn: AsyncConnection, seqs: Sequence[int]) -> dict[int, LogboekregelEntry]:
    """The stored rows with these seqs (verify: the rows the leaves of a batch cover)."""
    if not seqs:
        return {}
    stmt = select(logboekregel).where(logboekregel.c.seq.in_(sorted(set(seqs))))
    return {int(row["seq"]): _entry(row) for row in (await conn.execute(stmt)).mappings()}


async def entry_of_actie(conn: AsyncConnection, actie_id: str) -> LogboekregelEntry | None:
    """The row kept for the action one of whose versions has this actieId (None for a VNG entry)."""
    lineage = select(versie.c.lineage_id).where(versie.c.actie_id == actie_id).scalar_subquery()
    row = (await conn.execute(select(logboekregel).where(logboekregel.c.lineage_id == lineage))).mappings().first()
    return None if row is None else _entry(row)


async def stored_seqs(conn: AsyncConnection) -> dict[int, str]:
    """Every stored row: seq → the entry's name in a verify report (verify: rows that have no leaf)."""
    rows = await conn.execute(select(logboekregel.c.seq, logboekregel.c.lineage_id, logboekregel.c.span_id))
    return {int(r[0]): entry_name(str(r[1]), str(r[2])) for r in rows}


def entry_name(lineage_id: str, span_id: str) -> str:
    """How a verify report names a logboekregel: the action (its lineage's actieId) and the span."""
    return f"{lineage_id} (span {span_id})"


async def seqs_of_lineages(conn: AsyncConnection, lineage_ids: Sequence[str]) -> list[int]:
    """The seqs of the rows kept for these lineages (the purge removes them with the lineage)."""
    if not lineage_ids:
        return []
    stmt = select(logboekregel.c.seq).where(logboekregel.c.lineage_id.in_(sorted(set(lineage_ids))))
    return sorted(int(r[0]) for r in await conn.execute(stmt))


def _orphaned() -> ColumnElement[bool]:
    """A row whose lineage has no version left (ix_versie_lineage_seq) but that has its leaf: the lineage was purged
    before migration 0008 made the purge take the row along."""
    no_version = ~exists().where(versie.c.lineage_id == logboekregel.c.lineage_id)
    leaf = exists().where(
        merkle_node.c.kind == KIND_LOGBOEKREGEL, merkle_node.c.ref == logboekregel.c.seq, merkle_node.c.level == 0
    )
    return and_(no_version, leaf)


async def orphan_seqs(conn: AsyncConnection, limit: int) -> list[int]:
    """The first ``limit`` rows (by seq) whose lineage an earlier purge removed without them."""
    stmt = select(logboekregel.c.seq).where(_orphaned()).order_by(logboekregel.c.seq).limit(limit)
    return [int(r[0]) for r in await conn.execute(stmt)]


async def orphan_count(conn: AsyncConnection) -> int:
    stmt = select(func.count()).select_from(logboekregel).where(_orphaned())
    return int((await conn.execute(stmt)).scalar_one())


def _activity(activity: str) -> ColumnElement[bool]:
    """dpl.core.processing_activity_id matches the activity's URL or id. A URI ending in the activity's UUID
    (this register's VAR URLs) is searched through ix_versie_activiteit: entries with that id and this URL, or
    with that id and no URL (VNG minimal logging); any other URI compares URLs (not indexed)."""
    uid = activiteit_id_of(activity)
    if uid is None:
        return versie.c.verwerkingsactiviteit_url == activity
    if uid == activity.lower():
        return versie.c.verwerkingsactiviteit_id == uid
    url = versie.c.verwerkingsactiviteit_url
    return and_(versie.c.verwerkingsactiviteit_id == uid, or_(url == activity, url.is_(None)))


class LogboekStore:
    def __init__(self, codec: RowCodec) -> None:
        self.codec = codec

    async def known(self, conn: AsyncConnection, spans: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (trace_id, span_id) are already stored (a retried export)."""
        wanted = sorted(set(spans))
        found: set[tuple[str, str]] = set()
        for i in range(0, len(wanted), 200):
            chunk = wanted[i : i + 200]
            stmt = select(logboekregel.c.trace_id, logboekregel.c.span_id).where(
                tuple_(logboekregel.c.trace_id, logboekregel.c.span_id).in_(chunk)
            )
            found.update((str(t), str(s)) for t, s in await conn.execute(stmt))
        return found

    async def insert(
        self, conn: AsyncConnection, rows: Sequence[tuple[str, Logboekregel, str | None]]
    ) -> list[LogboekregelEntry]:
        """(lineage_id, regel, client_id) in the caller's transaction, next to the actions' append; each row
        becomes a leaf (after its action's version: the caller appended those first)."""
        if not rows:
            return []
        values: list[dict[str, Any]] = [
            {
                "lineage_id": lineage,
                "trace_id": r.trace_id,
                "span_id": r.span_id,
                "parent_span_id": r.parent_span_id,
                "status": r.status.value,
                "status_message": r.status_message,
                "start_ns": r.start_ns,
                "end_ns": r.end_ns,
                "processor": r.processor,
                "resource": json.dumps(r.resource, ensure_ascii=False, sort_keys=True),
                "attributes": json.dumps(r.attributes, ensure_ascii=False, sort_keys=True),
                "client_id": client_id,
            }
            for lineage, r, client_id in rows
        ]
        if conn.dialect.name == "sqlite":  # no identity: a seq is never reused, not even after a purge
            first = int((await conn.execute(_NEXT_SEQ)).scalar_one())
            for offset, row in enumerate(values):
                row["seq"] = first + offset
        stmt = insert(logboekregel).returning(logboekregel.c.seq, sort_by_parameter_order=True)
        seqs = [int(r[0]) for r in await conn.execute(stmt, values)]
        # The stored values, read back as `regels` reads them, so the leaf covers exactly what is stored.
        entries = [
            LogboekregelEntry(seq, row["lineage_id"], row["client_id"], _regel(row))
            for seq, row in zip(seqs, values, strict=True)
        ]
        await append_leaves(conn, [Leaf(KIND_LOGBOEKREGEL, e.seq, logboekregel_record(e)) for e in entries])
        return entries

    async def regels(self, conn: AsyncConnection, lineage_ids: Iterable[str]) -> dict[str, Logboekregel]:
        ids = sorted(set(lineage_ids))
        if not ids:
            return {}
        stmt = select(logboekregel).where(logboekregel.c.lineage_id.in_(ids))
        return {row["lineage_id"]: _regel(row) for row in (await conn.execute(stmt)).mappings()}

    async def search(self, conn: AsyncConnection, c: Criteria, limit: int, offset: int) -> tuple[int, list[int]]:
        """The seqs of visible (current, not vervallen) actions matching every criterion, newest first.

        A trace is matched by verwerkingId: an OTLP entry's verwerkingId is its trace id, and a VNG entry's
        trace id is its verwerkingId (domain.logboek), so both faces find the same entries.
        """
        where = [versie.c.vervallen.is_(False), is_current()]
        where.append(versie.c.vertrouwelijkheid.in_(sorted(v.value for v in c.vertrouwelijkheid)))
        if c.trace_ids:
            ids = sorted({f"{t[0:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:32]}" for t in c.trace_ids})
            where.append(versie.c.verwerking_id == ids[0] if len(ids) == 1 else versie.c.verwerking_id.in_(ids))
        if c.start_us is not None:
            where.append(versie.c.tijdstip_us >= c.start_us)
        if c.end_us is not None:
            where.append(versie.c.tijdstip_us <= c.end_us)
        if c.activity is not None:
            where.append(_activity(c.activity))
        if c.subject_ids and c.subject_type is not None:
            sleutels = sorted({k for i in c.subject_ids for k in self.codec.pseudo.sleutels(c.subject_type, i)})
            sleutel = obj.c.object_sleutel == sleutels[0] if len(sleutels) == 1 else obj.c.object_sleutel.in_(sleutels)
            where.append(versie.c.seq.in_(select(obj.c.versie_seq).where(and_(sleutel, obj.c.objecttype == "persoon"))))
        count = (await conn.execute(select(func.count()).select_from(versie).where(*where))).scalar_one()
        stmt = (
            select(versie.c.seq)
            .where(*where)
            .order_by(versie.c.tijdstip_us.desc(), versie.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        return int(count), [int(r[0]) for r in await conn.execute(stmt)]
