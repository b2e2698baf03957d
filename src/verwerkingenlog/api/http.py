"""Small HTTP helpers shared by the routers: JSON responses, body reading, content negotiation,
pagination links. No rule of the standard lives here."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Request
from starlette.responses import Response

from verwerkingenlog.api.render import Renderer
from verwerkingenlog.api.security import max_body_bytes_for
from verwerkingenlog.domain.errors import NotAcceptable, RequestTooLarge, UnsupportedMediaType
from verwerkingenlog.domain.pagination import Page
from verwerkingenlog.settings import Settings

JSON = "application/json"
_ACCEPTABLE = {"*/*", "application/*", JSON, "application/problem+json"}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status_code=status, media_type=JSON, headers=headers)


async def negotiated(request: Request) -> None:
    """R-MT-2: an `Accept` header that excludes JSON → 406."""
    accept = request.headers.get("accept")
    if not accept:
        return
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if not ranges & _ACCEPTABLE:
        # Header values are never echoed (here nor below): a client that put its token in the wrong header
        # would find it in the register's log (issue 21.4).
        raise NotAcceptable(f"This API answers in {JSON}; the Accept header sent excludes it.")


async def json_body(request: Request) -> bytes:
    """R-MT-1 (415) and R-VAL-12 (413): only application/json, at most the configured size."""
    settings: Settings = request.app.state.settings
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != JSON:
        raise UnsupportedMediaType(
            f"Send the body as {JSON}"
            + (", not as the Content-Type sent." if ctype else " (the Content-Type header is missing).")
        )
    return await bounded_body(request, max_body_bytes_for(settings, getattr(request.state, "client_id", None)))


async def bounded_body(request: Request, limit: int) -> bytes:
    """R-VAL-12: the raw body, refused with 413 as soon as it is known to exceed `limit` bytes
    (by its Content-Length, or while streaming a chunked upload)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"The body is {declared} bytes; at most {limit} bytes are accepted.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"The body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def api_root(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/api/v1"


def renderer(request: Request) -> Renderer:
    return Renderer(api_root(request))


def page_link(request: Request, number: int) -> str:
    """R-PAG-2: the same query with the neighbouring page number, as an absolute URL."""
    url = request.url.include_query_params(page=number)
    settings: Settings = request.app.state.settings
    if settings.public_base_url:
        path = url.path.split("/api/v1", 1)[-1]
        return f"{settings.public_base_url.rstrip('/')}{path}?{url.query}"
    return str(url)


def paginated(request: Request, count: int, page: Page, results: list[Any], **extra: Any) -> Response:
    """R-PAG-1/2: the paged answer; `extra` members follow `results` (e.g. the FG views' `controle`)."""
    last = max(1, -(-count // page.size))
    return json_response(
        {
            "count": count,
            "next": page_link(request, page.number + 1) if page.number < last else None,
            "previous": page_link(request, page.number - 1) if page.number > 1 else None,
            "results": results,
            **extra,
        }
    )
