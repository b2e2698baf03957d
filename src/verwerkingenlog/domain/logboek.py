"""One model, two faces: Logius' *Logboek Dataverwerkingen* (v1.0.0) mapped onto the VNG information model.

The register keeps one append-only log. A Logius log line (an OpenTelemetry span with `dpl.*` attributes)
becomes a verwerkingsactie version, so that the Bewerking and Inzage APIs, retention, pseudonymisation and
the Merkle log apply to it unchanged; what the VNG model has no field for (span ids, status, end time,
resource, `exception.*`, the processor URL) is kept beside it in a `Logboekregel` and shown again in the
Logius read shape. Conversely every VNG entry can be read in the Logius shape. The table is in
docs/logboek.md; each rule below names the Logius rule or attribute it implements.

Pure: no I/O, no framework imports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from enum import StrEnum
from typing import Any, Final

from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.model import Actiegegevens, NieuwObject, Versie, VerwerktObject
from verwerkingenlog.domain.values import (
    NAAM_MAX,
    Vertrouwelijkheid,
    duration_value,
    from_epoch_us,
    max_length,
    uri_value,
    vertrouwelijkheid_value,
)

# The `dpl.core` attributes of Logboek Dataverwerkingen v1.0.0.
PROCESSING_ACTIVITY_ID: Final = "dpl.core.processing_activity_id"
DATA_SUBJECT_ID: Final = "dpl.core.data_subject_id"
DATA_SUBJECT_ID_TYPE: Final = "dpl.core.data_subject_id_type"
FOREIGN_PROCESSOR: Final = "dpl.core.foreign_operation.processor"
# logboek-extensie-lezen, "Toevoeging bij schrijven Logs": on an action that calls another organisation, the URL
# of that organisation's read API (the next logbook of the chain). The develop text names the span attribute
# `dpl.read.externalReadAPI_id`; PR #28 calls the field `dpl.read.nextLogbook`. Either is accepted and kept.
NEXT_LOGBOOK: Final = "dpl.read.externalReadAPI_id"
NEXT_LOGBOOK_PR28: Final = "dpl.read.nextLogbook"
# Register extensions (docs/logboek.md): the VNG fields a supplier may still set on a span.
VERTROUWELIJKHEID: Final = "verwerkingenlog.vertrouwelijkheid"
BEWAARTERMIJN: Final = "verwerkingenlog.bewaartermijn"
# Attributes that identify a user: refused, because a Logius log line holds no user identities.
USER_IDENTITY_ATTRIBUTES: Final[frozenset[str]] = frozenset({"enduser.id", "user.id", "user.name", "user.email"})
SERVICE_NAME: Final = "service.name"
# Span events (OpenTelemetry semantic conventions, "Recording exceptions"): an SDK records an exception as an event
# named `exception`; the first is flattened into the entry's `exception.*` attributes, the others counted.
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_PREFIX: Final = "exception."
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
FURTHER_EXCEPTIONS: Final = "verwerkingenlog.exception.further"
# Every other event is kept, in order, under this attribute (name, time, attributes): never dropped in silence.
EVENTS: Final = "verwerkingenlog.events"
# The largest nanosecond time the register stores (a signed 64-bit column on both databases): 2262-04-11.
MAX_NS: Final = 2**63 - 1

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_UUID_TAIL = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?$")

AttributeValue = str | bool | int | float | list[Any] | dict[str, Any] | None


class Status(StrEnum):
    """The status of a log line (OpenTelemetry StatusCode): Unset, Ok or Error."""

    UNSET = "Unset"
    OK = "Ok"
    ERROR = "Error"


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A span event (OTLP Span.Event): a name, a time and attributes."""

    name: str
    time_ns: int
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """A span as the OTLP receiver decoded it (protobuf or JSON), ids as lowercase hex."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    status: Status = Status.UNSET
    status_message: str | None = None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    resource: Mapping[str, AttributeValue] = field(default_factory=dict)
    events: Sequence[SpanEvent] = ()


@dataclass(frozen=True, slots=True)
class Logboekregel:
    """What a Logius log line has and the VNG model lacks; stored insert-only beside the action's lineage."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    status: Status
    status_message: str | None
    start_ns: int
    end_ns: int
    processor: str | None
    resource: Mapping[str, AttributeValue]
    attributes: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class Mapped:
    """A valid span in VNG form: the action's attributes, its (at most one) person, and the extras."""

    gegevens: Actiegegevens
    objecten: tuple[NieuwObject, ...]
    regel: Logboekregel
    activiteit_id: str | None


class SpanRejected(ValueError):
    """A span that cannot be a log line; the reason goes into the OTLP partial-success message."""


def trace_to_verwerking_id(trace_id: str) -> str:
    """trace_id (16 bytes) ↔ verwerkingId (a UUID): the same 128 bits, written as a UUID."""
    t = trace_id
    return f"{t[0:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:32]}"


