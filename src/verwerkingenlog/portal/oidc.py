"""Login through OpenID Connect (verwerkingenlog.oidc), as municipalities connect DigiD and eHerkenning through a
broker. The BSN comes from a configurable claim (PORTAL_OIDC_BSN_CLAIM), looked up in the ID token first and in
the userinfo response otherwise."""

from __future__ import annotations

import logging

from starlette.requests import Request

from verwerkingenlog.oidc import OidcClient
from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.portal")

NAME = "broker"


class OidcLogin(OidcClient):
    def __init__(self, settings: Settings) -> None:
        assert settings.portal_oidc_issuer
        self.claim = settings.portal_oidc_bsn_claim
        super().__init__(
            NAME,
            settings.portal_oidc_issuer,
            settings.portal_oidc_client_id,
            settings.portal_oidc_client_secret,
            settings.portal_oidc_scope,
            log,
        )

    async def finish(self, request: Request) -> str | None:
        """The BSN of the person who logged in, or None when the provider said no or gave no BSN."""
        claims = await self.claims(request, (self.claim,))
        if claims is None:
            return None
        bsn = claims.get(self.claim)
        if not isinstance(bsn, str) or not bsn.isdigit():
            log.warning("Portal: the OpenID provider sent no usable %r claim.", self.claim)
            return None
        return bsn
