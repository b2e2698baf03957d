"""Self-logging of reads (§10.5, R-SELF-1..3, R-INZ-9, R-INZS-3, R-GETL-9, R-GETS-5).

The register's own entries are found with the Bewerking list filtered on the register's own processing
activity, read with `read:confidential`. Such a check is itself a read and appends its own entry, but only
*after* it has read, so a check never sees itself; persons are fresh per test.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import CONSUMER_OIN, INZAGE_HEADERS, Api, actie, new_bsn
from verwerkingenlog import PRODUCT_NAME, __version__
from verwerkingenlog.settings import DEFAULT_SELF_LOG_ACTIVITY

CONSUMER_VERWERKING = "48086bf2-11b7-4603-9526-67d7c3bb6587"
ALL_HEADERS = {
    **INZAGE_HEADERS,
    "VerwerkingId": CONSUMER_VERWERKING,
    "Vertrouwelijkheid": "Normaal",
    "Bewaartermijn": "150",
}
OWN_ACTIVITY = "7b0d2c9e-3f51-4c8a-b6e2-95a1d4c3f018"
OWN_URL = f"https://var.gemeente.example/api/v1/verwerkingsactiviteit/{OWN_ACTIVITY}"


def self_entries(api: Api, bsn: str, activity: str = DEFAULT_SELF_LOG_ACTIVITY) -> list[dict[str, Any]]:
    """The register's own entries about `bsn`, newest first (all confidentiality values)."""
    r = api.list(bsn, who="alles", activity=activity)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    out: list[dict[str, Any]] = data["results"]
    return out


def persons_of(entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["objecttype"], o["soortObjectId"], o["objectId"]) for o in entry["verwerkteObjecten"]]


def bsn_of(bsn: str) -> tuple[str, str, str]:
    return ("persoon", "BSN", bsn)


def inzage_single(
    api: Api, object_id: str, who: str = "alles", headers: dict[str, str] | None = None
) -> httpx.Response:
    return api.request(
        "GET",
        f"/api/v1/verwerkte-objecten/{object_id}",
        who,
        headers=INZAGE_HEADERS if headers is None else headers,
    )


def bewerking_list(api: Api, bsn: str, who: str = "alles", headers: dict[str, str] | None = None) -> httpx.Response:
    q = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn}
    if who in ("normaal", "read-normal"):
        q["vertrouwelijkheid"] = "normaal"
    return api.request("GET", "/api/v1/verwerkingsacties", who, params=q, headers=headers)


def bewerking_single(
    api: Api, actie_id: str, who: str = "alles", headers: dict[str, str] | None = None
) -> httpx.Response:
    return api.request("GET", f"/api/v1/verwerkingsacties/{actie_id}", who, headers=headers)


def the_entry(api: Api, bsn: str, activity: str = DEFAULT_SELF_LOG_ACTIVITY) -> dict[str, Any]:
    entries = self_entries(api, bsn, activity)
    assert len(entries) == 1, entries
    return entries[0]


# -- R-SELF-1: every successful read appends exactly one entry ------------------------------------------------


READS = [
    "inzage-list",
    "inzage-list-empty",
    "inzage-single",
    "bewerking-list",
    "bewerking-list-empty",
    "bewerking-single",
]


