"""The API clients' secrets, encrypted at rest (docs/deployment.md, Key management).

HS256 tokens (§4.3) are verified with the client's own secret, so the register must be able to read it back: a hash
will not do. It is kept sealed with AES-256-GCM under a key from the environment (CLIENT_SECRET_KEY), bound to its
client id (a sealed secret copied onto another row does not open), so a database dump alone signs no token.

The key setting is a keyring, `ID:SECRET[,ID:SECRET…]`: the first key seals, every key opens, and each sealed value
names the key that sealed it. Rotation: put a new key first, run `verwerkingenlog clients reencrypt`, then drop the
old one. A value without an id is the one key `default`. Clients with a public key or a JWKS URL have no secret at
all (services.clients).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from verwerkingenlog.settings import Settings

PREFIX: Final = "aesgcm"
DEFAULT_KEY_ID: Final = "default"
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_NONCE: Final = 12
MIN_SECRET_CHARS: Final = 32


class KeyringError(ValueError):
    """CLIENT_SECRET_KEY is malformed (reported at start, before any client is read)."""


class SecretUnreadable(ValueError):
    """A sealed secret that no configured key opens (a key was dropped too early, or the value was tampered with)."""


@dataclass(frozen=True, slots=True)
class _Key:
    key_id: str
    aead: AESGCM


def _aad(client_id: str) -> bytes:
    return b"verwerkingenlog/api_client.secret\x00" + client_id.encode()


class ClientSecretKeyring:
    def __init__(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            raise KeyringError("CLIENT_SECRET_KEY holds no key.")
        seen: dict[str, _Key] = {}
        for key_id, secret in keys:
            if not _KEY_ID.fullmatch(key_id):
                raise KeyringError(f"Key id {key_id!r} in CLIENT_SECRET_KEY: use 1 to 40 of A-Z a-z 0-9 . _ -.")
            if len(secret) < MIN_SECRET_CHARS:
                raise KeyringError(
                    f"Key {key_id!r} in CLIENT_SECRET_KEY is shorter than {MIN_SECRET_CHARS} characters."
                )
            if key_id in seen:
                raise KeyringError(f"Key id {key_id!r} appears twice in CLIENT_SECRET_KEY.")
            derived = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"verwerkingenlog/client-secret"
            ).derive(secret.encode())
            seen[key_id] = _Key(key_id, AESGCM(derived))
        self._keys = seen
        self.primary = next(iter(seen))
        """The id of the key that seals (the first one listed)."""

    @classmethod
    def parse(cls, value: str) -> ClientSecretKeyring:
        """`ID:SECRET[,ID:SECRET…]`, or one bare secret (key `default`). Secrets from `openssl rand -base64 36`
        hold neither `:` nor `,`."""
        entries = [part.strip() for part in value.split(",") if part.strip()]
        if len(entries) == 1 and ":" not in entries[0]:
            return cls([(DEFAULT_KEY_ID, entries[0])])
        keys = []
        for entry in entries:
            key_id, sep, secret = entry.partition(":")
            if not sep:
                raise KeyringError("CLIENT_SECRET_KEY with several keys: write each as ID:SECRET, comma-separated.")
            keys.append((key_id.strip(), secret.strip()))
        return cls(keys)

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, client_id: str, secret: str) -> str:
        key = self._keys[self.primary]
        nonce = os.urandom(_NONCE)
        blob = nonce + key.aead.encrypt(nonce, secret.encode(), _aad(client_id))
        return f"{PREFIX}:{key.key_id}:{base64.urlsafe_b64encode(blob).decode().rstrip('=')}"

    def open(self, client_id: str, stored: str) -> str:
        key_id = sealed_by(stored)
        if key_id is None:
            raise SecretUnreadable(
                f"The secret of client {client_id!r} is stored unencrypted: run `verwerkingenlog clients reencrypt`."
            )
        key = self._keys.get(key_id)
        if key is None:
            raise SecretUnreadable(
                f"The secret of client {client_id!r} was sealed with key {key_id!r}, which CLIENT_SECRET_KEY no longer "
                f"holds (it holds {', '.join(self._keys)})."
            )
        encoded = stored.split(":", 2)[2]
        try:
            blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            return key.aead.decrypt(blob[:_NONCE], blob[_NONCE:], _aad(client_id)).decode()
        except (InvalidTag, ValueError):
            raise SecretUnreadable(f"The secret of client {client_id!r} does not open with key {key_id!r}.") from None

    def needs_reseal(self, stored: str) -> bool:
        """True for a plain value or one sealed by another key than the primary one."""
        return sealed_by(stored) != self.primary


def sealed_by(stored: str) -> str | None:
    """The id of the key that sealed a stored value; None when the value is a plain (legacy) secret."""
    prefix, sep, rest = stored.partition(":")
    if prefix != PREFIX or not sep:
        return None
    key_id, sep, _ = rest.partition(":")
    return key_id if sep and _KEY_ID.fullmatch(key_id) else None


def load_keyring(configured: str | None, key_file: Path) -> ClientSecretKeyring:
    """The configured keyring, or one read from a key file that is created (mode 0600) on first use: the embedded
    demo works without configuration, like the pseudonymisation key (store.pseudonymisation.load_secret)."""
    if configured:
        return ClientSecretKeyring.parse(configured)
    if key_file.exists():
        return ClientSecretKeyring.parse(key_file.read_text().strip())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it a moment ago
        return ClientSecretKeyring.parse(key_file.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return ClientSecretKeyring.parse(value)


def keyring_from_settings(settings: Settings | None = None) -> ClientSecretKeyring:
    """The keyring of these settings (default: the environment's)."""
    s = settings or Settings()
    configured = s.client_secret_key.get_secret_value() if s.client_secret_key is not None else None
    return load_keyring(configured, s.client_key_file)
