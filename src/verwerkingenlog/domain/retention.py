"""Bewaartermijn arithmetic (§11, R-RET-1/2, AMB-45): when a lineage's retention expires.

Years and months are added on the calendar (31 January + P1M = 28/29 February), not as fixed
seconds; weeks, days and time parts are exact durations. A decimal fraction (only allowed on the
last component, R-VAL-6) of a year or month is carried into the next smaller unit.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from decimal import Decimal

from verwerkingenlog.domain.values import Duration

_DAYS_PER_MONTH = Decimal("30.436875")  # mean Gregorian month, only for fractional months


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar addition: the day is clamped to the last day of the target month."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expires_at(tijdstip: datetime, termijn: Duration) -> datetime:
    """R-RET-1: the moment a version with this `tijdstip` and `bewaartermijn` may be purged."""
    months_total = termijn.years * 12 + termijn.months
    whole_months = int(months_total)
    extra_days = (months_total - whole_months) * _DAYS_PER_MONTH
    moment = add_months(tijdstip, whole_months)
    seconds = (
        (termijn.weeks * 7 + termijn.days + extra_days) * 86_400
        + termijn.hours * 3_600
        + termijn.minutes * 60
        + termijn.seconds
    )
    return moment + timedelta(seconds=float(seconds))


def expiry(tijdstip: datetime, termijn: Duration | None, organisation_maximum: Duration | None) -> datetime | None:
    """R-RET-2: without a bewaartermijn the organisation's maximum applies; without either, never."""
    chosen = termijn or organisation_maximum
    return None if chosen is None else expires_at(tijdstip, chosen)
