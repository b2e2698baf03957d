"""Transport security headers and per-client limits (NL API Design Rules, "Transport security" module).

Headers, on every response:
- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Content-Security-Policy: frame-ancestors 'none'`
  and `Referrer-Policy: no-referrer`: an API answer is never a page to sniff, frame or leak a URL from.
- `Cache-Control: no-store` unless the route set its own caching: answers carry personal data, which no shared or
  browser cache may keep.
- `Strict-Transport-Security` only when the request arrived over HTTPS. Behind a TLS-terminating proxy the register
  learns the scheme from `X-Forwarded-Proto`, which uvicorn trusts only from `FORWARDED_ALLOW_IPS`.

CORS is closed unless CORS_ALLOW_ORIGINS names origins (app.py adds Starlette's CORSMiddleware then).

Rate limits are a fixed one-minute window per client id, in memory per worker process: simple, no shared state,
and enough to stop one misbehaving client from starving the others. With N workers a client can make up to N
times its limit; set limits accordingly or enforce a global one at the proxy (docs/deployment.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verwerkingenlog.api.problems import problem_response
from verwerkingenlog.domain.errors import TooManyRequests
from verwerkingenlog.settings import Settings

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


# The portal's and the admin pages' policy (issue 21.5; docs/deployment.md, Content-Security-Policy): their pages
# are server-rendered HTML with one or two same-origin stylesheets, no script at all, no inline style, and forms
# that post to themselves. Everything else is refused, so an injected <script>, style or form target does nothing.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class PageSecurityMiddleware:
    """PAGE_CSP on every response of a web UI (the portal, the admin pages), in place of the API's
    `frame-ancestors 'none'` that SecurityHeadersMiddleware sets on the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = PAGE_CSP
            await send(message)

        await self.app(scope, receive, send_with_policy)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, hsts_max_age_seconds: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_seconds}" if hsts_max_age_seconds else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in STATIC_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Cache-Control", "no-store")
                if secure and self.hsts:
                    headers["Strict-Transport-Security"] = self.hsts
            await send(message)

        await self.app(scope, receive, send_with_headers)


def head_bytes(scope: Scope) -> int:
    """The size of a request's head as it was sent: request line (path and query) and every header line."""
    size = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b"")) + 14
    return size + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


class HeadLimitMiddleware:
    """MAX_HEADER_BYTES, exactly (docs/deployment.md, Request limits): a request whose request line and headers are
    larger gets 431 problem+json. The server's protocol (api/transport.py) bounds the memory before this."""

    def __init__(self, app: ASGIApp, max_header_bytes: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and head_bytes(scope) > self.max_header_bytes:
            detail = (
                f"The request line and headers together may be at most {self.max_header_bytes} bytes "
                "(MAX_HEADER_BYTES)."
            )
            response = problem_response(
                431, "request_header_fields_too_large", "Request header fields too large.", detail
            )
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RateLimiter:
    """Fixed one-minute windows per client: `hit` counts a request and raises TooManyRequests past the limit."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.windows: dict[str, tuple[int, int]] = {}  # client → (window number, requests in it)

    def limit_for(self, client_id: str) -> int:
        own = self.settings.client_limits.get(client_id)
        if own is not None and own.rate_limit_per_minute is not None:
            return own.rate_limit_per_minute
        return self.settings.rate_limit_per_minute

    def hit(self, client_id: str) -> None:
        limit = self.limit_for(client_id)
        if limit <= 0:
            return
        now = self.clock()
        window = int(now // 60)
        current, count = self.windows.get(client_id, (window, 0))
        if current != window:
            count = 0
            if len(self.windows) > 10_000:  # forget clients of old windows (bounded memory)
                self.windows = {k: v for k, v in self.windows.items() if v[0] == window}
        if count >= limit:
            retry = max(1, math.ceil((window + 1) * 60 - now))
            raise TooManyRequests(f"At most {limit} requests per minute for client {client_id!r}.", retry)
        self.windows[client_id] = (window, count + 1)


def max_body_bytes_for(settings: Settings, client_id: str | None) -> int:
    """MAX_BODY_BYTES, or the client's own limit from CLIENT_LIMITS."""
    own = settings.client_limits.get(client_id) if client_id else None
    if own is not None and own.max_body_bytes is not None:
        return own.max_body_bytes
    return settings.max_body_bytes