def do_read(api: Api, kind: str, bsn: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """Perform one successful read of `kind` about `bsn`; returns the response."""
    created = None if kind.endswith("-empty") else api.create(actie(bsn))
    if kind.startswith("inzage-list"):
        return api.inzage(bsn, headers=headers or INZAGE_HEADERS)
    if kind == "inzage-single":
        assert created is not None
        return inzage_single(
            api, created["verwerkteObjecten"][0]["verwerktObjectId"], headers=headers or INZAGE_HEADERS
        )
    if kind.startswith("bewerking-list"):
        return bewerking_list(api, bsn, headers=headers)
    assert created is not None
    return bewerking_single(api, created["actieId"], headers=headers)


@pytest.mark.parametrize("kind", READS)
def test_every_successful_read_appends_one_entry(api: Api, kind: str) -> None:
    """R-SELF-1, R-INZ-9, R-INZS-3, R-GETL-9, R-GETS-5: one entry per successful read, also for an empty list,
    with the register's own activity and the person as verwerkt object."""
    bsn = new_bsn()
    r = do_read(api, kind, bsn)
    assert r.status_code == 200, r.text
    if kind.endswith("-empty"):
        assert r.json()["count"] == 0
    entry = the_entry(api, bsn)
    assert entry["verwerkingsactiviteitId"] == DEFAULT_SELF_LOG_ACTIVITY
    assert persons_of(entry) == [bsn_of(bsn)]
    # The check above was itself a read: exactly one more entry now, no more.
    assert len(self_entries(api, bsn)) == 2


@pytest.mark.parametrize("kind", READS)
def test_headers_are_mapped_per_10_4(api: Api, kind: str) -> None:
    """R-SELF-1, §10.4: OIN → afnemerId (soortAfnemerId OIN), activity headers → …Afnemer,
    VerwerkingId → verwerkingIdAfnemer, Vertrouwelijkheid → vertrouwelijkheid, `Bewaartermijn: 150` → P150Y."""
    bsn = new_bsn()
    before = datetime.now(UTC)
    assert do_read(api, kind, bsn, headers=ALL_HEADERS).status_code == 200
    after = datetime.now(UTC)
    entry = the_entry(api, bsn)
    assert entry["soortAfnemerId"] == "OIN"
    assert entry["afnemerId"] == CONSUMER_OIN
    assert entry["verwerkingsactiviteitIdAfnemer"] == INZAGE_HEADERS["VerwerkingsactiviteitId"]
    assert entry["verwerkingsactiviteitUrlAfnemer"] == INZAGE_HEADERS["VerwerkingsactiviteitUrl"]
    assert entry["verwerkingIdAfnemer"] == CONSUMER_VERWERKING
    assert entry["vertrouwelijkheid"] == "normaal"
    assert entry["bewaartermijn"] == "P150Y"
    # The register's own processing: own activity, own new verwerkingId, own system name and version.
    assert entry["verwerkingsactiviteitId"] == DEFAULT_SELF_LOG_ACTIVITY
    assert entry["verwerkingId"] not in (None, CONSUMER_VERWERKING)
    assert uuid.UUID(entry["verwerkingId"]).version == 4
    assert entry["actieNaam"]
    assert PRODUCT_NAME in entry["systeem"] and __version__ in entry["systeem"]
    # tijdstip = now, with an explicit offset.
    tijdstip = datetime.fromisoformat(entry["tijdstip"])
    assert tijdstip.utcoffset() is not None
    assert before - timedelta(seconds=1) <= tijdstip <= after + timedelta(seconds=1)


def test_bewaartermijn_and_vertrouwelijkheid_headers_as_sent(api: Api) -> None:
    """R-SELF-1, §10.4: an ISO 8601 Bewaartermijn header is taken over; `Vertrouwelijk` makes the entry
    vertrouwelijk (then only read:confidential on the Bewerking API sees it; never the Inzage API)."""
    bsn = new_bsn()
    headers = {**INZAGE_HEADERS, "Bewaartermijn": "P6M", "Vertrouwelijkheid": "Vertrouwelijk"}
    assert api.inzage(bsn, headers=headers).status_code == 200
    entry = the_entry(api, bsn)
    assert entry["bewaartermijn"] == "P6M"
    assert entry["vertrouwelijkheid"] == "vertrouwelijk"
    seen = api.inzage(bsn, activity=DEFAULT_SELF_LOG_ACTIVITY)
    assert seen.status_code == 200
    assert entry["actieId"] not in {r["verwerkingsactie"]["actieId"] for r in seen.json()["results"]}


def test_defaults_without_headers(api: Api) -> None:
    """R-SELF-1: without headers (allowed on the Bewerking API) vertrouwelijkheid defaults to normaal and
    bewaartermijn to the configured default (P2Y); no consumer values are invented."""
    bsn = new_bsn()
    assert bewerking_list(api, bsn).status_code == 200
    entry = the_entry(api, bsn)
    assert entry["vertrouwelijkheid"] == "normaal"
    assert entry["bewaartermijn"] == "P2Y"
    for key in ("verwerkingsactiviteitIdAfnemer", "verwerkingsactiviteitUrlAfnemer", "verwerkingIdAfnemer"):
        assert entry[key] is None, key
    assert entry["afnemerId"] is None


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "self_log_verwerkingsactiviteit_id": OWN_ACTIVITY,
            "self_log_verwerkingsactiviteit_url": OWN_URL,
            "self_log_bewaartermijn": "P7Y",
        }
    ],
)
def test_configured_activity_and_default_bewaartermijn(api: Api) -> None:
    """R-SELF-1: the register's own verwerkingsactiviteitId/Url and default bewaartermijn are configured."""
    bsn = new_bsn()
    assert api.inzage(bsn).status_code == 200
    entry = the_entry(api, bsn, activity=OWN_ACTIVITY)
    assert entry["verwerkingsactiviteitId"] == OWN_ACTIVITY
    assert entry["verwerkingsactiviteitUrl"] == OWN_URL
    assert entry["bewaartermijn"] == "P7Y"
    assert self_entries(api, bsn) == []  # nothing under the default activity id


