"""The FG's signal rules (domain/fg.py) on their own: the cases the department scenario of tests/test_fg.py does not
reach (an employee without peers against their own baseline, a weekend, the thresholds' edges, report periods)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from verwerkingenlog.domain import fg
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.values import to_epoch_us

ZONE = ZoneInfo("Europe/Amsterdam")


def _regel(n: int, gebruiker: str, when: datetime, activiteit: str = "a") -> fg.Regel:
    return fg.Regel(f"actie-{gebruiker}-{n}", to_epoch_us(when), gebruiker, "systeem", activiteit, b"p%d" % n)


def test_without_peers_the_own_baseline_decides() -> None:
    week = [_regel(i, "alleen", datetime(2026, 11, 3, 10, tzinfo=ZONE)) for i in range(30)]
    d = fg.Drempels()
    # 28 persons in the 28 days before: 7 a week; 30 in this week is more than 3 x 7.
    (signaal,) = fg.veel_personen(week, {("alleen", "a"): 28}, 7, d)
    assert signaal.gebruiker == "alleen" and signaal.cijfers["eigenBaseline"] == 7.0
    assert "collega" not in signaal.uitleg and "28 dagen" in signaal.uitleg
    assert len(signaal.regels) == 30
    # 70 before (17.5 a week): 30 is not 3 times that. No baseline and no peers: nothing to compare with.
    assert fg.veel_personen(week, {("alleen", "a"): 70}, 7, d) == []
    assert fg.veel_personen(week, {}, 7, d) == []


def test_saturday_is_outside_working_days_and_the_threshold_counts_actions() -> None:
    d = fg.Drempels()
    saturday = [_regel(i, "weekend", datetime(2026, 11, 7, 11, i, tzinfo=ZONE)) for i in range(3)]
    (signaal,) = fg.buiten_werktijd(saturday, ZONE, d)
    assert signaal.gebruiker == "weekend" and signaal.cijfers["acties"] == 3
    assert fg.buiten_werktijd(saturday[:2], ZONE, d) == []
    edge = [_regel(i, "vroeg", datetime(2026, 11, 2, 7, 0, tzinfo=ZONE)) for i in range(3)]  # 07:00 is working time
    late = [_regel(i, "laat", datetime(2026, 11, 2, 19, 0, tzinfo=ZONE)) for i in range(3)]  # 19:00 is not
    assert [s.gebruiker for s in fg.buiten_werktijd(edge + late, ZONE, d)] == ["laat"]


def test_more_than_the_maximum_of_employees() -> None:
    d = fg.Drempels(max_medewerkers=2)
    same = [fg.Regel(f"x{i}", 0, f"mw{i}", None, "a", b"persoon") for i in range(3)]
    (signaal,) = fg.veel_medewerkers(same, d)
    assert signaal.persoon == b"persoon" and signaal.cijfers["gebruikers"] == 3
    assert fg.veel_medewerkers(same[:2], d) == []


@pytest.mark.parametrize(
    ("text", "first", "after"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_report_periods(text: str, first: date, after: date) -> None:
    assert fg.rapportperiode(text) == (first, after)


@pytest.mark.parametrize("text", ["2026-Q5", "26", "2026-13", "2026-1", "Q4", "", "2026-Q4-x"])
def test_report_periods_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        fg.rapportperiode(text)
