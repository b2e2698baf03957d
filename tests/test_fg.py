"""The FG's tools (issue 17, docs/fg.md), from the FG's side: who processed whom, every view logged as a processing
of the persons it shows (unless the FG marks it confidential, lifted later by a PATCH), and the signals of misuse
with the entries behind them, on generated data of a department: a normal month, then a week in which one employee
looks up far more persons at night and a watched person is looked up."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import TEST_KEY, _prepare, _run, make_settings
from tests.helpers import Api, actie, new_bsn
from tests.var_support import activiteit, create, new_oin
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.services import tokens
from verwerkingenlog.settings import DEFAULT_FG_ACTIVITY

FG = "/api/v1/fg"
ZONE = ZoneInfo("Europe/Amsterdam")
WEEK = date(2026, 11, 2)  # a Monday
CONTROLE = "Controle door de functionaris gegevensbescherming"


@pytest.fixture
def own_api(backend: tuple[str, str], fresh_database: str) -> Iterator[Api]:
    """A register of its own: the signals look at every entry of a period."""
    clients = _run(_prepare(fresh_database))
    with TestClient(create_app(make_settings(fresh_database)), base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in clients.items()}, backend[0], clients)


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).isoformat()


def _log(api: Api, bsn: str, gebruiker: str, tijdstip: str, activiteit_id: str, **extra: Any) -> dict[str, Any]:
    body = actie(
        bsn,
        gebruiker=gebruiker,
        tijdstip=tijdstip,
        verwerkingsactiviteitId=activiteit_id,
        verwerkingsactiviteitUrl=f"https://var.example.nl/api/v1/verwerkingsactiviteit/{activiteit_id}",
        systeem="Zaaksysteem Sociaal Domein",
        **extra,
    )
    return api.create(body, who="normaal")


def _workdays(start: date, n: int) -> list[date]:
    days = [start + timedelta(days=i) for i in range(n)]
    return [d for d in days if d.isoweekday() <= 5]


def _department(api: Api, night_owl: bool, watched_looked_up: bool) -> dict[str, Any]:
    """Seven employees under one activity: in the 28 days before WEEK each looks up one person per working day;
    in WEEK two per working day, between 09:00 and 16:00. With `night_owl`, an eighth does the same in the month
    before but in WEEK looks up 40 persons between 22:00 and 02:00, and one person is looked up by all seven."""
    rng = random.Random(17)
    oin = new_oin()
    act = create(api, activiteit(oin, naam="Beoordelen bijstandsaanvraag", doel="Recht op bijstand vaststellen"))
    staff = [f"medewerker-{i}" for i in range(7)]
    owl = "medewerker-nacht"
    team = [*staff, owl]
    for day in _workdays(WEEK - timedelta(days=28), 28):
        for g in team:
            _log(api, new_bsn(), g, _at(day, rng.randrange(9, 16), rng.randrange(60)), act["id"])
    for day in _workdays(WEEK, 7):
        for g in staff:
            for _ in range(2):
                _log(api, new_bsn(), g, _at(day, rng.randrange(9, 16), rng.randrange(60)), act["id"])
        if not night_owl:
            _log(api, new_bsn(), owl, _at(day, 10), act["id"])
    watched = new_bsn()
    out: dict[str, Any] = {"act": act, "staff": staff, "owl": owl, "watched": watched, "night": []}
    if night_owl:
        for i in range(40):
            day = WEEK + timedelta(days=i % 4)
            hour, minute = (22 + (i % 4), (i * 7) % 60) if i % 4 < 2 else (i % 2, (i * 11) % 60)
            out["night"].append(_log(api, new_bsn(), owl, _at(day, hour, minute), act["id"])["actieId"])
        popular = new_bsn()
        out["popular"] = popular
        out["popular_ids"] = [
            _log(api, popular, g, _at(WEEK + timedelta(days=3), 11), act["id"])["actieId"] for g in staff
        ]
    if watched_looked_up:
        out["watched_id"] = _log(api, watched, staff[0], _at(WEEK + timedelta(days=2), 14), act["id"])["actieId"]
    r = api.request("POST", f"{FG}/volglijst", "fg", json={"objectId": watched, "reden": "Wethouder"})
    assert r.status_code == 201, r.text
    return out


def _signalen(api: Api, **params: Any) -> dict[str, Any]:
    q = {"beginDatum": WEEK.isoformat(), "eindDatum": (WEEK + timedelta(days=7)).isoformat(), **params}
    r = api.request("GET", f"{FG}/signalen", "fg", params=q)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_a_normal_week_gives_no_signal(own_api: Api) -> None:
    _department(own_api, night_owl=False, watched_looked_up=False)
    data = _signalen(own_api)
    assert data["results"] == [], data["results"]
    assert data["count"] == 0


def test_each_signal_is_explained_with_the_entries_behind_it(own_api: Api) -> None:
    d = _department(own_api, night_owl=True, watched_looked_up=True)
    data = _signalen(own_api)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for s in data["results"]:
        by_kind.setdefault(s["soort"], []).append(s)
        assert s["uitleg"] and s["regels"], s  # never a signal without words and entries
    assert set(by_kind) == {"veel_personen", "buiten_werktijd", "veel_medewerkers", "volglijst"}

    (veel,) = by_kind["veel_personen"]
    assert veel["gebruiker"] == d["owl"] and veel["verwerkingsactiviteitId"] == d["act"]["id"]
    assert veel["cijfers"]["personen"] == 40 and veel["cijfers"]["collegas"] == 11
    assert "40 verschillende personen" in veel["uitleg"]
    assert {r["actieId"] for r in veel["regels"]} == set(d["night"])

    (nacht,) = by_kind["buiten_werktijd"]
    assert nacht["gebruiker"] == d["owl"]
    assert {r["actieId"] for r in nacht["regels"]} == set(d["night"])
    assert "buiten werktijd" in nacht["uitleg"]

    (veel_mw,) = by_kind["veel_medewerkers"]
    assert veel_mw["persoon"]["objectId"] == d["popular"]
    assert {r["actieId"] for r in veel_mw["regels"]} == set(d["popular_ids"])
    assert "7 verschillende gebruikers" in veel_mw["uitleg"]

    (volg,) = by_kind["volglijst"]
    assert volg["persoon"] == {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": d["watched"]}
    assert [r["actieId"] for r in volg["regels"]] == [d["watched_id"]]
    assert d["staff"][0] in volg["uitleg"]

    # The view showed these persons: it is itself logged as the FG's processing of each of them.
    assert data["controle"]["verwerkingId"] and data["controle"]["vertrouwelijkheid"] == "normaal"
    controle = _controle_entries(own_api, d["watched"])
    assert [e["verwerkingsactie"]["verwerkingId"] for e in controle] == [data["controle"]["verwerkingId"]]

    # The quarter's report on the command line: volumes per activity and organisation, and the signals.
    _the_cli_reports_the_quarter(own_api, d)

    # Off the watch list: the signal goes; the list's earlier events stay (insert-only).
    r = own_api.request("POST", f"{FG}/volglijst/verwijderen", "fg", json={"objectId": d["watched"]})
    assert r.status_code == 200, r.text
    assert "volglijst" not in {s["soort"] for s in _signalen(own_api)["results"]}


def _the_cli_reports_the_quarter(api: Api, d: dict[str, Any]) -> None:
    env = {"DATABASE_URL": api.tc.app.state.settings.database_url, "PSEUDONYMISATION_KEY": TEST_KEY}  # type: ignore[attr-defined]
    result = CliRunner().invoke(cli, ["fg", "report", "--period", "2026-Q4", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (volume,) = [v for v in doc["volumes"] if v["verwerkingsactiviteitId"] == d["act"]["id"]]
    # October: 20 working days x 8 employees; the week: 7 x 2 x 5 days, 40 at night, 7 of one person, 1 watched.
    assert volume["acties"] == 160 + 70 + 40 + 7 + 1 and volume["personen"] == 160 + 70 + 40 + 1 + 1
    assert volume["verwerkingsactiviteit"] == "Beoordelen bijstandsaanvraag"
    assert volume["verantwoordelijkeOrganisatie"] == d["act"]["verantwoordelijkeOrganisatie"]
    kinds = {s["soort"]: s for s in doc["signalen"]}
    # Over the whole quarter the night owl's 60 persons are not 3 times the peers' 31, but the nights still show.
    assert set(kinds) == {"buiten_werktijd", "veel_medewerkers", "volglijst"}
    assert kinds["volglijst"]["persoon"] == f"BSN:{d['watched']}" and kinds["volglijst"]["actieIds"] == [
        d["watched_id"]
    ]
    assert doc["controle"]["verwerkingId"]

    csv_out = CliRunner().invoke(cli, ["fg", "report", "--period", "2026-Q4"], env=env)
    assert csv_out.exit_code == 0, csv_out.output
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert {r["sectie"] for r in rows} == {"volume", "signaal"}
    assert {r["soort"] for r in rows if r["sectie"] == "signaal"} == set(kinds)

    bad = CliRunner().invoke(cli, ["fg", "report", "--period", "2026-Q5"], env=env)
    assert bad.exit_code == 2 and "--period" in bad.output


def test_the_working_hours_are_the_configured_ones(backend: tuple[str, str], fresh_database: str) -> None:
    """Three lookups on a Sunday night are a signal with the default working hours, none for a register that
    configures round-the-clock working time (FG_WORKING_HOURS, FG_WORKING_DAYS)."""
    clients = _run(_prepare(fresh_database))
    issued = {name: tokens.issue(c) for name, c in clients.items()}

    def night_signals(**overrides: Any) -> set[str]:
        with TestClient(create_app(make_settings(fresh_database, **overrides)), base_url="http://testserver") as tc:
            api = Api(tc, issued, backend[0], clients)
            if not overrides:
                for minute in (1, 2, 3):
                    _log(api, new_bsn(), "dienstdoende", _at(WEEK + timedelta(days=6), 3, minute), str(uuid.uuid4()))
            return {s["soort"] for s in _signalen(api)["results"]}

    assert night_signals() == {"buiten_werktijd"}
    assert night_signals(fg_working_hours="00:00-24:00", fg_working_days=[1, 2, 3, 4, 5, 6, 7]) == set()
    assert night_signals(fg_signal_max_entries=3) == {"buiten_werktijd"}

    # A period with more entries than FG_SIGNAL_MAX_ENTRIES is refused, naming the period, not read into memory.
    with TestClient(create_app(make_settings(fresh_database, fg_signal_max_entries=2)), base_url="http://t") as tc:
        q = {"beginDatum": WEEK.isoformat(), "eindDatum": (WEEK + timedelta(days=7)).isoformat()}
        r = Api(tc, issued, backend[0], clients).request("GET", f"{FG}/signalen", "fg", params=q)
    assert r.status_code == 400, r.text
    assert [p["name"] for p in r.json()["invalidParams"]] == ["beginDatum"]
    env = {"DATABASE_URL": fresh_database, "PSEUDONYMISATION_KEY": TEST_KEY, "FG_SIGNAL_MAX_ENTRIES": "2"}
    refused = CliRunner().invoke(cli, ["fg", "report", "--period", "2026-11"], env=env)
    assert refused.exit_code == 2 and "FG_SIGNAL_MAX_ENTRIES" in refused.output


def _controle_entries(api: Api, bsn: str) -> list[dict[str, Any]]:
    """What the citizen sees of the FG in their timeline (the Inzage API, §7.1)."""
    r = api.inzage(bsn, activity=DEFAULT_FG_ACTIVITY)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    for e in results:
        assert e["verwerkingsactie"]["verwerkingNaam"] == CONTROLE
    return results


def test_who_processed_one_person_when_and_why(api: Api) -> None:
    bsn, oin = new_bsn(), new_oin()
    act = create(api, activiteit(oin, naam="Huwelijk voltrekken", doel="Voltrekken en registreren van het huwelijk"))
    other = create(api, activiteit(oin, naam="Rijbewijs"))
    gebruiker = f"ambtenaar-{uuid.uuid4().hex[:8]}"
    first = _log(api, bsn, gebruiker, "2026-10-05T10:00:00+02:00", act["id"], uitvoerder=oin)
    second = _log(api, bsn, "baliemedewerker-2", "2026-10-20T11:00:00+02:00", act["id"])
    third = _log(api, bsn, gebruiker, "2026-11-03T09:30:00+01:00", other["id"])

    # The FG's own views become entries about the person too (logged now): the period leaves them out here.
    period = {"beginDatum": "2026-01-01", "eindDatum": "2026-12-01"}
    r = api.request("GET", f"{FG}/personen", "fg", params={"objectId": bsn, "pageSize": 2, **period})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["count"] == 3 and data["next"] and data["previous"] is None
    assert [e["actieId"] for e in data["results"]] == [third["actieId"], second["actieId"]]
    page2 = api.request("GET", data["next"], "fg").json()
    (oldest,) = page2["results"]
    assert oldest["actieId"] == first["actieId"]
    assert oldest["gebruiker"] == gebruiker and oldest["systeem"] == "Zaaksysteem Sociaal Domein"
    assert oldest["uitvoerder"] == oin
    assert oldest["verwerkingsactiviteit"]["doel"] == "Voltrekken en registreren van het huwelijk"
    assert oldest["verwerkingsactiviteit"]["naam"] == "Huwelijk voltrekken"
    assert [o["objectId"] for o in oldest["verwerkteObjecten"]] == [bsn]
    # Over every page: who processed the person's data, under which activity, how often, first and last time.
    assert data["verwerkers"] == page2["verwerkers"]
    assert [
        (w["uitvoerder"], w["gebruiker"], w["verwerkingsactiviteitId"], w["aantal"]) for w in data["verwerkers"]
    ] == [
        (third["uitvoerder"], gebruiker, other["id"], 1),
        (second["uitvoerder"], "baliemedewerker-2", act["id"], 1),
        (oin, gebruiker, act["id"], 1),
    ]
    assert {w["systeem"] for w in data["verwerkers"]} == {"Zaaksysteem Sociaal Domein"}

    # Filtered by period and by activity.
    only = {
        "objectId": bsn,
        "beginDatum": "2026-10-01",
        "eindDatum": "2026-11-01",
        "verwerkingsactiviteitId": act["id"],
    }
    r = api.request("GET", f"{FG}/personen", "fg", params=only)
    assert [e["actieId"] for e in r.json()["results"]] == [second["actieId"], first["actieId"]]

    # Who: one gebruiker, which persons under which activities.
    r = api.request("GET", f"{FG}/acties", "fg", params={"gebruiker": gebruiker})
    assert r.status_code == 200, r.text
    found = r.json()["results"]
    assert [e["actieId"] for e in found] == [third["actieId"], first["actieId"]]
    assert [e["verwerkingsactiviteitId"] for e in found] == [other["id"], act["id"]]
    assert found[1]["verwerkteObjecten"][0]["objectId"] == bsn
    # That view showed the person: it is in their timeline as the FG's processing.
    shown = r.json()["controle"]["verwerkingId"]
    assert shown in {e["verwerkingsactie"]["verwerkingId"] for e in _controle_entries(api, bsn)}


def test_every_view_is_in_the_citizens_timeline_unless_confidential_until_lifted(api: Api) -> None:
    """R-SELF-1 for the FG: a look is logged as a processing of the person; a confidential one is hidden from the
    Inzage API (R-INZ-5) until lifted to `opgeheven`."""
    bsn = new_bsn()
    _log(api, bsn, "ambtenaar-x", "2026-10-05T10:00:00+02:00", str(uuid.uuid4()))
    before = len(_controle_entries(api, bsn))
    open_view = api.request("GET", f"{FG}/personen", "fg", params={"objectId": bsn}).json()["controle"]
    assert open_view["vertrouwelijkheid"] == "normaal"
    seen = _controle_entries(api, bsn)
    assert len(seen) == before + 1
    assert seen[0]["verwerkingsactie"]["verwerkingId"] == open_view["verwerkingId"]

    secret = api.request("GET", f"{FG}/personen", "fg", params={"objectId": bsn, "vertrouwelijk": "true"})
    assert secret.status_code == 200, secret.text
    controle = secret.json()["controle"]
    assert controle["vertrouwelijkheid"] == "vertrouwelijk"
    assert len(_controle_entries(api, bsn)) == before + 1  # not shown to the citizen while confidential

    # Lifted later through the normal PATCH (R-PATCH): now the citizen sees it.
    lifted = api.patch(controle["verwerkingId"], {"vertrouwelijkheid": "opgeheven"})
    assert lifted.status_code == 204, lifted.text
    assert controle["verwerkingId"] in {e["verwerkingsactie"]["verwerkingId"] for e in _controle_entries(api, bsn)}


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("personen", {}, "objectId"),
        ("personen", {"objectId": "999", "vertrouwelijk": "misschien"}, "vertrouwelijk"),
        ("personen", {"objectId": "999", "beginDatum": "3 oktober"}, "beginDatum"),
        ("personen", {"objectId": "999", "verwerkingsactiviteitId": "geen-uuid"}, "verwerkingsactiviteitId"),
        ("personen", {"objectId": "999", "bsn": "999"}, "bsn"),
        ("acties", {}, "gebruiker"),
        ("acties", {"gebruiker": "x" * 41}, "gebruiker"),
        ("signalen", {"beginDatum": "2026-11-01"}, "eindDatum"),
        ("personen", {"objectId": "999", "page": "0"}, "page"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(api: Api, path: str, params: dict[str, str], name: str) -> None:
    r = api.request("GET", f"{FG}/{path}", "fg", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert name in {p["name"] for p in r.json()["invalidParams"]}


def test_the_watch_list_body_is_checked_and_only_the_fg_may_use_the_tools(api: Api) -> None:
    r = api.request("POST", f"{FG}/volglijst", "fg", json={"reden": "x"})
    assert r.status_code == 400 and "objectId" in {p["name"] for p in r.json()["invalidParams"]}
    r = api.request("POST", f"{FG}/volglijst/verwijderen", "fg", json={"objectId": new_bsn()})
    assert r.status_code == 400 and "objectId" in {p["name"] for p in r.json()["invalidParams"]}
    for path in ("personen?objectId=1", "acties?gebruiker=x", "signalen", "volglijst"):
        assert api.request("GET", f"{FG}/{path}", "alles").status_code == 403
        assert api.request("GET", f"{FG}/{path}", None).status_code == 401


def test_the_watch_list_stores_no_bsn_in_the_clear(api: Api, backend: tuple[str, str]) -> None:
    """R-PRIV-1: the watch list holds a BSN only as its blind index and sealed."""
    bsn = new_bsn()
    assert api.request("POST", f"{FG}/volglijst", "fg", json={"objectId": bsn}).status_code == 201
    assert api.request("POST", f"{FG}/volglijst", "fg", json={"objectId": bsn}).status_code == 200
    listed = api.request("GET", f"{FG}/volglijst", "fg", params={"vertrouwelijk": "true"}).json()
    assert bsn in {g["objectId"] for g in listed["results"]}
    assert listed["controle"]["vertrouwelijkheid"] == "vertrouwelijk"
    _run(_assert_sealed(backend[1], bsn))


async def _assert_sealed(url: str, bsn: str) -> None:
    from sqlalchemy import select

    from verwerkingenlog.store.db import Database
    from verwerkingenlog.store.tables import fg_volglijst

    db = Database(url)
    try:
        async with db.reading() as conn:
            rows = (await conn.execute(select(fg_volglijst))).mappings().all()
    finally:
        await db.dispose()
    assert rows
    for row in rows:
        assert bsn.encode() not in bytes(row["object_id_enc"]) and bsn.encode() not in bytes(row["object_sleutel"])
        assert bsn not in str(dict(row))


def test_the_watch_list_is_insert_only_and_migration_0013_goes_back(own_api: Api, fresh_database: str) -> None:
    """Nobody rewrites the watch list's history, not even with SQL (the database's triggers, like the log's); the
    migration downgrades to 0012 and upgrades again."""
    import sqlalchemy as sa
    from alembic import command

    from verwerkingenlog.store import migrate
    from verwerkingenlog.store.db import Database

    assert own_api.request("POST", f"{FG}/volglijst", "fg", json={"objectId": new_bsn()}).status_code == 201

    async def tamper(statement: str) -> None:
        db = Database(fresh_database)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await db.dispose()

    for statement in ("UPDATE fg_volglijst SET event = 'verwijderd'", "DELETE FROM fg_volglijst"):
        with pytest.raises(Exception, match="append-only"):
            _run(tamper(statement))

    async def to(revision: str) -> list[str]:
        db = Database(fresh_database)

        def run(conn: Any) -> list[str]:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            (command.downgrade if revision != "head" else command.upgrade)(cfg, revision)
            return sa.inspect(conn).get_table_names()

        try:
            async with db.engine.begin() as conn:
                return await conn.run_sync(run)
        finally:
            await db.dispose()

    assert "fg_volglijst" not in _run(to("0012"))
    assert "fg_volglijst" in _run(to("head"))
