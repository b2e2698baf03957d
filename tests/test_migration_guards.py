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
from sqlalchemy import Column, event, insert, text
from sqlalchemy.engine import Connection

from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.migrations import guards
from verwerkingenlog.store.tables import metadata

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
    assert sorted(now) == sorted(pinned)
    for label, statements in pinned.items():
        assert now[label] == statements, label


# ---- every guarded table, after `migrate` ---------------------------------------------------------------------


def _sample(column: Column[Any]) -> Any:
    """A value of the column's type; zero for numbers, so that a merkle_node row is a leaf (level 0) and the
    foreign keys (purged_leaf → purge, verwerkt_object → verwerkingsactie_versie on SQLite) meet id 0."""
    python = column.type.python_type
    return {int: 0, bool: False, str: "x", bytes: bytes(32)}[python]


def test_every_guarded_table_refuses_update_and_delete(empty_database: tuple[str, str]) -> None:
    """R-VER-5, R-RET-3: after `migrate` every log table carries its guards in the catalogue (and no other table
    does), and an UPDATE or a DELETE of one of its rows is refused by the database. (On PostgreSQL TRUNCATE too.)"""
    dialect, url = empty_database
    found = asyncio.run(_migrated_with_a_row_in_every_table(url))

    expected = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if dialect == "postgresql" else set())
    for table in guards.GUARDED_TABLES:
        assert expected <= found.get(table, set()), table
    assert set(found) == set(guards.GUARDED_TABLES)

    for table in guards.GUARDED_TABLES:
        column = next(iter(metadata.tables[table].columns)).name
        statements = [f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"]
        if dialect == "postgresql":
            statements.append(f"TRUNCATE {table} CASCADE")  # CASCADE: past the foreign keys, to the trigger
        for statement in statements:
            assert "append-only" in asyncio.run(_attempt(url, statement)), statement
    assert asyncio.run(_attempt(url, "SELECT 1")) == "accepted"


async def _migrated_with_a_row_in_every_table(url: str) -> dict[str, set[str]]:
    """Migrate, insert one row into every guarded table (INSERT is allowed: the tables are append-only), and
    read the guards from the catalogue: table → the events a BEFORE trigger on it fires on."""
    db = Database(url)
    try:
        await migrate.upgrade(db)
        async with db.engine.begin() as conn:
            for table in metadata.sorted_tables:
                if table.name in guards.GUARDED_TABLES:
                    await conn.execute(insert(table).values({c.name: _sample(c) for c in table.columns}))
            if db.engine.dialect.name == "sqlite":
                rows = await conn.execute(text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))
                out: dict[str, set[str]] = {}
                for table_name, sql in rows:
                    words = str(sql).upper().split()
                    if "BEFORE" in words:  # AFTER triggers (e.g. api_client's change counter, 0010) guard nothing
                        out.setdefault(str(table_name), set()).add(words[words.index("BEFORE") + 1])
                return out
            rows = await conn.execute(
                text(
                    "SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND NOT c.relispartition "
                    "AND c.relnamespace = current_schema()::regnamespace"
                )
            )
            out = {}
            for table_name, tgtype in rows:  # pg_trigger.h: BEFORE 2, DELETE 8, UPDATE 16, TRUNCATE 32
                if tgtype & 2:
                    bits = ((8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE"))
                    out.setdefault(str(table_name), set()).update(name for bit, name in bits if tgtype & bit)
            return out
    finally:
        await db.dispose()


async def _attempt(url: str, statement: str) -> str:
    """Run `statement` as the register does; the database's refusal, or "accepted"."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(statement))
    except Exception as exc:
        return str(exc)
    finally:
        await db.dispose()
    return "accepted"


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
