"""PUT (§6.4), PATCH (§6.5) and DELETE (§6.6) on the Bewerking API, the B3891 worked example (§8.1)
with the /versies history extension, and confidentiality transitions (§9).

Covers R-PUT-1..6, R-PATCH-1..6, R-DEL-1..4, R-VER-1..6, AMB-24, AMB-27..29, §9 visibility matrix.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.bewerking_support import (
    API_VERSION,
    EXPLICIT_OFFSET,
    UUID4,
    assert_problem,
    history,
    invalid,
    with_confidentiality,
)
from tests.bewerking_support import (
    CLIENT_KEYS as SETTABLE_KEYS,
)
from tests.helpers import Api, actie, editable, new_bsn, person

CLIENT_KEYS = (*SETTABLE_KEYS, "verwerkteObjecten")


def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [a["actieId"] for a in r.json()["results"]]


def current(api: Api, actie_id: str) -> dict[str, Any]:
    r = api.get(actie_id)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


# == PUT ===========================================================================================


def test_a_get_edit_put_round_trip_creates_a_new_current_version(api: Api) -> None:
    """R-PUT-1, R-PUT-4, R-PUT-6: a GET body, edited, is a valid PUT body; a new actieId is returned."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    body = editable(current(api, created["actieId"]))
    body["verwerkingsactiviteitId"] = new_activity = str(uuid.uuid4())
    r = api.put(created["actieId"], body)
    assert r.status_code == 200, r.text
    assert r.headers["API-version"] == API_VERSION
    new = r.json()
    assert UUID4.match(new["actieId"]) and new["actieId"] != created["actieId"]
    assert new["url"].endswith(new["actieId"])
    assert new["tijdstipRegistratie"] >= created["tijdstipRegistratie"]
    assert new["verwerkingsactiviteitId"] == new_activity
    for key in set(CLIENT_KEYS) - {"verwerkingsactiviteitId"}:
        assert new[key] == created[key], key
    # R-PUT-6 / R-VER-3: the old actieId keeps resolving to the (new) current version.
    assert current(api, created["actieId"]) == new


def test_a_complete_get_response_including_read_only_fields_is_accepted_as_put_body(api: Api) -> None:
    """R-PUT-1, R-VAL-10: url, actieId, tijdstipRegistratie in the PUT body are accepted and ignored."""
    created = api.create(actie(new_bsn()))
    r = api.put(created["actieId"], {**created, "actieNaam": "Opslaan persoonsgegevens"})
    assert r.status_code == 200, r.text
    assert r.json()["actieId"] != created["actieId"]
    assert r.json()["actieNaam"] == "Opslaan persoonsgegevens"


def test_every_missing_key_is_listed_as_required(api: Api) -> None:
    """R-PUT-1 (AMB-20): every client-settable top-level key must be present, each missing one listed."""
    created = api.create(actie(new_bsn()))
    assert invalid(api.put(created["actieId"], {})) == {(k, "required") for k in CLIENT_KEYS}
    body = editable(created)
    del body["gebruiker"], body["verwerkingIdAfnemer"]
    assert invalid(api.put(created["actieId"], body)) == {
        ("gebruiker", "required"),
        ("verwerkingIdAfnemer", "required"),
    }
    assert len(history(api, created["actieId"])) == 1


def test_null_values_in_a_put_replace_the_old_values(api: Api) -> None:
    """R-PUT-4: full replacement; optional attributes sent as null become empty."""
    created = api.create(actie(new_bsn()))
    body = editable(created) | {"bewaartermijn": None, "gebruiker": None, "actieNaam": None}
    new = api.put(created["actieId"], body).json()
    assert (new["bewaartermijn"], new["gebruiker"], new["actieNaam"]) == (None, None, None)


