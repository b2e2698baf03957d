"""The operations commands of `verwerkingenlog` (docs/deployment.md): backup and restore of the database.

Thin like the rest of the CLI: the work is in services/backup.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from verwerkingenlog.services.backup import BackupError
from verwerkingenlog.services.backup import backup as make_backup
from verwerkingenlog.services.backup import restore as load_backup
from verwerkingenlog.settings import Settings

out = Console()
err = Console(stderr=True)


def backup(
    target: Annotated[Path, typer.Argument(help="File to write (PostgreSQL: pg_dump custom format; SQLite: a copy).")],
) -> None:
    """Write a consistent backup of the database (DATABASE_URL) while the register runs. The keys are not in it:
    back up PSEUDONYMISATION_KEY/KEY_FILE and CHECKPOINT_KEY_FILE separately."""
    try:
        kind = make_backup(Settings().database_url, target)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    out.print(f"Wrote {target} ({kind}, {target.stat().st_size} bytes).")


def restore(
    source: Annotated[Path, typer.Argument(help="A file written by `verwerkingenlog backup`.")],
) -> None:
    """Load a backup into the database of DATABASE_URL, which must be empty (a new database or file). Then run
    `verwerkingenlog verify --witness …` against it before sending it traffic."""
    try:
        load_backup(source, Settings().database_url)
    except BackupError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    out.print(f"Restored {source}. Now run `verwerkingenlog verify` (with --witness and --key) before serving it.")


def register(app: typer.Typer) -> None:
    """Add the operations commands to the `verwerkingenlog` command."""
    app.command()(backup)
    app.command()(restore)
