"""The next logbook of the chain (logboek-extensie-lezen, "Toevoeging bij schrijven Logs").

An action that calls another organisation records the URL of that organisation's read API, so that whoever
reads this logbook knows where the chain goes on. Only the application knows which organisations it calls,
so it says so once:

    configure_next_logbooks({"https://api.rvig.example.nl": "https://ldv.rvig.example.nl/lezenapi/v1/processing-activities"})

The outgoing integrations (`httpx_hooks`, `requests_adapter`) call `note_outgoing(url)` for every request;
a request to one of those origins notifies the listeners with the read API's URL, and the OpenTelemetry
integration (`client.otel.DplSpanProcessor`) sets it on the current span as `dpl.read.externalReadAPI_id`.
A call to any other origin (the organisation's own services) adds nothing: the extension says the attribute
MUST NOT be added when no other party is called. For a party without a read API, map it to a contact page
(as the extension recommends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from verwerkingenlog.client.propagation.headers import InvalidHeader, _url

# The span attribute (develop text of the extension; PR #28 names the field `dpl.read.nextLogbook`).
NEXT_LOGBOOK = "dpl.read.externalReadAPI_id"

_next_logbooks: dict[str, str] = {}
_listeners: list[Callable[[str], None]] = []


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}{port}"


def configure_next_logbooks(next_logbooks: Mapping[str, str]) -> None:
    """Which other organisations' APIs (by origin, `scheme://host[:port]`) this application calls, and each
    one's read API (an absolute URL). Replaces an earlier configuration; ValueError names a wrong value."""
    checked: dict[str, str] = {}
    for origin, read_api in next_logbooks.items():
        key = _origin(origin)
        if not urlsplit(key).hostname or key != origin.strip().rstrip("/").lower():
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], nothing after it)")
        try:
            checked[key] = _url(NEXT_LOGBOOK, read_api)
        except InvalidHeader as exc:
            raise ValueError(f"the read API of {origin}: {exc}") from None
    _next_logbooks.clear()
    _next_logbooks.update(checked)


def next_logbook_for(url: str) -> str | None:
    """The read API of the organisation a request to `url` goes to, when it is a configured one."""
    return _next_logbooks.get(_origin(url)) if _next_logbooks else None


def on_crossing(listener: Callable[[str], None]) -> None:
    """Call `listener(read_api)` whenever an outgoing request goes to a configured organisation (once each)."""
    if listener not in _listeners:
        _listeners.append(listener)


def note_outgoing(url: str) -> None:
    """Called by the outgoing integrations for every request they send."""
    read_api = next_logbook_for(url)
    if read_api is not None:
        for listener in list(_listeners):
            listener(read_api)
