"""Logboek Dataverwerkingen read extension: POST /api/v1/processing-activities (logboek-extensie-lezen).

The criteria come as a JSON body (and, as the extension's OpenAPI also allows, as query parameters); a query
must name a data subject or a trace (issue 21.1: a period or an activity alone would enumerate every person).
Every current entry is found, whether it arrived through OTLP or the VNG Bewerking API, and shown in the Logius
shape (domain.logboek.logius_shape). Scopes and visibility are the Inzage API's.

Pagination is left open by the extension; here: query parameters `page` (from 1) and `pageSize` (default 100,
at most 1000), newest first; the total goes in the `X-Total-Count` header and neighbouring pages in a
`Link` header (rel="next"/"prev"), so the body keeps exactly the extension's shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from verwerkingenlog.api import otlp, params
from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.http import json_body, json_response, negotiated, page_link
from verwerkingenlog.domain import logboek as rules
from verwerkingenlog.domain import scopes
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.pagination import last_page
from verwerkingenlog.domain.values import max_length, uri_value
from verwerkingenlog.services.otlp import Logboek
from verwerkingenlog.services.register import Register
from verwerkingenlog.services.var import VarService
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.logboek import Criteria, LogboekStore

router = APIRouter(prefix="/api/v1", dependencies=[Depends(negotiated)])

PATH = "/api/v1/processing-activities"
_TRACE = re.compile(r"^[0-9a-fA-F]{32}$")
_BODY_KEYS = ("traceId", "startTime", "endTime", "attributes")
_ATTRIBUTE_KEYS = (rules.PROCESSING_ACTIVITY_ID, rules.DATA_SUBJECT_ID, rules.DATA_SUBJECT_ID_TYPE)
# The extension's query parameters, by the criterion they carry.
_QUERY = {
    "traceId": "traceId",
    "startTime": "startTime",
    "endTime": "endTime",
    "dpl.core.processingActivityId": rules.PROCESSING_ACTIVITY_ID,
    "dpl.core.data_subject_id": rules.DATA_SUBJECT_ID,
}


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


def criteria_of(c: params.Collector, body: Any, query: dict[str, str]) -> Criteria:
    """The read extension's criteria; at least one (400 otherwise)."""
    if not isinstance(body, dict):
        c.add("body", "invalid", "The body must be a JSON object of criteria.")
        body = {}
    for key in body:
        if key not in _BODY_KEYS:
            c.add(key, "unknown", f"Unknown criterion. Allowed: {', '.join(_BODY_KEYS)}.")
    attributes = body.get("attributes") or {}
    if not isinstance(attributes, dict):
        c.add("attributes", "invalid", "Must be an object of dpl.core attributes.")
        attributes = {}
    for key in attributes:
        if key not in _ATTRIBUTE_KEYS:
            c.add(f"attributes.{key}", "unknown", f"Unknown criterion. Allowed: {', '.join(_ATTRIBUTE_KEYS)}.")
    merged: dict[str, Any] = {**{k: v for k, v in body.items() if k != "attributes"}, **attributes}
    for param, criterion in _QUERY.items():
        if param in query:
            merged[criterion] = query[param]
    trace = _text(c, "traceId", merged.get("traceId"), _trace_value)
    subject = _text(c, rules.DATA_SUBJECT_ID, merged.get(rules.DATA_SUBJECT_ID), lambda v: max_length(v, 242))
    subject_type = _text(c, rules.DATA_SUBJECT_ID_TYPE, merged.get(rules.DATA_SUBJECT_ID_TYPE), lambda v: v)
    criteria = Criteria(
        trace_id=trace,
        start_us=_millis(c, "startTime", merged.get("startTime")),
        end_us=_millis(c, "endTime", merged.get("endTime")),
        activity=_text(c, rules.PROCESSING_ACTIVITY_ID, merged.get(rules.PROCESSING_ACTIVITY_ID), uri_value),
        subject_id=subject,
        subject_type=(subject_type or "BSN") if subject is not None else None,
    )
    given = (criteria.trace_id, criteria.start_us, criteria.end_us, criteria.activity, criteria.subject_id)
    if not c.problems and all(v is None for v in given):
        c.add("body", "required", "Give at least one criterion: traceId, startTime, endTime or a dpl.core attribute.")
    elif not c.problems and criteria.trace_id is None and criteria.subject_id is None:
        # Issue 21.1: the read extension follows a person or a trace, like the Inzage API; a period or an
        # activity alone would list every data subject of the register.
        reason = "Name a data subject (dpl.core.data_subject_id) or a trace (traceId); other criteria only narrow."
        c.add("traceId", "required", reason)
        c.add(rules.DATA_SUBJECT_ID, "required", reason)
    return criteria


def _trace_value(raw: str) -> str:
    if not _TRACE.fullmatch(raw):
        raise InvalidValue("invalid", "Must be a trace id: 32 hexadecimal digits.")
    return raw.lower()


@router.post("/processing-activities")
async def processing_activities(request: Request, caller: Caller = Depends(requires("read"))) -> Response:
    """listProcessingActivitiesPost of the read extension."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, (*_QUERY, *params.PAGINATION))
    page = params.page_of(c, q)
    raw = await json_body(request)
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        c.add("body", "invalid", "The body is not valid JSON.")
        body = {}
    criteria = criteria_of(c, body, {k: q[k] for k in _QUERY if k in q})
    consumer = params.consumer_headers(c, request.headers)
    c.raise_if_any()
    logboek: Logboek = request.app.state.logboek
    found = await logboek.read(caller, criteria, page, consumer)
    with_resource = scopes.READ_CONFIDENTIAL in caller.scopes
    results = [rules.logius_shape(i.versie, i.regel, i.objecten, with_resource) for i in found.items]
    headers = {"X-Total-Count": str(found.count)}
    links = []
    if page.number < last_page(found.count, page.size):
        links.append(f'<{page_link(request, page.number + 1)}>; rel="next"')
    if page.number > 1:
        links.append(f'<{page_link(request, page.number - 1)}>; rel="prev"')
    if links:
        headers["Link"] = ", ".join(links)
    return json_response({"processingActivities": results}, headers=headers)


def logboek_service(register: Register, var: VarService, keep_stacktrace: bool = False) -> Logboek:
    """The Logboek service over the register's own reader and writer (one store, one Merkle log)."""
    return Logboek(register, var, LogboekStore(register.reader.codec), keep_stacktrace)


def mount_logboek(app: FastAPI) -> None:
    """The OTLP receiver (POST /v1/traces) and the read extension."""
    app.include_router(otlp.router)
    app.include_router(router)


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
