"""Bewaartermijn arithmetic (R-RET-1, R-RET-2, AMB-45)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from verwerkingenlog.domain.retention import add_months, expires_at, expiry
from verwerkingenlog.domain.values import duration_value

T0 = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)


def test_years_and_months_are_added_on_the_calendar() -> None:
    """R-RET-1: P1M after 31 January is the last day of February (leap year), not 30 days later."""
    assert expires_at(T0, duration_value("P1M")) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert expires_at(T0, duration_value("P10Y")) == datetime(2034, 1, 31, 12, 0, tzinfo=UTC)
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert expires_at(leap, duration_value("P1Y")) == datetime(2025, 2, 28, tzinfo=UTC)


def test_weeks_days_and_time_are_exact() -> None:
    """R-RET-1 with PnW (AMB-09) and time components."""
    assert expires_at(T0, duration_value("P2W")) == T0 + timedelta(days=14)
    assert expires_at(T0, duration_value("P1DT12H30M5S")) == T0 + timedelta(days=1, hours=12, minutes=30, seconds=5)
    assert expires_at(T0, duration_value("PT1.5S")) == T0 + timedelta(seconds=1.5)


def test_offset_of_tijdstip_is_respected() -> None:
    """The expiry is an instant: the same whatever offset the tijdstip was logged with (AMB-36)."""
    local = T0.astimezone(timezone(timedelta(hours=1)))
    assert expires_at(local, duration_value("P1Y")) == expires_at(T0, duration_value("P1Y"))


def test_without_bewaartermijn_the_organisation_maximum_applies_or_never() -> None:
    """R-RET-2."""
    assert expiry(T0, None, duration_value("P20Y")) == datetime(2044, 1, 31, 12, 0, tzinfo=UTC)
    assert expiry(T0, duration_value("P1Y"), duration_value("P20Y")) == datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    assert expiry(T0, None, None) is None


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=1200),
)
def test_calendar_month_addition_is_monotonic_and_lands_in_the_right_month(moment: datetime, months: int) -> None:
    later = add_months(moment, months)
    assert later >= moment
    assert (later.year - moment.year) * 12 + later.month - moment.month == months
    assert later.day <= moment.day
