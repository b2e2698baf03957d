"""problem+json bodies (§4.5): every error of every API is rendered here, in one place."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from verwerkingenlog.domain.errors import DomainError, TooManyRequests, ValidationFailed
from verwerkingenlog.store.db import database_unavailable

log = logging.getLogger("verwerkingenlog.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://github.com/open-verwerkingenlog/verwerkingenlog/blob/main/docs/errors.md#"


def problem_body(status: int, code: str, title: str, detail: str, params: list[Any] | None = None) -> dict[str, Any]:
    instance = f"urn:uuid:{uuid.uuid4()}"
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "code": code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if params is not None:
        body["invalidParams"] = params
    return body


def problem_response(status: int, code: str, title: str, detail: str, params: list[Any] | None = None) -> Response:
    body = problem_body(status, code, title, detail, params)
    level = logging.WARNING if status >= 500 else logging.INFO
    log.log(level, "problem %s %s %s: %s", body["instance"], status, code, detail)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_response(exc: DomainError) -> Response:
    params = None
    if isinstance(exc, ValidationFailed):
        params = [{"name": p.name, "code": p.code, "reason": p.reason} for p in exc.params]
    response = problem_response(exc.status, exc.code, exc.title, exc.detail, params)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


async def handle_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


DATABASE_RETRY_AFTER_SECONDS = 1
"""A failover takes seconds (docs/deployment.md#high-availability): clients may retry soon, with the same key."""


async def handle_database_error(request: Request, exc: Exception) -> Response:
    """For database and socket errors, inside the request middleware: the request log line and the metrics
    show the 503 the client gets."""
    return await handle_unexpected(request, exc)


async def handle_unexpected(_request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        response = problem_response(
            503,
            "unavailable",
            "The database is unavailable.",
            "The register could not complete this request now; whatever it was to store may or may not be stored. "
            "Retry with the same Idempotency-Key: it is stored exactly once.",
        )
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    log.exception("unexpected error", exc_info=exc)
    return problem_response(
        500, "error", "An unexpected error occurred.", "The register could not complete the request."
    )
