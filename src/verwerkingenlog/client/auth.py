"""Bearer tokens the ZGW way (§4.3): HS256 signed with the client's secret, `iss` and `client_id`
naming the client, `iat` set. The register refuses tokens older than its JWT_MAX_AGE_SECONDS
(default one hour), so a token is re-minted well before that.

A client registered with a public key or a JWKS URL signs with its private key instead (ES256 for a P-256 key,
EdDSA for an Ed25519 key): `TokenSource.from_private_key(client_id, pem, key_id=...)`; no secret is ever shared."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:  # `cryptography` is needed only to sign with a private key (pip install 'pyjwt[crypto]')
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

DEFAULT_REFRESH_AFTER = 1800.0  # half the register's default maximum age (3600 s)


class TokenSource:
    """Mints and caches a token; thread-safe. `refresh_after` must stay below the register's maximum age."""

    def __init__(
        self,
        client_id: str,
        secret: str | None = None,
        refresh_after: float = DEFAULT_REFRESH_AFTER,
        clock: Callable[[], float] = time.time,
        *,
        private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | None = None,
        key_id: str | None = None,
    ) -> None:
        """A shared `secret` (HS256) or a `private_key` (ES256/EdDSA; `key_id` becomes the `kid` header, which a
        client registered by JWKS URL must send when its set holds several keys)."""
        if (secret is None) == (private_key is None):
            raise ValueError("Give a TokenSource either a secret or a private key.")
        self.client_id = client_id
        self._key: Any = secret if secret is not None else private_key
        self._algorithm = "HS256" if secret is not None else _algorithm(private_key)
        self._headers = {"kid": key_id} if key_id is not None else None
        self.refresh_after = refresh_after
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._minted = 0.0

    def token(self, force: bool = False) -> str:
        with self._lock:
            now = self._clock()
            if force or self._token is None or now - self._minted >= self.refresh_after:
                claims = {"iss": self.client_id, "client_id": self.client_id, "iat": int(now)}
                self._token = jwt.encode(claims, self._key, algorithm=self._algorithm, headers=self._headers)
                self._minted = now
            return self._token

    def authorization(self, force: bool = False) -> str:
        return f"Bearer {self.token(force)}"

    @classmethod
    def from_private_key(
        cls,
        client_id: str,
        pem: str | bytes | Path,
        key_id: str | None = None,
        password: bytes | None = None,
        refresh_after: float = DEFAULT_REFRESH_AFTER,
    ) -> TokenSource:
        """Sign with a private key in PEM (PKCS#8), given as text or as a file path (`openssl genpkey -algorithm
        ed25519 -out client.key`)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519

        data = pem.read_bytes() if isinstance(pem, Path) else pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password)
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("The private key must be an Ed25519 key (EdDSA) or a P-256 key (ES256).")
        return cls(client_id, refresh_after=refresh_after, private_key=key, key_id=key_id)


def _algorithm(key: object) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("The private key must be an Ed25519 key (EdDSA) or a P-256 key (ES256).")
