"""The OpenAPI documents (§18.1, decisions.md 5, docs/oas-corrections.md).

- The standard's files under `api/oas/standard/` are byte-for-byte the published ones (SHA-256 of the
  shared spec's `oas/README.md`, hard-coded so this runs without the spec folder).
- The register's corrected copies are valid OpenAPI 3.0, keep the standard's version, paths, operations,
  parameters and status codes, and mark everything the standard does not define with `x-extension: true`.
- Both are served: /api/v1/openapi/{name}.yaml (the register's) and /api/v1/openapi/standard/{name}.yaml.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator

from tests.helpers import Api
from verwerkingenlog.api.docs import OAS_DIR, STANDARD_DIR

# From the shared spec's oas/README.md (VNG-Realisatie/gemma-verwerkingenlogging, commit d195fea2).
STANDARD_SHA256 = {
    "bewerking-api": "a176c6c97a1aad60f251d8ae7b6551f889c2add3bfd42dffbfa6f45be04db4bc",
    "inzage-api": "fc2955c23812c9a942112f0aeb40cca664a3cfcc3d33b20e6342e66a9d4d9eb3",
    "var-api": "9be6aaac61af1c997714591ae7d669df2628ff7c7ad5977aa1408294cebb5aae",
}
CORRECTED = ("bewerking-api", "inzage-api")  # var-api.yaml: see docs/var.md and tests/test_var_api.py
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (`#/components/...`)."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


def parameters(document: dict[str, Any], item: dict[str, Any], operation: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The operation's parameters by (location, name), path-level ones included (OAS 3.0 §4.7.9)."""
    found = {}
    for raw in [*item.get("parameters", []), *operation.get("parameters", [])]:
        p = resolve(document, raw)
        found[(p["in"], p["name"].lower() if p["in"] == "header" else p["name"])] = p
    return found


@pytest.mark.parametrize("name", sorted(STANDARD_SHA256))
def test_standard_copies_are_verbatim(name: str) -> None:
    data = (STANDARD_DIR / f"{name}.yaml").read_bytes()
    assert hashlib.sha256(data).hexdigest() == STANDARD_SHA256[name]


@pytest.mark.parametrize("name", CORRECTED)
def test_corrected_copy_is_valid_openapi_3_0(name: str) -> None:
    document = load(OAS_DIR / f"{name}.yaml")
    standard = load(STANDARD_DIR / f"{name}.yaml")
    OpenAPIV30SpecValidator(document).validate()
    assert document["openapi"].startswith("3.0.")
    assert document["info"]["version"] == standard["info"]["version"] == "0.9.0"
    assert [s["url"] for s in document["servers"]] == ["/api/v1"]


@pytest.mark.parametrize("name", CORRECTED)
def test_corrected_copy_keeps_everything_the_standard_defines(name: str) -> None:
    """Corrections add and tighten; they never drop a path, operation, parameter or status code."""
    document = load(OAS_DIR / f"{name}.yaml")
    standard = load(STANDARD_DIR / f"{name}.yaml")
    for path, method, item, operation in operations(standard):
        assert method in document["paths"].get(path, {}), f"{method.upper()} {path} dropped"
        ours_item = document["paths"][path]
        ours = ours_item[method]
        assert ours["operationId"] == operation["operationId"]
        assert parameters(standard, item, operation).keys() <= parameters(document, ours_item, ours).keys()
        assert operation["responses"].keys() <= ours["responses"].keys(), f"{method.upper()} {path}"


@pytest.mark.parametrize("name", CORRECTED)
def test_every_extension_is_marked(name: str) -> None:
    """decisions.md 5: each path, operation and parameter the standard does not define carries
    `x-extension: true`, and nothing the standard defines is marked as an extension."""
    document = load(OAS_DIR / f"{name}.yaml")
    standard = load(STANDARD_DIR / f"{name}.yaml")
    unmarked = []
    for path, method, item, operation in operations(document):
        std_item = standard["paths"].get(path)
        if std_item is None:
            if item.get("x-extension") is not True:
                unmarked.append(path)
        elif method not in std_item and operation.get("x-extension") is not True:
            unmarked.append(f"{method.upper()} {path}")
        known = {} if std_item is None or method not in std_item else parameters(standard, std_item, std_item[method])
        for key, p in parameters(document, item, operation).items():
            if key in known:
                assert "x-extension" not in p, f"{key} of {method.upper()} {path} is standard, not an extension"
            elif p.get("x-extension") is not True:
                unmarked.append(f"{key[0]} parameter {key[1]} of {method.upper()} {path}")
    assert not unmarked, f"extensions without x-extension: true: {unmarked}"


@pytest.mark.parametrize("name", CORRECTED)
def test_declared_media_types(name: str) -> None:
    """§4.4/§4.5: success bodies are application/json, every error body application/problem+json."""
    document = load(OAS_DIR / f"{name}.yaml")
    for path, method, _, operation in operations(document):
        for status, response in operation["responses"].items():
            media = set(resolve(document, response).get("content", {}))
            if int(status) >= 400:
                assert media == {"application/problem+json"}, f"{status} of {method.upper()} {path}"
            elif int(status) in (204, 304):
                assert not media, f"{status} of {method.upper()} {path}"
            else:
                assert media == {"application/json"}, f"{status} of {method.upper()} {path}"


def test_documents_are_served(api: Api) -> None:
    """The register's documents, the standard's verbatim ones, and the interactive documentation."""
    for name in CORRECTED:
        r = api.tc.get(f"/api/v1/openapi/{name}.yaml")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/yaml")
        assert r.content == (OAS_DIR / f"{name}.yaml").read_bytes()
    for name in STANDARD_SHA256:
        r = api.tc.get(f"/api/v1/openapi/standard/{name}.yaml")
        assert r.status_code == 200
        assert hashlib.sha256(r.content).hexdigest() == STANDARD_SHA256[name]
    docs = api.tc.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "/api/v1/openapi/bewerking-api.yaml" in docs.text
    assert "/api/v1/openapi/inzage-api.yaml" in docs.text
    assert api.tc.get("/api/v1/openapi/unknown.yaml").status_code == 404
