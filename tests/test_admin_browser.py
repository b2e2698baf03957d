"""The admin pages in a real browser (headless Chromium, Debian's /usr/bin/chromium, driven by Playwright), with
the employee logging in through a real OpenID provider (the certified `oidc-provider` package, tests/browser).

An administrator logs in, creates an API client, uses its secret against the Bewerking API, rotates it and sees
both actions in the audit trail; changes the VAR and runs verify; the privacy officer sees only what the `fg` role
allows; an employee without a mapped group is refused; axe-core finds no serious accessibility violation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import _prepare, _run
from tests.helpers import actie, new_bsn
from tests.live import free_port, openid_provider
from tests.test_portal_browser import (
    BIN,
    DESKTOP,
    PHONE,
    Server,
    _env,
    _page,
    _serious_violations,
    _shot,
    no_csp_violation,  # noqa: F401 (the autouse fixture: no Content-Security-Policy violation on any page)
)
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client

ADMIN_SECRET = "admin-browser-session-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def beheer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenID provider for employees and a register whose admin pages log in with it; returns its URL."""
    tmp = tmp_path_factory.mktemp("admin-oidc")
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/beheer/auth"
    server = None
    with openid_provider(tmp / "op.log", "beheer", "op-secret", redirect) as issuer:
        try:
            env = _env(
                tmp,
                ADMIN_OIDC_ISSUER=issuer,
                ADMIN_OIDC_CLIENT_ID="beheer",
                ADMIN_OIDC_CLIENT_SECRET="op-secret",
                ADMIN_OIDC_SCOPE="openid profile groups",
                ADMIN_SESSION_SECRET=ADMIN_SECRET,
            )
            with ThreadPoolExecutor(1) as pool:  # Playwright's sync API runs an event loop in this thread
                pool.submit(_run, _prepare(env["DATABASE_URL"])).result()
            server = Server(
                [str(BIN / "verwerkingenlog"), "serve", "--port", str(port)], env, tmp / "register.log", port
            )
            yield server.url
        finally:
            if server is not None:
                server.stop()


def _login(browser: Browser, base: str, account: str, viewport: dict[str, int] = DESKTOP, **kw: Any) -> Page:
    """Through the provider's own login and consent forms, as an employee's browser does."""
    page = _page(browser, viewport, **kw)
    page.goto(f"{base}/beheer/")
    assert page.url.endswith("/beheer/login")
    page.get_by_role("link", name="Inloggen als medewerker").click()
    page.locator("input[name=login]").fill(account)
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]", has_text="Continue").click()  # consent
    page.wait_for_url(f"{base}/beheer/")
    return page


def _secret(page: Page) -> str:
    return page.locator("#secret").inner_text().strip()


def _post_action(base: str, client: Client) -> int:
    headers = {"Authorization": f"Bearer {tokens.issue(client)}"}
    return httpx.post(f"{base}/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=headers).status_code


def test_administrator_creates_and_rotates_a_client_and_sees_the_audit_entries(browser: Browser, beheer: str) -> None:
    account = f"beheerder-{uuid.uuid4().hex[:6]}"
    page = _login(browser, beheer, account)
    assert f"Ingelogd als {account} (beheerder)" in page.locator("main").inner_text()
    page.get_by_role("link", name="API-clients").first.click()
    page.wait_for_url("**/beheer/clients")
    name = f"browser-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Client-id").fill(name)
    page.get_by_label("create:normal").check()
    page.get_by_label("read:normal", exact=True).check()
    page.get_by_role("button", name="Aanmaken").click()
    page.wait_for_load_state()
    assert "maar één keer getoond" in page.locator("main").inner_text()
    first = Client(name, _secret(page), frozenset({"create:normal", "read:normal"}))
    _shot(page, "admin-secret")
    assert _post_action(beheer, first) == 201

    page.get_by_role("link", name="Terug naar API-clients").click()
    page.get_by_role("button", name=f"Nieuw geheim voor {name}").click()
    page.wait_for_load_state()
    second = Client(name, _secret(page), first.scopes)
    assert second.secret != first.secret
    assert _post_action(beheer, first) == 401  # the old secret's tokens are refused at once
    assert _post_action(beheer, second) == 201

    page.get_by_role("link", name="Auditlog").click()
    page.wait_for_url("**/beheer/audit")
    rows = [r.inner_text() for r in page.locator("tr.audit-entry").all()]
    mine = [r for r in rows if name in r]
    assert len(mine) == 2
    assert "client:nieuw-geheim" in mine[0] and "client:aanmaken" in mine[1]  # newest first
    assert all(account in r and "ok" in r for r in mine)
    assert any("inloggen" in r and account in r for r in rows)
    html = page.content()
    assert first.secret not in html and second.secret not in html
    _shot(page, "admin-audit")
    page.context.close()


