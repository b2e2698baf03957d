"""Registered API clients (§4.3): client_id, how the client signs its tokens, and the scopes of the registration.

A client signs either with a shared secret (HS256, the ZGW way; the secret is kept encrypted,
store.client_secrets) or with a private key of its own: the register then holds only the public key (PEM) or the
URL of the supplier's JWKS, and needs no secret at all (ES256 or EdDSA, docs/deployment.md, API clients)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain.scopes import KNOWN_SCOPES
from verwerkingenlog.services.client_cache import CHANNEL, cache_for
from verwerkingenlog.store.client_secrets import (
    ClientSecretKeyring,
    SecretUnreadable,
    keyring_from_settings,
    sealed_by,
)
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.tables import client

log = logging.getLogger("verwerkingenlog.auth")

Kind = Literal["secret", "public-key", "jwks"]
MAX_SECRET_CHARS: Final = 200
MAX_URL_CHARS: Final = 2000
LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    secret: str | None
    """HS256 clients: the secret, decrypted (None for the other kinds, and in `Clients.list`)."""
    scopes: frozenset[str]
    kind: Kind = "secret"
    public_key: str | None = None
    """`public-key` clients: their public key, PEM (SubjectPublicKeyInfo)."""
    jwks_url: str | None = None
    """`jwks` clients: where the register fetches their public keys (a JWK Set, RFC 7517)."""

    @property
    def credential(self) -> tuple[str | None, str | None, str | None]:
        """What verifies this client's tokens: a cached verification is trusted only while it is unchanged."""
        return (self.secret, self.public_key, self.jwks_url)


class ClientExists(ValueError):
    pass


class UnknownScope(ValueError):
    pass


class InvalidCredential(ValueError):
    """A public key or JWKS URL the register cannot verify tokens with."""


class NoSecret(ValueError):
    """The client signs with its own private key: there is no secret to rotate or to mint tokens with."""


