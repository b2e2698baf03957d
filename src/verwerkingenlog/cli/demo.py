"""`demo` (`make run`): demo clients and ready-to-paste curl commands for a first look at the register.

The example VAR it loads is package data (`cli/data/var-voorbeeld.csv`), so the demo also works from a wheel;
`examples/var-voorbeeld.csv` is the user-facing copy of the same file (tests/test_var_demo.py keeps them equal).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from verwerkingenlog.cli import console
from verwerkingenlog.cli.serve import serve
from verwerkingenlog.domain.scopes import ALL_SCOPES, NORMAL_SCOPES
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client, Clients
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database

DEMO_BSN = "999990019"  # a test BSN (passes the eleven-test, reserved range), never a real person
DEMO_OIN = "00000001001172773000"
# The example VAR of the demo municipality (DEMO_OIN), loaded by `make run`; see docs/var.md.
EXAMPLE_VAR = Path(__file__).resolve().parent / "data" / "var-voorbeeld.csv"
PARKEREN = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"  # "Aanvraag parkeervergunning" in the example VAR
# Deliberately NOT in the example VAR: the doelbinding report (GET /doelbinding) shows it as `onbekend`.
ONBEKENDE_ACTIVITEIT = "0bad0bad-1e55-4c0d-9e00-00000000d0e1"
DEMO_SYSTEMEN = ("ParkeerApp v1.0 (demo)", "MeldingenApp v3.2 (demo)")


async def ensure_demo_clients(db: Database, wanted: Mapping[str, Sequence[str]]) -> list[Client]:
    clients = Clients(db)
    found = []
    for client_id, scopes in wanted.items():
        client = await clients.get(client_id) or await clients.add(client_id, list(scopes))
        found.append(client)
    return found


async def load_example_var(db: Database) -> str:
    """Import the example VAR (examples/var-voorbeeld.csv) as `verwerkingenlog var import` does; unchanged rows
    change nothing, so every `make run` may do it again."""
    from verwerkingenlog.domain.model import Caller
    from verwerkingenlog.domain.scopes import KNOWN_SCOPES
    from verwerkingenlog.services.var import Uitkomst, VarService
    from verwerkingenlog.services.var_import import parse_rows, read_table

    if not EXAMPLE_VAR.is_file():
        return f"Example VAR not found at {EXAMPLE_VAR}; import your own with `verwerkingenlog var import FILE`."
    ingelezen = parse_rows(read_table(EXAMPLE_VAR))
    items = [(i, g) for _, i, g in ingelezen.rijen]
    results = await VarService(db).apply(Caller("demo", frozenset(KNOWN_SCOPES)), items)
    new = sum(1 for r in results if r is not Uitkomst.ONGEWIJZIGD)
    return f"Example VAR {EXAMPLE_VAR.name}: {len(items)} activities ({new} new or changed)."


async def log_demo_actions(db: Database, settings: Settings, client: Client) -> None:
    """Two actions about the demo person, once: one explained by the example VAR, and one whose activity
    the VAR does not know (the log accepts it, §17.4; the doelbinding report shows it)."""
    from sqlalchemy import func, select

    from verwerkingenlog.api.app import build_register
    from verwerkingenlog.domain.model import Actiegegevens, Caller, NieuwObject
    from verwerkingenlog.domain.values import Vertrouwelijkheid, moment_value
    from verwerkingenlog.store.tables import versie

    async with db.reading() as conn:
        stmt = select(func.count()).select_from(versie).where(versie.c.systeem.in_(DEMO_SYSTEMEN))
        if (await conn.execute(stmt)).scalar_one():
            return
    register = build_register(settings, db)
    caller = Caller(client.client_id, client.scopes)
    now = moment_value(datetime.now(UTC).replace(microsecond=0).isoformat())
    persoon = NieuwObject("persoon", "BSN", DEMO_BSN, "Aanvrager", ("Adres", "Kenteken"))
    for systeem, activiteit, verwerking in (
        (DEMO_SYSTEMEN[0], PARKEREN, "Aanvraag parkeervergunning"),
        (DEMO_SYSTEMEN[1], ONBEKENDE_ACTIVITEIT, "Melding openbare ruimte"),
    ):
        gegevens = Actiegegevens(
            tijdstip=now.text,
            tijdstip_us=now.epoch_us,
            vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
            actie_naam="Opslaan persoonsgegevens",
            verwerking_naam=verwerking,
            verwerking_id=str(uuid.uuid4()),
            verwerkingsactiviteit_id=activiteit,
            bewaartermijn="P2Y",
            systeem=systeem,
        )
        await register.create(caller, gegevens, [persoon])


def instructions(clients: Sequence[Client], base: str) -> str:
    lines = ["", "Open Verwerkingenlog — demo clients", "=" * 36]
    tokens_by_id = {}
    for c in clients:
        t = tokens.issue(c)
        tokens_by_id[c.client_id] = t
        lines += [f"{c.client_id}  scopes: {', '.join(sorted(c.scopes))}", f"  token: {t}", ""]
    full = tokens_by_id[clients[-1].client_id]
    normaal = tokens_by_id[clients[0].client_id]
    fg = tokens_by_id.get("demo-fg", full)
    actie = {
        "actieNaam": "Opvragen persoonsgegevens",
        "handelingNaam": "Intake",
        "verwerkingNaam": "Aanvraag parkeervergunning",
        "verwerkingId": str(uuid.uuid4()),
        "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
        "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P10Y",
        "systeem": "ParkeerApp v1.0",
        "tijdstip": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "verwerkteObjecten": [
            {
                "objecttype": "persoon",
                "soortObjectId": "BSN",
                "objectId": DEMO_BSN,
                "betrokkenheid": "Aanvrager",
                "verwerkteSoortenGegevens": [{"soortGegeven": "Adres"}, {"soortGegeven": "Kenteken"}],
            }
        ],
    }
    api = f"{base}/api/v1"
    today = datetime.now(UTC).date()
    begin = today.replace(day=1).isoformat()
    end = f"{today.year + 1}-01-01"
    lines += [
        "Tokens are valid for JWT_MAX_AGE_SECONDS (default 1 hour);",
        "`verwerkingenlog token demo-alles` makes a new one.",
        "",
        "1) Log an action (Bewerking API, any registered client):",
        f"curl -s -X POST {api}/verwerkingsacties -H 'Authorization: Bearer {normaal}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(actie)}'",
        "",
        "2) List the actions about this person (Bewerking API, read:normal needs vertrouwelijkheid=normaal):",
        f"curl -s '{api}/verwerkingsacties?objecttype=persoon&soortObjectId=BSN&objectId={DEMO_BSN}"
        f"&vertrouwelijkheid=normaal' -H 'Authorization: Bearer {normaal}'",
        "",
        "3) What the citizen sees (Inzage API, restricted fields; the caller identifies itself with headers):",
        f"curl -s '{api}/verwerkte-objecten?objecttype=persoon&soortObjectId=BSN&objectId={DEMO_BSN}"
        f"&beginDatum={begin}&eindDatum={end}' -H 'Authorization: Bearer {full}' "
        f"-H 'OIN: {DEMO_OIN}' -H 'VerwerkingsactiviteitId: 3c1f0b1e-6d0a-4e55-9b5e-0a3f7c9d2b11' "
        f"-H 'VerwerkingsactiviteitUrl: {api}/verwerkingsactiviteit/3c1f0b1e-6d0a-4e55-9b5e-0a3f7c9d2b11'",
        "",
        "4) The same, each result explained in plain Dutch and English by the VAR (extension expand=...):",
        f"curl -s '{api}/verwerkte-objecten?objecttype=persoon&soortObjectId=BSN&objectId={DEMO_BSN}"
        f"&beginDatum={begin}&eindDatum={end}&expand=verwerkingsactiviteit' -H 'Authorization: Bearer {full}' "
        f"-H 'OIN: {DEMO_OIN}' -H 'VerwerkingsactiviteitId: 3c1f0b1e-6d0a-4e55-9b5e-0a3f7c9d2b11' "
        f"-H 'VerwerkingsactiviteitUrl: {api}/verwerkingsactiviteit/3c1f0b1e-6d0a-4e55-9b5e-0a3f7c9d2b11'",
        "",
        "5) The register of processing activities (VAR API) of the demo municipality:",
        f"curl -s '{api}/verwerkingsactiviteiten?verantwoordelijkeOrganisatie={DEMO_OIN}' "
        f"-H 'Authorization: Bearer {normaal}'",
        "",
        f"6) The doelbinding report for the FG: entries whose activity is unknown ({ONBEKENDE_ACTIVITEIT}),",
        "   retired or another organisation's (the log accepts them all; scope fg:read):",
        f"curl -s '{api}/doelbinding' -H 'Authorization: Bearer {fg}'",
        "",
        f"Interactive API documentation: {api}/docs",
        "",
    ]
    return "\n".join(lines)


# Demo citizens of the portal's demo login: DEMO_BSN has the demo actions; the second has none (yet).
DEMO_CITIZENS = (DEMO_BSN, "999993653")


def enable_demo_portal() -> str | None:
    """`make run` turns on the portal's demo login (docs/portal.md) — only when no real OpenID login is
    configured, since the portal refuses to start with both. Values already in the environment win."""
    if os.environ.get("PORTAL_OIDC_ISSUER"):
        return "PORTAL_OIDC_ISSUER is set: the portal uses that login; the demo login stays off."
    os.environ.setdefault("PORTAL_DEMO_LOGIN", "true")
    os.environ.setdefault("PORTAL_OIN", DEMO_OIN)
    os.environ.setdefault("PORTAL_DEMO_CITIZENS", ",".join(DEMO_CITIZENS))
    return None


def enable_demo_metrics(port: int) -> None:
    """`make run` serves /metrics on a listener of its own (METRICS_ADDRESS, 127.0.0.1 and the API port + 1000), as
    a deployment should (docs/deployment.md, Monitoring); values already in the environment win."""
    if not os.environ.get("METRICS_TOKEN"):
        os.environ.setdefault("METRICS_ADDRESS", f"127.0.0.1:{port + 1000 if port <= 64535 else port - 1000}")


def enable_demo_admin() -> str | None:
    """`make run` turns on the admin pages' demo login (docs/admin.md) — only when no real OpenID login is
    configured, since the admin pages refuse to start with both. Values already in the environment win."""
    if os.environ.get("ADMIN_OIDC_ISSUER"):
        return "ADMIN_OIDC_ISSUER is set: the admin pages use that login; the demo login stays off."
    os.environ.setdefault("ADMIN_DEMO_LOGIN", "true")
    return None


def admin_instructions(base: str, note: str | None = None) -> str:
    lines = [
        "Beheer — the admin and privacy officer (FG) pages",
        "=" * 49,
        f"Open {base}/beheer/ in a browser.",
    ]
    if note:
        lines.append(note)
    else:
        lines += [
            "Demo login (clearly marked DEMO): pick the role 'Demo-beheerder' to manage API clients (also with a",
            "public key instead of a secret), the VAR and its import, or 'Demo-FG' for the doelbinding report, the",
            "integrity status and the audit trail. Never enable ADMIN_DEMO_LOGIN in production.",
        ]
    return "\n".join([*lines, ""])


def portal_instructions(base: str, note: str | None = None) -> str:
    lines = [
        "Mijn verwerkingen — the citizen portal",
        "=" * 38,
        f"Open {base}/portaal/ in a browser.",
    ]
    if note:
        lines.append(note)
    else:
        lines += [
            f"Demo login (clearly marked DEMO): pick citizen {DEMO_BSN} to see the demo processings explained in",
            "plain language, and download the PDF report; or pick the machtiging to see them as a parent would.",
            "Never enable PORTAL_DEMO_LOGIN in production.",
        ]
    return "\n".join([*lines, ""])


DEMO_CLIENTS = {
    "demo-normaal": NORMAL_SCOPES,
    "demo-fg": ("read:normal", "var:write", "fg:read"),  # the VAR's manager and the privacy officer (FG)
    "demo-alles": ALL_SCOPES,
}


def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    start: Annotated[bool, typer.Option(help="Start the server after printing the demo.")] = True,
) -> None:
    """Create the demo clients (if needed), load the example VAR and two demo actions (once), print the
    tokens and ready-to-paste curl commands, and turn on the portal's and the admin pages' demo logins."""
    portal_note = enable_demo_portal()
    enable_demo_metrics(port)
    admin_note = enable_demo_admin()

    async def prepare(db: Database) -> list[Client]:
        found = await ensure_demo_clients(db, DEMO_CLIENTS)
        console.out.print(await load_example_var(db))
        await log_demo_actions(db, Settings(), found[0])
        return found

    found = console.run(prepare)
    sys.stdout.write(instructions(found, f"http://{host}:{port}") + "\n")
    sys.stdout.write(portal_instructions(f"http://{host}:{port}", portal_note) + "\n")
    sys.stdout.write(admin_instructions(f"http://{host}:{port}", admin_note) + "\n")
    sys.stdout.flush()
    if start:
        serve(host=host, port=port, workers=1, http="auto")


def register(app: typer.Typer) -> None:
    app.command()(demo)
