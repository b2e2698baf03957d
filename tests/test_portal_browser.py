"""The portal in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

A citizen logs in (the demo login of `make run`, and a real OpenID provider on localhost), sees the
timeline, filters it, opens a detail, downloads the PDF and reads its text, switches language; axe-core
checks every page for serious accessibility violations; the pages fit a phone's screen."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from pypdf import PdfReader

from tests.conftest import SERVER_LOGS, TEST_KEY, _prepare, _run
from tests.helpers import actie, new_bsn
from tests.live import BROWSER_DIR, free_port, openid_provider, wait_until
from tests.portal_support import SECRET
from verwerkingenlog.cli.demo import DEMO_BSN, DEMO_CITIZENS
from verwerkingenlog.services import tokens

AXE = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
BIN = Path(sys.executable).parent
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS")  # a directory: save the pages as PNG to look at them
# Every Content-Security-Policy violation any page of a test caused (issue 21.5): the browser's console reports
# (Chromium logs each refusal as an error) and the pages' securitypolicyviolation events, which REPORT_CSP turns
# into console errors too. `no_csp_violation` fails a test that caused one.
CSP_VIOLATIONS: list[str] = []
REPORT_CSP = """document.addEventListener('securitypolicyviolation', e =>
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}`));"""


def _record_csp(message: ConsoleMessage) -> None:
    if message.type == "error" and ("Content Security Policy" in message.text or "CSP violation" in message.text):
        CSP_VIOLATIONS.append(message.text)


@pytest.fixture(autouse=True)
def no_csp_violation() -> Iterator[None]:
    CSP_VIOLATIONS.clear()
    yield
    assert not CSP_VIOLATIONS, CSP_VIOLATIONS


class Server:
    """A register process serving the portal, stopped at the end."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        if "serve" in command:  # (the demo prints tokens and demo BSNs for the user, by design)
            SERVER_LOGS.append(log)  # scanned for BSNs and tokens at the end of the run (tests/conftest.py)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self.ready, 30, f"the portal at {self.url} ({log})")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/portaal/login", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'register.db'}",
        PSEUDONYMISATION_KEY=TEST_KEY,
        CHECKPOINT_KEY_FILE=str(tmp / "checkpoint.key"),
        CHECKPOINT_INTERVAL_SECONDS="0",
        PORTAL_SESSION_SECRET=SECRET,
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`: the demo command, with its demo login, example VAR and demo actions."""
    tmp = tmp_path_factory.mktemp("portal-demo")
    port = free_port()
    server = Server([str(BIN / "verwerkingenlog"), "demo", "--port", str(port)], _env(tmp), tmp / "demo.log", port)
    try:
        yield server.url
    finally:
        server.stop()


def _page(browser: Browser, viewport: dict[str, int], **kw: Any) -> Page:
    context = browser.new_context(viewport=viewport, accept_downloads=True, **kw)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    page.on("console", _record_csp)
    return page


def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _demo_login(page: Page, base: str, bsn: str = DEMO_BSN) -> None:
    page.goto(f"{base}/portaal/")
    assert page.url.endswith("/portaal/login")
    page.get_by_label("Kies een demoburger").select_option(bsn)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}/portaal/")


def _serious_violations(page: Page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the pages' policy refuses every script
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_pages_policy_refuses_inline_script_and_style_and_the_test_sees_it(browser: Browser, demo: str) -> None:
    """The violation check is not vacuous: an injected inline style and script are refused and reported."""
    page = _page(browser, DESKTOP)
    page.goto(f"{demo}/portaal/login")
    page.evaluate(
        """() => { const s = document.createElement('style'); s.textContent = 'body { color: red }';
        document.head.append(s); const j = document.createElement('script'); j.textContent = 'window.ran = 1';
        document.head.append(j); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran") is None
    assert any("style-src" in v for v in CSP_VIOLATIONS) and any("script-src" in v for v in CSP_VIOLATIONS)
    CSP_VIOLATIONS.clear()
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_citizen_sees_timeline_filters_opens_detail_and_downloads_the_pdf(
    browser: Browser, demo: str, viewport: dict[str, int]
) -> None:
    page = _page(browser, viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    _demo_login(page, demo)
    body = page.locator("main")
    assert page.locator(".demo-banner").is_visible()
    assert "Aanvraag parkeervergunning" in body.inner_text()
    assert "Beoordelen en verlenen van een parkeervergunning" in body.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    _shot(page, f"timeline-{name}")

    page.get_by_label("Afgelopen maand").check()
    page.get_by_role("button", name="Toon").click()
    page.wait_for_url("**/portaal/?periode=maand*")
    assert page.get_by_label("Afgelopen maand").is_checked()
    assert "Aanvraag parkeervergunning" in body.inner_text()  # logged today by the demo

    page.get_by_role("link", name="Aanvraag parkeervergunning").first.click()
    page.wait_for_url("**/portaal/verwerking/**")
    detail = body.inner_text()
    assert "Uw gegevens zijn verwerkt voor" in detail and "Grondslag" in detail and "Bewaartermijn" in detail
    _shot(page, f"detail-{name}")
    page.get_by_role("link", name="Terug naar het overzicht").click()

    with page.expect_download() as info:
        page.get_by_role("link", name="Overzicht als PDF").click()
    path = info.value.path()
    text = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(Path(path).read_bytes())).pages)
    assert "Overzicht verwerkingen van uw persoonsgegevens" in text
    assert "Aanvraag parkeervergunning" in text and f"BSN: {DEMO_BSN}" in text
    assert re.search(r"\d{1,2} [a-z]+ \d{4}, \d\d:\d\d: Opslaan persoonsgegevens", text)  # issue 18.5: human dates
    page.context.close()


