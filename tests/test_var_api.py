"""VAR API (§17): the standard's two read operations, their extensions, and managing the register."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import Api, new_bsn
from tests.var_support import VAR, activiteit, create, new_oin, problem_names, read, versies


def test_created_activity_reads_back_exactly_with_etag_and_api_version(api: Api) -> None:
    """§17.2/§17.3: the singular path returns the document as registered, with ETag and API-version 0.1.0;
    the alias /verwerkingsactiviteiten/{id} (§17.4) returns the same resource."""
    body = activiteit(new_oin())
    r = api.request("POST", VAR, "var-write", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"http://testserver/api/v1/verwerkingsactiviteit/{body['id']}"
    assert r.json() == body

    got = read(api, body["id"])
    assert got.status_code == 200, got.text
    assert got.json() == body
    assert got.headers["API-version"] == "0.1.0"
    etag = got.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    alias = api.request("GET", f"{VAR}/{body['id']}", "read-normal")
    assert alias.status_code == 200
    assert alias.json() == body and alias.headers["ETag"] == etag


def test_if_none_match_with_a_current_etag_gives_304(api: Api) -> None:
    """§17.2 + §18.1 item 10: a matching ETag (one of several, or weak, or *) → 304 with an empty body."""
    body = create(api, activiteit(new_oin()))
    etag = read(api, body["id"]).headers["ETag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        r = read(api, body["id"], headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b"" and r.headers["ETag"] == etag
    assert read(api, body["id"], headers={"If-None-Match": '"something-else"'}).status_code == 200

    api.request("PUT", f"{VAR}/{body['id']}", "var-write", json={**body, "doel": "Een ander doel"})
    changed = read(api, body["id"], headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_absent_optional_values_are_null_and_lists_empty(api: Api) -> None:
    """§4.7 applied to the VAR: every property present; an issued id when none was supplied."""
    oin = new_oin()
    minimal = {"naam": "Klacht behandelen", "verantwoordelijkeOrganisatie": oin, "doel": "Klachten", "grondslag": "x"}
    created = create(api, minimal)
    uuid.UUID(created["id"])
    assert created == {
        "id": created["id"],
        **minimal,
        "gebaseerdOp": None,
        "categorie": None,
        "verantwoordelijkeBestuursorgaan": None,
        "toelichtingGrondslag": None,
        "bewaartermijn": None,
        "herkomst": None,
        "afnemendeInternationaleDerden": [],
        "afnemendeCategorieOntvangers": [],
        "verwerktePersoonsgegevens": [],
        "vertalingen": {},
    }


def test_list_filters_and_paginates_one_organisations_activities(api: Api) -> None:
    """§17.2 list + §4.8 pagination; filters are extensions (F8529: search by gebaseerdOp)."""
    oin = new_oin()
    a = create(api, activiteit(oin, naam="Bijstand aanvragen", categorie="Werk en inkomen"))
    b = create(api, activiteit(oin, naam="Afval ophalen", categorie="Afval", gebaseerdOp="https://ibd.example/x"))
    c = create(
        api,
        activiteit(
            oin, naam="Bijstand: fraudeonderzoek", categorie="Werk en inkomen", grondslag="Wettelijke verplichting"
        ),
    )

    r = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["count"] == 3
    assert [x["id"] for x in data["results"]] == [b["id"], a["id"], c["id"]]  # by name

    def ids(**params: str) -> list[str]:
        r = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin, **params})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["results"]]

    assert ids(naam="BIJSTAND") == [a["id"], c["id"]]
    assert ids(categorie="afval") == [b["id"]]
    assert ids(gebaseerdOp="https://ibd.example/x") == [b["id"]]
    assert ids(grondslag="wettelijke verplichting") == [c["id"]]
    assert ids(naam="bestaat niet") == []

    page1 = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin, "pageSize": 2}).json()
    assert page1["count"] == 3 and len(page1["results"]) == 2 and page1["previous"] is None
    page2 = api.tc.get(page1["next"], headers=api.auth("read-normal")).json()
    assert [x["id"] for x in page2["results"]] == [c["id"]] and page2["next"] is None
    beyond = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin, "page": 3})
    assert problem_names(beyond) == {"page"}


def test_several_organisations_keep_their_own_activities(api: Api) -> None:
    """Multi-organisation register (B0869): the same activity name has other UUIDs at other
    municipalities, each listed only under its own organisation, and an id cannot move to another one."""
    oin_a, oin_b = new_oin(), new_oin()
    a = create(api, activiteit(oin_a, naam="Huwelijk"))
    b = create(api, activiteit(oin_b, naam="Huwelijk"))
    assert a["id"] != b["id"]
    for oin, own in ((oin_a, a), (oin_b, b)):
        listed = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin}).json()
        assert [x["id"] for x in listed["results"]] == [own["id"]]

    moved = api.request("PUT", f"{VAR}/{a['id']}", "var-write", json={**a, "verantwoordelijkeOrganisatie": oin_b})
    assert problem_names(moved) == {"verantwoordelijkeOrganisatie"}
    assert read(api, a["id"]).json()["verantwoordelijkeOrganisatie"] == oin_a


def test_invalid_documents_are_400_naming_every_field(api: Api) -> None:
    """§4.5/§4.6 applied to the VAR document: all problems at once, each named by its JSON path."""
    body = activiteit(
        "123",
        naam="x" * 243,
        gebaseerdOp="geen-url",
        verwerktePersoonsgegevens=[{"rol": "Aanvrager"}],
        vertalingen={"english": {"doel": "x"}},
        onbekend=1,
    )
    del body["doel"]
    r = api.request("POST", VAR, "var-write", json=body)
    assert problem_names(r) == {
        "verantwoordelijkeOrganisatie",
        "naam",
        "gebaseerdOp",
        "doel",
        "verwerktePersoonsgegevens.0.rol",
        "vertalingen.english",
        "onbekend",
    }
    codes = {p["name"]: p["code"] for p in r.json()["invalidParams"]}
    assert codes["naam"] == "max_length" and codes["doel"] == "required" and codes["onbekend"] == "unknown_field"

    not_json = api.request("POST", VAR, "var-write", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["invalidParams"][0]["code"] == "parse_error"
    wrong_type = api.request("POST", VAR, "var-write", content=b"x", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


def test_unknown_and_malformed_ids(api: Api) -> None:
    """§19: single GET → 400 malformed, 404 unknown; changes of an unknown id → 400 naming the id
    (the register's rule for changes, AMB-11); a second POST with the same id → 400."""
    unknown = str(uuid.uuid4())
    assert problem_names(read(api, "not-a-uuid")) == {"actieId"}
    missing = read(api, unknown)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    body = activiteit(new_oin(), id=unknown)
    assert problem_names(api.request("PUT", f"{VAR}/{unknown}", "var-write", json=body)) == {"id"}
    assert problem_names(api.request("DELETE", f"{VAR}/{unknown}", "var-write")) == {"id"}
    create(api, body)
    assert problem_names(api.request("POST", VAR, "var-write", json=body)) == {"id"}
    other = str(uuid.uuid4())
    assert problem_names(api.request("PUT", f"{VAR}/{unknown}", "var-write", json={**body, "id": other})) == {"id"}
    assert problem_names(api.request("GET", VAR, "read-normal", params={"onbekend": "1"})) == {"onbekend"}


def test_changes_append_versions_and_unchanged_content_appends_nothing(api: Api) -> None:
    """History (extension): every change is a new version; a PUT of the same content is not a change."""
    body = create(api, activiteit(new_oin()))
    changed = {**body, "bewaartermijn": "5 jaar"}
    r = api.request("PUT", f"{VAR}/{body['id']}", "var-write", json=changed)
    assert r.status_code == 200 and r.json() == changed
    again = api.request("PUT", f"{VAR}/{body['id']}", "var-write", json=changed)
    assert again.status_code == 200 and again.json() == changed

    history = versies(api, body["id"], who="fg")
    assert [(v["versie"], v["ingetrokken"], v["bewaartermijn"]) for v in history] == [
        (1, False, body["bewaartermijn"]),
        (2, False, "5 jaar"),
    ]
    assert history[0]["volgnummer"] < history[1]["volgnummer"]
    assert history[0]["tijdstipRegistratie"] <= history[1]["tijdstipRegistratie"]


def test_retiring_hides_the_activity_but_keeps_its_history(api: Api) -> None:
    """DELETE retires (a new version marked ingetrokken): 410 on read, gone from the list, 400 when
    retired twice; a later PUT reinstates it."""
    oin = new_oin()
    body = create(api, activiteit(oin))
    assert api.request("DELETE", f"{VAR}/{body['id']}", "var-write").status_code == 204

    gone = read(api, body["id"])
    assert gone.status_code == 410 and "peildatum" in gone.json()["detail"]
    listed = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin}).json()
    assert listed["count"] == 0
    twice = api.request("DELETE", f"{VAR}/{body['id']}", "var-write")
    assert problem_names(twice) == {"id"} and twice.json()["invalidParams"][0]["code"] == "ingetrokken"

    assert api.request("PUT", f"{VAR}/{body['id']}", "var-write", json=body).status_code == 200
    assert read(api, body["id"]).status_code == 200
    assert [v["ingetrokken"] for v in versies(api, body["id"])] == [False, True, False]


