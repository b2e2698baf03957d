"""GET /verwerkingsacties (§6.2) and GET /verwerkingsacties/{actieId} (§6.3): what a reading
application observes.

Covers R-GETL-1..8, R-PAG-1..4, R-VAL-5/11 on the query, R-GETS-1..4.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.bewerking_support import API_VERSION, assert_problem, invalid, with_confidentiality
from tests.helpers import TEST_ACTIVITY, Api, actie, new_bsn, person

LIST = "/api/v1/verwerkingsacties"


def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [a["actieId"] for a in r.json()["results"]]


def query(bsn: str, **params: Any) -> dict[str, Any]:
    return {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, **params}


# -- R-GETL-1: the object filter ---------------------------------------------------------------


def test_an_action_about_two_persons_shows_each_only_their_own_object(api: Api) -> None:
    """R-GETL-1: the filter applies to actions AND to their embedded objects."""
    a, b = new_bsn(), new_bsn()
    created = api.create(actie(a, b))
    for bsn in (a, b):
        r = api.list(bsn)
        [found] = r.json()["results"]
        assert found["actieId"] == created["actieId"]
        assert [o["objectId"] for o in found["verwerkteObjecten"]] == [bsn]
        [mine] = [o for o in created["verwerkteObjecten"] if o["objectId"] == bsn]
        assert found["verwerkteObjecten"] == [mine]


def test_a_person_occurring_twice_in_an_action_gets_both_occurrences(api: Api) -> None:
    """R-GETL-1: 'only the matching object(s)'."""
    a, b = new_bsn(), new_bsn()
    body = actie(verwerkteObjecten=[person(a, betrokkenheid="Partner"), person(b), person(a, betrokkenheid="Getuige")])
    api.create(body)
    listed = api.list(a).json()
    assert listed["count"] == 1  # R-GETL-8: count counts actions, not objects
    [found] = listed["results"]
    assert [(o["objectId"], o["betrokkenheid"]) for o in found["verwerkteObjecten"]] == [
        (a, "Partner"),
        (a, "Getuige"),
    ]


def test_one_single_object_must_match_all_three_parameters(api: Api) -> None:
    """R-GETL-1: kind and value from two different objects do not make a match."""
    value = new_bsn()
    api.create(actie(verwerkteObjecten=[person(value), {**person(new_bsn()), "soortObjectId": "Personeelsnummer"}]))
    r = api.request("GET", LIST, params=query(value, soortObjectId="Personeelsnummer"))
    assert ids(r) == []
    assert len(api.list(value).json()["results"]) == 1


def test_object_kind_and_value_match_exactly_but_objecttype_case_insensitively(api: Api) -> None:
    """R-GETL-1, R-VAL-8: soortObjectId/objectId are case-sensitive; objecttype is not."""
    value = "Ab" + new_bsn()
    created = api.create(actie(verwerkteObjecten=[{**person(value), "soortObjectId": "Klantnummer"}]))
    base = {"verwerkingsactiviteitId": TEST_ACTIVITY}
    exact = query(value, soortObjectId="Klantnummer", **base)
    assert ids(api.request("GET", LIST, params=exact)) == [created["actieId"]]
    assert ids(api.request("GET", LIST, params={**exact, "objecttype": "PERSOON"})) == [created["actieId"]]
    assert ids(api.request("GET", LIST, params={**exact, "soortObjectId": "klantnummer"})) == []
    assert ids(api.request("GET", LIST, params={**exact, "objectId": value.lower()})) == []


def test_all_attributes_are_returned_including_system_user_and_source(api: Api) -> None:
    """R-GETL-7."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    [found] = api.list(bsn).json()["results"]
    assert found == created
    assert found["systeem"] and found["gebruiker"] and found["gegevensbron"]


