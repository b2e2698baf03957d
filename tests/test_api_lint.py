"""The API Design Rules lint (tools/api-lint/lint.py, `make lint-api`): which findings are the register's own, and
that the register's extensions in the served documents carry what the rules ask (docs/api-design-rules.md).
Spectral itself runs in CI (`make lint-api`); these tests need no Node."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.helpers import Api

ROOT = Path(__file__).resolve().parents[1]


def lint_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_lint", ROOT / "tools" / "api-lint" / "lint.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_findings_inside_an_extension_are_the_registers() -> None:
    lint = lint_module()
    doc = {
        "paths": {
            "/a": {"get": {"tags": ["x"], "x-extension": True}},
            "/b": {"x-extension": True, "get": {"security": [{"JWT-Claims": ["s"]}]}},
            "/c": {"get": {"tags": ["x"]}},
        }
    }
    assert lint.in_extension(doc, ["paths", "/a", "get", "tags", "0"])
    assert lint.in_extension(doc, ["paths", "/b", "get", "security", "0", "JWT-Claims", "0"])
    assert not lint.in_extension(doc, ["paths", "/c", "get", "tags", "0"])
    assert not lint.in_extension(doc, ["paths", "/missing"])


def test_the_baseline_holds_only_findings_of_the_standards_text() -> None:
    baseline = json.loads((ROOT / "tools" / "api-lint" / "baseline.json").read_text())
    assert baseline and all(f["owner"] == "standard" for f in baseline)
    documents = {"bewerking-api", "inzage-api", "var-api"}
    assert {f["document"] for f in baseline} <= documents | {f"standard/{d}" for d in documents}


def test_var_extensions_declare_scopes_as_the_rules_expect() -> None:
    """Extension operations list their scopes in x-scopes, with an empty list on the bearer scheme (OAS 3.0), and
    every tag an operation uses is declared."""
    doc = yaml.safe_load((ROOT / "src" / "verwerkingenlog" / "api" / "oas" / "var-api.yaml").read_text())
    declared = {t["name"] for t in doc["tags"]}
    extensions = 0
    for item in doc["paths"].values():
        for method, op in item.items():
            if not isinstance(op, dict) or method == "parameters":
                continue
            assert set(op.get("tags", [])) <= declared
            if op.get("x-extension"):
                extensions += 1
                assert op["security"] == [{"JWT-Claims": []}] and op["x-scopes"], method
    assert extensions >= 6


def test_a_deprecated_name_kept_for_compatibility_is_reported_but_not_the_registers_fault() -> None:
    lint = lint_module()
    doc = {
        "components": {
            "parameters": {
                "old": {"name": "a__b", "deprecated": True, "x-extension": True},
                "new": {"name": "aB", "x-extension": True},
            }
        }
    }
    assert lint.owner(doc, ["components", "parameters", "old", "name"]) == "register, deprecated"
    assert lint.owner(doc, ["components", "parameters", "new", "name"]) == "register"
    assert lint.owner({"info": {"contact": {}}}, ["info", "contact"]) == "standard"


def test_the_official_adr_linter_finds_nothing_in_the_registers_extensions() -> None:
    """Issue 15 part 6: Logius' own linter.yaml (../shared/adr, beside the repository) over the served documents:
    no finding of the register's (the camelCase alias `vertrouwelijkheidIn`, `info.contact` filled in); the
    deprecated name `vertrouwelijkheid__in` is the one finding kept, and the standard's verbatim text only has
    the findings of the baseline, each explained in docs/api-design-rules.md."""
    lint = lint_module()
    official = lint.official_ruleset()
    if not lint.SPECTRAL.exists() or official is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the official ADR linter: Spectral (make lint-api) or linter.yaml is missing")
        pytest.skip("Spectral (make lint-api) or ../shared/adr/linter.yaml is not here")
    found = lint.findings(official)
    assert [f for f in found if f["owner"] == "register"] == []
    assert [(f["rule"], f["path"]) for f in found if f["owner"] == "register, deprecated"] == [
        ("nlgov:query-keys-camel-case", "components/parameters/vertrouwelijkheid__in/name")
    ]
    baseline = {lint.key(f) for f in json.loads(lint.OFFICIAL_BASELINE.read_text())}
    standard = [f for f in found if f["owner"] == "standard"]
    assert {lint.key(f) for f in standard} == baseline
    assert all(f["document"].startswith("standard/") for f in standard)  # none left in the register's copies
    documented = (ROOT / "docs" / "api-design-rules.md").read_text()
    assert all(f"`{f['rule']}`" in documented for f in standard)


def test_the_deprecated_parameter_is_marked_in_the_document() -> None:
    doc = yaml.safe_load((ROOT / "src" / "verwerkingenlog" / "api" / "oas" / "bewerking-api.yaml").read_text())
    parameters = doc["components"]["parameters"]
    assert parameters["vertrouwelijkheidIn"]["name"] == "vertrouwelijkheidIn"
    assert "deprecated" not in parameters["vertrouwelijkheidIn"]
    assert parameters["vertrouwelijkheid__in"]["deprecated"] is True
    listed = [p["$ref"] for p in doc["paths"]["/verwerkingsacties"]["get"]["parameters"] if "$ref" in p]
    assert "#/components/parameters/vertrouwelijkheidIn" in listed


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "api_contact_name": "Gemeente Utrecht",
        "api_contact_url": "https://www.utrecht.nl/privacy",
        "api_contact_email": "privacy@utrecht.nl",
    }


def test_info_contact_of_the_served_documents_comes_from_the_settings(api: Api) -> None:
    """ADR /core/doc-openapi-contact: the register's documents name the deploying municipality (API_CONTACT_*);
    the rest of each document is the file, and the standard's verbatim documents keep the standard's contact."""
    oas = ROOT / "src" / "verwerkingenlog" / "api" / "oas"
    for name in ("bewerking-api", "inzage-api", "var-api"):
        served = yaml.safe_load(api.tc.get(f"/api/v1/openapi/{name}.yaml").content)
        assert served["info"]["contact"] == {
            "x-extension": True,
            "name": "Gemeente Utrecht",
            "url": "https://www.utrecht.nl/privacy",
            "email": "privacy@utrecht.nl",
        }
        on_file = yaml.safe_load((oas / f"{name}.yaml").read_text())
        del served["info"]["contact"], on_file["info"]["contact"]
        assert served == on_file
        verbatim = api.tc.get(f"/api/v1/openapi/standard/{name}.yaml")
        assert verbatim.content == (oas / "standard" / f"{name}.yaml").read_bytes()
