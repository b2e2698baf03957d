"""The write path: append versions, never update or delete them (R-VER-5)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.model import Versie
from verwerkingenlog.integrity.records import KIND_ACTIE, actie_record
from verwerkingenlog.store.integrity import Leaf, append_leaves, next_version_seq
from verwerkingenlog.store.partitions import PURGE_LOCK_KEY
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import versie, verwerkt_object


class LogWriter:
    def __init__(self, codec: RowCodec) -> None:
        self.codec = codec

    async def lock(self, conn: AsyncConnection, lineage_ids: Iterable[str]) -> None:
        """R-VER-7: serialise concurrent changes of one lineage (PostgreSQL advisory locks, taken in
        sorted order to avoid deadlocks). SQLite serialises all writers already (store.db).

        First the partition purge's lock, shared: a month being purged as a whole holds it exclusively, so no
        lineage changes while its expiry is decided (store.partitions)."""
        if conn.dialect.name != "postgresql":
            return
        lineages = sorted(set(lineage_ids))
        if lineages:
            await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": PURGE_LOCK_KEY})
        for lineage in lineages:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:l, 0))"), {"l": lineage})

    async def append(self, conn: AsyncConnection, versions: Sequence[Versie]) -> list[int]:
        """Insert the versions and their objects in the caller's transaction; returns their `seq`s.

        Every version also becomes a leaf of the Merkle log, in commit order (docs/integrity.md §1).
        """
        if not versions:
            return []
        rows = [self.codec.versie_row(v) for v in versions]
        if conn.dialect.name == "sqlite":  # a seq is never reused, not even after a purge (store.integrity)
            first = await next_version_seq(conn)
            for offset, row in enumerate(rows):
                row["seq"] = first + offset
        stmt = insert(versie).returning(versie.c.seq, sort_by_parameter_order=True)
        result = await conn.execute(stmt, rows)
        seqs = [int(r[0]) for r in result]
        object_rows = [row for seq, v in zip(seqs, versions, strict=True) for row in self.codec.object_rows(seq, v)]
        if object_rows:
            await conn.execute(insert(verwerkt_object), object_rows)
        leaves = [
            Leaf(KIND_ACTIE, seq, actie_record(replace(v, seq=seq))) for seq, v in zip(seqs, versions, strict=True)
        ]
        await append_leaves(conn, leaves)
        return seqs