def test_only_the_current_version_of_a_corrected_action_is_listed(api: Api) -> None:
    """R-GETL-5."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    body = {k: v for k, v in created.items() if k not in ("url", "actieId", "tijdstipRegistratie")}
    new = api.put(created["actieId"], {**body, "actieNaam": "Gecorrigeerd"}).json()
    [found] = api.list(bsn).json()["results"]
    assert (found["actieId"], found["actieNaam"]) == (new["actieId"], "Gecorrigeerd")


# -- R-GETL-2: the half-open period ------------------------------------------------------------------


def test_dates_are_local_midnight_in_amsterdam_and_the_end_is_exclusive(api: Api) -> None:
    """R-GETL-2 (AMB-10): [start(begin), start(end)) in Europe/Amsterdam; CEST is UTC+2 on 1 April."""
    bsn = new_bsn()
    before = api.create(actie(bsn, tijdstip="2024-03-31T21:59:59Z"))  # 23:59:59 local, 31 March
    at_midnight = api.create(actie(bsn, tijdstip="2024-03-31T22:00:00Z"))  # 00:00 local, 1 April
    later = api.create(actie(bsn, tijdstip="2024-04-01T23:30:00+02:00"))  # 1 April local
    next_day = api.create(actie(bsn, tijdstip="2024-04-01T22:00:00Z"))  # 00:00 local, 2 April

    def between(begin: str | None, end: str | None) -> set[str]:
        params = {k: v for k, v in (("beginDatum", begin), ("eindDatum", end)) if v}
        return set(ids(api.list(bsn, **params)))

    assert between("2024-04-01", "2024-04-02") == {at_midnight["actieId"], later["actieId"]}
    assert between(None, "2024-04-01") == {before["actieId"]}
    assert between("2024-04-02", None) == {next_day["actieId"]}
    assert between("2024-03-31", "2024-04-01") == {before["actieId"]}
    assert len(between(None, None)) == 4


def test_winter_dates_start_at_utc_plus_one(api: Api) -> None:
    """R-GETL-2: the zone's offset on that date (CET, UTC+1) decides."""
    bsn = new_bsn()
    inside = api.create(actie(bsn, tijdstip="2024-01-14T23:00:00Z"))  # 00:00 local, 15 January
    api.create(actie(bsn, tijdstip="2024-01-14T22:59:59Z"))
    assert ids(api.list(bsn, beginDatum="2024-01-15", eindDatum="2024-01-16")) == [inside["actieId"]]


def test_equal_dates_give_an_empty_result(api: Api) -> None:
    """R-GETL-2: eindDatum = beginDatum → 200 with nothing."""
    bsn = new_bsn()
    api.create(actie(bsn, tijdstip="2024-04-05T12:00:00+02:00"))
    r = api.list(bsn, beginDatum="2024-04-05", eindDatum="2024-04-05")
    assert ids(r) == [] and r.json()["count"] == 0


def test_an_end_before_the_begin_is_invalid_range(api: Api) -> None:
    """R-GETL-2."""
    assert invalid(api.list(new_bsn(), beginDatum="2024-04-05", eindDatum="2024-04-04")) == {
        ("eindDatum", "invalid_range")
    }


@pytest.mark.parametrize("bad", ["05-04-2024", "2024-4-5", "2024-04-05T00:00:00Z", "2024-02-30", "morgen", ""])
def test_dates_must_be_yyyy_mm_dd(api: Api, bad: str) -> None:
    """R-VAL-5."""
    assert invalid(api.list(new_bsn(), beginDatum=bad, eindDatum=bad)) == {
        ("beginDatum", "invalid"),
        ("eindDatum", "invalid"),
    }


# -- R-GETL-3 / R-GETL-4 ------------------------------------------------------------------------


def test_the_activity_filter_matches_only_the_own_activity(api: Api) -> None:
    """R-GETL-3: verwerkingsactiviteitId, never verwerkingsactiviteitIdAfnemer; UUIDs case-insensitive."""
    bsn = new_bsn()
    a1, a2 = str(uuid.uuid4()), str(uuid.uuid4())
    own = api.create(actie(bsn, verwerkingsactiviteitId=a1))
    api.create(actie(bsn, verwerkingsactiviteitId=a2, verwerkingsactiviteitIdAfnemer=a1))
    assert ids(api.list(bsn, activity=a1)) == [own["actieId"]]
    assert ids(api.list(bsn, activity=a1.upper())) == [own["actieId"]]
    assert invalid(api.list(bsn, activity="geen-uuid")) == {("verwerkingsactiviteitId", "invalid")}


