"""Engine creation for both backends: one code path, dialect details kept here."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError as DBAPIError  # named for services (below)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger("verwerkingenlog.db")

SOCKET_PARAMS = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")
"""libpq connection parameters asyncpg does not know (it would send them to the server as settings); the register
applies them itself, with libpq's meaning, so that one URL works for psql and for the register."""
SOCKET_PARAMS_MS = ("tcp_user_timeout",)


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """A PostgreSQL URL in libpq's form, possibly with several hosts (`postgresql://u@h1:5432,h2:5432/db?
    target_session_attrs=read-write`, docs/deployment.md#high-availability), split for asyncpg."""

    dsn: str
    """The URL without hosts and without the socket parameters: what asyncpg gets, with one host at a time."""
    hosts: tuple[tuple[str, int | None], ...]
    socket: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> PostgresTarget:
        parts = urlsplit(url)
        userinfo, _, hostlist = parts.netloc.rpartition("@")
        query = parse_qsl(parts.query, keep_blank_values=True)
        hosts: list[tuple[str, int | None]] = []
        for item in [h for h in hostlist.split(",") if h] + [v for k, v in query if k == "host"]:
            for h in item.split(","):
                host, port = _host_port(unquote(h))
                hosts.append((host, port))
        ports = [int(v) for k, v in query if k == "port"]
        if ports and hosts:  # libpq: `port=` lists the ports of the hosts in order (one port applies to all)
            hosts = [(h, ports[min(i, len(ports) - 1)] if p is None else p) for i, (h, p) in enumerate(hosts)]
        sock = {k: float(v) for k, v in query if k in SOCKET_PARAMS}
        sock.update({k: float(v) / 1000 for k, v in query if k in SOCKET_PARAMS_MS})
        rest = [(k, v) for k, v in query if k not in (*SOCKET_PARAMS, *SOCKET_PARAMS_MS, "host", "port")]
        netloc = f"{userinfo}@" if userinfo else ""
        dsn = f"postgresql://{netloc}{parts.path}" + (f"?{urlencode(rest)}" if rest else "")
        return cls(dsn, tuple(hosts) or (("", None),), sock)

    @property
    def plain(self) -> bool:
        """One host and no socket parameter: SQLAlchemy's own asyncpg connect does everything."""
        return len(self.hosts) <= 1 and not self.socket

    def sqlalchemy_url(self) -> str:
        """The same target as a SQLAlchemy URL, hosts as `host=` query values (its multi-host form)."""
        parts = urlsplit(self.dsn)
        query = parse_qsl(parts.query, keep_blank_values=True)
        query += [("host", (f"[{h}]" if ":" in h else h) + (f":{p}" if p else "")) for h, p in self.hosts]
        return f"postgresql+asyncpg://{parts.netloc}{parts.path}?{urlencode(query)}"

    async def connect(self) -> Any:
        """Try the hosts in order, like libpq: `connect_timeout` applies per host (asyncpg's timeout covers all
        hosts, so one unreachable host would use it up), `target_session_attrs` picks the primary, and the
        keepalive settings go on the socket, so that a connection to a server cut off the network fails within
        seconds instead of hanging until the kernel gives up (hours)."""
        import asyncpg

        timeout = self.socket.get("connect_timeout") or 60.0
        last: BaseException | None = None
        for host, port in self.hosts:
            try:
                conn = await asyncpg.connect(self.dsn, host=host or None, port=port, timeout=timeout)
            except Exception as exc:  # refused, timed out, a standby (TargetServerAttributeNotMatched): next one
                log.info("database host %s:%s not usable: %s", host, port, type(exc).__name__)
                last = exc
                continue
            self._tune(conn)
            return conn
        if isinstance(last, OSError):
            raise last
        # No host is the primary (yet): during a failover, an outage like a refused connection (api/problems.py).
        raise ConnectionError(f"no database host is usable: {last}") from last

    def _tune(self, conn: Any) -> None:
        sock = conn._transport.get_extra_info("socket")  # asyncpg has no hook for socket options
        if sock is None or sock.family == socket.AF_UNIX or self.socket.get("keepalives", 1) == 0:
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, option in (
            ("keepalives_idle", "TCP_KEEPIDLE"),
            ("keepalives_interval", "TCP_KEEPINTVL"),
            ("keepalives_count", "TCP_KEEPCNT"),
        ):
            if name in self.socket and hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), int(self.socket[name]))
        if "tcp_user_timeout" in self.socket and hasattr(socket, "TCP_USER_TIMEOUT"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(self.socket["tcp_user_timeout"] * 1000))


DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, OSError)
"""What a statement raises when the database fails (the API maps them through `database_unavailable`)."""


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or is not (or no longer) the primary: a failover or an outage, not a bug.
    The request's transaction did not commit, or its outcome is unknown (the connection broke during COMMIT); in
    both cases the client retries with its Idempotency-Key and gets exactly one entry (docs/idempotency.md)."""
    if isinstance(exc, OSError):  # includes TimeoutError: no host answered (PostgresTarget.connect)
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, InterfaceError | OperationalError):
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        # 25006 read-only transaction (a demoted primary), 57P0x shutdown/crash, 08xxx connection exceptions
        return isinstance(sqlstate, str) and (sqlstate == "25006" or sqlstate[:2] in ("08", "57"))
    return False


def _host_port(item: str) -> tuple[str, int | None]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:] else None
    host, sep, port = item.rpartition(":")
    if not sep or not port.isdigit():
        return item, None
    return host, int(port)


def async_url(url: str) -> str:
    """Accept plain `sqlite:///…` and `postgresql://…` URLs and pick the async drivers."""
    scheme = url.partition(":")[0].partition("+")[0]
    if scheme in ("postgresql", "postgres") and not (target := PostgresTarget.parse(url)).plain:
        return target.sqlalchemy_url()
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            create_private(Path(parsed.database))
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"Unsupported database {backend!r}: use sqlite:///… or postgresql://…")
    return parsed.render_as_string(hide_password=False)


def create_private(path: Path, truncate: bool = False) -> None:
    """Create `path` with mode 0600 when it does not exist yet, whatever the umask (issue 21.6): a SQLite database
    holds client secrets and the pseudonymised log, like the key files beside it. SQLite gives its -wal and -shm
    files the mode of the database file. With `truncate` an existing file is emptied and made 0600 as well (a
    backup target about to be overwritten)."""
    flags = os.O_CREAT | os.O_WRONLY | (os.O_TRUNC if truncate else 0)
    fd = os.open(path, flags, 0o600)
    try:
        if truncate:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


POSTGRES_POOL_SIZE = 20
"""Connections per process: enough for group commit, reads and token lookups at 64 concurrent clients."""


class Database:
    """The engine plus the one piece of dialect-specific write discipline (R-VER-7)."""

    def __init__(self, url: str, read_url: str | None = None, **engine_kwargs: Any) -> None:
        self.url = async_url(url)
        self.postgres: PostgresTarget | None = None
        """PostgreSQL: the target in libpq's form (also for the client cache's LISTEN connection)."""
        if self.url.startswith("postgresql"):
            self.postgres = PostgresTarget.parse(url)
            # A steady pool: connections beyond it would be opened and closed per request under load
            # (a TCP and TLS handshake each; docs/performance.md). Waiters queue for a free connection.
            engine_kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
            engine_kwargs.setdefault("max_overflow", 0)
            # After a failover or a server restart every pooled connection is dead: test each one as it is taken
            # (one round trip), so that the first request after the new primary is up succeeds instead of failing
            # on a connection that broke while idle (docs/deployment.md#high-availability).
            engine_kwargs.setdefault("pool_pre_ping", True)
            if not self.postgres.plain:  # several hosts or keepalives: connect like libpq (PostgresTarget.connect)
                engine_kwargs.setdefault("async_creator", self.postgres.connect)
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_kwargs)
        self.replica: Database | None = Database(read_url, **engine_kwargs) if read_url else None
        """DATABASE_READ_URL: a streaming replica for reads that may lag the primary (`reading(replica=True)`)."""
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; serialising writers in-process avoids SQLITE_BUSY on
        # lock upgrades. PostgreSQL serialises per lineage with advisory locks (store.write).
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed durably before the caller returns (R-TX-2), or rolled back."""
        if self._write_lock is not None:
            async with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    @asynccontextmanager
    async def reading(self, replica: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for reading. ``replica=True``: from DATABASE_READ_URL when set, which may lag the primary
        by the replication delay; when the replica cannot be reached the primary answers instead."""
        engine = self.engine
        if replica and self.replica is not None:
            try:
                conn = await self.replica.engine.connect()
            except (OSError, DBAPIError) as exc:
                log.warning("replica unavailable (%s): reading from the primary", type(exc).__name__)
            else:
                try:
                    yield conn
                finally:
                    await conn.close()
                return
        async with engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica is not None:
            await self.replica.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# The store's names for what services hold without importing SQLAlchemy (docs/architecture.md, rule 3): the
# connection of a transaction a use case spans, the error a concurrent insert of the same key raises, and any
# error of the database (e.g. a lock timeout: DBAPIError, imported above).
Connection = AsyncConnection
IntegrityError = exc.IntegrityError
