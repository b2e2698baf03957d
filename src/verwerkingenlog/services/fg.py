"""The FG's tools (issue 17, docs/fg.md): who processed whom, signals of misuse, the watch list.

Every view is itself a processing of the persons it shows (§10.5): before data is returned, the register appends
its own action under the activity "Controle door de functionaris gegevensbescherming" (FG_VERWERKINGSACTIVITEIT_ID)
with those persons, so that a citizen sees the FG's look in their timeline. An investigation the FG marks
confidential is logged `vertrouwelijk` (never shown on the Inzage API, R-INZ-5); the FG lifts it later with the
normal PATCH (`vertrouwelijkheid: opgeheven`) on the returned verwerkingId.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from verwerkingenlog.domain import fg as rules
from verwerkingenlog.domain import versioning
from verwerkingenlog.domain.errors import PermissionDenied, ValidationFailed
from verwerkingenlog.domain.model import Caller, NieuwObject, ObjectFilter, Versie, VerwerktObject
from verwerkingenlog.domain.pagination import Page
from verwerkingenlog.domain.scopes import FG_READ
from verwerkingenlog.domain.selflog import persons
from verwerkingenlog.domain.var import ActiviteitVersie
from verwerkingenlog.services.register import Register
from verwerkingenlog.services.var import VarService
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.fg import TOEGEVOEGD, VERWIJDERD, FgStore, Gevolgd, Verwerker, Volume

DAY_US = 86_400 * 1_000_000

T = TypeVar("T")


def require_fg(scopes: frozenset[str]) -> None:
    """Extension: the FG's tools show the processings of every system, so they are for `fg:read` only."""
    if FG_READ not in scopes:
        raise PermissionDenied(f"The FG's tools require the extension scope {FG_READ}.")


@dataclass(frozen=True, slots=True)
class Controle:
    """The FG's own logged action for one view: its verwerkingId (to lift a confidential one later), or None when
    the view showed no person (or SELF_LOGGING is off)."""

    verwerking_id: str | None
    vertrouwelijk: bool


@dataclass(frozen=True, slots=True)
class View(Generic[T]):
    count: int
    items: list[T]
    controle: Controle
    uitleg: dict[tuple[str, int], ActiviteitVersie] = field(default_factory=dict)
    """The VAR version that explains each entry, by (verwerkingsactiviteitId, tijdstip_us) (§17.4)."""
    verwerkers: list[Verwerker] = field(default_factory=list)
    """One person's view: everyone who processed their data under the filter, over every page."""


@dataclass(frozen=True, slots=True)
class Signalen:
    signalen: list[rules.Signaal]
    personen: dict[bytes, tuple[str, str]]
    controle: Controle


@dataclass(frozen=True, slots=True)
class Rapport:
    """The periodic FG report: volumes per activity and organisation (with the activity as the VAR has it now),
    and the period's signals."""

    begin_us: int
    end_us: int
    volumes: list[Volume]
    activiteiten: dict[str, ActiviteitVersie]
    signalen: Signalen


@dataclass(frozen=True, slots=True)
class FgConfig:
    activiteit_id: str
    drempels: rules.Drempels
    zone: ZoneInfo
    regels_per_signaal: int = 50
    max_regels: int = 1_000_000