def public_key_algorithm(pem: str) -> tuple[str, str]:
    """The key as PEM (SubjectPublicKeyInfo) and the only JWS algorithm it verifies: ES256 for a P-256 key,
    EdDSA for an Ed25519 key. Fixing the algorithm by the key, never by the token's header, rules out algorithm
    confusion (RFC 8725 §2.1)."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError):
        raise InvalidCredential("The public key is not a PEM public key (-----BEGIN PUBLIC KEY-----).") from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = "EdDSA"
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        algorithm = "ES256"
    else:
        raise InvalidCredential("The public key must be an Ed25519 key (EdDSA) or a P-256 key (ES256).")
    normalised = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return normalised.decode(), algorithm


def checked_jwks_url(url: str) -> str:
    """A JWKS URL is fetched by the register: HTTPS only (plain HTTP on loopback, for a supplier's test set-up)."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or not parts.hostname:
        raise InvalidCredential("The JWKS URL must be an absolute https:// URL.")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise InvalidCredential("The JWKS URL must use https:// (http:// only on localhost).")
    return url


class Clients:
    """The registrations. Lookups go through the process-wide client cache of this database
    (services.client_cache, off unless the server configured it); every change here invalidates it."""

    def __init__(self, db: Database, keyring: ClientSecretKeyring | None = None) -> None:
        self.db = db
        self.cache = cache_for(db.url)
        self.keyring = keyring or keyring_from_settings()

    async def _changed(self, conn: AsyncConnection, client_id: str) -> None:
        """Inside the changing transaction: drop the cached entry here, and tell every other server process
        when the change commits (PostgreSQL NOTIFY is transactional)."""
        self.cache.invalidate(client_id)
        if not self.db.is_sqlite:
            await conn.execute(select(func.pg_notify(CHANNEL, client_id)))

    async def add(
        self,
        client_id: str,
        scopes: list[str],
        secret: str | None = None,
        *,
        public_key: str | None = None,
        jwks_url: str | None = None,
    ) -> Client:
        """Register a client. Without a public key or JWKS URL it gets a secret (the given one, or a new one),
        returned here in the clear once and stored encrypted."""
        unknown = sorted(set(scopes) - set(KNOWN_SCOPES))
        if unknown:
            raise UnknownScope(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(KNOWN_SCOPES)}.")
        if not client_id or len(client_id) > 100:
            raise ValueError("A client id must be 1 to 100 characters.")
        if sum(v is not None for v in (secret, public_key, jwks_url)) > 1:
            raise InvalidCredential("Give a client a secret, a public key or a JWKS URL: one of them.")
        if secret is not None and not 1 <= len(secret) <= MAX_SECRET_CHARS:
            raise InvalidCredential(f"A client secret must be 1 to {MAX_SECRET_CHARS} characters.")
        if public_key is not None:
            new = Client(
                client_id, None, frozenset(scopes), "public-key", public_key=public_key_algorithm(public_key)[0]
            )
        elif jwks_url is not None:
            new = Client(client_id, None, frozenset(scopes), "jwks", jwks_url=checked_jwks_url(jwks_url))
        else:
            new = Client(client_id, secret or secrets.token_urlsafe(32), frozenset(scopes))
        if await self.get(client_id) is not None:
            raise ClientExists(f"A client with id {client_id!r} already exists.")
        async with self.db.writing() as conn:
            await conn.execute(
                insert(client).values(
                    client_id=new.client_id,
                    secret=self.keyring.seal(new.client_id, new.secret) if new.secret is not None else None,
                    public_key=new.public_key,
                    jwks_url=new.jwks_url,
                    scopes=json.dumps(sorted(new.scopes)),
                    created_us=time.time_ns() // 1000,
                )
            )
            await self._changed(conn, new.client_id)
        self.cache.invalidate(new.client_id)
        return new

    def _client(self, row: RowMapping, with_secret: bool = True) -> Client:
        scopes = frozenset(json.loads(row["scopes"]))
        if row["public_key"] is not None:
            return Client(row["client_id"], None, scopes, "public-key", public_key=row["public_key"])
        if row["jwks_url"] is not None:
            return Client(row["client_id"], None, scopes, "jwks", jwks_url=row["jwks_url"])
        secret = None
        if with_secret and row["secret"] is not None:
            try:
                secret = self.keyring.open(row["client_id"], row["secret"])
            except SecretUnreadable as exc:
                log.error("%s Its tokens are refused.", exc)
        return Client(row["client_id"], secret, scopes)

    async def get(self, client_id: str) -> Client | None:
        cached: Client | None = self.cache.get(client_id)
        if cached is not None:
            return cached
        async with self.db.reading() as conn:
            row = (await conn.execute(select(client).where(client.c.client_id == client_id))).mappings().first()
        if row is None:
            return None  # not cached: a client registered a moment later must work at once
        found = self._client(row)
        self.cache.put(client_id, found)
        return found

    async def list(self) -> list[Client]:
        """Every registration, without decrypting a secret (a list never shows one)."""
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(client).order_by(client.c.client_id))).mappings().all()
        return [self._client(r, with_secret=False) for r in rows]

    async def remove(self, client_id: str) -> bool:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(client).where(client.c.client_id == client_id))
            await self._changed(conn, client_id)
        self.cache.invalidate(client_id)  # again: a lookup during the transaction may have cached the old row
        return bool(result.rowcount)

    async def rotate(self, client_id: str) -> Client | None:
        """A new secret for a registered client (None when there is no such client). Tokens signed with the
        old secret stop working at once, in every server process (services.client_cache). A client with a public
        key or JWKS URL has no secret: NoSecret."""
        current = await self._stored(client_id)
        if current is None:
            return None
        if current.kind != "secret":
            raise NoSecret(f"Client {client_id!r} signs its tokens with its own private key: it has no secret.")
        secret = secrets.token_urlsafe(32)
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(client)
                .where(client.c.client_id == client_id)
                .values(secret=self.keyring.seal(client_id, secret))
            )
            await self._changed(conn, client_id)
        self.cache.invalidate(client_id)
        if not result.rowcount:
            return None
        return await self.get(client_id)

    async def _stored(self, client_id: str) -> Client | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(client).where(client.c.client_id == client_id))).mappings().first()
        return None if row is None else self._client(row, with_secret=False)

    async def reencrypt(self) -> tuple[int, int]:
        """Seal every stored secret with the first key of CLIENT_SECRET_KEY (key rotation, and secrets stored
        unencrypted by an older version). Returns (resealed, secrets in all). A secret no key opens stops the run
        (SecretUnreadable) and changes nothing, in one transaction: put its key back first."""
        async with self.db.writing() as conn:
            rows = (
                await conn.execute(select(client.c.client_id, client.c.secret).where(client.c.secret.is_not(None)))
            ).all()
            resealed = 0
            for client_id, stored in rows:
                if not self.keyring.needs_reseal(stored):
                    continue
                plain = stored if sealed_by(stored) is None else self.keyring.open(client_id, stored)
                await conn.execute(
                    update(client)
                    .where(client.c.client_id == client_id)
                    .values(secret=self.keyring.seal(client_id, plain))
                )
                await self._changed(conn, client_id)
                resealed += 1
        self.cache.invalidate()
        return resealed, len(rows)
