"""The integrity service's operational behaviour, on SQLite and PostgreSQL: concurrent writers get contiguous
leaves in commit order, the background job signs while the log grows, the witness URL is retried without
blocking, and a log that predates the tree gets its leaves once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY, make_settings
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh
from tests.var_support import activiteit, new_oin
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.domain.model import Actiegegevens, Caller, NieuwObject
from verwerkingenlog.domain.scopes import ALL_SCOPES
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.services.integrity import Witness
from verwerkingenlog.services.verify import INSERTED, Verifier, VerifyReport
from verwerkingenlog.store import integrity as store

fresh = integrity_support.fresh
CALLER = Caller("gelijktijdig", frozenset(ALL_SCOPES))


def verify(f: Fresh) -> VerifyReport:
    state = f.app.state

    async def run() -> VerifyReport:
        keys = await state.integrity.trusted_keys()
        return await Verifier(state.db, state.register.reader, state.var.store).run(keys)

    report: VerifyReport = f.call(run)
    return report


def test_concurrent_writers_get_contiguous_leaves(fresh: Fresh) -> None:
    """40 actions stored concurrently (PostgreSQL: truly in parallel, several connections): leaves 0…39, each
    version exactly one, and the log verifies: the register-wide lock makes leaf order the commit order."""
    f = fresh
    register = f.app.state.register

    async def many() -> list[Any]:
        async def one() -> Any:
            gegevens = Actiegegevens("2025-01-01T00:00:00+00:00", 1_735_689_600_000_000, Vertrouwelijkheid.NORMAAL)
            return await register.create(CALLER, gegevens, [NieuwObject("persoon", "BSN", new_bsn())])

        return await asyncio.gather(*(one() for _ in range(40)))

    versions = f.call(many)

    async def leaves() -> dict[int, Any]:
        async with f.app.state.db.reading() as conn:
            return await store.leaves_between(conn, 0, 1000)

    stored = f.call(leaves)
    assert sorted(stored) == list(range(40))
    assert sorted(leaf.ref for leaf in stored.values()) == sorted(v.seq for v in versions)
    f.checkpoint()
    assert verify(f).ok


def test_the_server_signs_while_the_log_grows_and_feeds_the_witness(fresh: Fresh) -> None:
    """CHECKPOINT_INTERVAL_SECONDS: the background job signs when there are new entries (and not otherwise);
    CHECKPOINT_WITNESS_URL gets every note, a failed delivery is retried with the next one."""
    delivered: list[str] = []
    failures = [1]

    def witness(request: httpx.Request) -> httpx.Response:
        if failures:
            failures.pop()
            return httpx.Response(503)
        delivered.append(request.content.decode())
        return httpx.Response(204)

    settings = make_settings(
        fresh.url,
        checkpoint_key_file=fresh.key_file,
        checkpoint_interval_seconds=1,
        checkpoint_origin="register.test/verwerkingenlog",
    )
    app = create_app(settings)
    with TestClient(app) as tc:
        state: Any = tc.app.state  # type: ignore[attr-defined]
        state.integrity.witness = Witness(
            url="https://witness.example/checkpoints", transport=httpx.MockTransport(witness)
        )
        headers = {"Authorization": f"Bearer {fresh.api.tokens['alles']}"}
        assert tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=headers).status_code == 201
        first = _wait_for_checkpoint(tc, 1)
        assert delivered == [] and state.integrity.witness.pending == [first]  # 503: kept for later
        assert tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=headers).status_code == 201
        second = _wait_for_checkpoint(tc, 2)
        assert delivered == [first, second] and state.integrity.witness.pending == []
        assert tc.portal.call(state.integrity.tick) is None  # type: ignore[union-attr]  # nothing new


def _wait_for_checkpoint(tc: TestClient, size: int) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = tc.get("/api/v1/integriteit/checkpoint")
        if r.status_code == 200 and r.text.split("\n")[1] == str(size):
            time.sleep(0.1)  # the witness export follows the commit
            return r.text
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of size {size} within 5 seconds")


def test_a_log_that_predates_the_tree_gets_its_leaves_once(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading a register that has versions but no tree (`verwerkingenlog migrate`, or the server's start):
    each gets a leaf, in registration order; after that, a row without a leaf is never adopted but reported
    as inserted."""
    f = fresh
    created = f.api.post(actie(new_bsn())).json()
    f.api.request("POST", "/api/v1/verwerkingsactiviteiten", "var-write", json=activiteit(new_oin()))
    f.tamper("DELETE FROM merkle_node")  # as if the log predates migration 0005
    monkeypatch.setenv("DATABASE_URL", f.url)
    monkeypatch.setenv("PSEUDONYMISATION_KEY", TEST_KEY)
    migrated = CliRunner().invoke(cli, ["migrate"])
    assert migrated.exit_code == 0 and "Gave the 2 versions" in migrated.output, migrated.output
    state = f.app.state
    adopt = state.integrity.adopt_existing
    assert f.call(adopt, state.register.reader, state.var.store) == 0
    f.checkpoint()
    assert verify(f).ok
    f.tamper(
        "INSERT INTO verwerkingsactie_versie (seq, actie_id, lineage_id, versie, vervallen, tijdstip_registratie_us, "
        "tijdstip, tijdstip_us, vertrouwelijkheid) VALUES (77, '00000000-0000-4000-8000-000000000077', "
        "'00000000-0000-4000-8000-000000000077', 1, false, 0, '2025-01-01T00:00:00Z', 0, 'normaal')"
    )
    assert f.call(adopt, state.register.reader, state.var.store) == 0
    assert [(x.what, x.ref) for x in verify(f).findings] == [(INSERTED, 77)]
    assert f.api.get(created["actieId"]).status_code == 200