def test_language_switch(browser: Browser, demo: str) -> None:
    page = _page(browser, DESKTOP)
    _demo_login(page, demo)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "My processings"
    assert "Residential parking permit application" in page.locator("main").inner_text()
    _shot(page, "timeline-en")
    page.get_by_role("button", name="Nederlands").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nl"
    page.context.close()


def test_no_serious_accessibility_violations(browser: Browser, demo: str) -> None:
    page = _page(browser, DESKTOP)
    page.goto(f"{demo}/portaal/login")
    _shot(page, "login")
    found = {"login": _serious_violations(page)}
    _demo_login(page, demo)
    found["timeline"] = _serious_violations(page)
    page.get_by_role("link", name="Aanvraag parkeervergunning").first.click()
    page.wait_for_url("**/portaal/verwerking/**")
    found["detail"] = _serious_violations(page)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    found["detail-en"] = _serious_violations(page)
    assert found == {"login": [], "timeline": [], "detail": [], "detail-en": []}
    page.context.close()


def test_the_core_pages_work_without_javascript(browser: Browser, demo: str) -> None:
    page = _page(browser, PHONE, java_script_enabled=False)
    _demo_login(page, demo)
    page.get_by_label("Alles").check()
    page.get_by_role("button", name="Toon").click()
    page.wait_for_url("**/portaal/?periode=alles*")
    page.get_by_role("link", name="Aanvraag parkeervergunning").first.click()
    page.wait_for_url("**/portaal/verwerking/**")
    assert "Uw gegevens zijn verwerkt voor" in page.locator("main").inner_text()
    page.context.close()


def _visits(page: Page) -> int:
    """The number of visits the page's one line of own look-ups states."""
    line = page.locator(".own-lookups").inner_text()
    if line == "U bekijkt dit overzicht nu voor het eerst in deze periode.":
        return 1
    when = r"\d{1,2} [a-z]+ \d{4}, \d\d:\d\d"
    found = re.fullmatch(
        rf"U heeft dit overzicht (\d+) keer bekeken, deze keer meegeteld; de vorige keer op {when}\.", line
    )
    assert found, line
    return int(found.group(1))


