"""Domain values to JSON (§3.2, §4.7: every property present, absent optional values as null)."""

from __future__ import annotations

from typing import Any

from verwerkingenlog.domain.model import ACTIE_FIELDS, NOT_FOR_INZAGE, Versie, VerwerktObject
from verwerkingenlog.domain.values import render_registratie


class Renderer:
    """Builds resource URLs from the API root (`…/api/v1`)."""

    def __init__(self, api_root: str) -> None:
        self.root = api_root.rstrip("/")

    def actie_url(self, actie_id: str) -> str:
        return f"{self.root}/verwerkingsacties/{actie_id}"

    def object_url(self, verwerkt_object_id: str) -> str:
        return f"{self.root}/verwerkte-objecten/{verwerkt_object_id}"

    def verwerkt_object(self, o: VerwerktObject) -> dict[str, Any]:
        return {
            "url": self.object_url(o.verwerkt_object_id),
            "verwerktObjectId": o.verwerkt_object_id,
            "objecttype": o.objecttype,
            "soortObjectId": o.soort_object_id,
            "objectId": o.object_id,
            "betrokkenheid": o.betrokkenheid,
            "verwerkteSoortenGegevens": [{"soortGegeven": s} for s in o.soorten_gegevens],
        }

    def actie(self, v: Versie, beperkt: bool = False) -> dict[str, Any]:
        """`VerwerkingsactieUitgebreid`, or `VerwerkingsactieBeperkt` for the Inzage API (R-INZ-6)."""
        out: dict[str, Any] = {"url": self.actie_url(v.actie_id), "actieId": v.actie_id}
        g = v.gegevens
        for json_name, attr in ACTIE_FIELDS:
            if beperkt and json_name in NOT_FOR_INZAGE:
                continue
            out[json_name] = getattr(g, attr)
        out["vertrouwelijkheid"] = g.vertrouwelijkheid.value
        out["tijdstipRegistratie"] = render_registratie(v.tijdstip_registratie_us)
        out["verwerkteObjecten"] = [self.verwerkt_object(o) for o in v.objecten]
        return out

    def versie(self, v: Versie) -> dict[str, Any]:
        """An entry of the version history (decisions.md 3): the full action plus its bookkeeping."""
        out = self.actie(v)
        out["versie"] = v.versie
        out["volgnummer"] = v.seq
        out["vervallen"] = v.vervallen
        return out

    def verwerkt_object_uitgebreid(self, o: VerwerktObject, v: Versie) -> dict[str, Any]:
        """`VerwerktObjectUitgebreid` (§7.1): the nested action shows only this object (R-INZ-7)."""
        out = self.verwerkt_object(o)
        nested = self.actie(v, beperkt=True)
        nested["verwerkteObjecten"] = [self.verwerkt_object(o)]
        out["verwerkingsactie"] = nested
        return out
