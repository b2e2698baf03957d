"""Reads from a replica (DATABASE_READ_URL, docs/scaling.md): the Bewerking and Inzage GETs read from it, the
self-log entry of every read and every write go to the primary, and a client that just wrote reads from the
primary (read-your-writes). The "replica" here is a second database that lags behind: it has the schema but
none of the entries written during the test, so a test can tell which database answered. A real streaming
replica is in `make test-ha`'s cluster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import _prepare, make_settings
from tests.helpers import Api, actie, new_bsn
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client
from verwerkingenlog.store.db import Database

WINDOW = 0.5


def _rows(url: str) -> int:
    async def count() -> int:
        db = Database(url)
        try:
            async with db.reading() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM verwerkingsactie_versie"))).scalar_one())
        finally:
            await db.dispose()

    return asyncio.run(count())


def _api(primary: str, registered: dict[str, Client], **overrides: Any) -> TestClient:
    settings = make_settings(primary, database_read_after_write_seconds=WINDOW, **overrides)
    return TestClient(create_app(settings), base_url="http://testserver")


@pytest.fixture
def lagging(backend: tuple[str, str], fresh_database: str, registered: dict[str, Client]) -> Iterator[Api]:
    """The register with DATABASE_READ_URL on a database that has none of this test's entries."""
    asyncio.run(_prepare(fresh_database))
    with _api(backend[1], registered, database_read_url=fresh_database) as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, backend[0], registered)


def test_reads_go_to_the_replica_and_their_self_log_to_the_primary(
    lagging: Api, backend: tuple[str, str], fresh_database: str
) -> None:
    bsn = new_bsn()
    created = lagging.create(actie(bsn), who="alles")
    primary_before, replica_before = _rows(backend[1]), _rows(fresh_database)
    # "normaal" wrote nothing: its reads come from the replica, which does not have the entry yet.
    assert lagging.get(created["actieId"], who="normaal").status_code == 404
    assert lagging.list(bsn, who="normaal").json()["results"] == []
    assert lagging.inzage(bsn, who="normaal").json()["results"] == []
    # The two reads that returned (empty) results were logged (§10.5), on the primary (the 404 returned no
    # data, so it logs nothing); nothing was written to the replica.
    assert _rows(backend[1]) == primary_before + 2
    assert _rows(fresh_database) == replica_before


def test_a_client_reads_its_own_writes_from_the_primary_within_the_window(lagging: Api) -> None:
    bsn = new_bsn()
    created = lagging.create(actie(bsn), who="alles")
    assert lagging.get(created["actieId"], who="alles").status_code == 200
    assert len(lagging.list(bsn, who="alles").json()["results"]) == 1
    assert len(lagging.inzage(bsn, who="alles").json()["results"]) == 1
    assert lagging.request("GET", f"/api/v1/verwerkingsacties/{created['actieId']}/versies").status_code == 200
    time.sleep(WINDOW)  # the window ends: back to the replica, which (here) never catches up
    assert lagging.get(created["actieId"], who="alles").status_code == 404


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_unreachable_replica_leaves_reads_to_the_primary(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    with _api(backend[1], registered, database_read_url="postgresql://postgres@127.0.0.1:9/none") as tc:
        api = Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, backend[0], registered)
        created = api.create(actie(new_bsn()), who="alles")
        assert api.get(created["actieId"], who="normaal").status_code == 200
