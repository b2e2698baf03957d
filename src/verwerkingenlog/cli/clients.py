"""`clients …` and `token`: the API clients registered with this register (docs/deployment.md, Clients).

Each change is recorded in the admin pages' audit trail (docs/admin.md), by the operating-system user.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from verwerkingenlog.cli import console
from verwerkingenlog.domain.scopes import ALL_SCOPES
from verwerkingenlog.services import tokens
from verwerkingenlog.services.audit import FAILED, OK, AuditLog
from verwerkingenlog.services.clients import Client, ClientExists, Clients, NoSecret, UnknownScope
from verwerkingenlog.store.client_secrets import keyring_from_settings
from verwerkingenlog.store.db import Database

group = typer.Typer(help="Manage the API clients registered with this register.", no_args_is_help=True)


@group.command("add")
def clients_add(
    client_id: Annotated[str, typer.Argument(help="The client's id (the `iss`/`client_id` of its tokens).")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", "-s", help=f"Scope to grant (repeatable): {', '.join(ALL_SCOPES)}."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="PEM file with the client's public key (Ed25519: EdDSA, or P-256: ES256): the client signs its "
            "tokens with its private key and no secret exists.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    jwks_url: Annotated[
        str | None,
        typer.Option("--jwks-url", help="https URL of the client's JWK Set (its tokens name a key by `kid`)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")] = False,
) -> None:
    """Register a client: with a generated secret (shown only once), or with its public key or JWKS URL."""
    scopes = scope or []
    pem = public_key.read_text() if public_key is not None else None

    async def work(db: Database) -> Client:
        try:
            added = await Clients(db).add(client_id, scopes, public_key=pem, jwks_url=jwks_url)
        except (ClientExists, UnknownScope, ValueError) as exc:
            await _audit(db, "client:aanmaken", client_id, FAILED, type(exc).__name__)
            raise
        detail = ("" if added.kind == "secret" else f"{added.kind}; ") + "scopes: " + " ".join(sorted(added.scopes))
        await _audit(db, "client:aanmaken", added.client_id, OK, detail)
        return added

    try:
        client = console.run(work)
    except (ClientExists, UnknownScope, ValueError) as exc:
        console.fail(str(exc))
        return
    if as_json:
        result: dict[str, object] = {"clientId": client.client_id, "kind": client.kind}
        if client.secret is not None:
            result["secret"] = client.secret
        if client.jwks_url is not None:
            result["jwksUrl"] = client.jwks_url
        result["scopes"] = sorted(client.scopes)
        sys.stdout.write(json.dumps(result) + "\n")
        return
    granted = ", ".join(sorted(client.scopes)) or "(none: may create normaal actions only)"
    console.out.print(f"Registered client [bold]{client.client_id}[/bold] with scopes: {granted}")
    if client.secret is not None:
        console.out.print(f"Secret (store it now, it is not shown again): [bold]{client.secret}[/bold]")
    elif client.kind == "jwks":
        console.out.print(f"Its tokens are verified with the keys at {client.jwks_url} (the token's `kid` names one).")
    else:
        console.out.print("Its tokens are verified with the registered public key; the register holds no secret of it.")


@group.command("list")
def clients_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """List registered clients and their scopes."""
    found = console.run(lambda db: Clients(db).list())
    if as_json:
        listed = [{"clientId": c.client_id, "kind": c.kind, "scopes": sorted(c.scopes)} for c in found]
        sys.stdout.write(json.dumps(listed) + "\n")
        return
    table = Table("client id", "signs with", "scopes")
    for c in found:
        table.add_row(c.client_id, c.kind, ", ".join(sorted(c.scopes)))
    console.out.print(
        table if found else "No clients registered yet. Add one with `verwerkingenlog clients add ID --scope …`."
    )


@group.command("remove")
def clients_remove(client_id: Annotated[str, typer.Argument(help="The client to remove.")]) -> None:
    """Remove a client: every running server refuses its tokens (401) from its next request on, on SQLite and
    PostgreSQL alike (only requests already being handled finish)."""

    async def work(db: Database) -> bool:
        removed = await Clients(db).remove(client_id)
        await _audit(
            db, "client:intrekken", client_id, OK if removed else FAILED, None if removed else "no such client"
        )
        return removed

    if not console.run(work):
        console.fail(f"No client with id {client_id!r}.")
    console.out.print(f"Removed client {client_id}.")


@group.command("rotate")
def clients_rotate(
    client_id: Annotated[str, typer.Argument(help="The client that gets a new secret.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")] = False,
) -> None:
    """Give a client a new secret (shown only once): every running server refuses tokens signed with the old one
    (401) from its next request on, on SQLite and PostgreSQL alike."""

    async def work(db: Database) -> Client | None:
        try:
            rotated = await Clients(db).rotate(client_id)
        except NoSecret:
            await _audit(db, "client:nieuw-geheim", client_id, FAILED, "signs with its own key")
            raise
        await _audit(
            db, "client:nieuw-geheim", client_id, OK if rotated else FAILED, None if rotated else "no such client"
        )
        return rotated

    try:
        client = console.run(work)
    except NoSecret as exc:
        console.fail(str(exc))
        return
    if client is None:
        console.fail(f"No client with id {client_id!r}. See `verwerkingenlog clients list`.")
        return
    if as_json:
        sys.stdout.write(json.dumps({"clientId": client.client_id, "secret": client.secret}) + "\n")
        return
    console.out.print(f"New secret for [bold]{client.client_id}[/bold] (store it now, it is not shown again): ")
    console.out.print(f"[bold]{client.secret}[/bold]")
    console.out.print("Tokens signed with the old secret are refused from now on.")


@group.command("reencrypt")
def clients_reencrypt() -> None:
    """Encrypt every stored client secret with the first key of CLIENT_SECRET_KEY (after adding a new key, before
    dropping an old one; docs/deployment.md, Key management)."""

    async def work(db: Database) -> tuple[int, int]:
        done = await Clients(db).reencrypt()
        await _audit(db, "client:herversleutelen", "*", OK, f"{done[0]} of {done[1]} secrets")
        return done

    try:
        resealed, total = console.run(work)
    except ValueError as exc:  # a secret sealed with a key that is no longer configured
        console.fail(str(exc))
        return
    keyring = keyring_from_settings()
    console.out.print(f"Re-encrypted {resealed} of {total} client secrets with key {keyring.primary!r}.")
    if len(keyring.key_ids) > 1:
        console.out.print(f"No stored secret needs the other keys ({', '.join(keyring.key_ids[1:])}) any more.")


async def _audit(
    db: Database, action: str, target: str, outcome: str = OK, detail: str | None = None, found: bool = True
) -> None:
    """Client changes from the command line join the admin pages' audit trail (docs/admin.md), by OS user."""
    if not found:
        outcome, detail = FAILED, "no such client"
    await AuditLog(db).record(console.actor(), action, target, outcome, detail)


def token(
    client_id: Annotated[str, typer.Argument(help="A registered client.")],
    lifetime: Annotated[int | None, typer.Option(help="Add an `exp` this many seconds ahead.", min=1)] = None,
) -> None:
    """Print a fresh JWT for a registered client."""
    client = console.run(lambda db: Clients(db).get(client_id))
    if client is None:
        console.fail(f"No client with id {client_id!r}. See `verwerkingenlog clients list`.")
        return
    try:
        sys.stdout.write(tokens.issue(client, lifetime=lifetime) + "\n")
    except NoSecret as exc:
        console.fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command()(token)
