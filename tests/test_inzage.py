"""Inzage API (§7): GET /verwerkte-objecten and GET /verwerkte-objecten/{verwerktObjectId}.

Every test runs against SQLite and PostgreSQL (the `api` fixture). Persons are fresh per test and the
list calls filter on the test activity, so the register's own self-log entries (§10.5) never count.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import CONSUMER_OIN, INZAGE_HEADERS, TEST_ACTIVITY, Api, actie, editable, new_bsn, person

OTHER_ACTIVITY = "0d6c1c55-2a0e-4d7e-9a43-6f6b3c0e8a21"

OBJECT_KEYS = {
    "url",
    "verwerktObjectId",
    "objecttype",
    "soortObjectId",
    "objectId",
    "betrokkenheid",
    "verwerkteSoortenGegevens",
}
RESULT_KEYS = OBJECT_KEYS | {"verwerkingsactie"}
# VerwerkingsactieBeperkt: Verwerkingsactie without systeem, gebruiker, gegevensbron (R-INZ-6).
NESTED_KEYS = {
    "url",
    "actieId",
    "actieNaam",
    "handelingNaam",
    "verwerkingNaam",
    "verwerkingId",
    "verwerkingsactiviteitId",
    "verwerkingsactiviteitUrl",
    "vertrouwelijkheid",
    "bewaartermijn",
    "uitvoerder",
    "soortAfnemerId",
    "afnemerId",
    "verwerkingsactiviteitIdAfnemer",
    "verwerkingsactiviteitUrlAfnemer",
    "verwerkingIdAfnemer",
    "tijdstip",
    "tijdstipRegistratie",
    "verwerkteObjecten",
}
NO_READ_SCOPE = ("geen", "create-conf", "update-normal", "update-conf", "delete-normal", "delete-conf")


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def results(r: httpx.Response) -> list[dict[str, Any]]:
    data = ok(r)
    assert data["count"] == len(data["results"]), data
    out: list[dict[str, Any]] = data["results"]
    return out


def invalid_names(r: httpx.Response) -> set[str]:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {p["name"] for p in r.json()["invalidParams"]}


def single(api: Api, object_id: str, who: str = "alles", headers: dict[str, Any] | None = None) -> httpx.Response:
    return api.request(
        "GET",
        f"/api/v1/verwerkte-objecten/{object_id}",
        who,
        headers=INZAGE_HEADERS if headers is None else headers,
    )


def create_opgeheven(api: Api, *bsns: str, **overrides: Any) -> dict[str, Any]:
    """An action whose confidentiality was lifted: created vertrouwelijk, then PATCHed to opgeheven."""
    created = api.create(actie(*bsns, vertrouwelijkheid="vertrouwelijk", **overrides))
    r = api.patch(created["verwerkingId"], {"vertrouwelijkheid": "opgeheven"})
    assert r.status_code == 204, r.text
    return created


def object_ids(found: list[dict[str, Any]]) -> list[str]:
    return [o["verwerktObjectId"] for o in found]


# -- R-INZ-1: one result per occurrence -----------------------------------------------------------------


def test_one_result_per_occurrence_same_person_twice(api: Api) -> None:
    """R-INZ-1, R-INZ-7: the same person twice in one action gives two results, each with its own object."""
    bsn, other = new_bsn(), new_bsn()
    body = actie(bsn, other)
    body["verwerkteObjecten"].append(person(bsn, betrokkenheid="Getuige"))
    created = api.create(body)
    mine = [o for o in created["verwerkteObjecten"] if o["objectId"] == bsn]
    assert len(mine) == 2

    found = results(api.inzage(bsn))
    assert len(found) == 2
    assert sorted(object_ids(found)) == sorted(o["verwerktObjectId"] for o in mine)
    by_id = {o["verwerktObjectId"]: o for o in mine}
    for result in found:
        assert result["objectId"] == bsn
        assert result["betrokkenheid"] == by_id[result["verwerktObjectId"]]["betrokkenheid"]
        nested = result["verwerkingsactie"]
        assert nested["actieId"] == created["actieId"]
        # R-INZ-7: exactly the matched occurrence, not the person's other occurrence, not the other person.
        assert [o["verwerktObjectId"] for o in nested["verwerkteObjecten"]] == [result["verwerktObjectId"]]
    # Occurrences within one action follow their order in the action (R-PAG-4).
    assert object_ids(found) == [o["verwerktObjectId"] for o in mine]


def test_one_result_per_action_and_nothing_for_others(api: Api) -> None:
    """R-INZ-1: results only for occurrences of exactly this objecttype + soortObjectId + objectId."""
    bsn, other = new_bsn(), new_bsn()
    first = api.create(actie(bsn, tijdstip="2024-01-01T10:00:00+01:00"))
    second = api.create(actie(other, bsn, tijdstip="2024-02-01T10:00:00+01:00"))
    api.create(actie(other))
    api.create(actie(bsn[:-1]))  # a prefix of the BSN is another person
    # Same value under another kind of identifier is another object.
    api.create(actie(verwerkteObjecten=[{"objecttype": "persoon", "soortObjectId": "A-nummer", "objectId": bsn}]))

    found = results(api.inzage(bsn))
    assert [r["verwerkingsactie"]["actieId"] for r in found] == [second["actieId"], first["actieId"]]
    assert all(r["objectId"] == bsn and r["soortObjectId"] == "BSN" for r in found)


# -- R-INZ-2: the period -----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["beginDatum", "eindDatum"])
def test_period_is_required(api: Api, missing: str) -> None:
    """R-INZ-2 (AMB-35): both dates are required on the Inzage API."""
    bsn = new_bsn()
    api.create(actie(bsn))
    q = {
        "objecttype": "persoon",
        "soortObjectId": "BSN",
        "objectId": bsn,
        "beginDatum": "2000-01-01",
        "eindDatum": "2100-01-01",
    }
    del q[missing]
    r = api.request("GET", "/api/v1/verwerkte-objecten", params=q, headers=INZAGE_HEADERS)
    assert invalid_names(r) == {missing}
    assert r.json()["invalidParams"][0]["code"] == "required"


@pytest.mark.parametrize("name", ["objecttype", "soortObjectId", "objectId"])
def test_object_parameters_are_required(api: Api, name: str) -> None:
    """R-INZ-1 / §7.1: the person is identified by all three object parameters."""
    q = {
        "objecttype": "persoon",
        "soortObjectId": "BSN",
        "objectId": new_bsn(),
        "beginDatum": "2000-01-01",
        "eindDatum": "2100-01-01",
    }
    del q[name]
    r = api.request("GET", "/api/v1/verwerkte-objecten", params=q, headers=INZAGE_HEADERS)
    assert invalid_names(r) == {name}


def test_period_is_half_open_in_local_time(api: Api) -> None:
    """R-INZ-2 (R-GETL-2, AMB-10): beginDatum ≤ tijdstip < eindDatum, dates at 00:00 Europe/Amsterdam."""
    bsn = new_bsn()
    at_midnight = api.create(actie(bsn, tijdstip="2024-04-05T00:00:00+02:00"))  # local midnight (CEST)
    just_before = api.create(actie(bsn, tijdstip="2024-04-04T23:59:59.999999+02:00"))
    # 22:30 UTC on the 4th is 00:30 on the 5th in Amsterdam: the instant decides, not the UTC date.
    utc_late = api.create(actie(bsn, tijdstip="2024-04-04T22:30:00Z"))

    def ids(begin: str, end: str) -> set[str]:
        return {r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn, begin=begin, end=end))}

    assert ids("2024-04-05", "2024-04-06") == {at_midnight["actieId"], utc_late["actieId"]}
    assert ids("2024-04-04", "2024-04-05") == {just_before["actieId"]}
    assert ids("2024-04-04", "2024-04-06") == {at_midnight["actieId"], just_before["actieId"], utc_late["actieId"]}
    assert ids("2024-04-05", "2024-04-05") == set()  # equal dates: empty, not an error


def test_period_end_before_begin_is_400(api: Api) -> None:
    """R-INZ-2 (AMB-10): eindDatum < beginDatum → 400 invalid_range."""
    r = api.inzage(new_bsn(), begin="2024-04-06", end="2024-04-05")
    assert invalid_names(r) == {"eindDatum"}
    assert r.json()["invalidParams"][0]["code"] == "invalid_range"


@pytest.mark.parametrize("value", ["2024-04-05T00:00:00+02:00", "05-04-2024", "2024-4-5", "2024-02-30", "gisteren"])
def test_period_dates_must_be_dates(api: Api, value: str) -> None:
    """R-INZ-2, R-VAL-5: beginDatum/eindDatum are YYYY-MM-DD only."""
    r = api.inzage(new_bsn(), begin=value)
    assert invalid_names(r) == {"beginDatum"}


@pytest.mark.parametrize("settings_overrides", [{"time_zone": "UTC"}])
def test_period_uses_configured_time_zone(api: Api) -> None:
    """R-INZ-2 (decisions.md 2): with TIME_ZONE=UTC a date starts at 00:00 UTC."""
    bsn = new_bsn()
    late = api.create(actie(bsn, tijdstip="2024-04-04T22:30:00Z"))
    assert [
        r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn, begin="2024-04-04", end="2024-04-05"))
    ] == [late["actieId"]]
    assert results(api.inzage(bsn, begin="2024-04-05", end="2024-04-06")) == []


# -- R-INZ-3: verwerkingsactiviteitId ---------------------------------------------------------------------


def test_verwerkingsactiviteit_filter(api: Api) -> None:
    """R-INZ-3: only occurrences whose action has exactly that verwerkingsactiviteitId (not the …Afnemer one)."""
    bsn = new_bsn()
    mine = api.create(actie(bsn))
    other = api.create(
        actie(
            bsn,
            verwerkingsactiviteitId=OTHER_ACTIVITY,
            verwerkingsactiviteitUrl=f"https://var.example.nl/{OTHER_ACTIVITY}",
            verwerkingsactiviteitIdAfnemer=TEST_ACTIVITY,
        )
    )
    assert [r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn))] == [mine["actieId"]]
    assert [r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn, activity=OTHER_ACTIVITY))] == [
        other["actieId"]
    ]
    # Case-insensitive UUID comparison (R-VAL-1).
    assert [r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn, activity=OTHER_ACTIVITY.upper()))] == [
        other["actieId"]
    ]
    # Without the filter both are returned (plus the register's own self-log entries for this person).
    unfiltered = {r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn, activity=None))}
    assert {mine["actieId"], other["actieId"]} <= unfiltered
    assert invalid_names(api.inzage(bsn, activity="not-a-uuid")) == {"verwerkingsactiviteitId"}


# -- R-INZ-4: only current, non-vervallen versions ---------------------------------------------------------


def test_only_current_versions(api: Api) -> None:
    """R-INZ-4, R-VER-4: after a PUT and a PATCH only the current version is visible, with its values."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    body = editable(created)
    body["actieNaam"] = "Opslaan persoonsgegevens"
    put = api.put(created["actieId"], body)
    assert put.status_code == 200, put.text
    corrected = put.json()
    assert api.patch(created["verwerkingId"], {"bewaartermijn": "P20Y"}).status_code == 204

    found = results(api.inzage(bsn))
    assert len(found) == 1
    nested = found[0]["verwerkingsactie"]
    assert nested["actieId"] not in (created["actieId"], corrected["actieId"])  # PATCH made a newer version
    assert nested["actieNaam"] == "Opslaan persoonsgegevens"
    assert nested["bewaartermijn"] == "P20Y"


