"""The §10.2 headers: their names, their value rules and the reading of an incoming call's headers.

The value rules are the domain's (`verwerkingenlog.domain.values`, pure Python like this library), so the
client and the register cannot drift apart on what a valid header is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from verwerkingenlog.client.propagation.trace import TRACEPARENT, TRACESTATE, TraceParent, parse_traceparent
from verwerkingenlog.domain import values
from verwerkingenlog.domain.errors import InvalidValue

# §10.2 header names (AMB-32); HTTP matches them case-insensitively, and so does this module.
OIN = "OIN"
VERWERKINGSACTIVITEIT_ID = "VerwerkingsactiviteitId"
VERWERKINGSACTIVITEIT_URL = "VerwerkingsactiviteitUrl"
VERWERKING_ID = "VerwerkingId"
VERTROUWELIJKHEID = "Vertrouwelijkheid"
BEWAARTERMIJN = "Bewaartermijn"
HEADERS = (OIN, VERWERKINGSACTIVITEIT_ID, VERWERKINGSACTIVITEIT_URL, VERWERKING_ID, VERTROUWELIJKHEID, BEWAARTERMIJN)

VERTROUWELIJKHEDEN = tuple(v.value for v in values.Vertrouwelijkheid)


def present(pairs: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """The named values that are set: headers and log-entry fields leave absent values out."""
    return {name: value for name, value in pairs if value is not None}


class InvalidHeader(ValueError):
    """A propagated header whose value breaks its format (§4.6 applies to propagated headers too)."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"{header}: {reason}")
        self.header = header
        self.reason = reason


def _rule(check: Callable[[str], str], reason: str) -> Callable[[str, str], str]:
    """A §10.2 header's value rule is the domain's rule for that value (§4.6 applies to propagated headers
    too), so a provider built with this library refuses exactly what the register refuses."""

    def rule(header: str, value: str) -> str:
        try:
            return check(value)
        except InvalidValue:
            raise InvalidHeader(header, reason) from None

    return rule


_uuid = _rule(values.uuid_value, "must be a UUID")  # R-VAL-1
_oin = _rule(values.oin_value, "must be an OIN: exactly 20 digits")  # R-VAL-2
_url = _rule(values.uri_value, "must be an absolute URI of at most 2042 characters")  # R-VAL-7
# R-VAL-8 / AMB-07: case-insensitive (the standard's own examples write `Normaal`), lowercase out.
_vertrouwelijkheid = _rule(
    lambda v: values.vertrouwelijkheid_value(v).value, "must be one of normaal, vertrouwelijk, opgeheven"
)
# §10.4 / AMB-08: an ISO 8601 duration (R-VAL-6), or — in this header only — a bare positive integer of years.
_bewaartermijn = _rule(
    lambda v: values.header_duration_value(v).text,
    "must be an ISO 8601 duration such as P10Y (or a whole number of years)",
)


_RULES: dict[str, Callable[[str, str], str]] = {
    OIN: _oin,
    VERWERKINGSACTIVITEIT_ID: _uuid,
    VERWERKINGSACTIVITEIT_URL: _url,
    VERWERKING_ID: _uuid,
    VERTROUWELIJKHEID: _vertrouwelijkheid,
    BEWAARTERMIJN: _bewaartermijn,
}


@dataclass(frozen=True, slots=True)
class Afnemer:
    """What a consumer told about its processing in the §10.2 headers of an incoming call."""

    oin: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    verwerking_id: str | None = None
    vertrouwelijkheid: str | None = None
    bewaartermijn: str | None = None
    trace: TraceParent | None = None

    def entry_fields(self) -> dict[str, str]:
        """§10.4: the consumer's facts in the provider's own log entry. A consumer that sent only a
        traceparent (an OpenTelemetry application) names its verwerking by the trace id."""
        out: dict[str, str] = {}
        if self.verwerking_id is None and self.trace is not None:
            out["verwerkingIdAfnemer"] = self.trace.verwerking_id
        if self.oin is not None:
            out["soortAfnemerId"] = "OIN"
            out["afnemerId"] = self.oin
        out.update(
            present(
                (
                    ("verwerkingsactiviteitIdAfnemer", self.verwerkingsactiviteit_id),
                    ("verwerkingsactiviteitUrlAfnemer", self.verwerkingsactiviteit_url),
                    ("verwerkingIdAfnemer", self.verwerking_id),
                    ("vertrouwelijkheid", self.vertrouwelijkheid),
                    ("bewaartermijn", self.bewaartermijn),
                )
            )
        )
        return out


def parse_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[Afnemer, list[InvalidHeader]]:
    """Read the §10.2 headers (names case-insensitive). Invalid values are returned as problems and
    left out of the `Afnemer`, so a caller can decide between rejecting (400) and logging what is valid."""
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    trace_headers = {
        name.lower(): value for name, value in reversed(items) if name.lower() in (TRACEPARENT, TRACESTATE)
    }
    found: dict[str, str] = {}
    lower = {h.lower(): h for h in HEADERS}
    for name, value in items:
        canonical = lower.get(name.lower())
        if canonical is not None and canonical not in found:
            found[canonical] = value.strip()
    values: dict[str, str | None] = {}
    problems: list[InvalidHeader] = []
    for header, rule in _RULES.items():
        raw = found.get(header)
        if raw is None or raw == "":
            values[header] = None
            continue
        try:
            values[header] = rule(header, raw)
        except InvalidHeader as exc:
            problems.append(exc)
            values[header] = None
    afnemer = Afnemer(
        oin=values[OIN],
        verwerkingsactiviteit_id=values[VERWERKINGSACTIVITEIT_ID],
        verwerkingsactiviteit_url=values[VERWERKINGSACTIVITEIT_URL],
        verwerking_id=values[VERWERKING_ID],
        vertrouwelijkheid=values[VERTROUWELIJKHEID],
        bewaartermijn=values[BEWAARTERMIJN],
        trace=parse_traceparent(trace_headers.get(TRACEPARENT), trace_headers.get(TRACESTATE)),
    )
    return afnemer, problems
