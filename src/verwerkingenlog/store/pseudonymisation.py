"""R-PRIV-1 (B2042): BSNs are pseudonymised behind the API.

Lookups use a keyed, deterministic blind index (HMAC-SHA-256); the value itself is kept with
authenticated encryption (AES-256-GCM) so that it can be recovered (migration, merger).
Plain unsalted hashes are not acceptable because BSNs are enumerable.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"verwerkingenlog/" + purpose).derive(secret)


class Pseudonymiser:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("The pseudonymisation key must be at least 32 bytes.")
        self._index_key = _derive(secret, b"blind-index")
        # HMAC-SHA-256 (RFC 2104) with the key's inner and outer pads hashed once: `hmac.new` per value set
        # the key up again for every object (2 µs of 3 per blind index, in bulk ingest). The key (32 bytes,
        # above) is shorter than the block, so it is only padded. tests/test_bulk_cpu_paths.py checks the
        # result against `hmac`.
        block = self._index_key.ljust(hashlib.sha256().block_size, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._aead = AESGCM(_derive(secret, b"encryption"))

    @staticmethod
    def protects(soort: str | None) -> bool:
        """Which identifiers are pseudonymised: `BSN`, compared case-insensitively (R-PRIV-1)."""
        return soort is not None and soort.lower() == "bsn"

    def sleutel(self, soort: str, object_id: str) -> bytes:
        """Blind index of an object identifier (kind and value exactly as supplied, R-GETL-1)."""
        inner = self._inner.copy()
        inner.update(soort.encode() + b"\x00" + object_id.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def seal(self, value: str, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, value.encode(), context)

    def open(self, blob: bytes, context: bytes) -> str:
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], context).decode()


def load_secret(configured: str | None, key_file: Path) -> bytes:
    """The configured secret, or a key file that is created (mode 0600) on first use."""
    if configured:
        return configured.encode()
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    return value
