"""Issue 19.3 on SQLite and PostgreSQL: every objectId of a `persoon` is pseudonymised whatever its soortObjectId,
by every route that stores one (POST, bulk, OTLP, the register's own logging of a read), and a search by any
spelling of BSN finds what was stored under any other. "Nowhere in the clear" is checked on the raw SQLite
file and write-ahead log and on a `pg_dump` of the PostgreSQL database."""

from __future__ import annotations

import subprocess
import uuid

from sqlalchemy.engine import make_url

from tests.helpers import Api, actie, new_bsn
from tests.logboek_support import pb_request, pb_span
from tests.test_storage import sqlite_files

ACTIES = "/api/v1/verwerkingsacties"
BULK = f"{ACTIES}/bulk"


def _objects(soort: str, *ids: str) -> list[dict[str, str]]:
    return [{"objecttype": "persoon", "soortObjectId": soort, "objectId": i} for i in ids]


def raw_database(backend: str, url: str) -> bytes:
    """Every byte the database keeps: the SQLite file and its WAL, or a plain-text dump of the PostgreSQL
    database (bytea as hex, so a value in the clear in a binary column shows as its hex)."""
    if backend == "sqlite":
        return b"".join(f.read_bytes() for f in sqlite_files((backend, url)))
    parsed = make_url(url)
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            str(parsed.host),
            "-p",
            str(parsed.port or 5432),
            "-U",
            str(parsed.username),
            str(parsed.database),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dump.stdout


def test_no_person_identifier_in_the_clear_by_any_route(api: Api) -> None:
    """A BSN under `burgerservicenummer`, `bsn-nummer`, `BSN`, another person's identifier of any kind, the
    objectId a read filtered by `soortObjectId=bsn-nummer` self-logs, bulk entries and an OTLP span: none of
    them is in the database file (or dump) in the clear, in any column, nor as the hex of its bytes."""
    url = str(api.tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    secrets = {name: new_bsn() for name in ("lang", "nummer", "bsn", "bulk", "otlp", "gelezen", "inzage")}
    staff = f"PN-{uuid.uuid4().hex[:12]}"
    body = actie(secrets["bsn"])
    body["verwerkteObjecten"] += _objects("burgerservicenummer", secrets["lang"])
    body["verwerkteObjecten"] += _objects("bsn-nummer", secrets["nummer"])
    body["verwerkteObjecten"] += _objects("Personeelsnummer", staff)
    assert api.post(body).status_code == 201
    bulk = api.request("POST", BULK, json=[actie(verwerkteObjecten=_objects("Burgerservicenummer", secrets["bulk"]))])
    assert bulk.status_code < 300, bulk.text
    span = pb_span(
        "Via OTLP",
        dpl__core__processing_activity_id="https://var.example.nl/api/v1/verwerkingsactiviteit/x",
        dpl__core__data_subject_id=secrets["otlp"],
        dpl__core__data_subject_id_type="burgerservicenummer",
    )
    otlp = api.request(
        "POST", "/v1/traces", "normaal", headers={"Content-Type": "application/x-protobuf"}, content=pb_request(span)
    )
    assert otlp.status_code == 200, otlp.text
    # A read of a person nobody logged yet: only the register's own self-log entry stores the queried objectId.
    read = api.request(
        "GET", ACTIES, params={"objecttype": "persoon", "soortObjectId": "bsn-nummer", "objectId": secrets["gelezen"]}
    )
    assert read.status_code == 200 and read.json()["count"] == 0
    assert api.inzage(secrets["inzage"], soortObjectId="burgerservicenummer").status_code == 200

    raw = raw_database(api.backend, url)
    for name, value in [*secrets.items(), ("personeelsnummer", staff)]:
        assert value.encode() not in raw, (name, api.backend)
        assert value.encode().hex().encode() not in raw, (name, api.backend)
        assert value.encode("utf-16-le") not in raw, (name, api.backend)


def test_a_search_by_any_spelling_of_bsn_finds_every_other(api: Api) -> None:
    """Stored under `burgerservicenummer`, found by `BSN`, `bsn`, `bsn-nummer`; stored under `BSN`, found by
    `Burgerservicenummer` — on the Bewerking list, the Inzage API and the read extension; the objects keep the
    soortObjectId they were stored with. Another kind of identifier is still matched exactly (R-GETL-1)."""
    bsn, other = new_bsn(), new_bsn()
    long_form = api.create(actie(verwerkteObjecten=_objects("burgerservicenummer", bsn)))
    short_form = api.create(actie(other))
    for soort in ("BSN", "bsn", "bsn-nummer", "Burgerservicenummer"):
        listed = api.list(bsn, soortObjectId=soort).json()["results"]
        assert [a["actieId"] for a in listed] == [long_form["actieId"]], soort
        assert listed[0]["verwerkteObjecten"][0]["soortObjectId"] == "burgerservicenummer"
        seen = api.inzage(bsn, soortObjectId=soort).json()["results"]
        assert [o["objectId"] for o in seen] == [bsn], soort
    assert [a["actieId"] for a in api.list(other, soortObjectId="Burgerservicenummer").json()["results"]] == [
        short_form["actieId"]
    ]
    read_ext = api.request(
        "POST",
        "/api/v1/processing-activities",
        json={
            "attributes": {
                "dpl.core.data_subject_id": bsn,
                "dpl.core.data_subject_id_type": "bsn-nummer",
                "dpl.core.processing_activity_id": long_form["verwerkingsactiviteitUrl"],
            }
        },
    )
    assert [x["attributes"]["verwerkingenlog.actieId"] for x in read_ext.json()["processingActivities"]] == [
        long_form["actieId"]
    ]
    staff = f"PN-{uuid.uuid4().hex[:12]}"
    api.create(actie(verwerkteObjecten=_objects("Personeelsnummer", staff)))
    assert api.list(staff, soortObjectId="Personeelsnummer").json()["count"] == 1
    assert api.list(staff, soortObjectId="personeelsnummer").json()["count"] == 0
