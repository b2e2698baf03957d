"""Dates as a citizen reads them (`2 december 2026, 20:25`), in the register's time zone (TIME_ZONE,
Europe/Amsterdam by default): the pages and the art. 15 PDF never show raw ISO strings. Month names come from
the CLDR through Babel, so Dutch and English are spelled as their readers expect."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_datetime

DAY = "d MMMM y"
MOMENT = "d MMMM y, HH:mm"


def human_moment(moment: datetime, lang: str, zone: tzinfo) -> str:
    """`2 december 2026, 20:25` (nl) / `2 December 2026, 20:25` (en), in `zone`."""
    return format_datetime(moment, MOMENT, tzinfo=zone, locale=lang)


def human_day(day: date, lang: str) -> str:
    """`2 december 2026` (nl) / `2 December 2026` (en)."""
    return format_date(day, DAY, locale=lang)