def test_the_confidentiality_filter_in_all_its_spellings(api: Api) -> None:
    """R-GETL-4 (AMB-04): repeated, comma-separated, vertrouwelijkheidIn (and its deprecated earlier name
    vertrouwelijkheid__in), case-insensitive; OR."""
    bsn = new_bsn()
    n = with_confidentiality(api, bsn, "normaal")["actieId"]
    v = with_confidentiality(api, bsn, "vertrouwelijk")["actieId"]
    o = with_confidentiality(api, bsn, "opgeheven")["actieId"]

    def found(**params: Any) -> set[str]:
        return set(ids(api.list(bsn, **params)))

    assert found() == {n, v, o}
    assert found(vertrouwelijkheid="normaal") == {n}
    assert found(vertrouwelijkheid=["vertrouwelijk", "opgeheven"]) == {v, o}
    assert found(vertrouwelijkheid="vertrouwelijk,opgeheven") == {v, o}
    assert found(vertrouwelijkheidIn="Vertrouwelijk,Opgeheven") == {v, o}
    assert found(vertrouwelijkheid="NORMAAL", vertrouwelijkheidIn="opgeheven") == {n, o}
    assert found(vertrouwelijkheid__in="Vertrouwelijk,Opgeheven") == {v, o}
    assert found(vertrouwelijkheid="NORMAAL", vertrouwelijkheid__in="opgeheven") == {n, o}
    assert invalid(api.list(bsn, vertrouwelijkheid="normaal,geheim")) == {("vertrouwelijkheid", "invalid_choice")}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"vertrouwelijkheid": "normaal"}, 200),
        ({"vertrouwelijkheid": "Normaal"}, 200),
        ({"vertrouwelijkheid__in": "normaal"}, 200),
        ({"vertrouwelijkheidIn": "normaal"}, 200),
        ({"vertrouwelijkheidIn": "normaal,opgeheven"}, 403),
        ({"vertrouwelijkheid": ["normaal", "normaal"]}, 200),
        ({}, 403),
        ({"vertrouwelijkheid": "opgeheven"}, 403),
        ({"vertrouwelijkheid": "vertrouwelijk"}, 403),
        ({"vertrouwelijkheid": ["normaal", "opgeheven"]}, 403),
        ({"vertrouwelijkheid": "normaal,vertrouwelijk"}, 403),
        ({"vertrouwelijkheid": "normaal", "vertrouwelijkheid__in": "opgeheven"}, 403),
    ],
)
def test_read_normal_may_list_only_with_exactly_normaal(api: Api, params: dict[str, Any], status: int) -> None:
    """R-GETL-6 (AMB-05)."""
    bsn = new_bsn()
    api.create(actie(bsn))
    r = api.request("GET", LIST, "read-normal", params=query(bsn, verwerkingsactiviteitId=TEST_ACTIVITY, **params))
    if status == 403:
        assert_problem(r, 403, "permission_denied")
    else:
        assert len(ids(r)) == 1


def test_read_normal_with_an_invalid_value_is_a_400_not_a_403(api: Api) -> None:
    """§4.9: validation (400) before the confidentiality rule (403)."""
    r = api.request("GET", LIST, "read-normal", params=query(new_bsn(), vertrouwelijkheid="geheim"))
    assert invalid(r) == {("vertrouwelijkheid", "invalid_choice")}


@pytest.mark.parametrize("who", ["geen", "update-conf", "delete-conf", "create-conf"])
def test_listing_needs_a_read_scope(api: Api, who: str) -> None:
    """§4.9 step 2, §19: no read:* scope → 403."""
    r = api.request("GET", LIST, who, params=query(new_bsn(), vertrouwelijkheid="normaal"))
    assert_problem(r, 403, "permission_denied")


# -- required and unknown parameters ---------------------------------------------------------------


