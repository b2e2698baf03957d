"""The verwerkingenlog client library for suppliers (`pip install verwerkingenlog[client]`).

It needs none of the register's own dependencies: only httpx and PyJWT. See docs/build-it-in.md.

- `Client` / `AsyncClient`: every operation of the Bewerking, Inzage and VAR APIs, with retries and
  Idempotency-Keys.
- `BufferedLogger`: log in the request path without waiting on the register (durable local spool).
- `verwerking(...)`, the httpx hooks and the ASGI/WSGI middleware: header propagation (§10).
"""

from verwerkingenlog.client.aio import AsyncClient
from verwerkingenlog.client.auth import TokenSource
from verwerkingenlog.client.errors import (
    ApiError,
    AuthenticationFailed,
    IdempotencyKeyReused,
    InvalidParam,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    RegisterUnavailable,
    ServerError,
    SpoolFull,
    VerwerkingenlogError,
)
from verwerkingenlog.client.models import (
    Page,
    Versie,
    Verwerkingsactie,
    Verwerkingsactiviteit,
    VerwerktObject,
    VerwerktObjectUitgebreid,
    VerwerktPersoonsgegeven,
    persoon,
)
from verwerkingenlog.client.operations import RetryPolicy
from verwerkingenlog.client.propagation import (
    Afnemer,
    PropagationMiddleware,
    PropagationWSGIMiddleware,
    ProviderActivity,
    Verwerking,
    async_httpx_hook,
    configure,
    current,
    current_afnemer,
    httpx_hook,
    outgoing_headers,
    verwerking,
)
from verwerkingenlog.client.spool import BufferedLogger, DeadLetter, Spool, SpoolMetrics
from verwerkingenlog.client.sync import Client

__all__ = [
    "Afnemer",
    "ApiError",
    "AsyncClient",
    "AuthenticationFailed",
    "BufferedLogger",
    "Client",
    "DeadLetter",
    "IdempotencyKeyReused",
    "InvalidParam",
    "InvalidRequest",
    "NotFound",
    "Page",
    "PermissionDenied",
    "PropagationMiddleware",
    "PropagationWSGIMiddleware",
    "ProviderActivity",
    "RateLimited",
    "RegisterUnavailable",
    "RetryPolicy",
    "ServerError",
    "Spool",
    "SpoolFull",
    "SpoolMetrics",
    "TokenSource",
    "Versie",
    "Verwerking",
    "VerwerkingenlogError",
    "Verwerkingsactie",
    "Verwerkingsactiviteit",
    "VerwerktObject",
    "VerwerktObjectUitgebreid",
    "VerwerktPersoonsgegeven",
    "async_httpx_hook",
    "configure",
    "current",
    "current_afnemer",
    "httpx_hook",
    "outgoing_headers",
    "persoon",
    "verwerking",
]