def test_summary_on_top_and_own_lookups_folded_into_one_line(browser: Browser, demo: str) -> None:
    """Issue 18.4: the summary (who, how often, why, with its SVG chart) comes before the timeline; the citizen's
    own visits are one line that counts them, not entries of the timeline; axe-core clean, no CSP violation."""
    page = _page(browser, DESKTOP)
    _demo_login(page, demo)
    before = _visits(page)
    page.context.close()
    page = _page(browser, PHONE)  # a new visit (a new login session), on a phone
    _demo_login(page, demo)
    assert _visits(page) == before + 1
    summary = page.get_by_role("region", name="Wie heeft uw gegevens verwerkt?")
    assert summary.is_visible()
    chart = summary.get_by_role("img", name="Aantal verwerkingen per organisatie")
    assert chart.is_visible() and chart.bounding_box()["width"] <= PHONE["width"]  # type: ignore[index]
    said = summary.inner_text()
    # The demo's two processings: the parking permit (the example VAR's College van B&W, and its purpose), and one
    # whose activity the VAR does not know (the register's name, and the processing's own name as its purpose).
    assert "College van B&W: 1 verwerking. Doelen: Beoordelen en verlenen van een parkeervergunning" in said
    assert "Melding openbare ruimte" in said
    timeline = page.locator("ol.timeline")
    assert page.evaluate(
        "document.querySelector('.summary').compareDocumentPosition(document.querySelector('ol.timeline')) & 4"
    )  # the summary precedes the timeline
    assert "Aanvraag parkeervergunning" in timeline.inner_text()
    assert "Inzage verwerkingenlog" not in timeline.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "summary-phone")
    assert _serious_violations(page) == []
    page.context.close()


def test_a_reference_from_a_letter_opens_the_processing_only_for_its_own_citizen(browser: Browser, demo: str) -> None:
    """Issue 18.4: the reference on the detail page (as a letter would print it) typed into the form opens that
    processing; the other demo citizen typing it is told it was not found."""
    page = _page(browser, DESKTOP)
    _demo_login(page, demo)
    page.get_by_role("link", name="Aanvraag parkeervergunning").first.click()
    page.wait_for_url("**/portaal/verwerking/**")
    detail_url = page.url
    reference = page.locator("code.kenmerk").inner_text()
    page.get_by_role("link", name="Terug naar het overzicht").click()
    page.get_by_label("Kenmerk van de verwerking").fill(reference.replace("-", "").upper())  # as a trace id
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_url("**/portaal/verwerking/**")
    assert page.url.split("?")[0] == detail_url.split("?")[0]
    assert "Uw gegevens zijn verwerkt voor" in page.locator("main").inner_text()
    assert _serious_violations(page) == []
    page.context.close()

    other = _page(browser, DESKTOP)
    _demo_login(other, demo, DEMO_CITIZENS[1])
    other.get_by_label("Kenmerk van de verwerking").fill(reference)
    other.get_by_role("button", name="Zoeken").click()
    other.wait_for_load_state()
    assert "Deze verwerking is niet gevonden bij uw gegevens." in other.locator("main").inner_text()
    assert "Aanvraag parkeervergunning" not in other.locator("main").inner_text()
    assert _serious_violations(other) == []
    other.context.close()


