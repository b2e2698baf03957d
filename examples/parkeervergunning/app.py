"""A parking-permit application (the consumer). Its logging is the lines marked `# log`: one
decorator says which verwerking the code runs for, each action is logged before it happens (B7952),
and the httpx hook passes the verwerking's headers to the person registry (§10.2)."""

from __future__ import annotations

from typing import Any

import httpx

from verwerkingenlog.client import BufferedLogger, current, httpx_hook, persoon, verwerking

OIN = "00000001001172773000"  # fictitious OIN of the municipality
ACTIVITEIT_ID = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"  # "Parkeervergunningen" in the municipality's VAR
ACTIVITEIT_URL = f"https://var.gemeente.example/api/v1/verwerkingsactiviteit/{ACTIVITEIT_ID}"


class Parkeervergunningen:
    def __init__(self, logger: BufferedLogger, personen_url: str) -> None:
        self.log = logger
        self.personen = httpx.Client(base_url=personen_url, event_hooks={"request": [httpx_hook]})  # log

    @verwerking(ACTIVITEIT_ID, ACTIVITEIT_URL, oin=OIN, bewaartermijn="P2Y", verwerking_naam="Parkeervergunning")  # log
    def aanvragen(self, bsn: str, kenteken: str) -> dict[str, Any]:
        aanvrager = persoon(bsn, "Aanvrager", ["Naam", "Adres"])
        self.log.log(actie_naam="Opvragen persoonsgegevens", objecten=[aanvrager])  # log
        gegevens = self.personen.get(f"/personen/{bsn}").raise_for_status().json()
        self.log.log(actie_naam="Opslaan aanvraag", objecten=[persoon(bsn, "Aanvrager", ["Kenteken"])])  # log
        v = current()  # the verwerking the decorator started; its id goes with the case (B8157)
        assert v is not None
        return {"verwerkingId": v.verwerking_id, "naam": gegevens["naam"], "kenteken": kenteken}
