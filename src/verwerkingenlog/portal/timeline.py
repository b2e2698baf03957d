"""The citizen's timeline: period filters, and entries grouped by verwerking, newest first."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from verwerkingenlog.portal.registers import Entry

PERIODS = ("maand", "jaar", "alles", "eigen")
DEFAULT_PERIOD = "jaar"
EARLIEST = date(2000, 1, 1)  # "alles": the log standard dates from 2019; nothing older is expected
# The last day an own period may end on: the half-open end is the day after it, which must exist (issue 21.2:
# `tot=9999-12-31` overflowed into a 500). A later `tot` is clamped to it.
LATEST = date.max - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open day range [begin, eind) as the Inzage API takes it (beginDatum/eindDatum)."""

    naam: str
    begin: date
    eind: date

    def query(self) -> dict[str, str]:
        """The query string that reproduces this period (no personal data in it)."""
        if self.naam == "eigen":
            return {
                "periode": "eigen",
                "van": self.begin.isoformat(),
                "tot": (self.eind - timedelta(days=1)).isoformat(),
            }
        return {"periode": self.naam}


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def period_from(query: Mapping[str, str], today: date) -> Period:
    """The period the citizen chose; anything unparseable falls back to the default (never an error page)."""
    naam = query.get("periode", DEFAULT_PERIOD)
    tomorrow = today + timedelta(days=1)
    if naam == "maand":
        return Period(naam, today - timedelta(days=31), tomorrow)
    if naam == "alles":
        return Period(naam, EARLIEST, tomorrow)
    if naam == "eigen":
        van, tot = _day(query.get("van")), _day(query.get("tot"))
        if van and tot and van <= tot:
            van, tot = min(max(van, EARLIEST), LATEST), min(tot, LATEST)
            return Period(naam, van, tot + timedelta(days=1))
    return Period(DEFAULT_PERIOD, today - timedelta(days=366), tomorrow)


def moment(entry: Entry) -> datetime:
    """The entry's tijdstip as an aware datetime (registers may answer in different offsets)."""
    try:
        parsed = datetime.fromisoformat(entry.tijdstip)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Group:
    """All actions of one verwerking in one register: what the citizen reads as one processing."""

    key: str
    register: str
    entries: tuple[Entry, ...]

    @property
    def first(self) -> Entry:
        """The entry that names the group: the caller's own action when the group holds it — the verwerking the
        other actions were done for (§10.4), e.g. the portal's "Inzage met machtiging" with the registers' reads
        done for it — else the newest."""
        for_caller = {e.verwerking_id_afnemer for e in self.entries if e.verwerking_id_afnemer}
        own = (e for e in self.entries if not e.verwerking_id_afnemer and e.verwerking_id in for_caller)
        return next(own, self.entries[0])

    @property
    def latest(self) -> datetime:
        return moment(self.entries[0])


def group_key(entry: Entry) -> str:
    """Actions done for a caller's verwerking (§10.4: `verwerkingIdAfnemer`) belong to that verwerking —
    so the portal's own lookups of one session, which the registers log (§10.5), form one group, not one per
    page view; other actions group by their own verwerkingId.

    A stable, opaque identifier of a group for URLs: a hash of register and verwerking, so the URL says
    nothing about the person and only matches within the logged-in citizen's own results."""
    ident = entry.verwerking_id_afnemer or entry.verwerking_id or entry.actie_id
    return hashlib.sha256(f"{entry.register}\x00{ident}".encode()).hexdigest()[:20]


def grouped(entries: Sequence[Entry]) -> list[Group]:
    """Group by (register, verwerkingId) — an action without a verwerkingId stands alone — newest first."""
    by_key: dict[str, list[Entry]] = {}
    for e in entries:
        by_key.setdefault(group_key(e), []).append(e)
    groups = [
        Group(key, items[0].register, tuple(sorted(items, key=moment, reverse=True))) for key, items in by_key.items()
    ]
    groups.sort(key=lambda g: g.latest, reverse=True)
    return groups
