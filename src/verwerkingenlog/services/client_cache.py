"""A short-lived cache of registered clients and of verified tokens, so that a request does not look its
client up in the database (docs/performance.md: the lookup was a fifth of the write path's CPU at 64 clients).

Revocation and rotation must still take effect at once (R-AUTH-1), so the cache is only trusted while it hears
every change:

- every change through `services.clients.Clients` invalidates the entry in this process and, on PostgreSQL,
  sends ``NOTIFY verwerkingenlog_clients`` in the same transaction; every server process LISTENs on a connection
  of its own (`ClientChangeListener`) and drops the entry when the change commits. While that connection is
  down, nothing is served from the cache;
- on SQLite (one host, the embedded default) the database raises a counter on every change of `api_client`
  (migration 0010's triggers, so also a change by another process such as the CLI, or by hand in SQL), and
  every lookup the cache would answer first reads that counter on a read-only connection of its own
  (`SqliteClientChanges`: one primary-key read of a one-row table, microseconds, no pool, no thread hop); a
  changed counter empties the cache. A change is therefore seen by the next request on SQLite too;
- on PostgreSQL a change made by hand in SQL sends no NOTIFY and is seen within ``CLIENT_CACHE_SECONDS``.

The cache is shared by every `Clients` of one database URL in a process, and bounded in size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlsplit

log = logging.getLogger("verwerkingenlog.auth")

CHANNEL: Final = "verwerkingenlog_clients"
"""PostgreSQL NOTIFY channel; the payload is the changed client's id."""

MAX_ENTRIES: Final = 10_000

T = TypeVar("T")


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    expires: float


class TtlCache(Generic[T]):
    """Entries live ``seconds`` at most; a full cache is emptied rather than grown (no eviction bookkeeping
    on the hot path: a register has tens of clients, not thousands)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[str, _Entry[T]] = {}

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            self._entries.pop(key, None)
            return None
        return entry.value

    def put(self, key: str, value: T) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = _Entry(value, self.clock() + self.seconds)

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


class SqliteClientChanges:
    """SQLite: the change counter of `api_client` (table `client_change`, raised by migration 0010's triggers),
    read on a read-only connection of its own. In WAL mode the read never waits for a writer. Any error (file
    gone, table missing) answers None: the cache is then not trusted."""

    QUERY: Final = "SELECT counter FROM client_change WHERE id = 1"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the app may run in another thread than the one that connected

    def counter(self) -> int | None:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = sqlite3.connect(
                        f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
                    )
                row = self._conn.execute(self.QUERY).fetchone()
            except sqlite3.Error as exc:
                log.warning("Client cache: cannot read the client change counter (%s); not caching.", exc)
                self.close()
                return None
        return None if row is None else int(row[0])

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


class ClientCache:
    """The cached client records of one database, and whether changes to them are being heard."""

    def __init__(self) -> None:
        self.clients: TtlCache[Any] = TtlCache(0.0)
        self.listening = False
        """PostgreSQL: True while a `ClientChangeListener` is connected. SQLite needs no listener."""
        self.requires_listener = False
        self.changes: SqliteClientChanges | None = None
        """SQLite (a file): the change counter checked before every answer from the cache."""
        self._seen_counter: int | None = None

    def configure(self, seconds: float, requires_listener: bool) -> None:
        self.clients.seconds = seconds
        self.requires_listener = requires_listener
        if seconds <= 0:
            self.clients.clear()

    @property
    def usable(self) -> bool:
        return self.clients.seconds > 0 and (self.listening or not self.requires_listener)

    def watch(self, changes: SqliteClientChanges | None) -> None:
        if self.changes is not None and self.changes is not changes:
            self.changes.close()
        self.changes = changes
        self._seen_counter = None
        self.clients.clear()

    def _unchanged(self) -> bool:
        """SQLite: False (and the cache emptied) when `api_client` changed since the counter was last read.
        The counter is read before the caller reads the row it will cache, so a change that commits between
        the two is seen at the next lookup."""
        if self.changes is None:
            return True
        counter = self.changes.counter()
        if counter is not None and counter == self._seen_counter:
            return True
        self.clients.clear()
        self._seen_counter = counter
        return False

    def get(self, client_id: str) -> Any:
        if not self.usable or not self._unchanged():
            return None
        return self.clients.get(client_id)

    def put(self, client_id: str, client: Any) -> None:
        if self.usable and (self.changes is None or self._seen_counter is not None):
            self.clients.put(client_id, client)

    def invalidate(self, client_id: str | None = None) -> None:
        if client_id is None:
            self.clients.clear()
        else:
            self.clients.pop(client_id)


_caches: dict[str, ClientCache] = {}


def cache_for(url: str) -> ClientCache:
    """The one cache of this database URL in this process (created empty and disabled)."""
    cache = _caches.get(url)
    if cache is None:
        cache = _caches[url] = ClientCache()
    return cache


class ClientChangeListener:
    """LISTENs for client changes on a dedicated asyncpg connection and keeps reconnecting while it runs."""

    def __init__(
        self,
        dsn: str,
        cache: ClientCache,
        retry_seconds: float = 2.0,
        connect: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.dsn = dsn
        self._connect = connect
        """How to connect (store.db.PostgresTarget.connect: every host of a multi-host URL, the primary only)."""
        self.cache = cache
        self.retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self, timeout: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run(), name="client-cache-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self) -> None:
        self.cache.listening = False
        self.cache.invalidate()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.cache.invalidate(payload or None)

    async def _run(self) -> None:
        import asyncpg  # the server extra; SQLite deployments never start a listener

        reconnecting = False
        while True:
            lost = asyncio.Event()
            try:
                conn = await (self._connect() if self._connect is not None else asyncpg.connect(self.dsn))
            except Exception as exc:  # any failure (no primary yet during a failover): retry, never end the task
                reconnecting = True
                log.warning("Client cache: cannot listen for client changes (%s); not caching.", type(exc).__name__)
                await asyncio.sleep(self.retry_seconds)
                continue
            try:
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._notified)
                self.cache.invalidate()  # whatever changed while nobody listened
                self.cache.listening = True
                self._connected.set()
                if reconnecting:  # an operator following a failover sees the cache come back
                    log.info("Client cache: listening for client changes again.")
                reconnecting = True
                await lost.wait()
                log.warning("Client cache: the LISTEN connection was lost; reconnecting (not caching meanwhile).")
            except Exception as exc:  # e.g. the connection closed under add_listener (InterfaceError)
                log.warning("Client cache: listener failed (%s); reconnecting.", type(exc).__name__)
            finally:
                self.cache.listening = False
                self.cache.invalidate()
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(self.retry_seconds)


async def start_client_cache(
    url: str, is_sqlite: bool, seconds: float, connect: Callable[[], Awaitable[Any]] | None = None
) -> ClientChangeListener | None:
    """Switch the cache of this database on for ``seconds`` (0: off); on PostgreSQL start listening first.

    Returns the listener to stop at shutdown (None on SQLite or when the cache is off)."""
    from sqlalchemy.engine import make_url

    cache = cache_for(url)
    cache.configure(seconds, requires_listener=not is_sqlite)
    if is_sqlite:
        path = make_url(url).database or ""
        if path.startswith("file:"):  # a URI filename (`?uri=true`)
            path = urlsplit(path).path
        in_memory = path in ("", ":memory:")  # no other process can change it
        cache.watch(None if seconds <= 0 or in_memory else SqliteClientChanges(Path(path)))
        return None
    if seconds <= 0:
        return None

    dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
    listener = ClientChangeListener(dsn, cache, connect=connect)
    await listener.start()
    return listener
