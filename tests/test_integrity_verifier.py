"""The standalone verifier (python -m verwerkingenlog.verifier) and the key commands, from the outside.

The verifier runs against the register's HTTP API only (here through the test client, which is an httpx
client), trusting only the key it is given. It must work without the server's dependencies: a subprocess
with fastapi, sqlalchemy and friends made unimportable runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh
from verwerkingenlog import verifier
from verwerkingenlog.cli import app as cli
from verwerkingenlog.integrity.checkpoint import Checkpoint, SignerKey, sign_checkpoint

fresh = integrity_support.fresh
ROOT = Path(__file__).resolve().parents[1]
SERVER_ONLY = ("fastapi", "starlette", "sqlalchemy", "alembic", "pydantic", "typer", "rich", "asyncpg", "aiosqlite")


def run_verifier(f: Fresh, *args: str) -> tuple[int, list[str]]:
    said: list[str] = []
    parsed = verifier._parser().parse_args(["--url", "http://testserver/api/v1", *args])
    code = verifier.run(parsed, f.api.tc, said.append)
    return code, said


def cli_env(f: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": f.url,
        "PSEUDONYMISATION_KEY": TEST_KEY,
        "CHECKPOINT_KEY_FILE": str(f.key_file),
        "CHECKPOINT_ORIGIN": "register.test/verwerkingenlog",
        "CHECKPOINT_WITNESS_FILE": str(f.witness_file),
    }.items():
        monkeypatch.setenv(name, value)


def test_verifier_checks_signature_inclusion_content_and_witness(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The walkthrough of docs/integrity-walkthrough.md: log an action, sign, prove it with only the API and the
    published key: signature, inclusion, the content the API shows, the witness copy, and on a second run that
    the register's new checkpoint extends the one remembered from the first."""
    f = fresh
    cli_env(f, monkeypatch)
    runner = CliRunner()
    generated = runner.invoke(cli, ["keys", "generate"])
    assert generated.exit_code == 0, generated.output
    vkey = generated.stdout.strip().splitlines()[-1]
    assert f.api.tc.get("/api/v1/integriteit/sleutels", headers={"Accept": "text/plain"}).text == vkey + "\n"

    created = f.api.post(actie(new_bsn()))
    actie_id = created.json()["actieId"]
    signed = runner.invoke(cli, ["checkpoint"])
    assert signed.exit_code == 0 and signed.stdout.startswith("register.test/verwerkingenlog\n1\n")
    state = tmp_path / "laatste-checkpoint.txt"
    token = f.api.tokens["alles"]
    code, said = run_verifier(
        f,
        "--key",
        vkey,
        "--actie-id",
        actie_id,
        "--token",
        token,
        "--witness",
        str(f.witness_file),
        "--state",
        str(state),
    )
    assert code == 0, said
    assert [line.split(":")[0] for line in said] == ["OK checkpoint", "OK witness", "OK inclusion", "OK content"]
    assert "leaf 0 (verwerkingsactie" in said[2]

    f.api.post(actie(new_bsn()))
    assert runner.invoke(cli, ["checkpoint"]).exit_code == 0
    code, said = run_verifier(f, "--key", vkey, "--leaf-index", "1", "--state", str(state))
    assert code == 0 and "OK consistent with the checkpoint of the previous run (1 leaves)" in said, said