def verwerking_to_trace_id(verwerking_id: str) -> str:
    return verwerking_id.replace("-", "").lower()


def span_id_of_lineage(lineage_id: str) -> str:
    """A VNG action has no span id: its first 8 bytes of the (random) lineage actieId serve as one."""
    return lineage_id.replace("-", "").lower()[:16]


def activiteit_id_of(uri: str) -> str | None:
    """dpl.core.processing_activity_id is a URI into the register of processing activities; when it ends in
    a UUID (as this register's own VAR URLs do, docs/var.md) that UUID is the verwerkingsactiviteitId."""
    m = _UUID_TAIL.search(uri)
    return m.group(1).lower() if m else None


def rfc3339_of_ns(ns: int) -> str:
    """start_time (ns since the epoch) as a `tijdstip`: UTC, microseconds, explicit offset (R-VAL-4)."""
    return from_epoch_us(ns // 1000).astimezone(UTC).isoformat(timespec="microseconds")


def _text(attrs: Mapping[str, AttributeValue], name: str) -> str | None:
    value = attrs.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpanRejected(f"attribute {name} must be a string")
    return value


def retention_from_profile(profile_bewaartermijn: str | None) -> str | None:
    """Logius decision (retention lives in the activity's profile): the VAR activity's `bewaartermijn`
    is used when it is an ISO 8601 duration; a free-text description cannot drive the purge."""
    if profile_bewaartermijn is None:
        return None
    try:
        return duration_value(profile_bewaartermijn.strip()).text
    except InvalidValue:
        return None


def _with_events(attrs: Mapping[str, AttributeValue], events: Sequence[SpanEvent], stacktrace: bool) -> dict[str, Any]:
    """The attributes to keep, with the span's events folded in (semantic conventions, "Recording exceptions").

    The first `exception` event gives `exception.type`, `exception.message` (and the other `exception.*`), unless
    the span itself set them; further `exception` events are counted in `verwerkingenlog.exception.further`. Other
    events are kept under `verwerkingenlog.events`. `exception.stacktrace` only when the register is configured to
    keep it (OTLP_KEEP_EXCEPTION_STACKTRACE; data minimisation, AVG art. 5(1)(c): a stack trace can carry data).
    """
    kept: dict[str, Any] = dict(attrs)
    exceptions = [e for e in events if e.name == EXCEPTION_EVENT]
    if exceptions:
        for key, value in exceptions[0].attributes.items():
            if key.startswith(EXCEPTION_PREFIX):
                kept.setdefault(key, value)
        if len(exceptions) > 1:
            kept[FURTHER_EXCEPTIONS] = len(exceptions) - 1
    if not stacktrace:
        kept.pop(EXCEPTION_STACKTRACE, None)
    others = [e for e in events if e.name != EXCEPTION_EVENT]
    for e in others:
        users = sorted(USER_IDENTITY_ATTRIBUTES & set(e.attributes))
        if users:
            raise SpanRejected(f"event {e.name!r} must not contain user identities ({', '.join(users)})")
    if others:
        kept[EVENTS] = [
            {"name": e.name, "timeUnixNano": str(e.time_ns), "attributes": dict(e.attributes)} for e in others
        ]
    return kept


def map_span(span: Span, profile_bewaartermijn: str | None = None, keep_stacktrace: bool = False) -> Mapped:
    """A Logius log line → a first VNG version's content (or SpanRejected with the reason).

    - trace_id/span_id: 16/8 bytes, not all zero (Logius: trace_id, span_id).
    - dpl.core.processing_activity_id: required, an absolute URI (one URI per version of the activity).
    - dpl.core.data_subject_id (+ _type, required with it): one verwerkt object of type persoon.
    - dpl.core.foreign_operation.processor: an absolute URL; the caller's trace is ours (W3C Trace Context),
      so verwerkingIdAfnemer is the same verwerkingId.
    - no user identities (enduser.id and the like are refused, not silently dropped).
    - name: actieNaam; a root span (no parent) also names the verwerking (verwerkingNaam).
    - retention: the span's verwerkingenlog.bewaartermijn, else the activity's profile (Logius decision).
    - times: at most 2^63 − 1 ns (OTLP's fixed64 goes further; the register stores signed 64-bit).
    - events: an `exception` event becomes `exception.*` attributes, others are kept (`_with_events`).
    """
    if not _HEX32.fullmatch(span.trace_id) or set(span.trace_id) == {"0"}:
        raise SpanRejected("trace_id must be 16 bytes and not all zero")
    if not _HEX16.fullmatch(span.span_id) or set(span.span_id) == {"0"}:
        raise SpanRejected("span_id must be 8 bytes and not all zero")
    parent = span.parent_span_id if span.parent_span_id and set(span.parent_span_id) != {"0"} else None
    if parent is not None and not _HEX16.fullmatch(parent):
        raise SpanRejected("parent_span_id must be 8 bytes")
    if not span.name.strip():
        raise SpanRejected("name must not be empty")
    if span.start_ns <= 0:
        raise SpanRejected("start_time is missing")
    if span.start_ns > MAX_NS:
        raise SpanRejected("start_time is after 2262-04-11 (2^63 - 1 ns), beyond what the register stores")
    if span.end_ns > MAX_NS:
        raise SpanRejected("end_time is after 2262-04-11 (2^63 - 1 ns), beyond what the register stores")
    if span.end_ns < span.start_ns:
        raise SpanRejected("end_time is before start_time")
    attrs = span.attributes
    users = sorted(USER_IDENTITY_ATTRIBUTES & set(attrs))
    if users:
        raise SpanRejected(f"log lines must not contain user identities ({', '.join(users)})")
    activity = _text(attrs, PROCESSING_ACTIVITY_ID)
    if activity is None:
        raise SpanRejected(f"attribute {PROCESSING_ACTIVITY_ID} is required")
    subject = _text(attrs, DATA_SUBJECT_ID)
    subject_type = _text(attrs, DATA_SUBJECT_ID_TYPE)
    if subject is not None and not subject_type:
        raise SpanRejected(f"attribute {DATA_SUBJECT_ID_TYPE} is required with {DATA_SUBJECT_ID}")
    if subject_type is not None and subject is None:
        raise SpanRejected(f"attribute {DATA_SUBJECT_ID_TYPE} given without {DATA_SUBJECT_ID}")
    processor = _text(attrs, FOREIGN_PROCESSOR)
    next_logbooks = [n for n in (_text(attrs, NEXT_LOGBOOK), _text(attrs, NEXT_LOGBOOK_PR28)) if n is not None]
    try:
        uri_value(activity)
        for next_logbook in next_logbooks:
            uri_value(next_logbook)
        max_length(span.name, NAAM_MAX)
        if processor is not None:
            uri_value(processor)
        if subject is not None and subject_type is not None:
            max_length(subject, NAAM_MAX)
            max_length(subject_type, NAAM_MAX)
        own_conf = _text(attrs, VERTROUWELIJKHEID)
        vertrouwelijkheid = Vertrouwelijkheid.NORMAAL if own_conf is None else vertrouwelijkheid_value(own_conf)
        own_retention = _text(attrs, BEWAARTERMIJN)
        bewaartermijn = (
            retention_from_profile(profile_bewaartermijn)
            if own_retention is None
            else duration_value(own_retention).text
        )
        systeem = _text(span.resource, SERVICE_NAME)
        if systeem is not None:
            max_length(systeem, NAAM_MAX)
    except InvalidValue as exc:
        raise SpanRejected(exc.reason) from None
    verwerking_id = trace_to_verwerking_id(span.trace_id)
    gegevens = Actiegegevens(
        tijdstip=rfc3339_of_ns(span.start_ns),
        tijdstip_us=span.start_ns // 1000,
        vertrouwelijkheid=vertrouwelijkheid,
        actie_naam=span.name,
        # A root span (no parent) is the processing as a whole: its name names the verwerking.
        verwerking_naam=span.name if parent is None else None,
        verwerking_id=verwerking_id,
        verwerkingsactiviteit_id=activiteit_id_of(activity),
        verwerkingsactiviteit_url=activity,
        bewaartermijn=bewaartermijn,
        systeem=systeem,
        verwerking_id_afnemer=verwerking_id if processor is not None else None,
    )
    objecten = () if subject is None or subject_type is None else (NieuwObject("persoon", subject_type, subject),)
    # The data subject lives in the verwerkt object (pseudonymised, R-PRIV-1), never in the kept attributes.
    kept = {
        k: v
        for k, v in _with_events(attrs, span.events, keep_stacktrace).items()
        if k not in (DATA_SUBJECT_ID, DATA_SUBJECT_ID_TYPE)
    }
    regel = Logboekregel(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=parent,
        status=span.status,
        status_message=span.status_message or None,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        processor=processor,
        resource=dict(span.resource),
        attributes=kept,
    )
    return Mapped(gegevens, objecten, regel, gegevens.verwerkingsactiviteit_id)


def _subject_attributes(objecten: Sequence[VerwerktObject]) -> dict[str, AttributeValue]:
    persons = [o for o in objecten if o.objecttype == "persoon"]
    if not persons:
        return {}
    # A Logius line has one data subject; a VNG action with several shows the first (the read extension
    # searches by subject, so it shows the one searched for).
    return {DATA_SUBJECT_ID: persons[0].object_id, DATA_SUBJECT_ID_TYPE: persons[0].soort_object_id}


def _json_safe(value: Any) -> Any:
    """An attribute value as JSON can carry it: NaN and ±infinity (valid OTLP doubles) as OTLP/JSON writes
    them, "NaN", "Infinity", "-Infinity", as the logboekregel record does (integrity.md §2)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def logius_shape(
    v: Versie, regel: Logboekregel | None, objecten: Sequence[VerwerktObject], with_resource: bool
) -> dict[str, Any]:
    """The Logius read shape (read extension `ProcessingActivity`) of any current version, whichever API
    it arrived through. VNG fields without a Logius counterpart are kept under `verwerkingenlog.*`
    attributes; `gebruiker` never appears (Logius: no user identities), `systeem`/resource only with
    `with_resource` (the Inzage rule R-INZ-6 applies to this face too)."""
    g = v.gegevens
    start_ms = g.tijdstip_us // 1000
    attributes: dict[str, AttributeValue] = {}
    if regel is not None:
        attributes.update(_json_safe(dict(regel.attributes)))
    activity = g.verwerkingsactiviteit_url or g.verwerkingsactiviteit_id
    if activity is not None:
        attributes[PROCESSING_ACTIVITY_ID] = activity
    attributes.update(_subject_attributes(objecten))
    vng: dict[str, str | None] = {
        "verwerkingenlog.actieId": v.actie_id,
        "verwerkingenlog.verwerkingId": g.verwerking_id,
        "verwerkingenlog.verwerkingsactiviteitId": g.verwerkingsactiviteit_id,
        "verwerkingenlog.vertrouwelijkheid": g.vertrouwelijkheid.value,
        "verwerkingenlog.bewaartermijn": g.bewaartermijn,
        "verwerkingenlog.verwerkingNaam": g.verwerking_naam,
        "verwerkingenlog.handelingNaam": g.handeling_naam,
        "verwerkingenlog.uitvoerder": g.uitvoerder,
        "verwerkingenlog.afnemerId": g.afnemer_id,
        "verwerkingenlog.verwerkingIdAfnemer": g.verwerking_id_afnemer,
        "verwerkingenlog.verwerkingsactiviteitUrlAfnemer": g.verwerkingsactiviteit_url_afnemer,
    }
    attributes.update({k: value for k, value in vng.items() if value is not None})
    out: dict[str, Any] = {
        "traceId": regel.trace_id if regel else verwerking_to_trace_id(g.verwerking_id or v.lineage_id),
        "spanId": regel.span_id if regel else span_id_of_lineage(v.lineage_id),
        "status": (regel.status if regel else Status.UNSET).value,
        "name": g.actie_naam or g.handeling_naam or g.verwerking_naam or "",
        "startTime": start_ms,
        "endTime": regel.end_ns // 1_000_000 if regel else start_ms,
    }
    if regel is not None and regel.parent_span_id:
        out["parentSpanId"] = regel.parent_span_id
    if with_resource:
        resource = _json_safe(dict(regel.resource)) if regel else {}
        if not resource and g.systeem:
            resource[SERVICE_NAME] = g.systeem
        if resource:
            out["resource"] = resource
    out["attributes"] = attributes
    return out


# PR #28 of the read extension nests the dpl attributes in camelCase: {"dpl": {"core": {...}, "read": {...}}}.
_NESTED_CORE: Final = {
    PROCESSING_ACTIVITY_ID: "processingActivityId",
    DATA_SUBJECT_ID: "dataSubjectId",
    DATA_SUBJECT_ID_TYPE: "dataSubjectIdType",
    FOREIGN_PROCESSOR: "foreignOperationProcessor",
}


def nested_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A result's attributes in PR #28's shape: the `dpl.core.*` ones under `dpl.core` in camelCase, the
    next-logbook pointer (either spelling) as `dpl.read.nextLogbook`; every other attribute stays as it is
    (the schema allows additional properties)."""
    out: dict[str, Any] = {}
    core: dict[str, Any] = {}
    read: dict[str, Any] = {}
    for key, value in attributes.items():
        if key in _NESTED_CORE:
            core[_NESTED_CORE[key]] = value
        elif key in (NEXT_LOGBOOK, NEXT_LOGBOOK_PR28):
            read.setdefault("nextLogbook", value)
        else:
            out[key] = value
    out["dpl"] = {"core": core, **({"read": read} if read else {})}
    return out


def activity_uri(activity: str) -> str:
    """`dpl.core.processing_activity_id` as the URI the extension's schema requires (`format: uri`): a VNG entry
    that names its activity by `verwerkingsactiviteitId` only shows it as `urn:uuid:<id>` (RFC 9562 §4)."""
    try:
        return uri_value(activity)
    except InvalidValue:
        return f"urn:uuid:{activity}"