def test_a_put_body_is_validated_like_a_post_body(api: Api) -> None:
    """R-PUT-1: objects and values per the POST rules; unknown fields refused; nothing stored."""
    created = api.create(actie(new_bsn()))
    body = editable(created) | {"uitvoerder": "1", "vertrouwelijkheid": None, "extra": 1}
    body["verwerkteObjecten"][0]["objectId"] = 12
    assert invalid(api.put(created["actieId"], body)) == {
        ("uitvoerder", "invalid"),
        ("vertrouwelijkheid", "null"),
        ("extra", "unknown_field"),
        ("verwerkteObjecten.0.objectId", "invalid"),
    }
    assert len(history(api, created["actieId"])) == 1


def test_objects_keep_echoed_ids_and_other_objects_get_new_ids(api: Api) -> None:
    """R-PUT-5 (AMB-19, R-VER-6)."""
    a, b, c = new_bsn(), new_bsn(), new_bsn()
    created = api.create(actie(a, b))
    obj_a, obj_b = created["verwerkteObjecten"]
    foreign = str(uuid.uuid4())
    body = editable(created)
    body["verwerkteObjecten"] = [
        obj_a,  # echoed with its id and url
        {**person(b), "verwerktObjectId": foreign},  # an id that is not in the current version
        person(c),  # new, no id
    ]
    new = api.put(created["actieId"], body).json()
    new_a, new_b, new_c = new["verwerkteObjecten"]
    assert new_a == obj_a
    assert new_b["objectId"] == b and new_b["verwerktObjectId"] not in (foreign, obj_b["verwerktObjectId"])
    assert new_c["objectId"] == c and UUID4.match(new_c["verwerktObjectId"])
    assert new_c["url"].endswith(new_c["verwerktObjectId"])
    assert len({o["verwerktObjectId"] for o in new["verwerkteObjecten"]}) == 3


def test_the_new_version_has_exactly_the_objects_of_the_request(api: Api) -> None:
    """R-PUT-5: a person left out of the PUT is no longer found; an id of an older version is not reused."""
    a, b = new_bsn(), new_bsn()
    created = api.create(actie(a, b))
    body = editable(created)
    body["verwerkteObjecten"] = body["verwerkteObjecten"][:1]
    new = api.put(created["actieId"], body).json()
    assert [o["objectId"] for o in new["verwerkteObjecten"]] == [a]
    assert ids(api.list(b)) == []
    assert ids(api.list(a)) == [new["actieId"]]
    # Echoing b's id from the first version again: b is not in the current version, so it gets a new id.
    body2 = editable(new)
    body2["verwerkteObjecten"].append(created["verwerkteObjecten"][1])
    again = api.put(new["actieId"], body2).json()
    assert again["verwerkteObjecten"][1]["verwerktObjectId"] != created["verwerkteObjecten"][1]["verwerktObjectId"]


def test_put_on_an_unknown_malformed_or_deleted_action_is_400_on_actie_id(api: Api) -> None:
    """R-PUT-2 (AMB-11)."""
    created = api.create(actie(new_bsn()))
    body = editable(created)
    assert invalid(api.put(str(uuid.uuid4()), body)) == {("actieId", "not_found")}
    assert invalid(api.put("niet-een-uuid", body)) == {("actieId", "invalid")}
    assert api.delete(created["actieId"]).status_code == 204
    assert invalid(api.put(created["actieId"], body)) == {("actieId", "vervallen")}


def test_put_by_an_old_version_id_corrects_the_current_version(api: Api) -> None:
    """R-VER-3, R-PUT-4: the lineage's current version is the base; versions are appended."""
    created = api.create(actie(new_bsn()))
    first = api.put(created["actieId"], editable(created) | {"actieNaam": "een"}).json()
    second = api.put(created["actieId"], editable(created) | {"actieNaam": "twee"}).json()
    assert second["actieId"] not in (created["actieId"], first["actieId"])
    assert [v["actieNaam"] for v in history(api, first["actieId"])] == [created["actieNaam"], "een", "twee"]


