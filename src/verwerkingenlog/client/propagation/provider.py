"""What the ASGI and WSGI middleware share: the provider's own activity and the answer to invalid headers."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass

from verwerkingenlog.client.propagation.context import verwerking
from verwerkingenlog.client.propagation.headers import InvalidHeader

log = logging.getLogger("verwerkingenlog.client.propagation")


@dataclass(frozen=True, slots=True)
class ProviderActivity:
    """The provider's own activity: with it, the middleware runs every request as its own verwerking."""

    verwerkingsactiviteit_id: str
    verwerkingsactiviteit_url: str | None = None
    oin: str | None = None
    verwerking_naam: str | None = None

    def verwerking(self) -> verwerking:
        return verwerking(
            self.verwerkingsactiviteit_id,
            self.verwerkingsactiviteit_url,
            oin=self.oin,
            verwerking_naam=self.verwerking_naam,
        )


def _problem(problems: list[InvalidHeader]) -> bytes:
    body = {
        "type": "about:blank",
        "code": "invalid",
        "title": "Invalid input.",
        "status": 400,
        "detail": "A propagated verwerkingenlogging header (§10.2) is invalid.",
        "instance": f"urn:uuid:{uuid.uuid4()}",
        "invalidParams": [{"name": p.header, "code": "invalid", "reason": p.reason} for p in problems],
    }
    return json.dumps(body).encode()


def _report(problems: list[InvalidHeader]) -> None:
    for p in problems:
        log.warning("ignored invalid propagated header %s", p)
