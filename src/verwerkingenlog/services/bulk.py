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

from verwerkingenlog.domain import idempotency, scopes, versioning
from verwerkingenlog.domain.errors import DomainError, IdempotencyKeyReused
from verwerkingenlog.domain.idempotency import IdempotencyKey
from verwerkingenlog.domain.model import Actiegegevens, Caller, NieuwObject, Versie
from verwerkingenlog.services import idempotency as idempotency_service
from verwerkingenlog.services.register import Register
from verwerkingenlog.store import idempotency as idempotency_keys
from verwerkingenlog.store.bulk import append_many
from verwerkingenlog.store.db import IntegrityError
from verwerkingenlog.store.integrity import leaves_of


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
        sent = [k for i in allowed if (k := entries[i].key) is not None]
        earlier = await idempotency_service.look_up(conn, register.reader, caller.client_id, sent, fresh_from)
        new: list[tuple[int, Versie]] = []
        new_id = versioning.random_ids()
        in_request: dict[str, tuple[IdempotencyKey, int]] = {}  # key → (its first entry's key, that entry)
        replays: list[tuple[int, Versie | int]] = []  # (entry, the version it replays, or the entry stored first)
        purged: set[str] = set()
        for i in allowed:
            e = entries[i]
            if e.key is not None:
                found = earlier.get(e.key.key)
                if found is not None and found.purged(e.key):
                    purged.add(e.key.key)  # its action was purged since (R-RET-3): the key makes way
                    found = None
                if found is not None:
                    if not found.same_request(e.key):
                        outcomes[i] = _reused()
                    else:
                        assert found.version is not None  # read by look_up for the same body
                        replays.append((i, found.version))
                    continue
                if e.key.key in in_request:
                    first_key, first = in_request[e.key.key]
                    if first_key.fingerprint != e.key.fingerprint:
                        outcomes[i] = _reused()
                    else:
                        replays.append((i, first))
                    continue
                in_request[e.key.key] = (e.key, i)
            new.append((i, versioning.first_version(e.gegevens, e.objecten, now, caller.client_id, new_id)))
        # Keys to (re)claim: expired rows and those of purged actions make way (docs/idempotency.md).
        claims = [(k, v.actie_id) for i, v in new if (k := entries[i].key) is not None]
        await idempotency_keys.claim(conn, caller.client_id, claims, now, fresh_from, purged)
        seqs, leaves = await append_many(register.writer, conn, [v for _, v in new])
        for (i, v), seq, leaf in zip(new, seqs, leaves, strict=True):
            outcomes[i] = Stored(replace(v, seq=seq), leaf, False)
        for i, replayed in replays:
            if isinstance(replayed, int):
                first_stored = outcomes[replayed]
                assert isinstance(first_stored, Stored)
                outcomes[i] = Stored(first_stored.version, first_stored.leaf_index, True)
                continue
            at = replayed.seq
            found_leaves = await leaves_of(conn, "verwerkingsactie", [at]) if at is not None else {}
            outcomes[i] = Stored(replayed, found_leaves.get(at) if at is not None else None, True)
    return [o for o in outcomes if o is not None]


def _reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(f"The {idempotency.HEADER} of this entry was already used for a different entry.")
