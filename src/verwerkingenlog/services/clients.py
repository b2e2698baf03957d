"""Registered API clients (§4.3): client_id, secret and the scopes of the registration."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from verwerkingenlog.domain.scopes import KNOWN_SCOPES
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
    def __init__(self, db: Database) -> None:
        self.db = db

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
        return new

    async def get(self, client_id: str) -> Client | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(client).where(client.c.client_id == client_id))).mappings().first()
        if row is None:
            return None
        return Client(row["client_id"], row["secret"], frozenset(json.loads(row["scopes"])))

    async def list(self) -> list[Client]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(client).order_by(client.c.client_id))).mappings().all()
        return [Client(r["client_id"], r["secret"], frozenset(json.loads(r["scopes"]))) for r in rows]

    async def remove(self, client_id: str) -> bool:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(client).where(client.c.client_id == client_id))
        return bool(result.rowcount)

    async def rotate(self, client_id: str) -> Client | None:
        """A new secret for a registered client (None when there is no such client). Tokens signed with the
        old secret stop working at once: every request looks the client's secret up (services.tokens)."""
        secret = secrets.token_urlsafe(32)
        async with self.db.writing() as conn:
            result = await conn.execute(update(client).where(client.c.client_id == client_id).values(secret=secret))
        if not result.rowcount:
            return None
        return await self.get(client_id)