def test_vervallen_actions_are_invisible(api: Api) -> None:
    """R-INZ-4, R-DEL-4: a logically deleted action no longer appears."""
    bsn = new_bsn()
    gone = api.create(actie(bsn))
    kept = api.create(actie(bsn))
    assert api.delete(gone["actieId"]).status_code == 204
    assert [r["verwerkingsactie"]["actieId"] for r in results(api.inzage(bsn))] == [kept["actieId"]]


def test_person_removed_by_put_is_no_longer_found(api: Api) -> None:
    """R-INZ-4: occurrences of earlier versions do not count; only the current version's objects match."""
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(bsn))
    body = editable(created)
    body["verwerkteObjecten"] = [person(other)]
    assert api.put(created["actieId"], body).status_code == 200
    assert results(api.inzage(bsn)) == []
    assert len(results(api.inzage(other))) == 1


# -- R-INZ-5: visibility by scope ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("read-normal", {"normaal"}),
        ("read-conf", {"normaal", "opgeheven"}),
        ("alles", {"normaal", "opgeheven"}),
        ("normaal", {"normaal"}),
    ],
)
def test_visibility_by_scope(api: Api, who: str, visible: set[str]) -> None:
    """R-INZ-5 (AMB-06), R-PRIV-5: read:normal → normaal; read:confidential → normaal + opgeheven;
    vertrouwelijk never."""
    bsn = new_bsn()
    made = {
        "normaal": api.create(actie(bsn))["actieId"],
        "vertrouwelijk": api.create(actie(bsn, vertrouwelijkheid="vertrouwelijk"))["actieId"],
        "opgeheven": create_opgeheven(api, bsn)["actieId"],
    }
    found = results(api.inzage(bsn, who=who))  # no 403: the scope filters (R-INZ-5)
    seen = {r["verwerkingsactie"]["vertrouwelijkheid"] for r in found}
    assert seen == visible
    assert len(found) == len(visible)
    assert made["vertrouwelijk"] not in {r["verwerkingsactie"]["actieId"] for r in found}


