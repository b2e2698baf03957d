"""Errors of the client library. An `ApiError` carries the register's problem+json body (§4.5), so a
supplier sees exactly what the register said (`code`, `detail`, `invalidParams`), not a bare status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class VerwerkingenlogError(Exception):
    """Base of every error this library raises."""


@dataclass(frozen=True, slots=True)
class InvalidParam:
    """One entry of `invalidParams` of a 400 (`ValidatieFout`): the field, a code and a reason."""

    name: str
    code: str
    reason: str


class ApiError(VerwerkingenlogError):
    """The register answered with an error status; the problem+json details are attributes."""

    def __init__(self, status: int, body: Mapping[str, Any] | None = None, retry_after: float | None = None) -> None:
        body = dict(body or {})
        self.status = status
        self.retry_after = retry_after  # seconds, from a Retry-After header (429/503)
        self.body = body
        self.code: str = str(body.get("code") or "error")
        self.title: str = str(body.get("title") or "")
        self.detail: str = str(body.get("detail") or "")
        self.instance: str | None = body.get("instance")
        self.type: str | None = body.get("type")
        self.invalid_params: list[InvalidParam] = [
            InvalidParam(str(p.get("name", "")), str(p.get("code", "")), str(p.get("reason", "")))
            for p in body.get("invalidParams") or []
            if isinstance(p, Mapping)
        ]
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.detail or self.title or 'no details'}"
        if self.invalid_params:
            text += " [" + "; ".join(f"{p.name}: {p.reason} ({p.code})" for p in self.invalid_params) + "]"
        if self.instance:
            text += f" (instance {self.instance})"
        return text


class InvalidRequest(ApiError):
    """400: the request broke a rule of the standard; see `invalid_params`."""


class AuthenticationFailed(ApiError):
    """401: missing, wrong, expired or too old token, or an unregistered client (R-AUTH-1)."""


class PermissionDenied(ApiError):
    """403: a scope rule of the standard (§5.2) forbids this."""


class NotFound(ApiError):
    """404: unknown or logically deleted (vervallen)."""


class IdempotencyKeyReused(ApiError):
    """422: the Idempotency-Key was used before for a different body (a bug in the caller)."""


class RateLimited(ApiError):
    """429: the register asks to slow down (retried automatically, honouring Retry-After)."""


class ServerError(ApiError):
    """5xx: the register failed (retried automatically)."""


class RegisterUnavailable(VerwerkingenlogError):
    """The register could not be reached (connection refused, timeout) even after the retries."""


class SpoolFull(VerwerkingenlogError):
    """The local spool reached its bound and the policy is `raise` (or `block` timed out).

    The entry was NOT accepted: the caller must not proceed with the processing (B7952)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    422: IdempotencyKeyReused,
    429: RateLimited,
}


def error_for(status: int, body: Mapping[str, Any] | None, retry_after: float | None = None) -> ApiError:
    """The most specific `ApiError` subclass for a status."""
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return cls(status, body, retry_after)
