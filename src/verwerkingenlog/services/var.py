"""The VAR use cases (§17 and its extensions), shared by the HTTP API and the CLI.

Reads follow §17.4 (the scopes the VAR OAS names); writes, history, import and the doelbinding report are
extensions with their own scopes (domain.scopes). Every write appends versions in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain import scopes
from verwerkingenlog.domain import var as rules
from verwerkingenlog.domain.errors import Gone, NotFound, ValidationFailed
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.pagination import Page, page_beyond_end
from verwerkingenlog.domain.values import render_registratie
from verwerkingenlog.domain.var import ActiviteitFilter, Activiteitgegevens, ActiviteitVersie, Bevinding
from verwerkingenlog.domain.versioning import IdFactory, random_id
from verwerkingenlog.services.register import Results, wall_clock_us
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.var import SpanCount, VarStore

SAMPLES = 5  # example actieIds per line of the doelbinding report


class Uitkomst(StrEnum):
    """What an import did with one row."""

    NIEUW = "nieuw"
    GEWIJZIGD = "gewijzigd"
    ONGEWIJZIGD = "ongewijzigd"


@dataclass(frozen=True, slots=True)
class DoelbindingRegel:
    """One line of the doelbinding report: entries of one system and client, for one activity id and
    uitvoerder, that share a finding."""

    bevinding: Bevinding
    systeem: str | None
    client_id: str | None
    activiteit_id: str | None
    uitvoerder: str | None
    aantal: int
    eerste_us: int
    laatste_us: int
    voorbeelden: list[str] = field(default_factory=list)
    activiteit: ActiviteitVersie | None = None  # the activity's latest version, when known


def _bound(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
    if a is None:
        return b
    return a if b is None else pick(a, b)


class VarService:
    def __init__(
        self,
        db: Database,
        store: VarStore | None = None,
        clock: Callable[[], int] = wall_clock_us,
        new_id: IdFactory = random_id,
    ) -> None:
        self.db = db
        self.store = store or VarStore()
        self.clock = clock
        self.new_id = new_id

    # -- reads (§17.2) -----------------------------------------------------------------------------------

    async def search(self, caller: Caller, f: ActiviteitFilter, page: Page) -> Results[ActiviteitVersie]:
        """GET /verwerkingsactiviteiten: the activities valid now (or at the peildatum), retired ones not."""
        scopes.check_var_read(caller.scopes)
        async with self.db.reading() as conn:
            count, items = await self.store.search(conn, f, page.size, page.offset)
        problem = page_beyond_end(page, count)
        if problem is not None:
            raise ValidationFailed([problem])
        return Results(count, items)

    async def read(self, caller: Caller, activiteit_id: str, peildatum_us: int | None = None) -> ActiviteitVersie:
        """GET /verwerkingsactiviteit/{id}: the current version, or the one valid at the peildatum.

        Unknown (or not registered yet at the peildatum) → 404; retired → 410, naming when, so that a
        caller following an old log entry's link knows to ask with the entry's tijdstip as peildatum.
        """
        scopes.check_var_read(caller.scopes)
        async with self.db.reading() as conn:
            versions = await self.store.history(conn, activiteit_id)
        if not versions:
            raise NotFound("No processing activity with this id exists.")
        found = versions[-1] if peildatum_us is None else rules.version_at(versions, peildatum_us)
        if found is None:
            raise NotFound("This processing activity was not registered yet at the peildatum.")
        if found.ingetrokken:
            raise Gone(
                f"This processing activity was retired (ingetrokken) at "
                f"{render_registratie(found.tijdstip_registratie_us)}. Ask with a peildatum before that moment "
                "to read it as it was."
            )
        return found

    async def history(self, caller: Caller, activiteit_id: str) -> list[ActiviteitVersie]:
        """Every version, oldest first, retirements included (extension)."""
        scopes.check_var_history(caller.scopes)
        async with self.db.reading() as conn:
            versions = await self.store.history(conn, activiteit_id)
        if not versions:
            raise NotFound("No processing activity with this id exists.")
        return versions

    # -- writes (extension) -------------------------------------------------------------------------------

    async def create(self, caller: Caller, activiteit_id: str | None, gegevens: Activiteitgegevens) -> ActiviteitVersie:
        """A new activity; its id is the one supplied (a VAR usually has its UUIDs already) or a new UUID4."""
        scopes.check_var_write(caller.scopes)
        new_id = activiteit_id or self.new_id()
        async with self.db.writing() as conn:
            await self.store.lock(conn, [new_id])
            if await self.store.history(conn, new_id):
                raise ValidationFailed.one(
                    "id", "unique", "A processing activity with this id exists already; change it with PUT."
                )
            new = rules.first_version(new_id, gegevens, self.clock(), caller.client_id)
            (seq,) = await self.store.append(conn, [new])
        return replace(new, seq=seq)

    async def update(self, caller: Caller, activiteit_id: str, gegevens: Activiteitgegevens) -> ActiviteitVersie:
        """Full replacement in a new version; unchanged content appends nothing; a retired one is reinstated."""
        scopes.check_var_write(caller.scopes)
        async with self.db.writing() as conn:
            current = await self._current_for_change(conn, activiteit_id)
            new = rules.changed_version(current, gegevens, self.clock(), caller.client_id)
            if new is None:
                return current
            (seq,) = await self.store.append(conn, [new])
        return replace(new, seq=seq)

    async def retire(self, caller: Caller, activiteit_id: str) -> ActiviteitVersie:
        """Retire (intrekken): appends a retired version; entries logged before it stay explained."""
        scopes.check_var_write(caller.scopes)
        async with self.db.writing() as conn:
            current = await self._current_for_change(conn, activiteit_id)
            new = rules.retired_version(current, self.clock(), caller.client_id)
            (seq,) = await self.store.append(conn, [new])
        return replace(new, seq=seq)

    async def _current_for_change(self, conn: AsyncConnection, activiteit_id: str) -> ActiviteitVersie:
        """As the log's PUT/DELETE (AMB-11): an unknown id in a change is a 400 naming the id."""
        await self.store.lock(conn, [activiteit_id])
        versions = await self.store.history(conn, activiteit_id)
        if not versions:
            raise ValidationFailed.one("id", "not_found", "No processing activity with this id exists.")
        return versions[-1]

    async def apply(
        self,
        caller: Caller,
        items: Sequence[tuple[str, Activiteitgegevens]],
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> list[Uitkomst | ValidationFailed]:
        """Import: create or change many activities in one transaction (all valid rows, or nothing).

        Per item: new → version 1; changed → a new version; unchanged → nothing, so re-importing the same
        file changes nothing. A rule broken by one item (e.g. another organisation's id) is that item's
        result, not the import's failure. With `dry_run` nothing is written.
        """
        scopes.check_var_write(caller.scopes)
        ids = [i for i, _ in items]
        now = self.clock()
        connection = self.db.reading() if dry_run else self.db.writing()
        async with connection as conn:
            if not dry_run:
                await self.store.lock(conn, ids)
            histories = await self.store.histories(conn, ids)
            current = {i: versions[-1] for i, versions in histories.items()}
            out: list[Uitkomst | ValidationFailed] = []
            new: list[ActiviteitVersie] = []
            for activiteit_id, gegevens in items:
                out.append(self._plan(caller, activiteit_id, gegevens, current, now, new))
                if progress is not None:
                    progress(1)
            if not dry_run:
                await self.store.append(conn, new)
        return out

    @staticmethod
    def _plan(
        caller: Caller,
        activiteit_id: str,
        gegevens: Activiteitgegevens,
        current: dict[str, ActiviteitVersie],
        now: int,
        new: list[ActiviteitVersie],
    ) -> Uitkomst | ValidationFailed:
        before = current.get(activiteit_id)
        try:
            if before is None:
                version: ActiviteitVersie | None = rules.first_version(activiteit_id, gegevens, now, caller.client_id)
            else:
                version = rules.changed_version(before, gegevens, now, caller.client_id)
        except ValidationFailed as exc:
            return exc
        if version is None:
            return Uitkomst.ONGEWIJZIGD
        current[activiteit_id] = version
        new.append(version)
        return Uitkomst.NIEUW if before is None else Uitkomst.GEWIJZIGD

    # -- explanation of log entries (extension on the Inzage API) ---------------------------------------

    async def explanations(self, refs: Iterable[tuple[str | None, int]]) -> dict[tuple[str, int], ActiviteitVersie]:
        """For (verwerkingsactiviteitId, tijdstip) pairs: the version that explains each entry (§17.4,
        `domain.var.explaining`). One query for a whole page; unknown ids are simply absent."""
        wanted = [(i, t) for i, t in refs if i is not None]
        async with self.db.reading() as conn:
            histories = await self.store.histories(conn, (i for i, _ in wanted))
        out: dict[tuple[str, int], ActiviteitVersie] = {}
        for i, t in wanted:
            found = rules.explaining(histories.get(i, []), t)
            if found is not None:
                out[(i, t)] = found
        return out

    # -- the doelbinding report (extension, for the FG) ---------------------------------------------------

    async def doelbinding(
        self,
        caller: Caller,
        begin_us: int | None = None,
        end_us: int | None = None,
        systeem: str | None = None,
        bevindingen: frozenset[Bevinding] | None = None,
    ) -> list[DoelbindingRegel]:
        """Visible log entries whose activity is missing, unknown, retired at the entry's tijdstip, or
        another organisation's than the uitvoerder, per system and client (§17.4: never blocking).

        One aggregate over the log, then one count per flagged span (domain.var.verdict_spans).
        """
        scopes.check_fg(caller.scopes)
        regels: list[DoelbindingRegel] = []
        async with self.db.reading() as conn:
            groups = await self.store.log_groups(conn, begin_us, end_us, systeem)
            histories = await self.store.histories(conn, (g.activiteit_id for g in groups if g.activiteit_id))
            for g in groups:
                versions = histories.get(g.activiteit_id, []) if g.activiteit_id else []
                found: dict[Bevinding, list[SpanCount]] = {}
                for start, end, bevinding in rules.verdict_spans(g.activiteit_id, versions, g.uitvoerder):
                    if bevinding is None or (bevindingen is not None and bevinding not in bevindingen):
                        continue
                    lo, hi = _bound(start, begin_us, max), _bound(end, end_us, min)
                    if lo is not None and hi is not None and lo >= hi:
                        continue
                    span = await self.store.log_span(conn, g, lo, hi, SAMPLES)
                    if span.aantal:
                        found.setdefault(bevinding, []).append(span)
                for bevinding, spans in found.items():
                    regels.append(
                        DoelbindingRegel(
                            bevinding=bevinding,
                            systeem=g.systeem,
                            client_id=g.client_id,
                            activiteit_id=g.activiteit_id,
                            uitvoerder=g.uitvoerder,
                            aantal=sum(s.aantal for s in spans),
                            eerste_us=min(s.eerste_us for s in spans if s.eerste_us is not None),
                            laatste_us=max(s.laatste_us for s in spans if s.laatste_us is not None),
                            voorbeelden=[v for s in reversed(spans) for v in s.voorbeelden][:SAMPLES],
                            activiteit=versions[-1] if versions else None,
                        )
                    )
        regels.sort(
            key=lambda r: (
                r.bevinding.value,
                r.systeem or "",
                r.client_id or "",
                r.activiteit_id or "",
                r.uitvoerder or "",
            )
        )
        return regels
