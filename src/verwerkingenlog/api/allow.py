"""The `Allow` header of every 405 (RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in
a 405 response containing a list of the target resource's currently supported methods").

Starlette's router answers 405 for the first route whose path matches and names only that route's methods; a
path served by several routes (GET and POST `/api/v1/verwerkingsacties` are two) and the mounted portal and
admin pages need the union. This middleware, outermost around the whole application, sets the header on any
405 from any router from the routes the path matches, walking into mounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The methods a route can serve; a path's Allow lists those some route matches for it (FULL), asked through
# each route's public `matches`, so that any router (FastAPI's included routers, mounted apps) answers for itself.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods for which some route fully matches the request's path, in a stable order."""
    return [m for m in _METHODS if _serves(routes, {k: v for k, v in scope.items() if k != "fastapi"} | {"method": m})]


def _serves(routes: Iterable[BaseRoute], scope: dict[str, Any]) -> bool:
    for route in routes:
        match, child = route.matches(dict(scope))
        if match is not Match.FULL:
            continue
        if isinstance(route, Mount):  # a mount matches any method: ask its own routes
            if isinstance(route.app, StaticFiles) and scope["method"] in ("GET", "HEAD"):
                return True
            if _serves(route.routes, {**scope, **child}):
                return True
            continue
        return True
    return False


class AllowMiddleware:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the application's live route list (routers are included after the middleware)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        entry = dict(scope)  # routing updates the scope in place (path params, a mount's root_path)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = MutableHeaders(scope=message)
                headers["Allow"] = ", ".join(allowed_methods(self.routes, entry))
            await send(message)

        await self.app(scope, receive, send_with_allow)
