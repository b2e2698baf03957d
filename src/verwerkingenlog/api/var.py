"""VAR API (§17): the register of processing activities, plus its documented extensions.

Standard (§17.2, AMB-47): GET /verwerkingsactiviteiten and GET /verwerkingsactiviteit/{actieId} (singular
path, parameter named `actieId`, ETag / If-None-Match → 304), read scopes as §17.4 adopts.
Extensions (x-extension in api/oas/var-api.yaml): filters and `peildatum` on the list, the alias
/verwerkingsactiviteiten/{id}, writes under `var:write`, the version history, the doelbinding report
under `fg:read`, and `expand=verwerkingsactiviteit` on the Inzage API (used by api/inzage.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from verwerkingenlog.api import params
from verwerkingenlog.api.auth import authenticated
from verwerkingenlog.api.decoding import json_value
from verwerkingenlog.api.http import JSON, api_root, json_body, json_response, negotiated, paginated
from verwerkingenlog.domain import scopes, values
from verwerkingenlog.domain import var as rules
from verwerkingenlog.domain.errors import ValidationFailed
from verwerkingenlog.domain.model import Caller, Versie, VerwerktObject
from verwerkingenlog.domain.pagination import page_beyond_end
from verwerkingenlog.domain.periods import period
from verwerkingenlog.domain.values import render_registratie
from verwerkingenlog.domain.var import ActiviteitFilter, ActiviteitVersie, Bevinding
from verwerkingenlog.services.var import DoelbindingRegel, VarService
from verwerkingenlog.settings import Settings

router = APIRouter(prefix="/api/v1", dependencies=[Depends(negotiated)])

LIST_PARAMS = (
    "verantwoordelijkeOrganisatie",
    "naam",
    "categorie",
    "grondslag",
    "gebaseerdOp",
    "peildatum",
    *params.PAGINATION,
)
REPORT_PARAMS = ("beginDatum", "eindDatum", "systeem", "bevinding", *params.PAGINATION)
EXPAND = "expand"
EXPANDABLE = ("verwerkingsactiviteit",)


def _allowed(check: Callable[[frozenset[str]], None]) -> Callable[[Request], Awaitable[Caller]]:
    """Authenticate and apply the operation's scope rule before anything else is parsed (§4.9 steps
    1-2). The service applies the same rule again, because the CLI calls it directly."""

    async def dependency(request: Request) -> Caller:
        caller = await authenticated(request)
        check(caller.scopes)
        return caller

    return dependency


def _service(request: Request) -> VarService:
    service: VarService = request.app.state.var
    return service


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# -- rendering --------------------------------------------------------------------------------------------


def activiteit_url(root: str, activiteit_id: str) -> str:
    """The standard's own resource path (singular, §17.2)."""
    return f"{root}/verwerkingsactiviteit/{activiteit_id}"


def render_activiteit(v: ActiviteitVersie) -> dict[str, Any]:
    """`Verwerkingsactiviteit` (§17.3): every property present (§4.7), plus the extension `vertalingen`."""
    return {"id": v.id, **rules.document(v.gegevens)}


def render_versie(v: ActiviteitVersie) -> dict[str, Any]:
    """An entry of the version history: the activity plus its bookkeeping (as the log's /versies)."""
    return {
        **render_activiteit(v),
        "versie": v.versie,
        "volgnummer": v.seq,
        "ingetrokken": v.ingetrokken,
        "tijdstipRegistratie": render_registratie(v.tijdstip_registratie_us),
    }


def render_uitleg(root: str, v: ActiviteitVersie) -> dict[str, Any]:
    """The `_expand.verwerkingsactiviteit` object: which version explains the entry, and that version's
    texts in plain Dutch (`nl`) and in other languages where the VAR gives them."""
    uitleg: dict[str, Any] = {"nl": rules.uitleg(v.gegevens, "nl")}
    for taal, _ in v.gegevens.vertalingen:
        uitleg[taal] = rules.uitleg(v.gegevens, taal)
    return {
        "url": activiteit_url(root, v.id),
        "id": v.id,
        "versie": v.versie,
        "ingetrokken": v.ingetrokken,
        "tijdstipRegistratie": render_registratie(v.tijdstip_registratie_us),
        "verantwoordelijkeOrganisatie": v.organisatie,
        "verantwoordelijkeBestuursorgaan": v.gegevens.verantwoordelijke_bestuursorgaan,
        "categorie": v.gegevens.categorie,
        "uitleg": uitleg,
    }


