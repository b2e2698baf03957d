"""The register's OCI image, used as an operator would (issue 15.1, docs/deployment.md): `migrate` as a separate
command against a fresh PostgreSQL database, `serve` with a read-only root filesystem, no capabilities, a non-root
user and its secrets only as mounted files; ready, an action logged and read back, `verify` inside the running
container, and SIGTERM with requests in flight: stopped within 10 s, exit status 0, every 201 stored.

Run by tools/image/test-image.sh (`make test-image`), which builds IMAGE first; not part of `make test`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.bewerking_support import token
from tests.conftest import TEST_CLIENT_KEY, TEST_KEY, _postgres_database
from tests.helpers import TEST_ACTIVITY, actie, new_bsn
from tests.live import free_port, wait_until

IMAGE = os.environ.get("IMAGE", "localhost/verwerkingenlog:test")
RUN_FLAGS = shlex.split(os.environ.get("PODMAN_RUN_FLAGS", ""))
SECRETS = "/run/secrets/verwerkingenlog"
BURST = 12


@pytest.fixture
def secrets(tmp_path: Path) -> Iterator[Path]:
    """The Secret's files, as Kubernetes mounts them: readable by the container's user, mounted read-only."""
    databases = _postgres_database()
    url = next(databases)
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "database-url").write_text(url + "\n")
    (folder / "pseudonymisation-key").write_text(TEST_KEY + "\n")
    (folder / "client-secret-key").write_text(TEST_CLIENT_KEY + "\n")
    keys = tmp_path / "keys"  # the checkpoint key is made once, by `keys generate`, into a writable folder
    keys.mkdir()
    for path in (folder, keys):
        path.chmod(0o777 if path == keys else 0o755)
    for file in folder.iterdir():
        file.chmod(0o644)
    try:
        yield tmp_path
    finally:
        next(databases, None)


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)


def container(secrets: Path, *env: str, keys_writable: bool = False) -> list[str]:
    """`podman run` options of a locked-down container: what the Kubernetes manifests ask for (deploy/)."""
    options = [
        *RUN_FLAGS,
        "--network=host",
        "--read-only",
        "--tmpfs=/tmp:rw,size=64m",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        f"--volume={secrets / 'secrets'}:{SECRETS}:ro,Z",
        f"--volume={secrets / 'keys'}:/var/run/verwerkingenlog-keys:{'rw' if keys_writable else 'ro'},Z",
        f"--env=DATABASE_URL_FILE={SECRETS}/database-url",
        f"--env=PSEUDONYMISATION_KEY_FILE={SECRETS}/pseudonymisation-key",
        f"--env=CLIENT_SECRET_KEY_FILE={SECRETS}/client-secret-key",
        "--env=CHECKPOINT_KEY_FILE=/var/run/verwerkingenlog-keys/checkpoint-signing.key",
        "--env=MIGRATE_ON_START=false",
    ]
    return options + [f"--env={e}" for e in env]


def once(secrets: Path, *command: str, keys_writable: bool = False) -> subprocess.CompletedProcess[str]:
    done = podman("run", "--rm", *container(secrets, keys_writable=keys_writable), IMAGE, *command)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


def test_image_runs_the_register(secrets: Path) -> None:
    user = podman("image", "inspect", IMAGE, "--format", "{{.Config.User}}").stdout.strip()
    assert user.split(":")[0].isdigit() and not user.startswith("0"), f"not a numeric non-root user: {user!r}"

    assert "Database is up to date" in once(secrets, "migrate").stdout
    once(secrets, "keys", "generate", keys_writable=True)
    added = json.loads(once(secrets, "clients", "add", "image-test", "--scope", "read:normal", "--json").stdout)
    auth = {"Authorization": f"Bearer {token(added['clientId'], added['secret'])}"}

    port = free_port()
    name = f"verwerkingenlog-test-{uuid.uuid4().hex[:8]}"
    started = podman(
        "run",
        "--detach",
        f"--name={name}",
        *container(secrets, "GROUP_COMMIT_WINDOW_MS=1000"),  # batches gather for a second: SIGTERM meets one
        IMAGE,
        "serve",
        "--host=127.0.0.1",
        f"--port={port}",
    )
    assert started.returncode == 0, started.stderr
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            state = podman("inspect", name, "--format", "{{.State.Running}}").stdout.strip()
            if state != "true":
                raise AssertionError(f"the container stopped: {podman('logs', name).stderr[-3000:]}")
            try:
                return httpx.get(f"{base}/health/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, "the register in its container to be ready")
        assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200

        bsn = new_bsn()
        created = httpx.post(f"{base}/api/v1/verwerkingsacties", json=actie(bsn), headers=auth, timeout=10)
        assert created.status_code == 201, created.text
        read = httpx.get(f"{base}/api/v1/verwerkingsacties/{created.json()['actieId']}", headers=auth, timeout=10)
        assert read.status_code == 200 and read.json()["actieNaam"] == actie(bsn)["actieNaam"], read.text

        verified = podman("exec", name, "verwerkingenlog", "verify", "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        report = json.loads(verified.stdout)
        assert report["ok"] and report["treeSize"] >= 1 and not report["findings"], report

        answers = _burst_then_sigterm(base, auth, bsn, name)
        assert all(status == 201 for status in answers.values()), answers
    finally:
        logs = podman("logs", name)
        podman("rm", "--force", name)
    assert "Application shutdown complete" in logs.stdout + logs.stderr

    # Nothing lost: a fresh container reads back the first action and every action answered during the stop.
    name2 = f"{name}-again"
    podman("run", "--detach", f"--name={name2}", *container(secrets), IMAGE, "serve", "--host=127.0.0.1",
           f"--port={port}")  # fmt: skip
    try:
        wait_until(lambda: _answers(f"{base}/health/ready"), 60, "the second container")
        listed = httpx.get(
            f"{base}/api/v1/verwerkingsacties",
            params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn,
                    "verwerkingsactiviteitId": TEST_ACTIVITY, "vertrouwelijkheid": "normaal"},
            headers={"Authorization": f"Bearer {token(added['clientId'], added['secret'])}"},
            timeout=10,
        )  # fmt: skip
    finally:
        podman("rm", "--force", name2)
    assert listed.status_code == 200, listed.text
    stored = sorted(a.get("handelingNaam") or "" for a in listed.json()["results"])
    assert stored == sorted([actie(bsn).get("handelingNaam") or "", *answers]), stored
    assert json.loads(once(secrets, "verify", "--json").stdout)["ok"]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _burst_then_sigterm(base: str, auth: dict[str, str], bsn: str, name: str) -> dict[str, int | str]:
    """BURST requests on open connections wait in a batch window; SIGTERM to the container (PID 1 is the
    register); returns each request's answer after checking the container stopped within 10 s with status 0."""
    names = [f"stop {i:02d}" for i in range(BURST)]
    answers: dict[str, int | str] = {}
    connected = threading.Barrier(BURST + 1)

    def post(handeling: str) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
            http.get("/health/live")
            connected.wait(30)
            try:
                answers[handeling] = http.post(
                    "/api/v1/verwerkingsacties", json=actie(bsn, handelingNaam=handeling)
                ).status_code
            except httpx.HTTPError as exc:
                answers[handeling] = type(exc).__name__

    threads = [threading.Thread(target=post, args=(n,)) for n in names]
    for t in threads:
        t.start()
    connected.wait(30)
    time.sleep(0.4)
    assert not answers, f"answered before the batch window closed: {answers}"
    signalled = time.monotonic()
    assert podman("kill", "--signal=TERM", name).returncode == 0
    status = podman("wait", name, timeout=15).stdout.strip()
    stopped = time.monotonic() - signalled
    for t in threads:
        t.join(30)
    assert stopped < 10, f"stopped {stopped:.1f} s after SIGTERM"
    assert status == "0", f"exit status {status}"
    return answers
