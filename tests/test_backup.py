"""Backup → restore into a fresh database → `verwerkingenlog verify` passes against the restored copy and the
published (witnessed) checkpoints, pinned to the register's own key; on SQLite and PostgreSQL
(docs/deployment.md, "Backup and restore")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY, _postgres_database
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh, query
from verwerkingenlog.cli import app as cli
from verwerkingenlog.services.verify import WITNESS

fresh = integrity_support.fresh

TRIGGERS = {
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'",
    "postgresql": "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal",
}


@pytest.fixture
def target(fresh: Fresh, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend to restore into."""
    if fresh.backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'register.db'}"
    else:
        yield from _postgres_database()


def use(monkeypatch: pytest.MonkeyPatch, f: Fresh, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PSEUDONYMISATION_KEY", TEST_KEY)
    monkeypatch.setenv("CHECKPOINT_KEY_FILE", str(f.key_file))
    monkeypatch.setenv("CHECKPOINT_ORIGIN", "register.test/verwerkingenlog")


def test_backup_restore_verify(fresh: Fresh, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = fresh
    for _ in range(3):
        assert f.api.post(actie(new_bsn(), new_bsn())).status_code == 201
    f.checkpoint()
    assert f.api.post(actie(new_bsn())).status_code == 201
    f.checkpoint()
    (vkey,) = [k.vkey for k in f.call(f.app.state.integrity.published_keys)]
    runner = CliRunner()

    use(monkeypatch, f, f.url)
    dump = tmp_path / "backups" / "register.backup"
    made = runner.invoke(cli, ["backup", str(dump)])
    assert made.exit_code == 0, made.output
    assert dump.stat().st_size > 0
    assert f.api.post(actie(new_bsn())).status_code == 201  # the live register goes on after the backup

    use(monkeypatch, f, target)
    restored = runner.invoke(cli, ["restore", str(dump)])
    assert restored.exit_code == 0, restored.output
    checked = runner.invoke(cli, ["verify", "--witness", str(f.witness_file), "--key", vkey, "--json"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert report["ok"] and report["findings"] == []
    assert report["treeSize"] == 4 and report["witnessCheckpoints"] == 2
    # the copy is as append-only as the original
    assert query(f.backend, target, TRIGGERS[f.backend]) == query(f.backend, f.url, TRIGGERS[f.backend])

    again = runner.invoke(cli, ["restore", str(dump)])
    assert again.exit_code == 2 and "restore into a new" in again.output.replace("\n", " ")

    # A checkpoint the live register signs after the backup describes entries the backup lacks: verify against
    # the newer witness copy says so (docs/deployment.md: restore from the newest backup).
    f.checkpoint()
    later = runner.invoke(cli, ["verify", "--witness", str(f.witness_file), "--key", vkey, "--json"])
    assert later.exit_code == 1, later.output
    assert {x["finding"] for x in json.loads(later.stdout)["findings"]} == {WITNESS}


def test_restore_of_a_missing_backup_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(cli, ["restore", str(tmp_path / "nothing.backup")])
    assert result.exit_code == 2 and "No backup file" in result.output
    result = CliRunner().invoke(cli, ["backup", str(tmp_path / "out.backup")])
    assert result.exit_code == 2 and "No SQLite database" in result.output