def test_administrator_changes_the_var_and_runs_verify_without_javascript(browser: Browser, beheer: str) -> None:
    page = _login(browser, beheer, f"beheerder-{uuid.uuid4().hex[:6]}", PHONE, java_script_enabled=False)
    activiteit = str(uuid.uuid4())
    page.goto(f"{beheer}/beheer/var/nieuw")
    page.get_by_label("Id (UUID; leeg laten voor een nieuwe)").fill(activiteit)
    page.get_by_label("naam *").fill("Leerlingenvervoer")
    page.get_by_label("verantwoordelijkeOrganisatie *").fill("00000001001172773000")
    page.get_by_label("grondslag *").fill("Publieke taak")
    page.get_by_label("doel *").fill("Vervoer van leerlingen naar school")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()
    assert f"{activiteit}, versie 1" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # a phone: no sideways scroll
    page.get_by_role("button", name="Intrekken: Leerlingenvervoer").click()
    page.wait_for_load_state()
    assert f"Verwerkingsactiviteit {activiteit} is ingetrokken." in page.locator("main").inner_text()

    page.goto(f"{beheer}/beheer/integriteit")
    assert "Verify" in page.locator("main").inner_text()
    page.get_by_role("button", name="Verify nu uitvoeren").click()
    page.wait_for_load_state()
    assert "In orde" in page.locator("#verify-result").inner_text()
    page.context.close()


def test_privacy_officer_reads_but_does_not_manage(browser: Browser, beheer: str) -> None:
    page = _login(browser, beheer, f"fg-{uuid.uuid4().hex[:6]}")
    nav = page.get_by_role("navigation", name="Beheeronderdelen")
    links = ["Overzicht", "Doelbinding", "Controle", "Integriteit", "Auditlog"]
    assert nav.get_by_role("link").all_inner_texts() == links
    response = page.goto(f"{beheer}/beheer/clients")
    assert response is not None and response.status == 403
    page.goto(f"{beheer}/beheer/integriteit")
    assert page.get_by_role("button", name="Verify nu uitvoeren").count() == 0
    # The FG's tools (docs/fg.md): a person search and the signals of a week, each an accessible result page.
    page.goto(f"{beheer}/beheer/controle")
    page.get_by_label("BSN").fill(f"9{uuid.uuid4().int % 10**9:09d}")
    page.get_by_role("button", name="Zoek persoon").click()
    page.wait_for_load_state()
    assert page.get_by_text("Geen logregels voor deze persoon.").count() == 1
    assert _serious_violations(page) == []
    page.locator("#s-beginDatum").fill("2026-11-02")
    page.locator("#s-eindDatum").fill("2026-11-09")
    page.get_by_role("button", name="Toon signalen").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Signalen").count() == 1
    assert _serious_violations(page) == []
    page.context.close()


def test_an_employee_without_a_mapped_group_is_refused(browser: Browser, beheer: str) -> None:
    page = _page(browser, DESKTOP)
    page.goto(f"{beheer}/beheer/login")
    page.get_by_role("link", name="Inloggen als medewerker").click()
    page.locator("input[name=login]").fill(f"iemand-{uuid.uuid4().hex[:6]}")
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    with page.expect_response(re.compile(r".*/beheer/$")) as info:
        page.locator("button[type=submit]", has_text="Continue").click()
    response = info.value
    assert response.status == 403
    assert "geen toegang" in page.locator("main").inner_text()
    page.context.close()


def test_no_serious_accessibility_violations(browser: Browser, beheer: str) -> None:
    page = _page(browser, DESKTOP)
    page.goto(f"{beheer}/beheer/login")
    found = {"login": _serious_violations(page)}
    page.context.close()
    page = _login(browser, beheer, f"beheerder-{uuid.uuid4().hex[:6]}")
    for path in ("", "clients", "var", "var/nieuw", "var/import", "doelbinding", "controle", "integriteit", "audit"):
        page.goto(f"{beheer}/beheer/{path}")
        found[path or "home"] = _serious_violations(page)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Audit trail"
    found["audit-en"] = _serious_violations(page)
    assert found == {key: [] for key in found}
    page.context.close()
