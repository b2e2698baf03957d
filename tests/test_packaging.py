"""What `pip install verwerkingenlog[server]` (and so the image, Containerfile) ships: every file the register
reads at run time, and the licence as an SPDX expression (issue 15.7)."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_non_python_file_of_the_package_is_package_data() -> None:
    """A template or static file missing from package-data works in the editable checkout but not in a wheel
    or the image (the image test found the admin pages' files missing)."""
    package = ROOT / "src" / "verwerkingenlog"
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["verwerkingenlog"]
    files = [
        PurePosixPath(p.relative_to(package).as_posix())
        for p in package.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert files
    missing = [
        str(f)
        for f in files
        if not any(f.match(pattern) and len(f.parts) == len(PurePosixPath(pattern).parts) for pattern in patterns)
    ]
    assert not missing, f"add to [tool.setuptools.package-data]: {missing}"


def test_licence_is_an_spdx_expression() -> None:
    """PEP 639: `license = "EUPL-1.2"` (a TOML table is deprecated, an error in setuptools from 2027-02)."""
    assert PYPROJECT["project"]["license"] == "EUPL-1.2"
