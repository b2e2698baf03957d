"""The operations commands of `verwerkingenlog` (docs/deployment.md): backup and restore of the database, and
the monthly partitions of the log tables on PostgreSQL (docs/performance.md).

Thin like the rest of the CLI: the work is in services/backup.py and services/partitions.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from verwerkingenlog.cli import console
from verwerkingenlog.services.backup import BackupError
from verwerkingenlog.services.backup import backup as make_backup
from verwerkingenlog.services.backup import restore as load_backup
from verwerkingenlog.services.partitions import Partitions
from verwerkingenlog.services.register import wall_clock_us
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.partitions import Partition


def backup(
    target: Annotated[Path, typer.Argument(help="File to write (PostgreSQL: pg_dump custom format; SQLite: a copy).")],
) -> None:
    """Write a consistent backup of the database (DATABASE_URL) while the register runs. The keys are not in it:
    back up PSEUDONYMISATION_KEY/KEY_FILE and CHECKPOINT_KEY_FILE separately."""
    try:
        kind = make_backup(Settings().database_url, target)
    except BackupError as exc:
        console.fail(str(exc))
    console.out.print(f"Wrote {target} ({kind}, {target.stat().st_size} bytes).")


def restore(
    source: Annotated[Path, typer.Argument(help="A file written by `verwerkingenlog backup`.")],
) -> None:
    """Load a backup into the database of DATABASE_URL, which must be empty (a new database or file). Then run
    `verwerkingenlog verify --witness …` against it before sending it traffic."""
    try:
        load_backup(source, Settings().database_url)
    except BackupError as exc:
        console.fail(str(exc))
    console.out.print(
        f"Restored {source}. Now run `verwerkingenlog verify` (with --witness and --key) before serving it."
    )


def partitions(
    create: Annotated[
        bool, typer.Option("--create", help="First create the partitions of this month and the months ahead.")
    ] = False,
    ahead: Annotated[
        int | None, typer.Option("--ahead", min=0, max=120, help="Months ahead (default PARTITIONS_AHEAD_MONTHS).")
    ] = None,
) -> None:
    """PostgreSQL: list the monthly partitions of the log tables with their rows and sizes (docs/performance.md);
    with --create first create the missing ones of this month and the months ahead (as the server does daily)."""
    settings = Settings()

    async def work(db: Database) -> tuple[list[date], list[Partition]]:
        if db.is_sqlite:
            return [], []
        service = Partitions(db, settings.partitions_ahead_months if ahead is None else ahead, wall_clock_us)
        created = await service.ensure_ahead() if create else []
        return created, await service.overview()

    created, found = console.run(work, migrate=False)  # an overview: it leaves the schema as it finds it
    if not found:
        console.out.print("This database has no partitions (SQLite keeps each log table whole).")
        return
    if created:
        console.out.print("Created the partitions of " + ", ".join(f"{m:%Y-%m}" for m in created) + ".")
    table = Table("table", "partition", "month", "rows", "table MB", "index MB")
    for p in found:
        table.add_row(
            p.table,
            p.name,
            p.label,
            f"{p.rows:,}",
            f"{p.table_bytes / 1_048_576:,.1f}",
            f"{p.index_bytes / 1_048_576:,.1f}",
        )
    console.out.print(table)


def register(app: typer.Typer) -> None:
    """Add the operations commands to the `verwerkingenlog` command."""
    app.command()(backup)
    app.command()(restore)
    app.command()(partitions)
