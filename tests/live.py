"""Real register processes for the client-library tests: `verwerkingenlog serve` on a free port, against
the session's SQLite file or PostgreSQL database, that a test may kill -9 and restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import SERVER_LOGS, TEST_KEY
from verwerkingenlog.services.clients import Client

BIN = Path(sys.executable).parent


CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium: the browser tests drive it with Playwright, never a downloaded browser."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: object, timeout: float, what: str) -> None:
    """Poll `check()` until it is true (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


BROWSER_DIR = Path(__file__).parent / "browser"


@contextmanager
def openid_provider(log: Path, client_id: str, secret: str, redirect_uri: str) -> Iterator[str]:
    """A real OpenID provider (the certified `oidc-provider` package, tests/browser/oidc_provider.mjs) with one
    client, on a free port; yields its issuer URL once discovery answers."""
    port = free_port()
    with open(log, "wb") as out:
        op = subprocess.Popen(
            ["node", str(BROWSER_DIR / "oidc_provider.mjs"), str(port), client_id, secret, redirect_uri],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=BROWSER_DIR,
        )
    issuer = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if op.poll() is not None:
            raise AssertionError(f"OpenID provider exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 20, "the OpenID provider")
        yield issuer
    finally:
        op.terminate()
        op.wait(10)


class RegisterProcess:
    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        port: int | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.args = args  # more `verwerkingenlog serve` options
        self.extra_env = env or {}  # more settings
        self.port = port or free_port()
        self.log_path = log_dir / f"register-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "PSEUDONYMISATION_KEY": TEST_KEY,
            "MIGRATE_ON_START": "true",
            # No background checkpoints: they would publish this process's signing key (./data) into the shared
            # test database, next to the key the integrity tests sign with.
            "CHECKPOINT_INTERVAL_SECONDS": "0",
            **self.extra_env,
        }

    def start(self, timeout: float = 20.0) -> RegisterProcess:
        SERVER_LOGS.append(self.log_path)  # scanned for BSNs and tokens at the end of the run (tests/conftest.py)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "verwerkingenlog"), "serve", "--port", str(self.port), *self.args],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.ready, timeout, f"the register on port {self.port} ({self.log_path})")
        return self

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"register exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/api/v1/docs", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """kill -9: no shutdown handlers, in-flight requests die with it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def live_register(
    backend: tuple[str, str], registered: dict[str, Client], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegisterProcess]:
    """One register process per backend for the whole session (tests that kill use their own)."""
    process = RegisterProcess(backend[1], tmp_path_factory.mktemp("register-logs")).start()
    try:
        yield process
    finally:
        process.stop()