def test_the_three_object_parameters_are_required_and_each_is_listed(api: Api) -> None:
    """§6.2 (AMB-34), §4.9: every missing parameter listed with code required."""
    assert invalid(api.request("GET", LIST)) == {
        ("objecttype", "required"),
        ("soortObjectId", "required"),
        ("objectId", "required"),
    }
    r = api.request("GET", LIST, params={"objecttype": "persoon", "objectId": "1"})
    assert invalid(r) == {("soortObjectId", "required")}


def test_object_parameter_values_are_validated(api: Api) -> None:
    """R-VAL-3, R-VAL-8 on the query."""
    r = api.request("GET", LIST, params=query("1" * 41, objecttype="ding", soortObjectId="x" * 243))
    assert invalid(r) == {
        ("objecttype", "invalid_choice"),
        ("soortObjectId", "max_length"),
        ("objectId", "max_length"),
    }


def test_unknown_query_parameters_are_refused(api: Api) -> None:
    """R-VAL-11 (AMB-39): including misspellings of known ones."""
    r = api.request("GET", LIST, params=query(new_bsn(), objectid="1", limit="10"))
    assert invalid(r) == {("objectid", "unknown_parameter"), ("limit", "unknown_parameter")}


def test_a_single_valued_parameter_may_not_be_repeated(api: Api) -> None:
    """R-VAL-11 / §6.2: objectId is one value."""
    r = api.request("GET", LIST, params=query([new_bsn(), new_bsn()]))
    assert invalid(r) == {("objectId", "invalid")}


# -- pagination: R-PAG-1..4, R-GETL-8 --------------------------------------------------------------


def _many(api: Api, bsn: str, n: int) -> list[dict[str, Any]]:
    """n actions with distinct tijdstippen, plus ties (same instant, different offsets)."""
    made = []
    for i in range(n):
        hour = 10 + i // 2
        moment = f"2024-05-01T{hour:02d}:00:00+02:00" if i % 2 == 0 else f"2024-05-01T{hour - 2:02d}:00:00Z"
        made.append(api.create(actie(bsn, tijdstip=moment)))
    return made


def test_the_list_is_ordered_by_instant_newest_first_and_is_stable_across_pages(api: Api) -> None:
    """R-PAG-4, R-GETL-8: tijdstip descending by instant (not by text), then version sequence;
    pages neither skip nor repeat."""
    bsn = new_bsn()
    made = _many(api, bsn, 7)
    full = api.list(bsn, pageSize=100).json()
    assert full["count"] == 7
    order = [a["actieId"] for a in full["results"]]
    assert set(order) == {m["actieId"] for m in made}
    instants = [datetime.fromisoformat(a["tijdstip"]) for a in full["results"]]
    assert instants == sorted(instants, reverse=True)
    # Ties (same instant written with different offsets) are broken by the stored sequence, always the same way.
    for size in (1, 2, 3):
        paged: list[str] = []
        page = 1
        while True:
            r = api.list(bsn, pageSize=size, page=page)
            assert r.json()["count"] == 7
            paged += ids(r)
            if r.json()["next"] is None:
                break
            page += 1
        assert paged == order
    assert api.list(bsn).json()["results"] == full["results"]


def test_instants_not_text_decide_the_order(api: Api) -> None:
    """R-PAG-4: 13:30Z is later than 14:00+01:00 (13:00Z) although it sorts lower as text."""
    bsn = new_bsn()
    earlier = api.create(actie(bsn, tijdstip="2024-04-05T14:00:00+01:00"))
    later = api.create(actie(bsn, tijdstip="2024-04-05T13:30:00Z"))
    assert ids(api.list(bsn)) == [later["actieId"], earlier["actieId"]]


