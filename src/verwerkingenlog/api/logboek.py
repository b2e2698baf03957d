"""Logboek Dataverwerkingen read extension: POST /api/v1/processing-activities (logboek-extensie-lezen, issue 18).

One router, two paths (`/api/v1` and the reference implementation's `/lezenapi/v1`), three body shapes (`Shape`),
answered in the shape asked (docs/logboek.md, The read extension). The criteria come as a JSON body (and as query
parameters); a trace or data subject may be a batch (LOGBOEK_READ_BATCH_MAX); a query must name a data subject
or a trace (issue 21.1: a period or an activity alone would enumerate every person).
Every current entry is found, whether it arrived through OTLP or the VNG Bewerking API, and shown in the Logius
shape (domain.logboek.logius_shape). Scopes and visibility are the Inzage API's.

Pagination is left open by the extension; here as on the VNG APIs (R-PAG-1..4): query parameters `page` (from 1)
and `pageSize` (default 100, at most 1000), newest first, `count`, `next` and `previous` in the body beside
`processingActivities`; also the total in the `X-Total-Count` header and neighbouring pages in a `Link` header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from verwerkingenlog.api import otlp, params
from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.decoding import json_value
from verwerkingenlog.api.http import json_body, json_response, negotiated, page_link
from verwerkingenlog.domain import logboek as rules
from verwerkingenlog.domain import scopes
from verwerkingenlog.domain.errors import InvalidValue, ValidationFailed
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.pagination import last_page
from verwerkingenlog.domain.values import max_length, uri_value
from verwerkingenlog.services.otlp import Logboek
from verwerkingenlog.services.register import Register
from verwerkingenlog.services.strict import IngestPolicy
from verwerkingenlog.services.var import VarService
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.logboek import Criteria, LogboekStore

router = APIRouter(prefix="/api/v1", dependencies=[Depends(negotiated)])
reference_router = APIRouter(prefix="/lezenapi/v1", dependencies=[Depends(negotiated)])

PATH = "/api/v1/processing-activities"
# Digilab's reference implementation serves the extension under the develop OAS's server base, `/lezenapi/v1`.
REFERENCE_PATH = "/lezenapi/v1/processing-activities"
_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TIMES = ("traceId", "startTime", "endTime")
_FLAT_KEYS = (rules.PROCESSING_ACTIVITY_ID, rules.DATA_SUBJECT_ID, rules.DATA_SUBJECT_ID_TYPE)
# PR #28: {"dpl": {"core": {camelCase}}}, by the flat criterion each carries.
_NESTED_CORE = {
    "processingActivityId": rules.PROCESSING_ACTIVITY_ID,
    "dataSubjectId": rules.DATA_SUBJECT_ID,
    "dataSubjectIdType": rules.DATA_SUBJECT_ID_TYPE,
}
_BATCHED = ("traceId", rules.DATA_SUBJECT_ID)
# The extension's query parameters, by the criterion they carry.
_QUERY = {
    "traceId": "traceId",
    "startTime": "startTime",
    "endTime": "endTime",
    "dpl.core.processingActivityId": rules.PROCESSING_ACTIVITY_ID,
    "dpl.core.data_subject_id": rules.DATA_SUBJECT_ID,
}


class Shape(StrEnum):
    """The request body's shape, which is also the answer's (docs/logboek.md, The router)."""

    ATTRIBUTES = "attributes"  # the register's body until 2026: dpl.core.* nested under `attributes`
    FLAT = "flat"  # develop OAS: allOf[Attributes, {traceId, startTime, endTime}], dpl.core.* at the top level
    NESTED = "nested"  # PR #28: {"dpl": {"core": {processingActivityId, dataSubjectId, ...}, "read": {...}}}


@dataclass(frozen=True, slots=True)
class Query:
    criteria: Criteria
    shape: Shape
    uuid_traces: bool  # answer trace ids as UUIDs (the OAS's `format: uuid`), not 32 hex digits


def _millis(c: params.Collector, name: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0 or raw > 2**53:
        c.add(name, "invalid", "Must be a whole number of milliseconds since the epoch.")
        return None
    return raw * 1000


def _text(c: params.Collector, name: str, raw: Any, rule: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        c.add(name, "invalid", "Must be a string.")
        return None
    try:
        return str(rule(raw))
    except InvalidValue as exc:
        c.add(name, exc.code, exc.reason)
        return None


def _texts(c: params.Collector, name: str, raw: Any, rule: Any) -> tuple[str, ...]:
    """One value, or a batch: a non-empty array of them (the extension's TODO, "Batch bevragingen")."""
    if not isinstance(raw, list):
        one = _text(c, name, raw, rule)
        return () if one is None else (one,)
    if not raw:
        c.add(name, "invalid", "A batch must name at least one value.")
    values = [_text(c, f"{name}[{i}]", v, rule) for i, v in enumerate(raw)]
    return tuple(dict.fromkeys(v for v in values if v is not None))


def _unknown(c: params.Collector, where: str, keys: Any, allowed: tuple[str, ...]) -> None:
    for key in keys:
        if key not in allowed:
            c.add(f"{where}{key}", "unknown", f"Unknown criterion. Allowed: {', '.join(allowed)}.")


def _object(c: params.Collector, name: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        c.add(name, "invalid", "Must be an object.")
        return {}
    return raw


def _merged(c: params.Collector, body: dict[str, Any]) -> tuple[Shape, dict[str, Any]]:
    """The criteria of any of the three shapes, under their flat dpl.core names."""
    times = {k: body[k] for k in _TIMES if k in body}
    if "dpl" in body:
        _unknown(c, "", body, (*_TIMES, "dpl"))
        dpl = _object(c, "dpl", body["dpl"])
        _unknown(c, "dpl.", dpl, ("core", "read"))
        core = _object(c, "dpl.core", dpl.get("core"))
        _unknown(c, "dpl.core.", core, tuple(_NESTED_CORE))
        if _object(c, "dpl.read", dpl.get("read")):
            c.add("dpl.read", "invalid", "The next-logbook pointer is shown in results; it is not a criterion.")
        return Shape.NESTED, {**times, **{_NESTED_CORE[k]: v for k, v in core.items() if k in _NESTED_CORE}}
    if "attributes" in body:
        _unknown(c, "", body, (*_TIMES, "attributes"))
        attributes = _object(c, "attributes", body["attributes"])
        _unknown(c, "attributes.", attributes, _FLAT_KEYS)
        return Shape.ATTRIBUTES, {**times, **{k: v for k, v in attributes.items() if k in _FLAT_KEYS}}
    _unknown(c, "", body, (*_TIMES, *_FLAT_KEYS))
    return Shape.FLAT, {k: v for k, v in body.items() if k in (*_TIMES, *_FLAT_KEYS)}


def query_of(c: params.Collector, body: Any, query: dict[str, str], batch_max: int) -> Query:
    """The read extension's criteria in any of its shapes; a data subject or a trace is required (400)."""
    if not isinstance(body, dict):
        c.add("body", "invalid", "The body must be a JSON object of criteria.")
        body = {}
    shape, merged = _merged(c, body) if body else (Shape.ATTRIBUTES, {})
    for param, criterion in _QUERY.items():
        if param in query:
            merged[criterion] = query[param]
    # The bound is checked on the raw arrays, before any element is looked at (a large body costs no work).
    sizes = {name: len(v) if isinstance(v := merged.get(name), list) else int(v is not None) for name in _BATCHED}
    if sum(sizes.values()) > batch_max:
        for name in _BATCHED:
            if isinstance(merged.get(name), list):
                c.add(name, "tooMany", f"A query names at most {batch_max} trace ids and data subjects together.")
                merged[name] = None
    traces = _texts(c, "traceId", merged.get("traceId"), _trace_value)
    subjects = _texts(c, rules.DATA_SUBJECT_ID, merged.get(rules.DATA_SUBJECT_ID), lambda v: max_length(v, 242))
    subject_type = _text(c, rules.DATA_SUBJECT_ID_TYPE, merged.get(rules.DATA_SUBJECT_ID_TYPE), lambda v: v)
    criteria = Criteria(
        trace_ids=traces,
        start_us=_millis(c, "startTime", merged.get("startTime")),
        end_us=_millis(c, "endTime", merged.get("endTime")),
        activity=_text(c, rules.PROCESSING_ACTIVITY_ID, merged.get(rules.PROCESSING_ACTIVITY_ID), uri_value),
        subject_ids=subjects,
        subject_type=(subject_type or "BSN") if subjects else None,
    )
    given = (criteria.start_us, criteria.end_us, criteria.activity)
    if not c.problems and not traces and not subjects and all(v is None for v in given):
        c.add("body", "required", "Give at least one criterion: traceId, startTime, endTime or a dpl.core attribute.")
    elif not c.problems and not traces and not subjects:
        # Issue 21.1: the read extension follows a person or a trace, like the Inzage API; a period or an
        # activity alone would list every data subject of the register.
        reason = "Name a data subject (dpl.core.data_subject_id) or a trace (traceId); other criteria only narrow."
        c.add("traceId", "required", reason)
        c.add(rules.DATA_SUBJECT_ID, "required", reason)
    # The answer writes trace ids as the question did: a UUID (the OAS's format) unless the caller wrote one
    # as 32 hex digits, or spoke the register's older `attributes` body.
    raw_traces = merged.get("traceId")
    hex_asked = any(
        isinstance(t, str) and _HEX.fullmatch(t) for t in (raw_traces if isinstance(raw_traces, list) else [raw_traces])
    )
    return Query(criteria, shape, shape is not Shape.ATTRIBUTES and not hex_asked)


def _trace_value(raw: str) -> str:
    """A trace id as 32 hex digits (W3C Trace Context, OTLP) or as a UUID (the read extension's OAS)."""
    if not (_HEX.fullmatch(raw) or _UUID.fullmatch(raw)) or set(raw) <= {"0", "-"}:
        raise InvalidValue("invalid", "Must be a trace id: 32 hexadecimal digits, or the same 16 bytes as a UUID.")
    return raw.replace("-", "").lower()


def _result(q: Query, entry: dict[str, Any]) -> dict[str, Any]:
    """One result in the shape that was asked."""
    if q.uuid_traces:
        entry["traceId"] = rules.trace_to_verwerking_id(entry["traceId"])
    attributes = entry["attributes"]
    if q.shape is not Shape.ATTRIBUTES and isinstance(attributes.get(rules.PROCESSING_ACTIVITY_ID), str):
        attributes[rules.PROCESSING_ACTIVITY_ID] = rules.activity_uri(attributes[rules.PROCESSING_ACTIVITY_ID])
    if q.shape is Shape.NESTED:
        entry["attributes"] = rules.nested_attributes(entry["attributes"])
    return entry


@router.post("/processing-activities")
async def processing_activities(request: Request, caller: Caller = Depends(requires("read"))) -> Response:
    """listProcessingActivitiesPost of the read extension."""
    return await _read(request, caller)


@reference_router.post("/processing-activities", include_in_schema=False)
async def processing_activities_reference(request: Request, caller: Caller = Depends(requires("read"))) -> Response:
    """The same operation at Digilab's reference path (the develop OAS's server base `/lezenapi/v1`)."""
    return await _read(request, caller)


async def _read(request: Request, caller: Caller) -> Response:
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, (*_QUERY, *params.PAGINATION))
    page = params.page_of(c, q)
    raw = await json_body(request)
    try:
        body = json_value(raw) if raw.strip() else {}
    except ValidationFailed as exc:
        c.problems.extend(exc.params)
        body = {}
    settings: Settings = request.app.state.settings
    asked = query_of(c, body, {k: q[k] for k in _QUERY if k in q}, settings.logboek_read_batch_max)
    consumer = params.consumer_headers(c, request.headers)
    c.raise_if_any()
    logboek: Logboek = request.app.state.logboek
    found = await logboek.read(caller, asked.criteria, page, consumer)
    with_resource = scopes.READ_CONFIDENTIAL in caller.scopes
    results = [_result(asked, rules.logius_shape(i.versie, i.regel, i.objecten, with_resource)) for i in found.items]
    following = _page_link(request, page.number + 1) if page.number < last_page(found.count, page.size) else None
    preceding = _page_link(request, page.number - 1) if page.number > 1 else None
    headers = {"X-Total-Count": str(found.count)}
    links = [f'<{u}>; rel="{rel}"' for u, rel in ((following, "next"), (preceding, "prev")) if u is not None]
    if links:
        headers["Link"] = ", ".join(links)
    # R-PAG-2 as on the VNG APIs: count, next and previous beside the extension's array (its schema allows more).
    body = {"count": found.count, "next": following, "previous": preceding, "processingActivities": results}
    return json_response(body, headers=headers)


def _page_link(request: Request, number: int) -> str:
    """page_link (R-PAG-2), also for the reference path, which lies outside PUBLIC_BASE_URL's `/api/v1` root."""
    settings: Settings = request.app.state.settings
    if not request.url.path.startswith("/lezenapi/") or not settings.public_base_url:
        return page_link(request, number)
    url = request.url.include_query_params(page=number)
    root = settings.public_base_url.rstrip("/").removesuffix("/api/v1")
    return f"{root}{url.path}?{url.query}"


def logboek_service(
    register: Register, var: VarService, keep_stacktrace: bool = False, policy: IngestPolicy | None = None
) -> Logboek:
    """The Logboek service over the register's own reader and writer (one store, one Merkle log)."""
    return Logboek(register, var, LogboekStore(register.reader.codec), keep_stacktrace, policy)


def mount_logboek(app: FastAPI) -> None:
    """The OTLP receiver (POST /v1/traces) and the read extension."""
    app.include_router(otlp.router)
    app.include_router(router)
    app.include_router(reference_router)


async def start_otlp_grpc(app: FastAPI, settings: Settings) -> None:
    """Start the OTLP/gRPC receiver when OTLP_GRPC_PORT is set (lifespan start)."""
    app.state.otlp_grpc = None
    if settings.otlp_grpc_port is None:
        return
    from verwerkingenlog.api import otlp_grpc

    app.state.otlp_grpc = await otlp_grpc.start(
        app.state.logboek, app.state.verifier, settings.otlp_grpc_host, settings.otlp_grpc_port
    )


async def stop_otlp_grpc(app: FastAPI) -> None:
    """Stop it (lifespan end), letting running exports finish for a few seconds."""
    server = getattr(app.state, "otlp_grpc", None)
    if server is not None:
        await server.stop(5)
