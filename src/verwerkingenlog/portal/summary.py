"""The citizen's questions first (issue 18.4): which organisations processed my data in this period, how often
and for which purposes — and the citizen's own look-ups folded into one line instead of filling the timeline.

The TransparantieApp research found that people look for "who, when, which data" and are confused by seeing their
own visits listed as processings. The portal's look-ups are still logged (§10.5) and still in the JSON/CSV exports;
the pages and the PDF only count them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from verwerkingenlog.portal.registers import Entry
from verwerkingenlog.portal.timeline import Group, grouped, moment

CHART_WIDTH = 100  # the longest bar, in the SVG's user units (the chart scales with the page)


def is_own_lookup(entry: Entry, portal_oin: str | None, portal_activity: str) -> bool:
    """A register's log of the portal reading it (§10.4: the register logs the caller as afnemer, with the caller's
    own activity). Other reads of the citizen's log — a civil servant's, another organisation's — stay visible."""
    return (
        portal_oin is not None
        and entry.afnemer_id == portal_oin
        and entry.verwerkingsactiviteit_id_afnemer == portal_activity
    )


@dataclass(frozen=True, slots=True)
class OwnLookups:
    """The citizen's own visits: one per login session (the session is the portal's verwerking, §10.4
    `verwerkingIdAfnemer`, the same in every register read), the current one included; and when the previous
    visit last looked (a citizen who did not look then learns that someone else may have)."""

    visits: int
    previous: datetime | None
    now: bool = False  # the current visit is among them (the period includes today)

    @property
    def message(self) -> str:
        """The catalogue key of the line (portal/i18n.py), singular or plural by `visits`."""
        return "own_lookups" if self.now else "own_lookups_then"


def split_own_lookups(
    entries: Sequence[Entry], portal_oin: str | None, portal_activity: str, current: str | None = None
) -> tuple[list[Entry], OwnLookups]:
    """The entries to show, and the citizen's own look-ups counted. `current` is this visit's verwerking when the
    period includes today: its look-up of this very page is logged only as the answer is sent (R-SELF-1), so the
    answer does not contain it yet."""
    shown: list[Entry] = []
    own: list[Entry] = []
    for e in entries:
        (own if is_own_lookup(e, portal_oin, portal_activity) else shown).append(e)
    sessions = {e.verwerking_id_afnemer or e.actie_id for e in own}
    earlier = [moment(e) for e in own if (e.verwerking_id_afnemer or e.actie_id) != current]
    visits = len(sessions | ({current} if current else set()))
    return shown, OwnLookups(visits, max(earlier, default=None), now=current is not None)


@dataclass(frozen=True, slots=True)
class Organisation:
    """One organisation's share of the period: how many processings, for which purposes, and its bar."""

    naam: str
    verwerkingen: int
    doelen: tuple[str, ...]
    bar: int  # bar length in chart units, at least 1


@dataclass(frozen=True, slots=True)
class Summary:
    verwerkingen: int
    organisaties: tuple[Organisation, ...]


def organisation_of(group: Group) -> str:
    """The responsible organisation from the VAR; without one (an activity the VAR does not know), the register
    that logged it, which belongs to an organisation the citizen can ask."""
    e = group.first
    return e.bestuursorgaan or e.organisatie or group.register


def purpose_of(group: Group, lang: str) -> str:
    """The purpose in plain language from the VAR, else the processing's own name."""
    e = group.first
    return str(e.explained(lang).get("doel") or e.verwerking_naam or e.actie_naam or "")


def summarise(groups: Sequence[Group], lang: str) -> Summary:
    """Per organisation, most processings first (then by name, so the order is stable)."""
    counts: dict[str, int] = {}
    purposes: dict[str, dict[str, None]] = {}
    for g in groups:
        naam = organisation_of(g)
        counts[naam] = counts.get(naam, 0) + 1
        doel = purpose_of(g, lang)
        if doel:
            purposes.setdefault(naam, {})[doel] = None
    top = max(counts.values(), default=1)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return Summary(
        verwerkingen=len(groups),
        organisaties=tuple(
            Organisation(naam, n, tuple(purposes.get(naam, {})), max(1, round(CHART_WIDTH * n / top)))
            for naam, n in ordered
        ),
    )


def overview(
    entries: Sequence[Entry], lang: str, portal_oin: str | None, portal_activity: str, current: str | None = None
) -> tuple[list[Group], Summary, OwnLookups]:
    """What the timeline page and the PDF show: the groups without the citizen's own look-ups, their summary,
    and the look-ups counted."""
    shown, own = split_own_lookups(entries, portal_oin, portal_activity, current)
    groups = grouped(shown)
    return groups, summarise(groups, lang), own
