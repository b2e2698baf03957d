"""The admin pages under /beheer over HTTP, on SQLite and PostgreSQL (docs/admin.md).

The login here is a stand-in for the OpenID provider that hands the pages a set of claims: these tests are about
the pages (roles, CSRF, actions, audit). The real OpenID login is tested in tests/test_admin_browser.py.
"""

from __future__ import annotations

import asyncio
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from typer.testing import CliRunner

from tests.conftest import TEST_KEY, _prepare, _run, make_settings
from tests.helpers import actie, new_bsn
from tests.portal_support import text_of
from verwerkingenlog.admin.roles import Permission as P
from verwerkingenlog.admin.roles import Role, RoleMapError, allowed, check_role_map, claim_values, roles_from_claims
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.audit import AuditLog, VerifyResults
from verwerkingenlog.services.clients import Client
from verwerkingenlog.store.db import Database

FUZZ_CRASHES = Path(__file__).parent / "fuzz" / "crashes"

SECRET = "admin-test-session-secret-0123456789abcdef"
BEHEERDER = {"sub": "emp-1", "name": "Bea Beheer", "groups": ["verwerkingenlog-beheerder", "iedereen"]}
FG = {"sub": "emp-2", "name": "Frits FG", "groups": ["verwerkingenlog-fg"]}
NOBODY = {"sub": "emp-3", "name": "Niels Niemand", "groups": ["iedereen"]}
ADMIN_SETTINGS: dict[str, Any] = {
    "admin_oidc_issuer": "https://op.invalid/realms/medewerkers",
    "admin_oidc_client_id": "beheer",
    "admin_oidc_client_secret": "op-secret",
    "admin_session_secret": SECRET,
}
OIN = "00000001001172773000"


class StandInLogin:
    """In place of admin.oidc.EmployeeLogin: the 'provider' redirects straight back and gives these claims."""

    def __init__(self) -> None:
        self.claims: dict[str, Any] | None = None

    async def start(self, request: Request, redirect_uri: str) -> Response:
        return RedirectResponse(f"{redirect_uri}?code=stand-in&state=x", status_code=303)

    async def finish(self, request: Request) -> dict[str, Any] | None:
        return self.claims


class Site:
    def __init__(self, tc: TestClient, url: str, clients: dict[str, Client]) -> None:
        self.tc = tc
        self.url = url
        self.clients = clients
        mount = next(r for r in tc.app.routes if getattr(r, "path", None) == "/beheer")  # type: ignore[attr-defined]
        self.login_stub = StandInLogin()
        mount.app.state.admin.login = self.login_stub  # type: ignore[attr-defined]

    def login(self, claims: dict[str, Any]) -> httpx.Response:
        self.login_stub.claims = claims
        return self.tc.get("/beheer/login/oidc")

    def csrf(self, path: str = "/beheer/") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.tc.get(path).text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        values = {"csrf": self.csrf(), **(data or {})}
        return self.tc.post(path, data=values, **kw)

    def call(self, work: Any) -> Any:
        async def run() -> Any:
            db = Database(self.url)
            try:
                return await work(db)
            finally:
                await db.dispose()

        return asyncio.run(run())

    def audit(self) -> list[Any]:
        async def work(db: Database) -> list[Any]:
            return (await AuditLog(db).entries(0, 500))[1]

        return self.call(work)  # type: ignore[no-any-return]


def _site(url: str, clients: dict[str, Client], **overrides: Any) -> Iterator[Site]:
    settings = make_settings(url, **{**ADMIN_SETTINGS, **overrides})
    with TestClient(create_app(settings), base_url="https://testserver") as tc:
        yield Site(tc, url, clients)


