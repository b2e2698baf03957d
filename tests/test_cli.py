"""The `verwerkingenlog` command, as an operator uses it (issue 2 §8), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import make_settings
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app
from verwerkingenlog.services.audit import AuditEntry, AuditLog
from verwerkingenlog.store.db import Database

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
    assert entry == {"clientId": cid, "kind": "secret", "scopes": ["read:normal", "update:normal"]}
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


def test_rotate_gives_a_new_secret_and_ends_the_old_tokens(cli_env: str) -> None:
    """clients rotate ID --json: a new secret, shown once; tokens of the old one are refused at once."""
    cid = _unique("draai")
    added = json.loads(runner.invoke(app, ["clients", "add", cid, "--scope", "read:normal", "--json"]).stdout)
    old_token = runner.invoke(app, ["token", cid]).stdout.strip()
    params = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "1", "vertrouwelijkheid": "normaal"}
    with TestClient(create_app(make_settings(os.environ["DATABASE_URL"]))) as tc:
        before = tc.get("/api/v1/verwerkingsacties", params=params, headers={"Authorization": f"Bearer {old_token}"})
        assert before.status_code == 200
        rotated = runner.invoke(app, ["clients", "rotate", cid, "--json"])
        assert rotated.exit_code == 0, rotated.output
        new = json.loads(rotated.stdout)
        assert new["clientId"] == cid and new["secret"] != added["secret"]
        old = tc.get("/api/v1/verwerkingsacties", params=params, headers={"Authorization": f"Bearer {old_token}"})
        assert old.status_code == 401
        new_token = jwt.encode({"iss": cid, "iat": int(time.time())}, new["secret"], algorithm="HS256")
        fresh = tc.get("/api/v1/verwerkingsacties", params=params, headers={"Authorization": f"Bearer {new_token}"})
        assert fresh.status_code == 200
    human = runner.invoke(app, ["clients", "rotate", cid])
    assert human.exit_code == 0 and "not shown again" in human.stdout
    unknown = runner.invoke(app, ["clients", "rotate", _unique("onbekend")])
    assert unknown.exit_code == 2 and "No client" in unknown.output


def test_client_changes_from_the_cli_are_audited(cli_env: str) -> None:
    """add, rotate and remove from the CLI land in the admin audit trail, by OS user, without the secret."""
    cid = _unique("audit")
    secret = json.loads(runner.invoke(app, ["clients", "add", cid, "--json"]).stdout)["secret"]
    new_secret = json.loads(runner.invoke(app, ["clients", "rotate", cid, "--json"]).stdout)["secret"]
    assert runner.invoke(app, ["clients", "remove", cid]).exit_code == 0
    assert runner.invoke(app, ["clients", "remove", cid]).exit_code == 2

    async def entries() -> list[AuditEntry]:
        db = Database(os.environ["DATABASE_URL"])
        try:
            return (await AuditLog(db).entries(limit=500))[1]
        finally:
            await db.dispose()

    mine = [e for e in asyncio.run(entries()) if e.target == cid]
    assert [(e.action, e.outcome) for e in reversed(mine)] == [
        ("client:aanmaken", "ok"),
        ("client:nieuw-geheim", "ok"),
        ("client:intrekken", "ok"),
        ("client:intrekken", "mislukt"),
    ]
    assert all(e.subject.startswith("cli:") for e in mine)
    assert not any(secret in str(e) or new_secret in str(e) for e in mine)


def test_migrate_reports_up_to_date(cli_env: str) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0 and "up to date" in result.stdout


def test_config_reference_lists_every_setting(cli_env: str) -> None:
    result = runner.invoke(app, ["config-reference"])
    assert result.exit_code == 0
    for name in ("DATABASE_URL", "JWT_MAX_AGE_SECONDS", "SELF_LOGGING", "PSEUDONYMISATION_KEY"):
        assert f"`{name}`" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["clients", "remove", "nobody-like-this"],  # cli/clients.py
        ["token", "nobody-like-this"],
        ["var", "list", "--organisatie", "123"],  # cli/var.py
        ["fg", "report", "--period", "someday"],  # cli/fg.py
        ["verify", "--key", "not-a-verifier-key"],  # cli/integrity.py
        ["purge", "--peilmoment", "2030-01-01T00:00:00Z"],
        ["restore", "/nonexistent/backup.dump"],  # cli/ops.py
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_every_command_group_fails_the_same_way(cli_env: str, args: list[str]) -> None:
    """One error path for every group (cli/console.py): the reason on stderr after `error:`, nothing on stdout,
    exit code 2."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stdout == "", (result.stdout, result.stderr)
