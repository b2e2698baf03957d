"""POST /verwerkingsacties (§6.1): what a logging client observes when it logs an action.

Covers R-POST-1..8, R-HDR-1/2, R-VAL-1..13 on the body, R-MT-1/2, §4.5 error bodies, §4.7 null
rendering, R-AUTH-1 and R-TX-1.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from tests.bewerking_support import (
    API_VERSION,
    CLIENT_KEYS,
    EXPLICIT_OFFSET,
    UUID4,
    assert_problem,
    invalid,
    token,
)
from tests.helpers import TEST_ACTIVITY, Api, actie, new_bsn, person

PATH = "/api/v1/verwerkingsacties"

RESPONSE_KEYS = {*CLIENT_KEYS, "url", "actieId", "tijdstipRegistratie", "verwerkteObjecten"}
OBJECT_KEYS = {"url", "verwerktObjectId", "objecttype", "soortObjectId", "objectId", "betrokkenheid"}
OBJECT_KEYS |= {"verwerkteSoortenGegevens"}


def minimal(bsn: str) -> dict[str, Any]:
    """Minimal logging (§15.1) reduced to what the OAS requires."""
    return {"vertrouwelijkheid": "normaal", "tijdstip": "2024-04-05T14:35:42+01:00", "verwerkteObjecten": [person(bsn)]}


def post_raw(api: Api, content: bytes, content_type: str | None = "application/json", **headers: str) -> Any:
    h = dict(headers)
    if content_type is not None:
        h["Content-Type"] = content_type
    return api.request("POST", PATH, "alles", headers=h, content=content)


def listed_ids(api: Api, bsn: str) -> list[str]:
    r = api.list(bsn)
    assert r.status_code == 200, r.text
    return [a["actieId"] for a in r.json()["results"]]


# -- success: R-POST-3..6, R-HDR-1/2, §4.7 ---------------------------------------------------------


def test_logging_an_action_returns_201_with_location_equal_to_its_url(api: Api) -> None:
    """R-POST-4, R-POST-6, R-HDR-2, R-HDR-1: 201, Location = url, API-version, JSON body."""
    bsn = new_bsn()
    r = api.post(actie(bsn))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].split(";")[0] == "application/json"
    assert r.headers["API-version"] == API_VERSION
    body = r.json()
    assert r.headers["Location"] == body["url"]
    assert body["url"] == f"http://testserver/api/v1/verwerkingsacties/{body['actieId']}"
    # The Location can be followed.
    followed = api.get(body["actieId"])
    assert followed.status_code == 200
    assert followed.json() == body


def test_created_action_gets_random_uuid4_ids_and_a_registration_time_with_offset(api: Api) -> None:
    """R-POST-4, R-VAL-1 (ids the register issues are random v4 UUIDs, lowercase)."""
    before = datetime.now(UTC)
    created = api.create(actie(new_bsn(), new_bsn()))
    after = datetime.now(UTC)
    assert UUID4.match(created["actieId"])
    ids = [o["verwerktObjectId"] for o in created["verwerkteObjecten"]]
    assert all(UUID4.match(i) for i in ids)
    assert len(set(ids)) == 2 and created["actieId"] not in ids
    for o in created["verwerkteObjecten"]:
        assert o["url"] == f"http://testserver/api/v1/verwerkte-objecten/{o['verwerktObjectId']}"
    registered = created["tijdstipRegistratie"]
    assert EXPLICIT_OFFSET.search(registered), registered
    moment = datetime.fromisoformat(registered)
    assert before.timestamp() - 1 <= moment.timestamp() <= after.timestamp() + 1


def test_every_other_element_echoes_the_request(api: Api) -> None:
    """R-POST-4, R-POST-6: all client attributes are taken from the request unchanged."""
    body = actie(
        new_bsn(),
        soortAfnemerId="OIN",
        afnemerId="00000001821002193000",
        verwerkingsactiviteitIdAfnemer=str(uuid.uuid4()),
        verwerkingsactiviteitUrlAfnemer="https://var.afnemer.nl/api/v1/verwerkingsactiviteit/1",
        verwerkingIdAfnemer=str(uuid.uuid4()),
    )
    created = api.create(body)
    assert set(created) == RESPONSE_KEYS
    for key in CLIENT_KEYS:
        assert created[key] == body[key], key
    [obj] = created["verwerkteObjecten"]
    assert set(obj) == OBJECT_KEYS
    sent = body["verwerkteObjecten"][0]
    assert {k: obj[k] for k in sent} == sent


def test_unsent_optional_elements_are_returned_as_null_and_empty_lists(api: Api) -> None:
    """§4.7, R-POST-6, R-VAL-13: every key is present; absent scalars are null, soorten gegevens []."""
    created = api.create(minimal(new_bsn()))
    assert set(created) == RESPONSE_KEYS
    for key in set(CLIENT_KEYS) - {"vertrouwelijkheid", "tijdstip"}:
        assert created[key] is None, key
    [obj] = created["verwerkteObjecten"]
    assert set(obj) == OBJECT_KEYS
    assert obj["betrokkenheid"] is None
    assert obj["verwerkteSoortenGegevens"] == []


def test_null_on_every_optional_element_is_accepted_as_absent(api: Api) -> None:
    """R-VAL-13, §4.7: a body with every optional key present as null is accepted."""
    body = {key: None for key in CLIENT_KEYS}
    body |= {"vertrouwelijkheid": "normaal", "tijdstip": "2024-04-05T14:35:42Z"}
    body["verwerkteObjecten"] = [person(new_bsn(), betrokkenheid=None, verwerkteSoortenGegevens=None)]
    created = api.create(body)
    for key in set(CLIENT_KEYS) - {"vertrouwelijkheid", "tijdstip"}:
        assert created[key] is None, key
    assert created["verwerkteObjecten"][0]["betrokkenheid"] is None
    assert created["verwerkteObjecten"][0]["verwerkteSoortenGegevens"] == []


def test_an_action_without_objects_is_accepted_and_never_found_by_person(api: Api) -> None:
    """R-POST-7 (AMB-40): `verwerkteObjecten: []` is accepted."""
    created = api.create(actie())
    assert created["verwerkteObjecten"] == []
    again = api.get(created["actieId"])
    assert again.status_code == 200
    assert again.json()["verwerkteObjecten"] == []


def test_read_only_fields_sent_by_the_client_are_ignored(api: Api) -> None:
    """R-POST-5, R-VAL-10: url, actieId, tijdstipRegistratie, verwerktObjectId and object url are
    accepted and ignored."""
    fake = str(uuid.uuid4())
    obj = person(new_bsn(), url="https://elders.example/objects/1", verwerktObjectId=fake)
    body = actie(
        url="https://elders.example/acties/1",
        actieId=fake,
        tijdstipRegistratie="1999-01-01T00:00:00Z",
        verwerkteObjecten=[obj],
    )
    first = api.create(body)
    second = api.create(body)
    for created in (first, second):
        assert created["actieId"] != fake
        assert created["url"].startswith("http://testserver/api/v1/verwerkingsacties/")
        assert not created["tijdstipRegistratie"].startswith("1999")
        assert created["verwerkteObjecten"][0]["verwerktObjectId"] != fake
        assert created["verwerkteObjecten"][0]["url"].startswith("http://testserver/")
    assert first["actieId"] != second["actieId"]


def test_the_action_is_durable_and_findable_after_201(api: Api) -> None:
    """R-POST-8 (R-TX-2): after 201 the action is stored and found by person."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    assert listed_ids(api, bsn) == [created["actieId"]]


