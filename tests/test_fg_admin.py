"""The FG's page in the admin (`/beheer/controle`, role `fg`, docs/fg.md): the same tools as GET /api/v1/fg/…, each
look logged as the FG's processing of the persons shown and recorded in the audit trail without the BSN."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.helpers import INZAGE_HEADERS, actie, new_bsn
from tests.test_admin import FG, NOBODY, Site, _site
from tests.var_support import activiteit, new_oin
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client
from verwerkingenlog.settings import DEFAULT_FG_ACTIVITY

PAGE = "/beheer/controle"


@pytest.fixture
def site(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[Site]:
    yield from _site(backend[1], registered)


def _bearer(site: Site, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(site.clients[who])}"}


def test_the_fg_sees_who_processed_a_person_and_the_look_is_logged(site: Site) -> None:
    bsn, oin = new_bsn(), new_oin()
    act = activiteit(oin, naam="Kwijtschelding", doel="Beoordelen van een verzoek om kwijtschelding")
    assert (
        site.tc.post("/api/v1/verwerkingsactiviteiten", json=act, headers=_bearer(site, "var-write")).status_code == 201
    )
    body = actie(
        bsn, gebruiker="belastingen-7", verwerkingsactiviteitId=act["id"], tijdstip="2026-10-06T10:00:00+02:00"
    )
    assert site.tc.post("/api/v1/verwerkingsacties", json=body, headers=_bearer(site, "normaal")).status_code == 201

    assert site.login(FG).status_code == 200
    assert 'href="/beheer/controle"' in site.tc.get("/beheer/").text
    empty = site.tc.get(PAGE)
    assert empty.status_code == 200 and "belastingen-7" not in empty.text
    r = site.post(PAGE, {"actie": "persoon", "objectId": bsn})
    assert r.status_code == 200, r.text
    assert "belastingen-7" in r.text and "Beoordelen van een verzoek om kwijtschelding" in r.text
    found = re.search(r"gelogd met verwerkingId ([0-9a-f-]{36}) \(normaal\)", r.text)
    assert found, r.text
    verwerking_id = found.group(1)

    # In the citizen's timeline, and in the audit trail by its verwerkingId (never the BSN).
    q = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, "beginDatum": "2000-01-01"}
    q |= {"eindDatum": "2100-01-01", "verwerkingsactiviteitId": DEFAULT_FG_ACTIVITY}
    inzage = site.tc.get("/api/v1/verwerkte-objecten", params=q, headers={**INZAGE_HEADERS, **_bearer(site, "alles")})
    assert verwerking_id in {e["verwerkingsactie"]["verwerkingId"] for e in inzage.json()["results"]}
    entries = [e for e in site.audit() if e.action == "fg:persoon" and e.target == verwerking_id]
    assert len(entries) == 1 and entries[0].subject == FG["sub"]
    assert all(bsn not in f"{e.target} {e.detail}" for e in site.audit())

    secret = site.post(PAGE, {"actie": "persoon", "objectId": bsn, "vertrouwelijk": "1"})
    assert "(vertrouwelijk)" in secret.text


def test_the_page_checks_its_input_and_is_for_the_fg(site: Site) -> None:
    assert site.login(FG).status_code == 200
    assert site.post(PAGE, {"actie": "persoon", "objectId": ""}).status_code == 400
    assert site.post(PAGE, {"actie": "signalen", "beginDatum": "2026-11-01"}).status_code == 400
    assert (
        site.post(PAGE, {"actie": "signalen", "beginDatum": "gisteren", "eindDatum": "2026-11-01"}).status_code == 400
    )
    quiet = site.post(PAGE, {"actie": "signalen", "beginDatum": "1990-01-01", "eindDatum": "1990-01-08"})
    assert quiet.status_code == 200 and "Geen signalen in deze periode." in quiet.text
    assert site.tc.post(PAGE, data={"actie": "persoon", "objectId": new_bsn()}).status_code == 400  # no CSRF token
    site.login(NOBODY)  # logged in, but no role
    assert site.tc.get(PAGE).status_code == 403
