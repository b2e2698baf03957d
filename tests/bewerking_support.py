"""Shared assertions and set-ups for the Bewerking API behaviour tests."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import jwt

from tests.helpers import Api, actie

API_VERSION = "0.9.0"
PROBLEM_JSON = "application/problem+json"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EXPLICIT_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


# Every client-settable top-level scalar of a verwerkingsactie (§3.2, R-PUT-1), written out independently of
# the code under test.
CLIENT_KEYS = (
    "actieNaam",
    "handelingNaam",
    "verwerkingNaam",
    "verwerkingId",
    "verwerkingsactiviteitId",
    "verwerkingsactiviteitUrl",
    "vertrouwelijkheid",
    "bewaartermijn",
    "uitvoerder",
    "systeem",
    "gebruiker",
    "gegevensbron",
    "soortAfnemerId",
    "afnemerId",
    "verwerkingsactiviteitIdAfnemer",
    "verwerkingsactiviteitUrlAfnemer",
    "verwerkingIdAfnemer",
    "tijdstip",
)


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """§4.5 / R-HDR-1: a problem+json body of the right status and code, with the API-version header.

    400 bodies are `ValidatieFout` (with `invalidParams`), all others `Fout` (without).
    """
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert r.headers["API-version"] == API_VERSION
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    for key in ("type", "title", "detail", "instance"):
        assert isinstance(body[key], str) and body[key], key
    assert body["instance"].startswith("urn:uuid:")
    if status == 400:
        assert body["invalidParams"], body
        for p in body["invalidParams"]:
            assert set(p) == {"name", "code", "reason"}
            assert all(isinstance(p[k], str) and p[k] for k in ("name", "code", "reason")), p
    else:
        assert "invalidParams" not in body
    return body


def invalid(r: httpx.Response) -> set[tuple[str, str]]:
    """The (name, code) pairs of a 400 response (asserting it is a well-formed 400)."""
    body = assert_problem(r, 400, "invalid")
    return {(p["name"], p["code"]) for p in body["invalidParams"]}


def token(
    client_id: str,
    secret: str,
    iat: float | None = None,
    exp: float | None = None,
    **claims: Any,
) -> str:
    """A ZGW-style HS256 JWT minted by hand (§4.3)."""
    payload: dict[str, Any] = {"iss": client_id, "client_id": client_id, **claims}
    payload["iat"] = int(time.time() if iat is None else iat)
    if exp is not None:
        payload["exp"] = int(exp)
    return jwt.encode(payload, secret, algorithm="HS256")


def with_confidentiality(api: Api, bsn: str, current: str, **overrides: Any) -> dict[str, Any]:
    """An action whose current version has `current` as vertrouwelijkheid (opgeheven via PATCH)."""
    start = "vertrouwelijk" if current == "opgeheven" else current
    created = api.create(actie(bsn, vertrouwelijkheid=start, **overrides))
    if current == "opgeheven":
        r = api.patch(created["verwerkingId"], {"vertrouwelijkheid": "opgeheven"})
        assert r.status_code == 204, r.text
        created = api.get(created["actieId"]).json()
        assert created["vertrouwelijkheid"] == "opgeheven"
    return created


def history(api: Api, actie_id: str) -> list[dict[str, Any]]:
    r = api.versies(actie_id)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def new_uuid() -> str:
    return str(uuid.uuid4())
