"""The `verwerkingenlog` command: thin, it parses arguments and calls the same services as the API.

One module per command group (`serve`, `clients`, `integrity`, `ops`, `var`, `fg`, `demo`); what they share, the
console, the database opener and the error path, is in `console`. The entry point is `verwerkingenlog.cli:main`.
"""

from __future__ import annotations

import signal

import typer

from verwerkingenlog import PRODUCT_NAME
from verwerkingenlog.cli import clients, console, demo, fg, integrity, ops, serve, var

app = typer.Typer(help=f"{PRODUCT_NAME}: a register of processings of personal data.", no_args_is_help=True)
# In the order `verwerkingenlog --help` has always listed them.
app.add_typer(clients.group, name="clients")
integrity.register(app)  # keys, checkpoint, verify, purge (docs/integrity.md)
ops.register(app)  # backup, restore, partitions (docs/deployment.md)
serve.register(app)  # version, config-reference, migrate, serve
clients.register(app)  # token
app.add_typer(var.group, name="var")
app.add_typer(fg.group, name="fg")
demo.register(app)


def _terminated(_sig: int, _frame: object) -> None:
    """SIGTERM ends a command (migrate, purge, verify …) at once, its open transaction rolled back - also as PID 1
    of a container, where the kernel would otherwise ignore the signal and the orchestrator wait to kill -9."""
    raise SystemExit(128 + signal.SIGTERM)


def main() -> None:
    from pydantic_settings import SettingsError

    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except SettingsError as exc:  # e.g. X and X_FILE both set: the operator's mistake, said in one line
        console.say_error(f"configuration: {exc}")
        raise SystemExit(2) from None


__all__ = ["app", "main"]
