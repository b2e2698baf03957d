"""Run Spectral with the NL API Design Rules rulesets over the OpenAPI documents the register serves, and fail
on findings that are not in the baseline (docs/api-design-rules.md).

Two rulesets run, each with its own baseline: the project's own (ruleset.yaml, baseline.json) and the official one
Logius publishes (`../shared/adr/linter.yaml` beside the repository, or ADR_OFFICIAL_RULESET; baseline-official.json).

Every finding is attributed: to the register when its location lies inside something marked
`x-extension: true` (the register's own additions, which must have no findings at all), otherwise to the
standard's own OAS text (recorded in the baseline with the reason in docs/api-design-rules.md; only a NEW
finding fails the build). A register finding inside something also marked `deprecated: true` (an earlier name
kept working for compatibility, e.g. `vertrouwelijkheid__in`) is reported but does not fail.
`--update-baseline` rewrites the baselines from the current findings of the standard.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OAS = ROOT / "src" / "verwerkingenlog" / "api" / "oas"
DOCUMENTS = ("bewerking-api", "inzage-api", "var-api")
BASELINE = HERE / "baseline.json"
OFFICIAL_BASELINE = HERE / "baseline-official.json"
SPECTRAL = HERE / "node_modules" / ".bin" / "spectral"


def official_ruleset() -> Path | None:
    """Logius' linter.yaml: ADR_OFFICIAL_RULESET, else `shared/adr/linter.yaml` in the nearest folder above the
    repository that has one (CI: `../shared/adr/linter.yaml`)."""
    configured = os.environ.get("ADR_OFFICIAL_RULESET")
    if configured:
        return Path(configured)
    for folder in ROOT.parents:
        candidate = folder / "shared" / "adr" / "linter.yaml"
        if candidate.is_file():
            return candidate
    return None


def in_extension(document: Any, path: list[str]) -> bool:
    """True when a node on `path` (the document root excluded) carries `x-extension: true`."""
    node = document
    for step in path:
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return False
        if isinstance(node, dict) and node.get("x-extension") is True:
            return True
    return False


def deprecated(document: Any, path: list[str]) -> bool:
    """True when a node on `path` carries `deprecated: true` (an OpenAPI parameter, schema or operation)."""
    node = document
    for step in path:
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return False
        if isinstance(node, dict) and node.get("deprecated") is True:
            return True
    return False


def owner(document: Any, path: list[str]) -> str:
    if not in_extension(document, path):
        return "standard"
    return "register, deprecated" if deprecated(document, path) else "register"


def documents() -> list[tuple[str, Path, bool]]:
    """(name, file, verbatim): the register's documents, and the standard's served verbatim (all of whose
    findings are the standard's text)."""
    found = [(name, OAS / f"{name}.yaml", False) for name in DOCUMENTS]
    found += [(f"standard/{name}", OAS / "standard" / f"{name}.yaml", True) for name in DOCUMENTS]
    return [(name, path, verbatim) for name, path, verbatim in found if path.exists()]


def findings(ruleset: Path) -> list[dict[str, str]]:
    found = []
    for name, doc, verbatim in documents():
        run = subprocess.run(
            [str(SPECTRAL), "lint", "--ruleset", str(ruleset), "--format", "json", "--quiet", str(doc)],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode not in (0, 1):
            sys.exit(f"spectral failed on {doc.name}: {run.stderr or run.stdout}")
        parsed = yaml.safe_load(doc.read_text(encoding="utf-8"))
        for f in json.loads(run.stdout or "[]"):
            path = [str(p) for p in f["path"]]
            found.append(
                {
                    "document": name,
                    "rule": f["code"],
                    "path": "/".join(path),
                    "owner": "standard" if verbatim else owner(parsed, path),
                    "message": f["message"],
                }
            )
    return sorted(found, key=lambda f: (f["document"], f["rule"], f["path"]))


def key(f: dict[str, str]) -> tuple[str, str, str]:
    return f["document"], f["rule"], f["path"]


def check(name: str, ruleset: Path, baseline: Path, update: bool) -> bool:
    """Lint with one ruleset; True when nothing fails (no register finding, nothing new in the standard's)."""
    found = findings(ruleset)
    ours = [f for f in found if f["owner"] == "register"]
    kept = [f for f in found if f["owner"] == "register, deprecated"]
    standard = [f for f in found if f["owner"] == "standard"]
    if update:
        baseline.write_text(json.dumps(standard, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{baseline.name}: {len(standard)} finding(s) of the standard's own text.")
    known = {key(f) for f in json.loads(baseline.read_text(encoding="utf-8"))} if baseline.exists() else set()
    new = [f for f in standard if key(f) not in known]
    for f in ours + new + kept:
        print(f"[{name}] {f['document']}: {f['rule']} at {f['path']} ({f['owner']}): {f['message']}")
    gone = known - {key(f) for f in standard}
    print(
        f"API Design Rules ({name}, {ruleset}): {len(found)} finding(s); {len(standard) - len(new)} known in the "
        f"standard's text (baseline), {len(new)} new in it, {len(ours)} in the register's extensions"
        + (f", {len(kept)} on deprecated names kept for compatibility" if kept else "")
        + (f"; {len(gone)} baseline finding(s) no longer occur (update the baseline)" if gone else "")
    )
    return not ours and not new


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ruleset", type=Path, help="lint with this ruleset only (no baseline of its own)")
    parser.add_argument("--update-baseline", action="store_true")
    args = parser.parse_args()
    if not SPECTRAL.exists():
        sys.exit("Spectral is not installed: run `make lint-api` (it runs npm ci in tools/api-lint).")
    if args.ruleset is not None:
        return 0 if check("given", args.ruleset, BASELINE, False) else 1
    official = official_ruleset()
    if official is None or not official.is_file():
        sys.exit(
            "The official ADR linter (Logius, linter.yaml) was not found: expected ../shared/adr/linter.yaml beside "
            "the repository, or set ADR_OFFICIAL_RULESET=/path/to/linter.yaml (docs/api-design-rules.md)."
        )
    ok = check("project", HERE / "ruleset.yaml", BASELINE, args.update_baseline)
    ok = check("official", official, OFFICIAL_BASELINE, args.update_baseline) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