def test_next_and_previous_are_absolute_links_that_keep_every_other_parameter(api: Api) -> None:
    """R-PAG-2."""
    bsn = new_bsn()
    _many(api, bsn, 5)
    params = {"pageSize": 2, "vertrouwelijkheid": ["normaal", "opgeheven"], "beginDatum": "2024-01-01"}
    first = api.list(bsn, **params).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    nxt = first["next"]
    assert nxt.startswith("http://testserver/api/v1/verwerkingsacties?")
    q = parse_qs(urlsplit(nxt).query)
    assert q["page"] == ["2"]
    assert q["pageSize"] == ["2"]
    assert sorted(q["vertrouwelijkheid"]) == ["normaal", "opgeheven"]
    assert q["beginDatum"] == ["2024-01-01"]
    assert q["objectId"] == [bsn] and q["verwerkingsactiviteitId"] == [TEST_ACTIVITY]

    second = api.request("GET", nxt).json()
    assert len(second["results"]) == 2
    assert parse_qs(urlsplit(second["previous"]).query)["page"] == ["1"]
    third = api.request("GET", second["next"]).json()
    assert len(third["results"]) == 1 and third["next"] is None
    assert parse_qs(urlsplit(third["previous"]).query)["page"] == ["2"]


def test_a_single_page_has_no_links_and_the_default_page_size_is_100(api: Api) -> None:
    """R-PAG-1/2."""
    bsn = new_bsn()
    api.create(actie(bsn))
    body = api.list(bsn).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)


@pytest.mark.parametrize("size", ["1", "1000"])
def test_page_size_bounds_are_inclusive(api: Api, size: str) -> None:
    """R-PAG-1."""
    bsn = new_bsn()
    api.create(actie(bsn))
    assert len(ids(api.list(bsn, pageSize=size))) == 1


@pytest.mark.parametrize("size", ["0", "1001", "-1", "abc", "1.5", "", "²"])
def test_page_size_outside_1_to_1000_is_refused(api: Api, size: str) -> None:
    """R-PAG-1."""
    assert invalid(api.list(new_bsn(), pageSize=size)) == {("pageSize", "invalid")}


@pytest.mark.parametrize("page", ["0", "-1", "x", "", "²"])
def test_page_must_be_a_whole_number_of_at_least_one(api: Api, page: str) -> None:
    """R-PAG-3."""
    assert invalid(api.list(new_bsn(), page=page)) == {("page", "invalid")}


def test_page_one_of_nothing_is_fine_but_page_two_is_beyond_the_end(api: Api) -> None:
    """R-PAG-3."""
    bsn = new_bsn()
    r = api.list(bsn, page=1)
    assert r.status_code == 200 and r.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert invalid(api.list(bsn, page=2)) == {("page", "invalid")}


def test_a_page_beyond_the_last_is_refused(api: Api) -> None:
    """R-PAG-3: last page = ⌈count / size⌉."""
    bsn = new_bsn()
    _many(api, bsn, 3)
    assert len(ids(api.list(bsn, pageSize=2, page=2))) == 1
    assert invalid(api.list(bsn, pageSize=2, page=3)) == {("page", "invalid")}


def test_a_list_response_is_json_with_the_api_version(api: Api) -> None:
    """R-HDR-1."""
    r = api.list(new_bsn())
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == "application/json"
    assert r.headers["API-version"] == API_VERSION


# -- GET single: R-GETS-1..4 ------------------------------------------------------------------------


def test_reading_one_action_returns_all_its_objects(api: Api) -> None:
    """§6.3: no object filter on the single read; all attributes."""
    created = api.create(actie(new_bsn(), new_bsn()))
    r = api.get(created["actieId"])
    assert r.status_code == 200 and r.headers["API-version"] == API_VERSION
    assert r.json() == created


def test_an_uppercase_actie_id_in_the_path_is_the_same_action(api: Api) -> None:
    """R-VAL-1 on the path."""
    created = api.create(actie(new_bsn()))
    assert api.get(created["actieId"].upper()).json() == created


@pytest.mark.parametrize("bad", ["123", "5f0bef4cf66f431184a519e8bf359eaf", "5f0bef4c-f66f-4311-84a5-19e8bf359eaz"])
def test_a_malformed_actie_id_is_400(api: Api, bad: str) -> None:
    """R-GETS-1."""
    assert invalid(api.get(bad)) == {("actieId", "invalid")}


def test_an_unknown_actie_id_is_404(api: Api) -> None:
    """R-GETS-3."""
    assert_problem(api.get(str(uuid.uuid4())), 404, "not_found")


