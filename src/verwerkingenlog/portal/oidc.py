"""Login through OpenID Connect (verwerkingenlog.oidc), as municipalities connect DigiD and eHerkenning through a
broker. The BSN comes from a configurable claim (PORTAL_OIDC_BSN_CLAIM), looked up in the ID token first and in
the userinfo response otherwise."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from verwerkingenlog.oidc import OidcClient
from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.portal")

NAME = "broker"


class OidcLogin(OidcClient):
    def __init__(self, settings: Settings) -> None:
        assert settings.portal_oidc_issuer
        self.claim = settings.portal_oidc_bsn_claim
        self.representee_claim = settings.portal_oidc_representee_claim
        super().__init__(
            NAME,
            settings.portal_oidc_issuer,
            settings.portal_oidc_client_id,
            settings.portal_oidc_client_secret,
            settings.portal_oidc_scope,
            log,
        )

    async def finish(self, request: Request) -> tuple[str, str | None] | None:
        """The BSN of the person who logged in and, with a machtiging (PORTAL_OIDC_REPRESENTEE_CLAIM), the BSN of
        the person they represent; None when the provider said no or gave no usable BSN."""
        wanted = tuple(c.split(".")[0] for c in (self.claim, self.representee_claim) if c)
        claims = await self.claims(request, wanted)
        if claims is None:
            return None
        bsn = claim_at(claims, self.claim)
        if bsn is None:
            log.warning("Portal: the OpenID provider sent no usable %r claim.", self.claim)
            return None
        representee = claim_at(claims, self.representee_claim) if self.representee_claim else None
        return bsn, representee if representee != bsn else None


def claim_at(claims: Mapping[str, Any], path: str) -> str | None:
    """A BSN at a dotted claim path (`bsn`, `aanvrager.bsn`: brokers nest the DigiD Machtigen parties), digits only."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) and value.isdigit() else None
