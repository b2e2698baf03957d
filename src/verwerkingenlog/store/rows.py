"""Conversion between domain values and table rows, including pseudonymisation (R-PRIV-1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from verwerkingenlog.domain.model import Actiegegevens, Versie, VerwerktObject
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.store.pseudonymisation import Pseudonymiser

_OBJECT_CTX = b"verwerkt_object.object_id"
_AFNEMER_CTX = b"verwerkingsactie.afnemer_id"
# What `json.dumps(..., ensure_ascii=False)` builds on every call, built once (the stored text is the same).
_soorten_json = json.JSONEncoder(ensure_ascii=False).encode

_SCALARS = (
    "actie_naam",
    "handeling_naam",
    "verwerking_naam",
    "verwerking_id",
    "verwerkingsactiviteit_id",
    "verwerkingsactiviteit_url",
    "bewaartermijn",
    "uitvoerder",
    "systeem",
    "gebruiker",
    "gegevensbron",
    "soort_afnemer_id",
    "verwerkingsactiviteit_id_afnemer",
    "verwerkingsactiviteit_url_afnemer",
    "verwerking_id_afnemer",
)


class RowCodec:
    def __init__(self, pseudo: Pseudonymiser) -> None:
        self.pseudo = pseudo

    def versie_row(self, v: Versie) -> dict[str, Any]:
        g = v.gegevens
        row: dict[str, Any] = {name: getattr(g, name) for name in _SCALARS}
        afnemer_plain, afnemer_enc = g.afnemer_id, None
        if g.afnemer_id is not None and self.pseudo.protects(g.soort_afnemer_id):
            afnemer_plain, afnemer_enc = None, self.pseudo.seal(g.afnemer_id, _AFNEMER_CTX)
        row.update(
            actie_id=v.actie_id,
            lineage_id=v.lineage_id,
            versie=v.versie,
            vervallen=v.vervallen,
            tijdstip_registratie_us=v.tijdstip_registratie_us,
            client_id=v.client_id,
            tijdstip=g.tijdstip,
            tijdstip_us=g.tijdstip_us,
            vertrouwelijkheid=g.vertrouwelijkheid.value,
            afnemer_id=afnemer_plain,
            afnemer_id_enc=afnemer_enc,
        )
        return row

    def object_rows(self, seq: int, v: Versie) -> list[dict[str, Any]]:
        rows = []
        for pos, o in enumerate(v.objecten):
            protect = self.pseudo.protects_object(o.objecttype, o.soort_object_id)
            rows.append(
                {
                    "versie_seq": seq,
                    "positie": pos,
                    "verwerkt_object_id": o.verwerkt_object_id,
                    "objecttype": o.objecttype,
                    "soort_object_id": o.soort_object_id,
                    "object_id": None if protect else o.object_id,
                    "object_id_enc": self.pseudo.seal(o.object_id, _OBJECT_CTX) if protect else None,
                    "object_sleutel": self.pseudo.sleutel(o.soort_object_id, o.object_id),
                    "tijdstip_us": v.gegevens.tijdstip_us,
                    "betrokkenheid": o.betrokkenheid,
                    "soorten_gegevens": _soorten_json(list(o.soorten_gegevens)),
                    "tijdstip_registratie_us": v.tijdstip_registratie_us,
                }
            )
        return rows

    def sealed_object_id(self, soort: str, object_id: str) -> tuple[bytes, bytes]:
        """(object_id_enc, object_sleutel) of an objectId, as `object_rows` stores a pseudonymised one."""
        return self.pseudo.seal(object_id, _OBJECT_CTX), self.pseudo.sleutel(soort, object_id)

    def opened_object_id(self, sealed: bytes) -> str:
        return self.pseudo.open(sealed, _OBJECT_CTX)

    def versie(self, row: Mapping[Any, Any], objecten: tuple[VerwerktObject, ...]) -> Versie:
        afnemer = row["afnemer_id"]
        if row["afnemer_id_enc"] is not None:
            afnemer = self.pseudo.open(bytes(row["afnemer_id_enc"]), _AFNEMER_CTX)
        scalars = {name: row[name] for name in _SCALARS}
        gegevens = Actiegegevens(
            tijdstip=row["tijdstip"],
            tijdstip_us=row["tijdstip_us"],
            vertrouwelijkheid=Vertrouwelijkheid(row["vertrouwelijkheid"]),
            afnemer_id=afnemer,
            **scalars,
        )
        return Versie(
            actie_id=row["actie_id"],
            lineage_id=row["lineage_id"],
            versie=row["versie"],
            vervallen=bool(row["vervallen"]),
            tijdstip_registratie_us=row["tijdstip_registratie_us"],
            gegevens=gegevens,
            objecten=objecten,
            seq=row["seq"],
            client_id=row["client_id"],
        )

    def object(self, row: Mapping[Any, Any]) -> VerwerktObject:
        value = row["object_id"]
        if row["object_id_enc"] is not None:
            value = self.pseudo.open(bytes(row["object_id_enc"]), _OBJECT_CTX)
        return VerwerktObject(
            verwerkt_object_id=row["verwerkt_object_id"],
            objecttype=row["objecttype"],
            soort_object_id=row["soort_object_id"],
            object_id=value,
            betrokkenheid=row["betrokkenheid"],
            soorten_gegevens=tuple(json.loads(row["soorten_gegevens"])),
        )
