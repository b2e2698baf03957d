"""Run Spectral with the NL API Design Rules ruleset over the OpenAPI documents the register serves, and fail
on findings that are not in the baseline (docs/api-design-rules.md).

Every finding is attributed: to the register when its location lies inside something marked
`x-extension: true` (the register's own additions, which must have no findings at all), otherwise to the
standard's own OAS text (recorded in baseline.json with the reason in docs/api-design-rules.md; only a NEW
finding fails the build). `--update-baseline` rewrites baseline.json from the current findings of the standard.
"""

from __future__ import annotations

import argparse
import json
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
SPECTRAL = HERE / "node_modules" / ".bin" / "spectral"


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


def findings(ruleset: Path) -> list[dict[str, str]]:
    found = []
    for name in DOCUMENTS:
        doc = OAS / f"{name}.yaml"
        if not doc.exists():
            continue
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
                    "owner": "register" if in_extension(parsed, path) else "standard",
                    "message": f["message"],
                }
            )
    return sorted(found, key=lambda f: (f["document"], f["rule"], f["path"]))


def key(f: dict[str, str]) -> tuple[str, str, str]:
    return f["document"], f["rule"], f["path"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ruleset", type=Path, default=HERE / "ruleset.yaml")
    parser.add_argument("--update-baseline", action="store_true")
    args = parser.parse_args()
    if not SPECTRAL.exists():
        sys.exit("Spectral is not installed: run `make lint-api` (it runs npm ci in tools/api-lint).")
    found = findings(args.ruleset)
    ours = [f for f in found if f["owner"] == "register"]
    standard = [f for f in found if f["owner"] == "standard"]
    if args.update_baseline:
        BASELINE.write_text(json.dumps(standard, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"baseline.json: {len(standard)} finding(s) of the standard's own text.")
    known = {key(f) for f in json.loads(BASELINE.read_text(encoding="utf-8"))} if BASELINE.exists() else set()
    new = [f for f in standard if key(f) not in known]
    for f in ours + new:
        print(f"{f['document']}: {f['rule']} at {f['path']} ({f['owner']}): {f['message']}")
    gone = known - {key(f) for f in standard}
    print(
        f"API Design Rules: {len(found)} finding(s); {len(standard) - len(new)} known in the standard's text "
        f"(baseline), {len(new)} new in it, {len(ours)} in the register's extensions"
        + (f"; {len(gone)} baseline finding(s) no longer occur (update the baseline)" if gone else "")
    )
    return 1 if ours or new else 0


if __name__ == "__main__":
    sys.exit(main())