# -- scopes: R-POST-1..3 ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alles", "normaal", "geen", "read-conf", "create-conf"])
def test_any_registered_client_may_log_a_normaal_action(api: Api, who: str) -> None:
    """R-POST-3, R-SCOPE-3 (AMB-23): no scope check for normaal."""
    assert api.post(actie(new_bsn()), who).status_code == 201


@pytest.mark.parametrize(("who", "status"), [("create-conf", 201), ("alles", 201), ("normaal", 403), ("geen", 403)])
def test_a_vertrouwelijk_action_needs_create_confidential(api: Api, who: str, status: int) -> None:
    """R-POST-1."""
    bsn = new_bsn()
    r = api.post(actie(bsn, vertrouwelijkheid="vertrouwelijk"), who)
    if status == 403:
        assert_problem(r, 403, "permission_denied")
        assert listed_ids(api, bsn) == []
    else:
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("who", ["alles", "create-conf", "geen"])
def test_an_opgeheven_action_can_never_be_logged(api: Api, who: str) -> None:
    """R-POST-2 (AMB-25): 403, nothing stored."""
    bsn = new_bsn()
    assert_problem(api.post(actie(bsn, vertrouwelijkheid="opgeheven"), who), 403, "permission_denied")
    assert listed_ids(api, bsn) == []