READERS = ("read-normal", "read-conf", "read-restricted", "zaken-lezen", "alles")
NON_READERS = ("geen", "var-write", "fg", "create-conf", "update-conf")


@pytest.mark.parametrize("who", READERS + NON_READERS)
def test_read_scopes_on_both_read_operations(api: Api, who: str) -> None:
    """§17.4 [Adopted]: list, single GET and alias accept read:normal, read:confidential, read:restricted
    and zaken.lezen; any other scope → 403."""
    body = create(api, activiteit(new_oin()))
    expected = 200 if who in READERS else 403
    for path in (VAR, f"/api/v1/verwerkingsactiviteit/{body['id']}", f"{VAR}/{body['id']}"):
        r = api.request("GET", path, who)
        assert r.status_code == expected, (path, r.text)
        if expected == 403:
            assert r.json()["code"] == "permission_denied"


@pytest.mark.parametrize("who", ["alles", "read-conf", "fg", "geen"])
def test_writes_need_var_write(api: Api, who: str) -> None:
    """Extension scope var:write for POST, PUT and DELETE; the log's own scopes do not suffice."""
    body = create(api, activiteit(new_oin()))
    assert api.request("POST", VAR, who, json=activiteit(new_oin())).status_code == 403
    assert api.request("PUT", f"{VAR}/{body['id']}", who, json=body).status_code == 403
    assert api.request("DELETE", f"{VAR}/{body['id']}", who).status_code == 403


