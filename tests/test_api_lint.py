"""The API Design Rules lint (tools/api-lint/lint.py, `make lint-api`): which findings are the register's own, and
that the register's extensions in the served documents carry what the rules ask (docs/api-design-rules.md).
Spectral itself runs in CI (`make lint-api`); these tests need no Node."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import yaml

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
    assert {f["document"] for f in baseline} <= {"bewerking-api", "inzage-api", "var-api"}


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