def test_validation_comes_before_the_confidentiality_rule(api: Api) -> None:
    """§4.9: an invalid body is a 400 even when its vertrouwelijkheid would also be refused."""
    r = api.post(actie(new_bsn(), vertrouwelijkheid="vertrouwelijk", uitvoerder="123"), "normaal")
    assert invalid(r) == {("uitvoerder", "invalid")}


# -- R-VAL-1: UUIDs -----------------------------------------------------------------------------

UUID_FIELDS = ("verwerkingId", "verwerkingsactiviteitId", "verwerkingsactiviteitIdAfnemer", "verwerkingIdAfnemer")


def test_uppercase_uuids_are_accepted_and_returned_lowercase(api: Api) -> None:
    """R-VAL-1: case-insensitive input, lowercase output."""
    values = {f: str(uuid.uuid4()).upper() for f in UUID_FIELDS}
    created = api.create(actie(new_bsn(), **values))
    for f, v in values.items():
        assert created[f] == v.lower(), f


def test_uuids_of_any_version_are_accepted(api: Api) -> None:
    """R-VAL-1: any version (here a v1 and a v7-shaped UUID)."""
    v1 = str(uuid.uuid1())
    v7ish = "018f2b6e-8a3c-7cde-9f01-23456789abcd"
    created = api.create(actie(new_bsn(), verwerkingId=v1, verwerkingIdAfnemer=v7ish))
    assert (created["verwerkingId"], created["verwerkingIdAfnemer"]) == (v1, v7ish)


@pytest.mark.parametrize(
    "bad",
    [
        "5f0bef4cf66f431184a519e8bf359eaf",  # no dashes
        "5f0bef4c-f66f-4311-84a5-19e8bf359ea",  # 35 characters
        "5f0bef4c-f66f-4311-84a5-19e8bf359eaff",  # 37 characters
        "5f0bef4g-f66f-4311-84a5-19e8bf359eaf",  # not hexadecimal
        "{5f0bef4c-f66f-4311-84a5-19e8bf359eaf}",  # braces
        "5f0bef4c-f66f-4311-84a5-19e8bf359eaf\n",  # trailing newline
        " 5f0bef4c-f66f-4311-84a5-19e8bf359eaf",  # leading space
        "",
    ],
)
@pytest.mark.parametrize("field", UUID_FIELDS)
def test_malformed_uuids_are_rejected(api: Api, field: str, bad: str) -> None:
    """R-VAL-1."""
    assert invalid(api.post(actie(new_bsn(), **{field: bad}))) == {(field, "invalid")}


# -- R-VAL-2: OIN -------------------------------------------------------------------------------


def test_an_oin_of_exactly_20_digits_with_leading_zeros_is_kept(api: Api) -> None:
    """R-VAL-2."""
    assert api.create(actie(new_bsn(), uitvoerder="00000000000000000001"))["uitvoerder"] == "00000000000000000001"


@pytest.mark.parametrize(
    "bad",
    [
        "0000000182100219300",  # 19 digits
        "000000018210021930001",  # 21 digits (the unanchored OAS pattern would accept it)
        "x00000001821002193000y",  # embedded
        "0000000182100219300A",
        "00000001821002193000\n",  # trailing newline
        "０００００００１８２１００２１９３０００",  # fullwidth digits
        "",
    ],
)
def test_an_oin_must_be_exactly_20_ascii_digits(api: Api, bad: str) -> None:
    """R-VAL-2 (AMB-16): the pattern is anchored."""
    assert invalid(api.post(actie(new_bsn(), uitvoerder=bad))) == {("uitvoerder", "invalid")}


def test_an_oin_sent_as_a_number_is_rejected(api: Api) -> None:
    """R-VAL-2, R-VAL-9."""
    assert invalid(api.post(actie(new_bsn(), uitvoerder=1821002193000))) == {("uitvoerder", "invalid")}


def test_afnemer_id_may_be_a_bsn(api: Api) -> None:
    """AMB-17: afnemerId is an identificator (≤ 40), no OIN pattern."""
    created = api.create(actie(new_bsn(), soortAfnemerId="BSN", afnemerId="999993653"))
    assert (created["soortAfnemerId"], created["afnemerId"]) == ("BSN", "999993653")


# -- R-VAL-3: lengths in code points ----------------------------------------------------------------

NAAM_TOP = ("actieNaam", "handelingNaam", "verwerkingNaam", "systeem", "gegevensbron", "soortAfnemerId")
IDENTIFICATOR_TOP = ("gebruiker", "afnemerId")


