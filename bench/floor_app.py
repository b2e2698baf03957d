"""The register's application plus one trivial endpoint, so that the benchmark measures the HTTP framework
floor (same process, same middleware, same server) next to the register's own work."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

from verwerkingenlog.api.app import create_app

FLOOR_PATH = "/bench/floor"


def create() -> FastAPI:
    app: FastAPI = create_app()

    @app.get(FLOOR_PATH)
    async def floor() -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    return app
