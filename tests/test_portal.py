"""'Mijn verwerkingen', the citizen portal, over HTTP as a browser without JavaScript uses it: the timeline of
one's own processings explained by the VAR, details, period filters, exports, language, and the security
rules (own data only, CSRF, cookie flags, rate limits, no BSN in URLs or logs). SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import make_settings
from tests.helpers import Api, actie, new_bsn
from tests.portal_support import PORTAL_OIN, csrf_of, group_links, login, portal_settings, text_of
from tests.var_support import activiteit, create, new_oin
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client
from verwerkingenlog.settings import DEFAULT_SELF_LOG_ACTIVITY, Settings


class Citizens:
    """The register with the portal on, the test clients to log actions with, and two demo citizens."""

    def __init__(self, tc: TestClient, api: Api, a: str, b: str) -> None:
        self.tc, self.api, self.a, self.b = tc, api, a, b


@contextlib.contextmanager
def _app(url: str, registered: dict[str, Client], **overrides: Any) -> Iterator[tuple[TestClient, Api]]:
    settings = make_settings(url, **portal_settings(**overrides))
    with TestClient(create_app(settings), base_url="https://testserver") as tc:
        yield tc, Api(tc, {n: tokens.issue(c) for n, c in registered.items()}, "", registered)


@pytest.fixture
def citizens(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[Citizens]:
    a, b = new_bsn(), new_bsn()
    with _app(backend[1], registered, portal_demo_citizens=f"{a},{b}") as (tc, api):
        yield Citizens(tc, api, a, b)


def recent(*bsns: str, **overrides: Any) -> dict[str, Any]:
    """An action about the given persons, an hour ago (inside the default period, the last year)."""
    tijdstip = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    return actie(*bsns, **{"tijdstip": tijdstip, **overrides})


def _parkeren(api: Api) -> dict[str, Any]:
    """An activity in the VAR with Dutch and English plain-language texts."""
    return create(api, activiteit(new_oin()))


def test_timeline_explains_own_processings_in_plain_language(citizens: Citizens) -> None:
    api, a = citizens.api, citizens.a
    var = _parkeren(api)
    api.create(
        recent(
            a,
            verwerkingNaam="Aanvraag parkeervergunning",
            actieNaam="Opslaan aanvraag",
            verwerkingsactiviteitId=var["id"],
            afnemerId="00000001821002193000",
            soortAfnemerId="OIN",
        )
    )
    page = text_of(login(citizens.tc, a).text)
    assert "Aanvraag parkeervergunning" in page
    assert "Opslaan aanvraag" in page
    assert "Beoordelen en verlenen van een parkeervergunning" in page  # doel, from the VAR
    assert "College van B&W" in page
    assert "Nationaliteit" in page  # verwerkteSoortenGegevens
    details = [text_of(citizens.tc.get(lk).text) for lk in group_links(citizens.tc.get("/portaal/").text)]
    (detail,) = [d for d in details if "Opslaan aanvraag" in d]
    assert "Uw gegevens zijn verwerkt voor ‘Aanvraag parkeervergunning’" in detail  # the VAR's running text
    assert "Publieke taak — Wegenverkeerswet 1994 art. 18" in detail  # legal basis
    assert "2 jaar na afloop van de vergunning" in detail  # retention
    assert "00000001821002193000" in detail  # delivered to another party (afnemer)


def test_confidential_processings_are_absent_and_lifted_ones_appear(citizens: Citizens) -> None:
    api, a = citizens.api, citizens.a
    api.create(recent(a, verwerkingNaam="Geheim onderzoek", vertrouwelijkheid="vertrouwelijk"))
    lifted = api.create(recent(a, verwerkingNaam="Eerder geheim", vertrouwelijkheid="vertrouwelijk"))
    assert api.patch(lifted["verwerkingId"], {"vertrouwelijkheid": "opgeheven"}).status_code == 204
    page = text_of(login(citizens.tc, a).text)
    assert "Geheim onderzoek" not in page
    assert "Eerder geheim" in page and "Vertrouwelijkheid opgeheven" in page


def test_one_citizen_never_reaches_another_citizens_entries(citizens: Citizens) -> None:
    tc, api, a, b = citizens.tc, citizens.api, citizens.a, citizens.b
    api.create(recent(a, verwerkingNaam="Alleen van A"))
    api.create(recent(b, verwerkingNaam="Alleen van B"))
    login(tc, b)
    b_links = group_links(tc.get("/portaal/?periode=alles").text)
    assert b_links

    login(tc, a)
    everything = [
        tc.get("/portaal/?periode=alles").text,
        tc.get(f"/portaal/?periode=alles&objectId={b}&bsn={b}&burger={b}").text,
        tc.get("/portaal/export.json?periode=alles").text,
        tc.get("/portaal/export.csv?periode=alles").text,
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(tc.get("/portaal/export.pdf").content)).pages),
    ]
    for text in everything:
        assert "Alleen van A" in text
        assert "Alleen van B" not in text and b not in text
    for link in b_links:  # B's detail pages, by URL, while logged in as A
        r = tc.get(link + "?periode=alles")
        assert r.status_code == 404 and "Alleen van B" not in r.text


def test_pages_and_exports_need_a_login(citizens: Citizens) -> None:
    for path in (
        "/portaal/",
        "/portaal/verwerking/0123456789abcdef0123",
        "/portaal/export.pdf",
        "/portaal/export.json",
    ):
        r = citizens.tc.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/portaal/login", path


def test_logout_ends_the_session(citizens: Citizens) -> None:
    page = login(citizens.tc, citizens.a)
    r = citizens.tc.post("/portaal/logout", data={"csrf": csrf_of(page.text)})
    assert r.url.path == "/portaal/login"
    assert citizens.tc.get("/portaal/", follow_redirects=False).status_code == 303


def test_a_session_cookie_replayed_after_logout_is_logged_out(citizens: Citizens) -> None:
    """Issue 19.6: logout ends the session on the server, so a copy of the cookie taken before logout (a shared
    computer, a stolen cookie) shows nothing afterwards; the session is in the database, for every server process."""
    tc = citizens.tc
    page = login(tc, citizens.a)
    copied = tc.cookies["mijnverwerkingen"]
    assert tc.get("/portaal/export.json?periode=alles", follow_redirects=False).status_code == 200
    tc.post("/portaal/logout", data={"csrf": csrf_of(page.text)})
    tc.cookies.clear()
    for path in ("/portaal/", "/portaal/export.json?periode=alles"):
        replayed = tc.get(path, headers={"Cookie": f"mijnverwerkingen={copied}"}, follow_redirects=False)
        assert replayed.status_code == 303 and replayed.headers["location"] == "/portaal/login", path


def test_pages_carry_a_strict_content_security_policy(citizens: Citizens) -> None:
    """Issue 21.5: no script, no inline style, nothing from elsewhere, forms only to the portal itself; the browser
    tests (tests/test_portal_browser.py) check that the pages cause no violation of it."""
    tc = citizens.tc
    pages = [tc.get("/portaal/login"), login(tc, citizens.a), tc.get("/portaal/static/portal.css")]
    pages.append(tc.get("/portaal/verwerking/0000", follow_redirects=False))
    for r in pages:
        policy = {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split("; ")}
        assert policy["default-src"] == ["'none'"] and policy["style-src"] == ["'self'"], r.url
        assert policy["form-action"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
        assert "script-src" not in policy and "unsafe" not in r.headers["content-security-policy"]


def test_forms_without_the_csrf_token_are_refused(citizens: Citizens) -> None:
    tc = citizens.tc
    tc.get("/portaal/login")
    assert tc.post("/portaal/login/demo", data={"burger": citizens.a}).status_code == 400
    assert tc.post("/portaal/login/demo", data={"burger": citizens.a, "csrf": "forged"}).status_code == 400
    login(tc, citizens.a)
    assert tc.post("/portaal/logout", data={"csrf": "forged"}).status_code == 400
    assert tc.get("/portaal/", follow_redirects=False).status_code == 200  # still logged in


def test_demo_login_offers_only_the_configured_demo_citizens(citizens: Citizens) -> None:
    tc = citizens.tc
    page = tc.get("/portaal/login")
    other = new_bsn()
    r = tc.post("/portaal/login/demo", data={"csrf": csrf_of(page.text), "burger": other})
    assert r.url.path == "/portaal/login" and "Inloggen is niet gelukt" in r.text


def test_session_cookie_is_httponly_secure_samesite_and_hides_the_bsn(citizens: Citizens) -> None:
    page = citizens.tc.get("/portaal/login")
    r = citizens.tc.post(
        "/portaal/login/demo", data={"csrf": csrf_of(page.text), "burger": citizens.a}, follow_redirects=False
    )
    cookie = r.headers["set-cookie"]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite"} <= flags and "samesite=lax" in cookie.lower()
    payload = cookie.split(";")[0].split("=", 1)[1].split(".")[0]
    decoded = base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert citizens.a not in decoded and citizens.a not in cookie


def test_no_bsn_in_urls_or_server_logs(citizens: Citizens, caplog: pytest.LogCaptureFixture) -> None:
    tc, a = citizens.tc, citizens.a
    citizens.api.create(recent(a, verwerkingNaam="Parkeren"))
    caplog.set_level(logging.DEBUG)
    pages = [login(tc, a)]
    pages += [tc.get(link) for link in group_links(pages[0].text)]
    pages.append(tc.get("/portaal/export.csv"))
    for r in pages:
        assert a not in str(r.url)
        for url in r.history:
            assert a not in str(url.url)
    assert all(a not in link for link in group_links(pages[0].text))
    assert all(a not in record.getMessage() for record in caplog.records)


def test_period_filters(citizens: Citizens) -> None:
    api, a = citizens.api, citizens.a
    old = (datetime.now(UTC) - timedelta(days=400)).replace(microsecond=0).isoformat()
    earlier = (datetime.now(UTC) - timedelta(days=60)).replace(microsecond=0).isoformat()
    api.create(actie(a, verwerkingNaam="Lang geleden", tijdstip=old))
    api.create(actie(a, verwerkingNaam="Twee maanden terug", tijdstip=earlier))
    login(citizens.tc, a)

    def shown(query: str) -> str:
        return text_of(citizens.tc.get(f"/portaal/?{query}").text)

    year, month, everything = shown("periode=jaar"), shown("periode=maand"), shown("periode=alles")
    assert "Twee maanden terug" in year and "Lang geleden" not in year
    assert "Twee maanden terug" not in month and "Lang geleden" not in month
    assert "Twee maanden terug" in everything and "Lang geleden" in everything
    day = old[:10]
    own = shown(f"periode=eigen&van={day}&tot={day}")
    assert "Lang geleden" in own and "Twee maanden terug" not in own


@pytest.mark.parametrize(
    "query", ["periode=eigen&van=2020-01-01&tot=9999-12-31", "periode=eigen&van=9999-12-31&tot=9999-12-31"]
)
def test_an_own_period_at_the_end_of_the_calendar_is_clamped_not_a_500(citizens: Citizens, query: str) -> None:
    """Issue 21.2: the day after 9999-12-31 does not exist; login, timeline and exports answer, with the period ending
    on the last day that has a next day."""
    api, a, tc = citizens.api, citizens.a, citizens.tc
    api.create(actie(a, verwerkingNaam="Vorig jaar", tijdstip="2024-04-05T14:35:42+01:00"))
    assert tc.get(f"/portaal/login?{query}").status_code == 200
    login(tc, a)
    page = tc.get(f"/portaal/?{query}")
    assert page.status_code == 200, page.text
    assert 'value="9999-12-30"' in page.text  # the clamped end, shown in the form
    assert ("Vorig jaar" in text_of(page.text)) == query.startswith("periode=eigen&van=2020")
    for fmt in ("json", "csv", "pdf"):
        assert tc.get(f"/portaal/export.{fmt}?{query}").status_code == 200, fmt
    assert json.loads(tc.get(f"/portaal/export.json?{query}").content)["periode"]["eindDatum"] == "9999-12-31"


def test_exports_carry_the_same_entries_as_the_pages(citizens: Citizens) -> None:
    api, a, tc = citizens.api, citizens.a, citizens.tc
    var = _parkeren(api)
    api.create(recent(a, verwerkingNaam="Aanvraag parkeervergunning", verwerkingsactiviteitId=var["id"]))
    login(tc, a)

    pdf = tc.get("/portaal/export.pdf?periode=jaar")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Overzicht verwerkingen van uw persoonsgegevens" in text
    assert "artikel 15 AVG" in text
    assert "Aanvraag parkeervergunning" in text
    assert "Beoordelen en verlenen van een parkeervergunning" in text
    assert f"BSN: {a}" in text

    data = json.loads(tc.get("/portaal/export.json?periode=jaar").content)
    (mine,) = [v for v in data["verwerkingen"] if v["verwerkingNaam"] == "Aanvraag parkeervergunning"]
    assert mine["uitleg"]["nl"]["doel"] == "Beoordelen en verlenen van een parkeervergunning"
    assert mine["register"] == Settings().portal_register_name and data["onbereikbareRegisters"] == []

    rows = list(csv.DictReader(io.StringIO(tc.get("/portaal/export.csv").content.decode("utf-8-sig"))))
    (row,) = [r for r in rows if r["verwerkingNaam"] == "Aanvraag parkeervergunning"]
    assert row["doel"] == "Beoordelen en verlenen van een parkeervergunning"
    assert row["grondslag"] == "Publieke taak"


def test_language_switches_to_english_and_back(citizens: Citizens) -> None:
    tc = citizens.tc
    var = _parkeren(citizens.api)
    citizens.api.create(recent(citizens.a, verwerkingsactiviteitId=var["id"]))
    page = login(tc, citizens.a)
    assert '<html lang="nl">' in page.text
    r = tc.post("/portaal/taal", data={"csrf": csrf_of(page.text), "lang": "en", "terug": "/portaal/?periode=alles"})
    assert r.url.path == "/portaal/" and r.url.query == b"periode=alles"
    assert '<html lang="en">' in r.text
    assert "Parking permit application" in r.text and "Assessing and granting a parking permit" in r.text
    r = tc.post("/portaal/taal", data={"csrf": csrf_of(r.text), "lang": "nl", "terug": "https://evil.example/"})
    assert r.url.path == "/portaal/" and '<html lang="nl">' in r.text  # never redirected off the portal


def test_each_lookup_is_logged_with_the_inzage_headers(citizens: Citizens) -> None:
    a = citizens.a
    login(citizens.tc, a)
    citizens.tc.get("/portaal/?periode=maand")
    # The citizen sees those lookups as one line (one visit: the login session), not in the timeline.
    page = text_of(citizens.tc.get("/portaal/").text)
    assert "U bekijkt dit overzicht nu voor het eerst in deze periode." in page
    assert "Raadplegen verwerkingenlog" not in page
    r = citizens.api.list(a, activity=DEFAULT_SELF_LOG_ACTIVITY)
    logged = r.json()["results"]
    assert len(logged) >= 2
    for entry in logged:
        assert entry["afnemerId"] == PORTAL_OIN and entry["soortAfnemerId"] == "OIN"
        assert entry["verwerkingsactiviteitIdAfnemer"] == Settings().portal_verwerkingsactiviteit_id
        assert entry["verwerkingsactiviteitUrlAfnemer"].endswith(
            f"/api/v1/verwerkingsactiviteit/{Settings().portal_verwerkingsactiviteit_id}"
        )
    assert len({e["verwerkingIdAfnemer"] for e in logged}) == 1  # one verwerking per login session


@pytest.mark.parametrize("route", ["login", "export", "kenmerk"])
def test_login_and_export_are_rate_limited(backend: tuple[str, str], registered: dict[str, Client], route: str) -> None:
    a = new_bsn()
    with _app(backend[1], registered, portal_demo_citizens=a, portal_rate_limit_per_minute=3) as (tc, _):
        page = login(tc, a)
        token = csrf_of(page.text)

        def hit() -> int:
            if route == "login":
                return tc.post("/portaal/login/demo", data={"csrf": token, "burger": "x"}).status_code
            if route == "kenmerk":
                return tc.get("/portaal/kenmerk", params={"kenmerk": str(uuid.uuid4())}).status_code
            return tc.get("/portaal/export.json").status_code

        codes = [hit() for _ in range(4)]
        assert 429 in codes
        r = {
            "export": lambda: tc.get("/portaal/export.json"),
            "kenmerk": lambda: tc.get("/portaal/kenmerk", params={"kenmerk": "x"}),
            "login": lambda: tc.post("/portaal/login/demo", data={}),
        }[route]()
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert tc.get("/portaal/").status_code == 200  # the pages themselves are not limited


def test_demo_login_is_off_unless_asked_for(backend: tuple[str, str], registered: dict[str, Client]) -> None:
    with _app(backend[1], registered, portal_demo_login=False) as (tc, _):
        page = tc.get("/portaal/login")
        assert "Demo-login" not in page.text and "DEMO" not in page.text
        assert "geen inlogmethode" in page.text
        assert tc.post("/portaal/login/demo", data={"csrf": csrf_of(page.text), "burger": "1"}).status_code == 404


def test_demo_banner_on_every_page(citizens: Citizens) -> None:
    pages = [citizens.tc.get("/portaal/login"), login(citizens.tc, citizens.a)]
    pages += [citizens.tc.get("/portaal/verwerking/00000000000000000000")]
    for r in pages:
        assert 'class="demo-banner"' in r.text


def test_demo_login_together_with_a_real_login_is_refused_at_start(backend: tuple[str, str]) -> None:
    from verwerkingenlog.portal.web import DemoLoginRefused

    settings = make_settings(backend[1], **portal_settings(portal_oidc_issuer="https://broker.example.nl"))
    with pytest.raises(DemoLoginRefused, match="PORTAL_DEMO_LOGIN"):
        create_app(settings)


def _two_organisations(api: Api, a: str) -> None:
    """Three processings of A's data: two by the parking department (one activity in the VAR), one by the
    social service (another), and one whose activity the VAR does not know."""
    parkeren = _parkeren(api)
    zorg = create(
        api,
        activiteit(
            new_oin(),
            naam="Aanvraag Wmo-voorziening",
            verantwoordelijkeBestuursorgaan="Burgemeester",
            doel="Beoordelen van een aanvraag voor ondersteuning",
        ),
    )
    for _ in range(2):
        api.create(recent(a, verwerkingNaam="Aanvraag parkeervergunning", verwerkingsactiviteitId=parkeren["id"]))
    api.create(recent(a, verwerkingNaam="Aanvraag Wmo-voorziening", verwerkingsactiviteitId=zorg["id"]))
    api.create(recent(a, verwerkingNaam="Melding openbare ruimte", verwerkingsactiviteitId=str(uuid.uuid4())))


def _summary_of(html: str) -> str:
    found = re.search(r'<section class="card summary".*?</section>', html, flags=re.S)
    assert found, "no summary on the page"
    return found.group(0)


def test_summary_says_which_organisations_processed_my_data_how_often_and_why(citizens: Citizens) -> None:
    """Issue 18.4: the citizen's questions first — per organisation, how many processings and their purposes, with a
    chart (server-rendered SVG, no script) above the timeline; most processings first."""
    api, a, tc = citizens.api, citizens.a, citizens.tc
    _two_organisations(api, a)
    html = login(tc, a).text
    summary = _summary_of(html)
    assert html.index('class="card summary"') < html.index('class="timeline"')  # on top of the timeline
    said = text_of(summary).replace(" :", ":")
    assert "In deze periode: 4 verwerkingen door 3 organisatie(s)." in said
    assert "College van B&W: 2 verwerkingen. Doelen: Beoordelen en verlenen van een parkeervergunning" in said
    assert "Burgemeester: 1 verwerking. Doelen: Beoordelen van een aanvraag voor ondersteuning" in said
    # The activity the VAR does not know: the register that logged it, and the processing's own name.
    assert f"{Settings().portal_register_name}: 1 verwerking. Doelen: Melding openbare ruimte" in said
    assert said.index("College van B&W") < said.index("Burgemeester")
    bars = [float(w) for w in re.findall(r'<rect x="0" y="[\d.]+" width="([\d.]+)"', summary)]
    assert len(bars) == 3 and bars[0] == 2 * bars[1] == 2 * bars[2]  # bar length follows the count
    assert 'role="img"' in summary and "<title" in summary and "style=" not in summary and "<script" not in summary

    english = tc.post("/portaal/taal", data={"csrf": csrf_of(html), "lang": "en", "terug": "/portaal/"})
    said = text_of(_summary_of(english.text)).replace(" :", ":")
    assert "In this period: 4 processings by 3 organisation(s)." in said
    assert "College van B&W: 2 processings. Purposes: Assessing and granting a parking permit" in said


def test_summary_follows_the_period(citizens: Citizens) -> None:
    api, a, tc = citizens.api, citizens.a, citizens.tc
    old = (datetime.now(UTC) - timedelta(days=60)).replace(microsecond=0).isoformat()
    api.create(actie(a, verwerkingNaam="Twee maanden terug", tijdstip=old))
    login(tc, a)
    assert "Twee maanden terug" in text_of(_summary_of(tc.get("/portaal/?periode=jaar").text))
    assert 'class="card summary"' not in tc.get("/portaal/?periode=maand").text  # nothing in the last month


def test_own_lookups_fold_into_one_line_and_other_readers_stay_visible(citizens: Citizens) -> None:
    """Issue 18.4: three visits are one line ("3 keer bekeken"), not three entries of the timeline; a read of the
    citizen's log by someone else (another organisation's Inzage call) stays a processing in the timeline. The
    look-ups are still logged and still in the JSON export (art. 20: all the data)."""
    api, a, tc = citizens.api, citizens.a, citizens.tc
    api.create(recent(a, verwerkingNaam="Aanvraag parkeervergunning"))
    for _ in range(3):
        login(tc, a)
        tc.get("/portaal/?periode=maand")  # a second page view in the same visit
    page = text_of(tc.get("/portaal/").text)
    said = re.search(r"U heeft dit overzicht 3 keer bekeken, deze keer meegeteld; de vorige keer op ([^.]+)\.", page)
    assert said and re.fullmatch(r"\d{1,2} [a-z]+ \d{4}, \d\d:\d\d", said.group(1)), page
    assert "Inzage verwerkingenlog" not in page and "Raadplegen verwerkingenlog" not in page
    assert "1 verwerkingen gevonden" in page and "In deze periode: 1 verwerking door 1 organisatie(s)." in page

    assert api.inzage(a, activity=None).status_code == 200  # another organisation reads A's log (INZAGE_HEADERS)
    html = tc.get("/portaal/").text
    assert "Inzage verwerkingenlog" in text_of(html) and len(group_links(html)) == 2
    assert "U heeft dit overzicht 3 keer bekeken, deze keer meegeteld" in text_of(html)

    exported = json.loads(tc.get("/portaal/export.json").content)["verwerkingen"]
    own = [v for v in exported if v["afnemerId"] == PORTAL_OIN]
    assert len({v["verwerkingIdAfnemer"] for v in own}) == 3 and len(own) >= 6
    pdf = tc.get("/portaal/export.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "U heeft uw overzicht in deze periode 3 keer bekeken" in re.sub(r"\s+", " ", text)


def test_english_counts_the_visits_too(citizens: Citizens) -> None:
    page = login(citizens.tc, citizens.a)
    r = citizens.tc.post("/portaal/taal", data={"csrf": csrf_of(page.text), "lang": "en", "terug": "/portaal/"})
    assert "This is the first time you view this overview in this period." in text_of(r.text)
    login(citizens.tc, citizens.a)
    again = text_of(citizens.tc.get("/portaal/").text)
    assert "You have viewed this overview 2 times, this time included; the previous time on " in again


def test_dates_read_as_people_write_them_in_amsterdam_time(citizens: Citizens) -> None:
    """Issue 18.5: `2 december 2026, 20:25` (Europe/Amsterdam) in the pages and the art. 15 PDF, in Dutch and
    English — not an ISO string with microseconds."""
    api, a, tc = citizens.api, citizens.a, citizens.tc
    api.create(actie(a, verwerkingNaam="Op een winteravond", tijdstip="2026-12-02T19:25:42.123456+00:00"))
    html = login(tc, a).text
    page = text_of(tc.get("/portaal/?periode=alles").text)
    assert "2 december 2026, 20:25" in page and "2026-12-02T" not in page and "02-12-2026" not in page
    (link,) = group_links(tc.get("/portaal/?periode=alles").text)
    assert "2 december 2026, 20:25" in text_of(tc.get(link + "?periode=alles").text)

    def pdf_text() -> str:
        pdf = tc.get("/portaal/export.pdf?periode=eigen&van=2026-01-01&tot=2026-12-31")
        return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))

    text = pdf_text()
    assert "2 december 2026, 20:25: Opvragen persoonsgegevens" in text
    assert "van 1 januari 2026 tot en met 31 december 2026" in text
    assert not re.search(r"\d{4}-\d\d-\d\dT", text) and "UTC" not in text
    assert re.search(r"Opgesteld op \d{1,2} [a-z]+ \d{4}, \d\d:\d\d", text)

    r = tc.post("/portaal/taal", data={"csrf": csrf_of(html), "lang": "en", "terug": "/portaal/?periode=alles"})
    assert "2 December 2026, 20:25" in text_of(r.text)
    text = pdf_text()
    assert "2 December 2026, 20:25: Opvragen persoonsgegevens" in text
    assert "from 1 January 2026 up to and including 31 December 2026" in text


def test_a_reference_from_a_letter_opens_that_processing(citizens: Citizens) -> None:
    """Issue 18.4: a citizen holding a letter types its reference — the verwerkingId, or the trace id that is the
    same 128 bits in hex (docs/logboek.md) — and lands on that processing's page, whatever the period."""
    api, a, tc = citizens.api, citizens.a, citizens.tc
    verwerking = str(uuid.uuid4())
    old = (datetime.now(UTC) - timedelta(days=800)).replace(microsecond=0).isoformat()  # outside the default year
    api.create(actie(a, verwerkingNaam="Besluit bijzondere bijstand", verwerkingId=verwerking, tijdstip=old))
    login(tc, a)
    for typed in (verwerking, f"  {verwerking.upper()} ", verwerking.replace("-", "")):
        r = tc.get("/portaal/kenmerk", params={"kenmerk": typed})
        assert r.status_code == 200 and r.url.path.startswith("/portaal/verwerking/"), typed
        shown = text_of(r.text)
        assert "Besluit bijzondere bijstand" in shown and f"Kenmerk {verwerking}" in shown
        assert a not in str(r.url) and typed.strip() not in str(r.url)


