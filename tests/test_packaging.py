"""What `pip install verwerkingenlog[server]` (and so the image, Containerfile) ships: every file the register
reads at run time, and the licence as an SPDX expression (issue 15.7)."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

import yaml

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


PUBLICCODE = yaml.safe_load((ROOT / "publiccode.yml").read_text())
# The keys the publiccode.yml standard (https://yml.publiccode.tools, schema.core) marks mandatory.
REQUIRED = ("publiccodeYmlVersion", "name", "url", "platforms", "developmentStatus", "softwareType", "description",
            "legal", "maintenance", "localisation")  # fmt: skip
DEVELOPMENT_STATUS = {"concept", "development", "beta", "stable", "obsolete"}
SOFTWARE_TYPE = {"standalone/mobile", "standalone/iot", "standalone/desktop", "standalone/web",
                 "standalone/backend", "standalone/other", "addon", "library", "configurationFiles"}  # fmt: skip


def test_publiccode_yml_has_the_standards_required_keys() -> None:
    missing = [key for key in REQUIRED if key not in PUBLICCODE]
    assert not missing, f"publiccode.yml lacks {missing}"
    assert PUBLICCODE["publiccodeYmlVersion"] == "0.4"
    assert PUBLICCODE["url"].startswith("https://")
    assert PUBLICCODE["platforms"] and PUBLICCODE["developmentStatus"] in DEVELOPMENT_STATUS
    assert PUBLICCODE["softwareType"] in SOFTWARE_TYPE
    for language, text in PUBLICCODE["description"].items():
        assert len(text["shortDescription"]) <= 150, language
        assert 150 <= len(text["longDescription"]) <= 10_000, language
        assert text["features"] and all(len(f) <= 100 for f in text["features"]), language
    assert PUBLICCODE["maintenance"]["type"] in {"internal", "contract", "community", "none"}
    if PUBLICCODE["maintenance"]["type"] != "none":
        assert all(c["name"] for c in PUBLICCODE["maintenance"]["contacts"])
    assert isinstance(PUBLICCODE["localisation"]["localisationReady"], bool)
    assert set(PUBLICCODE["description"]) <= set(PUBLICCODE["localisation"]["availableLanguages"])


def test_publiccode_yml_agrees_with_the_package() -> None:
    assert PUBLICCODE["legal"]["license"] == PYPROJECT["project"]["license"]
    assert PUBLICCODE["softwareVersion"] == PYPROJECT["project"]["version"]
