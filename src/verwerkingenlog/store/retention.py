"""The purge's SQL (R-RET-3): find lineages by their current version's retention, remove their content.

Removal is the one exception to the append-only rule, and the database enforces its shape (migration 0005): a
version or object row can only be deleted once its leaf is listed in `purged_leaf`, i.e. after the purge has
been recorded. On PostgreSQL the rows go through the SECURITY DEFINER function `verwerkingenlog_purge_versions`,
so the application role needs no DELETE privilege (docs/deployment.md). A lineage's logboekregel row (the Logius
fields of an OTLP entry, store.logboek) goes with it, the same way (migration 0008,
`verwerkingenlog_purge_logboekregels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import BigInteger

from verwerkingenlog.store.logboek import logboekregel
from verwerkingenlog.store.read import is_current
from verwerkingenlog.store.tables import versie, verwerkt_object


@dataclass(frozen=True, slots=True)
class Termijn:
    """The retention inputs of a lineage (R-RET-1): its current version's tijdstip and bewaartermijn."""

    lineage_id: str
    seq: int
    tijdstip: str
    bewaartermijn: str


async def current_terms(conn: AsyncConnection, after_seq: int, limit: int) -> list[Termijn]:
    """Current versions (R-VER-2) that have a bewaartermijn, in `seq` order after ``after_seq`` (keyset pages).
    Lineages whose current version has none are never purged (R-RET-2 without an organisation maximum)."""
    stmt = (
        select(versie.c.lineage_id, versie.c.seq, versie.c.tijdstip, versie.c.bewaartermijn)
        .where(versie.c.seq > after_seq, versie.c.bewaartermijn.is_not(None), is_current())
        .order_by(versie.c.seq)
        .limit(limit)
    )
    return [Termijn(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in await conn.execute(stmt)]


async def terms_of(conn: AsyncConnection, lineage_ids: Sequence[str]) -> dict[str, Termijn]:
    """The current version's retention inputs of each lineage (re-read under the lineage locks)."""
    stmt = select(versie.c.lineage_id, versie.c.seq, versie.c.tijdstip, versie.c.bewaartermijn).where(
        versie.c.lineage_id.in_(sorted(set(lineage_ids))), is_current()
    )
    return {
        str(r[0]): Termijn(str(r[0]), int(r[1]), str(r[2]), str(r[3]))
        for r in await conn.execute(stmt)
        if r[3] is not None
    }


async def lineage_versions(conn: AsyncConnection, lineage_ids: Sequence[str]) -> dict[str, list[int]]:
    """Every version (`seq`, in order) of each lineage."""
    stmt = (
        select(versie.c.lineage_id, versie.c.seq)
        .where(versie.c.lineage_id.in_(sorted(set(lineage_ids))))
        .order_by(versie.c.seq)
    )
    out: dict[str, list[int]] = {}
    for r in await conn.execute(stmt):
        out.setdefault(str(r[0]), []).append(int(r[1]))
    return out


async def object_count(conn: AsyncConnection, seqs: Sequence[int]) -> int:
    stmt = select(func.count()).select_from(verwerkt_object).where(verwerkt_object.c.versie_seq.in_(list(seqs)))
    return int((await conn.execute(stmt)).scalar_one())


_PURGE_FUNCTION = text("SELECT verwerkingenlog_purge_versions(:seqs)").bindparams(
    bindparam("seqs", type_=ARRAY(BigInteger()))
)


async def remove_versions(conn: AsyncConnection, seqs: Sequence[int]) -> None:
    """Delete the versions and their objects; the triggers refuse any row whose leaf no purge lists."""
    if not seqs:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(_PURGE_FUNCTION, {"seqs": list(seqs)})
        return
    await conn.execute(delete(verwerkt_object).where(verwerkt_object.c.versie_seq.in_(list(seqs))))
    await conn.execute(delete(versie).where(versie.c.seq.in_(list(seqs))))


_PURGE_LOGBOEKREGELS = text("SELECT verwerkingenlog_purge_logboekregels(:seqs)").bindparams(
    bindparam("seqs", type_=ARRAY(BigInteger()))
)


async def remove_logboekregels(conn: AsyncConnection, seqs: Sequence[int]) -> None:
    """Delete the logboekregel rows of purged lineages; the trigger refuses any row whose leaf no purge lists."""
    if not seqs:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(_PURGE_LOGBOEKREGELS, {"seqs": list(seqs)})
        return
    await conn.execute(delete(logboekregel).where(logboekregel.c.seq.in_(list(seqs))))
