"""Never lose an entry, never store one twice: kill -9 the register or the application mid-stream
(real register processes on SQLite and PostgreSQL) and count what arrived."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import TEST_ACTIVITY, new_bsn
from tests.live import RegisterProcess, wait_until
from verwerkingenlog.client import BufferedLogger, Client, RetryPolicy, persoon, verwerking
from verwerkingenlog.services.clients import Client as Registered

ROOT = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(base_delay=0.02, max_delay=0.2)


def arrived(url: str, c: Registered, bsn: str) -> Counter[str]:
    """How often each numbered entry is in the register (read back through the Bewerking API)."""
    with Client(url, c.client_id, c.secret) as client:
        page = client.list(bsn, verwerkingsactiviteit_id=TEST_ACTIVITY, page_size=1000)
    assert page.count == len(page.results)
    return Counter(a.handeling_naam or "" for a in page.results)


def test_register_killed_mid_stream_and_restarted(
    backend: tuple[str, str], registered: dict[str, Registered], tmp_path: Path
) -> None:
    """kill -9 the register while entries stream in; restart it: every entry arrives exactly once."""
    c = registered["alles"]
    bsn = new_bsn()
    register = RegisterProcess(backend[1], tmp_path).start()
    total = 60
    logger = BufferedLogger(register.url, c.client_id, c.secret, spool_path=tmp_path / "app.spool", backoff=FAST)
    try:
        done = threading.Event()

        def application() -> None:
            with verwerking(TEST_ACTIVITY, "https://var.example.nl/a"):
                for i in range(total):
                    logger.log(actie_naam="Faultproef", handeling_naam=f"nr {i}", objecten=[persoon(bsn)])
                    if i == total // 2:
                        wait_until(lambda: register.proc is None or register.proc.poll() is not None, 20, "kill")
            done.set()

        app = threading.Thread(target=application)
        app.start()
        wait_until(lambda: logger.metrics().shipped >= 10, 20, "10 entries shipped")
        register.kill()  # mid-stream: the application keeps logging into the spool
        wait_until(done.is_set, 20, "the application to finish logging")
        app.join()
        assert logger.metrics().depth > 0, "entries were spooled while the register was down"
        register.start()
        assert logger.flush(25), logger.metrics()
        counts = arrived(register.url, c, bsn)
    finally:
        logger.close(flush_timeout=0)
        register.stop()
    assert counts == Counter({f"nr {i}": 1 for i in range(total)})


def _app(
    spool: Path, register: RegisterProcess, c: Registered, bsn: str, first: int, count: int
) -> subprocess.Popen[str]:
    """The application as its own process (tests/spooling_app.py), so that it can be killed with -9."""
    args = [str(spool), register.url, c.client_id, c.secret, bsn, str(first), str(count)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.spooling_app", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], predicate: object, accepted: list[int]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("spooled "):
            accepted.append(int(line.split()[1]))
        if predicate(line):  # type: ignore[operator]
            return
    raise AssertionError(f"application exited early with {proc.wait()}")


@pytest.mark.parametrize("register_up", [False, True], ids=["register-down", "register-up"])
def test_application_killed_between_spooling_and_shipping(
    backend: tuple[str, str], registered: dict[str, Registered], tmp_path: Path, register_up: bool
) -> None:
    """kill -9 the application process after it spooled entries (with the register down, so nothing
    shipped yet; or up, so shipping is in full flow); restart it: nothing accepted is lost, nothing doubled."""
    c = registered["alles"]
    bsn = new_bsn()
    spool = tmp_path / "app.spool"
    register = RegisterProcess(backend[1], tmp_path)
    if register_up:
        register.start()
    accepted: list[int] = []
    first = _app(spool, register, c, bsn, 0, 40)
    try:
        _read_until(first, lambda line: line.strip() == "spooled 25", accepted)
    finally:
        first.kill()
        first.wait(10)
    if not register_up:
        register.start()
    second = _app(spool, register, c, bsn, 1000, 3)  # the restarted application logs on and drains the spool
    try:
        _read_until(second, lambda line: line.strip() == "drained", accepted)
    finally:
        second.kill()
        second.wait(10)
    try:
        counts = arrived(register.url, c, bsn)
    finally:
        register.stop()
    assert set(range(26)) | {1000, 1001, 1002} <= set(accepted)
    expected = {f"nr {i}": 1 for i in accepted}
    # Entries spooled between our reading "spooled 25" and the kill landing (their lines not yet read; a loaded
    # machine lets the application run on for a few) arrive too: the next ones in order, each once.
    extra = set(counts) - set(expected)
    assert extra == {f"nr {i}" for i in range(26, 26 + len(extra))}, extra
    assert all(n == 1 for n in counts.values()), counts
    assert {k: counts[k] for k in expected} == expected
