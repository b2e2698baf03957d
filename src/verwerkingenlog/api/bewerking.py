"""Bewerking API (§6): create, search, read, correct, change per verwerking, logically delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from verwerkingenlog.api import bodies, params
from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.http import json_body, json_response, negotiated, paginated, renderer
from verwerkingenlog.domain import idempotency
from verwerkingenlog.domain.errors import ValidationFailed
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.services.register import Register
from verwerkingenlog.services.strict import IngestPolicy
from verwerkingenlog.settings import Settings

router = APIRouter(prefix="/api/v1", dependencies=[Depends(negotiated)])

# Set on a 201 that answers a retry from the remembered result instead of storing again.
REPLAYED_HEADER = "Idempotent-Replayed"

LIST_PARAMS = (
    *params.OBJECT_PARAMS,
    "beginDatum",
    "eindDatum",
    "vertrouwelijkheid",
    "vertrouwelijkheidIn",
    "vertrouwelijkheid__in",  # deprecated name of vertrouwelijkheidIn
    "verwerkingsactiviteitId",
    *params.PAGINATION,
)


def _register(request: Request) -> Register:
    register: Register = request.app.state.register
    return register


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/verwerkingsacties", status_code=201)
async def verwerkingsactie_create(request: Request, caller: Caller = Depends(requires(None))) -> Response:
    """§6.1 (F7446, F6624); with an `Idempotency-Key` header a retry is answered, not stored twice
    (extension, docs/idempotency.md)."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    key = c.value(idempotency.HEADER, request.headers.get(idempotency.HEADER), idempotency.key_value)
    c.raise_if_any()
    raw = await json_body(request)
    gegevens, objecten = bodies.parse_post(raw)  # msgspec first, pydantic's errors for what it refuses
    policy: IngestPolicy = request.app.state.ingest_policy
    (refused,) = await policy.check_vng([gegevens])  # strict ingest (issue 18.3): 422, or counted when lenient
    if refused is not None:
        raise refused
    replayed = False
    if key is None:
        created = await _register(request).create(caller, gegevens, objecten)
    else:
        sent = idempotency.IdempotencyKey(key, idempotency.fingerprint(raw))
        created, replayed = await _register(request).create_once(caller, sent, gegevens, objecten)
    data = renderer(request).actie(created)
    headers = {"Location": data["url"]}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return json_response(data, 201, headers)


@router.get("/verwerkingsacties")
async def verwerkingsactie_list(request: Request, caller: Caller = Depends(requires("read"))) -> Response:
    """§6.2 (F9787, F2525, F0143)."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, LIST_PARAMS)
    f = params.object_filter(c, q, _settings(request).zone, dates_required=False, with_vertrouwelijkheid=True)
    page = params.page_of(c, q)
    consumer = params.consumer_headers(c, request.headers)
    c.raise_if_any()
    assert f is not None
    found = await _register(request).search_acties(caller, f, page, consumer)
    r = renderer(request)
    return paginated(request, found.count, page, [r.actie(v) for v in found.items])


@router.patch("/verwerkingsacties", status_code=204)
async def verwerkingsactie_list_patch(request: Request, caller: Caller = Depends(requires("update"))) -> Response:
    """§6.5 (F4415, F2969): bewaartermijn and/or vertrouwelijkheid of a whole verwerking."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, ("verwerkingId",))
    raw_id = q.get("verwerkingId")
    if raw_id is None:
        c.add("verwerkingId", "required", "This query parameter is required.")
    verwerking_id = None if raw_id is None else params.path_uuid(c, "verwerkingId", raw_id)
    c.raise_if_any()
    body = bodies.parse(bodies.PatchBody, await json_body(request))
    if body.bewaartermijn is None and body.vertrouwelijkheid is None:
        raise ValidationFailed.one("body", "required", "Send bewaartermijn and/or vertrouwelijkheid (R-PATCH-1).")
    assert verwerking_id
    vertrouwelijkheid = None if body.vertrouwelijkheid is None else Vertrouwelijkheid(body.vertrouwelijkheid)
    await _register(request).patch(caller, verwerking_id, body.bewaartermijn, vertrouwelijkheid)
    return Response(status_code=204)


@router.get("/verwerkingsacties/{actieId}")
async def verwerkingsactie_read(request: Request, actieId: str, caller: Caller = Depends(requires("read"))) -> Response:
    """§6.3: any version's actieId returns the current version (R-GETS-2)."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    actie_id = params.path_uuid(c, "actieId", actieId)
    consumer = params.consumer_headers(c, request.headers)
    c.raise_if_any()
    current = await _register(request).read(caller, actie_id, consumer)
    return json_response(renderer(request).actie(current))


@router.get("/verwerkingsacties/{actieId}/versies", openapi_extra={"x-extension": True})
async def verwerkingsactie_versies(
    request: Request, actieId: str, caller: Caller = Depends(requires("read"))
) -> Response:
    """Extension (decisions.md 3): the full version history, for read:confidential."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    actie_id = params.path_uuid(c, "actieId", actieId)
    consumer = params.consumer_headers(c, request.headers)
    c.raise_if_any()
    versions = await _register(request).history(caller, actie_id, consumer)
    r = renderer(request)
    return json_response({"count": len(versions), "results": [r.versie(v) for v in versions]})


@router.put("/verwerkingsacties/{actieId}")
async def verwerkingsactie_update(
    request: Request, actieId: str, caller: Caller = Depends(requires("update"))
) -> Response:
    """§6.4 (F8316, F3835): a complete body replaces the action in a new version."""
    actie_id = params.path_id(request.query_params, "actieId", actieId)
    body = bodies.parse(bodies.PutBody, await json_body(request))
    new = await _register(request).correct(caller, actie_id, bodies.gegevens_of(body), bodies.objecten_of(body))
    return json_response(renderer(request).actie(new))


@router.delete("/verwerkingsacties/{actieId}", status_code=204)
async def verwerkingsactie_delete(
    request: Request, actieId: str, caller: Caller = Depends(requires("delete"))
) -> Response:
    """§6.6 (F9906, F2265): logical delete."""
    actie_id = params.path_id(request.query_params, "actieId", actieId)
    await _register(request).delete(caller, actie_id)
    return Response(status_code=204)
