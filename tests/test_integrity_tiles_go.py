"""An independent check of the tiles, checkpoints and proofs (docs/integrity.md §7a): tests/go/tlogcheck, built on
Go's golang.org/x/mod/sumdb/note and …/sumdb/tlog (code this project did not write), against a real register
process with more than one full tile of leaves, on SQLite and PostgreSQL.

Built offline in GOPATH mode from Debian's `golang-go` and `golang-golang-x-mod-dev`. Without them the test is
skipped locally and fails in CI (`CI` set; .ci/run installs them)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import _prepare
from tests.helpers import actie, new_bsn
from tests.integrity_support import note_root, tamper
from tests.live import RegisterProcess, free_port
from verwerkingenlog.integrity.checkpoint import SignerKey
from verwerkingenlog.services import tokens

ROOT = Path(__file__).resolve().parents[1]
GOPATH = Path(os.environ.get("TLOGCHECK_GOPATH", "/usr/share/gocode"))
X_MOD = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb" / "tlog"


def go_env(cache: Path) -> dict[str, str]:
    """GOPATH mode, offline: the Debian packages' sources are the only modules."""
    return {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(cache),
        "GOFLAGS": "",
        "GOPROXY": "off",
        "CGO_ENABLED": "0",
    }


_BUILT: dict[str, Path] = {}


@pytest.fixture
def tlogcheck(register: tuple[RegisterProcess, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built program (once per run). After `register`, so that a skipped run still started a register (the
    session's log scan, tests/conftest.py, expects log lines from a run that uses a backend)."""
    if "binary" in _BUILT:
        return _BUILT["binary"]
    go = shutil.which("go")
    if go is None or not X_MOD.is_dir():
        missing = "go (golang-go)" if go is None else f"golang.org/x/mod in {GOPATH} (golang-golang-x-mod-dev)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the independent Go check: {missing} is missing")
        pytest.skip(f"{missing} is not installed")
    out = tmp_path_factory.mktemp("tlogcheck")
    binary = out / "tlogcheck"
    built = subprocess.run(
        [go, "build", "-o", str(binary), "./tests/go/tlogcheck"],
        cwd=ROOT,
        env=go_env(out / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    _BUILT["binary"] = binary
    return binary


@pytest.fixture
def register(fresh_database: str, tmp_path: Path) -> Iterator[tuple[RegisterProcess, str]]:
    """A register process on a database of its own, signing with its own key; yields it and a bearer token."""
    clients = asyncio.run(_prepare(fresh_database))
    port = free_port()
    process = RegisterProcess(
        fresh_database,
        tmp_path,
        port=port,
        env={
            "CHECKPOINT_KEY_FILE": str(tmp_path / "checkpoint.key"),
            "CHECKPOINT_ORIGIN": f"127.0.0.1:{port}/verwerkingenlog",  # the log's URL prefix without the scheme
        },
    ).start(timeout=60)
    try:
        yield process, tokens.issue(clients["alles"])
    finally:
        process.stop()


def bulk(process: RegisterProcess, token: str, count: int) -> None:
    body = b"".join(json.dumps(actie(new_bsn())).encode() + b"\n" for _ in range(count))
    r = httpx.post(
        f"{process.url}/api/v1/verwerkingsacties/bulk",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["stored"] == count, r.text


def sign(process: RegisterProcess) -> str:
    """`verwerkingenlog checkpoint` against the register's database and key: the signed note."""
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "verwerkingenlog"), "checkpoint"],
        env=process.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120)


def test_go_tlog_verifies_tiles_checkpoints_and_proofs(
    register: tuple[RegisterProcess, str], tlogcheck: Path, backend: tuple[str, str], tmp_path: Path
) -> None:
    """Go's note.Open verifies the checkpoint with the key the register publishes (its vkey format is the note
    package's, unchanged); tlog recomputes the head from the tiles of a tree of more than one full tile, proves
    leaves on both sides of the tile boundary from the tiles and entry bundles, and checks the register's own
    inclusion and consistency proofs. A wrong key and a tampered leaf hash make it fail."""
    process, token = register
    bulk(process, token, 150)
    earlier = tmp_path / "earlier.txt"
    earlier.write_text(sign(process))
    bulk(process, token, 200)
    size, _ = note_root(sign(process))
    assert size >= 350
    vkey = httpx.get(f"{process.url}/api/v1/integriteit/sleutels", headers={"Accept": "text/plain"}).text.strip()
    base = [f"-prefix={process.url}/verwerkingenlog", f"-api={process.url}/api/v1/integriteit"]
    leaves = f"0,1,149,255,256,{size - 1}"

    ok = run(tlogcheck, *base, f"-vkey={vkey}", f"-leaves={leaves}", f"-old={earlier}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"OK checkpoint signed by 127.0.0.1:{process.port}/verwerkingenlog: size {size}" in ok.stdout
    assert f"OK tree head recomputed from the {size} leaf hashes of 2 level-0 tiles" in ok.stdout
    assert "OK every tile above level 0 matches the leaves (1 tiles)" in ok.stdout
    for leaf in leaves.split(","):
        assert f"OK leaf {leaf} included" in ok.stdout
    assert f"OK checkpoint of size {note_root(earlier.read_text())[0]} consistent with size {size}" in ok.stdout

    stranger = SignerKey.generate(f"127.0.0.1:{process.port}/verwerkingenlog").verifier.encode()
    wrong_key = run(tlogcheck, *base, f"-vkey={stranger}")
    assert wrong_key.returncode == 1 and "FAILED checkpoint signature" in wrong_key.stdout, wrong_key.stdout

    # Someone with the database rewrites one leaf hash: the level-0 tiles no longer give the signed head.
    forged = "X'" + "00" * 32 + "'" if backend[0] == "sqlite" else "'\\x" + "00" * 32 + "'::bytea"
    tamper(backend[0], process.database_url, f"UPDATE merkle_node SET hash = {forged} WHERE level = 0 AND idx = 7")
    tampered = run(tlogcheck, *base, f"-vkey={vkey}", "-leaves=7")
    assert tampered.returncode == 1 and "FAILED tree head from tiles" in tampered.stdout, tampered.stdout
