"""The read path: every query of the register, written once, next to the indexes it relies on.

"Current version" (R-VER-2) = no later version in the same lineage: a NOT EXISTS on
`ix_versie_lineage_seq`. A page of actions with their objects costs three queries
(count, page, objects), never one per action.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, select, tuple_
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.model import ObjectFilter, Versie, VerwerktObject
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import versie
from verwerkingenlog.store.tables import verwerkt_object as obj

_later = versie.alias("later")
# A version and its objects share the registration time, the partition key on PostgreSQL (migration 0009): joining
# on it too lets the planner probe only the one partition that holds the version.
_OBJECT_OF_VERSION = and_(
    versie.c.seq == obj.c.versie_seq, versie.c.tijdstip_registratie_us == obj.c.tijdstip_registratie_us
)


def _sleutel_match(sleutels: Sequence[bytes]) -> ColumnElement[bool]:
    """The person's blind index (issue 19.3: two while rows of an older spelling of BSN are not re-keyed)."""
    if len(sleutels) == 1:
        return obj.c.object_sleutel == sleutels[0]
    return obj.c.object_sleutel.in_(list(sleutels))


def is_current(v: Any = versie) -> ColumnElement[bool]:
    """R-VER-2: the version with the highest sequence of its lineage."""
    return ~exists().where(_later.c.lineage_id == v.c.lineage_id, _later.c.seq > v.c.seq)


def _visible() -> ColumnElement[bool]:
    """R-VER-4: current and not vervallen."""
    return and_(versie.c.vervallen == false(), is_current())


