"""Login through OpenID Connect (authorization code flow with PKCE, discovery), as municipalities connect
DigiD and eHerkenning through a broker. The BSN comes from a configurable claim (PORTAL_OIDC_BSN_CLAIM),
looked up in the ID token first and in the userinfo response otherwise."""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import Response

from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.portal")

NAME = "broker"


class OidcLogin:
    def __init__(self, settings: Settings) -> None:
        assert settings.portal_oidc_issuer
        self.claim = settings.portal_oidc_bsn_claim
        self.oauth = OAuth()
        self.oauth.register(
            NAME,
            server_metadata_url=settings.portal_oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_id=settings.portal_oidc_client_id,
            client_secret=settings.portal_oidc_client_secret,
            client_kwargs={"scope": settings.portal_oidc_scope, "code_challenge_method": "S256"},
        )

    @property
    def client(self) -> Any:
        return self.oauth.create_client(NAME)

    async def start(self, request: Request, redirect_uri: str) -> Response:
        """Redirect to the provider; state, nonce and the PKCE verifier wait in the (signed) session."""
        response: Response = await self.client.authorize_redirect(request, redirect_uri)
        return response

    async def finish(self, request: Request) -> str | None:
        """The BSN of the person who logged in, or None when the provider said no or gave no BSN."""
        try:
            token = await self.client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            if self.claim not in claims:
                claims.update(await self.client.userinfo(token=token))
        except (OAuthError, ValueError) as exc:
            log.warning("Portal: OpenID login failed: %s", type(exc).__name__)
            return None
        bsn = claims.get(self.claim)
        if not isinstance(bsn, str) or not bsn.isdigit():
            log.warning("Portal: the OpenID provider sent no usable %r claim.", self.claim)
            return None
        return bsn
