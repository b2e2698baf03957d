"""Test fixtures: every HTTP test runs against a real SQLite file and a real PostgreSQL database.

PostgreSQL: TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is used to
create a throw-away database per test session. When it cannot be reached the PostgreSQL tests are
skipped — unless REQUIRE_POSTGRES=1 (as in CI), then the run fails.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import Api
from verwerkingenlog.api.app import create_app
from verwerkingenlog.domain.scopes import ALL_SCOPES, NORMAL_SCOPES
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client, Clients
from verwerkingenlog.settings import Settings
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database

# Log files of the `verwerkingenlog serve` processes started by tests (tests/live.py), scanned at the end.
SERVER_LOGS: list[Path] = []
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_KEY = "test-pseudonymisation-key-0123456789abcdefghijklmnop"
# The key that encrypts client secrets (store.client_secrets). In the environment, so that this process, the CLI
# and every register process a test starts read the clients of the shared test databases with the same key.
TEST_CLIENT_KEY = "test:test-client-secret-key-0123456789abcdefghijkl"
os.environ["CLIENT_SECRET_KEY"] = TEST_CLIENT_KEY

# The clients every test can act as, by name → scopes.
CLIENTS: dict[str, tuple[str, ...]] = {
    "alles": ALL_SCOPES,
    "normaal": NORMAL_SCOPES,
    "geen": (),
    "create-conf": ("create:confidential",),
    "read-normal": ("read:normal",),
    "read-conf": ("read:confidential",),
    "update-normal": ("update:normal",),
    "update-conf": ("update:confidential",),
    "delete-normal": ("delete:normal",),
    "delete-conf": ("delete:confidential",),
    # VAR (§17.4) and its extension scopes
    "read-restricted": ("read:restricted",),
    "zaken-lezen": ("zaken.lezen",),
    "var-write": ("var:write",),
    "fg": ("fg:read",),
    "var-beheer": ("read:normal", "var:write", "fg:read"),
}


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _prepare(url: str) -> dict[str, Client]:
    db = Database(url)
    try:
        await migrate.upgrade(db)
        clients = Clients(db)
        out = {}
        for name, scopes in CLIENTS.items():
            out[name] = await clients.get(name) or await clients.add(name, list(scopes))
        return out
    finally:
        await db.dispose()


def _postgres_database() -> Iterator[str]:
    import asyncpg

    from verwerkingenlog.store.db import async_url

    name = f"vl_test_{uuid.uuid4().hex[:12]}"
    admin = async_url(PG_ADMIN_URL).replace("postgresql+asyncpg", "postgresql")

    async def exec_admin(sql: str) -> None:
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        _run(exec_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.exit(message + " (REQUIRE_POSTGRES=1)", returncode=3)
        pytest.skip(message)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _run(exec_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(name, database URL) of a migrated database with the test clients registered."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'register.db'}"
        yield "sqlite", url
        return
    yield from (("postgresql", url) for url in _postgres_database())


@pytest.fixture(scope="session")
def registered(backend: tuple[str, str]) -> dict[str, Client]:
    return _run(_prepare(backend[1]))


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "migrate_on_start": False,
        "pseudonymisation_key": TEST_KEY,
        "key_file": Path("/nonexistent/never-used.key"),
        # No background checkpoint signing (docs/integrity.md §4) unless a test asks for it with its own key.
        "checkpoint_interval_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its `api` fixture."""
    return {}


@pytest.fixture
def api(backend: tuple[str, str], registered: dict[str, Client], settings_overrides: dict[str, Any]) -> Iterator[Api]:
    app = create_app(make_settings(backend[1], **settings_overrides))
    with TestClient(app, base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, backend[0], registered)


@pytest.fixture
def fresh_database(backend: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the current backend, for tests that need a register of their own
    (e.g. the demo, whose fixed demo person other tests also use)."""
    if backend[0] == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def isolated_api(backend: tuple[str, str], fresh_database: str) -> Iterator[Api]:
    """Like `api`, but on a database of its own (migrated, test clients registered)."""
    clients = _run(_prepare(fresh_database))
    with TestClient(create_app(make_settings(fresh_database)), base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in clients.items()}, backend[0], clients)


@pytest.fixture(scope="session", autouse=True)
def log_lines_hold_no_bsn_or_token(request: pytest.FixtureRequest) -> Iterator[None]:
    """During the whole run every log record of every logger passes the production handler (JSON, redacting,
    observability.handler); at the end its output must hold no BSN-like number and no token (docs/deployment.md,
    Logs). A failure here names the offending lines."""
    import io
    import logging

    from verwerkingenlog import observability

    buffer = io.StringIO()
    production = observability.handler("json", buffer)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(production)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(production)
        root.setLevel(previous)
    # ... and so must the output of every real server process the run started (tests/live.py).
    lines = buffer.getvalue().splitlines()
    for path in SERVER_LOGS:
        if path.exists():
            lines += [
                f"{path.name}: {line}" for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            ]
    leaks = [line for line in lines if observability.BSN_LIKE.search(line) or observability.holds_token(line)]
    # A run of pure unit tests (say one file of them) writes no log line; a run that started registers must have.
    ran_registers = any("backend" in item.fixturenames for item in request.session.items)
    if ran_registers:
        assert buffer.getvalue(), "no log line was written during the test run: the scan would prove nothing"
    assert not leaks, f"{len(leaks)} log line(s) with a BSN-like number or a token, e.g. {leaks[:3]}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the backend it runs on (used by CI to prove PostgreSQL tests ran)."""
    for item in items:
        if "[postgresql" in item.name or "-postgresql" in item.name:
            item.add_marker(pytest.mark.postgresql)
        elif "[sqlite" in item.name or "-sqlite" in item.name:
            item.add_marker(pytest.mark.sqlite)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright (tests.live.CHROMIUM), one per test module of the browser suites."""
    from playwright.sync_api import sync_playwright

    from tests.live import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
