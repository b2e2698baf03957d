"""Errors are values the domain raises; the API maps them to status codes in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InvalidParam:
    """One entry of `invalidParams` (§4.5): the field, a system code and a human reason."""

    name: str
    code: str
    reason: str


class DomainError(Exception):
    """Base of every error the register reports to a caller."""

    status = 500
    code = "error"
    title = "An unexpected error occurred."

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidValue(ValueError):
    """A single value broke a format rule (R-VAL-*); carries the invalidParams code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ValidationFailed(DomainError):
    """400 with every problem found, not only the first (§4.9 step 3)."""

    status = 400
    code = "invalid"
    title = "Invalid input."

    def __init__(self, params: list[InvalidParam], detail: str = "The request contains invalid parameters.") -> None:
        super().__init__(detail)
        self.params = params

    @classmethod
    def one(cls, name: str, code: str, reason: str) -> ValidationFailed:
        return cls([InvalidParam(name, code, reason)])


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    title = "Authentication credentials were not provided."


class AuthenticationFailed(DomainError):
    status = 401
    code = "authentication_failed"
    title = "Invalid authentication credentials."


class PermissionDenied(DomainError):
    """403: a rule of the scope tables (§5.2) was broken."""

    status = 403
    code = "permission_denied"
    title = "You do not have permission to perform this action."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found."


class Gone(DomainError):
    """410: the resource existed but was retired (e.g. a processing activity, §17)."""

    status = 410
    code = "gone"
    title = "Gone."


class NotAcceptable(DomainError):
    status = 406
    code = "not_acceptable"
    title = "The requested media type cannot be produced."


class RequestTooLarge(DomainError):
    status = 413
    code = "request_too_large"
    title = "The request body is too large."


class IdempotencyKeyReused(DomainError):
    """422: an Idempotency-Key was sent again with a different body (extension, docs/idempotency.md)."""

    status = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was already used for a different request."


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type."


class MethodNotAllowed(DomainError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed."


class NotYetCheckpointed(DomainError):
    """409: a proof was asked for an entry that no signed checkpoint covers yet (docs/integrity.md §7)."""

    status = 409
    code = "not_yet_checkpointed"
    title = "No signed checkpoint covers this entry yet."

    def __init__(self, detail: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class TooManyRequests(DomainError):
    """429: the client exceeded its request rate (RATE_LIMIT_PER_MINUTE / CLIENT_LIMITS); answered with Retry-After."""

    status = 429
    code = "too_many_requests"
    title = "Too many requests."

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
