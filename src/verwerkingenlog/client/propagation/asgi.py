"""Incoming calls on an ASGI application (FastAPI, Starlette, …): the provider side of §10."""

from __future__ import annotations

from typing import Any

from verwerkingenlog.client.propagation.context import _afnemer
from verwerkingenlog.client.propagation.headers import parse_headers
from verwerkingenlog.client.propagation.provider import ProviderActivity, _problem, _report


class PropagationMiddleware:
    """ASGI middleware for a provider: reads the §10.2 headers of every HTTP request.

    Valid values become `current_afnemer()`; with `activity`, each request also runs inside its own
    `verwerking` (new verwerking_id, the consumer's vertrouwelijkheid/bewaartermijn, §10.4). Invalid values
    are logged and ignored, or, with `strict=True`, answered with a 400 problem+json naming the header.
    """

    def __init__(self, app: Any, activity: ProviderActivity | None = None, strict: bool = False) -> None:
        self.app = app
        self.activity = activity
        self.strict = strict

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        afnemer, problems = parse_headers(raw)
        if problems and self.strict:
            body = _problem(problems)
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(body))],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        _report(problems)
        token = _afnemer.set(afnemer)
        try:
            if self.activity is None:
                await self.app(scope, receive, send)
            else:
                with self.activity.verwerking():
                    await self.app(scope, receive, send)
        finally:
            _afnemer.reset(token)
