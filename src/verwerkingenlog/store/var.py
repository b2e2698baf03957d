"""The VAR's write and read paths (§17): append versions of processing activities, read an activity's
history, list the versions valid at an instant, and the log-side queries of the doelbinding report.

Versions are never updated (the database refuses it, migration 0003). "The version valid at instant t"
= the highest `versie` of an activity registered at or before t: a NOT EXISTS on the index of
`uq_activiteit_versie`, the same shape as the log's current-version test (store.read).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.var import (
    ActiviteitFilter,
    Activiteitgegevens,
    ActiviteitVersie,
    Vertaling,
    VerwerktPersoonsgegeven,
)
from verwerkingenlog.integrity.records import KIND_ACTIVITEIT, activiteit_record
from verwerkingenlog.store.integrity import Leaf, append_leaves
from verwerkingenlog.store.read import _visible as visible  # R-VER-4, defined once in the read path
from verwerkingenlog.store.tables import activiteit_versie as av
from verwerkingenlog.store.tables import versie

_later = av.alias("later_activiteit")

_SCALARS = (
    "naam",
    "gebaseerd_op",
    "categorie",
    "verantwoordelijke_bestuursorgaan",
    "doel",
    "grondslag",
    "toelichting_grondslag",
    "bewaartermijn",
    "herkomst",
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _row(v: ActiviteitVersie) -> dict[str, Any]:
    g = v.gegevens
    row: dict[str, Any] = {name: getattr(g, name) for name in _SCALARS}
    row.update(
        activiteit_id=v.id,
        versie=v.versie,
        organisatie=g.verantwoordelijke_organisatie,
        ingetrokken=v.ingetrokken,
        tijdstip_registratie_us=v.tijdstip_registratie_us,
        client_id=v.client_id,
        afnemende_internationale_derden=_dumps(list(g.afnemende_internationale_derden)),
        afnemende_categorie_ontvangers=_dumps(list(g.afnemende_categorie_ontvangers)),
        verwerkte_persoonsgegevens=_dumps([[p.rol_betrokkene, p.naam] for p in g.verwerkte_persoonsgegevens]),
        vertalingen=_dumps({taal: asdict(t) for taal, t in g.vertalingen}),
    )
    return row


def _versie(row: Mapping[Any, Any]) -> ActiviteitVersie:
    gegevens = Activiteitgegevens(
        verantwoordelijke_organisatie=row["organisatie"],
        afnemende_internationale_derden=tuple(json.loads(row["afnemende_internationale_derden"])),
        afnemende_categorie_ontvangers=tuple(json.loads(row["afnemende_categorie_ontvangers"])),
        verwerkte_persoonsgegevens=tuple(
            VerwerktPersoonsgegeven(rol, naam) for rol, naam in json.loads(row["verwerkte_persoonsgegevens"])
        ),
        vertalingen=tuple(sorted((taal, Vertaling(**t)) for taal, t in json.loads(row["vertalingen"]).items())),
        **{name: row[name] for name in _SCALARS},
    )
    return ActiviteitVersie(
        id=row["activiteit_id"],
        versie=row["versie"],
        ingetrokken=bool(row["ingetrokken"]),
        tijdstip_registratie_us=row["tijdstip_registratie_us"],
        gegevens=gegevens,
        seq=row["seq"],
        client_id=row["client_id"],
    )


def _valid_at(as_of_us: int | None) -> list[ColumnElement[bool]]:
    """The version valid at an instant (None = now): registered by then, no later one registered by
    then, and not a retirement."""
    later = [_later.c.activiteit_id == av.c.activiteit_id, _later.c.versie > av.c.versie]
    out: list[ColumnElement[bool]] = []
    if as_of_us is not None:
        later.append(_later.c.tijdstip_registratie_us <= as_of_us)
        out.append(av.c.tijdstip_registratie_us <= as_of_us)
    out += [~exists().where(and_(*later)), av.c.ingetrokken == false()]
    return out


def _filters(f: ActiviteitFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.verantwoordelijke_organisatie is not None:
        out.append(av.c.organisatie == f.verantwoordelijke_organisatie)
    if f.naam is not None:
        out.append(func.lower(av.c.naam).contains(f.naam.lower(), autoescape=True))
    if f.categorie is not None:
        out.append(func.lower(av.c.categorie) == f.categorie.lower())
    if f.grondslag is not None:
        out.append(func.lower(av.c.grondslag) == f.grondslag.lower())
    if f.gebaseerd_op is not None:
        out.append(av.c.gebaseerd_op == f.gebaseerd_op)
    return out


@dataclass(frozen=True, slots=True)
class LogGroup:
    """Visible log entries that share system, client, activity and uitvoerder (doelbinding report)."""

    systeem: str | None
    client_id: str | None
    activiteit_id: str | None
    uitvoerder: str | None
    aantal: int
    eerste_us: int
    laatste_us: int


@dataclass(frozen=True, slots=True)
class SpanCount:
    aantal: int
    eerste_us: int | None
    laatste_us: int | None
    voorbeelden: list[str]


def _same(column: Any, value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


class VarStore:
    async def lock(self, conn: AsyncConnection, activiteit_ids: Iterable[str]) -> None:
        """Serialise concurrent changes of the same activities (PostgreSQL advisory locks, taken in sorted
        order in one statement; SQLite serialises all writers already, store.db), so that two writers
        never both append version n + 1."""
        keys = sorted({f"var:{i}" for i in activiteit_ids})
        if conn.dialect.name != "postgresql" or not keys:
            return
        await conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                "FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS sorted_keys"
            ),
            {"keys": keys},
        )

    async def append(self, conn: AsyncConnection, versions: Sequence[ActiviteitVersie]) -> list[int]:
        """Insert versions in the caller's transaction; returns their `seq`s. Every version also becomes a
        leaf of the register's Merkle log, in commit order (docs/integrity.md §1)."""
        if not versions:
            return []
        stmt = insert(av).returning(av.c.seq, sort_by_parameter_order=True)
        result = await conn.execute(stmt, [_row(v) for v in versions])
        seqs = [int(r[0]) for r in result]
        leaves = [
            Leaf(KIND_ACTIVITEIT, seq, activiteit_record(replace(v, seq=seq)))
            for seq, v in zip(seqs, versions, strict=True)
        ]
        await append_leaves(conn, leaves)
        return seqs

    async def by_seq(self, conn: AsyncConnection, seqs: Iterable[int]) -> dict[int, ActiviteitVersie]:
        """Versions by their register-wide `seq` (the integrity check recomputes their leaves)."""
        wanted = sorted(set(seqs))
        if not wanted:
            return {}
        rows = (await conn.execute(select(av).where(av.c.seq.in_(wanted)))).mappings()
        return {int(row["seq"]): _versie(row) for row in rows}

    async def history(self, conn: AsyncConnection, activiteit_id: str) -> list[ActiviteitVersie]:
        """Every version of one activity, oldest first (retirements included)."""
        return (await self.histories(conn, [activiteit_id])).get(activiteit_id, [])

    async def histories(self, conn: AsyncConnection, ids: Iterable[str]) -> dict[str, list[ActiviteitVersie]]:
        """The histories of many activities in one query (explaining a page of log entries)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        stmt = select(av).where(av.c.activiteit_id.in_(wanted)).order_by(av.c.activiteit_id, av.c.versie)
        out: dict[str, list[ActiviteitVersie]] = defaultdict(list)
        for row in (await conn.execute(stmt)).mappings():
            out[row["activiteit_id"]].append(_versie(row))
        return dict(out)

    async def search(
        self, conn: AsyncConnection, f: ActiviteitFilter, limit: int, offset: int
    ) -> tuple[int, list[ActiviteitVersie]]:
        """GET /verwerkingsactiviteiten: the versions valid at `f.peildatum_us` (now when None), ordered by
        organisation, name and id so that pages are stable."""
        where = [*_valid_at(f.peildatum_us), *_filters(f)]
        count = (await conn.execute(select(func.count()).select_from(av).where(*where))).scalar_one()
        stmt = (
            select(av)
            .where(*where)
            .order_by(av.c.organisatie, av.c.naam, av.c.activiteit_id)
            .limit(limit)
            .offset(offset)
        )
        return int(count), [_versie(r) for r in (await conn.execute(stmt)).mappings()]

    # -- the log side of the doelbinding report ---------------------------------------------------------

    @staticmethod
    def _entries(begin_us: int | None, end_us: int | None, systeem: str | None) -> list[ColumnElement[bool]]:
        """Visible log entries (current, not vervallen: R-VER-4) in the half-open period, of one system."""
        out = [visible()]
        if begin_us is not None:
            out.append(versie.c.tijdstip_us >= begin_us)
        if end_us is not None:
            out.append(versie.c.tijdstip_us < end_us)
        if systeem is not None:
            out.append(versie.c.systeem == systeem)
        return out

    async def log_groups(
        self, conn: AsyncConnection, begin_us: int | None, end_us: int | None, systeem: str | None
    ) -> list[LogGroup]:
        """One aggregate over the log: a municipality has few systems, clients and activities, so the
        groups are few even when the entries are many."""
        keys = (versie.c.systeem, versie.c.client_id, versie.c.verwerkingsactiviteit_id, versie.c.uitvoerder)
        stmt = (
            select(*keys, func.count(), func.min(versie.c.tijdstip_us), func.max(versie.c.tijdstip_us))
            .where(*self._entries(begin_us, end_us, systeem))
            .group_by(*keys)
        )
        return [LogGroup(*row) for row in await conn.execute(stmt)]

    async def log_span(
        self,
        conn: AsyncConnection,
        group: LogGroup,
        begin_us: int | None,
        end_us: int | None,
        samples: int,
    ) -> SpanCount:
        """The entries of one group with `begin_us` ≤ tijdstip < `end_us` (None = open): count, first and
        last tijdstip, and the newest few actieIds as examples."""
        where = [
            *self._entries(begin_us, end_us, None),
            _same(versie.c.systeem, group.systeem),
            _same(versie.c.client_id, group.client_id),
            _same(versie.c.verwerkingsactiviteit_id, group.activiteit_id),
            _same(versie.c.uitvoerder, group.uitvoerder),
        ]
        aantal, eerste, laatste = (
            await conn.execute(
                select(func.count(), func.min(versie.c.tijdstip_us), func.max(versie.c.tijdstip_us)).where(*where)
            )
        ).one()
        stmt = (
            select(versie.c.actie_id)
            .where(*where)
            .order_by(versie.c.tijdstip_us.desc(), versie.c.seq.desc())
            .limit(samples)
        )
        voorbeelden = [str(r[0]) for r in await conn.execute(stmt)] if aantal else []
        return SpanCount(int(aantal), eerste, laatste, voorbeelden)
