"""The employees' login through OpenID Connect (verwerkingenlog.oidc), the same way the citizen portal logs in but
with the employees' own provider and client. It returns the claims; which roles they give is decided by
admin.roles."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request

from verwerkingenlog.oidc import OidcClient
from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.admin")

NAME = "medewerkers"


class EmployeeLogin(OidcClient):
    def __init__(self, settings: Settings) -> None:
        assert settings.admin_oidc_issuer
        self.claim = settings.admin_oidc_roles_claim
        super().__init__(
            NAME,
            settings.admin_oidc_issuer,
            settings.admin_oidc_client_id,
            settings.admin_oidc_client_secret,
            settings.admin_oidc_scope,
            log,
        )

    async def finish(self, request: Request) -> dict[str, Any] | None:
        """The claims of the employee who logged in (ID token, completed from userinfo when the roles claim is
        not in it), or None when the provider said no."""
        claims = await self.claims(request, (self.claim, self.claim.split(".", 1)[0]))
        if claims is None:
            return None
        if not isinstance(claims.get("sub"), str):
            log.warning("Admin: the OpenID provider sent no subject.")
            return None
        return claims
