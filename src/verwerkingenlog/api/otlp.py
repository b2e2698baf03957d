"""OTLP/HTTP trace receiver: POST /v1/traces (protobuf or JSON, optionally gzip), for any OpenTelemetry SDK
or Collector (Logboek Dataverwerkingen recommends OTLP between application and logbook).

The router only decodes and encodes; the mapping lives in domain.logboek and the storing in services.otlp.
Authentication is the same bearer token as POST /api/v1/verwerkingsacties (every registered client may
create `normaal` entries; `vertrouwelijk` needs create:confidential). Invalid spans are reported per span in
the OTLP partial-success response; the answer is sent only after the commit.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterable, Mapping
from math import isfinite
from typing import Any

from fastapi import APIRouter, Depends, Request
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from starlette.responses import Response

from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.decoding import inflate, json_value
from verwerkingenlog.api.http import bounded_body
from verwerkingenlog.domain.errors import RequestTooLarge, UnsupportedMediaType, ValidationFailed
from verwerkingenlog.domain.logboek import AttributeValue, Span, SpanEvent, Status
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services.otlp import ExportResult, Logboek
from verwerkingenlog.settings import Settings

router = APIRouter()

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_STATUS = {0: Status.UNSET, 1: Status.OK, 2: Status.ERROR}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


# -- protobuf -----------------------------------------------------------------------------------------------


def _pb_value(v: common_pb2.AnyValue) -> AttributeValue:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _pb_attributes(v.kvlist_value.values)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return None


def _pb_attributes(kvs: Iterable[common_pb2.KeyValue]) -> dict[str, AttributeValue]:
    return {kv.key: _pb_value(kv.value) for kv in kvs}


def _pb_events(events: Iterable[trace_pb2.Span.Event]) -> tuple[SpanEvent, ...]:
    return tuple(SpanEvent(e.name, e.time_unix_nano, _pb_attributes(e.attributes)) for e in events)


def _at_most(count: int, max_spans: int | None) -> None:
    """OTLP_MAX_SPANS, checked before any span is mapped: 8 MiB of protobuf can hold millions of empty spans."""
    if max_spans is not None and count > max_spans:
        raise RequestTooLarge(f"{count} spans in one export; at most {max_spans} are accepted.")


def spans_from_protobuf(body: bytes, max_spans: int | None = None) -> list[Span]:
    request = svc.ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise ValidationFailed.one("body", "invalid", f"Not an OTLP ExportTraceServiceRequest: {exc}") from None
    _at_most(sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans), max_spans)
    out = []
    for rs in request.resource_spans:
        resource = _pb_attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    Span(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex() or None,
                        name=s.name,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        status=_STATUS.get(s.status.code, Status.UNSET),
                        status_message=s.status.message or None,
                        attributes=_pb_attributes(s.attributes),
                        resource=resource,
                        events=_pb_events(s.events),
                    )
                )
    return out


# -- JSON (OTLP/JSON: lowerCamelCase keys, ids as hex, 64-bit integers as strings or numbers) ------------
#
# The numbers follow the protobuf JSON mapping of the OTLP fields: a fixed64 time is 0 … 2^64 − 1 and an int64
# attribute −2^63 … 2^63 − 1, as a JSON integer or its decimal string; a double is a number or "NaN",
# "Infinity", "-Infinity". Anything else is not an OTLP message: a 400 naming the field (its JSON path).

_UINT64 = (0, 2**64 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def _invalid(path: str, reason: str) -> ValidationFailed:
    """A value the OTLP/JSON mapping does not allow: named by its path (a DomainError, so no `except ValueError`
    below turns it into a message about the whole body)."""
    return ValidationFailed.one(path, "invalid", reason)


def _decimal(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def _integer(raw: Any, path: str, bounds: tuple[int, int]) -> int:
    if isinstance(raw, bool):
        raise _invalid(path, "must be an integer, not a boolean")
    if isinstance(raw, float) and isfinite(raw) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and len(raw) <= 40 and _decimal(raw.strip()):
        value = int(raw)
    else:
        raise _invalid(path, "must be an integer (a JSON number or its decimal string)")
    if not bounds[0] <= value <= bounds[1]:
        raise _invalid(path, f"must be between {bounds[0]} and {bounds[1]}")
    return value


def _double(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _invalid(path, 'must be a number or "NaN", "Infinity", "-Infinity"')
    try:
        return float(raw)
    except ValueError:
        raise _invalid(path, 'must be a number or "NaN", "Infinity", "-Infinity"') from None


def _json_value(v: Any, path: str) -> AttributeValue:
    if not isinstance(v, Mapping):
        return None
    if "stringValue" in v:
        return str(v["stringValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return _integer(v["intValue"], f"{path}.intValue", _INT64)
    if "doubleValue" in v:
        return _double(v["doubleValue"], f"{path}.doubleValue")
    if "arrayValue" in v:
        values = (v["arrayValue"] or {}).get("values", [])
        return [_json_value(x, f"{path}.arrayValue.values[{i}]") for i, x in enumerate(values)]
    if "kvlistValue" in v:
        return _json_attributes((v["kvlistValue"] or {}).get("values", []), f"{path}.kvlistValue.values")
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"]).hex()
    return None


def _json_attributes(kvs: Any, path: str) -> dict[str, AttributeValue]:
    return {str(kv["key"]): _json_value(kv.get("value"), f"{path}[{i}].value") for i, kv in enumerate(kvs or [])}


def _json_status(raw: Any, path: str) -> int:
    code = (raw or {}).get("code", 0)
    return _STATUS_NAMES.get(code, 0) if isinstance(code, str) else _integer(code, f"{path}.code", _INT64)


def _json_time(s: Mapping[str, Any], key: str, path: str) -> int:
    raw = s.get(key)
    return 0 if raw is None else _integer(raw, f"{path}.{key}", _UINT64)


def _json_span(s: Mapping[str, Any], resource: dict[str, AttributeValue], path: str) -> Span:
    events = tuple(
        SpanEvent(
            str(e.get("name", "")),
            _json_time(e, "timeUnixNano", f"{path}.events[{i}]"),
            _json_attributes(e.get("attributes"), f"{path}.events[{i}].attributes"),
        )
        for i, e in enumerate(s.get("events") or [])
    )
    return Span(
        trace_id=str(s.get("traceId", "")).lower(),
        span_id=str(s.get("spanId", "")).lower(),
        parent_span_id=str(s.get("parentSpanId") or "").lower() or None,
        name=str(s.get("name", "")),
        start_ns=_json_time(s, "startTimeUnixNano", path),
        end_ns=_json_time(s, "endTimeUnixNano", path),
        status=_STATUS.get(_json_status(s.get("status"), f"{path}.status"), Status.UNSET),
        status_message=(s.get("status") or {}).get("message") or None,
        attributes=_json_attributes(s.get("attributes"), f"{path}.attributes"),
        resource=resource,
        events=events,
    )


def _json_span_count(request: Any) -> int:
    with contextlib.suppress(AttributeError, TypeError):  # a malformed shape: the mapping below names it
        return sum(len(ss.get("spans") or []) for rs in request.get("resourceSpans") for ss in rs.get("scopeSpans"))
    return 0


def spans_from_json(body: bytes, max_spans: int | None = None) -> list[Span]:
    request = json_value(body)  # depth, UTF-8 and surrogates checked while parsing (api.decoding)
    _at_most(_json_span_count(request), max_spans)
    try:
        out = []
        for r, rs in enumerate(request.get("resourceSpans", [])):
            path = f"resourceSpans[{r}]"
            resource = _json_attributes((rs.get("resource") or {}).get("attributes"), f"{path}.resource.attributes")
            for i, ss in enumerate(rs.get("scopeSpans", [])):
                for j, s in enumerate(ss.get("spans", [])):
                    out.append(_json_span(s, resource, f"{path}.scopeSpans[{i}].spans[{j}]"))
        return out
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValidationFailed.one("body", "invalid", f"Not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None


# -- HTTP ---------------------------------------------------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    """The body within `limit` bytes, before and after gzip (api.decoding)."""
    body = await bounded_body(request, limit)
    return inflate(body, request.headers.get("content-encoding", ""), limit)


def export_response(result: ExportResult, as_json: bool) -> Response:
    """ExportTraceServiceResponse: partial_success only when spans were rejected (OTLP §Partial Success)."""
    if as_json:
        data: dict[str, Any] = {}
        if result.rejected:
            data["partialSuccess"] = {"rejectedSpans": len(result.rejected), "errorMessage": result.error_message}
        return Response(json.dumps(data), media_type=JSON)
    return Response(export_message(result).SerializeToString(), media_type=PROTOBUF)


def export_message(result: ExportResult) -> svc.ExportTraceServiceResponse:
    """The protobuf ExportTraceServiceResponse (HTTP and gRPC)."""
    message = svc.ExportTraceServiceResponse()
    if result.rejected:
        message.partial_success.rejected_spans = len(result.rejected)
        message.partial_success.error_message = result.error_message
    return message


@router.post("/v1/traces")
async def export_traces(request: Request, caller: Caller = Depends(requires(None))) -> Response:
    """OTLP/HTTP TraceService/Export."""
    settings: Settings = request.app.state.settings
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in (PROTOBUF, JSON):
        raise UnsupportedMediaType(f"Send OTLP as {PROTOBUF} or {JSON}, not {ctype or 'no Content-Type'}.")
    body = await _body(request, settings.otlp_max_body_bytes)
    limit = settings.otlp_max_spans
    spans = spans_from_json(body, limit) if ctype == JSON else spans_from_protobuf(body, limit)
    logboek: Logboek = request.app.state.logboek
    result = await logboek.export(caller, spans)
    return export_response(result, ctype == JSON)
