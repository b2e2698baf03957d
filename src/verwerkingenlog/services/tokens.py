"""JWT bearer tokens the ZGW way (§4.3): HS256 signed with the client's secret, `iss` or `client_id`
naming the client, `iat` required, `exp` honoured, and a maximum age on `iat`.

A client may instead sign with a private key of its own (ES256 or EdDSA): the register verifies with the public key
it registered, or with the key of the client's JWKS that the token's `kid` names. The algorithm follows from the
registered key, never from the token's header."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import jwt
from jwt import PyJWKClient

from verwerkingenlog.domain.errors import AuthenticationFailed, NotAuthenticated
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services.client_cache import TtlCache
from verwerkingenlog.services.clients import Client, Clients, NoSecret, public_key_algorithm

ALGORITHM = "HS256"
DEFAULT_MAX_TOKEN_BYTES = 4096
ASYMMETRIC = ("ES256", "EdDSA")
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_CACHE_SECONDS = 300.0

log = logging.getLogger("verwerkingenlog.auth")


def issue(client: Client, now: float | None = None, lifetime: int | None = None) -> str:
    """A fresh token for a registered client (used by the CLI and the demo). Only an HS256 client: of a client
    with its own key pair the register holds no private key (NoSecret)."""
    if client.secret is None:
        raise NoSecret(
            f"Client {client.client_id!r} signs its own tokens with its private key; the register cannot mint them."
        )
    iat = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"iss": client.client_id, "client_id": client.client_id, "iat": iat}
    if lifetime is not None:
        claims["exp"] = iat + lifetime
    return jwt.encode(claims, client.secret, algorithm=ALGORITHM)


class TokenVerifier:
    def __init__(
        self,
        clients: Clients,
        max_age: int,
        leeway: int,
        cache_seconds: float = 0.0,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
    ) -> None:
        self.clients = clients
        self.max_token_bytes = max_token_bytes
        self.max_age = max_age
        self.leeway = leeway
        # Verified tokens (services.client_cache): a client sends the same token many times, and checking its
        # signature twice per request was a tenth of the write path. A hit is trusted only while the client's
        # current secret is still the one that verified it, so rotation and revocation end it at once.
        self._verified: TtlCache[tuple[Client, dict[str, Any]]] = TtlCache(cache_seconds)
        self._jwks: dict[str, PyJWKClient] = {}

    async def caller(self, authorization: str | None) -> Caller:
        """R-AUTH-1: no token, a malformed, too long or wrongly signed token, an expired or too old token,
        or a token of an unregistered client → 401."""
        if not authorization:
            raise NotAuthenticated("Send an 'Authorization: Bearer <JWT>' header.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("The Authorization header must be 'Bearer <JWT>'.")
        token = token.strip()
        if len(token) > self.max_token_bytes:
            # Before any decoding (issue 19.4): a client's token is a few hundred bytes; a large one is only ever
            # an attempt to make the register base64-decode and JSON-parse attacker-sized input.
            raise AuthenticationFailed(
                f"The bearer token is longer than {self.max_token_bytes} bytes (MAX_TOKEN_BYTES)."
            )
        hit = self._verified.get(token)
        if hit is not None:
            known, claims = hit
            current = await self.clients.get(known.client_id)
            if current is not None and current.credential == known.credential:
                return self._checked(current, claims)
            self._verified.pop(token)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthenticationFailed("The bearer token is not a valid JWT.") from None
        client_id = unverified.get("client_id") or unverified.get("iss")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationFailed("The token names no client: set the 'iss' or 'client_id' claim.")
        client = await self.clients.get(client_id)
        if client is None:
            # The claim is not echoed: it is unverified input, and it reaches the log (issue 21.4).
            raise AuthenticationFailed(
                "The client the token names (iss/client_id) is not registered with this register."
            )
        key, algorithm = await self._key(client, token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                options={"require": ["iat"]},
                leeway=self.leeway,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("The token has expired (exp).") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"The token was rejected: {exc}.") from None
        caller = self._checked(client, claims)
        self._verified.put(token, (client, claims))
        return caller

    async def _key(self, client: Client, token: str) -> tuple[Any, str]:
        """The key that verifies this client's tokens, and its one algorithm."""
        if client.kind == "public-key" and client.public_key is not None:
            return client.public_key, public_key_algorithm(client.public_key)[1]
        if client.kind == "jwks" and client.jwks_url is not None:
            return await self._jwks_key(client.client_id, client.jwks_url, token)
        if client.secret is None:  # its sealed secret did not open (logged by Clients)
            raise AuthenticationFailed(
                f"Client {client.client_id!r} cannot be authenticated now; ask the register's administrator."
            )
        return client.secret, ALGORITHM

    async def _jwks_key(self, client_id: str, url: str, token: str) -> tuple[Any, str]:
        """The key of the client's JWK Set that the token's `kid` names (or its only key). The set is fetched
        off the event loop and kept JWKS_CACHE_SECONDS; an unknown `kid` fetches it again (key rotation)."""
        fetcher = self._jwks.get(url)
        if fetcher is None:
            fetcher = self._jwks[url] = PyJWKClient(
                url, cache_keys=False, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS
            )
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise AuthenticationFailed("The bearer token is not a valid JWT.") from None

        def lookup() -> jwt.PyJWK:
            if isinstance(kid, str):
                return fetcher.get_signing_key(kid)
            keys = fetcher.get_signing_keys()
            if len(keys) != 1:
                raise jwt.PyJWKClientError("the token has no 'kid' header and the JWK Set holds several keys")
            return keys[0]

        try:
            found = await asyncio.to_thread(lookup)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("JWKS of client %s unreachable: %s", client_id, exc)
            raise AuthenticationFailed(f"The JWK Set of client {client_id!r} could not be fetched.") from None
        except jwt.PyJWKClientError as exc:
            raise AuthenticationFailed(f"The token was rejected: {exc}.") from None
        if found.algorithm_name not in ASYMMETRIC:
            raise AuthenticationFailed(f"The JWK Set's key {kid!r} is not an ES256 (P-256) or EdDSA (Ed25519) key.")
        return found.key, found.algorithm_name

    def _checked(self, client: Client, claims: dict[str, Any]) -> Caller:
        """The time checks, repeated on every use of a cached token: `exp` and the maximum age keep running."""
        exp = claims.get("exp")
        if isinstance(exp, int | float) and time.time() > exp + self.leeway:
            raise AuthenticationFailed("The token has expired (exp).")
        iat = claims["iat"]
        now = time.time()
        if not isinstance(iat, int | float):
            raise AuthenticationFailed("The 'iat' claim must be a number.")
        if now - iat > self.max_age + self.leeway:
            raise AuthenticationFailed(
                f"The token is too old: issued {int(now - iat)} s ago, at most {self.max_age} s is accepted. "
                "Get a fresh one (e.g. `verwerkingenlog token CLIENT_ID`)."
            )
        return Caller(client.client_id, client.scopes)
