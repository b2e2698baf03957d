"""The `verwerkingenlog` command: thin, it parses arguments and calls the same services as the API."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from verwerkingenlog import PRODUCT_NAME, __version__
from verwerkingenlog.domain.scopes import ALL_SCOPES, NORMAL_SCOPES
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client, ClientExists, Clients, UnknownScope
from verwerkingenlog.settings import Settings
from verwerkingenlog.store import migrate as migrations
from verwerkingenlog.store.db import Database

T = TypeVar("T")

app = typer.Typer(help=f"{PRODUCT_NAME}: a register of processings of personal data.", no_args_is_help=True)
clients_app = typer.Typer(help="Manage the API clients registered with this register.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
out = Console()
err = Console(stderr=True)


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the configured database (migrated), run `work`, close it."""

    async def main() -> T:
        db = Database(Settings().database_url)
        try:
            await migrations.upgrade(db)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"{PRODUCT_NAME} {__version__}")


@app.command("config-reference")
def config_reference() -> None:
    """Print the configuration reference (every environment variable, its default, its meaning)."""
    from verwerkingenlog.settings import reference_markdown

    sys.stdout.write(reference_markdown())


@app.command()
def migrate() -> None:
    """Bring the database (DATABASE_URL) to the newest schema."""
    settings = Settings()

    async def work(_db: Database) -> None:
        return None

    _run(work)
    out.print(f"Database is up to date ({Database(settings.database_url).engine.url.render_as_string()}).")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).", min=1)] = 1,
) -> None:
    """Start the register (database from DATABASE_URL)."""
    import uvicorn

    settings = Settings()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        _fail("More than one worker needs PostgreSQL; SQLite allows one writer process.")
    out.print(f"{PRODUCT_NAME} {__version__} on http://{host}:{port}  (docs: http://{host}:{port}/api/v1/docs)")
    uvicorn.run(
        "verwerkingenlog.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@clients_app.command("add")
def clients_add(
    client_id: Annotated[str, typer.Argument(help="The client's id (the `iss`/`client_id` of its tokens).")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", "-s", help=f"Scope to grant (repeatable): {', '.join(ALL_SCOPES)}."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")] = False,
) -> None:
    """Register a client and print its generated secret (shown only once)."""
    scopes = scope or []

    async def work(db: Database) -> Client:
        return await Clients(db).add(client_id, scopes)

    try:
        client = _run(work)
    except (ClientExists, UnknownScope, ValueError) as exc:
        _fail(str(exc))
        return
    if as_json:
        sys.stdout.write(
            json.dumps({"clientId": client.client_id, "secret": client.secret, "scopes": sorted(client.scopes)}) + "\n"
        )
        return
    granted = ", ".join(sorted(client.scopes)) or "(none: may create normaal actions only)"
    out.print(f"Registered client [bold]{client.client_id}[/bold] with scopes: {granted}")
    out.print(f"Secret (store it now, it is not shown again): [bold]{client.secret}[/bold]")


@clients_app.command("list")
def clients_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """List registered clients and their scopes."""
    found = _run(lambda db: Clients(db).list())
    if as_json:
        sys.stdout.write(json.dumps([{"clientId": c.client_id, "scopes": sorted(c.scopes)} for c in found]) + "\n")
        return
    table = Table("client id", "scopes")
    for c in found:
        table.add_row(c.client_id, ", ".join(sorted(c.scopes)))
    out.print(table if found else "No clients registered yet. Add one with `verwerkingenlog clients add ID --scope …`.")


@clients_app.command("remove")
def clients_remove(client_id: Annotated[str, typer.Argument(help="The client to remove.")]) -> None:
    """Remove a client: its tokens stop working at once."""
    if not _run(lambda db: Clients(db).remove(client_id)):
        _fail(f"No client with id {client_id!r}.")
    out.print(f"Removed client {client_id}.")


@app.command()
def token(
    client_id: Annotated[str, typer.Argument(help="A registered client.")],
    lifetime: Annotated[int | None, typer.Option(help="Add an `exp` this many seconds ahead.", min=1)] = None,
) -> None:
    """Print a fresh JWT for a registered client."""
    client = _run(lambda db: Clients(db).get(client_id))
    if client is None:
        _fail(f"No client with id {client_id!r}. See `verwerkingenlog clients list`.")
        return
    sys.stdout.write(tokens.issue(client, lifetime=lifetime) + "\n")


DEMO_CLIENTS = {"demo-normaal": NORMAL_SCOPES, "demo-alles": ALL_SCOPES}


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    start: Annotated[bool, typer.Option(help="Start the server after printing the demo.")] = True,
) -> None:
    """Create the two demo clients (if needed), print their tokens and ready-to-paste curl commands."""
    from verwerkingenlog.demo import ensure_demo_clients, instructions

    found = _run(lambda db: ensure_demo_clients(db, DEMO_CLIENTS))
    sys.stdout.write(instructions(found, f"http://{host}:{port}") + "\n")
    sys.stdout.flush()
    if start:
        serve(host=host, port=port, workers=1)


def main() -> None:
    app()