def _with_object(bsn: str, **obj: Any) -> dict[str, Any]:
    return actie(verwerkteObjecten=[{**person(bsn), **obj}])


def _length_cases() -> list[tuple[str, int, Any]]:
    """(invalidParams name, limit, body factory taking a value)."""
    cases: list[tuple[str, int, Any]] = []
    for f in NAAM_TOP:
        cases.append((f, 242, lambda v, f=f: actie(new_bsn(), **{f: v})))
    for f in IDENTIFICATOR_TOP:
        cases.append((f, 40, lambda v, f=f: actie(new_bsn(), **{f: v})))
    cases.append(("verwerkteObjecten.0.soortObjectId", 242, lambda v: _with_object(new_bsn(), soortObjectId=v)))
    cases.append(("verwerkteObjecten.0.objectId", 40, lambda v: _with_object(new_bsn(), objectId=v)))
    cases.append(("verwerkteObjecten.0.betrokkenheid", 242, lambda v: _with_object(new_bsn(), betrokkenheid=v)))
    cases.append(
        (
            "verwerkteObjecten.0.verwerkteSoortenGegevens.0.soortGegeven",
            242,
            lambda v: _with_object(new_bsn(), verwerkteSoortenGegevens=[{"soortGegeven": v}]),
        )
    )
    return cases


LENGTH_CASES = _length_cases()


@pytest.mark.parametrize(("name", "limit", "make"), LENGTH_CASES, ids=[c[0] for c in LENGTH_CASES])
def test_maximum_lengths_are_counted_in_code_points(api: Api, name: str, limit: int, make: Any) -> None:
    """R-VAL-3: at the limit in 4-byte characters is fine, one more is max_length."""
    at_limit = "😀" * limit
    r = api.post(make(at_limit))
    assert r.status_code == 201, r.text
    assert at_limit in json.dumps(r.json(), ensure_ascii=False)
    assert invalid(api.post(make("é" * (limit + 1)))) == {(name, "max_length")}


@pytest.mark.parametrize("field", ["verwerkingsactiviteitUrl", "verwerkingsactiviteitUrlAfnemer"])
def test_uri_length_is_at_most_2042(api: Api, field: str) -> None:
    """R-VAL-3, R-VAL-7."""
    base = "https://var.example.nl/"
    ok = base + "a" * (2042 - len(base))
    assert api.create(actie(new_bsn(), **{field: ok}))[field] == ok
    assert invalid(api.post(actie(new_bsn(), **{field: ok + "x"}))) == {(field, "max_length")}


# -- R-VAL-4: date-time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        "2024-04-05T14:35:42+01:00",
        "2024-04-05T14:35:42Z",
        "2024-04-05T14:35:42+00:00",
        "2024-04-05T09:05:42-03:30",
        "2024-04-05T20:20:42+05:45",
        "2024-04-05T14:35:42.123456+02:00",
        "2024-04-05T14:35:42.1+02:00",
    ],
)
def test_tijdstip_is_returned_exactly_as_sent_with_its_own_offset(api: Api, moment: str) -> None:
    """R-VAL-4 (AMB-36): no time-zone conversion, on create and on later reads."""
    created = api.create(actie(new_bsn(), tijdstip=moment))
    assert created["tijdstip"] == moment
    assert api.get(created["actieId"]).json()["tijdstip"] == moment


@pytest.mark.parametrize(
    "bad",
    [
        "2024-04-05T14:35:42",  # no offset
        "2024-04-05",  # a date
        "2024-04-05T14:35:42+0100",  # offset without colon
        "2024-02-30T14:35:42+01:00",  # no such day
        "2024-04-05T25:35:42+01:00",  # no such hour
        "05-04-2024T14:35:42+01:00",
        "2024-04-05T14:35:42+01:00\n",  # trailing newline
        "２０２４-04-05T14:35:42+01:00",  # fullwidth digits
        "gisteren",
        "",
    ],
)
def test_tijdstip_without_explicit_offset_or_malformed_is_rejected(api: Api, bad: str) -> None:
    """R-VAL-4."""
    assert invalid(api.post(actie(new_bsn(), tijdstip=bad))) == {("tijdstip", "invalid")}


# -- R-VAL-6: durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "duration", ["P10Y", "P150Y", "P6M", "P2W", "P1DT12H", "PT36H", "P3Y6M4DT12H30M5S", "PT1.5S", "P0.5Y", "P1Y0M"]
)
def test_iso_8601_durations_and_weeks_are_accepted(api: Api, duration: str) -> None:
    """R-VAL-6 (AMB-09: PnW accepted)."""
    assert api.create(actie(new_bsn(), bewaartermijn=duration))["bewaartermijn"] == duration


