"""Value formats of the information model (§3.1) and their validation rules (§4.6, R-VAL-*).

Every function either returns the normalised value or raises `InvalidValue` with the
`invalidParams` code the API reports. One rule, one function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

from verwerkingenlog.domain.errors import InvalidValue

NAAM_MAX = 242  # type Naam
IDENTIFICATOR_MAX = 40  # type Identificator
URI_MAX = 2042  # type URI


class Vertrouwelijkheid(StrEnum):
    """Confidentiality of a verwerking (§9)."""

    NORMAAL = "normaal"
    VERTROUWELIJK = "vertrouwelijk"
    OPGEHEVEN = "opgeheven"


class Objecttype(StrEnum):
    PERSOON = "persoon"


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OIN = re.compile(r"^[0-9]{20}$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE | re.ASCII
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
_NUM = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?:{_NUM}W|(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)$", re.ASCII
)


def uuid_value(value: str) -> str:
    """R-VAL-1: a UUID of any version, case-insensitive on input, lowercase on output."""
    if not _UUID.fullmatch(value):
        raise InvalidValue("invalid", "Must be a UUID (8-4-4-4-12 hexadecimal digits).")
    return value.lower()


def oin_value(value: str) -> str:
    """R-VAL-2: an OIN is exactly 20 ASCII digits (the OAS pattern, anchored; AMB-16)."""
    if not _OIN.fullmatch(value):
        raise InvalidValue("invalid", "Must be an OIN: exactly 20 digits.")
    return value


def max_length(value: str, limit: int) -> str:
    """R-VAL-3: lengths count Unicode code points, not bytes.

    R-VAL-9: the NUL character (U+0000) is refused in every text value, because PostgreSQL cannot
    store it (it would be a 500 there and accepted on SQLite).
    """
    if len(value) > limit:
        raise InvalidValue("max_length", f"Must be at most {limit} characters (got {len(value)}).")
    if "\x00" in value:
        raise InvalidValue("invalid", "Must not contain the NUL character (U+0000).")
    return value


def uri_value(value: str) -> str:
    """R-VAL-7: an absolute URI (scheme required) of at most 2042 characters."""
    max_length(value, URI_MAX)
    if not _SCHEME.fullmatch(value):
        raise InvalidValue("invalid", "Must be an absolute URI with a scheme, e.g. https://…")
    return value


def vertrouwelijkheid_value(value: str) -> Vertrouwelijkheid:
    """R-VAL-8: enum values are matched case-insensitively and emitted lowercase (AMB-07)."""
    try:
        return Vertrouwelijkheid(value.lower())
    except ValueError:
        raise InvalidValue("invalid_choice", "Must be one of: normaal, vertrouwelijk, opgeheven.") from None


def objecttype_value(value: str) -> Objecttype:
    """R-VAL-8 for `objecttype`: only `persoon` exists today."""
    try:
        return Objecttype(value.lower())
    except ValueError:
        raise InvalidValue("invalid_choice", "Must be one of: persoon.") from None


@dataclass(frozen=True, slots=True)
class Moment:
    """A `tijdstip` as supplied (original text, R-VAL-4) and the instant it denotes."""

    text: str
    instant: datetime  # timezone-aware, UTC

    @property
    def epoch_us(self) -> int:
        return to_epoch_us(self.instant)


def moment_value(value: str) -> Moment:
    """R-VAL-4: RFC 3339 date-time with an explicit offset; kept exactly as supplied (AMB-36)."""
    m = _DATETIME.fullmatch(value)
    if not m:
        raise InvalidValue("invalid", "Must be a date-time with an explicit offset, e.g. 2024-04-05T14:35:42+01:00.")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    if offset.upper() == "Z":
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        hh, mm = int(offset[1:3]), int(offset[4:6])
        if hh > 23 or mm > 59:
            raise InvalidValue("invalid", "The UTC offset is out of range.")
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError as exc:
        raise InvalidValue("invalid", f"Not a valid date-time: {exc}.") from None
    try:
        instant = local.astimezone(UTC)
    except OverflowError:
        raise InvalidValue("invalid", "The date-time is outside years 1 to 9999 (UTC).") from None
    return Moment(value, instant)


def date_value(value: str) -> date:
    """R-VAL-5: query dates are `YYYY-MM-DD` only."""
    if not _DATE.fullmatch(value):
        raise InvalidValue("invalid", "Must be a date in the form YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidValue("invalid", f"Not a valid date: {exc}.") from None


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration (type Periode); calendar parts stay calendar parts (R-RET-1)."""

    text: str
    years: Decimal = Decimal(0)
    months: Decimal = Decimal(0)
    weeks: Decimal = Decimal(0)
    days: Decimal = Decimal(0)
    hours: Decimal = Decimal(0)
    minutes: Decimal = Decimal(0)
    seconds: Decimal = Decimal(0)


def duration_value(value: str) -> Duration:
    """R-VAL-6: `P[n]Y[n]M[n]DT[n]H[n]M[n]S` or `PnW`; integers, a fraction only on the last part.

    Rejected: empty `P`/`PT`, negatives, bare numbers (`150`, AMB-08) and words.
    """
    m = _DURATION.fullmatch(value)
    if not m or value in ("P", "PT") or value.endswith("T"):
        raise InvalidValue("invalid", "Must be an ISO 8601 duration, e.g. P10Y, P6M, P2W or P1DT12H.")
    weeks, years, months, days, hours, minutes, seconds = m.groups()
    parts = [weeks, years, months, days, hours, minutes, seconds]
    present = [p for p in parts if p is not None]
    if not present:
        raise InvalidValue("invalid", "Must be an ISO 8601 duration, e.g. P10Y, P6M, P2W or P1DT12H.")
    if any(("." in p or "," in p) for p in present[:-1]):
        raise InvalidValue("invalid", "Only the last component of a duration may have a decimal fraction.")

    def num(p: str | None) -> Decimal:
        return Decimal(p.replace(",", ".")) if p is not None else Decimal(0)

    return Duration(value, num(years), num(months), num(weeks), num(days), num(hours), num(minutes), num(seconds))


def header_duration_value(value: str) -> Duration:
    """§10.4: the `Bewaartermijn` header also accepts a bare positive integer n, meaning PnY."""
    if value.isascii() and value.isdigit() and int(value) > 0:
        return duration_value(f"P{int(value)}Y")
    return duration_value(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch: a portable, exactly ordered storage form of an instant."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def render_registratie(us: int) -> str:
    """`tijdstipRegistratie` is rendered in UTC with an explicit offset and microseconds."""
    return from_epoch_us(us).isoformat(timespec="microseconds")
