"""The append-only and purge-only guards: frozen per migration, and holding on every log table (R-VER-5, R-RET-3).

Two promises, on both databases:

- **Old migrations never change what they emit.** Every trigger and function statement each migration ran, up
  and down, is pinned in tests/data/migration_guards.json, captured from the migrations as they were before their
  DDL moved into `store.migrations.guards`. The helpers there are frozen: a migration that needs a different guard
  gets a new helper, so a database migrated by an older release and one migrated today hold the same triggers.
- **Every guarded table refuses UPDATE and DELETE** after `migrate`: the triggers are found by introspection
  (sqlite_master / pg_trigger) for every table of `guards.GUARDED_TABLES`, and both statements are attempted.

A new migration pins its own statements with `python -m tests.test_migration_guards` (adds revisions the file
lacks, never rewrites one it has).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database

PINNED = Path(__file__).resolve().parent / "data" / "migration_guards.json"


def _is_guard(statement: str) -> bool:
    return "TRIGGER" in statement or "FUNCTION" in statement


async def _emitted(url: str, steps: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """Run `steps` (direction, target revision, label) one by one; label → the guard statements each ran."""
    db = Database(url)
    out: dict[str, list[str]] = {}
    try:
        for direction, target, label in steps:
            seen: list[str] = []

            def run(conn: Connection, direction: str = direction, target: str = target, seen: list[str] = seen) -> None:
                def record(*args: Any) -> None:
                    statement = str(args[2])
                    if _is_guard(statement):
                        seen.append(statement)

                event.listen(conn, "before_cursor_execute", record)
                try:
                    cfg = migrate.alembic_config()
                    cfg.attributes["connection"] = conn
                    (command.upgrade if direction == "upgrade" else command.downgrade)(cfg, target)
                finally:
                    event.remove(conn, "before_cursor_execute", record)

            async with db.engine.begin() as conn:
                await conn.run_sync(run)
            out[label] = seen
    finally:
        await db.dispose()
    return out


def _steps(dialect: str, revisions: list[str]) -> list[tuple[str, str, str]]:
    """Every pinned revision up, and down again where the migration can be reversed (0009 on PostgreSQL cannot:
    there the walk goes up to 0008, down to base, and up again to the last)."""
    up = [("upgrade", r, f"upgrade {r}") for r in revisions]
    reversible = revisions if dialect == "sqlite" else [r for r in revisions if r < "0009"]
    down = [
        ("downgrade", below, f"downgrade {r}")
        for r, below in zip(reversed(reversible), [*reversed(reversible[:-1]), "base"], strict=True)
    ]
    if dialect == "sqlite":
        return up + down
    first = [("upgrade", r, f"first upgrade {r}") for r in reversible]
    return first + down + up


def capture(dialect: str, url: str, revisions: list[str]) -> dict[str, list[str]]:
    emitted = asyncio.run(_emitted(url, _steps(dialect, revisions)))
    return {label: statements for label, statements in emitted.items() if not label.startswith("first ")}


def _pinned() -> dict[str, dict[str, list[str]]]:
    pinned: dict[str, dict[str, list[str]]] = json.loads(PINNED.read_text(encoding="utf-8"))
    return pinned


def _revisions(pinned: dict[str, list[str]]) -> list[str]:
    return sorted({label.split()[-1] for label in pinned})


@pytest.fixture
def empty_database(backend: tuple[str, str], fresh_database: str) -> Iterator[tuple[str, str]]:
    yield backend[0], fresh_database


def test_old_migrations_emit_the_pinned_guard_statements(empty_database: tuple[str, str]) -> None:
    """R-VER-5: each migration runs, up and down, exactly the trigger and function DDL it ran when it was released."""
    dialect, url = empty_database
    pinned = _pinned()[dialect]
    now = capture(dialect, url, _revisions(pinned))
    assert list(now) == list(pinned)
    for label, statements in pinned.items():
        assert now[label] == statements, label


# ---- every guarded table, after `migrate` ---------------------------------------------------------------------


def _triggers(dialect: str, url: str) -> dict[str, set[str]]:
    """table → the events (UPDATE, DELETE, TRUNCATE) some trigger on it fires BEFORE, read from the catalogue."""
    from tests.integrity_support import query

    out: dict[str, set[str]] = {}
    if dialect == "sqlite":
        for table, sql in query(dialect, url, "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"):
            words = str(sql).upper().split()
            out.setdefault(str(table), set()).add(words[words.index("BEFORE") + 1])
        return out
    rows = query(
        dialect,
        url,
        "SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace",
    )
    for table, tgtype in rows:  # pg_trigger.h: BEFORE = 2, DELETE = 8, UPDATE = 16, TRUNCATE = 32
        if int(tgtype) & 2:
            events = {name for bit, name in ((8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if int(tgtype) & bit}
            out.setdefault(str(table), set()).update(events)
    return out


def test_every_guarded_table_refuses_update_and_delete(empty_database: tuple[str, str]) -> None:
    """R-VER-5, R-RET-3: after `migrate` every log table has its guards in the catalogue, and an UPDATE or DELETE
    of one of its rows (one row is inserted past the triggers first) is refused by the database."""
    from tests.integrity_support import tamper

    from verwerkingenlog.store.migrations import guards

    dialect, url = empty_database
    db = Database(url)
    asyncio.run(migrate.upgrade(db))
    asyncio.run(db.dispose())

    found = _triggers(dialect, url)
    expected = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if dialect == "postgresql" else set())
    for table in guards.GUARDED_TABLES:
        assert expected <= found.get(table, set()), table
    assert {t for t in found if not t.startswith(guards.PARTITIONED)} == set(guards.GUARDED_TABLES)

    tamper(dialect, url, *guards.SAMPLE_ROWS)  # one row in every table, so that each row trigger fires

    async def attempt(statement: str) -> str:
        db = Database(url)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))
        except Exception as exc:  # noqa: BLE001 - the refusal is what is tested
            return str(exc)
        finally:
            await db.dispose()
        return "accepted"

    for table, column in guards.GUARDED_TABLES.items():
        for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
            assert "append-only" in asyncio.run(attempt(statement)), statement


def main(argv: list[str]) -> None:
    """Pin the guard statements of revisions the file does not hold yet (both databases; PostgreSQL as in
    tests/conftest.py). Existing revisions are never rewritten."""
    from tests.conftest import _postgres_database

    pinned = _pinned() if PINNED.exists() else {}
    revisions = sorted(migrate_revisions())
    for dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            import tempfile

            urls: Iterator[str] = iter([f"sqlite:///{tempfile.mkdtemp()}/pin.db"])
        else:
            urls = _postgres_database()
        for url in urls:
            now = capture(dialect, url, revisions)
            have = pinned.setdefault(dialect, {})
            for label, statements in now.items():
                have.setdefault(label, statements)
    PINNED.parent.mkdir(exist_ok=True)
    PINNED.write_text(json.dumps(pinned, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"pinned {', '.join(revisions)} in {PINNED}", file=sys.stderr)


def migrate_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    return [s.revision for s in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()]


if __name__ == "__main__":
    main(sys.argv[1:])
