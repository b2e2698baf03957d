"""`version`, `config-reference`, `migrate` and `serve`: the register itself (docs/deployment.md)."""

from __future__ import annotations

import signal
import socket
import sys
from typing import Annotated

import typer

from verwerkingenlog import PRODUCT_NAME, __version__
from verwerkingenlog.cli import console
from verwerkingenlog.cli.integrity import adopt_existing_versions, repseudonymise_existing
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database


def version() -> None:
    """Print the version."""
    console.out.print(f"{PRODUCT_NAME} {__version__}")


def config_reference() -> None:
    """Print the configuration reference (every environment variable, its default, its meaning)."""
    from verwerkingenlog.settings import reference_markdown

    sys.stdout.write(reference_markdown())


def migrate() -> None:
    """Bring the database (DATABASE_URL) to the newest schema."""
    settings = Settings()
    adopted = console.run(adopt_existing_versions)  # a log that predates the Merkle tree gets its leaves, once
    if adopted:
        console.out.print(
            f"Gave the {adopted} versions stored before the Merkle log their leaves (docs/integrity.md §1)."
        )
    resealed = console.run(repseudonymise_existing)  # objectIds an older version stored in the clear, once
    if resealed:
        console.out.print(
            f"Re-pseudonymised {resealed} objectIds stored in the clear or under an earlier blind index, recorded in "
            "the log (docs/integrity.md §14)."
        )
    console.out.print(f"Database is up to date ({Database(settings.database_url).engine.url.render_as_string()}).")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).", min=1)] = 1,
    http: Annotated[
        str, typer.Option(help="HTTP/1.1 implementation: auto (httptools when installed), h11 or httptools.")
    ] = "auto",
) -> None:
    """Start the register (database from DATABASE_URL)."""
    import uvicorn

    from verwerkingenlog.api.transport import PROTOCOLS

    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError names the setting and why
        console.fail(str(exc))
        return
    if workers > 1 and settings.database_url.startswith("sqlite"):
        console.fail("More than one worker needs PostgreSQL; SQLite allows one writer process.")
    if http not in PROTOCOLS:
        console.fail(f"--http must be one of {', '.join(PROTOCOLS)}.")
    metrics = settings.metrics_listener
    if metrics is not None and metrics[1] == port:
        console.fail("METRICS_ADDRESS must use another port than the API.")
    console.out.print(f"{PRODUCT_NAME} {__version__} on http://{host}:{port}  (docs: http://{host}:{port}/api/v1/docs)")
    # uvicorn re-raises the SIGTERM it handled once it has shut down; after a clean shutdown that is no error.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    config = uvicorn.Config(
        "verwerkingenlog.api.app:create_served_app",  # JSON logs without BSNs or tokens (LOG_FORMAT)
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=None,
        # The request head limit (MAX_HEADER_BYTES, 431 past it) for both protocols (api/transport.py).
        http=PROTOCOLS[http],
        h11_max_incomplete_event_size=settings.max_header_bytes,
        # SIGTERM (docs/deployment.md, Shutdown): uvicorn stops listening, waits for the requests in flight, then
        # runs the lifespan's shutdown (the group committer's last batch commits); bounded so it ends before SIGKILL.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds or None,
    )
    sockets = [config.bind_socket()]
    if metrics is not None:
        # The metrics listener is a second socket of the same server: the app tells them apart by the local
        # port (api/ops.py) and serves only /metrics there, without METRICS_TOKEN.
        sockets.append(socket.create_server(metrics, family=_family(metrics[0])))
        console.out.print(f"metrics on http://{metrics[0]}:{metrics[1]}/metrics")
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=sockets).run()
    else:
        uvicorn.Server(config).run(sockets=sockets)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def register(app: typer.Typer) -> None:
    app.command()(version)
    app.command("config-reference")(config_reference)
    app.command()(migrate)
    app.command()(serve)
