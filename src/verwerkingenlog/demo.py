"""`make run`: demo clients and ready-to-paste curl commands for a first look at the register."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client, Clients
from verwerkingenlog.store.db import Database

DEMO_BSN = "999990019"  # a test BSN (passes the eleven-test, reserved range), never a real person
DEMO_OIN = "00000001001172773000"


async def ensure_demo_clients(db: Database, wanted: Mapping[str, Sequence[str]]) -> list[Client]:
    clients = Clients(db)
    found = []
    for client_id, scopes in wanted.items():
        client = await clients.get(client_id) or await clients.add(client_id, list(scopes))
        found.append(client)
    return found


def instructions(clients: Sequence[Client], base: str) -> str:
    lines = ["", "Open Verwerkingenlog — demo clients", "=" * 36]
    tokens_by_id = {}
    for c in clients:
        t = tokens.issue(c)
        tokens_by_id[c.client_id] = t
        lines += [f"{c.client_id}  scopes: {', '.join(sorted(c.scopes))}", f"  token: {t}", ""]
    full = tokens_by_id[clients[-1].client_id]
    normaal = tokens_by_id[clients[0].client_id]
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
        f"Interactive API documentation: {api}/docs",
        "",
    ]
    return "\n".join(lines)