@pytest.mark.parametrize(
    "bad",
    [
        "150",  # AMB-08: bare numbers only in the propagated header
        "P",
        "PT",
        "-P1Y",
        "P1YT",
        "P1.5Y2M",  # fraction not on the last component
        "P2W1D",
        "10 jaar",
        "P10Y\n",
        "P１０Y",  # fullwidth digits
        "",
    ],
)
def test_malformed_durations_are_rejected(api: Api, bad: str) -> None:
    """R-VAL-6."""
    assert invalid(api.post(actie(new_bsn(), bewaartermijn=bad))) == {("bewaartermijn", "invalid")}


def test_a_duration_sent_as_a_number_is_rejected(api: Api) -> None:
    """R-VAL-6, R-VAL-9."""
    assert invalid(api.post(actie(new_bsn(), bewaartermijn=150))) == {("bewaartermijn", "invalid")}


# -- R-VAL-7: URIs ------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["https://var.example.nl/x", "urn:uuid:5f0bef4c-f66f-4311-84a5-19e8bf359eaf"])
def test_absolute_uris_are_accepted(api: Api, uri: str) -> None:
    """R-VAL-7."""
    assert api.create(actie(new_bsn(), verwerkingsactiviteitUrl=uri))["verwerkingsactiviteitUrl"] == uri


@pytest.mark.parametrize("bad", ["var.example.nl/x", "/api/v1/x", "https://var.example.nl/a b", "https://x.nl\n", ""])
def test_relative_or_malformed_uris_are_rejected(api: Api, bad: str) -> None:
    """R-VAL-7."""
    r = api.post(actie(new_bsn(), verwerkingsactiviteitUrlAfnemer=bad))
    assert invalid(r) == {("verwerkingsactiviteitUrlAfnemer", "invalid")}


# -- R-VAL-8: enums -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Normaal", "NORMAAL", "normaal", "nOrMaAl"])
def test_enum_values_are_matched_case_insensitively_and_emitted_lowercase(api: Api, spelling: str) -> None:
    """R-VAL-8 (AMB-07)."""
    body = actie(vertrouwelijkheid=spelling, verwerkteObjecten=[{**person(new_bsn()), "objecttype": "Persoon"}])
    created = api.create(body)
    assert created["vertrouwelijkheid"] == "normaal"
    assert created["verwerkteObjecten"][0]["objecttype"] == "persoon"


def test_capitalised_vertrouwelijk_still_needs_create_confidential(api: Api) -> None:
    """R-VAL-8 with R-POST-1: the scope rule applies to the normalised value."""
    assert_problem(api.post(actie(new_bsn(), vertrouwelijkheid="Vertrouwelijk"), "normaal"), 403, "permission_denied")
    assert api.create(actie(new_bsn(), vertrouwelijkheid="Vertrouwelijk"))["vertrouwelijkheid"] == "vertrouwelijk"


def test_unknown_enum_values_are_invalid_choice(api: Api) -> None:
    """R-VAL-8."""
    body = actie(vertrouwelijkheid="geheim", verwerkteObjecten=[{**person(new_bsn()), "objecttype": "organisatie"}])
    assert invalid(api.post(body)) == {
        ("vertrouwelijkheid", "invalid_choice"),
        ("verwerkteObjecten.0.objecttype", "invalid_choice"),
    }


# -- R-VAL-9: strings ---------------------------------------------------------------------------


def test_numbers_and_booleans_are_not_strings(api: Api) -> None:
    """R-VAL-9: objectId as a number, actieNaam as a boolean, vertrouwelijkheid as a number."""
    body = actie(actieNaam=True, vertrouwelijkheid=1, verwerkteObjecten=[{**person("x"), "objectId": 2308572}])
    assert invalid(api.post(body)) == {
        ("actieNaam", "invalid"),
        ("vertrouwelijkheid", "invalid"),
        ("verwerkteObjecten.0.objectId", "invalid"),
    }


def test_strings_are_kept_with_their_whitespace_and_may_be_empty(api: Api) -> None:
    """R-VAL-9: no trimming; empty strings allowed where not required."""
    bsn = new_bsn()
    created = api.create(actie(bsn, actieNaam="  Zoeken personen  ", handelingNaam="", gebruiker=" u1 "))
    assert (created["actieNaam"], created["handelingNaam"], created["gebruiker"]) == ("  Zoeken personen  ", "", " u1 ")


