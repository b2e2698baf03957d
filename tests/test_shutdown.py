"""SIGTERM, as Kubernetes stops a pod (issue 15.1, docs/deployment.md): the register stops accepting connections,
answers the requests in flight once the group-commit batch they wait for has committed, and exits cleanly - every
201 it gave is stored, nothing is stored that was not answered. Real register processes on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.bewerking_support import token
from tests.conftest import TEST_KEY
from tests.helpers import TEST_ACTIVITY, actie, new_bsn
from tests.live import RegisterProcess, wait_until
from verwerkingenlog.services.backup import sqlite_path
from verwerkingenlog.services.clients import Client as Registered

BIN = Path(sys.executable).parent

BURST = 24


class _SlowBatches(RegisterProcess):
    """A register whose first waiting action waits a whole second for others (GROUP_COMMIT_WINDOW_MS=1000), so
    that the SIGTERM surely arrives while a batch is gathering."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "GROUP_COMMIT_WINDOW_MS": "1000"}


def test_sigterm_finishes_the_batch_in_flight_then_exits(
    backend: tuple[str, str], registered: dict[str, Registered], tmp_path: Path
) -> None:
    c = registered["alles"]
    bsn = new_bsn()
    register = _SlowBatches(backend[1], tmp_path).start()
    assert register.proc is not None
    auth = {"Authorization": f"Bearer {token(c.client_id, c.secret)}"}
    names = [f"stop {uuid.uuid4().hex[:8]}" for _ in range(BURST)]
    answers: dict[str, int | str] = {}
    answered_at: dict[str, float] = {}

    connected = threading.Barrier(BURST + 1)

    def post(name: str) -> None:
        with httpx.Client(base_url=register.url, headers=auth, timeout=30) as http:
            http.get("/health/live")  # the connection is accepted and kept alive before the burst
            connected.wait(30)
            try:
                r = http.post("/api/v1/verwerkingsacties", json=actie(bsn, handelingNaam=name))
                answers[name] = r.status_code
            except httpx.HTTPError as exc:
                answers[name] = type(exc).__name__
            answered_at[name] = time.monotonic()

    threads = [threading.Thread(target=post, args=(n,)) for n in names]
    for t in threads:
        t.start()
    connected.wait(30)
    time.sleep(0.4)  # the requests are in, waiting in the one-second batch window
    assert not answers, f"answered before the window closed: {answers}"
    signalled = time.monotonic()
    register.proc.send_signal(signal.SIGTERM)
    try:
        register.proc.wait(10)
    except subprocess.TimeoutExpired:
        register.kill()
        raise AssertionError("the register did not stop within 10 s of SIGTERM") from None
    stopped = time.monotonic() - signalled
    for t in threads:
        t.join(30)
    log = register.log_path.read_text()
    assert register.proc.returncode == 0, log[-2000:]
    assert "Application shutdown complete" in log

    created = {n for n, status in answers.items() if status == 201}
    late = [n for n in created if answered_at[n] > signalled]
    assert late, f"no request in flight at SIGTERM was answered: {answers}"
    assert len(created) == BURST, f"every request in flight was answered 201: {answers}"

    register.start()  # read back: exactly the answered actions, once each
    try:
        r = httpx.get(
            f"{register.url}/api/v1/verwerkingsacties",
            params={
                "objecttype": "persoon",
                "soortObjectId": "BSN",
                "objectId": bsn,
                "verwerkingsactiviteitId": TEST_ACTIVITY,
            },
            headers={"Authorization": f"Bearer {token(c.client_id, c.secret)}"},
            timeout=30,
        )
    finally:
        register.stop()
    assert r.status_code == 200, r.text
    stored = [a["handelingNaam"] for a in r.json()["results"]]
    assert sorted(stored) == sorted(created)
    assert stopped < 10
    wait_until(lambda: register.proc is not None and register.proc.poll() is not None, 10, "the second stop")


def test_sigterm_ends_a_cli_command_at_once(backend: tuple[str, str], registered: dict[str, Registered]) -> None:
    """A CronJob's command (here `clients add`, blocked behind another transaction's lock) stopped by Kubernetes
    ends at once with 143 and writes nothing - also as PID 1 of a container, where an unhandled SIGTERM is
    ignored and the pod would linger until SIGKILL."""
    name, url = backend
    client_id = f"sigterm-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": url, "PSEUDONYMISATION_KEY": TEST_KEY}
    if name == "postgresql":
        holder = subprocess.Popen(
            ["psql", url, "-qc", "BEGIN; LOCK TABLE api_client IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);"],
            stdout=subprocess.DEVNULL,
        )
    else:
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys, time\n"
             f"c = sqlite3.connect({str(sqlite_path(url))!r}, isolation_level=None)\n"
             "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked", holder.communicate(timeout=10)
    try:
        command = subprocess.Popen(
            [str(BIN / "verwerkingenlog"), "clients", "add", client_id, "--scope", "read:normal"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if name == "postgresql":
            wait_until(lambda: _waits_for_a_lock(url), 20, "the command to wait for the lock")
        else:
            time.sleep(3)  # started and blocked on the database lock (busy_timeout is 10 s)
        assert command.poll() is None, command.communicate()
        signalled = time.monotonic()
        command.send_signal(signal.SIGTERM)
        command.wait(15)
        # PostgreSQL: at once. SQLite: once the statement waiting for the lock gives up (busy_timeout, 10 s), as
        # the connection closes behind it - still well inside Kubernetes' 30 s grace period.
        assert time.monotonic() - signalled < (5 if name == "postgresql" else 12)
        assert command.returncode == 143
    finally:
        holder.kill()
        holder.wait(10)
    listed = subprocess.run(
        [str(BIN / "verwerkingenlog"), "clients", "list", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert client_id not in {c["clientId"] for c in json.loads(listed.stdout)}


def _waits_for_a_lock(url: str) -> bool:
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'api_client'::regclass"
    out = subprocess.run(["psql", url, "-tAc", query], capture_output=True, text=True, timeout=10).stdout
    return out.strip() not in ("", "0")