def test_put_with_a_non_json_body_is_415(api: Api) -> None:
    """R-MT-1 on PUT."""
    created = api.create(actie(new_bsn()))
    r = api.request(
        "PUT",
        f"/api/v1/verwerkingsacties/{created['actieId']}",
        headers={"Content-Type": "text/plain"},
        content=json.dumps(editable(created)),
    )
    assert_problem(r, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("who", "now", "to", "status"),
    [
        ("update-conf", "opgeheven", "opgeheven", 200),  # AMB-24: keeping opgeheven is allowed
        ("update-conf", "vertrouwelijk", "opgeheven", 403),  # … changing to it is not
        ("update-conf", "normaal", "opgeheven", 403),
        ("update-conf", "opgeheven", "vertrouwelijk", 200),
        ("update-normal", "opgeheven", "opgeheven", 403),
    ],
)
def test_put_cannot_lift_confidentiality_but_may_keep_it_lifted(
    api: Api, who: str, now: str, to: str, status: int
) -> None:
    """R-PUT-3, AMB-24; a refused PUT stores nothing."""
    created = with_confidentiality(api, new_bsn(), now)
    before = len(history(api, created["actieId"]))
    r = api.put(created["actieId"], editable(created) | {"vertrouwelijkheid": to}, who)
    if status == 403:
        assert_problem(r, 403, "permission_denied")
        assert len(history(api, created["actieId"])) == before
    else:
        assert r.status_code == 200 and r.json()["vertrouwelijkheid"] == to


# == PATCH =========================================================================================


def test_patch_changes_every_action_of_the_verwerking_and_answers_204(api: Api) -> None:
    """R-PATCH-2, R-PATCH-5: one new version per action, all other attributes and objects copied."""
    bsn = new_bsn()
    w = str(uuid.uuid4())
    one = api.create(actie(bsn, verwerkingId=w, actieNaam="een"))
    two = api.create(actie(bsn, verwerkingId=w, actieNaam="twee"))
    other = api.create(actie(bsn))
    r = api.patch(w, {"bewaartermijn": "P4Y"})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["API-version"] == API_VERSION
    for before in (one, two):
        after = current(api, before["actieId"])
        assert after["actieId"] != before["actieId"]
        assert after["bewaartermijn"] == "P4Y"
        assert after["tijdstipRegistratie"] >= before["tijdstipRegistratie"]
        keep = {k: v for k, v in before.items() if k not in ("url", "actieId", "tijdstipRegistratie", "bewaartermijn")}
        assert {k: after[k] for k in keep} == keep  # objects keep their ids (R-VER-6)
    assert current(api, other["actieId"]) == other


def test_patch_with_both_properties_sets_both(api: Api) -> None:
    """R-PATCH-4/5 (AMB-26): whichever properties are sent are applied."""
    created = api.create(actie(new_bsn(), vertrouwelijkheid="vertrouwelijk", bewaartermijn=None))
    r = api.patch(created["verwerkingId"], {"bewaartermijn": "P2W", "vertrouwelijkheid": "Opgeheven"})
    assert r.status_code == 204
    after = current(api, created["actieId"])
    assert (after["bewaartermijn"], after["vertrouwelijkheid"]) == ("P2W", "opgeheven")


def test_patch_selects_by_verwerking_id_only_never_by_verwerking_id_afnemer(api: Api) -> None:
    """R-PATCH-2 (AMB-27)."""
    w = str(uuid.uuid4())
    own = api.create(actie(new_bsn(), verwerkingId=w))
    consumer = api.create(actie(new_bsn(), verwerkingIdAfnemer=w))
    assert api.patch(w, {"bewaartermijn": "P1Y"}).status_code == 204
    assert current(api, own["actieId"])["bewaartermijn"] == "P1Y"
    assert current(api, consumer["actieId"]) == consumer


def test_patch_matches_the_verwerking_id_case_insensitively(api: Api) -> None:
    """R-PATCH-2, R-VAL-1."""
    created = api.create(actie(new_bsn()))
    assert api.patch(created["verwerkingId"].upper(), {"bewaartermijn": "P3Y"}).status_code == 204
    assert current(api, created["actieId"])["bewaartermijn"] == "P3Y"


