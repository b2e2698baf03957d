"""Idempotent ingest (an extension, docs/idempotency.md): a retried POST is stored once.

A logging client that did not hear back from the register cannot know whether its entry was
stored; retrying without a key risks a duplicate, not retrying risks a gap in the log (B7952
demands that a processing is logged before it happens). With an `Idempotency-Key` the register
answers a retry with the original result instead of storing the entry again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from verwerkingenlog.domain.errors import InvalidValue

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """The key a client sent and the fingerprint of the body it sent with it."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the register keeps per (client, key): never the body itself (it holds personal data)."""

    fingerprint: str
    actie_id: str
    status: int
    created_us: int


def key_value(raw: str) -> str:
    """1 to 255 printable ASCII characters (a UUID4 per logical call is recommended)."""
    if not raw or len(raw) > MAX_KEY_LENGTH or not _PRINTABLE.fullmatch(raw):
        raise InvalidValue(
            "invalid", f"Must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID (got {len(raw)})."
        )
    return raw


def fingerprint(body: bytes) -> str:
    """SHA-256 of the canonical JSON of the body: key order and whitespace do not matter."""
    canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def same_request(remembered: Remembered, key: IdempotencyKey) -> bool:
    """A replay must carry the same body as the original; otherwise the key was reused by mistake."""
    return remembered.fingerprint == key.fingerprint