def test_a_reference_of_someone_else_is_answered_as_not_found(citizens: Citizens) -> None:
    """Only the logged-in person's own processings: B's reference, an unknown one and a malformed one get the same
    answer, so the form tells nothing about other people's processings."""
    api, a, b, tc = citizens.api, citizens.a, citizens.b, citizens.tc
    of_b = str(uuid.uuid4())
    api.create(recent(b, verwerkingNaam="Alleen van B", verwerkingId=of_b))
    api.create(recent(a, verwerkingNaam="Alleen van A"))
    login(tc, a)
    answers = [tc.get("/portaal/kenmerk", params={"kenmerk": k}) for k in (of_b, str(uuid.uuid4()), "brief-12", "")]
    assert {r.status_code for r in answers} == {404}
    assert len({text_of(r.text).replace(r.headers.get("x-request-id", ""), "") for r in answers}) == 1
    assert all("Alleen van B" not in r.text and b not in r.text for r in answers)
    tc.cookies.clear()
    r = tc.get("/portaal/kenmerk", params={"kenmerk": of_b}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portaal/login"


def test_own_lookups_of_a_past_period_count_without_this_visit() -> None:
    """A period that ended before today: the visits then, and the last of them; this visit is not one of them."""
    from verwerkingenlog.portal.registers import entry_from_json
    from verwerkingenlog.portal.summary import split_own_lookups

    def lookup(session: str, when: str) -> dict[str, Any]:
        actie = {
            "actieId": str(uuid.uuid4()),
            "tijdstip": when,
            "afnemerId": PORTAL_OIN,
            "verwerkingIdAfnemer": session,
        }
        return {"verwerkingsactie": {**actie, "verwerkingsactiviteitIdAfnemer": "portaal-activiteit"}}

    raw = [lookup("s1", "2025-03-01T10:00:00+00:00"), lookup("s1", "2025-03-01T10:01:00+00:00")]
    raw.append(lookup("s2", "2025-04-02T08:30:00+00:00"))
    raw.append({"verwerkingsactie": {"actieId": "x", "tijdstip": "2025-04-03T08:30:00+00:00", "afnemerId": PORTAL_OIN}})
    shown, own = split_own_lookups([entry_from_json("R", r) for r in raw], PORTAL_OIN, "portaal-activiteit")
    assert len(shown) == 1  # the register's action for the same OIN under another activity stays
    assert own.visits == 2 and not own.now and own.message == "own_lookups_then"
    assert own.previous == datetime(2025, 4, 2, 8, 30, tzinfo=UTC)


@pytest.fixture
def machtiging(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[Citizens]:
    """A parent (b) with a machtiging for a child (a), in the demo login."""
    a, b = new_bsn(), new_bsn()
    with _app(backend[1], registered, portal_demo_citizens=f"{a},{b}", portal_demo_machtigingen=f"{b}:{a}") as (
        tc,
        api,
    ):
        yield Citizens(tc, api, a, b)


def _login_namens(tc: TestClient, gemachtigde: str, bsn: str) -> Any:
    page = tc.get("/portaal/login")
    assert f'value="{gemachtigde}:{bsn}"' in page.text
    return tc.post("/portaal/login/demo", data={"csrf": csrf_of(page.text), "burger": f"{gemachtigde}:{bsn}"})


def test_a_gemachtigde_sees_the_person_represented_clearly_marked_and_logged_for_both(machtiging: Citizens) -> None:
    """Issue 18.4, machtigen: a parent logged in with a machtiging sees the child's processings, never their own, with
    a banner on every page and a line in the PDF; the visit is logged as a processing of both, under the machtiging
    activity, and the registers log the look-ups about the child under it too — so the child's own timeline shows
    them rather than folding them into its own visits."""
    tc, api, child, parent = machtiging.tc, machtiging.api, machtiging.a, machtiging.b
    api.create(recent(child, verwerkingNaam="Inschrijving kinderopvang"))
    api.create(recent(parent, verwerkingNaam="Eigen zaak van de ouder"))
    r = _login_namens(tc, parent, child)
    assert r.status_code == 200 and r.url.path == "/portaal/"
    page = text_of(r.text)
    assert "Inschrijving kinderopvang" in page and "Eigen zaak van de ouder" not in page
    assert "Machtiging — U bekijkt de gegevens van iemand die u vertegenwoordigt" in page
    (link,) = [lk for lk in group_links(r.text) if "kinderopvang" in text_of(tc.get(lk).text)]
    assert 'class="machtiging-banner"' in tc.get(link).text
    pdf = tc.get("/portaal/export.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Opgevraagd door een gemachtigde" in text and f"BSN: {child}" in text and parent not in text
    exported = json.loads(tc.get("/portaal/export.json").content)["verwerkingen"]
    assert "Eigen zaak van de ouder" not in {v["verwerkingNaam"] for v in exported}

    activity = Settings().portal_machtiging_verwerkingsactiviteit_id
    (of_child,) = api.list(child, activity=activity).json()["results"]
    (of_parent,) = api.list(parent, activity=activity).json()["results"]
    assert of_child["actieId"] == of_parent["actieId"] and of_child["verwerkingNaam"] == "Inzage met machtiging"
    # One action about both; each person's query shows their own part in it (the register shows a person's object).
    assert [o["betrokkenheid"] for o in of_child["verwerkteObjecten"] if o["objectId"] == child] == [
        "Vertegenwoordigde"
    ]
    assert [o["betrokkenheid"] for o in of_parent["verwerkteObjecten"] if o["objectId"] == parent] == ["Gemachtigde"]
    reads = api.list(child, activity=DEFAULT_SELF_LOG_ACTIVITY).json()["results"]
    lookups = [e for e in reads if e["afnemerId"] == PORTAL_OIN]  # not the test's own reads of the register
    assert lookups and all(e["verwerkingsactiviteitIdAfnemer"] == activity for e in lookups)
    assert {e["verwerkingIdAfnemer"] for e in lookups} == {of_child["verwerkingId"]}

    login(tc, parent)  # the parent as themselves: their own data, no banner, and the machtiging they used
    own = text_of(tc.get("/portaal/").text)
    assert (
        "Eigen zaak van de ouder" in own and "Inzage met machtiging" in own and "Inschrijving kinderopvang" not in own
    )
    assert "Machtiging —" not in own
    login(tc, child)  # the child sees that someone looked on their behalf, not folded into "U bekijkt …"
    seen = text_of(tc.get("/portaal/").text)
    assert "Inzage met machtiging" in seen and "U bekijkt dit overzicht nu voor het eerst in deze periode." in seen


def test_a_machtiging_that_was_not_given_is_refused(machtiging: Citizens) -> None:
    tc, child, parent = machtiging.tc, machtiging.a, machtiging.b
    page = tc.get("/portaal/login")
    for burger in (f"{child}:{parent}", f"{new_bsn()}:{child}", f"{parent}:{new_bsn()}"):  # reversed, strangers
        r = tc.post("/portaal/login/demo", data={"csrf": csrf_of(page.text), "burger": burger})
        assert r.url.path == "/portaal/login" and "Inloggen is niet gelukt" in r.text, burger
    assert tc.get("/portaal/", follow_redirects=False).status_code == 303


def test_the_representee_claim_is_read_at_a_dotted_path() -> None:
    """DigiD Machtigen through a broker nests the parties (`aanvrager.bsn`); a claim that is not a BSN is none."""
    from verwerkingenlog.portal.oidc import claim_at

    claims = {"bsn": "999993653", "aanvrager": {"bsn": "999990019"}, "other": {"bsn": 12}}
    assert claim_at(claims, "aanvrager.bsn") == "999990019" and claim_at(claims, "bsn") == "999993653"
    assert claim_at(claims, "other.bsn") is None and claim_at(claims, "aanvrager.naam") is None
    assert claim_at(claims, "bsn.x") is None


def test_a_machtiging_that_cannot_be_logged_shows_nothing(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    """The visit on someone's behalf must be logged before any of their data is shown (as R-SELF-2 for reads): a
    register that refuses the portal's action (here: a misconfigured machtiging activity that is no UUID) means a
    refused login, a plain message, and no session."""
    child, parent = new_bsn(), new_bsn()
    settings = {"portal_demo_machtigingen": f"{parent}:{child}", "portal_machtiging_verwerkingsactiviteit_id": "x"}
    with _app(backend[1], registered, **settings) as (tc, api):
        api.create(recent(child, verwerkingNaam="Inschrijving kinderopvang"))
        r = _login_namens(tc, parent, child)
        assert r.status_code == 503 and "de inzage kon niet worden vastgelegd" in r.text
        assert "Inschrijving kinderopvang" not in r.text
        assert tc.get("/portaal/", follow_redirects=False).status_code == 303