def test_object_list_and_object_shapes_must_be_json_arrays_and_objects(api: Api) -> None:
    """R-VAL-9 analogue for structures: wrong JSON types are reported per path."""
    assert invalid(api.post(actie(verwerkteObjecten={"0": person("1")}))) == {("verwerkteObjecten", "invalid")}
    assert invalid(api.post(actie(verwerkteObjecten=["2308572"]))) == {("verwerkteObjecten.0", "invalid")}


# -- R-VAL-10: unknown fields --------------------------------------------------------------------


def test_unknown_fields_are_refused_at_every_level(api: Api) -> None:
    """R-VAL-10 (AMB-39): a misspelt property is not silently dropped."""
    obj = {**person(new_bsn()), "rol": "x", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam", "extra": 1}]}
    body = actie(verwerkingsactiviteitID=TEST_ACTIVITY, vervallen=False, verwerkteObjecten=[obj])
    assert invalid(api.post(body)) == {
        ("verwerkingsactiviteitID", "unknown_field"),
        ("vervallen", "unknown_field"),
        ("verwerkteObjecten.0.rol", "unknown_field"),
        ("verwerkteObjecten.0.verwerkteSoortenGegevens.0.extra", "unknown_field"),
    }


def test_an_unknown_field_with_null_is_still_unknown(api: Api) -> None:
    """R-VAL-10."""
    assert invalid(api.post(actie(new_bsn(), foo=None))) == {("foo", "unknown_field")}


# -- R-VAL-13: required and null ----------------------------------------------------------------


def test_every_missing_required_property_is_listed(api: Api) -> None:
    """R-VAL-13 / §6.1 required properties, all listed at once (§4.9 step 3)."""
    assert invalid(api.post({"verwerkteObjecten": [{"verwerkteSoortenGegevens": [{}]}]})) == {
        ("vertrouwelijkheid", "required"),
        ("tijdstip", "required"),
        ("verwerkteObjecten.0.objecttype", "required"),
        ("verwerkteObjecten.0.soortObjectId", "required"),
        ("verwerkteObjecten.0.objectId", "required"),
        ("verwerkteObjecten.0.verwerkteSoortenGegevens.0.soortGegeven", "required"),
    }
    assert invalid(api.post({"vertrouwelijkheid": "normaal", "tijdstip": "2024-04-05T14:35:42Z"})) == {
        ("verwerkteObjecten", "required")
    }


def test_null_on_a_required_property_is_code_null(api: Api) -> None:
    """R-VAL-13."""
    obj = {"objecttype": None, "soortObjectId": None, "objectId": None, "verwerkteSoortenGegevens": [None]}
    assert invalid(api.post(actie(vertrouwelijkheid=None, tijdstip=None, verwerkteObjecten=[obj]))) == {
        ("vertrouwelijkheid", "null"),
        ("tijdstip", "null"),
        ("verwerkteObjecten.0.objecttype", "null"),
        ("verwerkteObjecten.0.soortObjectId", "null"),
        ("verwerkteObjecten.0.objectId", "null"),
        ("verwerkteObjecten.0.verwerkteSoortenGegevens.0", "null"),
    }
    assert invalid(api.post(actie(verwerkteObjecten=None))) == {("verwerkteObjecten", "null")}
    obj2 = {**person(new_bsn()), "verwerkteSoortenGegevens": [{"soortGegeven": None}]}
    assert invalid(api.post(actie(verwerkteObjecten=[obj2]))) == {
        ("verwerkteObjecten.0.verwerkteSoortenGegevens.0.soortGegeven", "null")
    }


def test_all_problems_are_listed_at_once_with_dotted_names(api: Api) -> None:
    """§4.5, §4.9 step 3: invalidParams lists every problem, body paths as dotted names."""
    body = actie(
        new_bsn(),
        new_bsn(),
        verwerkingId="nope",
        uitvoerder="1",
        bewaartermijn="150",
        tijdstip="2024-04-05T14:35:42",
    )
    body["verwerkteObjecten"][1]["objectId"] = "1" * 41
    body["verwerkteObjecten"][1]["objecttype"] = "ding"
    assert invalid(api.post(body)) == {
        ("verwerkingId", "invalid"),
        ("uitvoerder", "invalid"),
        ("bewaartermijn", "invalid"),
        ("tijdstip", "invalid"),
        ("verwerkteObjecten.1.objectId", "max_length"),
        ("verwerkteObjecten.1.objecttype", "invalid_choice"),
    }


# -- R-VAL-12: parse errors and size -----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"vertrouwelijkheid": "normaal",', b"", b"not json", b"{'a': 1}"])
def test_malformed_json_is_a_parse_error(api: Api, raw: bytes) -> None:
    """R-VAL-12."""
    assert ("body", "parse_error") in invalid(post_raw(api, raw))


@pytest.mark.parametrize("raw", [b"[]", b"null", b'"x"', b"42"])
def test_a_body_that_is_not_a_json_object_is_refused(api: Api, raw: bytes) -> None:
    """R-VAL-12/13: well-formed JSON but not an object → 400 on the body."""
    assert {name for name, _ in invalid(post_raw(api, raw))} == {"body"}


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 4000}])
def test_a_body_over_the_configured_limit_is_413(api: Api) -> None:
    """R-VAL-12: 413 request_too_large (Fout body), nothing stored; below the limit is fine."""
    bsn = new_bsn()
    small = json.dumps(actie(bsn)).encode()
    assert len(small) < 4000
    assert post_raw(api, small).status_code == 201
    big = actie(bsn, actieNaam="Groot")
    big["verwerkteObjecten"] *= 40
    raw = json.dumps(big).encode()
    assert len(raw) > 4000
    assert_problem(post_raw(api, raw), 413, "request_too_large")
    # Without a Content-Length (chunked upload) the limit holds as well.
    chunks = iter([raw[i : i + 1000] for i in range(0, len(raw), 1000)])
    r = api.request("POST", PATH, headers={"Content-Type": "application/json"}, content=chunks)
    assert "content-length" not in r.request.headers
    assert_problem(r, 413, "request_too_large")
    assert len(listed_ids(api, bsn)) == 1


