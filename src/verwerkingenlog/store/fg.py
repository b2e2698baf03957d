"""The FG's queries (issue 17, docs/fg.md): who processed whom, the entries the signals are computed over, and the
watch list (insert-only, migration 0013)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.fg import Regel
from verwerkingenlog.domain.model import ObjectFilter, Versie, VerwerktObject
from verwerkingenlog.store.read import _OBJECT_OF_VERSION, _TOTAL, _counted, _filters, _sleutel_match, _visible
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import fg_volglijst, versie
from verwerkingenlog.store.tables import verwerkt_object as obj

_VOLGLIJST_CTX = b"fg_volglijst.object_id"
TOEGEVOEGD = "toegevoegd"
VERWIJDERD = "verwijderd"


@dataclass(frozen=True, slots=True)
class Gevolgd:
    """A person on the watch list (current state: the last event was 'toegevoegd')."""

    soort_object_id: str
    object_id: str
    sinds_us: int
    door: str
    reden: str | None


@dataclass(frozen=True, slots=True)
class Verwerker:
    """Who processed one person's data: one organisation, system, gebruiker and activity, how often, from when to
    when."""

    uitvoerder: str | None
    systeem: str | None
    gebruiker: str | None
    activiteit_id: str | None
    aantal: int
    eerste_us: int
    laatste_us: int


@dataclass(frozen=True, slots=True)
class Volume:
    activiteit_id: str | None
    uitvoerder: str | None
    acties: int
    personen: int


def _period(begin_us: int | None, end_us: int | None, activiteit_id: str | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if begin_us is not None:
        out.append(versie.c.tijdstip_us >= begin_us)
    if end_us is not None:
        out.append(versie.c.tijdstip_us < end_us)
    if activiteit_id is not None:
        out.append(versie.c.verwerkingsactiviteit_id == activiteit_id)
    return out


class FgStore:
    def __init__(self, codec: RowCodec) -> None:
        self.codec = codec

    def sleutel(self, soort: str, object_id: str) -> bytes:
        return self.codec.pseudo.sleutel(soort, object_id)

    async def acties_van(
        self,
        conn: AsyncConnection,
        gebruiker: str | None,
        systeem: str | None,
        begin_us: int | None,
        end_us: int | None,
        activiteit_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[Versie]]:
        """Visible actions of one gebruiker and/or system, newest first, with all their objects
        (`ix_versie_gebruiker_tijdstip`, migration 0013)."""
        where = [_visible(), *_period(begin_us, end_us, activiteit_id)]
        if gebruiker is not None:
            where.append(versie.c.gebruiker == gebruiker)
        if systeem is not None:
            where.append(versie.c.systeem == systeem)
        stmt = (
            select(versie, _TOTAL)
            .where(*where)
            .order_by(versie.c.tijdstip_us.desc(), versie.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        count, rows = await _counted(conn, stmt, select(func.count()).select_from(versie).where(*where), offset)
        if not rows:
            return count, []
        objects: dict[int, list[VerwerktObject]] = defaultdict(list)
        ostmt = (
            select(obj)
            .where(
                obj.c.versie_seq.in_([r["seq"] for r in rows]),
                obj.c.tijdstip_registratie_us.in_(sorted({r["tijdstip_registratie_us"] for r in rows})),
            )
            .order_by(obj.c.versie_seq, obj.c.positie)
        )
        for row in (await conn.execute(ostmt)).mappings():
            objects[row["versie_seq"]].append(self.codec.object(row))
        return count, [self.codec.versie(r, tuple(objects.get(r["seq"], ()))) for r in rows]

    async def regels(
        self, conn: AsyncConnection, begin_us: int, end_us: int, skip_activiteiten: Sequence[str], limit: int
    ) -> list[Regel]:
        """Every person (objecttype `persoon`) in every visible action of the period, but the register's own; at most
        `limit` (the caller asks one more to know that there are more)."""
        stmt = (
            select(
                versie.c.actie_id,
                versie.c.tijdstip_us,
                versie.c.gebruiker,
                versie.c.systeem,
                versie.c.verwerkingsactiviteit_id,
                obj.c.object_sleutel,
            )
            .select_from(obj.join(versie, _OBJECT_OF_VERSION))
            .where(obj.c.objecttype == "persoon", _visible(), *_own_excluded(skip_activiteiten))
            .where(versie.c.tijdstip_us >= begin_us, versie.c.tijdstip_us < end_us)
            .order_by(versie.c.tijdstip_us, versie.c.seq, obj.c.positie)
            .limit(limit)
        )
        return [Regel(r[0], int(r[1]), r[2], r[3], r[4], bytes(r[5])) for r in (await conn.execute(stmt)).all()]

    async def personen_per_gebruiker(
        self, conn: AsyncConnection, begin_us: int, end_us: int, skip_activiteiten: Sequence[str]
    ) -> dict[tuple[str, str | None], int]:
        """Distinct persons per (gebruiker, activity) in a window: the own baseline of the volume signal."""
        stmt = (
            select(versie.c.gebruiker, versie.c.verwerkingsactiviteit_id, func.count(obj.c.object_sleutel.distinct()))
            .select_from(obj.join(versie, _OBJECT_OF_VERSION))
            .where(obj.c.objecttype == "persoon", versie.c.gebruiker.is_not(None), _visible())
            .where(versie.c.tijdstip_us >= begin_us, versie.c.tijdstip_us < end_us, *_own_excluded(skip_activiteiten))
            .group_by(versie.c.gebruiker, versie.c.verwerkingsactiviteit_id)
        )
        return {(str(r[0]), r[1]): int(r[2]) for r in (await conn.execute(stmt)).all()}

    async def verwerkers(self, conn: AsyncConnection, f: ObjectFilter) -> list[Verwerker]:
        """Every (uitvoerder, systeem, gebruiker, activity) that processed the person of `f` in its visible entries
        (the blind index drives it, like the person searches of store.read), most recent first."""
        key = (versie.c.uitvoerder, versie.c.systeem, versie.c.gebruiker, versie.c.verwerkingsactiviteit_id)
        stmt = (
            select(
                *key,
                func.count(versie.c.seq.distinct()),
                func.min(versie.c.tijdstip_us),
                func.max(versie.c.tijdstip_us),
            )
            .select_from(obj.join(versie, _OBJECT_OF_VERSION))
            .where(
                _sleutel_match(self.codec.pseudo.sleutels(f.soort_object_id, f.object_id)),
                obj.c.objecttype == f.objecttype,
                _visible(),
                *_filters(f),
            )
            .group_by(*key)
        )
        out = [
            Verwerker(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6])) for r in (await conn.execute(stmt)).all()
        ]
        return sorted(out, key=lambda v: (-v.laatste_us, v.uitvoerder or "", v.systeem or "", v.gebruiker or ""))

    async def volumes(self, conn: AsyncConnection, begin_us: int, end_us: int) -> list[Volume]:
        """Visible actions and distinct persons per (activity, uitvoerder) in a period: the FG report's volumes."""
        key = (versie.c.verwerkingsactiviteit_id, versie.c.uitvoerder)
        period = (versie.c.tijdstip_us >= begin_us, versie.c.tijdstip_us < end_us)
        acties = select(*key, func.count()).where(_visible(), *period).group_by(*key)
        personen = (
            select(*key, func.count(obj.c.object_sleutel.distinct()))
            .select_from(obj.join(versie, _OBJECT_OF_VERSION))
            .where(obj.c.objecttype == "persoon", _visible(), *period)
            .group_by(*key)
        )
        counted = {(r[0], r[1]): int(r[2]) for r in (await conn.execute(personen)).all()}
        out = [Volume(r[0], r[1], int(r[2]), counted.get((r[0], r[1]), 0)) for r in (await conn.execute(acties)).all()]
        return sorted(out, key=lambda v: (v.activiteit_id or "", v.uitvoerder or ""))

    async def personen(self, conn: AsyncConnection, sleutels: Sequence[bytes]) -> dict[bytes, tuple[str, str]]:
        """(soortObjectId, objectId) of persons by blind index, opened from one stored object each."""
        if not sleutels:
            return {}
        first = (
            select(func.min(obj.c.id))
            .where(obj.c.object_sleutel.in_(list(sleutels)), obj.c.objecttype == "persoon")
            .group_by(obj.c.object_sleutel)
        )
        stmt = select(obj).where(obj.c.id.in_(first))
        out = {}
        for row in (await conn.execute(stmt)).mappings():
            o = self.codec.object(row)
            out[bytes(row["object_sleutel"])] = (o.soort_object_id, o.object_id)
        return out

    # -- the watch list --------------------------------------------------------------------------------------------

    async def volglijst(self, conn: AsyncConnection) -> list[tuple[bytes, Gevolgd]]:
        """The current watch list: per person the last event, if it was 'toegevoegd'."""
        last = select(func.max(fg_volglijst.c.id)).group_by(fg_volglijst.c.object_sleutel)
        stmt = select(fg_volglijst).where(fg_volglijst.c.id.in_(last)).order_by(fg_volglijst.c.id)
        out = []
        for r in (await conn.execute(stmt)).mappings():
            if r["event"] != TOEGEVOEGD:
                continue
            value = self.codec.pseudo.open(bytes(r["object_id_enc"]), _VOLGLIJST_CTX)
            out.append(
                (
                    bytes(r["object_sleutel"]),
                    Gevolgd(r["soort_object_id"], value, int(r["at_us"]), r["door"], r["reden"]),
                )
            )
        return out

    async def volg(
        self, conn: AsyncConnection, event: str, soort: str, object_id: str, at_us: int, door: str, reden: str | None
    ) -> None:
        await conn.execute(
            insert(fg_volglijst).values(
                at_us=at_us,
                event=event,
                object_sleutel=self.sleutel(soort, object_id),
                soort_object_id=soort,
                object_id_enc=self.codec.pseudo.seal(object_id, _VOLGLIJST_CTX),
                door=door,
                reden=reden,
            )
        )


def _own_excluded(activiteiten: Sequence[str]) -> list[ColumnElement[bool]]:
    """The register's own entries (self-log, FG views) are not the processings the signals look at; an entry that
    names no activity is."""
    if not activiteiten:
        return []
    return [
        (versie.c.verwerkingsactiviteit_id.is_(None)) | (versie.c.verwerkingsactiviteit_id.not_in(list(activiteiten)))
    ]
