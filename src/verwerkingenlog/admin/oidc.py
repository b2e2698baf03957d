"""The employees' login through OpenID Connect (authorization code flow with PKCE, discovery; Authlib), the same
way the citizen portal logs in (portal/oidc.py) but with the employees' own provider and client. It returns the
claims; which roles they give is decided by admin.roles."""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import Response

from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.admin")

NAME = "medewerkers"


class EmployeeLogin:
    def __init__(self, settings: Settings) -> None:
        assert settings.admin_oidc_issuer
        self.claim = settings.admin_oidc_roles_claim
        self.oauth = OAuth()
        self.oauth.register(
            NAME,
            server_metadata_url=settings.admin_oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_id=settings.admin_oidc_client_id,
            client_secret=settings.admin_oidc_client_secret,
            client_kwargs={"scope": settings.admin_oidc_scope, "code_challenge_method": "S256"},
        )

    @property
    def client(self) -> Any:
        return self.oauth.create_client(NAME)

    async def start(self, request: Request, redirect_uri: str) -> Response:
        """Redirect to the provider; state, nonce and the PKCE verifier wait in the signed session."""
        response: Response = await self.client.authorize_redirect(request, redirect_uri)
        return response

    async def finish(self, request: Request) -> dict[str, Any] | None:
        """The claims of the employee who logged in (ID token, completed from userinfo when the roles claim is
        not in it), or None when the provider said no."""
        try:
            token = await self.client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            top = self.claim.split(".", 1)[0]
            if self.claim not in claims and top not in claims:
                claims.update(await self.client.userinfo(token=token))
        except (OAuthError, ValueError) as exc:
            log.warning("Admin: OpenID login failed: %s", type(exc).__name__)
            return None
        if not isinstance(claims.get("sub"), str):
            log.warning("Admin: the OpenID provider sent no subject.")
            return None
        return claims
