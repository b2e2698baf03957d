"""The register when its PostgreSQL server goes away and comes back (docs/deployment.md#high-availability): a
multi-host URL finds the primary past a dead host, a request that cannot reach the database gets a 503
problem+json (never a 201), and the first request after the server is back succeeds — the pool, the group
committer and the client cache's LISTEN connection recover by themselves. The real failover, with Patroni and
a synchronous standby, is `make test-ha` (tests/ha/failover.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.helpers import Api, actie, new_bsn
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.client_cache import cache_for
from verwerkingenlog.services.clients import Client
from verwerkingenlog.store.db import PostgresTarget, async_url

postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.05)


class Proxy:
    """A TCP forwarder in front of the test PostgreSQL server: `cut()` resets every connection and refuses new
    ones (the server crashed, or failed over to an address not reachable yet); `restore()` accepts again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = _free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._server: socket.socket | None = None

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            sockets, self._sockets = self._sockets, []
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not, on Linux)
            server.close()
        for s in sockets:  # RST, as a crashed server's kernel answers; shutdown() wakes the pump blocked in recv()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                down, _ = server.accept()
            except OSError:
                return
            with self._lock:
                if self._server is not server:
                    down.close()
                    return
                up = socket.create_connection(self.upstream)
                self._sockets += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _with_hosts(url: str, netloc_hosts: str, query: str = "") -> str:
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return f"postgresql://{user}@{netloc_hosts}{parts.path}" + (f"?{query}" if query else "")


def _upstream(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


@contextmanager
def _register(url: str, registered: dict[str, Client], **overrides: Any) -> Iterator[Api]:
    settings = make_settings(url, **overrides)
    with TestClient(create_app(settings), base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, "postgresql", registered)


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["status"] == 503


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(async_url(url).replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def test_a_libpq_multi_host_url_is_split_for_asyncpg() -> None:
    target = PostgresTarget.parse(
        "postgresql://app:pw@db1:5432,db2/register?target_session_attrs=read-write&port=5433"
        "&connect_timeout=2&keepalives_idle=5&tcp_user_timeout=10000"
    )
    assert target.hosts == (("db1", 5432), ("db2", 5433))
    assert target.dsn == "postgresql://app:pw@/register?target_session_attrs=read-write"
    assert target.socket == {"connect_timeout": 2.0, "keepalives_idle": 5.0, "tcp_user_timeout": 10.0}
    assert not target.plain
    assert PostgresTarget.parse("postgresql://app@db1:5432/register").plain


@postgresql
def test_a_multi_host_url_reaches_the_primary_past_a_dead_host(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    """The first host refuses connections (a node that is down): the register, and its LISTEN connection, use
    the next one; `target_session_attrs=read-write` is passed on to asyncpg."""
    host, port = _upstream(backend[1])
    url = _with_hosts(
        backend[1], f"127.0.0.1:{_free_port()},{host}:{port}", "target_session_attrs=read-write&connect_timeout=2"
    )
    with _register(url, registered, client_cache_seconds=300) as api:
        created = api.create(actie(new_bsn()))
        assert api.get(created["actieId"]).status_code == 200
        assert cache_for(api.tc.app.state.db.url).listening  # type: ignore[attr-defined]


@postgresql
def test_the_first_request_after_the_server_dropped_every_connection_succeeds(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    """A restarted server (or a failover) leaves every pooled connection dead; the pool tests a connection
    before handing it out, so the next request gets a new one instead of a 500."""
    with _register(backend[1], registered) as api:
        for _ in range(3):
            api.create(actie(new_bsn()))
        database = urlsplit(backend[1]).path.lstrip("/")
        asyncio.run(
            _sql(
                backend[1],
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{database}' AND pid <> pg_backend_pid()",
            )
        )
        assert api.post(actie(new_bsn())).status_code == 201
        assert api.request("GET", "/health/ready", who=None).status_code == 200


@postgresql
def test_requests_while_the_database_is_gone_get_503_and_the_register_recovers_by_itself(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    """While no server answers, a POST gets a 503 problem+json with Retry-After (never a 201, and nothing is
    stored); as soon as the server answers again, POSTs (through the group committer) succeed and the client
    cache's LISTEN connection is back, without a restart of the register."""
    proxy = Proxy(_upstream(backend[1]))
    proxy.restore()
    url = _with_hosts(backend[1], f"127.0.0.1:{proxy.port}", "connect_timeout=2")
    try:
        with _register(url, registered, client_cache_seconds=300) as api:
            cache = cache_for(api.tc.app.state.db.url)  # type: ignore[attr-defined]
            api.create(actie(new_bsn()))
            assert cache.listening
            proxy.cut()
            bsn = new_bsn()
            _assert_unavailable(api.post(actie(bsn), headers={"Idempotency-Key": "failover-1"}))
            assert api.request("GET", "/health/ready", who=None).status_code == 503
            _until(lambda: not cache.listening, 5)
            proxy.restore()
            again = api.post(actie(bsn), headers={"Idempotency-Key": "failover-1"})
            assert again.status_code == 201, again.text
            assert len(api.list(bsn).json()["results"]) == 1
            _until(lambda: cache.listening, 10)
    finally:
        proxy.cut()