def test_vertrouwelijk_again_disappears(api: Api) -> None:
    """R-INZ-5: visibility follows the *current* value: opgeheven → vertrouwelijk hides it again."""
    bsn = new_bsn()
    created = create_opgeheven(api, bsn)
    assert len(results(api.inzage(bsn, who="read-conf"))) == 1
    assert api.patch(created["verwerkingId"], {"vertrouwelijkheid": "vertrouwelijk"}).status_code == 204
    assert results(api.inzage(bsn, who="read-conf")) == []
    assert results(api.inzage(bsn, who="alles")) == []


# -- R-INZ-6 / R-INZ-7: restricted representation -----------------------------------------------------------


def test_restricted_field_set(api: Api) -> None:
    """R-INZ-6, R-PRIV-3: no systeem/gebruiker/gegevensbron keys at all; every other property present."""
    bsn = new_bsn()
    body = actie(bsn, systeem="GeheimSysteem v9", gebruiker="medewerker-4711", gegevensbron="Bron-XYZ-Archief")
    created = api.create(body)
    r = api.inzage(bsn)
    found = results(r)
    assert len(found) == 1
    result = found[0]
    assert set(result) == RESULT_KEYS
    nested = result["verwerkingsactie"]
    assert set(nested) == NESTED_KEYS
    for secret in ("GeheimSysteem v9", "medewerker-4711", "Bron-XYZ-Archief"):
        assert secret not in r.text
    # The remaining values are those of the action.
    for key in NESTED_KEYS - {"verwerkteObjecten"}:
        assert nested[key] == created[key], key
    created_object = created["verwerkteObjecten"][0]
    assert {k: result[k] for k in OBJECT_KEYS} == created_object
    assert nested["verwerkteObjecten"] == [created_object]


