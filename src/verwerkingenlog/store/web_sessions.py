"""SQL of the web sessions table (store.tables.web_session)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.store.tables import web_session


async def add(conn: AsyncConnection, id_hash: str, ui: str, created_us: int) -> None:
    await conn.execute(insert(web_session).values(id_hash=id_hash, ui=ui, created_us=created_us))


async def created(conn: AsyncConnection, id_hash: str, ui: str) -> int | None:
    """When the session was started, or None when it does not exist (ended, expired, or never started)."""
    found = await conn.execute(
        select(web_session.c.created_us).where(web_session.c.id_hash == id_hash, web_session.c.ui == ui)
    )
    return found.scalar_one_or_none()


async def remove(conn: AsyncConnection, id_hash: str) -> None:
    await conn.execute(delete(web_session).where(web_session.c.id_hash == id_hash))


async def remove_older(conn: AsyncConnection, before_us: int) -> None:
    await conn.execute(delete(web_session).where(web_session.c.created_us < before_us))
