"""Session, CSRF and rate-limit helpers of the portal (docs/portal.md, 'Security choices').

The session is Starlette's signed cookie (HttpOnly, SameSite=Lax, Secure by default). Signing alone
would leave the BSN readable in the cookie, so it is also encrypted (Fernet, a key derived from the
session secret): the BSN never appears in a URL, a log line or readable client-side state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

CSRF_KEY = "csrf"
BSN_KEY = "bsn"
GEMACHTIGDE_KEY = "gemachtigde"  # the BSN of who logged in on someone else's behalf (machtiging), encrypted too


class SessionCrypto:
    """Encrypts the BSN kept in the session cookie."""

    def __init__(self, secret: str) -> None:
        key = hashlib.sha256(b"verwerkingenlog-portal-bsn\x00" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def login(self, session: MutableMapping[str, Any], bsn: str, gemachtigde: str | None = None, **extra: str) -> None:
        """A fresh session for a fresh login (no fixation: nothing of the anonymous session survives but the
        language). `bsn` is the person whose data the session shows; with a machtiging, `gemachtigde` is who
        logged in."""
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        session[BSN_KEY] = self._fernet.encrypt(bsn.encode()).decode()
        session[CSRF_KEY] = secrets.token_urlsafe(32)
        if gemachtigde is not None:
            session[GEMACHTIGDE_KEY] = self._fernet.encrypt(gemachtigde.encode()).decode()
        session.update(extra)

    def gemachtigde(self, session: MutableMapping[str, Any]) -> str | None:
        """Who logged in on behalf of the session's person; None for a citizen logged in as themselves."""
        return self.bsn(session, GEMACHTIGDE_KEY)

    def bsn(self, session: MutableMapping[str, Any], key: str = BSN_KEY) -> str | None:
        token = session.get(key)
        if not isinstance(token, str):
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use (synchroniser-token pattern: a hidden form field)."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_valid(session: MutableMapping[str, Any], sent: object) -> bool:
    token = session.get(CSRF_KEY)
    return isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)


class RateLimiter:
    """A token bucket per key (client IP and route group), in memory: enough for one process, and the
    login and export routes are the ones worth guarding. Several workers each keep their own buckets."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float | None:
        """None when allowed; otherwise the seconds to wait (for Retry-After)."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 10_000:  # forget idle clients rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
            return (1.0 - tokens) / self.rate
