"""The spec-to-test map (docs/spec-to-tests.md) is current and every rule of the digest is covered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_rule_has_a_test_and_the_map_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "spec_map.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
