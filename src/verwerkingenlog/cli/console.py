"""What every command of `verwerkingenlog` shares: the one console, the one database opener, the one error path.

A failure the operator can mend (a bad option, a missing key file, a refused backup) is said in one line on stderr
(`error: …`) with exit code 2; a finding (verify, a rejected VAR row) is exit code 1, said by its own command.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.scopes import KNOWN_SCOPES
from verwerkingenlog.services.audit import Actor
from verwerkingenlog.services.integrity import InconsistentLog
from verwerkingenlog.settings import Settings
from verwerkingenlog.store import migrate as migrations
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.signing import KeyFileError

if TYPE_CHECKING:
    from verwerkingenlog.services.integrity import Integrity

T = TypeVar("T")

# Commands print through `console.out` / `console.err` (looked up when they print), so a test may widen them.
out = Console()
err = Console(stderr=True)

# The operator's mistakes that any command may meet while it opens the database or its keys: one line, exit 2.
OPERATOR_ERRORS: tuple[type[Exception], ...] = (KeyFileError, InconsistentLog)


def say_error(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")


def fail(message: str, code: int = 2) -> NoReturn:
    """The one error path: one line on stderr, then exit with `code` (2: the command could not do its work)."""
    say_error(message)
    raise typer.Exit(code)


def os_user() -> str:
    """Who acts through the CLI (audit trail, VAR authorship): the operating-system user running it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user without a passwd entry
        return "cli:onbekend"


def actor() -> Actor:
    return Actor(subject=os_user(), name=None, roles=("cli",))


def operator() -> Caller:
    """The CLI is run by the register's operator on its own machine: every scope, recorded as `cli:<user>`."""
    return Caller(os_user()[:100], frozenset(KNOWN_SCOPES))


@asynccontextmanager
async def open_database(settings: Settings, migrate: bool = True) -> AsyncIterator[Database]:
    """The one database opener: DATABASE_URL, migrated to the newest schema unless `migrate` is off, closed after."""
    db = Database(settings.database_url)
    try:
        if migrate:
            await migrations.upgrade(db)
        yield db
    finally:
        await db.dispose()


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command's async work; an operator's mistake ends it through `fail`."""
    try:
        return asyncio.run(_awaited(work))
    except OPERATOR_ERRORS as exc:
        fail(str(exc))


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def run(work: Callable[[Database], Awaitable[T]], migrate: bool = True) -> T:
    """Open the configured database (migrated), run `work`, close it."""
    settings = Settings()

    async def main() -> T:
        async with open_database(settings, migrate) as db:
            return await work(db)

    return run_async(main)


def with_integrity(work: Callable[[Integrity, Database, Settings], Awaitable[T]]) -> T:
    """Open the configured database (migrated), run `work` with the integrity service, close it."""
    from verwerkingenlog.api.app import build_integrity

    settings = Settings()

    async def main() -> T:
        async with open_database(settings) as db:
            return await work(build_integrity(settings, db), db, settings)

    return run_async(main)
