"""Property-based conformance of the VAR API (§17) against the register's corrected and annotated copy
`src/verwerkingenlog/api/oas/var-api.yaml` (§18.1, extensions marked `x-extension: true`).

Schemathesis generates requests (valid and invalid) for every VAR operation, including the extensions, and
sends them in-process to the ASGI app of the `api` fixture, so they run on SQLite and PostgreSQL. Each
response must pass: no 5xx, a documented status code, a documented content type, a conforming body.
Requests carry the token of a client with every VAR scope (read:normal, var:write, fg:read). About half of
the examples are pointed at an activity that exists, so that the success paths are exercised too.
"""

from __future__ import annotations

import zlib

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import Api, send_case
from tests.var_support import activiteit, create, new_oin
from verwerkingenlog.api.docs import OAS_DIR

VAR = schemathesis.openapi.from_path(OAS_DIR / "var-api.yaml")
API_ROOT = "http://testserver/api/v1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def _aim(case: schemathesis.Case, api: Api) -> None:
    """Point about half of the requests at an activity that exists (chosen by a hash of the generated
    request, so that a failing example replays identically)."""
    if zlib.crc32(repr((case.path_parameters, case.query, case.headers)).encode()) % 2:
        return
    created = create(api, activiteit(new_oin()), who="var-beheer")
    path = case.path_parameters
    if path is not None:
        for name in ("actieId", "id"):
            if name in path:
                path[name] = created["id"]
    if isinstance(case.body, dict) and case.method == "PUT":
        case.body["id"] = created["id"]


def _send(api: Api, case: schemathesis.Case) -> httpx.Response:
    return send_case(api, case, API_ROOT, "var-beheer")


@VAR.parametrize()
@FUZZ
def test_var_api_conforms(case: schemathesis.Case, api: Api) -> None:
    _aim(case, api)
    case.validate_response(_send(api, case), checks=CHECKS)