def test_only_the_subject_is_shown(api: Api) -> None:
    """R-INZ-7 (AMB-22, C3677): the nested action holds exactly the matched object, never other persons."""
    bsn, partner, witness = new_bsn(), new_bsn(), new_bsn()
    created = api.create(actie(partner, bsn, witness))
    r = api.inzage(bsn)
    found = results(r)
    assert len(found) == 1
    nested_objects = found[0]["verwerkingsactie"]["verwerkteObjecten"]
    assert len(nested_objects) == 1
    assert nested_objects[0] == created["verwerkteObjecten"][1]
    assert "verwerkingsactie" not in nested_objects[0]
    assert partner not in r.text and witness not in r.text


# -- R-INZ-8: mandatory consumer headers --------------------------------------------------------------------


@pytest.mark.parametrize("missing", sorted(INZAGE_HEADERS))
def test_each_missing_header_is_named(api: Api, missing: str) -> None:
    """R-INZ-8 (AMB-31): OIN, VerwerkingsactiviteitId and VerwerkingsactiviteitUrl are mandatory."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    headers = {k: v for k, v in INZAGE_HEADERS.items() if k != missing}
    r = api.inzage(bsn, headers=headers)
    assert invalid_names(r) == {missing}
    assert r.json()["invalidParams"][0]["code"] == "required"
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert invalid_names(single(api, object_id, headers=headers)) == {missing}  # R-INZS-3


def test_all_missing_headers_are_named_at_once(api: Api) -> None:
    """R-INZ-8, §4.9 step 3: every missing header is listed, together with other problems."""
    r = api.inzage(new_bsn(), headers={}, begin="yesterday")
    assert invalid_names(r) == {*INZAGE_HEADERS, "beginDatum"}


MALFORMED = [
    ("OIN", "1234567890"),
    ("OIN", "000000018210021930001"),
    ("OIN", "0000000182100219300A"),
    ("VerwerkingsactiviteitId", "c5b9f4e7-8c79-41b9-91e2"),
    ("VerwerkingsactiviteitUrl", "var/verwerkingsactiviteit/1"),
    ("VerwerkingId", "48086bf2"),
    ("Vertrouwelijkheid", "geheim"),
    ("Bewaartermijn", "10 jaar"),
    ("Bewaartermijn", "-P1Y"),
    ("Bewaartermijn", "0"),
    ("Bewaartermijn", "P"),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_malformed_header_is_400(api: Api, name: str, value: str) -> None:
    """R-INZ-8, §10.4: a malformed header value → 400 naming the header (list and single)."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    headers = {**INZAGE_HEADERS, name: value}
    assert invalid_names(api.inzage(bsn, headers=headers)) == {name}
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert invalid_names(single(api, object_id, headers=headers)) == {name}