# -- R-MT-1 / R-MT-2 ----------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_a_body_that_is_not_application_json_is_415(api: Api, ctype: str | None) -> None:
    """R-MT-1."""
    bsn = new_bsn()
    assert_problem(post_raw(api, json.dumps(actie(bsn)).encode(), ctype), 415, "unsupported_media_type")
    assert listed_ids(api, bsn) == []


def test_application_json_with_charset_is_accepted(api: Api) -> None:
    """R-MT-1."""
    assert post_raw(api, json.dumps(actie(new_bsn())).encode(), "application/json; charset=utf-8").status_code == 201


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png, text/csv"])
def test_an_accept_header_excluding_json_is_406(api: Api, accept: str) -> None:
    """R-MT-2."""
    r = post_raw(api, json.dumps(actie(new_bsn())).encode(), Accept=accept)
    assert_problem(r, 406, "not_acceptable")


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "application/problem+json", "text/html, application/json;q=0.9"]
)
def test_accept_headers_that_allow_json_are_fine(api: Api, accept: str) -> None:
    """R-MT-2."""
    assert post_raw(api, json.dumps(actie(new_bsn())).encode(), Accept=accept).status_code == 201


# -- §4.5 / R-HDR-1 on errors --------------------------------------------------------------------


def test_a_400_is_a_validatiefout_problem_document(api: Api) -> None:
    """§4.5: type/code/title/status/detail/instance plus invalidParams; problem+json; API-version."""
    r = api.post(actie(new_bsn(), uitvoerder="1"))
    body = assert_problem(r, 400, "invalid")
    assert set(body) == {"type", "code", "title", "status", "detail", "instance", "invalidParams"}
    again = assert_problem(api.post(actie(new_bsn(), uitvoerder="1")), 400, "invalid")
    assert again["instance"] != body["instance"]  # a unique URI per occurrence


def test_other_errors_are_fout_problem_documents_with_api_version(api: Api) -> None:
    """§4.5, R-HDR-1: 401, 403, 405 bodies are Fout (no invalidParams) with the API-version header."""
    for r, status, code in (
        (api.post(actie(new_bsn()), None), 401, "not_authenticated"),
        (api.post(actie(new_bsn(), vertrouwelijkheid="opgeheven")), 403, "permission_denied"),
        (api.request("PUT", PATH, json={}), 405, "method_not_allowed"),
    ):
        body = assert_problem(r, status, code)
        assert set(body) == {"type", "code", "title", "status", "detail", "instance"}


def test_unknown_query_parameters_on_post_are_refused(api: Api) -> None:
    """R-VAL-11."""
    r = api.request("POST", PATH, params={"force": "1"}, json=actie(new_bsn()))
    assert invalid(r) == {("force", "unknown_parameter")}