@pytest.fixture
def site(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[Site]:
    yield from _site(backend[1], registered)


@pytest.fixture
def fresh_site(fresh_database: str, tmp_path: Path) -> Iterator[Site]:
    clients = _run(_prepare(fresh_database))
    yield from _site(fresh_database, clients, checkpoint_key_file=tmp_path / "checkpoint.key")


def _bearer(client: Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(client)}"}


def _secret(html: str) -> str:
    found = re.search(r'<code id="secret" class="secret">([^<]+)</code>', html)
    assert found, "no secret on the page"
    return found.group(1)


GET_PAGES = ["/beheer/", "/beheer/clients", "/beheer/var", "/beheer/var/nieuw", "/beheer/var/import"]
GET_PAGES += ["/beheer/doelbinding", "/beheer/integriteit", "/beheer/audit"]
POSTS = ["/beheer/clients", "/beheer/clients/alles/rotate", "/beheer/clients/alles/revoke", "/beheer/var/nieuw"]
POSTS += ["/beheer/var/import", f"/beheer/var/{uuid.uuid4()}", f"/beheer/var/{uuid.uuid4()}/intrekken"]
POSTS += ["/beheer/integriteit/verify"]


# -- roles (pure) -----------------------------------------------------------------------------------------------


def test_roles_come_from_the_configured_claim_and_map() -> None:
    mapping = check_role_map({"g-beheer": "beheerder", "g-fg": "fg"})
    assert roles_from_claims({"groups": ["x", "g-fg"]}, "groups", mapping) == (Role.FG,)
    assert roles_from_claims({"groups": "g-beheer"}, "groups", mapping) == (Role.BEHEERDER,)
    keycloak = {"realm_access": {"roles": ["g-fg", "g-beheer"]}}
    assert roles_from_claims(keycloak, "realm_access.roles", mapping) == (Role.BEHEERDER, Role.FG)
    assert roles_from_claims({"groups": ["x"]}, "groups", mapping) == ()
    assert roles_from_claims({}, "groups", mapping) == ()
    assert claim_values({"roles": [1, "a"]}, "roles") == ["a"]
    with pytest.raises(RoleMapError, match="admin"):
        check_role_map({"g": "admin"})


def test_beheerder_may_do_everything_and_fg_only_read_report_integrity_and_audit() -> None:
    assert all(allowed(["beheerder"], p) for p in P)
    assert {p for p in P if allowed(["fg"], p)} == {P.REPORT, P.INTEGRITY, P.AUDIT, P.CONTROLE}
    assert not any(allowed([], p) or allowed(["onbekend"], p) for p in P)


# -- access --------------------------------------------------------------------------------------------------------


def test_the_admin_pages_are_off_without_an_issuer(api: Any) -> None:
    r = api.tc.get("/beheer/")
    assert r.status_code == 404
    assert "ADMIN_OIDC_ISSUER" in r.text
    assert api.tc.get("/beheer/clients").status_code == 404


def test_no_page_or_action_without_login(site: Site) -> None:
    for path in GET_PAGES:
        r = site.tc.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/beheer/login", path
    for path in POSTS:
        r = site.tc.post(path, data={"csrf": "x"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/beheer/login", path
    login = site.tc.get("/beheer/login")
    assert login.status_code == 200 and 'href="/beheer/login/oidc"' in login.text


def test_session_cookie_is_secure_httponly_lax_and_scoped(site: Site) -> None:
    r = site.login(BEHEERDER)
    cookie = next(h for h in r.history[-1].headers.get_list("set-cookie") if h.startswith("beheer="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "secure" in lowered and "samesite=lax" in lowered and "path=/beheer" in lowered
    assert r.headers["cache-control"] == "no-store"


def test_an_employee_whose_claim_maps_to_no_role_gets_403(site: Site) -> None:
    r = site.login(NOBODY)
    assert r.status_code == 403 and r.url.path == "/beheer/"
    for path in GET_PAGES:
        assert site.tc.get(path).status_code == 403, path
    entry = next(e for e in site.audit() if e.subject == "emp-3" and e.action == "inloggen")
    assert entry.outcome == "geweigerd" and entry.roles == ""


def test_a_failed_login_goes_back_to_the_login_page(site: Site) -> None:
    r = site.login(None)  # type: ignore[arg-type]
    assert r.url.path == "/beheer/login" and r.url.params["mislukt"] == "1"
    assert "Inloggen is niet gelukt" in r.text


def test_fg_reads_report_integrity_and_audit_but_cannot_write(site: Site) -> None:
    assert site.login(FG).status_code == 200
    for path in ("/beheer/doelbinding", "/beheer/integriteit", "/beheer/audit"):
        assert site.tc.get(path).status_code == 200, path
    for path in ("/beheer/clients", "/beheer/var", "/beheer/var/nieuw", "/beheer/var/import"):
        assert site.tc.get(path).status_code == 403, path
    assert "Verify nu uitvoeren" not in site.tc.get("/beheer/integriteit").text
    name = f"fg-{uuid.uuid4().hex[:8]}"
    for path in POSTS:
        r = site.post(path, {"client_id": name, "scope": "read:normal"})
        assert r.status_code == 403, path
    refused = [e for e in site.audit() if e.subject == "emp-2" and e.outcome == "geweigerd"]
    assert {e.action for e in refused} >= {"clients:/clients", "verify:/integriteit/verify", "var:/var/nieuw"}

    async def exists(db: Database) -> Any:
        from verwerkingenlog.services.clients import Clients

        return await Clients(db).get(name)

    assert site.call(exists) is None


def test_csrf_is_required_on_every_post(site: Site) -> None:
    site.login(BEHEERDER)
    name = f"csrf-{uuid.uuid4().hex[:8]}"
    for path in [*POSTS, "/beheer/logout", "/beheer/taal"]:
        for data in ({}, {"csrf": "wrong"}):
            r = site.tc.post(path, data={"client_id": name, "scope": "read:normal", **data})
            assert r.status_code == 400, (path, data)
            assert "sessie is verlopen" in r.text
    assert name not in site.tc.get("/beheer/clients").text


# -- API clients -------------------------------------------------------------------------------------------------


def test_create_rotate_and_revoke_a_client_with_its_tokens_through_the_api(site: Site) -> None:
    site.login(BEHEERDER)
    name = f"zaaksysteem-{uuid.uuid4().hex[:8]}"
    r = site.post("/beheer/clients", {"client_id": name, "scope": ["create:normal", "read:normal"]})
    assert r.status_code == 200
    first = Client(name, _secret(r.text), frozenset({"create:normal", "read:normal"}))
    assert "maar één keer getoond" in r.text
    page = site.tc.get("/beheer/clients").text
    assert name in page and first.secret not in page  # the list never shows a secret
    created = site.tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=_bearer(first))
    assert created.status_code == 201, created.text
    read = site.tc.get(f"/api/v1/verwerkingsacties/{created.json()['actieId']}", headers=_bearer(first))
    assert read.status_code == 200, read.text

    again = site.post("/beheer/clients", {"client_id": name, "scope": "read:normal"})
    assert again.status_code == 400 and "bestaat al" in again.text

    r = site.post(f"/beheer/clients/{name}/rotate")
    assert r.status_code == 200
    second = Client(name, _secret(r.text), first.scopes)
    assert second.secret != first.secret
    old = site.tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=_bearer(first))
    assert old.status_code == 401
    assert site.tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=_bearer(second)).status_code == 201

    r = site.post(f"/beheer/clients/{name}/revoke")
    assert r.status_code == 200 and "ingetrokken" in r.text
    assert site.tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=_bearer(second)).status_code == 401
    assert site.post(f"/beheer/clients/{name}/rotate").status_code == 404

    mine = [(e.action, e.outcome) for e in reversed(site.audit()) if e.target == name]
    assert mine == [
        ("client:aanmaken", "ok"),
        ("client:aanmaken", "mislukt"),
        ("client:nieuw-geheim", "ok"),
        ("client:intrekken", "ok"),
        ("client:nieuw-geheim", "mislukt"),
    ]
    entry = next(e for e in site.audit() if e.target == name and e.action == "client:aanmaken" and e.outcome == "ok")
    assert (entry.subject, entry.name, entry.roles) == ("emp-1", "Bea Beheer", "beheerder")
    assert entry.detail == "scopes: create:normal read:normal"
    audit_page = site.tc.get("/beheer/audit").text
    assert name in audit_page and first.secret not in audit_page and second.secret not in audit_page


def test_a_client_with_its_own_public_key_gets_no_secret(site: Site) -> None:
    """Issue 15 part 4: the administrator registers a supplier's public key; no secret is shown or exists, the
    supplier's own signed tokens work, there is no 'new secret' button, and an unusable key is refused."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from verwerkingenlog.client import TokenSource

    site.login(BEHEERDER)
    name = f"leverancier-{uuid.uuid4().hex[:8]}"
    private = ed25519.Ed25519PrivateKey.generate()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    r = site.post("/beheer/clients", {"client_id": name, "scope": "create:normal", "public_key": public_pem})
    assert r.status_code == 200 and "er is geen geheim" in r.text and 'id="secret"' not in r.text
    assert "eigen sleutel (publieke sleutel)" in r.text
    assert f'/beheer/clients/{name}/rotate"' not in r.text
    source = TokenSource(name, private_key=private)
    created = site.tc.post(
        "/api/v1/verwerkingsacties", json=actie(new_bsn()), headers={"Authorization": source.authorization()}
    )
    assert created.status_code == 201, created.text
    assert site.post(f"/beheer/clients/{name}/rotate").status_code == 400

    bad = site.post("/beheer/clients", {"client_id": f"{name}-2", "public_key": "-----BEGIN PUBLIC KEY-----\nxx"})
    assert bad.status_code == 400 and "niet te gebruiken" in bad.text
    bad_url = site.post("/beheer/clients", {"client_id": f"{name}-3", "jwks_url": "http://elders.example/jwks"})
    assert bad_url.status_code == 400 and "https" in bad_url.text


def test_an_invalid_client_is_refused(site: Site) -> None:
    site.login(BEHEERDER)
    r = site.post("/beheer/clients", {"client_id": "x" * 101, "scope": "read:normal"})
    assert r.status_code == 400 and "1 tot 100 tekens" in r.text
    r = site.post("/beheer/clients", {"client_id": f"s-{uuid.uuid4().hex[:6]}", "scope": "alles:mag"})
    assert r.status_code == 400


# -- the VAR -----------------------------------------------------------------------------------------------------------


def _activity(**extra: str) -> dict[str, str]:
    return {
        "naam": "Kwijtschelding gemeentelijke belastingen",
        "verantwoordelijkeOrganisatie": OIN,
        "doel": "Beoordelen van een verzoek om kwijtschelding",
        "grondslag": "Wettelijke verplichting",
        "categorie": "Belastingen",
        "afnemendeCategorieOntvangers": "Inlichtingenbureau\nBelastingsamenwerking",
        "verwerktePersoonsgegevens": "Aanvrager: Inkomen\nAdres",
        "vertalingen": '{"en": {"naam": "Remission of municipal taxes"}}',
        **extra,
    }


def test_var_create_change_and_retire_are_visible_through_the_var_api(site: Site) -> None:
    site.login(BEHEERDER)
    reader = _bearer(site.clients["alles"])
    activiteit = str(uuid.uuid4())
    r = site.post("/beheer/var/nieuw", _activity(id=activiteit))
    assert r.status_code == 200 and f"{activiteit}, versie 1" in r.text
    got = site.tc.get(f"/api/v1/verwerkingsactiviteit/{activiteit}", headers=reader).json()
    assert got["naam"] == "Kwijtschelding gemeentelijke belastingen"
    assert got["afnemendeCategorieOntvangers"] == ["Inlichtingenbureau", "Belastingsamenwerking"]
    assert got["verwerktePersoonsgegevens"] == [
        {"rolBetrokkene": "Aanvrager", "naam": "Inkomen"},
        {"rolBetrokkene": None, "naam": "Adres"},
    ]
    assert got["vertalingen"]["en"]["naam"] == "Remission of municipal taxes"

    form = site.tc.get(f"/beheer/var/{activiteit}").text
    assert "Aanvrager: Inkomen" in form and "Remission of municipal taxes" in form  # the form round-trips
    r = site.post(f"/beheer/var/{activiteit}", _activity(naam="Kwijtschelding (gewijzigd)"))
    assert r.status_code == 200 and f"{activiteit}, versie 2" in r.text
    got = site.tc.get(f"/api/v1/verwerkingsactiviteit/{activiteit}", headers=reader).json()
    assert got["naam"] == "Kwijtschelding (gewijzigd)"
    fg = _bearer(site.clients["var-beheer"])  # the version history needs var:write or fg:read
    history = site.tc.get(f"/api/v1/verwerkingsactiviteiten/{activiteit}/versies", headers=fg).json()
    assert history["results"][-1]["versie"] == 2

    r = site.post(f"/beheer/var/{activiteit}/intrekken")
    assert r.status_code == 200 and "is ingetrokken" in r.text
    assert site.tc.get(f"/api/v1/verwerkingsactiviteit/{activiteit}", headers=reader).status_code == 410
    history = site.tc.get(f"/api/v1/verwerkingsactiviteiten/{activiteit}/versies", headers=fg).json()
    assert [v["ingetrokken"] for v in history["results"]] == [False, False, True]

    mine = [(e.action, e.outcome, e.detail) for e in reversed(site.audit()) if e.target == activiteit]
    assert mine == [
        ("var:aanmaken", "ok", "versie 1"),
        ("var:wijzigen", "ok", "versie 2"),
        ("var:intrekken", "ok", "versie 3"),
    ]
    assert _author(site, activiteit) == "beheer:Bea Beheer"


def _author(site: Site, activiteit: str) -> str:
    async def work(db: Database) -> str:
        async with db.reading() as conn:
            query = text("SELECT client_id FROM verwerkingsactiviteit_versie WHERE activiteit_id = :i AND versie = 1")
            return str((await conn.execute(query, {"i": activiteit})).scalar_one())

    return site.call(work)  # type: ignore[no-any-return]


def test_an_invalid_activity_shows_every_problem_and_is_not_stored(site: Site) -> None:
    site.login(BEHEERDER)
    activiteit = str(uuid.uuid4())
    r = site.post("/beheer/var/nieuw", _activity(id=activiteit, verantwoordelijkeOrganisatie="123", doel=""))
    assert r.status_code == 400
    assert "verantwoordelijkeOrganisatie" in text_of(r.text) and "doel" in text_of(r.text)
    assert 'value="Kwijtschelding gemeentelijke belastingen"' in r.text  # the form keeps what was typed
    reader = _bearer(site.clients["alles"])
    assert site.tc.get(f"/api/v1/verwerkingsactiviteit/{activiteit}", headers=reader).status_code == 404
    entry = next(e for e in site.audit() if e.target == activiteit)
    assert entry.outcome == "mislukt" and "verantwoordelijkeOrganisatie" in (entry.detail or "")
    assert site.post(f"/beheer/var/{uuid.uuid4()}/intrekken").status_code == 404
    assert site.tc.get(f"/beheer/var/{uuid.uuid4()}").status_code == 404


def test_var_import_reports_every_rejected_row(site: Site) -> None:
    site.login(BEHEERDER)
    good, bad_oin = str(uuid.uuid4()), str(uuid.uuid4())
    csv = (
        "UUID;Naam verwerking;Doel;Grondslag;Verantwoordelijke organisatie (OIN);Opmerking\n"
        f"{good};Leerlingenvervoer;Vervoer van leerlingen;Publieke taak;{OIN};intern\n"
        ";Zonder id;Iets;Publieke taak;;\n"
        f"{bad_oin};Verkeerde OIN;Iets;Publieke taak;12345;\n"
    )
    files = {"bestand": ("var.csv", csv.encode(), "text/csv")}
    r = site.post("/beheer/var/import", {"controle": "1"}, files=files)
    assert r.status_code == 200, r.text
    body = text_of(r.text)
    assert "var.csv: 1 nieuw, 0 gewijzigd, 0 ongewijzigd, 2 afgewezen." in body
    assert "Controle, niets opgeslagen." in body
    reader = _bearer(site.clients["alles"])
    assert site.tc.get(f"/api/v1/verwerkingsactiviteit/{good}", headers=reader).status_code == 404  # dry run

    r = site.post("/beheer/var/import", files=files)
    body = text_of(r.text)
    assert "var.csv: 1 nieuw, 0 gewijzigd, 0 ongewijzigd, 2 afgewezen." in body
    assert "Genegeerde kolommen: Opmerking" in body
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", r.text)
    assert [(n, col) for n, col, _ in rows] == [
        ("3", "UUID"),
        ("3", "Verantwoordelijke organisatie (OIN)"),
        ("4", "Verantwoordelijke organisatie (OIN)"),
    ]
    assert site.tc.get(f"/api/v1/verwerkingsactiviteit/{good}", headers=reader).json()["naam"] == "Leerlingenvervoer"
    again = text_of(site.post("/beheer/var/import", files=files).text)
    assert "0 nieuw, 0 gewijzigd, 1 ongewijzigd, 2 afgewezen" in again  # re-importing changes nothing

    unusable = site.post("/beheer/var/import", files={"bestand": ("var.pdf", b"%PDF", "application/pdf")})
    assert unusable.status_code == 400 and "niet te gebruiken" in unusable.text
    details = [e.detail for e in site.audit() if e.action == "var:importeren" and e.subject == "emp-1"]
    assert "dry run: 1 new, 0 changed, 0 unchanged, 2 rejected" in details


# -- report, integrity, audit ---------------------------------------------------------------------------------------


def test_the_doelbinding_report_shows_entries_with_an_unknown_activity(site: Site) -> None:
    systeem = f"Onbekend-{uuid.uuid4().hex[:8]}"
    onbekend = str(uuid.uuid4())
    body = actie(new_bsn(), systeem=systeem, verwerkingsactiviteitId=onbekend)
    created = site.tc.post("/api/v1/verwerkingsacties", json=body, headers=_bearer(site.clients["alles"]))
    assert created.status_code == 201
    site.login(FG)
    r = site.tc.get("/beheer/doelbinding", params={"systeem": systeem})
    assert r.status_code == 200
    assert onbekend in r.text and created.json()["actieId"] in r.text and "onbekend" in r.text
    none = site.tc.get("/beheer/doelbinding", params={"systeem": f"niets-{uuid.uuid4().hex}"})
    assert "Elke logregel noemt een bekende" in none.text
    wrong = site.tc.get("/beheer/doelbinding", params={"beginDatum": "2024-02-01", "eindDatum": "2024-01-01"})
    assert wrong.status_code == 400 and "Ongeldige periode" in wrong.text
    assert site.tc.get("/beheer/doelbinding", params={"beginDatum": "gisteren"}).status_code == 400


@pytest.mark.parametrize("tijdstip", ["9999-12-31T23:30:00Z", "0001-01-01T00:00:00Z"])
def test_the_doelbinding_report_shows_entries_at_the_edges_of_the_calendar(site: Site, tijdstip: str) -> None:
    """R-VAL-4 accepts any instant in years 1..9999 UTC; shown in Amsterdam time it may fall outside the calendar
    (9999-12-31T23:30Z is 10000-01-01 there): the page shows it in UTC rather than answering 500."""
    systeem = f"Rand-{uuid.uuid4().hex[:8]}"
    body = actie(new_bsn(), systeem=systeem, tijdstip=tijdstip, verwerkingsactiviteitId=str(uuid.uuid4()))
    created = site.tc.post("/api/v1/verwerkingsacties", json=body, headers=_bearer(site.clients["alles"]))
    assert created.status_code == 201, created.text
    site.login(FG)
    r = site.tc.get("/beheer/doelbinding", params={"systeem": systeem})
    assert r.status_code == 200
    assert created.json()["actieId"] in r.text


def test_verify_results_of_the_page_and_the_cli_are_stored_and_the_last_is_shown(
    fresh_site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = fresh_site
    site.tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=_bearer(site.clients["alles"]))
    site.login(FG)
    page = site.tc.get("/beheer/integriteit").text
    assert "Verify is nog niet uitgevoerd." in page and "Er is nog geen checkpoint ondertekend." in page
    site.login(BEHEERDER)
    state: Any = site.tc.app.state  # type: ignore[attr-defined]
    signed = site.tc.portal.call(state.integrity.sign_checkpoint)  # type: ignore[union-attr]
    r = site.post("/beheer/integriteit/verify")
    assert r.status_code == 200
    body = text_of(r.text)
    assert "In orde: elk blad klopt met zijn rij en met elk checkpoint." in body
    assert "beheer:Bea Beheer" in body and f"{signed.tree_size} (#{signed.id})" in body

    async def latest(db: Database) -> Any:
        return await VerifyResults(db).latest()

    stored = site.call(latest)
    assert (stored.ok, stored.run_by, stored.tree_size, stored.checkpoints) == (True, "beheer:Bea Beheer", 1, 1)
    assert any(e.action == "verify" and e.outcome == "ok" for e in site.audit())

    from verwerkingenlog.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", site.url)
    monkeypatch.setenv("PSEUDONYMISATION_KEY", TEST_KEY)
    monkeypatch.setenv("CHECKPOINT_KEY_FILE", str(tmp_path / "checkpoint.key"))
    result = CliRunner().invoke(cli, ["verify", "--json"])
    assert result.exit_code == 0, result.output
    by_cli = site.call(latest)
    assert by_cli.id > stored.id and by_cli.run_by.startswith("cli:") and by_cli.ok
    site.login(FG)
    assert by_cli.run_by in site.tc.get("/beheer/integriteit").text


def test_a_verify_with_findings_is_stored_with_them(fresh_site: Site) -> None:
    site = fresh_site
    created = site.tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=_bearer(site.clients["alles"]))
    actie_id = created.json()["actieId"]
    state: Any = site.tc.app.state  # type: ignore[attr-defined]
    site.tc.portal.call(state.integrity.sign_checkpoint)  # type: ignore[union-attr]

    site.login(BEHEERDER)

    async def insert_row(db: Database) -> None:
        async with db.writing() as conn:
            await conn.execute(
                text(
                    "INSERT INTO verwerkingsactie_versie (actie_id, lineage_id, versie, vervallen, "
                    "tijdstip_registratie_us, tijdstip, tijdstip_us, vertrouwelijkheid) "
                    "VALUES (:a, :a, 1, false, 1, '2024-01-01T00:00:00Z', 1, 'normaal')"
                ),
                {"a": str(uuid.uuid4())},
            )

    site.call(insert_row)
    r = site.post("/beheer/integriteit/verify")
    assert r.status_code == 200
    assert "1 bevinding(en)" in text_of(r.text) and "inserted" in r.text
    assert actie_id not in r.text  # the untouched entry is not named

    async def latest(db: Database) -> Any:
        return await VerifyResults(db).latest()

    stored = site.call(latest)
    assert not stored.ok and stored.findings == 1 and stored.report[0]["finding"] == "inserted"
    assert any(e.action == "verify" and e.outcome == "mislukt" for e in site.audit())


def test_the_audit_and_verify_tables_are_insert_only(site: Site) -> None:
    from verwerkingenlog.services.verify import VerifyReport

    site.login(BEHEERDER)  # writes an audit entry

    async def store(db: Database) -> None:
        await VerifyResults(db).store(VerifyReport(), "test", 1, 2)

    site.call(store)

    async def change(db: Database, statement: str) -> None:
        async with db.writing() as conn:
            await conn.execute(text(statement))

    for table in ("admin_audit", "verify_result"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(Exception, match="append-only"):
                site.call(lambda db, s=statement: change(db, s))


def test_the_audit_page_lists_actions_newest_first_and_logins(site: Site) -> None:
    site.login(FG)
    site.login(BEHEERDER)
    html = site.tc.get("/beheer/audit").text
    assert html.index("Bea Beheer") < html.index("Frits FG")
    assert "inloggen" in html
    r = site.post("/beheer/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/beheer/login"
    assert site.tc.get("/beheer/audit", follow_redirects=False).status_code == 303
    assert ("uitloggen", "ok") in [(e.action, e.outcome) for e in site.audit() if e.subject == "emp-1"]


def test_a_session_cookie_replayed_after_logout_is_logged_out(site: Site) -> None:
    """Issue 19.6: logout ends the session on the server; a copy of the cookie taken before logout (a shared
    computer, a stolen cookie) no longer logs anyone in, in any server process (the session is in the database)."""
    site.login(BEHEERDER)
    assert site.tc.get("/beheer/clients", follow_redirects=False).status_code == 200
    copied = site.tc.cookies["beheer"]
    assert site.post("/beheer/logout", follow_redirects=False).status_code == 303
    site.tc.cookies.clear()
    replayed = site.tc.get("/beheer/clients", headers={"Cookie": f"beheer={copied}"}, follow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["location"] == "/beheer/login"
    # a new login works again, and its session is another one
    site.login(BEHEERDER)
    assert site.tc.get("/beheer/clients", follow_redirects=False).status_code == 200
    assert site.tc.cookies["beheer"] != copied


def test_pages_carry_a_strict_content_security_policy(site: Site) -> None:
    """Issue 21.5: a client secret is shown on these pages; no script, no inline style, nothing from elsewhere."""
    site.login(BEHEERDER)
    for path in ("/beheer/login", "/beheer/", "/beheer/clients", "/beheer/static/admin.css"):
        csp = site.tc.get(path).headers["content-security-policy"]
        assert csp.startswith("default-src 'none'; style-src 'self';") and "unsafe" not in csp, path
        assert "script-src" not in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp


def test_english_is_one_button_away(site: Site) -> None:
    site.login(BEHEERDER)
    r = site.post("/beheer/taal", {"lang": "en", "terug": "/beheer/clients"})
    assert r.url.path == "/beheer/clients" and '<html lang="en">' in r.text and "API clients" in r.text
    r = site.post("/beheer/taal", {"lang": "nl", "terug": "https://elders.example/"})
    assert r.url.path == "/beheer/"  # only paths of the admin pages


def test_login_requests_are_rate_limited_per_address(backend: tuple[str, str], registered: dict[str, Client]) -> None:
    for site in _site(backend[1], registered, portal_rate_limit_per_minute=2):
        assert site.tc.get("/beheer/login/oidc", follow_redirects=False).status_code == 303
        assert site.tc.get("/beheer/auth", follow_redirects=False).status_code == 303
        refused = site.tc.get("/beheer/login/oidc", follow_redirects=False)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_an_issuer_without_a_client_id_is_refused_at_start(backend: tuple[str, str]) -> None:
    settings = make_settings(backend[1], **{**ADMIN_SETTINGS, "admin_oidc_client_id": None})
    with pytest.raises(ValueError, match="ADMIN_OIDC_CLIENT_ID"):
        create_app(settings)


def test_a_role_map_naming_an_unknown_role_is_refused_at_start(backend: tuple[str, str]) -> None:
    settings = make_settings(backend[1], **{**ADMIN_SETTINGS, "admin_role_map": {"g": "admin"}})
    with pytest.raises(RoleMapError, match="not a role"):
        create_app(settings)


def _zip_bomb() -> bytes:
    """An XLSX-shaped zip whose one sheet unpacks to 100 MiB of spaces (about 100 KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for _ in range(100):
                part.write(b" " * (1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data, why",
    [
        ("var.csv", b"UUID;Naam\n" + b'"' + b"x" * 200_000 + b'";a\n', "not a readable CSV file"),
        ("var.xlsx", _zip_bomb(), "unpacks to more than 64 MB"),
        # found by the var_xlsx fuzz target: a workbook whose sheet list is empty (IndexError, a 500)
        (
            "var.xlsx",
            (FUZZ_CRASHES / "var_xlsx/crash-c5f168d82607d39f041256608ee205297b82eaae").read_bytes(),
            "no worksheet",
        ),
    ],
    ids=["csv-field-over-the-csv-limit", "xlsx-zip-bomb", "xlsx-no-worksheet"],
)
def test_var_import_refuses_an_unreadable_file_with_a_reason(site: Site, name: str, data: bytes, why: str) -> None:
    """A file the import cannot read is a 400 page naming why (it was a 500), and nothing is stored."""
    site.login(BEHEERDER)
    r = site.post("/beheer/var/import", files={"bestand": (name, data, "application/octet-stream")})
    assert r.status_code == 400, r.text[:500]
    assert "niet te gebruiken" in r.text
    assert why in text_of(r.text)


def test_var_import_refuses_an_upload_over_the_limit_before_reading_it(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    for site in _site(backend[1], registered, var_import_max_bytes=1024 * 1024):
        site.login(BEHEERDER)
        big = b"UUID;Naam\n" + b"x;y\n" * 400_000
        r = site.post("/beheer/var/import", files={"bestand": ("var.csv", big, "text/csv")})
        assert r.status_code == 413 and "larger than 1 MB" in text_of(r.text)
        refused = [e for e in site.audit() if e.action == "var:importeren" and e.detail == "larger than 1 MB"]
        assert refused and all(e.outcome == "mislukt" for e in refused)


@pytest.mark.parametrize(
    "vertalingen", ["[" * 10_000 + "]" * 10_000, '{"en": {"naam": "\\ud800"}}'], ids=["deep", "surrogate"]
)
def test_var_form_translations_follow_the_api_json_rule(site: Site, vertalingen: str) -> None:
    """The translations field holds JSON: nested 10,000 deep (RecursionError) or with a lone surrogate (the
    database encoder) it was a 500; now the form comes back naming the field."""
    site.login(BEHEERDER)
    activiteit = str(uuid.uuid4())
    r = site.post("/beheer/var/nieuw", _activity(id=activiteit, vertalingen=vertalingen))
    assert r.status_code == 400, r.text[:300]
    assert "vertalingen" in text_of(r.text)
    reader = _bearer(site.clients["alles"])
    assert site.tc.get(f"/api/v1/verwerkingsactiviteit/{activiteit}", headers=reader).status_code == 404


# -- the demo login of `make run` (issue 15 part 5) ---------------------------------------------------------------


@pytest.fixture
def demo_site(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[Site]:
    settings = make_settings(backend[1], admin_demo_login=True, admin_session_secret=SECRET)
    with TestClient(create_app(settings), base_url="https://testserver") as tc:
        yield Site(tc, backend[1], registered)


def _demo_login(site: Site, role: str) -> httpx.Response:
    return site.post("/beheer/login/demo", {"rol": role}, follow_redirects=False)


def test_the_demo_login_offers_both_roles_behind_a_banner(demo_site: Site) -> None:
    """ADMIN_DEMO_LOGIN: without any OpenID provider the pages exist, every page says DEMO, and a demo
    administrator does what an administrator does; the demo FG only what the fg role allows."""
    login = demo_site.tc.get("/beheer/login")
    assert login.status_code == 200 and 'class="demo-banner"' in login.text
    assert "Demo-beheerder" in login.text and "Demo-FG" in login.text
    assert "/beheer/login/oidc" not in login.text  # no real login is offered where none is configured

    r = _demo_login(demo_site, "beheerder")
    assert r.status_code == 303 and r.headers["location"] == "/beheer/"
    clients = demo_site.tc.get("/beheer/clients")
    assert clients.status_code == 200 and 'class="demo-banner"' in clients.text and "Demo-beheerder" in clients.text
    made = demo_site.post("/beheer/clients", {"client_id": f"demo-{uuid.uuid4().hex[:6]}", "scope": "read:normal"})
    assert made.status_code == 200 and 'id="secret"' in made.text
    entry = next(e for e in demo_site.audit() if e.subject == "demo:beheerder" and e.action == "inloggen")
    assert entry.detail == "demo login (ADMIN_DEMO_LOGIN)"

    demo_site.post("/beheer/logout")
    assert _demo_login(demo_site, "fg").status_code == 303
    assert demo_site.tc.get("/beheer/doelbinding").status_code == 200
    assert demo_site.tc.get("/beheer/audit").status_code == 200
    assert demo_site.tc.get("/beheer/clients").status_code == 403

    demo_site.post("/beheer/logout")
    sneaky = _demo_login(demo_site, "superuser")  # only the demo roles, nothing a form can invent
    assert sneaky.status_code == 303 and sneaky.headers["location"] == "/beheer/login?mislukt=1"
    assert demo_site.tc.get("/beheer/clients", follow_redirects=False).status_code == 303
    assert demo_site.tc.post("/beheer/login/demo", data={"rol": "beheerder"}).status_code == 400  # no CSRF token


def test_the_demo_login_is_off_unless_asked_for(site: Site) -> None:
    """A deployment with a real login has no demo login: no form, no banner, and its route answers 404."""
    login = site.tc.get("/beheer/login")
    assert "demo-banner" not in login.text and "/beheer/login/demo" not in login.text
    assert _demo_login(site, "beheerder").status_code == 404


def test_demo_login_with_a_real_issuer_is_refused_at_start(backend: tuple[str, str]) -> None:
    from verwerkingenlog.admin.web import DemoLoginRefused

    settings = make_settings(backend[1], **{**ADMIN_SETTINGS, "admin_demo_login": True})
    with pytest.raises(DemoLoginRefused, match="ADMIN_OIDC_ISSUER"):
        create_app(settings)


def test_make_run_turns_the_admin_demo_login_on_and_says_where(tmp_path: Path) -> None:
    """`verwerkingenlog demo` prints how to reach /beheer/ with the demo login; with a real issuer configured it
    leaves the demo login off and says so."""
    import os
    import subprocess
    import sys

    from tests.conftest import TEST_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMIN_", "PORTAL_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}", PSEUDONYMISATION_KEY=TEST_KEY)
    env.update(CHECKPOINT_KEY_FILE=str(tmp_path / "checkpoint.key"), CHECKPOINT_INTERVAL_SECONDS="0")
    command = [sys.executable, "-c", "from verwerkingenlog.cli import main; main()", "demo", "--no-start"]
    shown = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "http://127.0.0.1:8000/beheer/" in shown.stdout and "Demo-beheerder" in shown.stdout
    assert "Never enable ADMIN_DEMO_LOGIN in production" in shown.stdout

    env["ADMIN_OIDC_ISSUER"] = "https://login.gemeente.example/realms/medewerkers"
    real = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "ADMIN_OIDC_ISSUER is set: the admin pages use that login; the demo login stays off." in real.stdout
