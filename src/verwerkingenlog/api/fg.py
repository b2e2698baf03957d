"""Extension: the FG's tools under scope `fg:read` (issue 17, docs/fg.md).

- `GET /api/v1/fg/personen`: who processed one person's data (searched by the blind index), when and why;
- `GET /api/v1/fg/acties`: which persons one `gebruiker` and/or system processed, under which activities;
- `GET /api/v1/fg/signalen`: signals of misuse of a period, each explained and with the entries behind it;
- `GET/POST /api/v1/fg/volglijst` and `POST /api/v1/fg/volglijst/verwijderen`: the FG's watch list.

Every view is logged as a processing of the persons it shows; `vertrouwelijk=true` logs it `vertrouwelijk` (the
response's `controle.verwerkingId` is what a later PATCH lifts).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import QueryParams
from starlette.responses import Response

from verwerkingenlog.api import bodies, params
from verwerkingenlog.api.auth import authenticated
from verwerkingenlog.api.decoding import json_value
from verwerkingenlog.api.http import api_root, json_body, json_response, negotiated, paginated, renderer
from verwerkingenlog.domain import values
from verwerkingenlog.domain.errors import ValidationFailed
from verwerkingenlog.domain.fg import Signaal
from verwerkingenlog.domain.model import Caller, ObjectFilter, Versie
from verwerkingenlog.domain.pagination import Page
from verwerkingenlog.domain.periods import period
from verwerkingenlog.domain.values import render_registratie
from verwerkingenlog.domain.var import ActiviteitVersie
from verwerkingenlog.services.fg import Controle, FgService, require_fg
from verwerkingenlog.settings import Settings

router = APIRouter(prefix="/api/v1/fg", dependencies=[Depends(negotiated)])

PERIOD = ("beginDatum", "eindDatum", "verwerkingsactiviteitId")
VERTROUWELIJK = "vertrouwelijk"
PERSOON_PARAMS = (*params.OBJECT_PARAMS, *PERIOD, VERTROUWELIJK, *params.PAGINATION)
ACTIES_PARAMS = ("gebruiker", "systeem", *PERIOD, VERTROUWELIJK, *params.PAGINATION)
SIGNALEN_PARAMS = ("beginDatum", "eindDatum", VERTROUWELIJK)


async def _fg(request: Request) -> Caller:
    """Authenticate and demand `fg:read` before anything is parsed (§4.9 steps 1-2)."""
    caller = await authenticated(request)
    require_fg(caller.scopes)
    return caller


def _service(request: Request) -> FgService:
    service: FgService = request.app.state.fg
    return service


def _zone(request: Request) -> Any:
    settings: Settings = request.app.state.settings
    return settings.zone


def _one(c: params.Collector, q: QueryParams, name: str, required: bool = False) -> str | None:
    return params._single(c, q, name, required)


def _vertrouwelijk(c: params.Collector, q: QueryParams) -> bool:
    raw = _one(c, q, VERTROUWELIJK)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        c.add(VERTROUWELIJK, "invalid", "Must be true or false.")
    return raw == "true"


def _period(
    c: params.Collector, q: QueryParams, zone: Any, required: bool = False
) -> tuple[int | None, int | None, bool]:
    begin = c.value("beginDatum", _one(c, q, "beginDatum", required), values.date_value)
    end = c.value("eindDatum", _one(c, q, "eindDatum", required), values.date_value)
    span, problem = period(begin, end, zone)
    if problem is not None:
        c.problems.append(problem)
    if span is None:
        return None, None, False
    return span.begin_us, span.end_us, True


def _activiteit(c: params.Collector, q: QueryParams) -> str | None:
    return c.value("verwerkingsactiviteitId", _one(c, q, "verwerkingsactiviteitId"), values.uuid_value)


def _controle(controle: Controle) -> dict[str, Any]:
    return {
        "verwerkingId": controle.verwerking_id,
        "vertrouwelijkheid": "vertrouwelijk" if controle.vertrouwelijk else "normaal",
    }


def _paged(request: Request, count: int, page: Page, results: list[Any], controle: Controle, **extra: Any) -> Response:
    return paginated(request, count, page, results, **extra, controle=_controle(controle))


def _doel(root: str, v: Versie, uitleg: dict[tuple[str, int], ActiviteitVersie]) -> dict[str, Any] | None:
    """The purpose of the entry's activity from the VAR, as it was at the entry's tijdstip (§17.4)."""
    g = v.gegevens
    found = None if g.verwerkingsactiviteit_id is None else uitleg.get((g.verwerkingsactiviteit_id, g.tijdstip_us))
    if found is None:
        return None
    return {
        "id": found.id,
        "url": f"{root}/verwerkingsactiviteiten/{found.id}",
        "naam": found.gegevens.naam,
        "doel": found.gegevens.doel,
        "grondslag": found.gegevens.grondslag,
        "verantwoordelijkeOrganisatie": found.organisatie,
    }


@router.get("/personen", openapi_extra={"x-extension": True})
async def personen(request: Request, caller: Caller = Depends(_fg)) -> Response:
    """Who processed this person's data: every visible entry, every confidentiality, newest first."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, PERSOON_PARAMS)
    objecttype = c.value("objecttype", _one(c, q, "objecttype") or "persoon", values.objecttype_value)
    soort = c.value(
        "soortObjectId", _one(c, q, "soortObjectId") or "BSN", lambda v: values.max_length(v, values.NAAM_MAX)
    )
    object_id = c.value(
        "objectId", _one(c, q, "objectId", True), lambda v: values.max_length(v, values.IDENTIFICATOR_MAX)
    )
    begin_us, end_us, ok = _period(c, q, _zone(request))
    activiteit = _activiteit(c, q)
    vertrouwelijk = _vertrouwelijk(c, q)
    page = params.page_of(c, q)
    c.raise_if_any()
    assert objecttype is not None and soort is not None and object_id is not None and ok
    f = ObjectFilter(objecttype.value, soort, object_id, begin_us, end_us, None, activiteit)
    found = await _service(request).persoon(caller, f, page, vertrouwelijk)
    r = renderer(request)
    root = api_root(request)
    results = []
    for o, v in found.items:
        out = r.actie(v)
        out["verwerkteObjecten"] = [r.verwerkt_object(o)]
        out["verwerkingsactiviteit"] = _doel(root, v, found.uitleg)
        results.append(out)
    verwerkers = [
        {
            "uitvoerder": w.uitvoerder,
            "systeem": w.systeem,
            "gebruiker": w.gebruiker,
            "verwerkingsactiviteitId": w.activiteit_id,
            "aantal": w.aantal,
            "eerste": render_registratie(w.eerste_us),
            "laatste": render_registratie(w.laatste_us),
        }
        for w in found.verwerkers
    ]
    return _paged(request, found.count, page, results, found.controle, verwerkers=verwerkers)


