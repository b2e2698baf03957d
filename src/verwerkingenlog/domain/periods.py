"""Half-open date periods (R-GETL-2, AMB-10): dates mean local midnight in the configured zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from verwerkingenlog.domain.errors import InvalidParam
from verwerkingenlog.domain.values import to_epoch_us


@dataclass(frozen=True, slots=True)
class Period:
    """[begin, end) as epoch microseconds; either side may be open (None)."""

    begin_us: int | None
    end_us: int | None


def start_of_day_us(day: date, zone: ZoneInfo) -> int:
    return to_epoch_us(datetime.combine(day, time(0, 0), tzinfo=zone))


def period(begin: date | None, end: date | None, zone: ZoneInfo) -> tuple[Period | None, InvalidParam | None]:
    """R-GETL-2: beginDatum ≤ tijdstip < eindDatum, compared as instants; end < begin is an error.

    Equal dates give an empty period, not an error.
    """
    if begin is not None and end is not None and end < begin:
        return None, InvalidParam("eindDatum", "invalid_range", "eindDatum must not be before beginDatum.")
    return (
        Period(
            None if begin is None else start_of_day_us(begin, zone),
            None if end is None else start_of_day_us(end, zone),
        ),
        None,
    )
