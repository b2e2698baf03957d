"""Authentication and the scope-family check as FastAPI dependencies (§4.9 steps 1 and 2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from verwerkingenlog.domain import scopes
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services.tokens import TokenVerifier


async def authenticated(request: Request) -> Caller:
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.caller(request.headers.get("authorization"))


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
