"""The `verwerkingenlog` command: thin, it parses arguments and calls the same services as the API."""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from verwerkingenlog import PRODUCT_NAME, __version__
from verwerkingenlog.cli_integrity import adopt_existing_versions, repseudonymise_existing
from verwerkingenlog.cli_integrity import register as register_integrity_commands
from verwerkingenlog.cli_ops import register as register_ops_commands
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.domain.scopes import ALL_SCOPES, KNOWN_SCOPES, NORMAL_SCOPES
from verwerkingenlog.domain.values import date_value, oin_value, render_registratie
from verwerkingenlog.domain.var import ActiviteitVersie
from verwerkingenlog.services import tokens
from verwerkingenlog.services.audit import FAILED, OK, Actor, AuditLog
from verwerkingenlog.services.clients import Client, ClientExists, Clients, NoSecret, UnknownScope
from verwerkingenlog.services.var_import import Afwijzing
from verwerkingenlog.settings import Settings
from verwerkingenlog.store import migrate as migrations
from verwerkingenlog.store.client_secrets import keyring_from_settings
from verwerkingenlog.store.db import Database

T = TypeVar("T")

app = typer.Typer(help=f"{PRODUCT_NAME}: a register of processings of personal data.", no_args_is_help=True)
clients_app = typer.Typer(help="Manage the API clients registered with this register.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
register_integrity_commands(app)  # keys, checkpoint, verify, purge (docs/integrity.md)
register_ops_commands(app)  # backup, restore (docs/deployment.md)
out = Console()
err = Console(stderr=True)


def _os_user() -> str:
    """Who acts through the CLI (audit trail, VAR authorship): the operating-system user running it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user without a passwd entry
        return "cli:onbekend"


def _cli_actor() -> Actor:
    return Actor(subject=_os_user(), name=None, roles=("cli",))


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
    adopted = _run(adopt_existing_versions)  # a log that predates the Merkle tree gets its leaves, once
    if adopted:
        out.print(f"Gave the {adopted} versions stored before the Merkle log their leaves (docs/integrity.md §1).")
    resealed = _run(repseudonymise_existing)  # objectIds an older version stored in the clear, once
    if resealed:
        out.print(
            f"Re-pseudonymised {resealed} objectIds stored in the clear or under an earlier blind index, recorded in "
            "the log (docs/integrity.md §14)."
        )
    out.print(f"Database is up to date ({Database(settings.database_url).engine.url.render_as_string()}).")


@app.command()
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
        _fail(str(exc))
        return
    if workers > 1 and settings.database_url.startswith("sqlite"):
        _fail("More than one worker needs PostgreSQL; SQLite allows one writer process.")
    if http not in PROTOCOLS:
        _fail(f"--http must be one of {', '.join(PROTOCOLS)}.")
    metrics = settings.metrics_listener
    if metrics is not None and metrics[1] == port:
        _fail("METRICS_ADDRESS must use another port than the API.")
    out.print(f"{PRODUCT_NAME} {__version__} on http://{host}:{port}  (docs: http://{host}:{port}/api/v1/docs)")
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
        out.print(f"metrics on http://{metrics[0]}:{metrics[1]}/metrics")
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=sockets).run()
    else:
        uvicorn.Server(config).run(sockets=sockets)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@clients_app.command("add")
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
        client = _run(work)
    except (ClientExists, UnknownScope, ValueError) as exc:
        _fail(str(exc))
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
    out.print(f"Registered client [bold]{client.client_id}[/bold] with scopes: {granted}")
    if client.secret is not None:
        out.print(f"Secret (store it now, it is not shown again): [bold]{client.secret}[/bold]")
    elif client.kind == "jwks":
        out.print(f"Its tokens are verified with the keys at {client.jwks_url} (the token's `kid` names one).")
    else:
        out.print("Its tokens are verified with the registered public key; the register holds no secret of it.")


@clients_app.command("list")
def clients_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """List registered clients and their scopes."""
    found = _run(lambda db: Clients(db).list())
    if as_json:
        listed = [{"clientId": c.client_id, "kind": c.kind, "scopes": sorted(c.scopes)} for c in found]
        sys.stdout.write(json.dumps(listed) + "\n")
        return
    table = Table("client id", "signs with", "scopes")
    for c in found:
        table.add_row(c.client_id, c.kind, ", ".join(sorted(c.scopes)))
    out.print(table if found else "No clients registered yet. Add one with `verwerkingenlog clients add ID --scope …`.")


@clients_app.command("remove")
def clients_remove(client_id: Annotated[str, typer.Argument(help="The client to remove.")]) -> None:
    """Remove a client: every running server refuses its tokens (401) from its next request on, on SQLite and
    PostgreSQL alike (only requests already being handled finish)."""

    async def work(db: Database) -> bool:
        removed = await Clients(db).remove(client_id)
        await _audit(
            db, "client:intrekken", client_id, OK if removed else FAILED, None if removed else "no such client"
        )
        return removed

    if not _run(work):
        _fail(f"No client with id {client_id!r}.")
    out.print(f"Removed client {client_id}.")


@clients_app.command("rotate")
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
        client = _run(work)
    except NoSecret as exc:
        _fail(str(exc))
        return
    if client is None:
        _fail(f"No client with id {client_id!r}. See `verwerkingenlog clients list`.")
        return
    if as_json:
        sys.stdout.write(json.dumps({"clientId": client.client_id, "secret": client.secret}) + "\n")
        return
    out.print(f"New secret for [bold]{client.client_id}[/bold] (store it now, it is not shown again): ")
    out.print(f"[bold]{client.secret}[/bold]")
    out.print("Tokens signed with the old secret are refused from now on.")


@clients_app.command("reencrypt")
def clients_reencrypt() -> None:
    """Encrypt every stored client secret with the first key of CLIENT_SECRET_KEY (after adding a new key, before
    dropping an old one; docs/deployment.md, Key management)."""

    async def work(db: Database) -> tuple[int, int]:
        done = await Clients(db).reencrypt()
        await _audit(db, "client:herversleutelen", "*", OK, f"{done[0]} of {done[1]} secrets")
        return done

    try:
        resealed, total = _run(work)
    except ValueError as exc:  # a secret sealed with a key that is no longer configured
        _fail(str(exc))
        return
    keyring = keyring_from_settings()
    out.print(f"Re-encrypted {resealed} of {total} client secrets with key {keyring.primary!r}.")
    if len(keyring.key_ids) > 1:
        out.print(f"No stored secret needs the other keys ({', '.join(keyring.key_ids[1:])}) any more.")


async def _audit(
    db: Database, action: str, target: str, outcome: str = OK, detail: str | None = None, found: bool = True
) -> None:
    """Client changes from the command line join the admin pages' audit trail (docs/admin.md), by OS user."""
    if not found:
        outcome, detail = FAILED, "no such client"
    await AuditLog(db).record(_cli_actor(), action, target, outcome, detail)


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
    try:
        sys.stdout.write(tokens.issue(client, lifetime=lifetime) + "\n")
    except NoSecret as exc:
        _fail(str(exc))


# -- the register of processing activities (VAR, §17) -----------------------------------------------------

var_app = typer.Typer(
    help="The register of processing activities (VAR, §17): import, list, report.", no_args_is_help=True
)
app.add_typer(var_app, name="var")


def _operator() -> Caller:
    """The CLI is run by the register's operator on its own machine: every scope, recorded as `cli:<user>`."""
    return Caller(_os_user()[:100], frozenset(KNOWN_SCOPES))


@var_app.command("import")
def var_import(
    file: Annotated[Path, typer.Argument(help="The VAR spreadsheet: .csv (comma, semicolon or tab) or .xlsx.")],
    organisatie: Annotated[
        str | None,
        typer.Option(help="OIN of the organisation, for rows without a 'Verantwoordelijke organisatie (OIN)' cell."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report only; write nothing.")] = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX: the sheet to read (default: the first).")] = None,
) -> None:
    """Import a VAR spreadsheet: new activities are added, changed ones get a new version, unchanged rows
    change nothing (so re-importing the same file is harmless). Every rejected row is listed with the
    reason; the exit code is 1 when a row was rejected, 2 when the file cannot be used at all."""
    from rich.progress import Progress

    from verwerkingenlog.services.var import Uitkomst, VarService
    from verwerkingenlog.services.var_import import ImportFormatError, parse_rows, read_table

    if not file.is_file():
        _fail(f"No such file: {file}")
    try:
        table = read_table(file, sheet)
        with Progress(console=err, transient=True, disable=len(table) < 200) as bar:
            task = bar.add_task("Reading rows", total=max(len(table) - 1, 0))
            ingelezen = parse_rows(table, organisatie, lambda n: bar.advance(task, n))
            bar.update(task, description="Writing" if not dry_run else "Checking", completed=0)
            items = [(i, g) for _, i, g in ingelezen.rijen]
            results = _run(lambda db: VarService(db).apply(_operator(), items, dry_run, lambda n: bar.advance(task, n)))
    except ImportFormatError as exc:
        _fail(str(exc))
        return
    rejected = list(ingelezen.afwijzingen)
    counts = dict.fromkeys(Uitkomst, 0)
    for (number, _, _), result in zip(ingelezen.rijen, results, strict=True):
        if isinstance(result, Uitkomst):
            counts[result] += 1
        else:
            rejected += [Afwijzing(number, ingelezen.kolommen.header(p.name), p.reason) for p in result.params]
    rows = len({a.rij for a in rejected})
    verb = "Would import" if dry_run else "Imported"
    out.print(
        f"{verb} {file.name}: {counts[Uitkomst.NIEUW]} new, {counts[Uitkomst.GEWIJZIGD]} changed, "
        f"{counts[Uitkomst.ONGEWIJZIGD]} unchanged, {rows} rejected."
    )
    if ingelezen.kolommen.genegeerd:
        out.print(f"Columns ignored (not part of the VAR): {', '.join(ingelezen.kolommen.genegeerd)}")
    if rejected:
        table_out = Table("row", "column", "reason", title="Rejected rows")
        for a in sorted(rejected, key=lambda a: a.rij):
            table_out.add_row(str(a.rij), a.kolom, a.reden)
        out.print(table_out)
        raise typer.Exit(1)


@var_app.command("list")
def var_list(
    organisatie: Annotated[str | None, typer.Option(help="Only this organisation's activities (OIN).")] = None,
    peildatum: Annotated[str | None, typer.Option(help="As the register held it then: a date or date-time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON (the API's representation).")] = False,
) -> None:
    """List the activities valid now (or at --peildatum)."""
    from verwerkingenlog.api.var import render_activiteit
    from verwerkingenlog.domain.pagination import MAX_PAGE_SIZE, Page
    from verwerkingenlog.domain.var import ActiviteitFilter, peildatum_value
    from verwerkingenlog.services.var import VarService

    settings = Settings()
    try:
        oin = None if organisatie is None else oin_value(organisatie)
        as_of = None if peildatum is None else peildatum_value(peildatum, settings.zone)
    except InvalidValue as exc:
        _fail(exc.reason)
        return
    f = ActiviteitFilter(verantwoordelijke_organisatie=oin, peildatum_us=as_of)

    async def work(db: Database) -> list[ActiviteitVersie]:
        service, caller, found, number = VarService(db), _operator(), [], 1
        while True:
            page = await service.search(caller, f, Page(number, MAX_PAGE_SIZE))
            found += page.items
            if len(found) >= page.count:
                return found
            number += 1

    found = _run(work)
    if as_json:
        sys.stdout.write(json.dumps([render_activiteit(v) for v in found], ensure_ascii=False) + "\n")
        return
    table = Table("id", "organisatie", "naam", "grondslag", "versie")
    for v in found:
        table.add_row(v.id, v.organisatie, v.gegevens.naam, v.gegevens.grondslag, str(v.versie))
    out.print(table if found else "No processing activities (import a VAR with `verwerkingenlog var import FILE`).")


@var_app.command("report")
def var_report(
    begin: Annotated[str | None, typer.Option(help="Entries from this date (YYYY-MM-DD).")] = None,
    eind: Annotated[str | None, typer.Option(help="Entries before this date (YYYY-MM-DD).")] = None,
    systeem: Annotated[str | None, typer.Option(help="Only entries of this logging system.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON (the API's representation).")] = False,
) -> None:
    """The doelbinding report (§17.4): log entries whose activity is missing, unknown, retired at their
    tijdstip, or another organisation's than the uitvoerder, per logging system and client."""
    from verwerkingenlog.api.var import render_regel
    from verwerkingenlog.domain.periods import period
    from verwerkingenlog.services.var import DoelbindingRegel, VarService

    settings = Settings()
    try:
        span, problem = period(
            None if begin is None else date_value(begin), None if eind is None else date_value(eind), settings.zone
        )
    except InvalidValue as exc:
        _fail(exc.reason)
        return
    if problem is not None or span is None:
        _fail("--eind must not be before --begin.")
        return

    async def work(db: Database) -> list[DoelbindingRegel]:
        return await VarService(db).doelbinding(_operator(), span.begin_us, span.end_us, systeem)

    regels = _run(work)
    if as_json:
        sys.stdout.write(json.dumps([render_regel(r) for r in regels], ensure_ascii=False) + "\n")
        return
    if not regels:
        out.print("Every log entry names a known, valid activity of its own organisation.")
        return
    table = Table("finding", "system", "client", "verwerkingsactiviteitId", "uitvoerder", "entries", "last")
    for r in regels:
        table.add_row(
            r.bevinding.value,
            r.systeem or "-",
            r.client_id or "-",
            r.activiteit_id or "-",
            r.uitvoerder or "-",
            str(r.aantal),
            render_registratie(r.laatste_us),
        )
    out.print(table)


fg_app = typer.Typer(help="The FG's tools (docs/fg.md): the periodic report.", no_args_is_help=True)
app.add_typer(fg_app, name="fg")


@fg_app.command("report")
def fg_report(
    period: Annotated[str, typer.Option("--period", help="A year (2026), a quarter (2026-Q4) or a month (2026-11).")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    vertrouwelijk: Annotated[
        bool, typer.Option(help="Log this look at the persons in the signals as vertrouwelijk (docs/fg.md).")
    ] = False,
) -> None:
    """The FG report of a period on stdout: volumes per activity and organisation, and the signals of misuse with
    the entries behind them. Printing it is logged as the FG's processing of the persons in the signals."""
    import csv

    from verwerkingenlog.api.app import build_register
    from verwerkingenlog.domain.errors import ValidationFailed
    from verwerkingenlog.domain.fg import rapportperiode
    from verwerkingenlog.domain.periods import period as span_of
    from verwerkingenlog.services.fg import Rapport, build_fg
    from verwerkingenlog.services.var import VarService

    if fmt not in ("csv", "json"):
        _fail("--format must be csv or json.")
    settings = Settings()
    try:
        first, after = rapportperiode(period)
    except InvalidValue as exc:
        _fail(f"--period: {exc.reason}")
        return
    span, _ = span_of(first, after, settings.zone)
    assert span is not None and span.begin_us is not None and span.end_us is not None
    begin_us, end_us = span.begin_us, span.end_us

    async def work(db: Database) -> Rapport:
        register = build_register(settings, db)
        return await build_fg(settings, register, VarService(db)).rapport(_operator(), begin_us, end_us, vertrouwelijk)

    try:
        rapport = _run(work)
    except ValidationFailed as exc:
        _fail(exc.params[0].reason)
        return
    personen = rapport.signalen.personen

    def persoon(sleutel: bytes | None) -> str | None:
        return None if sleutel is None or sleutel not in personen else ":".join(personen[sleutel])

    volumes = [
        {
            "verwerkingsactiviteitId": v.activiteit_id,
            "verwerkingsactiviteit": None if a is None else a.gegevens.naam,
            "verantwoordelijkeOrganisatie": None if a is None else a.organisatie,
            "uitvoerder": v.uitvoerder,
            "acties": v.acties,
            "personen": v.personen,
        }
        for v in rapport.volumes
        for a in [rapport.activiteiten.get(v.activiteit_id or "")]
    ]
    signalen = [
        {
            "soort": s.soort.value,
            "uitleg": s.uitleg,
            "gebruiker": s.gebruiker,
            "verwerkingsactiviteitId": s.activiteit_id,
            "persoon": persoon(s.persoon),
            "actieIds": [r.actie_id for r in s.regels],
        }
        for s in rapport.signalen.signalen
    ]
    if fmt == "json":
        doc = {
            "periode": {"begin": render_registratie(begin_us), "eind": render_registratie(end_us)},
            "volumes": volumes,
            "signalen": signalen,
            "controle": {"verwerkingId": rapport.signalen.controle.verwerking_id},
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    columns = ["sectie", "verwerkingsactiviteitId", "verwerkingsactiviteit", "verantwoordelijkeOrganisatie"]
    columns += ["uitvoerder", "acties", "personen", "soort", "uitleg", "gebruiker", "persoon", "actieIds"]
    writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
    writer.writeheader()
    for row in volumes:
        writer.writerow({"sectie": "volume", **row})
    for sig in signalen:
        writer.writerow({"sectie": "signaal", **sig, "actieIds": " ".join(sig["actieIds"] or [])})


DEMO_CLIENTS = {
    "demo-normaal": NORMAL_SCOPES,
    "demo-fg": ("read:normal", "var:write", "fg:read"),  # the VAR's manager and the privacy officer (FG)
    "demo-alles": ALL_SCOPES,
}


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    start: Annotated[bool, typer.Option(help="Start the server after printing the demo.")] = True,
) -> None:
    """Create the demo clients (if needed), load the example VAR and two demo actions (once), print the
    tokens and ready-to-paste curl commands, and turn on the portal's and the admin pages' demo logins."""
    from verwerkingenlog.demo import (
        admin_instructions,
        enable_demo_admin,
        enable_demo_metrics,
        enable_demo_portal,
        ensure_demo_clients,
        instructions,
        load_example_var,
        log_demo_actions,
        portal_instructions,
    )

    portal_note = enable_demo_portal()
    enable_demo_metrics(port)
    admin_note = enable_demo_admin()

    async def prepare(db: Database) -> list[Client]:
        found = await ensure_demo_clients(db, DEMO_CLIENTS)
        out.print(await load_example_var(db))
        await log_demo_actions(db, Settings(), found[0])
        return found

    found = _run(prepare)
    sys.stdout.write(instructions(found, f"http://{host}:{port}") + "\n")
    sys.stdout.write(portal_instructions(f"http://{host}:{port}", portal_note) + "\n")
    sys.stdout.write(admin_instructions(f"http://{host}:{port}", admin_note) + "\n")
    sys.stdout.flush()
    if start:
        serve(host=host, port=port, workers=1, http="auto")


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
        err.print(f"[red]error:[/red] configuration: {exc}")
        raise SystemExit(2) from None
