"""The client and token cache (services.client_cache): requests stop reading their client per request, yet a
revoked or rotated client is refused at once — also when another process made the change."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.client_cache import TtlCache, cache_for
from verwerkingenlog.services.clients import Client, Clients
from verwerkingenlog.store.db import Database, async_url

LIST_PARAMS = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "1", "vertrouwelijkheid": "normaal"}


def _register(url: str, client_id: str) -> Client:
    async def go() -> Client:
        db = Database(url)
        try:
            return await Clients(db).add(client_id, ["read:normal"])
        finally:
            await db.dispose()

    return asyncio.run(go())


def _cli(url: str, *args: str) -> None:
    """The CLI in a process of its own, as an operator runs it beside the server."""
    env = {**os.environ, "DATABASE_URL": url, "MIGRATE_ON_START": "false"}
    done = subprocess.run(
        [sys.executable, "-c", "from verwerkingenlog.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def _status(tc: TestClient, token: str) -> int:
    return tc.get(
        "/api/v1/verwerkingsacties", params=LIST_PARAMS, headers={"Authorization": f"Bearer {token}"}
    ).status_code


def _until(condition: Callable[[], bool], seconds: float) -> float:
    """Seconds it took for ``condition`` to hold (fails after ``seconds``)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - start


# A five-minute cache shows that invalidation, not time, ended an entry. PostgreSQL hears every change (NOTIFY,
# delivered a moment after the commit); SQLite reads the change counter of migration 0010 before every cached
# answer, so the very next request after the other process has committed is refused (issue 19.5).
CACHE_SECONDS = {"postgresql": 300, "sqlite": 300}
BOUND = {"postgresql": 5.0}


def _refused_after_the_change(name: str, tc: TestClient, token: str) -> None:
    if name == "sqlite":
        assert _status(tc, token) == 401  # at once: the first request after the change
    else:
        assert _until(lambda: _status(tc, token) == 401, 10) < BOUND[name]


@pytest.fixture
def cached_api(backend: tuple[str, str], registered: Any) -> Iterator[tuple[str, TestClient]]:
    settings = make_settings(backend[1], client_cache_seconds=CACHE_SECONDS[backend[0]], jwt_leeway_seconds=0)
    with TestClient(create_app(settings), base_url="http://testserver") as tc:
        yield backend[0], tc


