"""The SQL of the admin pages' own records (docs/admin.md, migration 0007): audit entries and verify results.

Both tables are insert-only (R-VER-5, store.migrations.guards): appended and read here, never changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.store.tables import admin_audit, verify_result


async def append_entry(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """One audit entry (the columns of `admin_audit` but its id)."""
    await conn.execute(insert(admin_audit).values(**values))


async def entries(conn: AsyncConnection, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """(the number of entries, the page of them newest first) as column → value."""
    count = (await conn.execute(select(func.count()).select_from(admin_audit))).scalar_one()
    rows = (
        await conn.execute(select(admin_audit).order_by(admin_audit.c.id.desc()).offset(offset).limit(limit))
    ).mappings()
    return int(count), [dict(r) for r in rows]


async def append_verify_result(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """One verify result (the columns of `verify_result` but its id)."""
    await conn.execute(insert(verify_result).values(**values))


async def latest_verify_result(conn: AsyncConnection) -> dict[str, Any] | None:
    """The newest verify result as column → value, or None before the first run."""
    row = (await conn.execute(select(verify_result).order_by(verify_result.c.id.desc()).limit(1))).mappings().first()
    return None if row is None else dict(row)
