"""`X_FILE` for every setting `X` (issue 15.1): configuration from mounted secret files, as a container on Kubernetes
gets it (docs/deployment.md). The register is started through its CLI with its secrets only in files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from pydantic_settings import SettingsError

from tests.conftest import TEST_CLIENT_KEY, TEST_KEY
from tests.live import free_port, wait_until
from verwerkingenlog.api.app import create_app
from verwerkingenlog.settings import _EXAMPLES, Settings

BIN = Path(sys.executable).parent


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting of the test session's own environment leaks into these comparisons."""
    for key in list(os.environ):
        name = key.lower().removesuffix("_file")
        if name in Settings.model_fields:
            monkeypatch.delenv(key)
    return monkeypatch


def _candidates(name: str) -> list[str]:
    """Texts that should give `name` a value other than its default: its documented examples, then by type."""
    field = Settings.model_fields[name]
    default = field.get_default(call_default_factory=True)
    texts = [str(e) for e in field.examples or []]
    if name in _EXAMPLES:
        texts.append(_EXAMPLES[name])
    if isinstance(default, bool):
        texts.append(str(not default).lower())
    elif isinstance(default, int | float):
        texts += [str(default + 1), str(default - 1)]
    texts += ["7", "true", "/srv/from-a-file", "from-a-file", '{"a": {}}', '{"a": "b"}', '["from-a-file"]']
    return texts


def _non_default_value(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    for text in _candidates(name):
        monkeypatch.setenv(name.upper(), text)
        try:
            value = getattr(Settings(), name)
        except (ValidationError, SettingsError):
            continue
        finally:
            monkeypatch.delenv(name.upper())
        if value != default:
            return text, value
    raise AssertionError(f"no example value for {name.upper()}: give the field `examples=` in settings.py")


def test_every_setting_can_be_read_from_a_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For each setting X (also those added later): X_FILE=path gives the same value as X=content; the trailing
    newline an editor or `echo` leaves is stripped."""
    checked = []
    for name in Settings.model_fields:
        if f"{name}_file" in Settings.model_fields:
            continue
        text, expected = _non_default_value(name, clean_env)
        secret = tmp_path / f"{name}.txt"
        secret.write_text(text + "\n", encoding="utf-8")
        clean_env.setenv(f"{name.upper()}_FILE", str(secret))
        try:
            assert getattr(Settings(), name) == expected, name
        finally:
            clean_env.delenv(f"{name.upper()}_FILE")
        checked.append(name)
    assert "database_url" in checked and "pseudonymisation_key" in checked and "portal_session_secret" in checked
    assert len(checked) == len(Settings.model_fields)


def test_file_content_is_kept_but_for_trailing_newlines(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_bytes(b"  spaces and = signs kept \n\r\n\n")
    clean_env.setenv("pseudonymisation_key_file", str(secret))  # names are case-insensitive, as the environment's
    assert Settings().pseudonymisation_key == "  spaces and = signs kept "
    mapping = tmp_path / "limits.json"
    mapping.write_text(json.dumps({"zaaksysteem": {"rate_limit_per_minute": 60}}) + "\n")
    clean_env.setenv("CLIENT_LIMITS_FILE", str(mapping))
    assert Settings().client_limits["zaaksysteem"].rate_limit_per_minute == 60


def test_both_variable_and_file_is_an_error_naming_both(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 40)
    clean_env.setenv("PORTAL_SESSION_SECRET", "t" * 40)
    clean_env.setenv("PORTAL_SESSION_SECRET_FILE", str(secret))
    with pytest.raises(SettingsError, match="PORTAL_SESSION_SECRET and PORTAL_SESSION_SECRET_FILE are both set"):
        Settings()


def test_unreadable_file_is_an_error_naming_the_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("METRICS_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="METRICS_TOKEN_FILE: cannot read"):
        Settings()


def test_cli_reports_both_set_in_one_line(tmp_path: Path) -> None:
    """The operator sees which variables clash, not a traceback (exit code 2, like other usage errors)."""
    url_file = tmp_path / "url"
    url_file.write_text(f"sqlite:///{tmp_path / 'x.db'}\n")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'y.db'}", "DATABASE_URL_FILE": str(url_file)}
    done = subprocess.run(
        [str(BIN / "verwerkingenlog"), "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "DATABASE_URL and DATABASE_URL_FILE are both set" in done.stderr
    assert "Traceback" not in done.stderr


def test_register_serves_with_its_secrets_only_in_files(
    backend: tuple[str, str], tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    """`verwerkingenlog serve` with the database URL and the keys as mounted files (as on Kubernetes): it migrates
    and becomes ready, in a process of its own and in this one."""
    files = {
        "DATABASE_URL": backend[1],
        "PSEUDONYMISATION_KEY": TEST_KEY,
        "CLIENT_SECRET_KEY": TEST_CLIENT_KEY,
        "PORTAL_SESSION_SECRET": "p" * 48,
    }
    env = {k: v for k, v in os.environ.items() if k.lower().removesuffix("_file") not in Settings.model_fields}
    for name, value in files.items():
        (tmp_path / name.lower()).write_text(value + "\n")
        env[f"{name}_FILE"] = str(tmp_path / name.lower())
    env |= {"CHECKPOINT_INTERVAL_SECONDS": "0", "KEY_FILE": "/nonexistent/never-used.key"}
    port = free_port()
    log = tmp_path / "register.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "verwerkingenlog"), "serve", "--port", str(port)], env=env, stdout=out, stderr=out, cwd=tmp_path
        )
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(log.read_text()[-2000:])
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 30, "the register with file-only configuration")
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0, log.read_text()[-2000:]
    assert not (tmp_path / "data").exists()  # no key file was created: the key came from the file

    for name, value in env.items():
        if name.endswith("_FILE") or name in ("CHECKPOINT_INTERVAL_SECONDS", "KEY_FILE"):
            clean_env.setenv(name, value)
    settings = Settings()
    assert (settings.database_url, settings.pseudonymisation_key) == (backend[1], TEST_KEY)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/ready").status_code == 200