@pytest.mark.parametrize(("who", "status"), [("var-write", 200), ("fg", 200), ("alles", 403), ("read-conf", 403)])
def test_history_is_for_var_managers_and_the_fg(api: Api, who: str, status: int) -> None:
    body = create(api, activiteit(new_oin()))
    assert api.request("GET", f"{VAR}/{body['id']}/versies", who).status_code == status


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", VAR),
        ("GET", "/api/v1/verwerkingsactiviteit/5f0bef4c-f66f-4311-84a5-19e8bf359eaf"),
        ("GET", f"{VAR}/5f0bef4c-f66f-4311-84a5-19e8bf359eaf"),
        ("POST", VAR),
        ("PUT", f"{VAR}/5f0bef4c-f66f-4311-84a5-19e8bf359eaf"),
        ("DELETE", f"{VAR}/5f0bef4c-f66f-4311-84a5-19e8bf359eaf"),
        ("GET", f"{VAR}/5f0bef4c-f66f-4311-84a5-19e8bf359eaf/versies"),
        ("GET", "/api/v1/doelbinding"),
    ],
)
def test_every_var_endpoint_needs_a_token(api: Api, method: str, path: str) -> None:
    """R-AUTH-1 on every VAR path (and the 401 comes before any 400: §4.9)."""
    r = api.request(method, path, None, params={"onbekend": "1"})
    assert r.status_code == 401 and r.headers["API-version"] == "0.1.0"


def test_read_restricted_opens_the_var_but_not_the_log(api: Api) -> None:
    """read:restricted was abolished for the log (§5.1); it is a VAR scope only (§17.4)."""
    r = api.list(new_bsn(), who="read-restricted", vertrouwelijkheid="normaal")
    assert r.status_code == 403
    inzage = api.inzage(new_bsn(), who="zaken-lezen")
    assert inzage.status_code == 403
