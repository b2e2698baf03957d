"""Bearer tokens the ZGW way (§4.3): HS256 signed with the client's secret, `iss` and `client_id`
naming the client, `iat` set. The register refuses tokens older than its JWT_MAX_AGE_SECONDS
(default one hour), so a token is re-minted well before that."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import jwt

DEFAULT_REFRESH_AFTER = 1800.0  # half the register's default maximum age (3600 s)


class TokenSource:
    """Mints and caches a token; thread-safe. `refresh_after` must stay below the register's maximum age."""

    def __init__(
        self,
        client_id: str,
        secret: str,
        refresh_after: float = DEFAULT_REFRESH_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self._secret = secret
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
                self._token = jwt.encode(claims, self._secret, algorithm="HS256")
                self._minted = now
            return self._token

    def authorization(self, force: bool = False) -> str:
        return f"Bearer {self.token(force)}"
