"""The FG's tools (issue 17, docs/fg.md): "vertrouwen vooraf, controle achteraf" as pure rules.

Every view of the FG is itself a processing of the persons it shows (§10.5, like an Inzage read), logged under the
register's own activity "Controle door de functionaris gegevensbescherming". The signals of misuse are computed
here from plain entries, so that each one carries the words that explain it and the entries that caused it: no
signal without its entries.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.model import Actiegegevens
from verwerkingenlog.domain.selflog import SelfLogProfile
from verwerkingenlog.domain.values import Vertrouwelijkheid, from_epoch_us

VERWERKING_NAAM = "Controle door de functionaris gegevensbescherming"
ACTIE_NAAM = "Raadplegen verwerkingenlog door de FG"


def fg_log_entry(
    profile: SelfLogProfile,
    activiteit_id: str,
    client_id: str,
    verwerking_id: str,
    now_us: int,
    vertrouwelijk: bool,
) -> Actiegegevens:
    """§10.5: an FG view is a processing of the persons it shows. A confidential investigation is logged
    `vertrouwelijk` (the citizen does not see it, R-INZ-5) until the FG lifts it with a PATCH to `opgeheven`."""
    return Actiegegevens(
        tijdstip=from_epoch_us(now_us).isoformat(timespec="microseconds"),
        tijdstip_us=now_us,
        vertrouwelijkheid=Vertrouwelijkheid.VERTROUWELIJK if vertrouwelijk else Vertrouwelijkheid.NORMAAL,
        actie_naam=ACTIE_NAAM,
        verwerking_naam=VERWERKING_NAAM,
        verwerking_id=verwerking_id,
        verwerkingsactiviteit_id=activiteit_id,
        bewaartermijn=profile.bewaartermijn,
        systeem=profile.systeem,
        gebruiker=client_id[:40],
    )


def rapportperiode(text: str) -> tuple[date, date]:
    """The FG report's period: a year (`2026`), a quarter (`2026-Q4`) or a month (`2026-11`), as [first day, first
    day after)."""
    year, _, rest = text.strip().upper().partition("-")
    try:
        y = int(year)
        if len(year) != 4:
            raise ValueError(text)
        if not rest:
            return date(y, 1, 1), date(y + 1, 1, 1)
        if rest.startswith("Q") and len(rest) == 2 and rest[1] in "1234":
            first = 3 * (int(rest[1]) - 1) + 1
            return date(y, first, 1), (date(y, first + 3, 1) if first < 10 else date(y + 1, 1, 1))
        if len(rest) == 2 and rest.isdigit() and 1 <= int(rest) <= 12:
            m = int(rest)
            return date(y, m, 1), (date(y, m + 1, 1) if m < 12 else date(y + 1, 1, 1))
    except ValueError:
        pass
    raise InvalidValue("invalid", "Must be a year (2026), a quarter (2026-Q4) or a month (2026-11).")


class Soort(StrEnum):
    """The kinds of signal (docs/fg.md explains each for the FG)."""

    VEEL_PERSONEN = "veel_personen"
    BUITEN_WERKTIJD = "buiten_werktijd"
    VEEL_MEDEWERKERS = "veel_medewerkers"
    VOLGLIJST = "volglijst"


@dataclass(frozen=True, slots=True)
class Regel:
    """One person in one stored (current, not vervallen) log entry: what the signals are computed over.
    `persoon` is the blind index (the same person under every spelling of BSN)."""

    actie_id: str
    tijdstip_us: int
    gebruiker: str | None
    systeem: str | None
    activiteit_id: str | None
    persoon: bytes


@dataclass(frozen=True, slots=True)
class Drempels:
    """The thresholds (settings FG_*; defaults in docs/configuration.md)."""

    factor: float = 3.0
    min_personen: int = 20
    baseline_dagen: int = 28
    werktijd_van: time = time(7, 0)
    werktijd_tot: time = time(19, 0)
    werkdagen: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    min_buiten_werktijd: int = 3
    max_medewerkers: int = 5


@dataclass(frozen=True, slots=True)
class Signaal:
    soort: Soort
    uitleg: str
    regels: tuple[Regel, ...]
    gebruiker: str | None = None
    activiteit_id: str | None = None
    persoon: bytes | None = None
    cijfers: dict[str, float] = field(default_factory=dict)


def _personen(regels: Iterable[Regel]) -> set[bytes]:
    return {r.persoon for r in regels}


def veel_personen(
    regels: Sequence[Regel], baseline: dict[tuple[str, str | None], int], dagen: float, d: Drempels
) -> list[Signaal]:
    """A gebruiker processing far more persons under one activity than their own baseline (the persons per day of
    the `baseline_dagen` before the period, scaled to the period) or than their peers under the same activity (the
    median of the others). Below `min_personen` nothing counts as "far more"; without a baseline and without peers
    there is nothing to compare with."""
    per: dict[tuple[str, str | None], list[Regel]] = defaultdict(list)
    for r in regels:
        if r.gebruiker:
            per[(r.gebruiker, r.activiteit_id)].append(r)
    counts = {k: len(_personen(v)) for k, v in per.items()}
    out = []
    for (gebruiker, activiteit), rs in sorted(per.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        n = counts[(gebruiker, activiteit)]
        if n < d.min_personen:
            continue
        peers = [c for (g, a), c in counts.items() if a == activiteit and g != gebruiker]
        peer = statistics.median(peers) if peers else None
        own = baseline.get((gebruiker, activiteit), 0) / d.baseline_dagen * dagen if d.baseline_dagen else 0.0
        redenen = []
        if peer is not None and n >= d.factor * max(peer, 1):
            redenen.append(f"collega's onder dezelfde activiteit verwerkten er in deze periode gemiddeld {peer:g}")
        if own > 0 and n >= d.factor * own:
            redenen.append(
                f"zelf verwerkte deze gebruiker er in de {d.baseline_dagen} dagen ervoor, omgerekend naar deze "
                f"periode, {own:.1f}"
            )
        if not redenen:
            continue
        uitleg = (
            f"Gebruiker {gebruiker} verwerkte {n} verschillende personen onder activiteit "
            f"{activiteit or '(geen)'}; " + " en ".join(redenen) + f" (drempel: {d.factor:g} keer zoveel)."
        )
        cijfers = {"personen": float(n), "eigenBaseline": round(own, 2)}
        if peer is not None:
            cijfers["collegas"] = float(peer)
        out.append(Signaal(Soort.VEEL_PERSONEN, uitleg, tuple(rs), gebruiker, activiteit, None, cijfers))
    return out


def buiten_werktijd(regels: Sequence[Regel], zone: ZoneInfo, d: Drempels) -> list[Signaal]:
    """A gebruiker with at least `min_buiten_werktijd` entries outside the working hours (local time of the
    register's TIME_ZONE, working days ISO 1 = Monday … 7 = Sunday)."""

    def buiten(r: Regel) -> bool:
        local = from_epoch_us(r.tijdstip_us).astimezone(zone)
        return local.isoweekday() not in d.werkdagen or not (d.werktijd_van <= local.time() < d.werktijd_tot)

    per: dict[str, list[Regel]] = defaultdict(list)
    for r in regels:
        if r.gebruiker and buiten(r):
            per[r.gebruiker].append(r)
    out = []
    for gebruiker, rs in sorted(per.items()):
        acties = {r.actie_id for r in rs}
        if len(acties) < d.min_buiten_werktijd:
            continue
        uitleg = (
            f"Gebruiker {gebruiker} verwerkte {len(acties)} keer gegevens buiten werktijd "
            f"(werktijd: {d.werktijd_van:%H:%M}–{d.werktijd_tot:%H:%M} op dag "
            f"{', '.join(str(x) for x in sorted(d.werkdagen))} van de week), "
            f"over {len(_personen(rs))} personen (drempel: {d.min_buiten_werktijd} keer)."
        )
        cijfers = {"acties": float(len(acties)), "personen": float(len(_personen(rs)))}
        out.append(Signaal(Soort.BUITEN_WERKTIJD, uitleg, tuple(rs), gebruiker, None, None, cijfers))
    return out


def veel_medewerkers(regels: Sequence[Regel], d: Drempels) -> list[Signaal]:
    """A person whose data more than `max_medewerkers` different gebruikers processed in the period."""
    per: dict[bytes, list[Regel]] = defaultdict(list)
    for r in regels:
        if r.gebruiker:
            per[r.persoon].append(r)
    out = []
    for persoon, rs in per.items():
        medewerkers = {r.gebruiker for r in rs}
        if len(medewerkers) <= d.max_medewerkers:
            continue
        uitleg = (
            f"De gegevens van deze persoon zijn in deze periode door {len(medewerkers)} verschillende gebruikers "
            f"verwerkt (drempel: meer dan {d.max_medewerkers})."
        )
        out.append(
            Signaal(Soort.VEEL_MEDEWERKERS, uitleg, tuple(rs), None, None, persoon, {"gebruikers": len(medewerkers)})
        )
    return out


def volglijst(regels: Sequence[Regel], gevolgd: set[bytes]) -> list[Signaal]:
    """Every entry about a person on the FG's watch list."""
    per: dict[bytes, list[Regel]] = defaultdict(list)
    for r in regels:
        if r.persoon in gevolgd:
            per[r.persoon].append(r)
    out = []
    for persoon, rs in per.items():
        gebruikers = sorted({r.gebruiker or "(onbekend)" for r in rs})
        uitleg = (
            f"Deze persoon staat op de volglijst; de gegevens zijn in deze periode {len({r.actie_id for r in rs})} "
            f"keer verwerkt, door: {', '.join(gebruikers)}."
        )
        out.append(Signaal(Soort.VOLGLIJST, uitleg, tuple(rs), None, None, persoon, {"acties": len(rs)}))
    return out


def signalen(
    regels: Sequence[Regel],
    baseline: dict[tuple[str, str | None], int],
    gevolgd: set[bytes],
    dagen: float,
    zone: ZoneInfo,
    d: Drempels,
) -> list[Signaal]:
    """Every signal of the period, in the order of docs/fg.md."""
    return [
        *veel_personen(regels, baseline, dagen, d),
        *buiten_werktijd(regels, zone, d),
        *veel_medewerkers(regels, d),
        *volglijst(regels, gevolgd),
    ]
