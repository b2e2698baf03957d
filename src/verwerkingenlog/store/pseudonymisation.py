"""R-PRIV-1 (B2042): person identifiers are pseudonymised behind the API.

Lookups use a keyed, deterministic blind index (HMAC-SHA-256); the value itself is kept with
authenticated encryption (AES-256-GCM) so that it can be recovered (migration, merger).
Plain unsalted hashes are not acceptable because BSNs are enumerable.

Which values (issue 19.3: a person's identifier must never depend on a spelling):

- every `objectId` of a verwerkt object whose objecttype is personal data (PERSONAL_DATA_OBJECTTYPES; `persoon`
  always, by default every objecttype), whatever its `soortObjectId`;
- every value whose kind is a spelling of BSN (`BSN`, `bsn`, `burgerservicenummer`, `bsn-nummer`, …), also an
  `afnemerId`.

The blind index is over the kind and the value (R-GETL-1), with every spelling of BSN folded to `BSN`, so that
a search by any spelling finds what was stored under any other. The stored `soortObjectId` stays as supplied.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12

BSN: Final = "BSN"
ALL_OBJECTTYPES: Final = "*"
PERSOON: Final = "persoon"
# Spellings of BSN, compared case-insensitively and without spaces, dots, hyphens and underscores.
BSN_SPELLINGS: Final = frozenset({"bsn", "bsnnummer", "bsnnr", "burgerservicenummer", "burgerservicenr"})
_FOLD: Final = str.maketrans("", "", " ._-")
# Every casing of "bsn" but "BSN": kinds the versions before issue 19.3 pseudonymised with a blind index over the
# kind exactly as supplied, which the re-pseudonymisation re-keys (docs/integrity.md §14).
EARLIER_BSN_CASINGS: Final = tuple(
    sorted("".join(c) for c in itertools.product(*(sorted({x, x.upper()}) for x in "bsn")) if "".join(c) != "BSN")
)


def is_bsn(soort: str | None) -> bool:
    """Whether an identifier kind is a spelling of BSN (issue 19.3)."""
    return soort is not None and soort.lower().translate(_FOLD) in BSN_SPELLINGS


def canonical_soort(soort: str) -> str:
    """The kind the blind index is computed over: every spelling of BSN is `BSN`, any other kind exactly as
    supplied (R-GETL-1)."""
    return BSN if is_bsn(soort) else soort


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"verwerkingenlog/" + purpose).derive(secret)


class Pseudonymiser:
    def __init__(self, secret: bytes, personal_objecttypes: Iterable[str] = (ALL_OBJECTTYPES,)) -> None:
        """``personal_objecttypes``: the objecttypes whose every objectId is pseudonymised (`*`: all);
        `persoon` is always one of them."""
        types = {t.lower() for t in personal_objecttypes} | {PERSOON}
        self._every_objecttype = ALL_OBJECTTYPES in types
        self._objecttypes = frozenset(types)
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
        """Whether a value of this kind (an `afnemerId`) is pseudonymised: any spelling of BSN (R-PRIV-1)."""
        return is_bsn(soort)

    def protects_object(self, objecttype: str, soort: str | None) -> bool:
        """Whether a verwerkt object's objectId is pseudonymised: every one of a personal-data objecttype
        (`persoon` always), and any BSN (issue 19.3)."""
        return self._every_objecttype or objecttype.lower() in self._objecttypes or is_bsn(soort)

    def sleutel(self, soort: str, object_id: str) -> bytes:
        """Blind index of an object identifier: kind (spellings of BSN folded) and value (R-GETL-1)."""
        return self._hmac(canonical_soort(soort), object_id)

    def sleutels(self, soort: str, object_id: str) -> tuple[bytes, ...]:
        """The blind indexes a search by this kind and value matches: the folded one and, for another spelling of
        BSN, also the one over the kind exactly as supplied (a row an earlier version stored, until the
        re-pseudonymisation of docs/integrity.md §14 has re-keyed it). A search by `BSN` itself probes one."""
        folded = self.sleutel(soort, object_id)
        if canonical_soort(soort) == soort:
            return (folded,)
        return folded, self._hmac(soort, object_id)

    def _hmac(self, soort: str, object_id: str) -> bytes:
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