def render_regel(r: DoelbindingRegel) -> dict[str, Any]:
    activiteit = None
    if r.activiteit is not None:
        activiteit = {
            "id": r.activiteit.id,
            "naam": r.activiteit.gegevens.naam,
            "verantwoordelijkeOrganisatie": r.activiteit.organisatie,
            "ingetrokken": r.activiteit.ingetrokken,
        }
    return {
        "bevinding": r.bevinding.value,
        "systeem": r.systeem,
        "clientId": r.client_id,
        "verwerkingsactiviteitId": r.activiteit_id,
        "uitvoerder": r.uitvoerder,
        "aantal": r.aantal,
        "eersteTijdstip": render_registratie(r.eerste_us),
        "laatsteTijdstip": render_registratie(r.laatste_us),
        "voorbeeldActieIds": r.voorbeelden,
        "verwerkingsactiviteit": activiteit,
    }


# -- parsing ----------------------------------------------------------------------------------------------


def _one(c: params.Collector, q: QueryParams, name: str) -> str | None:
    """An optional query parameter that may occur once (the rule of api.params)."""
    return params._single(c, q, name)


def _naam(c: params.Collector, q: QueryParams, name: str) -> str | None:
    """A text filter: a Naam (≤ 242 characters, R-VAL-3) under the register's text rules."""
    return c.value(name, _one(c, q, name), lambda v: values.max_length(v, values.NAAM_MAX))


def _peildatum(c: params.Collector, q: QueryParams, settings: Settings) -> int | None:
    zone = settings.zone
    return c.value("peildatum", _one(c, q, "peildatum"), lambda raw: rules.peildatum_value(raw, zone))


async def _document(request: Request) -> Any:
    return json_value(await json_body(request))  # one decoding rule with its limits (api.decoding)


def _etag(body: bytes) -> str:
    """§17.2: the ETag is computed over the JSON body; equal ETags mean equal resources."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match (RFC 9110 §13.1.2): a list of ETags, weak comparison, or `*`."""
    if header is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


# -- the standard's two operations (§17.2) ------------------------------------------------------------------


@router.get("/verwerkingsactiviteiten")
async def verwerkingsactie_list(
    request: Request, caller: Caller = Depends(_allowed(scopes.check_var_read))
) -> Response:
    """§17.2 (operationId as in the OAS, sic): the activities valid now, or at `peildatum` (extension),
    filtered (extension; F8529 searches by gebaseerdOp) and paginated (§4.8)."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, LIST_PARAMS)
    oin = c.value("verantwoordelijkeOrganisatie", _one(c, q, "verantwoordelijkeOrganisatie"), values.oin_value)
    gebaseerd_op = c.value("gebaseerdOp", _one(c, q, "gebaseerdOp"), values.uri_value)
    f = ActiviteitFilter(
        verantwoordelijke_organisatie=oin,
        naam=_naam(c, q, "naam"),
        categorie=_naam(c, q, "categorie"),
        grondslag=_naam(c, q, "grondslag"),
        gebaseerd_op=gebaseerd_op,
        peildatum_us=_peildatum(c, q, _settings(request)),
    )
    page = params.page_of(c, q)
    c.raise_if_any()
    found = await _service(request).search(caller, f, page)
    return paginated(request, found.count, page, [render_activiteit(v) for v in found.items])


async def _read(request: Request, caller: Caller, name: str, raw_id: str) -> Response:
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, ("peildatum",))
    activiteit_id = params.path_uuid(c, name, raw_id)
    peildatum = _peildatum(c, q, _settings(request))
    c.raise_if_any()
    found = await _service(request).read(caller, activiteit_id, peildatum)
    body = msgspec.json.encode(render_activiteit(found))
    etag = _etag(body)
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type=JSON, headers={"ETag": etag})


@router.get("/verwerkingsactiviteit/{actieId}")
async def verwerkingsactiviteit_read(
    request: Request, actieId: str, caller: Caller = Depends(_allowed(scopes.check_var_read))
) -> Response:
    """§17.2: one activity, with ETag; If-None-Match with a matching ETag → 304 (§18.1 item 10).
    Retired → 410; `peildatum` (extension) reads it as the register held it then."""
    return await _read(request, caller, "actieId", actieId)


@router.get("/verwerkingsactiviteiten/{id}", openapi_extra={"x-extension": True})
async def verwerkingsactiviteit_read_alias(
    request: Request, id: str, caller: Caller = Depends(_allowed(scopes.check_var_read))
) -> Response:
    """§17.4 (optional alias): the same resource under the collection's path."""
    return await _read(request, caller, "id", id)


# -- extensions: managing the register ----------------------------------------------------------------------


@router.post("/verwerkingsactiviteiten", status_code=201, openapi_extra={"x-extension": True})
async def verwerkingsactiviteit_create(
    request: Request, caller: Caller = Depends(_allowed(scopes.check_var_write))
) -> Response:
    """Register an activity. `id` may be supplied (the UUID the municipality already uses) or is issued."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    c.raise_if_any()
    activiteit_id, gegevens = rules.parse_activiteit(await _document(request))
    created = await _service(request).create(caller, activiteit_id, gegevens)
    return json_response(render_activiteit(created), 201, {"Location": activiteit_url(api_root(request), created.id)})


@router.put("/verwerkingsactiviteiten/{id}", openapi_extra={"x-extension": True})
async def verwerkingsactiviteit_update(
    request: Request, id: str, caller: Caller = Depends(_allowed(scopes.check_var_write))
) -> Response:
    """Replace an activity's content in a new version (nothing is appended when nothing changes)."""
    activiteit_id = params.path_id(request.query_params, "id", id)
    body_id, gegevens = rules.parse_activiteit(await _document(request))
    if body_id is not None and body_id != activiteit_id:
        raise ValidationFailed.one("id", "invalid", "The id in the body differs from the id in the path.")
    updated = await _service(request).update(caller, activiteit_id, gegevens)
    return json_response(render_activiteit(updated))


