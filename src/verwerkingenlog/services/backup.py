"""Backup and restore of the register's database (docs/deployment.md, "Backup and restore").

Why the database's own tools and not an export through the API: a restore must give back the very rows the
Merkle leaves were computed from, byte for byte, or `verwerkingenlog verify` (and every verifier holding a
published checkpoint) would report the restored register as tampered with. pg_dump/pg_restore and SQLite's
online backup API copy rows exactly, while the register keeps running:

- PostgreSQL: `pg_dump --format=custom` takes a consistent snapshot (one transaction) without blocking writers;
  `pg_restore` loads it into an empty database, triggers and the purge function included.
- SQLite: the backup API copies the pages of a consistent state, also from a WAL database in use (a plain file
  copy of a live WAL database can miss committed transactions still in the -wal file).

Neither copies the keys: the pseudonymisation key (PSEUDONYMISATION_KEY / KEY_FILE) and the checkpoint
signing key (CHECKPOINT_KEY_FILE) are backed up apart from the database, so that a stolen backup alone reveals
no BSN and cannot sign.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from verwerkingenlog.store.db import create_private


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says why and what to do."""


def _backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name in ("postgresql", "postgres"):
        return "postgresql"
    if name == "sqlite":
        return "sqlite"
    raise BackupError(f"Unsupported database {name!r}: use sqlite:///… or postgresql://…")


def libpq_url(url: str) -> str:
    """The URL as pg_dump/pg_restore understand it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}")


def backup(url: str, target: Path) -> str:
    """Write a consistent copy of the database at `url` to `target`; returns the format written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if _backend(url) == "postgresql":
        create_private(target, truncate=True)  # pg_dump keeps the mode of the file it overwrites: 0600
        _run([_tool("pg_dump"), "--format=custom", "--file", str(target), "--dbname", libpq_url(url)])
        return "pg_dump custom format"
    source = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"No SQLite database at {source}.")
    create_private(target, truncate=True)
    _sqlite_copy(source, target)
    return "SQLite database file"


def restore(source: Path, url: str) -> None:
    """Load the backup `source` into the database at `url`, which must be empty (a new database or file):
    restoring over a register would mix two logs."""
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    if _backend(url) == "postgresql":
        _require_empty_postgres(url)
        # --exit-on-error: a partial restore is worse than none; --single-transaction makes it all or nothing.
        _run(
            [
                _tool("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--dbname",
                libpq_url(url),
                str(source),
            ]
        )
        return
    target = sqlite_path(url)
    if target.exists() and target.stat().st_size > 0:
        raise BackupError(f"{target} exists: restore into a new file (and point DATABASE_URL at it).")
    target.parent.mkdir(parents=True, exist_ok=True)
    create_private(target)
    _sqlite_copy(source, target)


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _require_empty_postgres(url: str) -> None:
    query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    done = subprocess.run(
        [_tool("psql"), "--no-psqlrc", "--tuples-only", "--no-align", "--command", query, libpq_url(url)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"Cannot reach the target database: {done.stderr.strip()}")
    if done.stdout.strip() != "0":
        raise BackupError("The target database is not empty: restore into a new database (CREATE DATABASE …).")