def test_inzage_single_logs_only_the_returned_person(api: Api) -> None:
    """R-SELF-1, R-INZS-3: the logged object of an Inzage single read is the returned object's person."""
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(other, bsn))
    assert inzage_single(api, created["verwerkteObjecten"][1]["verwerktObjectId"]).status_code == 200
    entry = the_entry(api, bsn)
    assert persons_of(entry) == [bsn_of(bsn)]
    assert self_entries(api, other) == []


def test_bewerking_single_logs_every_person_of_the_action(api: Api) -> None:
    """R-SELF-1, R-GETS-5: a Bewerking single read returns all objects, so all their persons are logged
    (in one entry)."""
    a, b, c = new_bsn(), new_bsn(), new_bsn()
    created = api.create(actie(a, b, c, a))
    assert bewerking_single(api, created["actieId"]).status_code == 200
    entry = the_entry(api, a)
    assert [e["actieId"] for e in self_entries(api, b)] == [entry["actieId"]]
    assert [e["actieId"] for e in self_entries(api, c)] == [entry["actieId"]]
    full = bewerking_single(api, entry["actieId"])
    assert full.status_code == 200
    logged = persons_of(full.json())
    assert sorted(logged) == sorted({bsn_of(a), bsn_of(b), bsn_of(c)})


def test_self_log_entries_are_ordinary_entries(api: Api) -> None:
    """R-SELF-3: self-log entries appear in later searches for the same person (intended transparency)."""
    bsn = new_bsn()
    assert api.inzage(bsn, who="read-normal").status_code == 200
    later = api.inzage(bsn, activity=None)
    assert later.status_code == 200
    [result] = later.json()["results"]
    assert result["verwerkingsactie"]["verwerkingsactiviteitId"] == DEFAULT_SELF_LOG_ACTIVITY
    assert result["objectId"] == bsn


# -- Failed reads log nothing ------------------------------------------------------------------------------