def test_a_client_removed_by_another_process_is_refused_at_once(cached_api: tuple[str, TestClient]) -> None:
    """The CLI in a process of its own removes a client whose lookup the server has cached: refused long before
    the five-minute cache would expire — PostgreSQL as soon as the NOTIFY arrives, SQLite at the very next
    request (the change counter)."""
    name, tc = cached_api
    url = str(tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    client = _register(url, f"weg-{uuid.uuid4().hex[:8]}")
    token = tokens.issue(client)
    assert _status(tc, token) == 200 and _status(tc, token) == 200
    assert cache_for(Database(url).url).get(client.client_id) is not None  # the lookup was cached
    _cli(url, "clients", "remove", client.client_id)
    _refused_after_the_change(name, tc, token)


def test_a_client_rotated_by_another_process_loses_its_old_tokens_at_once(
    cached_api: tuple[str, TestClient],
) -> None:
    """`clients rotate` from the CLI (another process): the old token, cached by the server, is refused at once
    (SQLite: the next request), and a token signed with the new secret works."""
    name, tc = cached_api
    url = str(tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    client = _register(url, f"cli-draai-{uuid.uuid4().hex[:8]}")
    old = tokens.issue(client)
    assert _status(tc, old) == 200 and _status(tc, old) == 200
    _cli(url, "clients", "rotate", client.client_id)
    _refused_after_the_change(name, tc, old)

    async def fetch() -> Client | None:
        db = Database(url)
        try:
            return await Clients(db).get(client.client_id)
        finally:
            await db.dispose()

    rotated = asyncio.run(fetch())
    assert rotated is not None and rotated.secret != client.secret
    assert _status(tc, tokens.issue(rotated)) == 200


def test_a_rotated_secret_ends_the_old_tokens_at_once(cached_api: tuple[str, TestClient]) -> None:
    """A rotation through another `Clients` (the admin pages, the CLI): old tokens 401 at once, new ones 200."""
    _name, tc = cached_api
    url = str(tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    client = _register(url, f"draai-{uuid.uuid4().hex[:8]}")
    old = tokens.issue(client)
    assert _status(tc, old) == 200 and _status(tc, old) == 200  # the second use is served from the cache

    async def rotate() -> Client:
        db = Database(url)
        try:
            rotated = await Clients(db).rotate(client.client_id)
            assert rotated is not None
            return rotated
        finally:
            await db.dispose()

    new = tokens.issue(asyncio.run(rotate()))
    _until(lambda: _status(tc, old) == 401, 5)
    assert _status(tc, new) == 200


def test_a_cached_token_still_expires(cached_api: tuple[str, TestClient]) -> None:
    """The time checks run on every use: a cached token is refused once its `exp` has passed."""
    _name, tc = cached_api
    url = str(tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    client = _register(url, f"kort-{uuid.uuid4().hex[:8]}")
    token = tokens.issue(client, lifetime=3)  # `iat` is whole seconds: exp is 2 to 3 s from now
    assert _status(tc, token) == 200 and _status(tc, token) == 200
    _until(lambda: _status(tc, token) == 401, 6)
    refused = tc.get("/api/v1/verwerkingsacties", params=LIST_PARAMS, headers={"Authorization": f"Bearer {token}"})
    assert "expired" in refused.json()["detail"]


def test_a_token_with_a_forged_signature_is_not_served_from_the_cache(cached_api: tuple[str, TestClient]) -> None:
    """Only the exact token that verified is cached: same claims, another key → 401."""
    _name, tc = cached_api
    url = str(tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    client = _register(url, f"echt-{uuid.uuid4().hex[:8]}")
    good = tokens.issue(client)
    assert _status(tc, good) == 200
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256")
    assert _status(tc, forged) == 401
    assert _status(tc, good) == 200


def test_a_change_made_by_hand_in_sql_is_seen_within_the_bound(cached_api: tuple[str, TestClient]) -> None:
    """A change that bypasses the register sends no NOTIFY. SQLite: the triggers still raise the change
    counter, so it is seen at once. PostgreSQL: while the LISTEN connection is down nothing is cached, so it
    is seen at once; the listener then comes back by itself."""
    name, tc = cached_api
    url = str(tc.app.state.settings.database_url)  # type: ignore[attr-defined]
    cache = cache_for(Database(url).url)
    client = _register(url, f"stil-{uuid.uuid4().hex[:8]}")
    token = tokens.issue(client)
    assert _status(tc, token) == 200
    update = "UPDATE api_client SET secret = :s WHERE client_id = :c"
    if name == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(update, {"s": "x" * 43, "c": client.client_id})
        assert _status(tc, token) == 401
        return
    dsn = async_url(url).replace("postgresql+asyncpg", "postgresql")

    async def sql(statement: str, *args: Any) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    assert cache.listening
    asyncio.run(sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"))
    _until(lambda: not cache.listening, 5)
    asyncio.run(sql("UPDATE api_client SET secret = $1 WHERE client_id = $2", "x" * 43, client.client_id))
    assert _status(tc, token) == 401
    _until(lambda: cache.listening, 10)


def test_ttl_cache_forgets_after_its_time() -> None:
    now = [0.0]
    cache: TtlCache[str] = TtlCache(5, clock=lambda: now[0])
    cache.put("a", "A")
    now[0] = 4.9
    assert cache.get("a") == "A"
    now[0] = 5.0
    assert cache.get("a") is None
    off: TtlCache[str] = TtlCache(0)
    off.put("a", "A")
    assert off.get("a") is None