# -- R-AUTH-1 -----------------------------------------------------------------------------------


def _post_with(api: Api, authorization: str | None) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    return api.request("POST", PATH, None, headers=headers, json=actie(new_bsn()))


def test_a_hand_minted_token_of_a_registered_client_is_accepted(api: Api) -> None:
    """R-AUTH-1 positive control: HS256 with the client's secret, iss/client_id and iat."""
    secret = api.clients["alles"].secret
    assert _post_with(api, f"Bearer {token('alles', secret)}").status_code == 201
    assert _post_with(api, f"Bearer {token('alles', secret, exp=time.time() + 600)}").status_code == 201


def test_no_token_is_401_not_authenticated(api: Api) -> None:
    """R-AUTH-1."""
    assert_problem(_post_with(api, None), 401, "not_authenticated")


def _bad_authorizations(api: Api) -> dict[str, str]:
    secret = api.clients["alles"].secret
    now = time.time()
    return {
        "garbage": "Bearer not-a-jwt",
        "empty bearer": "Bearer ",
        "basic scheme": "Basic YWxsZXM6Z2VoZWlt",
        "wrong signature": f"Bearer {token('alles', 'a-completely-different-secret-of-enough-length')}",
        "expired exp": f"Bearer {token('alles', secret, iat=now - 1000, exp=now - 600)}",
        "iat too old": f"Bearer {token('alles', secret, iat=now - 3600 - 600)}",
        "unregistered client": f"Bearer {token('niet-geregistreerd', secret)}",
        "no iat": "Bearer " + jwt.encode({"iss": "alles", "client_id": "alles"}, secret, "HS256"),
        "alg none": "Bearer " + jwt.encode({"iss": "alles", "iat": int(now)}, None, "none"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "garbage",
        "empty bearer",
        "basic scheme",
        "wrong signature",
        "expired exp",
        "iat too old",
        "unregistered client",
        "no iat",
        "alg none",
    ],
)
def test_invalid_tokens_are_401_authentication_failed(api: Api, case: str) -> None:
    """R-AUTH-1: malformed, wrongly signed, expired, too old or unregistered → 401, nothing stored."""
    bsn = new_bsn()
    headers = {"Authorization": _bad_authorizations(api)[case]}
    r = api.request("POST", PATH, None, headers=headers, json=actie(bsn))
    assert_problem(r, 401, "authentication_failed")
    assert listed_ids(api, bsn) == []


def test_authentication_comes_before_validation(api: Api) -> None:
    """§4.9 step 1: an invalid body without a token is 401, not 400."""
    assert_problem(api.post({"foo": 1}, None), 401, "not_authenticated")


# -- R-TX-1 -------------------------------------------------------------------------------------


def test_a_body_with_one_invalid_object_stores_nothing(api: Api) -> None:
    """R-TX-1: the valid first object is not stored when the second is invalid."""
    good, other = new_bsn(), new_bsn()
    body = actie(good, other)
    body["verwerkteObjecten"][1]["verwerkteSoortenGegevens"] = [{"soortGegeven": "x" * 243}]
    assert invalid(api.post(body)) == {("verwerkteObjecten.1.verwerkteSoortenGegevens.0.soortGegeven", "max_length")}
    assert listed_ids(api, good) == []
    assert listed_ids(api, other) == []


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("actieNaam", lambda: actie(new_bsn(), actieNaam="a\x00b")),
        ("gebruiker", lambda: actie(new_bsn(), gebruiker="\x00")),
        ("verwerkingsactiviteitUrl", lambda: actie(new_bsn(), verwerkingsactiviteitUrl="https://var.nl/\x00")),
        ("verwerkteObjecten.0.objectId", lambda: _with_object("", objectId="12\x0034")),
        ("verwerkteObjecten.0.soortObjectId", lambda: _with_object(new_bsn(), soortObjectId="BSN\x00")),
        (
            "verwerkteObjecten.0.verwerkteSoortenGegevens.0.soortGegeven",
            lambda: _with_object(new_bsn(), verwerkteSoortenGegevens=[{"soortGegeven": "\x00"}]),
        ),
    ],
)
def test_a_nul_character_is_refused_the_same_way_on_every_backend(api: Api, name: str, make: Any) -> None:
    """R-VAL-9: a value the store cannot hold is a 400 on its field, never a 500 (PostgreSQL) or a
    silent acceptance (SQLite)."""
    assert invalid(api.post(make())) == {(name, "invalid")}