def test_patch_matches_the_current_version_only(api: Api) -> None:
    """R-PATCH-2: an action moved to another verwerking by PUT is no longer addressed by the old id."""
    created = api.create(actie(new_bsn()))
    old_w = created["verwerkingId"]
    new_w = str(uuid.uuid4())
    assert api.put(created["actieId"], editable(created) | {"verwerkingId": new_w}).status_code == 200
    assert invalid(api.patch(old_w, {"bewaartermijn": "P1Y"})) == {("verwerkingId", "not_found")}
    assert api.patch(new_w, {"bewaartermijn": "P1Y"}).status_code == 204


def test_patch_of_an_unknown_or_wholly_deleted_verwerking_is_400(api: Api) -> None:
    """R-PATCH-3."""
    assert invalid(api.patch(str(uuid.uuid4()), {"bewaartermijn": "P1Y"})) == {("verwerkingId", "not_found")}
    created = api.create(actie(new_bsn()))
    assert api.delete(created["actieId"]).status_code == 204
    assert invalid(api.patch(created["verwerkingId"], {"bewaartermijn": "P1Y"})) == {("verwerkingId", "not_found")}


def test_patch_skips_deleted_actions_of_the_verwerking(api: Api) -> None:
    """R-PATCH-2: vervallen lineages are not addressed (and get no new version)."""
    w = str(uuid.uuid4())
    gone = api.create(actie(new_bsn(), verwerkingId=w))
    kept = api.create(actie(new_bsn(), verwerkingId=w))
    assert api.delete(gone["actieId"]).status_code == 204
    assert api.patch(w, {"bewaartermijn": "P5Y"}).status_code == 204
    assert current(api, kept["actieId"])["bewaartermijn"] == "P5Y"
    assert len(history(api, gone["actieId"])) == 2


def test_patch_parameter_and_body_problems_are_400(api: Api) -> None:
    """R-PATCH-1, R-VAL-10/11."""
    created = api.create(actie(new_bsn()))
    w = created["verwerkingId"]
    path = "/api/v1/verwerkingsacties"
    assert invalid(api.request("PATCH", path, json={"bewaartermijn": "P1Y"})) == {("verwerkingId", "required")}
    assert invalid(api.patch("geen-uuid", {"bewaartermijn": "P1Y"})) == {("verwerkingId", "invalid")}
    r = api.request("PATCH", path, params={"verwerkingId": w, "x": "1"}, json={"bewaartermijn": "P1Y"})
    assert invalid(r) == {("x", "unknown_parameter")}
    assert len(invalid(api.patch(w, {}))) == 1
    assert len(invalid(api.patch(w, {"bewaartermijn": None, "vertrouwelijkheid": None}))) == 1
    assert invalid(api.patch(w, {"bewaartermijn": "P1Y", "actieNaam": "x"})) == {("actieNaam", "unknown_field")}
    assert invalid(api.patch(w, {"bewaartermijn": "150", "vertrouwelijkheid": "geheim"})) == {
        ("bewaartermijn", "invalid"),
        ("vertrouwelijkheid", "invalid_choice"),
    }
    assert len(history(api, created["actieId"])) == 1


def test_patch_always_appends_a_version_even_without_a_change(api: Api) -> None:
    """R-PATCH-5 (AMB-29)."""
    created = api.create(actie(new_bsn(), bewaartermijn="P10Y"))
    assert api.patch(created["verwerkingId"], {"bewaartermijn": "P10Y"}).status_code == 204
    versions = history(api, created["actieId"])
    assert len(versions) == 2
    assert versions[1]["actieId"] != created["actieId"]
    assert versions[1]["bewaartermijn"] == "P10Y"
    assert versions[1]["verwerkteObjecten"] == created["verwerkteObjecten"]


