"""Query parameters and propagated headers (§4.6, §4.8, §10): parsed by hand because the rules
(unknown parameters are errors, repeated and comma-separated values, every problem at once)
are the standard's, not a framework's defaults."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

from starlette.datastructures import Headers, QueryParams

from verwerkingenlog.domain import values
from verwerkingenlog.domain.errors import InvalidParam, InvalidValue, ValidationFailed
from verwerkingenlog.domain.model import ConsumerHeaders, ObjectFilter
from verwerkingenlog.domain.pagination import MAX_PAGE_SIZE, Page
from verwerkingenlog.domain.periods import period
from verwerkingenlog.domain.values import Vertrouwelijkheid

T = TypeVar("T")

PAGINATION = ("page", "pageSize")
OBJECT_PARAMS = ("objecttype", "soortObjectId", "objectId")


class Collector:
    """Gathers every problem of a request before failing (§4.9 step 3)."""

    def __init__(self) -> None:
        self.problems: list[InvalidParam] = []

    def add(self, name: str, code: str, reason: str) -> None:
        self.problems.append(InvalidParam(name, code, reason))

    def value(self, name: str, raw: str | None, rule: Callable[[str], T]) -> T | None:
        if raw is None:
            return None
        try:
            return rule(raw)
        except InvalidValue as exc:
            self.add(name, exc.code, exc.reason)
            return None

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)


def _single(c: Collector, q: QueryParams, name: str, required: bool = False) -> str | None:
    vals = q.getlist(name)
    if not vals:
        if required:
            c.add(name, "required", "This query parameter is required.")
        return None
    if len(vals) > 1:
        c.add(name, "invalid", "This query parameter may occur only once.")
        return None
    return vals[0]


def reject_unknown(c: Collector, q: QueryParams, known: Iterable[str]) -> None:
    """R-VAL-11: an unknown query parameter is an error, never silently ignored."""
    allowed = set(known)
    for name in dict.fromkeys(k for k, _ in q.multi_items()):
        if name not in allowed:
            # invalidParams[].name must not be empty (FieldValidationError, minLength 1): `?=x` has no name.
            reported = name or "(empty parameter name)"
            c.add(reported, "unknown_parameter", f"Unknown query parameter. Allowed: {', '.join(sorted(allowed))}.")


# The largest row offset a database can address (signed 64 bits). A page beyond it is beyond the last page
# whatever the count (R-PAG-3), and passing it on would make the database fail (a 500).
_MAX_OFFSET = 2**63 - 1


def page_of(c: Collector, q: QueryParams) -> Page:
    """R-PAG-1/3: page ≥ 1, 1 ≤ pageSize ≤ 1000."""
    number = c.value("page", _single(c, q, "page"), lambda v: _int_in(v, 1, None))
    size = c.value("pageSize", _single(c, q, "pageSize"), lambda v: _int_in(v, 1, MAX_PAGE_SIZE))
    page = Page(number or 1, size or Page().size)
    if page.offset + page.size > _MAX_OFFSET:
        c.add("page", "invalid", f"Page {page.number} does not exist.")
    return page


def _int_in(raw: str, low: int, high: int | None) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidValue("invalid", "Must be a whole number.")
    if len(raw.lstrip("0")) > 30:  # int() refuses over 4300 digits (a 500); no valid value has 31 digits
        raise InvalidValue("invalid", "Must be a whole number of at most 30 digits.")
    n = int(raw)
    if n < low or (high is not None and n > high):
        raise InvalidValue("invalid", f"Must be between {low} and {high}." if high else f"Must be at least {low}.")
    return n


def object_filter(
    c: Collector, q: QueryParams, zone: ZoneInfo, dates_required: bool, with_vertrouwelijkheid: bool
) -> ObjectFilter | None:
    """§6.2 / §7.1: the person, the half-open period, the activity and (Bewerking) confidentiality."""
    objecttype = c.value("objecttype", _single(c, q, "objecttype", True), values.objecttype_value)
    soort = c.value(
        "soortObjectId", _single(c, q, "soortObjectId", True), lambda v: values.max_length(v, values.NAAM_MAX)
    )
    object_id = c.value(
        "objectId", _single(c, q, "objectId", True), lambda v: values.max_length(v, values.IDENTIFICATOR_MAX)
    )
    begin: date | None = c.value("beginDatum", _single(c, q, "beginDatum", dates_required), values.date_value)
    end: date | None = c.value("eindDatum", _single(c, q, "eindDatum", dates_required), values.date_value)
    activiteit = c.value("verwerkingsactiviteitId", _single(c, q, "verwerkingsactiviteitId"), values.uuid_value)
    vertrouwelijkheid = vertrouwelijkheid_filter(c, q) if with_vertrouwelijkheid else None
    span, problem = period(begin, end, zone)
    if problem is not None:
        c.problems.append(problem)
    if objecttype is None or soort is None or object_id is None or span is None:
        return None
    return ObjectFilter(
        objecttype=objecttype.value,
        soort_object_id=soort,
        object_id=object_id,
        begin_us=span.begin_us,
        end_us=span.end_us,
        vertrouwelijkheid=vertrouwelijkheid,
        verwerkingsactiviteit_id=activiteit,
    )


def vertrouwelijkheid_filter(c: Collector, q: QueryParams) -> frozenset[Vertrouwelijkheid] | None:
    """R-GETL-4 (AMB-04): repeated, comma-separated, or via the alias `vertrouwelijkheidIn` (and its deprecated
    earlier name `vertrouwelijkheid__in`, which the ADR's camelCase rule flags)."""
    raw = q.getlist("vertrouwelijkheid") + q.getlist("vertrouwelijkheidIn") + q.getlist("vertrouwelijkheid__in")
    if not raw:
        return None
    out: set[Vertrouwelijkheid] = set()
    for item in raw:
        for part in item.split(","):
            v = c.value("vertrouwelijkheid", part.strip(), values.vertrouwelijkheid_value)
            if v is not None:
                out.add(v)
    return frozenset(out)


# §10.2: header names, matched case-insensitively (AMB-32).
H_OIN = "OIN"
H_ACTIVITEIT_ID = "VerwerkingsactiviteitId"
H_ACTIVITEIT_URL = "VerwerkingsactiviteitUrl"
H_VERWERKING_ID = "VerwerkingId"
H_VERTROUWELIJKHEID = "Vertrouwelijkheid"
H_BEWAARTERMIJN = "Bewaartermijn"
INZAGE_REQUIRED_HEADERS = (H_OIN, H_ACTIVITEIT_ID, H_ACTIVITEIT_URL)


def consumer_headers(c: Collector, headers: Headers, required: Iterable[str] = ()) -> ConsumerHeaders:
    """§10.3/§10.4 (R-INZ-8): present headers must be valid; `required` ones must be present."""
    for name in required:
        if headers.get(name) is None:
            c.add(name, "required", f"The header {name} is required on this API (§10.3).")
    vertrouwelijkheid = c.value(H_VERTROUWELIJKHEID, headers.get(H_VERTROUWELIJKHEID), values.vertrouwelijkheid_value)
    bewaartermijn = c.value(H_BEWAARTERMIJN, headers.get(H_BEWAARTERMIJN), values.header_duration_value)
    return ConsumerHeaders(
        oin=c.value(H_OIN, headers.get(H_OIN), values.oin_value),
        verwerkingsactiviteit_id=c.value(H_ACTIVITEIT_ID, headers.get(H_ACTIVITEIT_ID), values.uuid_value),
        verwerkingsactiviteit_url=c.value(H_ACTIVITEIT_URL, headers.get(H_ACTIVITEIT_URL), values.uri_value),
        verwerking_id=c.value(H_VERWERKING_ID, headers.get(H_VERWERKING_ID), values.uuid_value),
        vertrouwelijkheid=vertrouwelijkheid,
        bewaartermijn=None if bewaartermijn is None else bewaartermijn.text,
    )


def path_id(query: QueryParams, name: str, raw: str) -> str:
    """The one input of an operation that takes only a path id: no query parameters (R-VAL-11) and a
    well-formed UUID (R-VAL-1), both checked and reported together."""
    c = Collector()
    reject_unknown(c, query, ())
    value = path_uuid(c, name, raw)
    c.raise_if_any()
    return value


def path_uuid(c: Collector, name: str, raw: str) -> str:
    return c.value(name, raw, values.uuid_value) or ""
