"""JWT bearer tokens the ZGW way (§4.3): HS256 signed with the client's secret, `iss` or `client_id`
naming the client, `iat` required, `exp` honoured, and a maximum age on `iat`."""

from __future__ import annotations

import time
from typing import Any

import jwt

from verwerkingenlog.domain.errors import AuthenticationFailed, NotAuthenticated
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services.client_cache import TtlCache
from verwerkingenlog.services.clients import Client, Clients

ALGORITHM = "HS256"
DEFAULT_MAX_TOKEN_BYTES = 4096


def issue(client: Client, now: float | None = None, lifetime: int | None = None) -> str:
    """A fresh token for a registered client (used by the CLI and the demo)."""
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
            if current is not None and current.secret == known.secret:
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
        try:
            claims = jwt.decode(
                token,
                client.secret,
                algorithms=[ALGORITHM],
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