@pytest.mark.parametrize("current_value", ["vertrouwelijk", "opgeheven"])
def test_update_normal_may_not_patch_a_verwerking_with_a_confidential_action(api: Api, current_value: str) -> None:
    """R-PATCH-4 (AMB-28): 403 for the whole request; nothing changes, also not the normaal action."""
    w = str(uuid.uuid4())
    conf = with_confidentiality(api, new_bsn(), current_value, verwerkingId=w)
    normal = api.create(actie(new_bsn(), verwerkingId=w))
    assert_problem(api.patch(w, {"bewaartermijn": "P1Y"}, "update-normal"), 403, "permission_denied")
    assert current(api, normal["actieId"]) == normal
    assert current(api, conf["actieId"]) == conf
    assert len(history(api, normal["actieId"])) == 1


def test_update_normal_may_patch_only_the_bewaartermijn(api: Api) -> None:
    """R-PATCH-4: vertrouwelijkheid (even to normaal) needs update:confidential."""
    created = api.create(actie(new_bsn()))
    w = created["verwerkingId"]
    assert_problem(api.patch(w, {"vertrouwelijkheid": "normaal"}, "update-normal"), 403, "permission_denied")
    body = {"bewaartermijn": "P1Y", "vertrouwelijkheid": "normaal"}
    assert_problem(api.patch(w, body, "update-normal"), 403, "permission_denied")
    assert len(history(api, created["actieId"])) == 1
    assert api.patch(w, {"bewaartermijn": "P1Y"}, "update-normal").status_code == 204
    assert current(api, created["actieId"])["bewaartermijn"] == "P1Y"


# == DELETE ========================================================================================


