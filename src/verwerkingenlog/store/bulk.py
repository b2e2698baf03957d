"""The bulk write path (extension, docs/performance.md): many new versions in one transaction, stored with
PostgreSQL COPY. Same rows, same Merkle leaves, same order as `LogWriter.append`; on SQLite it is that."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.model import Versie
from verwerkingenlog.integrity.records import KIND_ACTIE, actie_record
from verwerkingenlog.store.integrity import Leaf, append_leaves, leaves_of, lock_log
from verwerkingenlog.store.tables import versie, verwerkt_object
from verwerkingenlog.store.write import LogWriter

_VERSIE_COLUMNS = [c.name for c in versie.columns]
_OBJECT_COLUMNS = [c.name for c in verwerkt_object.columns if c.name != "id"]
_NEXT_SEQS = "SELECT nextval(pg_get_serial_sequence('verwerkingsactie_versie', 'seq')) FROM generate_series(1, $1)"


async def append_many(
    writer: LogWriter, conn: AsyncConnection, versions: Sequence[Versie]
) -> tuple[list[int], list[int]]:
    """Insert ``versions`` (new actions) in the caller's transaction: (their seqs, their leaf indexes)."""
    if not versions:
        return [], []
    if conn.dialect.name != "postgresql":
        seqs = await writer.append(conn, versions)
        by_seq = await leaves_of(conn, KIND_ACTIE, seqs)
        return seqs, [by_seq[seq] for seq in seqs]
    seqs = await _copy(writer, conn, versions)
    leaves = [Leaf(KIND_ACTIE, seq, actie_record(replace(v, seq=seq))) for seq, v in zip(seqs, versions, strict=True)]
    return seqs, await append_leaves(conn, leaves)


async def _copy(writer: LogWriter, conn: AsyncConnection, versions: Sequence[Versie]) -> list[int]:
    # A statement through SQLAlchemy first: it opens the transaction that the raw COPY then runs in.
    await lock_log(conn)
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    pg: Any = raw.driver_connection
    seqs = sorted(int(r[0]) for r in await pg.fetch(_NEXT_SEQS, len(versions)))
    rows = []
    objects: list[tuple[Any, ...]] = []
    for seq, v in zip(seqs, versions, strict=True):
        row = writer.codec.versie_row(v)
        row["seq"] = seq
        rows.append(tuple(row.get(c) for c in _VERSIE_COLUMNS))
        objects.extend(tuple(o.get(c) for c in _OBJECT_COLUMNS) for o in writer.codec.object_rows(seq, v))
    await pg.copy_records_to_table(versie.name, records=rows, columns=_VERSIE_COLUMNS)
    if objects:
        await pg.copy_records_to_table(verwerkt_object.name, records=objects, columns=_OBJECT_COLUMNS)
    return seqs
