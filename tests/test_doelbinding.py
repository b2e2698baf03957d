"""The doelbinding report (extension, §17.4): entries are always accepted, but the FG can see which ones
name no activity, an unknown one, one retired at their tijdstip, or another organisation's."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.helpers import Api, actie, new_bsn
from tests.var_support import VAR, activiteit, create, new_oin, problem_names, versies
from verwerkingenlog.cli import app as cli

REPORT = "/api/v1/doelbinding"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's tables are read back by the tests: give them a fixed, wide console (the width of a
    test worker's terminal varies)."""
    monkeypatch.setattr("verwerkingenlog.cli.console.out", Console(width=300, height=50))


def _scenario(api: Api) -> dict[str, Any]:
    """One logging system with one entry per finding, plus entries that are fine."""
    systeem = f"Testsysteem {uuid.uuid4()}"
    oin = new_oin()
    known = create(api, activiteit(oin))
    retired = create(api, activiteit(oin, naam="Oude regeling"))
    api.request("DELETE", f"{VAR}/{retired['id']}", "var-write")
    registered, retirement = (v["tijdstipRegistratie"] for v in versies(api, retired["id"]))
    unknown = str(uuid.uuid4())
    bsn = new_bsn()

    def log(**fields: Any) -> dict[str, Any]:
        body = actie(bsn, **{"systeem": systeem, "uitvoerder": None, **fields})
        return api.create(body, who="normaal")

    ids = {
        "ok": log(verwerkingsactiviteitId=known["id"]),
        "ok-uitvoerder": log(verwerkingsactiviteitId=known["id"], uitvoerder=oin),
        "ok-before-retirement": log(verwerkingsactiviteitId=retired["id"], tijdstip=registered),
        "onbekend": log(verwerkingsactiviteitId=unknown),
        "ontbreekt": log(verwerkingsactiviteitId=None, verwerkingsactiviteitUrl=None),
        "andere_organisatie": log(verwerkingsactiviteitId=known["id"], uitvoerder=new_oin()),
        "ingetrokken": log(verwerkingsactiviteitId=retired["id"], tijdstip=retirement),
        "deleted-onbekend": log(verwerkingsactiviteitId=unknown),
    }
    assert api.delete(ids["deleted-onbekend"]["actieId"]).status_code == 204
    return {"systeem": systeem, "known": known, "retired": retired, "unknown": unknown, "ids": ids}


def _report(api: Api, who: str = "fg", **params: Any) -> list[dict[str, Any]]:
    r = api.request("GET", REPORT, who, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["API-version"] == "0.1.0"
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def test_the_report_lists_each_finding_per_system_and_client(api: Api) -> None:
    s = _scenario(api)
    found = {r["bevinding"]: r for r in _report(api, systeem=s["systeem"])}
    assert set(found) == {"onbekend", "ontbreekt", "andere_organisatie", "ingetrokken"}
    ids = s["ids"]
    for bevinding, row in found.items():
        assert row["aantal"] == 1, row  # the logically deleted entry does not count
        assert row["voorbeeldActieIds"] == [ids[bevinding]["actieId"]]
        assert row["systeem"] == s["systeem"] and row["clientId"] == "normaal"
    assert found["onbekend"]["verwerkingsactiviteitId"] == s["unknown"]
    assert found["onbekend"]["verwerkingsactiviteit"] is None
    assert found["ontbreekt"]["verwerkingsactiviteitId"] is None
    assert found["ingetrokken"]["verwerkingsactiviteit"] == {
        "id": s["retired"]["id"],
        "naam": "Oude regeling",
        "verantwoordelijkeOrganisatie": s["retired"]["verantwoordelijkeOrganisatie"],
        "ingetrokken": True,
    }
    assert found["andere_organisatie"]["uitvoerder"] == ids["andere_organisatie"]["uitvoerder"]

    only = _report(api, systeem=s["systeem"], bevinding="onbekend,ingetrokken")
    assert {r["bevinding"] for r in only} == {"onbekend", "ingetrokken"}
    assert _report(api, systeem=s["systeem"], beginDatum="2000-01-01", eindDatum="2000-01-02") == []


def test_the_entries_are_accepted_all_the_same(api: Api) -> None:
    """B0869/B8278: the log never refuses an entry for its activity."""
    r = api.post(actie(new_bsn(), verwerkingsactiviteitId=str(uuid.uuid4())), who="normaal")
    assert r.status_code == 201


@pytest.mark.parametrize("who", ["alles", "var-write", "read-conf", "geen"])
def test_the_report_is_for_the_fg_only(api: Api, who: str) -> None:
    r = api.request("GET", REPORT, who)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"


def test_report_parameters_are_validated(api: Api) -> None:
    r = api.request("GET", REPORT, "fg", params={"bevinding": "vreemd", "beginDatum": "gisteren", "x": "1"})
    assert problem_names(r) == {"bevinding", "beginDatum", "x"}
    backwards = api.request("GET", REPORT, "fg", params={"beginDatum": "2024-02-01", "eindDatum": "2024-01-01"})
    assert problem_names(backwards) == {"eindDatum"}


def test_the_cli_prints_the_same_report(api: Api) -> None:
    s = _scenario(api)
    env = {"DATABASE_URL": api.tc.app.state.settings.database_url}  # type: ignore[attr-defined]
    result = CliRunner().invoke(cli, ["var", "report", "--systeem", s["systeem"], "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert {r["bevinding"] for r in json.loads(result.stdout)} == {
        "onbekend",
        "ontbreekt",
        "andere_organisatie",
        "ingetrokken",
    }
    table = CliRunner().invoke(cli, ["var", "report", "--systeem", s["systeem"]], env={**env})
    assert table.exit_code == 0 and s["unknown"] in table.stdout
