"""Test helpers: an API client that acts as a named registered client, and body factories."""

from __future__ import annotations

import copy
import random
import uuid
from typing import TYPE_CHECKING, Any

import httpx
from fastapi.testclient import TestClient

from verwerkingenlog.services.clients import Client

if TYPE_CHECKING:
    import schemathesis

TEST_ACTIVITY = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
CONSUMER_OIN = "00000001821002193000"
INZAGE_HEADERS = {
    "OIN": CONSUMER_OIN,
    "VerwerkingsactiviteitId": "c5b9f4e7-8c79-41b9-91e2-6268419cb167",
    "VerwerkingsactiviteitUrl": "https://var.example.nl/api/v1/verwerkingsactiviteit/c5b9f4e7-8c79-41b9-91e2-6268419cb167",
}


def new_bsn() -> str:
    """A fresh fictitious person id for each test, so tests never see each other's data."""
    return f"9{random.randrange(10**9, 10**10)}"


def person(bsn: str, **extra: Any) -> dict[str, Any]:
    return {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, **extra}


def actie(*bsns: str, **overrides: Any) -> dict[str, Any]:
    """A complete, valid POST body ("full logging", §15.2) about the given persons."""
    body: dict[str, Any] = {
        "actieNaam": "Opvragen persoonsgegevens",
        "handelingNaam": "Intake",
        "verwerkingNaam": "Huwelijk",
        "verwerkingId": str(uuid.uuid4()),
        "verwerkingsactiviteitId": TEST_ACTIVITY,
        "verwerkingsactiviteitUrl": f"https://var.example.nl/api/v1/verwerkingsactiviteit/{TEST_ACTIVITY}",
        "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P10Y",
        "uitvoerder": "00000001821002193000",
        "systeem": "FooBarApp v2.1",
        "gebruiker": "2ecf8e86-1a18-46ba",
        "gegevensbron": "FooBar Database Publiekszaken",
        "soortAfnemerId": None,
        "afnemerId": None,
        "verwerkingsactiviteitIdAfnemer": None,
        "verwerkingsactiviteitUrlAfnemer": None,
        "verwerkingIdAfnemer": None,
        "tijdstip": "2024-04-05T14:35:42+01:00",
        "verwerkteObjecten": [
            person(b, betrokkenheid="Partner", verwerkteSoortenGegevens=[{"soortGegeven": "Nationaliteit"}])
            for b in bsns
        ],
    }
    body.update(overrides)
    return body


def editable(resource: dict[str, Any]) -> dict[str, Any]:
    """A GET response turned into a PUT body (a GET → edit → PUT round trip, R-PUT-1)."""
    body = copy.deepcopy(resource)
    for key in ("url", "actieId", "tijdstipRegistratie"):
        body.pop(key, None)
    return body


class Api:
    def __init__(self, tc: TestClient, tokens: dict[str, str], backend: str, clients: dict[str, Client]) -> None:
        self.tc = tc
        self.tokens = tokens
        self.backend = backend
        self.clients = clients

    def auth(self, who: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        who: str | None = "alles",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        return self.tc.request(method, path, headers=self.auth(who, headers), **kw)

    def post(self, body: Any, who: str | None = "alles", **kw: Any) -> httpx.Response:
        return self.request("POST", "/api/v1/verwerkingsacties", who, json=body, **kw)

    def create(self, body: dict[str, Any], who: str = "alles") -> dict[str, Any]:
        r = self.post(body, who)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    def list(self, bsn: str, who: str = "alles", activity: str | None = TEST_ACTIVITY, **params: Any) -> httpx.Response:
        """GET /verwerkingsacties for a person; filtered on the test activity so that the register's
        own self-log entries (§10.5) do not count."""
        q: dict[str, Any] = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, **params}
        if activity is not None:
            q.setdefault("verwerkingsactiviteitId", activity)
        if who in ("normaal", "read-normal"):
            q.setdefault("vertrouwelijkheid", "normaal")
        return self.request("GET", "/api/v1/verwerkingsacties", who, params=q)

    def inzage(
        self,
        bsn: str,
        who: str = "alles",
        begin: str = "2000-01-01",
        end: str = "2100-01-01",
        activity: str | None = TEST_ACTIVITY,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        q: dict[str, Any] = {
            "objecttype": "persoon",
            "soortObjectId": "BSN",
            "objectId": bsn,
            "beginDatum": begin,
            "eindDatum": end,
            **params,
        }
        if activity is not None:
            q.setdefault("verwerkingsactiviteitId", activity)
        return self.request(
            "GET",
            "/api/v1/verwerkte-objecten",
            who,
            params=q,
            headers=INZAGE_HEADERS if headers is None else headers,
        )

    def get(self, actie_id: str, who: str = "alles") -> httpx.Response:
        return self.request("GET", f"/api/v1/verwerkingsacties/{actie_id}", who)

    def put(self, actie_id: str, body: Any, who: str = "alles") -> httpx.Response:
        return self.request("PUT", f"/api/v1/verwerkingsacties/{actie_id}", who, json=body)

    def patch(self, verwerking_id: str, body: Any, who: str = "alles") -> httpx.Response:
        return self.request(
            "PATCH", "/api/v1/verwerkingsacties", who, params={"verwerkingId": verwerking_id}, json=body
        )

    def delete(self, actie_id: str, who: str = "alles") -> httpx.Response:
        return self.request("DELETE", f"/api/v1/verwerkingsacties/{actie_id}", who)

    def versies(self, actie_id: str, who: str = "alles") -> httpx.Response:
        return self.request("GET", f"/api/v1/verwerkingsacties/{actie_id}/versies", who)


def send_case(
    api: Api, case: schemathesis.Case, base_url: str, client: str, extra_headers: dict[str, str] | None = None
) -> httpx.Response:
    """Serialise a schemathesis case as schemathesis would and send it through the fixture's TestClient, with the
    bearer token of test client `client` (the schemathesis suites of every API)."""
    kw = case.as_transport_kwargs(
        base_url=base_url, headers={"Authorization": f"Bearer {api.tokens[client]}", **(extra_headers or {})}
    )
    headers = {name: value.encode("latin-1", errors="replace") for name, value in kw["headers"].items()}
    body: dict[str, Any] = {}
    if "json" in kw:
        body["json"] = kw["json"]
    elif "data" in kw:
        body["content"] = kw["data"]
    return api.tc.request(kw["method"], kw["url"], params=kw.get("params"), headers=headers, **body)