@router.get("/acties", openapi_extra={"x-extension": True})
async def acties(request: Request, caller: Caller = Depends(_fg)) -> Response:
    """Which persons one gebruiker and/or system processed, under which activities, newest first."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, ACTIES_PARAMS)
    gebruiker = c.value("gebruiker", _one(c, q, "gebruiker"), lambda v: values.max_length(v, 40))
    systeem = c.value("systeem", _one(c, q, "systeem"), lambda v: values.max_length(v, values.NAAM_MAX))
    if gebruiker is None and systeem is None and not any(p.name in ("gebruiker", "systeem") for p in c.problems):
        c.add("gebruiker", "required", "Name a gebruiker, a systeem, or both.")
    begin_us, end_us, _ = _period(c, q, _zone(request))
    activiteit = _activiteit(c, q)
    vertrouwelijk = _vertrouwelijk(c, q)
    page = params.page_of(c, q)
    c.raise_if_any()
    found = await _service(request).acties_van(
        caller, gebruiker, systeem, begin_us, end_us, activiteit, page, vertrouwelijk
    )
    r = renderer(request)
    root = api_root(request)
    results = []
    for v in found.items:
        out = r.actie(v)
        out["verwerkingsactiviteit"] = _doel(root, v, found.uitleg)
        results.append(out)
    return _paged(request, found.count, page, results, found.controle)


def _signaal(root: str, s: Signaal, personen: dict[bytes, tuple[str, str]]) -> dict[str, Any]:
    def persoon(sleutel: bytes | None) -> dict[str, str] | None:
        if sleutel is None or sleutel not in personen:
            return None
        soort, value = personen[sleutel]
        return {"objecttype": "persoon", "soortObjectId": soort, "objectId": value}

    return {
        "soort": s.soort.value,
        "uitleg": s.uitleg,
        "gebruiker": s.gebruiker,
        "verwerkingsactiviteitId": s.activiteit_id,
        "persoon": persoon(s.persoon),
        "cijfers": s.cijfers,
        "regels": [
            {
                "actieId": r.actie_id,
                "url": f"{root}/verwerkingsacties/{r.actie_id}",
                "tijdstip": render_registratie(r.tijdstip_us),
                "gebruiker": r.gebruiker,
                "systeem": r.systeem,
                "verwerkingsactiviteitId": r.activiteit_id,
                "persoon": persoon(r.persoon),
            }
            for r in s.regels
        ],
    }


@router.get("/signalen", openapi_extra={"x-extension": True})
async def signalen(request: Request, caller: Caller = Depends(_fg)) -> Response:
    """Signals of misuse of a period (beginDatum ≤ tijdstip < eindDatum), each with its entries."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, SIGNALEN_PARAMS)
    begin_us, end_us, _ = _period(c, q, _zone(request), required=True)
    vertrouwelijk = _vertrouwelijk(c, q)
    c.raise_if_any()
    assert begin_us is not None and end_us is not None
    found = await _service(request).signalen(caller, begin_us, end_us, vertrouwelijk)
    root = api_root(request)
    return json_response(
        {
            "count": len(found.signalen),
            "results": [_signaal(root, s, found.personen) for s in found.signalen],
            "controle": _controle(found.controle),
        }
    )


