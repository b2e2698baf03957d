"""The `verwerkingenlog` command, as an operator uses it (issue 2 §8), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import make_settings
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(backend: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", backend[1])
    yield backend[0]


def _unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_clients_add_prints_secret_once_and_json_for_scripts(cli_env: str) -> None:
    """clients add ID --scope S --json prints id, secret and scopes; the secret signs valid tokens."""
    cid = _unique("zaaksysteem")
    result = runner.invoke(app, ["clients", "add", cid, "--scope", "read:normal", "--scope", "update:normal", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["clientId"] == cid and data["scopes"] == ["read:normal", "update:normal"]
    assert len(data["secret"]) >= 32

    listed = runner.invoke(app, ["clients", "list", "--json"])
    assert listed.exit_code == 0
    entry = next(c for c in json.loads(listed.stdout) if c["clientId"] == cid)
    assert entry == {"clientId": cid, "scopes": ["read:normal", "update:normal"]}
    assert "secret" not in entry

    token = runner.invoke(app, ["token", cid])
    assert token.exit_code == 0
    claims = jwt.decode(token.stdout.strip(), data["secret"], algorithms=["HS256"])
    assert claims["iss"] == cid and claims["client_id"] == cid and isinstance(claims["iat"], int)


def test_clients_add_human_output(cli_env: str) -> None:
    cid = _unique("portaal")
    result = runner.invoke(app, ["clients", "add", cid, "--scope", "read:confidential"])
    assert result.exit_code == 0
    assert cid in result.stdout and "Secret" in result.stdout and "read:confidential" in result.stdout


def test_bad_arguments_get_clear_messages(cli_env: str) -> None:
    """Unknown scopes, duplicate ids, unknown clients: a message naming the problem and exit code 2."""
    cid = _unique("dubbel")
    bad_scope = runner.invoke(app, ["clients", "add", cid, "--scope", "read:everything"])
    assert bad_scope.exit_code == 2
    assert "read:everything" in bad_scope.output and "Known:" in bad_scope.output

    assert runner.invoke(app, ["clients", "add", cid]).exit_code == 0
    duplicate = runner.invoke(app, ["clients", "add", cid])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output

    missing = runner.invoke(app, ["token", _unique("onbekend")])
    assert missing.exit_code == 2 and "No client" in missing.output

    gone = runner.invoke(app, ["clients", "remove", _unique("onbekend")])
    assert gone.exit_code == 2 and "No client" in gone.output

    bad_port = runner.invoke(app, ["serve", "--port", "70000"])
    assert bad_port.exit_code == 2


def test_removed_client_can_no_longer_authenticate(cli_env: str) -> None:
    """clients remove ID: the client's tokens stop working at once (R-AUTH-1)."""
    cid = _unique("weg")
    assert runner.invoke(app, ["clients", "add", cid, "--scope", "read:normal"]).exit_code == 0
    token = runner.invoke(app, ["token", cid]).stdout.strip()

    with TestClient(create_app(make_settings(os.environ["DATABASE_URL"]))) as tc:
        params = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "1", "vertrouwelijkheid": "normaal"}
        headers = {"Authorization": f"Bearer {token}"}
        assert tc.get("/api/v1/verwerkingsacties", params=params, headers=headers).status_code == 200
        assert runner.invoke(app, ["clients", "remove", cid]).exit_code == 0
        after = tc.get("/api/v1/verwerkingsacties", params=params, headers=headers)
        assert after.status_code == 401
        assert after.json()["code"] == "authentication_failed"


def test_migrate_reports_up_to_date(cli_env: str) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0 and "up to date" in result.stdout


def test_config_reference_lists_every_setting(cli_env: str) -> None:
    result = runner.invoke(app, ["config-reference"])
    assert result.exit_code == 0
    for name in ("DATABASE_URL", "JWT_MAX_AGE_SECONDS", "SELF_LOGGING", "PSEUDONYMISATION_KEY"):
        assert f"`{name}`" in result.stdout
