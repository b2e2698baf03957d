"""Inzage API (§7): a person's view of the verwerkte objecten about them, restricted fields."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from verwerkingenlog.api import params, var
from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.http import json_response, negotiated, paginated, renderer
from verwerkingenlog.domain.model import Caller, ConsumerHeaders
from verwerkingenlog.services.register import Register
from verwerkingenlog.settings import Settings

router = APIRouter(prefix="/api/v1", dependencies=[Depends(negotiated)])

LIST_PARAMS = (
    *params.OBJECT_PARAMS,
    "beginDatum",
    "eindDatum",
    "verwerkingsactiviteitId",
    *params.PAGINATION,
    var.EXPAND,  # extension: expand=verwerkingsactiviteit (api/var.py)
)


def _consumer(c: params.Collector, request: Request) -> ConsumerHeaders:
    """R-INZ-8 (AMB-31): OIN and the two activity headers are mandatory unless configured lenient."""
    settings: Settings = request.app.state.settings
    required = params.INZAGE_REQUIRED_HEADERS if settings.inzage_headers_required else ()
    return params.consumer_headers(c, request.headers, required)


@router.get("/verwerkte-objecten")
async def verwerkte_objecten_list(request: Request, caller: Caller = Depends(requires("read"))) -> Response:
    """§7.1 (F4086, F2008)."""
    settings: Settings = request.app.state.settings
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, LIST_PARAMS)
    f = params.object_filter(c, q, settings.zone, dates_required=True, with_vertrouwelijkheid=False)
    page = params.page_of(c, q)
    expand = var.expand_requested(c, q)
    consumer = _consumer(c, request)
    c.raise_if_any()
    assert f is not None
    register: Register = request.app.state.register
    found = await register.search_objecten(caller, f, page, consumer)
    r = renderer(request)
    results = [r.verwerkt_object_uitgebreid(o, v) for o, v in found.items]
    if expand:
        await var.expanded(request, found.items, results)
    return paginated(request, found.count, page, results)


@router.get("/verwerkte-objecten/{verwerktObjectId}")
async def verwerktobject_read(
    request: Request, verwerktObjectId: str, caller: Caller = Depends(requires("read"))
) -> Response:
    """§7.2: unknown, not current, vervallen or not visible → 404 (AMB-30)."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, (var.EXPAND,))
    object_id = params.path_uuid(c, "verwerktObjectId", verwerktObjectId)
    expand = var.expand_requested(c, request.query_params)
    consumer = _consumer(c, request)
    c.raise_if_any()
    register: Register = request.app.state.register
    o, v = await register.read_object(caller, object_id, consumer)
    result = renderer(request).verwerkt_object_uitgebreid(o, v)
    if expand:
        await var.expanded(request, [(o, v)], [result])
    return json_response(result)
