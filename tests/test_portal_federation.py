"""Federation (§16): the portal reads several registers through their Inzage APIs — two real register
processes, one on PostgreSQL and one on SQLite — merges their answers with the source of each entry, and
says plainly which register could not be reached (a third, that is down). Each register logs the portal's
lookup as a processing, with the headers §10.3 prescribes."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import _postgres_database, _prepare, make_settings
from tests.helpers import actie, new_bsn
from tests.live import RegisterProcess, free_port
from tests.portal_support import PORTAL_OIN, login, portal_settings, text_of
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client, Clients
from verwerkingenlog.settings import DEFAULT_SELF_LOG_ACTIVITY, Settings
from verwerkingenlog.store.db import Database

PORTAL_CLIENT = "mijn-verwerkingen"
PORTAL_SECRET = "federation-portal-secret-0123456789abcdefgh"


async def _portal_client(url: str) -> None:
    db = Database(url)
    try:
        if await Clients(db).get(PORTAL_CLIENT) is None:
            await Clients(db).add(PORTAL_CLIENT, ["read:confidential"], PORTAL_SECRET)
    finally:
        await db.dispose()


class Remote:
    def __init__(self, naam: str, process: RegisterProcess, writer: Client) -> None:
        self.naam, self.process, self.writer = naam, process, writer

    def log(self, body: dict[str, object]) -> None:
        headers = {"Authorization": f"Bearer {tokens.issue(self.writer)}"}
        r = httpx.post(f"{self.process.url}/api/v1/verwerkingsacties", json=body, headers=headers, timeout=10)
        assert r.status_code == 201, r.text

    def self_log(self, bsn: str) -> list[dict[str, object]]:
        headers = {"Authorization": f"Bearer {tokens.issue(self.writer)}"}
        params = {
            "objecttype": "persoon",
            "soortObjectId": "BSN",
            "objectId": bsn,
            "verwerkingsactiviteitId": DEFAULT_SELF_LOG_ACTIVITY,
        }
        r = httpx.get(f"{self.process.url}/api/v1/verwerkingsacties", params=params, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        results: list[dict[str, object]] = r.json()["results"]
        return results


@pytest.fixture(scope="module")
def remotes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Remote, Remote]]:
    logs = tmp_path_factory.mktemp("federation-logs")
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('noord') / 'noord.db'}"
    for pg_url in _postgres_database():
        started: list[RegisterProcess] = []
        try:
            out = []
            for naam, url in (("Register Zuid (PostgreSQL)", pg_url), ("Register Noord (SQLite)", sqlite_url)):
                clients = asyncio.run(_prepare(url))
                asyncio.run(_portal_client(url))
                process = RegisterProcess(url, logs)
                started.append(process)
                process.start(timeout=60)  # a loaded CI machine starts Python processes slowly
                out.append(Remote(naam, process, clients["alles"]))
            yield out[0], out[1]
        finally:
            for process in started:
                process.stop()


@pytest.fixture
def portal(remotes: tuple[Remote, Remote], tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The portal on a register of its own, configured with both remote registers and one that is down."""
    bsn = new_bsn()
    registers = [
        {"naam": r.naam, "url": f"{r.process.url}/api/v1", "client_id": PORTAL_CLIENT, "secret": PORTAL_SECRET}
        for r in remotes
    ]
    down = f"http://127.0.0.1:{free_port()}/api/v1"
    registers.append({"naam": "Register Oost", "url": down, "client_id": PORTAL_CLIENT, "secret": PORTAL_SECRET})
    own = f"sqlite:///{tmp_path / 'own.db'}"
    settings = make_settings(
        own,
        migrate_on_start=True,
        **portal_settings(portal_demo_citizens=bsn, portal_registers=json.dumps(registers)),
    )
    with TestClient(create_app(settings), base_url="https://testserver") as tc:
        yield tc, bsn


def _now(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=1, **delta)).replace(microsecond=0).isoformat()


def test_entries_of_all_registers_merged_with_their_source_and_the_missing_one_named(
    remotes: tuple[Remote, Remote], portal: tuple[TestClient, str]
) -> None:
    zuid, noord = remotes
    tc, bsn = portal
    zuid.log(actie(bsn, verwerkingNaam="Bijstandsaanvraag", tijdstip=_now(days=3)))
    noord.log(actie(bsn, verwerkingNaam="Melding overlast", tijdstip=_now()))
    noord.log(actie(new_bsn(), verwerkingNaam="Iemand anders"))

    html = login(tc, bsn).text
    page = text_of(html)
    assert "Bijstandsaanvraag" in page and "Melding overlast" in page and "Iemand anders" not in page
    assert page.index("Melding overlast") < page.index("Bijstandsaanvraag")  # newest first, across registers
    assert "Register: Register Zuid (PostgreSQL)" in page and "Register: Register Noord (SQLite)" in page
    assert "Het register ‘Register Oost’ kon niet worden bereikt" in page and 'role="alert"' in html

    data = json.loads(tc.get("/portaal/export.json").content)
    by_name = {v["verwerkingNaam"]: v["register"] for v in data["verwerkingen"]}
    assert by_name["Bijstandsaanvraag"] == "Register Zuid (PostgreSQL)"
    assert by_name["Melding overlast"] == "Register Noord (SQLite)"
    assert data["onbereikbareRegisters"] == ["Register Oost"]

    pdf = tc.get("/portaal/export.pdf").content
    text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Register Oost" in text and "Bijstandsaanvraag" in text and "Melding overlast" in text


def test_each_register_logs_the_portals_lookup_with_the_inzage_headers(
    remotes: tuple[Remote, Remote], portal: tuple[TestClient, str]
) -> None:
    tc, bsn = portal
    login(tc, bsn)
    for remote in remotes:
        (logged,) = remote.self_log(bsn)
        assert logged["afnemerId"] == PORTAL_OIN
        assert logged["verwerkingsactiviteitIdAfnemer"] == Settings().portal_verwerkingsactiviteit_id
        assert logged["verwerkingIdAfnemer"]


def test_the_lookups_of_every_register_fold_into_one_line_and_the_summary_names_each_source(
    remotes: tuple[Remote, Remote], portal: tuple[TestClient, str]
) -> None:
    """Issue 18.4 across registers: every register logs the portal's look-ups with the visit's verwerkingIdAfnemer,
    so two visits are "2 keer", whatever the number of registers read; none of those look-ups is in the timeline.
    An activity no VAR explains is summarised under the register that logged it."""
    zuid, noord = remotes
    tc, bsn = portal
    zuid.log(actie(bsn, verwerkingNaam="Bijstandsaanvraag", tijdstip=_now(days=3)))
    noord.log(actie(bsn, verwerkingNaam="Melding overlast", tijdstip=_now()))
    login(tc, bsn)
    page = text_of(login(tc, bsn).text)
    assert all(len(r.self_log(bsn)) == 2 for r in remotes)  # logged by both remote registers, once per visit
    assert "U heeft dit overzicht 2 keer bekeken, deze keer meegeteld; de vorige keer op " in page
    assert "Inzage verwerkingenlog" not in page and "2 verwerkingen gevonden" in page
    said = page.replace(" :", ":")
    assert "Register Zuid (PostgreSQL): 1 verwerking. Doelen: Bijstandsaanvraag" in said
    assert "Register Noord (SQLite): 1 verwerking. Doelen: Melding overlast" in said
