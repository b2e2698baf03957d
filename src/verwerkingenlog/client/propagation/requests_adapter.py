"""Header propagation (§10.2) for `requests`: mount the adapter, and every call made inside a
`verwerking(...)` carries the consumer headers.

    session = propagating_session()          # or: session.mount("https://", PropagatingAdapter())
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from verwerkingenlog.client.propagation.chain import note_outgoing
from verwerkingenlog.client.propagation.context import outgoing_headers


class PropagatingAdapter(HTTPAdapter):
    """An HTTPAdapter that adds the current verwerking's headers (explicitly set headers win) and notes a call
    to another organisation (the next logbook, `chain`)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        for name, value in outgoing_headers().items():
            if name not in request.headers:
                request.headers[name] = value
        note_outgoing(request.url or "")
        return super().send(request, *args, **kwargs)


def propagating_session(session: requests.Session | None = None) -> requests.Session:
    """A session (new or given) with the propagating adapter mounted for http and https."""
    session = session or requests.Session()
    adapter = PropagatingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
