"""RFC 9110 §15.5.6: every 405 carries `Allow`, listing exactly the methods the path serves (issue 20.3, found by
schemathesis on the standard's paths: TRACE /verwerkingsacties, TRACE /verwerkte-objecten), on every router: the
VNG and Logius APIs, OTLP, operations, the citizen portal and the admin pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tests.helpers import Api
from tests.test_admin import ADMIN_SETTINGS

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OPS = ["/", "/health/live", "/health/ready", "/metrics", "/api/v1/docs", "/api/v1/openapi/x.yaml"]
SAMPLE = {"fmt": "csv", "path": "x"}
# GET on these starts an OpenID login at the (unreachable) provider: only the other methods are sent there.
OIDC = {"/portaal/login/oidc", "/portaal/auth", "/beheer/login/oidc", "/beheer/auth"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {**ADMIN_SETTINGS, "portal_enabled": True}


def _concrete(template: str) -> str:
    return re.sub(
        r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m.group(1), "00000000-0000-0000-0000-000000000000"), template
    )


def _mounted(api: Api) -> Iterator[str]:
    """The paths of the mounted apps (portal, admin), with a real file for their static mounts."""
    for mount in api.tc.app.router.routes:  # type: ignore[attr-defined]
        if not isinstance(mount, Mount):
            continue
        for route in mount.routes:
            if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
                directory = Path(str(route.app.directory))
                first = sorted(p.name for p in directory.iterdir() if p.is_file())[0]
                yield f"{mount.path}{route.path}/{first}"
            elif hasattr(route, "path"):
                yield mount.path + _concrete(route.path)


def test_every_405_names_exactly_the_methods_the_path_serves(api: Api) -> None:
    spec_paths = [_concrete(p) for p in api.tc.app.openapi()["paths"]]  # type: ignore[attr-defined]
    paths = sorted({*spec_paths, *OPS, *_mounted(api)})
    assert "/api/v1/verwerkte-objecten" in paths and "/portaal/login" in paths and "/beheer/clients" in paths
    for path in paths:
        traced = api.tc.request("TRACE", path)
        assert traced.status_code == 405, (path, traced.status_code)
        allow = [m.strip() for m in traced.headers["Allow"].split(",") if m.strip()]
        assert allow, path
        for method in METHODS:
            if path in OIDC and method == "GET":
                assert method in allow, path
                continue
            status = api.tc.request(method, path).status_code
            assert (status == 405) == (method not in allow), (path, method, status, allow)


def test_the_standards_paths(api: Api) -> None:
    assert api.tc.request("TRACE", "/api/v1/verwerkingsacties").headers["Allow"] == "GET, POST, PATCH"
    assert api.tc.request("TRACE", "/api/v1/verwerkte-objecten").headers["Allow"] == "GET"
    actie = "/api/v1/verwerkingsacties/00000000-0000-0000-0000-000000000000"
    assert api.tc.request("PATCH", actie).headers["Allow"] == "GET, PUT, DELETE"
    otlp = api.tc.request("GET", "/v1/traces")
    assert (otlp.status_code, otlp.headers["Allow"]) == (405, "POST")
    assert otlp.headers["Content-Type"] == "application/problem+json"
