"""Conformance with the read extension's own contract: its OpenAPI document, fuzzed against the register (issue 18.1).

The extension's `media/openapi.json` (develop; a fixed copy in tests/lezen/, see its README) is loaded once per
body shape the register accepts (docs/logboek.md, The read extension), and schemathesis sends generated requests,
valid and invalid, in-process to the `api` fixture's app, so on SQLite and PostgreSQL:

- **flat** (develop): `Attributes` is the develop `attributes.schema.json`, at `/api/v1` and at Digilab's
  reference path `/lezenapi/v1` (the document's own server base);
- **nested** (PR #28): `Attributes` is PR #28's `attributes.schema.json` (`{"dpl": {"core": {...}}}`);
- **attributes** (the register's body until 2026, which old clients send): the extension's first POST version
  (commit d98ef54, 2026-05-21: `traceId` of 32 hex digits, `startTime`, `endTime` and an `attributes` object),
  copied as published (it is valid JSON).

Each response must pass the same four checks as the register's own APIs (tests/test_schemathesis.py): no 5xx,
a documented status code, a documented content type, a body conforming to the documented schema. Changes made
in memory: the status codes the register answers beyond the document's 200, 400 and 401 (403, 406, 413, 415,
problem+json as on all its APIs) are added; and, because the tests run offline, the remote references (the ADR
`API-Version` header and the problem+json schema) are replaced by local equivalents (a version string; an object
with the ADR
problem members). About half of the examples are aimed at a person logged just before (over OTLP, with a
next-logbook pointer), so that 200 answers with real results are checked, not only the 400s.
"""

from __future__ import annotations

import copy
import json
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import Api, new_bsn, send_case
from tests.logboek_support import dpl, pb_request, pb_span

HERE = Path(__file__).parent / "lezen"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
NEXT_LOGBOOK = "https://rvig.example.nl/lezenapi/v1/processing-activities"
# Local stand-ins for the document's remote references (tests run offline).
API_VERSION_HEADER = {"required": True, "schema": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"}}
# The document lists 200, 400 and 401 only; the register answers these too, as on all its APIs (problem+json,
# docs/logboek.md): they are added to the document in memory, never any other status.
REGISTER_STATUSES = {
    "403": "Forbidden (no read scope)",
    "406": "Not Acceptable",
    "413": "Content Too Large",
    "415": "Unsupported Media Type (no JSON body)",
}
PROBLEM = {
    "type": "object",
    "required": ["status", "title"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "invalidParams": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "code": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return loaded


def _offline(node: Any) -> Any:
    """The document with its remote references replaced."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith("#/headers/API-Version"):
            return copy.deepcopy(API_VERSION_HEADER)
        if isinstance(ref, str) and ref.endswith(("problemjson.json", "ProblemJson.schema.json")):
            return copy.deepcopy(PROBLEM)
        return {k: _offline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_offline(v) for v in node]
    return node


def document(shape: str) -> dict[str, Any]:
    """The extension's OAS for one body shape: flat (develop), nested (PR #28) or attributes (the old body:
    the extension's first POST version, d98ef54, to which the register's body was written)."""
    oas = _offline(_load("openapi-d98ef54.json" if shape == "attributes" else "openapi.json"))
    responses = oas["paths"]["/processing-activities"]["post"]["responses"]
    for status, reason in REGISTER_STATUSES.items():
        problem = copy.deepcopy(responses["400"])
        responses.setdefault(status, {**problem, "description": reason})
    if shape != "attributes":
        oas["components"]["schemas"]["Attributes"] = _load(
            "attributes-pr28.schema.json" if shape == "nested" else "attributes.schema.json"
        )
    return oas


FLAT = schemathesis.openapi.from_dict(document("flat"))
NESTED = schemathesis.openapi.from_dict(document("nested"))
ATTRIBUTES = schemathesis.openapi.from_dict(document("attributes"))


def _even(case: schemathesis.Case) -> bool:
    return zlib.crc32(repr((case.query, case.body)).encode()) % 2 == 0


def _logged(api: Api) -> tuple[str, str]:
    """A person logged over OTLP with a next-logbook pointer: (bsn, trace id as UUID)."""
    bsn, trace = new_bsn(), uuid.uuid4()
    span = pb_span("Bevraag BRP", trace_id=trace.bytes, **dpl(bsn, dpl__read__externalReadAPI_id=NEXT_LOGBOOK))
    r = api.request(
        "POST", "/v1/traces", "normaal", headers={"Content-Type": "application/x-protobuf"}, content=pb_request(span)
    )
    assert r.status_code == 200, r.text
    return bsn, str(trace)


def _aim(case: schemathesis.Case, api: Api, shape: str) -> None:
    """Point about half of the generated bodies at a logged person (only the subject is replaced)."""
    if not isinstance(case.body, dict) or not _even(case):
        return
    bsn, _trace = _logged(api)
    body = case.body
    if shape == "nested":
        dpl_ = body.get("dpl") if isinstance(body.get("dpl"), dict) else {}
        core = dpl_.get("core") if isinstance(dpl_.get("core"), dict) else {}
        body["dpl"] = {**dpl_, "core": {**core, "dataSubjectId": bsn, "dataSubjectIdType": "BSN"}}
    elif shape == "attributes":
        attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
        body["attributes"] = {
            **attributes,
            "dpl.core.data_subject_id": bsn,
            "dpl.core.data_subject_id_type": "BSN",
        }
    else:
        body.update({"dpl.core.data_subject_id": bsn, "dpl.core.data_subject_id_type": "BSN"})


def _send(api: Api, case: schemathesis.Case, root: str) -> httpx.Response:
    return send_case(api, case, f"http://testserver{root}", "alles")


@FLAT.parametrize()
@FUZZ
def test_develop_flat_shape_conforms(case: schemathesis.Case, api: Api) -> None:
    _aim(case, api, "flat")
    case.validate_response(_send(api, case, "/api/v1"), checks=CHECKS)


@FLAT.parametrize()
@FUZZ
def test_develop_flat_shape_conforms_at_the_reference_path(case: schemathesis.Case, api: Api) -> None:
    _aim(case, api, "flat")
    case.validate_response(_send(api, case, "/lezenapi/v1"), checks=CHECKS)


@NESTED.parametrize()
@FUZZ
def test_pr28_nested_shape_conforms(case: schemathesis.Case, api: Api) -> None:
    _aim(case, api, "nested")
    case.validate_response(_send(api, case, "/api/v1"), checks=CHECKS)


@ATTRIBUTES.parametrize()
@FUZZ
def test_old_attributes_shape_conforms(case: schemathesis.Case, api: Api) -> None:
    _aim(case, api, "attributes")
    case.validate_response(_send(api, case, "/api/v1"), checks=CHECKS)


def test_the_fixed_copy_differs_from_the_published_file_by_one_comma() -> None:
    """tests/lezen/README.md: the published document is not JSON; the copy adds the missing comma, no more."""
    text = (HERE / "openapi.json").read_text(encoding="utf-8")
    published = text.replace('aan te passen",\n', 'aan te passen"\n', 1)
    assert published != text
    try:
        json.loads(published)
    except json.JSONDecodeError as exc:
        assert exc.lineno == 118
    else:
        raise AssertionError("the published text parses; the fix is no longer needed")
    json.loads(text)