class LogReader:
    def __init__(self, codec: RowCodec) -> None:
        self.codec = codec

    async def lineage_of(self, conn: AsyncConnection, actie_id: str) -> str | None:
        """R-VER-3: the `actieId` of any version resolves to its lineage."""
        row = (await conn.execute(select(versie.c.lineage_id).where(versie.c.actie_id == actie_id))).first()
        return None if row is None else str(row[0])

    async def current(self, conn: AsyncConnection, lineage_id: str) -> Versie | None:
        """The current version of a lineage, vervallen or not, with all its objects."""
        stmt = select(versie).where(versie.c.lineage_id == lineage_id).order_by(versie.c.seq.desc()).limit(1)
        rows = await self._versies(conn, stmt)
        return rows[0] if rows else None

    async def version(self, conn: AsyncConnection, actie_id: str) -> Versie | None:
        """Exactly the version with this `actieId` (not the current one): an idempotent replay
        answers with the original result (docs/idempotency.md)."""
        rows = await self._versies(conn, select(versie).where(versie.c.actie_id == actie_id))
        return rows[0] if rows else None

    async def by_seq(self, conn: AsyncConnection, seqs: Sequence[int]) -> dict[int, Versie]:
        """Versions by their register-wide `seq`, with all their objects (the integrity check recomputes
        their leaves)."""
        if not seqs:
            return {}
        versions = await self._versies(conn, select(versie).where(versie.c.seq.in_(sorted(set(seqs)))))
        return {v.seq: v for v in versions if v.seq is not None}

    async def history(self, conn: AsyncConnection, lineage_id: str) -> list[Versie]:
        """decisions.md 3: every version of a lineage in sequence order, vervallen ones included."""
        stmt = select(versie).where(versie.c.lineage_id == lineage_id).order_by(versie.c.seq)
        return await self._versies(conn, stmt)

    async def lineages_of_verwerking(self, conn: AsyncConnection, verwerking_id: str) -> list[str]:
        """Every lineage that ever had this verwerkingId: a superset to lock before deciding (R-PATCH-2)."""
        stmt = (
            select(versie.c.lineage_id)
            .where(versie.c.verwerking_id == verwerking_id)
            .distinct()
            .order_by(versie.c.lineage_id)
        )
        return [str(r[0]) for r in await conn.execute(stmt)]

    async def visible_of_verwerking(self, conn: AsyncConnection, verwerking_id: str) -> list[Versie]:
        """R-PATCH-2: lineages whose current, non-vervallen version has this verwerkingId."""
        stmt = select(versie).where(versie.c.verwerking_id == verwerking_id, _visible()).order_by(versie.c.seq)
        return await self._versies(conn, stmt)

    async def search_acties(
        self, conn: AsyncConnection, f: ObjectFilter, limit: int, offset: int
    ) -> tuple[int, list[Versie]]:
        """§6.2: visible actions with one object matching the person; only matching objects returned."""
        sleutel = _sleutel_match(self.codec.pseudo.sleutels(f.soort_object_id, f.object_id))
        # An uncorrelated IN, so that the blind index drives the query (a correlated EXISTS made SQLite
        # scan every version of the log for each person search).
        match = tuple_(versie.c.seq, versie.c.tijdstip_registratie_us).in_(
            select(obj.c.versie_seq, obj.c.tijdstip_registratie_us).where(sleutel, obj.c.objecttype == f.objecttype)
        )
        where = [match, _visible(), *_filters(f)]
        stmt = (
            select(versie, _TOTAL)
            .where(*where)
            .order_by(versie.c.tijdstip_us.desc(), versie.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        count, rows = await _counted(conn, stmt, select(func.count()).select_from(versie).where(*where), offset)
        page = await self._versies_of(conn, rows, (sleutel, obj.c.objecttype == f.objecttype))
        return count, page

    async def search_objecten(
        self, conn: AsyncConnection, f: ObjectFilter, limit: int, offset: int
    ) -> tuple[int, list[tuple[VerwerktObject, Versie]]]:
        """§7.1 R-INZ-1: one result per matching object occurrence in a visible action."""
        where = [
            _sleutel_match(self.codec.pseudo.sleutels(f.soort_object_id, f.object_id)),
            obj.c.objecttype == f.objecttype,
            _visible(),
            *_filters(f),
        ]
        joined = obj.join(versie, _OBJECT_OF_VERSION)
        stmt = (
            select(obj, versie, _TOTAL)
            .select_from(joined)
            .where(*where)
            .order_by(versie.c.tijdstip_us.desc(), versie.c.seq.desc(), obj.c.positie)
            .limit(limit)
            .offset(offset)
        )
        count, rows = await _counted(conn, stmt, select(func.count()).select_from(joined).where(*where), offset)
        return count, self._pairs_of(rows)

    async def object_by_id(self, conn: AsyncConnection, verwerkt_object_id: str) -> list[tuple[VerwerktObject, Versie]]:
        """R-INZS-1: the object as it is in the current, non-vervallen version of its action."""
        stmt = (
            select(obj, versie)
            .select_from(obj.join(versie, _OBJECT_OF_VERSION))
            .where(obj.c.verwerkt_object_id == verwerkt_object_id, _visible())
            .order_by(obj.c.positie)
        )
        return await self._pairs(conn, stmt)

    async def _pairs(self, conn: AsyncConnection, stmt: Select[Any]) -> list[tuple[VerwerktObject, Versie]]:
        return self._pairs_of((await conn.execute(stmt)).mappings().all())

    def _pairs_of(self, rows: Sequence[RowMapping]) -> list[tuple[VerwerktObject, Versie]]:
        out = []
        for row in rows:
            o = self.codec.object(row)
            out.append((o, self.codec.versie(row, (o,))))
        return out

    async def _versies(
        self, conn: AsyncConnection, stmt: Select[Any], *object_filter: ColumnElement[bool]
    ) -> list[Versie]:
        return await self._versies_of(conn, (await conn.execute(stmt)).mappings().all(), object_filter)

    async def _versies_of(
        self, conn: AsyncConnection, rows: Sequence[RowMapping], object_filter: Sequence[ColumnElement[bool]]
    ) -> list[Versie]:
        if not rows:
            return []
        objects = await self._objects(
            conn, [r["seq"] for r in rows], {r["tijdstip_registratie_us"] for r in rows}, object_filter
        )
        return [self.codec.versie(r, tuple(objects.get(r["seq"], ()))) for r in rows]

    async def _objects(
        self,
        conn: AsyncConnection,
        seqs: Sequence[int],
        registered: set[int],
        extra: Sequence[ColumnElement[bool]],
    ) -> dict[int, list[VerwerktObject]]:
        # The registration times prune the object partitions to those of the versions (PostgreSQL).
        where = [obj.c.versie_seq.in_(seqs), obj.c.tijdstip_registratie_us.in_(sorted(registered)), *extra]
        stmt = select(obj).where(*where).order_by(obj.c.versie_seq, obj.c.positie)
        out: dict[int, list[VerwerktObject]] = defaultdict(list)
        for row in (await conn.execute(stmt)).mappings():
            out[row["versie_seq"]].append(self.codec.object(row))
        return out


_TOTAL = func.count().over().label("vl_total")
"""The number of matches, on every row of a page: one query per page instead of a count and a page (each
walks every match of the person; on a partitioned log each is also planned over every partition)."""


async def _counted(
    conn: AsyncConnection, page: Select[Any], count: Select[Any], offset: int
) -> tuple[int, Sequence[RowMapping]]:
    """A page and the total. Only a page past the end, which carries no total, costs the separate count."""
    rows = (await conn.execute(page)).mappings().all()
    if rows:
        return int(rows[0]["vl_total"]), rows
    if offset == 0:
        return 0, rows
    return int((await conn.execute(count)).scalar_one()), rows


def _filters(f: ObjectFilter) -> list[ColumnElement[bool]]:
    """R-GETL-2..4 / R-INZ-2..3 / R-INZ-5: period, activity and confidentiality."""
    out: list[ColumnElement[bool]] = []
    if f.begin_us is not None:
        out.append(versie.c.tijdstip_us >= f.begin_us)
    if f.end_us is not None:
        out.append(versie.c.tijdstip_us < f.end_us)
    if f.verwerkingsactiviteit_id is not None:
        out.append(versie.c.verwerkingsactiviteit_id == f.verwerkingsactiviteit_id)
    if f.vertrouwelijkheid is not None:
        out.append(versie.c.vertrouwelijkheid.in_(sorted(v.value for v in f.vertrouwelijkheid)))
    return out
