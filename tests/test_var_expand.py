"""Extension on the Inzage API: `expand=verwerkingsactiviteit` explains each result in plain language,
with the activity version that was valid at the action's tijdstip (§17.4). Without it, nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import Api, actie, new_bsn
from tests.var_support import VAR, activiteit, create, new_oin, problem_names, versies


def _explained(api: Api, bsn: str, activity: str, **params: Any) -> list[dict[str, Any]]:
    r = api.inzage(bsn, who="read-normal", activity=activity, expand="verwerkingsactiviteit", **params)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def test_each_result_is_explained_by_the_version_valid_at_its_tijdstip(api: Api) -> None:
    oin = new_oin()
    v1 = create(api, activiteit(oin, doel="Beoordelen van een parkeervergunning"))
    api.request(
        "PUT", f"{VAR}/{v1['id']}", "var-write", json={**v1, "doel": "Beoordelen en verlengen van vergunningen"}
    )
    t1, t2 = (v["tijdstipRegistratie"] for v in versies(api, v1["id"]))
    bsn = new_bsn()
    before = api.create(actie(bsn, verwerkingsactiviteitId=v1["id"], tijdstip=t1, uitvoerder=None))
    after = api.create(actie(bsn, verwerkingsactiviteitId=v1["id"], tijdstip=t2, uitvoerder=None))

    by_actie = {
        x["verwerkingsactie"]["actieId"]: x["_expand"]["verwerkingsactiviteit"] for x in _explained(api, bsn, v1["id"])
    }
    old, new = by_actie[before["actieId"]], by_actie[after["actieId"]]
    assert (old["versie"], new["versie"]) == (1, 2)
    assert old["uitleg"]["nl"]["doel"] == "Beoordelen van een parkeervergunning"
    assert new["uitleg"]["nl"]["doel"] == "Beoordelen en verlengen van vergunningen"
    assert new["url"] == f"http://testserver/api/v1/verwerkingsactiviteit/{v1['id']}"
    assert new["verantwoordelijkeOrganisatie"] == oin and new["ingetrokken"] is False


def test_the_explanation_is_plain_dutch_and_english_where_given(api: Api) -> None:
    body = create(api, activiteit(new_oin()))
    bsn = new_bsn()
    api.create(actie(bsn, verwerkingsactiviteitId=body["id"]))
    (result,) = _explained(api, bsn, body["id"])
    uitleg = result["_expand"]["verwerkingsactiviteit"]["uitleg"]
    assert set(uitleg) == {"nl", "en"}
    nl, en = uitleg["nl"], uitleg["en"]
    assert nl["naam"] == "Aanvraag parkeervergunning" and nl["grondslag"] == "Publieke taak"
    assert nl["tekst"] == (
        "Uw gegevens zijn verwerkt voor ‘Aanvraag parkeervergunning’. "
        "Waarom: Beoordelen en verlenen van een parkeervergunning. "
        "Dat mag op grond van: Publieke taak (Wegenverkeerswet 1994 art. 18). "
        "Hoe lang de gegevens bewaard worden: 2 jaar na afloop van de vergunning. "
        "Verantwoordelijk: College van B&W."
    )
    assert en["doel"] == "Assessing and granting a parking permit"
    assert en["grondslag"] == "Public task"  # the GDPR's term for the AVG basis, since none was given
    assert en["tekst"].startswith("Your data was processed for ‘Parking permit application’. Why: Assessing")

    dutch_only = create(api, activiteit(new_oin(), vertalingen={}))
    api.create(actie(bsn, verwerkingsactiviteitId=dutch_only["id"]))
    (only_nl,) = _explained(api, bsn, dutch_only["id"])
    assert set(only_nl["_expand"]["verwerkingsactiviteit"]["uitleg"]) == {"nl"}

    french = create(api, activiteit(new_oin(), vertalingen={"fr": {"doel": "Délivrer un permis"}}))
    api.create(actie(bsn, verwerkingsactiviteitId=french["id"]))
    (fr,) = _explained(api, bsn, french["id"])
    assert fr["_expand"]["verwerkingsactiviteit"]["uitleg"]["fr"] == {
        "naam": None,
        "doel": "Délivrer un permis",
        "grondslag": None,
        "toelichtingGrondslag": None,
        "bewaartermijn": None,
        "tekst": None,  # no sentence templates for French: the texts as given
    }


def test_without_expand_the_response_is_exactly_the_standards(api: Api) -> None:
    body = create(api, activiteit(new_oin()))
    bsn = new_bsn()
    api.create(actie(bsn, verwerkingsactiviteitId=body["id"]))
    plain = api.inzage(bsn, who="read-normal", activity=body["id"]).json()["results"]
    (expanded,) = _explained(api, bsn, body["id"])
    assert "_expand" not in plain[0]
    assert plain == [{k: v for k, v in expanded.items() if k != "_expand"}]


def test_an_activity_the_var_does_not_know_is_explained_as_null(api: Api) -> None:
    unknown = str(uuid.uuid4())
    bsn = new_bsn()
    api.create(actie(bsn, verwerkingsactiviteitId=unknown))
    (result,) = _explained(api, bsn, unknown)
    assert result["_expand"] == {"verwerkingsactiviteit": None}


def test_expand_on_a_single_verwerkt_object(api: Api) -> None:
    body = create(api, activiteit(new_oin()))
    bsn = new_bsn()
    created = api.create(actie(bsn, verwerkingsactiviteitId=body["id"]))
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    path = f"/api/v1/verwerkte-objecten/{object_id}"
    from tests.helpers import INZAGE_HEADERS

    r = api.request("GET", path, "read-normal", headers=INZAGE_HEADERS, params={"expand": "verwerkingsactiviteit"})
    assert r.status_code == 200, r.text
    assert r.json()["_expand"]["verwerkingsactiviteit"]["id"] == body["id"]
    plain = api.request("GET", path, "read-normal", headers=INZAGE_HEADERS)
    assert "_expand" not in plain.json()
    bad = api.request("GET", path, "read-normal", headers=INZAGE_HEADERS, params={"expand": "verwerkingsactie"})
    assert problem_names(bad) == {"expand"}


def test_an_unknown_expand_value_is_400(api: Api) -> None:
    r = api.inzage(new_bsn(), who="read-normal", expand="verwerkingsactiviteit,systeem")
    assert problem_names(r) == {"expand"}