class FgService:
    def __init__(self, register: Register, store: FgStore, var: VarService, config: FgConfig) -> None:
        self.register = register
        self.db = register.db
        self.store = store
        self.var = var
        self.config = config

    # -- who processed whom ----------------------------------------------------------------------------------------

    async def persoon(
        self, caller: Caller, f: ObjectFilter, page: Page, vertrouwelijk: bool
    ) -> View[tuple[VerwerktObject, Versie]]:
        """Every visible entry about one person (searched by the blind index), every confidentiality: who
        (organisation, system, uitvoerder, gebruiker) processed their data, when and under which activity."""
        require_fg(caller.scopes)
        f = replace(f, vertrouwelijkheid=None)
        async with self.db.reading() as conn:
            count, items = await self.register.reader.search_objecten(conn, f, page.size, page.offset)
            verwerkers = await self.store.verwerkers(conn, f) if count else []
        self.register.check_page(page, count)
        # The person searched for is processed even when nothing is found (like an Inzage read, R-SELF-1).
        queried = NieuwObject(f.objecttype, f.soort_object_id, f.object_id)
        controle = await self._log(caller, [queried], vertrouwelijk)
        uitleg = await self.var.explanations(
            (v.gegevens.verwerkingsactiviteit_id, v.gegevens.tijdstip_us) for _, v in items
        )
        return View(count, items, controle, uitleg, verwerkers)

    async def acties_van(
        self,
        caller: Caller,
        gebruiker: str | None,
        systeem: str | None,
        begin_us: int | None,
        end_us: int | None,
        activiteit_id: str | None,
        page: Page,
        vertrouwelijk: bool,
    ) -> View[Versie]:
        """Every visible entry of one gebruiker and/or system, with the persons in it."""
        require_fg(caller.scopes)
        async with self.db.reading() as conn:
            count, items = await self.store.acties_van(
                conn, gebruiker, systeem, begin_us, end_us, activiteit_id, page.size, page.offset
            )
        self.register.check_page(page, count)
        shown = [o for v in items for o in v.objecten if o.objecttype == "persoon"]
        controle = await self._log(caller, shown, vertrouwelijk)
        uitleg = await self.var.explanations(
            (v.gegevens.verwerkingsactiviteit_id, v.gegevens.tijdstip_us) for v in items
        )
        return View(count, items, controle, uitleg)

    # -- signals ---------------------------------------------------------------------------------------------------

    async def signalen(self, caller: Caller, begin_us: int, end_us: int, vertrouwelijk: bool) -> Signalen:
        """The signals of misuse of a period (domain.fg), each with the entries behind it."""
        require_fg(caller.scopes)
        d = self.config.drempels
        own = self._own_activities()
        async with self.db.reading() as conn:
            regels = await self.store.regels(conn, begin_us, end_us, own, self.config.max_regels + 1)
            if len(regels) > self.config.max_regels:
                raise ValidationFailed.one(
                    "beginDatum",
                    "period_too_large",
                    f"The period holds more than {self.config.max_regels} entries about persons; choose a shorter "
                    "period (FG_SIGNAL_MAX_ENTRIES).",
                )
            baseline = await self.store.personen_per_gebruiker(
                conn, begin_us - d.baseline_dagen * DAY_US, begin_us, own
            )
            gevolgd = {s for s, _ in await self.store.volglijst(conn)}
            found = rules.signalen(regels, baseline, gevolgd, (end_us - begin_us) / DAY_US, self.config.zone, d)
            found = [replace(s, regels=s.regels[-self.config.regels_per_signaal :]) for s in found]
            personen = await self.store.personen(conn, sorted({r.persoon for s in found for r in s.regels}))
        shown = [NieuwObject("persoon", soort, value) for soort, value in personen.values()]
        controle = await self._log(caller, shown, vertrouwelijk)
        return Signalen(found, personen, controle)

    async def rapport(self, caller: Caller, begin_us: int, end_us: int, vertrouwelijk: bool) -> Rapport:
        """The FG report of a period (`verwerkingenlog fg report`); its signals are logged like the API's."""
        require_fg(caller.scopes)
        async with self.db.reading() as conn:
            volumes = await self.store.volumes(conn, begin_us, end_us)
        ids = sorted({v.activiteit_id for v in volumes if v.activiteit_id})
        found = await self.var.explanations((i, end_us - 1) for i in ids)
        activiteiten = {i: a for (i, _), a in found.items()}
        return Rapport(
            begin_us, end_us, volumes, activiteiten, await self.signalen(caller, begin_us, end_us, vertrouwelijk)
        )

    # -- the watch list --------------------------------------------------------------------------------------------

    async def volglijst(self, caller: Caller, vertrouwelijk: bool) -> tuple[list[Gevolgd], Controle]:
        require_fg(caller.scopes)
        async with self.db.reading() as conn:
            lijst = [g for _, g in await self.store.volglijst(conn)]
        shown = [NieuwObject("persoon", g.soort_object_id, g.object_id) for g in lijst]
        return lijst, await self._log(caller, shown, vertrouwelijk)

    async def volg(self, caller: Caller, soort: str, object_id: str, reden: str | None, aan: bool) -> bool:
        """Put a person on the watch list (aan) or take them off; False when nothing changed. Appends an event."""
        require_fg(caller.scopes)
        sleutel = self.store.sleutel(soort, object_id)
        async with self.db.writing() as conn:
            op = any(s == sleutel for s, _ in await self.store.volglijst(conn))
            if op == aan:
                return False
            event = TOEGEVOEGD if aan else VERWIJDERD
            await self.store.volg(conn, event, soort, object_id, self.register.clock(), caller.client_id, reden)
        return True

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _own_activities(self) -> list[str]:
        own = [self.config.activiteit_id]
        if self.register.self_log is not None:
            own.append(self.register.self_log.verwerkingsactiviteit_id)
        return own

    async def _log(
        self, caller: Caller, shown: Sequence[VerwerktObject | NieuwObject], vertrouwelijk: bool
    ) -> Controle:
        """§10.5: the FG's view is a processing of the persons it shows, appended before the data is returned."""
        profile = self.register.self_log
        objecten = persons(shown)
        if profile is None or not objecten:
            return Controle(None, vertrouwelijk)
        now = self.register.clock()
        verwerking_id = versioning.random_id()
        gegevens = rules.fg_log_entry(
            profile, self.config.activiteit_id, caller.client_id, verwerking_id, now, vertrouwelijk
        )
        await self.register.committer.append(versioning.first_version(gegevens, objecten, now, caller.client_id))
        return Controle(verwerking_id, vertrouwelijk)


def build_fg(settings: Settings, register: Register, var_service: VarService) -> FgService:
    """The FG's tools (docs/fg.md) on the register's store, with the FG_* thresholds."""
    van, tot = (time.max if t == "24:00" else time.fromisoformat(t) for t in settings.fg_working_hours.split("-"))
    drempels = rules.Drempels(
        factor=settings.fg_signal_factor,
        min_personen=settings.fg_signal_min_persons,
        baseline_dagen=settings.fg_signal_baseline_days,
        werktijd_van=van,
        werktijd_tot=tot,
        werkdagen=frozenset(settings.fg_working_days),
        min_buiten_werktijd=settings.fg_signal_min_off_hours,
        max_medewerkers=settings.fg_signal_max_employees,
    )
    config = FgConfig(
        settings.fg_verwerkingsactiviteit_id, drempels, settings.zone, max_regels=settings.fg_signal_max_entries
    )
    return FgService(register, FgStore(register.reader.codec), var_service, config)
