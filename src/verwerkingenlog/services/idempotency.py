"""Idempotent ingest (extension, docs/idempotency.md): what a request's Idempotency-Keys already stand for.

The one implementation behind a single POST (`Register.create_once`) and every entry of a bulk POST
(services.bulk): both look their keys up here, and claim the new ones with `store.idempotency.claim`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from verwerkingenlog.domain import idempotency
from verwerkingenlog.domain.idempotency import IdempotencyKey, Remembered
from verwerkingenlog.domain.model import Versie
from verwerkingenlog.store import idempotency as keys
from verwerkingenlog.store.db import Connection
from verwerkingenlog.store.read import LogReader


@dataclass(frozen=True, slots=True)
class Earlier:
    """What the register remembers of a key: the earlier request's fingerprint and result, and that result's
    version (None when the body differs, so it was not read, or when a purge removed the action since)."""

    remembered: Remembered
    version: Versie | None

    def same_request(self, key: IdempotencyKey) -> bool:
        """A retry carries the same body; another body means the key was reused by mistake (422)."""
        return idempotency.same_request(self.remembered, key)

    def purged(self, key: IdempotencyKey) -> bool:
        """Same body, but its action is gone (R-RET-3): the key makes way and the action is stored anew."""
        return self.same_request(key) and self.version is None


async def look_up(
    conn: Connection, reader: LogReader, client_id: str, sent: Collection[IdempotencyKey], fresh_from_us: int
) -> dict[str, Earlier]:
    """key → what an unexpired earlier request of this client with that key stored; a key not in the answer
    is new (claim it with `store.idempotency.claim`). A replay is re-read by its actieId, never a stored
    response body; only the versions some sent key will replay are read (one primary-key read each)."""
    remembered = await keys.remembered(conn, client_id, {k.key for k in sent}, fresh_from_us)
    replayed = {k.key for k in sent if k.key in remembered and idempotency.same_request(remembered[k.key], k)}
    out: dict[str, Earlier] = {}
    for key, found in remembered.items():
        version = await reader.version(conn, found.actie_id) if key in replayed else None
        out[key] = Earlier(found, version)
    return out
