"""What the register writes to disk is readable by its own user only (issue 21.6; docs/deployment.md, SQLite and
Backup): the SQLite database with its -wal and -shm files, and every backup `verwerkingenlog backup` writes (SQLite
copy or pg_dump file), mode 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import TEST_KEY, _prepare, _run, make_settings
from tests.helpers import Api, actie, new_bsn
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default umask (022), under which files are created world-readable unless asked otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "data" / "register.db"
    url = f"sqlite:///{db}"
    clients = _run(_prepare(url))
    with TestClient(create_app(make_settings(url))) as tc:
        api = Api(tc, {n: tokens.issue(c) for n, c in clients.items()}, "sqlite", clients)
        assert api.create(actie(new_bsn()))
        files = [db, db.with_name("register.db-wal"), db.with_name("register.db-shm")]
        assert all(f.exists() for f in files), [f.name for f in files if not f.exists()]
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}


@pytest.mark.parametrize("existing", [False, True])
def test_backups_are_written_0600(
    backend: tuple[str, str],
    registered: dict[str, Client],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:
    monkeypatch.setenv("DATABASE_URL", backend[1])
    monkeypatch.setenv("PSEUDONYMISATION_KEY", TEST_KEY)
    target = tmp_path / "backups" / "register.backup"
    if existing:  # an older backup, world-readable, that this one overwrites
        target.parent.mkdir()
        target.write_bytes(b"old")
        target.chmod(0o644)
    made = CliRunner().invoke(cli, ["backup", str(target)])
    assert made.exit_code == 0, made.output
    assert target.stat().st_size > 3
    assert oct(mode(target)) == "0o600"
