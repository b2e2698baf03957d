"""Helpers for the VAR tests: fresh organisations and activities, and calls on the VAR API."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from tests.helpers import Api

VAR = "/api/v1/verwerkingsactiviteiten"


def new_oin() -> str:
    """A fresh fictitious organisation per test, so that list filters see only the test's own activities."""
    return f"{random.randrange(10**19, 10**20):020d}"


def activiteit(oin: str, **overrides: Any) -> dict[str, Any]:
    """A complete `Verwerkingsactiviteit` (§17.3) with a fresh id."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "naam": "Aanvraag parkeervergunning",
        "gebaseerdOp": "https://var.example.nl/ibd/7a22eb38-bca6-463f-9955-54ab040287cb",
        "categorie": "Parkeren",
        "verantwoordelijkeOrganisatie": oin,
        "verantwoordelijkeBestuursorgaan": "College van B&W",
        "doel": "Beoordelen en verlenen van een parkeervergunning",
        "grondslag": "Publieke taak",
        "toelichtingGrondslag": "Wegenverkeerswet 1994 art. 18",
        "bewaartermijn": "2 jaar na afloop van de vergunning",
        "herkomst": "Betrokkene, BRP en RDW",
        "afnemendeInternationaleDerden": [],
        "afnemendeCategorieOntvangers": ["Parkeerhandhaving"],
        "verwerktePersoonsgegevens": [{"rolBetrokkene": "Aanvrager", "naam": "Kenteken"}],
        "vertalingen": {
            "en": {
                "naam": "Parking permit application",
                "doel": "Assessing and granting a parking permit",
                "grondslag": None,
                "toelichtingGrondslag": None,
                "bewaartermijn": "2 years after the permit ends",
            }
        },
    }
    body.update(overrides)
    return body


def create(api: Api, body: dict[str, Any], who: str = "var-write") -> dict[str, Any]:
    r = api.request("POST", VAR, who, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def read(api: Api, activiteit_id: str, who: str = "read-normal", **kw: Any) -> httpx.Response:
    return api.request("GET", f"/api/v1/verwerkingsactiviteit/{activiteit_id}", who, **kw)


def versies(api: Api, activiteit_id: str, who: str = "var-write") -> list[dict[str, Any]]:
    r = api.request("GET", f"{VAR}/{activiteit_id}/versies", who)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def problem_names(r: httpx.Response) -> set[str]:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {p["name"] for p in r.json()["invalidParams"]}
