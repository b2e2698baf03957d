"""make test-k8s: checkov over the rendered Kustomize base and production overlay and over the Containerfile,
with only the skips of deploy/checkov-skips.yaml (each justified in docs/deployment.md). Exit code 1 on any failed
check. Checkov runs from its own virtual environment (.venv-checkov): its pins would downgrade the dev tools."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def main() -> int:
    skips: dict[str, dict[str, str]] = yaml.safe_load((ROOT / "deploy" / "checkov-skips.yaml").read_text())
    started = time.monotonic()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        targets: dict[str, tuple[Path, str]] = {}
        for name, path in (("base", "deploy/base"), ("production", "deploy/overlays/production")):
            rendered = Path(tmp) / f"{name}.yaml"
            rendered.write_text(subprocess.run(["kubectl", "kustomize", str(ROOT / path)], check=True,
                                               capture_output=True, text=True).stdout)  # fmt: skip
            targets[name] = (rendered, "kubernetes")
        dockerfile = Path(tmp) / "image" / "Dockerfile"  # checkov recognises Dockerfiles by name
        dockerfile.parent.mkdir()
        shutil.copy(ROOT / "Containerfile", dockerfile)
        targets["image"] = (dockerfile, "dockerfile")
        for name, (path, framework) in targets.items():
            command = [str(CHECKOV), "--file", str(path), "--framework", framework, "--output", "json",
                       "--skip-download", "--quiet"]  # fmt: skip
            if skips.get(name):
                command += ["--skip-check", ",".join(skips[name])]
            done = subprocess.run(command, capture_output=True, text=True)
            report = json.loads(done.stdout) if done.stdout.strip() else {}
            summary = report.get("summary", {})
            results = report.get("results", {}).get("failed_checks", [])
            print(f"{name}: {summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
                  f"{summary.get('skipped', 0)} skipped ({len(skips.get(name) or {})} skips listed)")  # fmt: skip
            for check in results:
                print(f"  FAILED {check['check_id']} {check['check_name']}: {check['resource']}")
            if done.returncode not in (0, 1) or not summary:
                print(done.stderr[-2000:])
                return 2
            failed += summary.get("failed", 0)
    print(f"checkov: {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