def test_an_old_version_id_returns_the_current_version(api: Api) -> None:
    """R-GETS-2 (AMB-44): the response's actieId/url are the current version's."""
    created = api.create(actie(new_bsn()))
    assert api.patch(created["verwerkingId"], {"bewaartermijn": "P4Y"}).status_code == 204
    current = api.get(created["actieId"]).json()
    assert current["actieId"] != created["actieId"]
    assert current["url"].endswith(current["actieId"])
    assert current["bewaartermijn"] == "P4Y"
    assert api.get(current["actieId"]).json() == current


def test_a_deleted_action_is_404_by_any_of_its_ids(api: Api) -> None:
    """R-GETS-3, R-DEL-4."""
    created = api.create(actie(new_bsn()))
    assert api.patch(created["verwerkingId"], {"bewaartermijn": "P4Y"}).status_code == 204
    current = api.get(created["actieId"]).json()
    assert api.delete(current["actieId"]).status_code == 204
    for actie_id in (created["actieId"], current["actieId"]):
        assert_problem(api.get(actie_id), 404, "not_found")


@pytest.mark.parametrize(
    ("who", "current", "status"),
    [
        ("read-normal", "normaal", 200),
        ("read-normal", "vertrouwelijk", 403),
        ("read-normal", "opgeheven", 403),
        ("normaal", "vertrouwelijk", 403),
        ("read-conf", "normaal", 200),
        ("read-conf", "vertrouwelijk", 200),
        ("read-conf", "opgeheven", 200),
        ("geen", "normaal", 403),
        ("update-conf", "normaal", 403),
    ],
)
def test_reading_one_action_follows_the_read_scopes(api: Api, who: str, current: str, status: int) -> None:
    """R-GETS-4, §19: read:normal only on normaal; no read scope → 403."""
    created = with_confidentiality(api, new_bsn(), current)
    r = api.get(created["actieId"], who)
    if status == 403:
        assert_problem(r, 403, "permission_denied")
    else:
        assert r.status_code == 200 and r.json()["vertrouwelijkheid"] == current


def test_an_unknown_query_parameter_on_a_single_read_is_refused(api: Api) -> None:
    """R-VAL-11."""
    created = api.create(actie(new_bsn()))
    r = api.request("GET", f"{LIST}/{created['actieId']}", params={"expand": "1"})
    assert invalid(r) == {("expand", "unknown_parameter")}


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("Bewaartermijn", "tien jaar", "invalid"),
        ("Bewaartermijn", "0", "invalid"),  # a bare number must be a positive number of years
        ("OIN", "123", "invalid"),
        ("VerwerkingId", "x", "invalid"),
        ("Vertrouwelijkheid", "geheim", "invalid_choice"),
    ],
)
def test_a_present_but_malformed_consumer_header_is_400(api: Api, header: str, value: str, code: str) -> None:
    """§10.4: on the Bewerking API the headers are optional, but a present malformed value → 400."""
    r = api.request("GET", LIST, headers={header: value}, params=query(new_bsn()))
    assert invalid(r) == {(header, code)}


def test_an_accept_header_excluding_json_is_406_on_reads(api: Api) -> None:
    """R-MT-2 on GET list and GET single."""
    created = api.create(actie(new_bsn()))
    r = api.request("GET", LIST, headers={"Accept": "text/html"}, params=query(new_bsn()))
    assert_problem(r, 406, "not_acceptable")
    r = api.request("GET", f"{LIST}/{created['actieId']}", headers={"Accept": "application/xml"})
    assert_problem(r, 406, "not_acceptable")


def test_an_unknown_path_is_a_404_problem_with_the_api_version(api: Api) -> None:
    """R-HDR-1, §4.5: also errors outside the operations carry API-version and a Fout body."""
    assert_problem(api.request("GET", "/api/v1/verwerkingsactie"), 404, "not_found")


def test_a_nul_character_in_the_person_query_is_400(api: Api) -> None:
    """R-VAL-9 on the query: the queried person is also written to the self-log, so it must be storable."""
    r = api.request("GET", LIST, params=query("123\x00", soortObjectId="BSN\x00"))
    assert invalid(r) == {("soortObjectId", "invalid"), ("objectId", "invalid")}
