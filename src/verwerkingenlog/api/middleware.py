"""ASGI middleware: the `API-version` header on every response (R-HDR-1)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BEWERKING_INZAGE_VERSION = "0.9.0"
VAR_VERSION = "0.1.0"
# The Logboek Dataverwerkingen read extension (api/logboek.py, docs/logboek.md).
LOGBOEK_LEZEN_VERSION = "1.0.0"


def api_version_for(path: str) -> str:
    """AMB-37: 0.9.0 for the Bewerking and Inzage APIs, 0.1.0 for the VAR API (including its
    doelbinding report extension, documented in var-api.yaml)."""
    if path.startswith(("/api/v1/processing-activities", "/lezenapi/")):
        return LOGBOEK_LEZEN_VERSION
    var = path.startswith(("/api/v1/verwerkingsactiviteit", "/api/v1/doelbinding"))
    return VAR_VERSION if var else BEWERKING_INZAGE_VERSION


class ApiVersionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = api_version_for(scope["path"])

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["API-version"] = version
            await send(message)

        await self.app(scope, receive, send_with_version)
