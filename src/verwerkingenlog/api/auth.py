"""Authentication and the scope-family check as FastAPI dependencies (§4.9 steps 1 and 2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from verwerkingenlog.domain import scopes
from verwerkingenlog.domain.errors import TooManyRequests
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services.tokens import TokenVerifier


async def authenticated(request: Request) -> Caller:
    """The caller of a valid token, within its rate limit (api/security.py); its id is kept on the request for
    the request log line and the per-client body limit."""
    verifier: TokenVerifier = request.app.state.verifier
    caller = await verifier.caller(request.headers.get("authorization"))
    request.state.client_id = caller.client_id
    try:
        request.app.state.rate_limiter.hit(caller.client_id)
    except TooManyRequests:
        request.app.state.metrics.rate_limited.labels(caller.client_id).inc()
        raise
    return caller


def requires(family: str | None) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency that authenticates and, for `family` (read/update/delete), demands a scope of it.

    POST passes None: every registered client may create `normaal` actions (R-SCOPE-3).
    """

    async def dependency(request: Request) -> Caller:
        caller = await authenticated(request)
        if family is not None:
            scopes.require_family(caller.scopes, family)
        return caller

    return dependency
