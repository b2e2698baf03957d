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
from typing import Any

from fastapi import APIRouter, Depends, Request
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
from opentelemetry.proto.common.v1 import common_pb2
from starlette.responses import Response

from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.decoding import inflate, json_value
from verwerkingenlog.api.http import bounded_body
from verwerkingenlog.domain.errors import RequestTooLarge, UnsupportedMediaType, ValidationFailed
from verwerkingenlog.domain.logboek import AttributeValue, Span, Status
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
                    )
                )
    return out


# -- JSON (OTLP/JSON: lowerCamelCase keys, ids as hex, 64-bit integers as strings or numbers) ------------


def _json_value(v: Any) -> AttributeValue:
    if not isinstance(v, Mapping):
        return None
    if "stringValue" in v:
        return str(v["stringValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "arrayValue" in v:
        return [_json_value(x) for x in (v["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in v:
        return _json_attributes((v["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"]).hex()
    return None


def _json_attributes(kvs: Any) -> dict[str, AttributeValue]:
    return {str(kv["key"]): _json_value(kv.get("value")) for kv in kvs or []}


def _json_status(raw: Any) -> int:
    code = (raw or {}).get("code", 0)
    return _STATUS_NAMES.get(code, 0) if isinstance(code, str) else int(code)


def _json_span_count(request: Any) -> int:
    with contextlib.suppress(AttributeError, TypeError):  # a malformed shape: the mapping below names it
        return sum(len(ss.get("spans") or []) for rs in request.get("resourceSpans") for ss in rs.get("scopeSpans"))
    return 0


def spans_from_json(body: bytes, max_spans: int | None = None) -> list[Span]:
    request = json_value(body)  # depth, UTF-8 and surrogates checked while parsing (api.decoding)
    _at_most(_json_span_count(request), max_spans)
    try:
        out = []
        for rs in request.get("resourceSpans", []):
            resource = _json_attributes((rs.get("resource") or {}).get("attributes"))
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    out.append(
                        Span(
                            trace_id=str(s.get("traceId", "")).lower(),
                            span_id=str(s.get("spanId", "")).lower(),
                            parent_span_id=str(s.get("parentSpanId") or "").lower() or None,
                            name=str(s.get("name", "")),
                            start_ns=int(s.get("startTimeUnixNano") or 0),
                            end_ns=int(s.get("endTimeUnixNano") or 0),
                            status=_STATUS.get(_json_status(s.get("status")), Status.UNSET),
                            status_message=(s.get("status") or {}).get("message") or None,
                            attributes=_json_attributes(s.get("attributes")),
                            resource=resource,
                        )
                    )
        return out
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:  # int(1e999): OverflowError
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
