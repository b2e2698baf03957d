"""What `make run` shows a newcomer, in a real browser (headless Chromium, Debian's /usr/bin/chromium, driven by
Playwright) with the network cut off: every request that does not go to the register on localhost is aborted, as on
a municipality's network without internet.

- The interactive API documentation renders the operations of each document, under its strict
  Content-Security-Policy (no inline script, nothing from another origin).
- The admin and FG pages are there, with a clearly marked demo login (issue 15 part 5)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.live import free_port
from tests.test_portal_browser import BIN, DESKTOP, Server, _env, _page, _serious_violations


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("docs")
    port = free_port()
    server = Server([str(BIN / "verwerkingenlog"), "demo", "--port", str(port)], _env(tmp), tmp / "demo.log", port)
    try:
        yield server.url
    finally:
        server.stop()


def _offline(page: Page) -> list[str]:
    """Abort every request that leaves the machine; returns the list of those it aborted."""
    outside: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", offline)
    return outside


def test_docs_page_renders_every_document_offline_under_a_strict_csp(browser: Browser, register: str) -> None:
    page = _page(browser, DESKTOP)
    outside = _offline(page)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    response = page.goto(f"{register}/api/v1/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "script-src 'self';" in response.headers["content-security-policy"]  # no 'unsafe-inline' script
    page.locator(".opblock").first.wait_for()
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/verwerkingsacties" in operations, operations

    # The top bar offers the other documents; the Inzage API's operations render too.
    page.locator(".topbar select").select_option(label="inzage-api")
    page.get_by_text("/verwerkte-objecten", exact=True).first.wait_for()
    page.locator(".topbar select").select_option(label="bewerking-api (standard, verbatim)")
    page.locator(".opblock-summary-path", has_text="/verwerkingsacties").first.wait_for()

    assert outside == [], f"the page asked another origin: {outside}"
    assert problems == [], "\n".join(problems)  # a CSP violation is reported as a console error
    page.context.close()


def test_make_run_shows_the_admin_and_fg_pages_with_a_demo_login(browser: Browser, register: str) -> None:
    page = _page(browser, DESKTOP)
    outside = _offline(page)
    page.goto(f"{register}/beheer/")
    assert page.url.endswith("/beheer/login")
    assert page.locator(".demo-banner").is_visible()
    assert _serious_violations(page) == []  # axe-core, as on every admin page (tests/test_admin_browser.py)
    page.get_by_label("Kies een demorol").select_option(label="Demo-beheerder")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{register}/beheer/")
    page.get_by_role("navigation").get_by_role("link", name="API-clients").click()
    assert "demo-alles" in page.locator("main").inner_text()  # the demo clients of `make run`
    assert page.locator(".demo-banner").is_visible()

    page.get_by_role("button", name="Uitloggen").click()
    page.get_by_label("Kies een demorol").select_option(label="Demo-FG (privacy officer)")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{register}/beheer/")
    navigation = page.get_by_role("navigation").inner_text()
    assert "Doelbinding" in navigation and "Auditlog" in navigation and "API-clients" not in navigation
    page.get_by_role("navigation").get_by_role("link", name="Auditlog").click()
    assert "demo login (ADMIN_DEMO_LOGIN)" in page.locator("main").inner_text()  # demo logins are audited too
    assert outside == []
    page.context.close()
