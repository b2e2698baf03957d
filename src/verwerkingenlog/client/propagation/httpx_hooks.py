"""Outgoing calls with httpx: event hooks that add the current verwerking's §10.2 headers and traceparent, and
note a call to another organisation (the next logbook, `chain`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verwerkingenlog.client.propagation.chain import note_outgoing
from verwerkingenlog.client.propagation.context import outgoing_headers

if TYPE_CHECKING:
    import httpx


def _add_headers(headers: Any) -> None:
    for name, value in outgoing_headers().items():
        if name not in headers:  # an explicitly set header wins
            headers[name] = value


def httpx_hook(request: httpx.Request) -> None:
    """httpx request event hook: `httpx.Client(event_hooks={"request": [httpx_hook]})`."""
    _add_headers(request.headers)
    note_outgoing(str(request.url))


async def async_httpx_hook(request: httpx.Request) -> None:
    """The same for `httpx.AsyncClient(event_hooks={"request": [async_httpx_hook]})`."""
    _add_headers(request.headers)
    note_outgoing(str(request.url))
