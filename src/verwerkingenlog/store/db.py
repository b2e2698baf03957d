"""Engine creation for both backends: one code path, dialect details kept here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept plain `sqlite:///…` and `postgresql://…` URLs and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"Unsupported database {backend!r}: use sqlite:///… or postgresql://…")
    return parsed.render_as_string(hide_password=False)


POSTGRES_POOL_SIZE = 20
"""Connections per process: enough for group commit, reads and token lookups at 64 concurrent clients."""


class Database:
    """The engine plus the one piece of dialect-specific write discipline (R-VER-7)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = async_url(url)
        if self.url.startswith("postgresql"):
            # A steady pool: connections beyond it would be opened and closed per request under load
            # (a TCP and TLS handshake each; docs/performance.md). Waiters queue for a free connection.
            engine_kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
            engine_kwargs.setdefault("max_overflow", 0)
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_kwargs)
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
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# The store's names for what services hold without importing SQLAlchemy (docs/architecture.md, rule 3): the
# connection of a transaction a use case spans, the error a concurrent insert of the same key raises, and any
# error of the database (e.g. a lock timeout).
Connection = AsyncConnection
IntegrityError = exc.IntegrityError
DBAPIError = exc.DBAPIError
