"""Registered API clients (§4.3): client_id, secret and the scopes of the registration."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.scopes import KNOWN_SCOPES
from verwerkingenlog.services.client_cache import CHANNEL, cache_for
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.tables import client


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    secret: str
    scopes: frozenset[str]


class ClientExists(ValueError):
    pass


class UnknownScope(ValueError):
    pass


class Clients:
    """The registrations. Lookups go through the process-wide client cache of this database
    (services.client_cache, off unless the server configured it); every change here invalidates it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = cache_for(db.url)

    async def _changed(self, conn: AsyncConnection, client_id: str) -> None:
        """Inside the changing transaction: drop the cached entry here, and tell every other server process
        when the change commits (PostgreSQL NOTIFY is transactional)."""
        self.cache.invalidate(client_id)
        if not self.db.is_sqlite:
            await conn.execute(select(func.pg_notify(CHANNEL, client_id)))

    async def add(self, client_id: str, scopes: list[str], secret: str | None = None) -> Client:
        unknown = sorted(set(scopes) - set(KNOWN_SCOPES))
        if unknown:
            raise UnknownScope(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(KNOWN_SCOPES)}.")
        if not client_id or len(client_id) > 100:
            raise ValueError("A client id must be 1 to 100 characters.")
        if await self.get(client_id) is not None:
            raise ClientExists(f"A client with id {client_id!r} already exists.")
        new = Client(client_id, secret or secrets.token_urlsafe(32), frozenset(scopes))
        async with self.db.writing() as conn:
            await conn.execute(
                insert(client).values(
                    client_id=new.client_id,
                    secret=new.secret,
                    scopes=json.dumps(sorted(new.scopes)),
                    created_us=time.time_ns() // 1000,
                )
            )
            await self._changed(conn, new.client_id)
        self.cache.invalidate(new.client_id)
        return new

    async def get(self, client_id: str) -> Client | None:
        cached: Client | None = self.cache.get(client_id)
        if cached is not None:
            return cached
        async with self.db.reading() as conn:
            row = (await conn.execute(select(client).where(client.c.client_id == client_id))).mappings().first()
        if row is None:
            return None  # not cached: a client registered a moment later must work at once
        found = Client(row["client_id"], row["secret"], frozenset(json.loads(row["scopes"])))
        self.cache.put(client_id, found)
        return found

    async def list(self) -> list[Client]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(client).order_by(client.c.client_id))).mappings().all()
        return [Client(r["client_id"], r["secret"], frozenset(json.loads(r["scopes"]))) for r in rows]

    async def remove(self, client_id: str) -> bool:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(client).where(client.c.client_id == client_id))
            await self._changed(conn, client_id)
        self.cache.invalidate(client_id)  # again: a lookup during the transaction may have cached the old row
        return bool(result.rowcount)

    async def rotate(self, client_id: str) -> Client | None:
        """A new secret for a registered client (None when there is no such client). Tokens signed with the
        old secret stop working at once, in every server process (services.client_cache)."""
        secret = secrets.token_urlsafe(32)
        async with self.db.writing() as conn:
            result = await conn.execute(update(client).where(client.c.client_id == client_id).values(secret=secret))
            await self._changed(conn, client_id)
        self.cache.invalidate(client_id)
        if not result.rowcount:
            return None
        return await self.get(client_id)