def test_a_deleted_action_disappears_everywhere_but_stays_in_the_history(api: Api) -> None:
    """R-DEL-1, R-DEL-4."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    r = api.delete(created["actieId"])
    assert r.status_code == 204 and r.content == b""
    assert r.headers["API-version"] == API_VERSION
    assert_problem(api.get(created["actieId"]), 404, "not_found")
    assert ids(api.list(bsn)) == []
    assert invalid(api.put(created["actieId"], editable(created))) == {("actieId", "vervallen")}
    assert invalid(api.patch(created["verwerkingId"], {"bewaartermijn": "P1Y"})) == {("verwerkingId", "not_found")}
    assert invalid(api.delete(created["actieId"])) == {("actieId", "vervallen")}
    first, deleted = history(api, created["actieId"])
    assert (first["vervallen"], deleted["vervallen"]) == (False, True)
    assert deleted["actieId"] != created["actieId"]
    assert deleted["verwerkteObjecten"] == created["verwerkteObjecten"]
    assert {k: deleted[k] for k in CLIENT_KEYS} == {k: created[k] for k in CLIENT_KEYS}


def test_delete_by_a_later_version_id_deletes_the_action(api: Api) -> None:
    """R-VER-3, R-DEL-1."""
    created = api.create(actie(new_bsn()))
    new = api.put(created["actieId"], editable(created)).json()
    assert api.delete(new["actieId"]).status_code == 204
    assert_problem(api.get(created["actieId"]), 404, "not_found")


def test_delete_of_an_unknown_or_malformed_id_is_400(api: Api) -> None:
    """R-DEL-2 (AMB-12)."""
    assert invalid(api.delete(str(uuid.uuid4()))) == {("actieId", "not_found")}
    assert invalid(api.delete("123")) == {("actieId", "invalid")}


@pytest.mark.parametrize(
    ("who", "current_value", "status"),
    [
        ("delete-normal", "normaal", 204),
        ("delete-normal", "vertrouwelijk", 403),
        ("delete-normal", "opgeheven", 403),
        ("delete-conf", "vertrouwelijk", 204),
        ("update-conf", "normaal", 403),
    ],
)
def test_delete_follows_the_delete_scopes(api: Api, who: str, current_value: str, status: int) -> None:
    """R-DEL-3; a refused delete leaves the action visible."""
    created = with_confidentiality(api, new_bsn(), current_value)
    r = api.delete(created["actieId"], who)
    if status == 403:
        assert_problem(r, 403, "permission_denied")
        assert api.get(created["actieId"]).status_code == 200
    else:
        assert r.status_code == 204
        assert api.get(created["actieId"]).status_code == 404


# == B3891 worked example (§8.1) ===================================================================

BRP_REGISTRATIE = "9f3a4c1e-2b7d-4e8f-a6c5-1d2e3f4a5b6c"
UITVOERING_FOOBAR = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def test_b3891_worked_example_end_to_end(api: Api) -> None:
    """§8.1 (B3891), R-VER-1..6, decisions.md 3 (/versies), R-PUT-*, R-PATCH-*, R-DEL-*."""
    bsn = "2308572" + new_bsn()[:3]
    w = str(uuid.uuid4())
    # t0: initial, vertrouwelijk, retention unknown
    v0 = api.create(
        actie(
            bsn,
            verwerkingId=w,
            verwerkingsactiviteitId=BRP_REGISTRATIE,
            bewaartermijn=None,
            vertrouwelijkheid="vertrouwelijk",
        ),
        "create-conf",
    )
    # t1: wrong activity corrected (PUT, update:confidential)
    r = api.put(v0["actieId"], editable(v0) | {"verwerkingsactiviteitId": UITVOERING_FOOBAR}, "update-conf")
    assert r.status_code == 200, r.text
    # t2: confidentiality lifted; t3: retention set; t4: confidential again (PATCH)
    for patch in ({"vertrouwelijkheid": "opgeheven"}, {"bewaartermijn": "P4Y"}, {"vertrouwelijkheid": "vertrouwelijk"}):
        assert api.patch(w, patch, "update-conf").status_code == 204
    # between t4 and t6 the current state is visible to read:confidential, by the first actieId
    now = api.get(v0["actieId"], "read-conf").json()
    assert (now["verwerkingsactiviteitId"], now["bewaartermijn"], now["vertrouwelijkheid"]) == (
        UITVOERING_FOOBAR,
        "P4Y",
        "vertrouwelijk",
    )
    assert ids(api.list(bsn, "read-conf", activity=UITVOERING_FOOBAR)) == [now["actieId"]]
    assert ids(api.list(bsn, "read-conf", activity=BRP_REGISTRATIE)) == []
    # t6: logically deleted (DELETE by the first actieId)
    assert api.delete(v0["actieId"], "delete-conf").status_code == 204
    assert_problem(api.get(now["actieId"], "read-conf"), 404, "not_found")
    assert ids(api.list(bsn, "read-conf", activity=UITVOERING_FOOBAR)) == []

    r = api.versies(now["actieId"], "read-conf")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 6
    versions = body["results"]
    table = [
        (v["verwerkingsactiviteitId"], v["bewaartermijn"], v["vertrouwelijkheid"], v["vervallen"]) for v in versions
    ]
    assert table == [
        (BRP_REGISTRATIE, None, "vertrouwelijk", False),
        (UITVOERING_FOOBAR, None, "vertrouwelijk", False),
        (UITVOERING_FOOBAR, None, "opgeheven", False),
        (UITVOERING_FOOBAR, "P4Y", "opgeheven", False),
        (UITVOERING_FOOBAR, "P4Y", "vertrouwelijk", False),
        (UITVOERING_FOOBAR, "P4Y", "vertrouwelijk", True),
    ]
    # each version its own actieId (the first one is the created one), own registration time, sequence
    actie_ids = [v["actieId"] for v in versions]
    assert actie_ids[0] == v0["actieId"] and actie_ids[4] == now["actieId"]
    assert len(set(actie_ids)) == 6 and all(UUID4.match(i) for i in actie_ids)
    assert [v["url"] for v in versions] == [f"http://testserver/api/v1/verwerkingsacties/{i}" for i in actie_ids]
    assert [v["versie"] for v in versions] == [1, 2, 3, 4, 5, 6]
    seqs = [v["volgnummer"] for v in versions]
    assert all(isinstance(s, int) for s in seqs) and seqs == sorted(set(seqs))
    moments = [datetime.fromisoformat(v["tijdstipRegistratie"]) for v in versions]
    assert all(EXPLICIT_OFFSET.search(v["tijdstipRegistratie"]) for v in versions)
    assert moments == sorted(moments)
    assert moments[0] == datetime.fromisoformat(v0["tijdstipRegistratie"])
    # the object keeps its identity in every version (R-VER-6; the PUT echoed it)
    assert {v["verwerkteObjecten"][0]["verwerktObjectId"] for v in versions} == {
        v0["verwerkteObjecten"][0]["verwerktObjectId"]
    }
    # any version's actieId gives the same history
    for other in (actie_ids[0], actie_ids[2], actie_ids[5]):
        assert api.versies(other, "read-conf").json()["results"] == versions
    # the history is for read:confidential only
    for who in ("read-normal", "normaal", "geen", "update-conf"):
        assert_problem(api.versies(v0["actieId"], who), 403, "permission_denied")
    assert_problem(api.versies(str(uuid.uuid4()), "read-conf"), 404, "not_found")
    assert invalid(api.versies("x", "read-conf")) == {("actieId", "invalid")}


# == confidentiality transitions (§9) ==============================================================


def _visibility(api: Api, bsn: str, actie_id: str, value: str) -> None:
    """§9 visibility matrix for the Bewerking list and single GET, for the current value."""
    normal_list = api.list(bsn, "read-normal")  # ?vertrouwelijkheid=normaal
    assert ids(normal_list) == ([actie_id] if value == "normaal" else [])
    if value != "normaal":
        r = api.list(bsn, "read-normal", vertrouwelijkheid=value)
        assert_problem(r, 403, "permission_denied")
    assert ids(api.list(bsn, "read-conf")) == [actie_id]
    assert ids(api.list(bsn, "read-conf", vertrouwelijkheid=value)) == [actie_id]
    others = sorted({"normaal", "vertrouwelijk", "opgeheven"} - {value})
    assert ids(api.list(bsn, "read-conf", vertrouwelijkheid=others)) == []
    single = api.get(actie_id, "read-normal")
    if value == "normaal":
        assert single.status_code == 200
    else:
        assert_problem(single, 403, "permission_denied")
    seen = api.get(actie_id, "read-conf")
    assert seen.status_code == 200 and seen.json()["vertrouwelijkheid"] == value


def test_who_sees_what_as_confidentiality_goes_normaal_vertrouwelijk_opgeheven_normaal(api: Api) -> None:
    """§9 visibility matrix, R-GETL-4/6, R-GETS-4, R-PATCH-4 (update:confidential sets any value)."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    w = created["verwerkingId"]
    _visibility(api, bsn, created["actieId"], "normaal")
    for value in ("vertrouwelijk", "opgeheven", "normaal"):
        assert api.patch(w, {"vertrouwelijkheid": value}, "update-conf").status_code == 204
        latest = api.get(created["actieId"], "read-conf").json()["actieId"]
        _visibility(api, bsn, latest, value)
    # the earlier states survive only in the history
    assert [v["vertrouwelijkheid"] for v in history(api, created["actieId"])] == [
        "normaal",
        "vertrouwelijk",
        "opgeheven",
        "normaal",
    ]


def test_patch_with_a_non_json_body_is_415(api: Api) -> None:
    """R-MT-1 on PATCH; nothing changes."""
    created = api.create(actie(new_bsn()))
    r = api.request(
        "PATCH",
        "/api/v1/verwerkingsacties",
        params={"verwerkingId": created["verwerkingId"]},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        content=b"bewaartermijn=P1Y",
    )
    assert_problem(r, 415, "unsupported_media_type")
    assert len(history(api, created["actieId"])) == 1