def raw_inzage(api: Api, bsn: str, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
    """An Inzage list call with header bytes exactly as given (the TestClient would UTF-8 encode them),
    run on the app's own event loop."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.tc.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(
                "/api/v1/verwerkte-objecten",
                params={
                    "objecttype": "persoon",
                    "soortObjectId": "BSN",
                    "objectId": bsn,
                    "beginDatum": "2000-01-01",
                    "eindDatum": "2100-01-01",
                },
                headers=[(b"Authorization", f"Bearer {api.tokens['alles']}".encode()), *headers],
            )

    assert api.tc.portal is not None
    return api.tc.portal.call(call)


@pytest.mark.parametrize("value", [b"\xb2", b"\xb9\xb2", b"P\xb2Y", b"\xb3\xb2\xb2"])
def test_non_ascii_digits_in_bewaartermijn_header_are_400(api: Api, value: bytes) -> None:
    """R-INZ-8, §10.4, R-VAL-6: only a bare positive integer of ASCII digits means years; a latin-1
    superscript digit ('²') is a malformed value → 400, not a server error."""
    base = [(k.encode(), v.encode()) for k, v in INZAGE_HEADERS.items()]
    r = raw_inzage(api, new_bsn(), [*base, (b"Bewaartermijn", value)])
    assert invalid_names(r) == {"Bewaartermijn"}
    assert raw_inzage(api, new_bsn(), [*base, (b"Bewaartermijn", b"150")]).status_code == 200


@pytest.mark.parametrize(
    "extra",
    [
        {"Bewaartermijn": "150"},
        {"Bewaartermijn": "P10Y"},
        {"Vertrouwelijkheid": "Normaal"},
        {"VerwerkingId": "48086bf2-11b7-4603-9526-67d7c3bb6587"},
    ],
)
def test_valid_optional_headers_are_accepted(api: Api, extra: dict[str, str]) -> None:
    """R-INZ-8, §10.4 (AMB-08): `Bewaartermijn: 150` (years) is accepted in the header; enums any case."""
    bsn = new_bsn()
    api.create(actie(bsn))
    assert len(results(api.inzage(bsn, headers={**INZAGE_HEADERS, **extra}))) == 1


def test_header_names_are_case_insensitive(api: Api) -> None:
    """R-INZ-8 (AMB-32): header names match case-insensitively (the case images use lowerCamelCase)."""
    bsn = new_bsn()
    api.create(actie(bsn))
    headers = {
        "oin": CONSUMER_OIN,
        "verwerkingsactiviteitid": INZAGE_HEADERS["VerwerkingsactiviteitId"],
        "VERWERKINGSACTIVITEITURL": INZAGE_HEADERS["VerwerkingsactiviteitUrl"],
    }
    assert len(results(api.inzage(bsn, headers=headers))) == 1


@pytest.mark.parametrize("settings_overrides", [{"inzage_headers_required": False}])
def test_lenient_mode_does_not_require_headers(api: Api) -> None:
    """R-INZ-8: configurable to lenient (test environments): missing headers are accepted, malformed ones not."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    assert len(results(api.inzage(bsn, headers={}))) == 1
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert ok(single(api, object_id, headers={}))["verwerktObjectId"] == object_id
    assert invalid_names(api.inzage(bsn, headers={"OIN": "123"})) == {"OIN"}


# -- R-INZ-10: a read scope is needed -----------------------------------------------------------------------


@pytest.mark.parametrize("who", NO_READ_SCOPE)
def test_no_read_scope_is_403(api: Api, who: str) -> None:
    """R-INZ-10, §4.9 step 2: without read:normal or read:confidential → 403, before validation."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    r = api.inzage(bsn, who=who)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "permission_denied"
    assert api.inzage(bsn, who=who, begin="nonsense", headers={}).status_code == 403
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert single(api, object_id, who=who).status_code == 403
    assert single(api, "not-a-uuid", who=who, headers={}).status_code == 403


def test_unauthenticated_is_401(api: Api) -> None:
    """R-AUTH-1 on the Inzage API."""
    assert api.inzage(new_bsn(), who=None).status_code == 401


# -- R-INZS-1..3: GET /verwerkte-objecten/{verwerktObjectId} --------------------------------------------------


def test_single_returns_the_restricted_occurrence(api: Api) -> None:
    """R-INZS-2, R-INZ-6, R-INZ-7: the same representation as a list item, only this object."""
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(other, bsn))
    mine = created["verwerkteObjecten"][1]
    r = single(api, mine["verwerktObjectId"])
    got = ok(r)
    assert set(got) == RESULT_KEYS
    assert set(got["verwerkingsactie"]) == NESTED_KEYS
    assert {k: got[k] for k in OBJECT_KEYS} == mine
    assert got["url"].endswith(f"/api/v1/verwerkte-objecten/{mine['verwerktObjectId']}")
    assert got["verwerkingsactie"]["verwerkteObjecten"] == [mine]
    assert got["verwerkingsactie"]["actieId"] == created["actieId"]
    assert other not in r.text
    [listed] = results(api.inzage(bsn))
    assert listed == got


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "5f089abb-7ed1-4714-92d4-1850453eda5", "5f089abb7ed1471492d41850453eda5d"]
)
def test_single_malformed_id_is_400(api: Api, bad: str) -> None:
    """R-INZS-1: a malformed verwerktObjectId → 400 naming it."""
    assert invalid_names(single(api, bad)) == {"verwerktObjectId"}


def test_single_unknown_id_is_404(api: Api) -> None:
    """R-INZS-1: unknown → 404; an actieId is not a verwerktObjectId."""
    created = api.create(actie(new_bsn()))
    for unknown in (str(uuid.uuid4()), created["actieId"]):
        r = single(api, unknown)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "not_found"


def test_single_uppercase_id_is_found(api: Api) -> None:
    """R-INZS-1, R-VAL-1: UUIDs are case-insensitive on input."""
    created = api.create(actie(new_bsn()))
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert ok(single(api, object_id.upper()))["verwerktObjectId"] == object_id


def test_single_visibility_by_scope(api: Api) -> None:
    """R-INZS-1 (AMB-30), R-INZ-5: not visible under the caller's scope → 404, never 403."""
    bsn = new_bsn()
    normaal = api.create(actie(bsn))["verwerkteObjecten"][0]["verwerktObjectId"]
    vertrouwelijk = api.create(actie(bsn, vertrouwelijkheid="vertrouwelijk"))["verwerkteObjecten"][0][
        "verwerktObjectId"
    ]
    opgeheven = create_opgeheven(api, bsn)["verwerkteObjecten"][0]["verwerktObjectId"]
    expected = {
        "read-normal": {normaal: 200, vertrouwelijk: 404, opgeheven: 404},
        "read-conf": {normaal: 200, vertrouwelijk: 404, opgeheven: 200},
        "alles": {normaal: 200, vertrouwelijk: 404, opgeheven: 200},
    }
    for who, statuses in expected.items():
        for object_id, status in statuses.items():
            r = single(api, object_id, who=who)
            assert r.status_code == status, (who, r.text)


def test_single_ids_are_stable_across_patch(api: Api) -> None:
    """R-VER-6, R-INZS-1: PATCH carries objects over with their ids; the single GET shows the current version."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert api.patch(created["verwerkingId"], {"bewaartermijn": "P30Y"}).status_code == 204
    got = ok(single(api, object_id))
    assert got["verwerktObjectId"] == object_id
    assert got["verwerkingsactie"]["bewaartermijn"] == "P30Y"
    assert got["verwerkingsactie"]["actieId"] != created["actieId"]
    assert object_ids(results(api.inzage(bsn))) == [object_id]


def test_single_ids_are_stable_across_put_with_echoed_id(api: Api) -> None:
    """R-VER-6, R-PUT-5 (AMB-19): an echoed verwerktObjectId is kept; the new values are returned."""
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(bsn, other))
    mine, theirs = created["verwerkteObjecten"]
    body = editable(created)
    body["verwerkteObjecten"][0]["betrokkenheid"] = "Aanvrager"
    del body["verwerkteObjecten"][1]["verwerktObjectId"]
    del body["verwerkteObjecten"][1]["url"]
    r = api.put(created["actieId"], body)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["verwerkteObjecten"][0]["verwerktObjectId"] == mine["verwerktObjectId"]
    assert new["verwerkteObjecten"][1]["verwerktObjectId"] != theirs["verwerktObjectId"]

    got = ok(single(api, mine["verwerktObjectId"]))
    assert got["betrokkenheid"] == "Aanvrager"
    assert got["verwerkingsactie"]["actieId"] == new["actieId"]
    # The object that was not echoed got a new id: its old id is no longer current (R-INZS-1).
    assert single(api, theirs["verwerktObjectId"]).status_code == 404
    assert ok(single(api, new["verwerkteObjecten"][1]["verwerktObjectId"]))["objectId"] == other


def test_single_put_without_echo_makes_old_id_404(api: Api) -> None:
    """R-INZS-1, R-PUT-5: a PUT that does not echo the id issues a new one; the old id is not current → 404."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    old_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    body = editable(created)
    body["verwerkteObjecten"] = [person(bsn)]
    new = api.put(created["actieId"], body).json()
    new_id = new["verwerkteObjecten"][0]["verwerktObjectId"]
    assert new_id != old_id
    assert single(api, old_id).status_code == 404
    assert ok(single(api, new_id))["verwerkingsactie"]["actieId"] == new["actieId"]


def test_single_foreign_echoed_id_is_not_taken_over(api: Api) -> None:
    """R-PUT-5, R-VER-6: echoing the id of another action's object does not move that object."""
    bsn = new_bsn()
    first = api.create(actie(bsn))
    second = api.create(actie(bsn))
    foreign_id = first["verwerkteObjecten"][0]["verwerktObjectId"]
    body = editable(second)
    body["verwerkteObjecten"][0]["verwerktObjectId"] = foreign_id
    new = api.put(second["actieId"], body).json()
    assert new["verwerkteObjecten"][0]["verwerktObjectId"] not in (
        foreign_id,
        second["verwerkteObjecten"][0]["verwerktObjectId"],
    )
    assert ok(single(api, foreign_id))["verwerkingsactie"]["actieId"] == first["actieId"]


def test_single_after_delete_is_404_but_id_carried_over(api: Api) -> None:
    """R-INZS-1, R-DEL-4, R-VER-6: after DELETE → 404; the vervallen version still carries the same id."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert api.delete(created["actieId"]).status_code == 204
    r = single(api, object_id)
    assert r.status_code == 404, r.text
    versies = api.versies(created["actieId"])
    assert versies.status_code == 200, versies.text
    history = versies.json()["results"]
    assert [v["vervallen"] for v in history] == [False, True]
    assert [[o["verwerktObjectId"] for o in v["verwerkteObjecten"]] for v in history] == [[object_id], [object_id]]


def test_single_of_person_removed_by_put_is_404(api: Api) -> None:
    """R-INZS-1: an id that is not in the current version (the person was removed) → 404."""
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(bsn, other))
    body = editable(created)
    body["verwerkteObjecten"] = body["verwerkteObjecten"][1:]
    assert api.put(created["actieId"], body).status_code == 200
    assert single(api, created["verwerkteObjecten"][0]["verwerktObjectId"]).status_code == 404
    assert single(api, created["verwerkteObjecten"][1]["verwerktObjectId"]).status_code == 200


def test_single_rejects_query_parameters(api: Api) -> None:
    """R-VAL-11 on the Inzage single GET: no query parameters are known."""
    created = api.create(actie(new_bsn()))
    object_id = created["verwerkteObjecten"][0]["verwerktObjectId"]
    r = api.request(
        "GET", f"/api/v1/verwerkte-objecten/{object_id}", params={"beperkteSet": "true"}, headers=INZAGE_HEADERS
    )
    assert invalid_names(r) == {"beperkteSet"}


def test_list_rejects_removed_parameters(api: Api) -> None:
    """§7.1, R-VAL-11: `vertrouwelijkheid` and `beperkteSet` were removed from the Inzage API → 400."""
    bsn = new_bsn()
    assert invalid_names(api.inzage(bsn, vertrouwelijkheid="normaal")) == {"vertrouwelijkheid"}
    assert invalid_names(api.inzage(bsn, beperkteSet="true")) == {"beperkteSet"}