class _Volg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    soortObjectId: str = Field("BSN", min_length=1, max_length=values.NAAM_MAX)
    objectId: str = Field(min_length=1, max_length=values.IDENTIFICATOR_MAX)
    reden: str | None = Field(None, max_length=2042)


async def _volg_body(request: Request) -> _Volg:
    raw = json_value(await json_body(request))
    try:
        return _Volg.model_validate(raw)
    except ValidationError as exc:
        raise bodies.validation_failed(exc) from None


@router.get("/volglijst", openapi_extra={"x-extension": True})
async def volglijst(request: Request, caller: Caller = Depends(_fg)) -> Response:
    """The current watch list (itself a view of persons, so logged like the others)."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, (VERTROUWELIJK,))
    vertrouwelijk = _vertrouwelijk(c, q)
    c.raise_if_any()
    lijst, controle = await _service(request).volglijst(caller, vertrouwelijk)
    results = [
        {
            "objecttype": "persoon",
            "soortObjectId": g.soort_object_id,
            "objectId": g.object_id,
            "sinds": render_registratie(g.sinds_us),
            "door": g.door,
            "reden": g.reden,
        }
        for g in lijst
    ]
    return json_response({"count": len(results), "results": results, "controle": _controle(controle)})


@router.post("/volglijst", openapi_extra={"x-extension": True})
async def volglijst_toevoegen(request: Request, caller: Caller = Depends(_fg)) -> Response:
    """Put a person on the watch list: 201, or 200 when they were on it already."""
    body = await _volg_body(request)
    changed = await _service(request).volg(caller, body.soortObjectId, body.objectId, body.reden, aan=True)
    return json_response({"opVolglijst": True}, 201 if changed else 200)


@router.post("/volglijst/verwijderen", openapi_extra={"x-extension": True})
async def volglijst_verwijderen(request: Request, caller: Caller = Depends(_fg)) -> Response:
    """Take a person off the watch list (the earlier events stay: the list is insert-only)."""
    body = await _volg_body(request)
    changed = await _service(request).volg(caller, body.soortObjectId, body.objectId, body.reden, aan=False)
    if not changed:
        raise ValidationFailed.one("objectId", "not_found", "This person is not on the watch list.")
    return json_response({"opVolglijst": False})