@pytest.fixture(scope="module")
def openid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real OpenID provider (the certified `oidc-provider` package) and a portal that logs in with it;
    returns (portal URL, a BSN with one logged action)."""
    tmp = tmp_path_factory.mktemp("portal-oidc")
    portal_port = free_port()
    redirect = f"http://127.0.0.1:{portal_port}/portaal/auth"
    server = None
    with openid_provider(tmp / "op.log", "portaal", "op-secret", redirect) as issuer:
        try:
            env = _env(
                tmp,
                PORTAL_OIDC_ISSUER=issuer,
                PORTAL_OIDC_CLIENT_ID="portaal",
                PORTAL_OIDC_CLIENT_SECRET="op-secret",
                PORTAL_OIN="00000001001172773000",
                PORTAL_OIDC_REPRESENTEE_CLAIM="aanvrager.bsn",
            )
            with ThreadPoolExecutor(1) as pool:  # Playwright's sync API runs an event loop in this thread
                clients = pool.submit(_run, _prepare(env["DATABASE_URL"])).result()
            server = Server(
                [str(BIN / "verwerkingenlog"), "serve", "--port", str(portal_port)],
                env,
                tmp / "portal.log",
                portal_port,
            )
            bsn = new_bsn()
            now = datetime.now(UTC).replace(microsecond=0).isoformat()
            body = actie(bsn, verwerkingNaam="Inschrijving via DigiD", tijdstip=now)
            r = httpx.post(
                f"{server.url}/api/v1/verwerkingsacties",
                json=body,
                headers={"Authorization": f"Bearer {tokens.issue(clients['alles'])}"},
            )
            assert r.status_code == 201, r.text
            yield server.url, bsn
        finally:
            if server is not None:
                server.stop()


def test_login_through_a_real_openid_provider(browser: Browser, openid: tuple[str, str]) -> None:
    base, bsn = openid
    page = _page(browser, DESKTOP)
    page.goto(f"{base}/portaal/login")
    assert page.locator(".demo-banner").count() == 0  # a real login: no demo anywhere
    page.get_by_role("link", name="Inloggen met DigiD").click()
    page.locator("input[name=login]").fill(bsn)  # the provider's login form: the account is the BSN
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]", has_text="Continue").click()  # consent
    page.wait_for_url(f"{base}/portaal/")
    assert "Inschrijving via DigiD" in page.locator("main").inner_text()
    assert bsn not in page.url
    page.context.close()


def _machtiging_shown(page: Page) -> None:
    banner = page.locator(".machtiging-banner")
    assert banner.is_visible()
    assert "U bekijkt de gegevens van iemand die u vertegenwoordigt" in banner.inner_text()


def test_a_gemachtigde_sees_the_person_represented_clearly_marked(browser: Browser, demo: str) -> None:
    """Issue 18.4, machtigen in the demo login: the second demo citizen on behalf of the first sees the first's
    processings, with the banner on the timeline and the detail page; axe-core clean, no CSP violation."""
    page = _page(browser, PHONE)
    page.goto(f"{demo}/portaal/login")
    page.get_by_label("Kies een demoburger").select_option(f"{DEMO_CITIZENS[1]}:{DEMO_BSN}")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{demo}/portaal/")
    _machtiging_shown(page)
    assert "Aanvraag parkeervergunning" in page.locator("ol.timeline").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "machtiging-phone")
    assert _serious_violations(page) == []
    page.get_by_role("link", name="Aanvraag parkeervergunning").first.click()
    page.wait_for_url("**/portaal/verwerking/**")
    _machtiging_shown(page)
    assert _serious_violations(page) == []
    page.context.close()


def test_a_machtiging_through_a_real_openid_provider(browser: Browser, openid: tuple[str, str]) -> None:
    """DigiD Machtigen through the broker: the person represented comes in the claim PORTAL_OIDC_REPRESENTEE_CLAIM
    (`aanvrager.bsn`); the gemachtigde sees that person's processings, marked, and none of their own."""
    base, bsn = openid
    page = _page(browser, DESKTOP)
    page.goto(f"{base}/portaal/login")
    page.get_by_role("link", name="Inloggen met DigiD").click()
    page.locator("input[name=login]").fill(f"{new_bsn()}-namens-{bsn}")
    page.locator("input[name=password]").fill("any")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]", has_text="Continue").click()  # consent
    page.wait_for_url(f"{base}/portaal/")
    _machtiging_shown(page)
    assert "Inschrijving via DigiD" in page.locator("main").inner_text()
    page.context.close()
