"""A mock person registry (the provider). Its logging is the lines marked `# log`: the middleware reads
the consumer's headers (§10.2), every request runs as the registry's own verwerking, and the entry
records the consumer as afnemer (OIN, activity, verwerkingId, vertrouwelijkheid, bewaartermijn)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from verwerkingenlog.client import BufferedLogger, PropagationWSGIMiddleware, ProviderActivity, persoon

OIN = "00000004003214345001"  # fictitious OIN of the organisation running the registry
ACTIVITEIT_ID = "7d3c1e52-9a41-4b7e-8a8e-2f5d0c6b1a93"  # "Verstrekken van persoonsgegevens" in its VAR
ACTIVITEIT_URL = f"https://var.personen.example/api/v1/verwerkingsactiviteit/{ACTIVITEIT_ID}"

PERSONEN = {
    "999990019": {"naam": "J. de Vries", "adres": "Stationsplein 1, 3511 ED Utrecht"},
    "999990020": {"naam": "A. Jansen", "adres": "Oudegracht 2, 3511 AA Utrecht"},
}


def make_app(logger: BufferedLogger) -> Callable[..., Iterable[bytes]]:
    def personen(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        bsn = environ.get("PATH_INFO", "").rstrip("/").rsplit("/", 1)[-1]
        gevonden = PERSONEN.get(bsn)
        if gevonden is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"detail": "onbekend"}']
        logger.log(  # log: before the data leaves (§13)
            actie_naam="Verstrekken persoonsgegevens",
            objecten=[persoon(bsn, "Betrokkene", ["Naam", "Adres"])],
        )
        body = json.dumps({"bsn": bsn, **gevonden}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    activity = ProviderActivity(ACTIVITEIT_ID, ACTIVITEIT_URL, oin=OIN, verwerking_naam="Verstrekking persoonsgegevens")
    return PropagationWSGIMiddleware(personen, activity)  # log: read the consumer's headers
