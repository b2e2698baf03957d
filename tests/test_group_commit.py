"""Group commit (docs/performance.md): concurrent new actions share one transaction, each answered only after
its commit; a database failure fails the whole batch; kill -9 under load loses no acknowledged entry."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from tests.helpers import actie, new_bsn
from tests.live import RegisterProcess, wait_until
from verwerkingenlog.api import bodies
from verwerkingenlog.api.app import build_register
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.scopes import ALL_SCOPES
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.tables import versie


def _request(bsn: str) -> tuple[Any, Any]:
    body = bodies.parse(bodies.PostBody, httpx.Request("POST", "/", json=actie(bsn)).content)
    return bodies.gegevens_of(body), bodies.objecten_of(body)


async def _stored(db: Database, actie_ids: list[str]) -> set[str]:
    async with db.reading() as conn:
        rows = await conn.execute(select(versie.c.actie_id).where(versie.c.actie_id.in_(actie_ids)))
        return {str(r[0]) for r in rows}


def test_concurrent_creates_share_transactions_and_are_answered_after_commit(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    caller = Caller("alles", frozenset(ALL_SCOPES))

    async def main() -> None:
        db = Database(backend[1])
        register = build_register(make_settings(backend[1], group_commit_window_ms=20, group_commit_max_batch=8), db)
        committer = register.committer
        tasks: list[asyncio.Task[Any]] = []
        seen_in_batch: list[tuple[int, int]] = []  # (batch size, requests already answered)

        def on_batch(size: int) -> None:
            seen_in_batch.append((size, sum(t.done() for t in tasks)))

        committer.on_batch = on_batch
        try:
            tasks.extend(asyncio.create_task(register.create(caller, *_request(new_bsn()))) for _ in range(20))
            created = await asyncio.gather(*tasks)
            ids = [v.actie_id for v in created]
            assert await _stored(db, ids) == set(ids)
            assert all(v.seq is not None for v in created)
            assert len({v.seq for v in created}) == 20
        finally:
            await committer.close()
            await db.dispose()
        # 20 requests, batches of at most 8 → at least three transactions, far fewer than 20.
        sizes = [size for size, _ in seen_in_batch]
        assert sum(sizes) == 20 and max(sizes) <= 8 and len(sizes) < 20, sizes
        # Inside each transaction (before its commit) no request of it or of later batches was answered yet.
        answered_before = 0
        for size, answered in seen_in_batch:
            assert answered == answered_before, seen_in_batch
            answered_before += size

    asyncio.run(main())


def test_a_database_failure_fails_every_request_of_the_batch(
    backend: tuple[str, str], registered: dict[str, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = Caller("alles", frozenset(ALL_SCOPES))

    async def main() -> None:
        db = Database(backend[1])
        register = build_register(make_settings(backend[1], group_commit_window_ms=20), db)
        real_append = register.writer.append

        async def failing_append(conn: Any, versions: Any) -> list[int]:
            await real_append(conn, versions)  # rows written, then the transaction fails: all rolled back
            raise RuntimeError("disk full")

        monkeypatch.setattr(register.writer, "append", failing_append)
        requests = [_request(new_bsn()) for _ in range(5)]
        try:
            results = await asyncio.gather(*(register.create(caller, *r) for r in requests), return_exceptions=True)
            assert all(isinstance(r, RuntimeError) for r in results), results
            assert register.committer.batches == 0
            monkeypatch.setattr(register.writer, "append", real_append)
            after = await register.create(caller, *_request(new_bsn()))  # the committer recovers
            assert await _stored(db, [after.actie_id]) == {after.actie_id}
        finally:
            await register.committer.close()
            await db.dispose()

    asyncio.run(main())


def test_kill_9_under_load_loses_no_acknowledged_entry(
    backend: tuple[str, str], registered: dict[str, Client], tmp_path: Path
) -> None:
    """16 clients POST as fast as they can; kill -9 the register mid-load: every 201 is in the database."""
    token = tokens.issue(registered["alles"])
    register = RegisterProcess(backend[1], tmp_path).start()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=register.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
            while not stop.is_set():
                try:
                    r = http.post("/api/v1/verwerkingsacties", json=actie(new_bsn()))
                except httpx.HTTPError:
                    return  # the register died under us: this request was never acknowledged
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(r.json()["actieId"])

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(acknowledged) >= 150, 60, "150 acknowledged entries")
        register.kill()
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        register.stop()
    with lock:
        acked = list(acknowledged)

    async def stored() -> set[str]:
        db = Database(backend[1])
        try:
            return await _stored(db, acked)
        finally:
            await db.dispose()

    assert len(acked) >= 150
    assert set(acked) - asyncio.run(stored()) == set()