def failed_reads(api: Api, bsn: str) -> list[httpx.Response]:
    """Reads about `bsn` that must fail (400, 401, 403, 404): none of them may be logged."""
    normaal = api.create(actie(bsn))
    vertrouwelijk = api.create(actie(bsn, vertrouwelijkheid="vertrouwelijk"))
    deleted = api.create(actie(bsn))
    assert api.delete(deleted["actieId"]).status_code == 204
    bad_headers = {**INZAGE_HEADERS, "OIN": "123"}
    return [
        # Inzage list
        api.inzage(bsn, headers={}),
        api.inzage(bsn, headers=bad_headers),
        api.inzage(bsn, begin="2024-13-01"),
        api.inzage(bsn, page="2"),
        api.inzage(bsn, who="geen"),
        api.inzage(bsn, who=None),
        # Inzage single
        inzage_single(api, vertrouwelijk["verwerkteObjecten"][0]["verwerktObjectId"]),
        inzage_single(api, deleted["verwerkteObjecten"][0]["verwerktObjectId"]),
        inzage_single(api, normaal["verwerkteObjecten"][0]["verwerktObjectId"], headers={}),
        inzage_single(api, normaal["verwerkteObjecten"][0]["verwerktObjectId"], who="update-conf"),
        # Bewerking list
        bewerking_list(api, bsn, headers={"OIN": "123"}),
        api.list(bsn, who="read-normal", activity=None, vertrouwelijkheid="opgeheven"),
        api.request(
            "GET",
            "/api/v1/verwerkingsacties",
            "read-normal",
            params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn},
        ),
        api.list(bsn, page="5"),
        api.list(bsn, beginDatum="yesterday"),
        # Bewerking single
        bewerking_single(api, vertrouwelijk["actieId"], who="read-normal"),
        bewerking_single(api, deleted["actieId"]),
        bewerking_single(api, normaal["actieId"], headers={"Bewaartermijn": "10 jaar"}),
        bewerking_single(api, normaal["actieId"], who="delete-conf"),
    ]


def test_failed_reads_log_nothing(api: Api) -> None:
    """R-SELF-1: only *successful* reads are logged; 400/401/403/404 append nothing."""
    bsn = new_bsn()
    statuses = [r.status_code for r in failed_reads(api, bsn)]
    assert statuses == [400, 400, 400, 400, 403, 401, 404, 404, 400, 403, 400, 403, 403, 400, 400, 403, 404, 400, 403]
    assert self_entries(api, bsn) == []


# -- R-SELF-3: the switch ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"self_logging": False}])
@pytest.mark.parametrize("kind", READS)
def test_switched_off_logs_nothing(api: Api, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    """R-SELF-3 (decisions.md 4): with SELF_LOGGING off no read is logged, and the start-up reports it."""
    bsn = new_bsn()
    assert do_read(api, kind, bsn, headers=ALL_HEADERS).status_code == 200
    assert self_entries(api, bsn) == []
    startup = [r for r in caplog.get_records("setup") if r.levelno >= logging.WARNING]
    assert any("SELF_LOGGING" in r.getMessage() for r in startup)


# -- R-SELF-2: no data without the self-log entry -------------------------------------------------------------


@pytest.mark.parametrize("kind", READS)
def test_failing_self_log_returns_no_data(api: Api, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """R-SELF-2, R-INZ-9 (B7952): if the self-log entry cannot be written, the data is not returned (5xx)."""
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(bsn, other))
    register = api.tc.app.state.register  # type: ignore[attr-defined]

    async def broken_append(*_args: Any, **_kwargs: Any) -> list[int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(register.writer, "append", broken_append)
    # Let the 500 reach the test as a response instead of re-raising the server exception.
    monkeypatch.setattr(api.tc._transport, "raise_server_exceptions", False)
    if kind.startswith("inzage-list"):
        r = api.inzage(bsn if kind == "inzage-list" else new_bsn())
    elif kind == "inzage-single":
        r = inzage_single(api, created["verwerkteObjecten"][0]["verwerktObjectId"])
    elif kind.startswith("bewerking-list"):
        r = bewerking_list(api, bsn if kind == "bewerking-list" else new_bsn())
    else:
        r = bewerking_single(api, created["actieId"])
    assert r.status_code >= 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert bsn not in r.text and other not in r.text and created["actieId"] not in r.text
    assert r.json()["status"] == r.status_code

    monkeypatch.undo()
    assert self_entries(api, bsn) == []