def test_verifier_fails_on_a_foreign_key_and_a_forked_witness(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trusting another key, the signature check fails; a witnessed checkpoint the register signed for a tree
    that is not a prefix of its current one (a fork) fails the consistency check; exit code 1."""
    f = fresh
    cli_env(f, monkeypatch)
    for _ in range(3):
        f.api.post(actie(new_bsn()))
    f.checkpoint()
    stranger = SignerKey.generate("register.test/verwerkingenlog").verifier.encode()
    code, said = run_verifier(f, "--key", stranger)
    assert code == 1 and said[-1].startswith("FAILED checkpoint signature"), said

    own = SignerKey.parse(f.key_file.read_text())
    fork = sign_checkpoint(Checkpoint(own.name, 2, bytes(32), datetime.now(UTC)), [own])
    forked = f.witness_file.with_name("fork.txt")
    forked.write_text(fork + "\n")
    code, said = run_verifier(f, "--key", own.verifier.encode(), "--witness", str(forked))
    assert code == 1 and "does not extend" in said[-1], said


def test_key_rotation_keeps_old_checkpoints_verifiable(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    """keys rotate: the new key is published, the old one stays published as replaced; one bridging
    checkpoint is signed by both; checkpoints from before verify with the old key, later ones with the new."""
    f = fresh
    cli_env(f, monkeypatch)
    runner = CliRunner()
    f.api.post(actie(new_bsn()))
    first = runner.invoke(cli, ["checkpoint"])
    assert first.exit_code == 0, first.output
    old = SignerKey.parse(f.key_file.read_text()).verifier.encode()
    rotated = runner.invoke(cli, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().splitlines()[-1]
    assert new != old and Path(f"{f.key_file}.{old.split('+')[1]}.vervangen").exists()
    listed = json.loads(runner.invoke(cli, ["keys", "list", "--json"]).stdout)
    assert [(k["vkey"], k["status"]) for k in listed] == [(old, "vervangen"), (new, "actief")]
    f.api.post(actie(new_bsn()))
    assert runner.invoke(cli, ["checkpoint"]).exit_code == 0
    checkpoints = f.api.tc.get("/api/v1/integriteit/checkpoints").json()["results"]
    assert len(checkpoints) == 3
    signers = [[line.split(" ")[1] for line in c["checkpoint"].split("\n\n")[1].splitlines()] for c in checkpoints]
    assert [len(s) for s in signers] == [1, 2, 1]  # the bridge carries both signatures
    assert run_verifier(f, "--key", old)[0] == 1  # the latest is signed by the new key only …
    assert run_verifier(f, "--key", new, "--witness", str(f.witness_file))[0] == 1  # … the first by the old only
    code, said = run_verifier(f, "--key", old, "--key", new, "--witness", str(f.witness_file))
    assert code == 0, said
    again = runner.invoke(cli, ["keys", "generate"])
    assert again.exit_code == 2 and "rotate" in again.output


def test_verifier_runs_without_the_server_dependencies() -> None:
    """The verifier needs httpx, cryptography and rfc8785 only: with the server's packages blocked it imports and
    parses its arguments."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {SERVER_ONLY!r}:\n"
        "            raise ImportError(f'blocked: {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from verwerkingenlog import verifier\n"
        "try:\n"
        "    verifier.main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0\n"
        f"assert not any(m.split('.')[0] in {SERVER_ONLY!r} for m in sys.modules), sorted(sys.modules)\n"
        "print('verifier ok')\n"
    )
    env: dict[str, Any] = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "verifier ok" in done.stdout and "--actie-id" in done.stdout


@pytest.mark.parametrize(
    "inclusie",
    [b"", b"[]", b'{"checkpoint": 5}', b'{"proof": "x"}', "{note}"],
    ids=["empty", "array", "checkpoint-not-text", "members-missing", "proof-not-a-list"],
)
def test_a_malformed_answer_of_the_register_is_a_failed_check_not_a_traceback(
    inclusie: bytes | str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the verifier_proofs fuzz target: the register under check is untrusted input; an answer that is
    not the documented JSON made the verifier end in a traceback (JSONDecodeError, KeyError, TypeError)."""
    import http.server
    import threading

    signer = SignerKey("malformed.example/log", bytes(32))
    note = sign_checkpoint(Checkpoint(signer.name, 3, bytes(32)), [signer])
    if isinstance(inclusie, str):  # a signed checkpoint, but a proof that is not a list of hashes
        body = {"checkpoint": note, "treeSize": 3, "leafIndex": 0, "leafHash": "AA==", "proof": 7}
        inclusie = json.dumps(body).encode()

    class Register(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = note.encode() if self.path.endswith("/integriteit/checkpoint") else inclusie
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Register)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
        code = verifier.main(["--url", url, "--key", signer.verifier.encode(), "--leaf-index", "0"])
    finally:
        server.shutdown()
    out = capsys.readouterr().out
    assert code == 1, out
    assert out.splitlines()[0].startswith("OK checkpoint: malformed.example/log, 3 leaves")
    assert out.splitlines()[-1].startswith("FAILED ")