@router.delete("/verwerkingsactiviteiten/{id}", status_code=204, openapi_extra={"x-extension": True})
async def verwerkingsactiviteit_retire(
    request: Request, id: str, caller: Caller = Depends(_allowed(scopes.check_var_write))
) -> Response:
    """Retire (intrekken) an activity: a new version marks it retired; its history stays."""
    activiteit_id = params.path_id(request.query_params, "id", id)
    await _service(request).retire(caller, activiteit_id)
    return Response(status_code=204)


@router.get("/verwerkingsactiviteiten/{id}/versies", openapi_extra={"x-extension": True})
async def verwerkingsactiviteit_versies(
    request: Request, id: str, caller: Caller = Depends(_allowed(scopes.check_var_history))
) -> Response:
    """Every version of an activity, oldest first, retirements included."""
    activiteit_id = params.path_id(request.query_params, "id", id)
    versions = await _service(request).history(caller, activiteit_id)
    return json_response({"count": len(versions), "results": [render_versie(v) for v in versions]})


# -- extension: the doelbinding report (FG) -------------------------------------------------------------------


def _bevindingen(c: params.Collector, q: QueryParams) -> frozenset[Bevinding] | None:
    raw = q.getlist("bevinding")
    if not raw:
        return None
    out = set()
    allowed = ", ".join(b.value for b in Bevinding)
    for part in (p.strip() for item in raw for p in item.split(",")):
        try:
            out.add(Bevinding(part.lower()))
        except ValueError:
            c.add("bevinding", "invalid_choice", f"Must be one of: {allowed}.")
    return frozenset(out)


@router.get("/doelbinding", openapi_extra={"x-extension": True})
async def doelbinding_report(request: Request, caller: Caller = Depends(_allowed(scopes.check_fg))) -> Response:
    """§17.4: log entries whose activity is missing, unknown, retired at their tijdstip or another
    organisation's than their uitvoerder, per system and client. Accepting them stays the rule."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, REPORT_PARAMS)
    begin = c.value("beginDatum", _one(c, q, "beginDatum"), values.date_value)
    end = c.value("eindDatum", _one(c, q, "eindDatum"), values.date_value)
    span, problem = period(begin, end, _settings(request).zone)
    if problem is not None:
        c.problems.append(problem)
    systeem = _naam(c, q, "systeem")
    bevindingen = _bevindingen(c, q)
    page = params.page_of(c, q)
    c.raise_if_any()
    assert span is not None
    regels = await _service(request).doelbinding(caller, span.begin_us, span.end_us, systeem, bevindingen)
    problem = page_beyond_end(page, len(regels))
    if problem is not None:
        raise ValidationFailed([problem])
    shown = regels[page.offset : page.offset + page.size]
    return paginated(request, len(regels), page, [render_regel(r) for r in shown])


# -- extension: expand=verwerkingsactiviteit on the Inzage API --------------------------------------------------


def expand_requested(c: params.Collector, q: QueryParams) -> bool:
    """The ZGW `expand` convention: a comma-separated list; the only expandable field is
    `verwerkingsactiviteit`. Without it the Inzage response is exactly the standard's."""
    raw = q.getlist(EXPAND)
    if not raw:
        return False
    for part in (p.strip() for item in raw for p in item.split(",")):
        if part not in EXPANDABLE:
            c.add(EXPAND, "invalid_choice", f"Must be one of: {', '.join(EXPANDABLE)}.")
    return True


async def expanded(
    request: Request, pairs: Sequence[tuple[VerwerktObject, Versie]], rendered: Sequence[dict[str, Any]]
) -> None:
    """Add `_expand.verwerkingsactiviteit` to each rendered Inzage result: the activity version that
    explains its action (at the action's tijdstip, §17.4) in plain language, or null when the action
    names no activity or one the VAR does not know."""
    refs = [(v.gegevens.verwerkingsactiviteit_id, v.gegevens.tijdstip_us) for _, v in pairs]
    found = await _service(request).explanations(refs)
    root = api_root(request)
    for (activiteit_id, tijdstip_us), out in zip(refs, rendered, strict=True):
        version = None if activiteit_id is None else found.get((activiteit_id, tijdstip_us))
        out["_expand"] = {"verwerkingsactiviteit": None if version is None else render_uitleg(root, version)}
