"""Login through OpenID Connect (authorization code flow with PKCE, discovery; Authlib): the one client that the
citizen portal (portal/oidc.py: whose BSN) and the admin pages (admin/oidc.py: which employee, which roles) use,
each with its own provider, client and session."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import Response


class OidcClient:
    def __init__(
        self, name: str, issuer: str, client_id: str | None, client_secret: str | None, scope: str, log: logging.Logger
    ) -> None:
        self.name = name
        self.log = log
        self.oauth = OAuth()
        self.oauth.register(
            name,
            server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_id=client_id,
            client_secret=client_secret,
            client_kwargs={"scope": scope, "code_challenge_method": "S256"},
        )

    @property
    def client(self) -> Any:
        return self.oauth.create_client(self.name)

    async def start(self, request: Request, redirect_uri: str) -> Response:
        """Redirect to the provider; state, nonce and the PKCE verifier wait in the signed session."""
        response: Response = await self.client.authorize_redirect(request, redirect_uri)
        return response

    async def claims(self, request: Request, wanted: Collection[str]) -> dict[str, Any] | None:
        """The claims of the ID token, completed from the userinfo response when none of ``wanted`` is among
        them; None when the provider said no (the reason is logged, never the claims)."""
        try:
            token = await self.client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            if not any(name in claims for name in wanted):
                claims.update(await self.client.userinfo(token=token))
        except (OAuthError, ValueError) as exc:
            self.log.warning("OpenID login (%s) failed: %s", self.name, type(exc).__name__)
            return None
        return claims
