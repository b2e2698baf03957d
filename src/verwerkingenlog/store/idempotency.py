"""Remembered Idempotency-Keys (extension, docs/idempotency.md): the SQL of idempotent ingest, for a single POST
and for every entry of a bulk POST alike.

Not a log table (R-VER-5 does not apply): rows expire after the configured time and make way for a new request
with the same key. Every function works on many keys at once, in chunks, so a bulk request of thousands of
entries costs a handful of statements, not one per entry.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.idempotency import IdempotencyKey, Remembered
from verwerkingenlog.store.tables import idempotency_key

_CHUNK = 1000  # keys per IN (...) list
CREATED = 201


async def remembered(
    conn: AsyncConnection, client_id: str, keys: Collection[str], not_before_us: int
) -> dict[str, Remembered]:
    """key → the unexpired result of an earlier request of this client with that key (primary key lookups)."""
    ordered = sorted(set(keys))
    out: dict[str, Remembered] = {}
    for start in range(0, len(ordered), _CHUNK):
        stmt = select(idempotency_key).where(
            idempotency_key.c.client_id == client_id,
            idempotency_key.c.idempotency_key.in_(ordered[start : start + _CHUNK]),
            idempotency_key.c.created_us >= not_before_us,
        )
        for row in (await conn.execute(stmt)).mappings():
            out[str(row["idempotency_key"])] = Remembered(
                str(row["fingerprint"]), str(row["actie_id"]), int(row["status"]), int(row["created_us"])
            )
    return out


async def claim(
    conn: AsyncConnection,
    client_id: str,
    claims: Sequence[tuple[IdempotencyKey, str]],
    now_us: int,
    expired_before_us: int,
    purged: Collection[str] = (),
) -> None:
    """Record (client, key) → the new action's actieId for each claim, in the caller's transaction (R-TX-1).

    An expired row of a claimed key makes way first, and so does the row of every key in `purged` (its action
    was removed by a purge since, R-RET-3). A concurrent request with one of the keys makes this (or the commit)
    fail on the primary key: the caller rolls back and answers it as a replay.
    """
    if not claims:
        return
    keys = [key.key for key, _ in claims]
    for start in range(0, len(keys), _CHUNK):
        await conn.execute(
            delete(idempotency_key).where(
                idempotency_key.c.client_id == client_id,
                idempotency_key.c.idempotency_key.in_(keys[start : start + _CHUNK]),
                idempotency_key.c.created_us < expired_before_us,
            )
        )
    gone = sorted(set(purged))
    for start in range(0, len(gone), _CHUNK):
        await conn.execute(
            delete(idempotency_key).where(
                idempotency_key.c.client_id == client_id,
                idempotency_key.c.idempotency_key.in_(gone[start : start + _CHUNK]),
            )
        )
    await conn.execute(
        insert(idempotency_key),
        [
            {
                "client_id": client_id,
                "idempotency_key": key.key,
                "fingerprint": key.fingerprint,
                "actie_id": actie_id,
                "status": CREATED,
                "created_us": now_us,
            }
            for key, actie_id in claims
        ],
    )


async def forget_expired(conn: AsyncConnection, before_us: int) -> int:
    """Remove every key remembered before `before_us` (the periodic clean-up of the write path)."""
    result = await conn.execute(delete(idempotency_key).where(idempotency_key.c.created_us < before_us))
    return int(result.rowcount or 0)
