"""Bulk ingest (extension, docs/performance.md): many new actions in one request, one transaction.

Every entry is checked on its own - syntax by the API, the create scope here - and reported on its own; the
valid ones are stored together (PostgreSQL COPY, store.bulk). With an Idempotency-Key every entry has a key
of its own (docs/idempotency.md): a retried bulk request stores only what is not stored yet and answers the
rest from the register.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from verwerkingenlog.domain import idempotency, scopes, versioning
from verwerkingenlog.domain.errors import DomainError, IdempotencyKeyReused
from verwerkingenlog.domain.idempotency import IdempotencyKey
from verwerkingenlog.domain.model import Actiegegevens, Caller, NieuwObject, Versie
from verwerkingenlog.services.register import Register
from verwerkingenlog.store.bulk import append_many
from verwerkingenlog.store.integrity import leaves_of
from verwerkingenlog.store.tables import idempotency_key

_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    key: IdempotencyKey | None
    gegevens: Actiegegevens
    objecten: Sequence[NieuwObject]


@dataclass(frozen=True, slots=True)
class Stored:
    version: Versie
    leaf_index: int | None
    replayed: bool


Outcome = Stored | DomainError


async def ingest(register: Register, caller: Caller, entries: Sequence[Entry]) -> list[Outcome]:
    """One outcome per entry, in order. A database failure fails the whole request (nothing is stored)."""
    # A context of its own: the leaves go into the response body, not into a Leaf-Index header per entry.
    task = asyncio.create_task(_ingest(register, caller, entries), context=contextvars.Context())
    return await asyncio.shield(task)


async def _ingest(register: Register, caller: Caller, entries: Sequence[Entry]) -> list[Outcome]:
    try:
        return await _attempt(register, caller, entries)
    except IntegrityError:
        # A concurrent request stored one of these keys first: everything rolled back; now it is a replay.
        return await _attempt(register, caller, entries)


async def _attempt(register: Register, caller: Caller, entries: Sequence[Entry]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(entries)
    allowed: list[int] = []
    for i, e in enumerate(entries):
        try:
            scopes.check_create(caller.scopes, e.gegevens.vertrouwelijkheid)
            allowed.append(i)
        except DomainError as exc:
            outcomes[i] = exc
    now = register.clock()
    fresh_from = now - register.idempotency_ttl_us
    async with register.db.writing() as conn:
        keys = sorted({e.key.key for i in allowed if (e := entries[i]).key is not None})
        remembered: dict[str, tuple[str, str]] = {}
        for start in range(0, len(keys), _CHUNK):
            stmt = select(idempotency_key.c.idempotency_key, idempotency_key.c.fingerprint, idempotency_key.c.actie_id)
            stmt = stmt.where(
                idempotency_key.c.client_id == caller.client_id,
                idempotency_key.c.idempotency_key.in_(keys[start : start + _CHUNK]),
                idempotency_key.c.created_us >= fresh_from,
            )
            remembered.update({str(r[0]): (str(r[1]), str(r[2])) for r in await conn.execute(stmt)})
        new: list[tuple[int, Versie]] = []
        new_id = versioning.random_ids()
        in_request: dict[str, tuple[str, int]] = {}  # key → (fingerprint, index of its first entry)
        replays: list[tuple[int, str]] = []
        purged: list[str] = []
        for i in allowed:
            e = entries[i]
            if e.key is not None:
                earlier = remembered.get(e.key.key)
                same = earlier is not None and earlier[0] == e.key.fingerprint
                if same and earlier is not None and await register.reader.version(conn, earlier[1]) is None:
                    # Its action was purged since (R-RET-3): the key makes way, as for a single POST.
                    purged.append(e.key.key)
                    earlier = None
                if earlier is None and e.key.key in in_request:
                    earlier = (in_request[e.key.key][0], "")
                if earlier is not None:
                    if earlier[0] != e.key.fingerprint:
                        outcomes[i] = IdempotencyKeyReused(
                            f"The {idempotency.HEADER} of this entry was already used for a different entry."
                        )
                    elif earlier[1]:
                        replays.append((i, earlier[1]))
                    else:
                        replays.append((i, f"#{in_request[e.key.key][1]}"))
                    continue
                in_request[e.key.key] = (e.key.fingerprint, i)
            new.append((i, versioning.first_version(e.gegevens, e.objecten, now, caller.client_id, new_id)))
        # Keys to (re)claim: expired rows make way (docs/idempotency.md).
        fresh_keys = [entries[i].key for i, _ in new if entries[i].key is not None]
        claimed = [k.key for k in fresh_keys if k is not None]
        for start in range(0, len(claimed), _CHUNK):
            await conn.execute(
                delete(idempotency_key).where(
                    idempotency_key.c.client_id == caller.client_id,
                    idempotency_key.c.idempotency_key.in_(claimed[start : start + _CHUNK]),
                    idempotency_key.c.created_us < fresh_from,
                )
            )
        if purged:
            await conn.execute(
                delete(idempotency_key).where(
                    idempotency_key.c.client_id == caller.client_id, idempotency_key.c.idempotency_key.in_(purged)
                )
            )
        key_rows = [
            {
                "client_id": caller.client_id,
                "idempotency_key": k.key,
                "fingerprint": k.fingerprint,
                "actie_id": v.actie_id,
                "status": 201,
                "created_us": now,
            }
            for i, v in new
            if (k := entries[i].key) is not None
        ]
        if key_rows:
            await conn.execute(insert(idempotency_key), key_rows)
        seqs, leaves = await append_many(register.writer, conn, [v for _, v in new])
        for (i, v), seq, leaf in zip(new, seqs, leaves, strict=True):
            outcomes[i] = Stored(replace(v, seq=seq), leaf, False)
        for i, ref in replays:
            if ref.startswith("#"):
                first = outcomes[int(ref[1:])]
                assert isinstance(first, Stored)
                outcomes[i] = Stored(first.version, first.leaf_index, True)
                continue
            version = await register.reader.version(conn, ref)
            assert version is not None  # checked above, in this transaction
            found = await leaves_of(conn, "verwerkingsactie", [version.seq]) if version.seq is not None else {}
            outcomes[i] = Stored(version, found.get(version.seq) if version.seq is not None else None, True)
    return [o for o in outcomes if o is not None]
