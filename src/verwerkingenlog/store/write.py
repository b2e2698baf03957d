"""The write path: append versions, never update or delete them (R-VER-5)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.model import Versie
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import versie, verwerkt_object


class LogWriter:
    def __init__(self, codec: RowCodec) -> None:
        self.codec = codec

    async def lock(self, conn: AsyncConnection, lineage_ids: Iterable[str]) -> None:
        """R-VER-7: serialise concurrent changes of one lineage (PostgreSQL advisory locks, taken in
        sorted order to avoid deadlocks). SQLite serialises all writers already (store.db)."""
        if conn.dialect.name != "postgresql":
            return
        for lineage in sorted(set(lineage_ids)):
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:l, 0))"), {"l": lineage})

    async def append(self, conn: AsyncConnection, versions: Sequence[Versie]) -> list[int]:
        """Insert the versions and their objects in the caller's transaction; returns their `seq`s."""
        if not versions:
            return []
        stmt = insert(versie).returning(versie.c.seq, sort_by_parameter_order=True)
        result = await conn.execute(stmt, [self.codec.versie_row(v) for v in versions])
        seqs = [int(r[0]) for r in result]
        object_rows = [row for seq, v in zip(seqs, versions, strict=True) for row in self.codec.object_rows(seq, v)]
        if object_rows:
            await conn.execute(insert(verwerkt_object), object_rows)
        return seqs
