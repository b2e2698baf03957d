"""Federation (§16): the portal reads every configured register through its Inzage API, never the database.

Each register is asked with the client library, with the headers §10.3 prescribes for callers of the
Inzage API, so that each lookup is itself logged as a processing by the register that answers it. A register
that cannot be reached is named in the result: the citizen sees partial results, never a silent gap.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from verwerkingenlog.client import AsyncClient, InvalidRequest, VerwerkingenlogError, operations

log = logging.getLogger("verwerkingenlog.portal")

PAGE_SIZE = 1000
MAX_PAGES = 10  # 10 000 entries per register and period: beyond that the citizen narrows the period


@dataclass(frozen=True, slots=True)
class RegisterConfig:
    """A remote register as configured in PORTAL_REGISTERS."""

    naam: str
    url: str
    client_id: str
    secret: str


def parse_registers(raw: str) -> list[RegisterConfig]:
    """PORTAL_REGISTERS: a JSON list of {naam, url, client_id, secret}; a mistake stops the start-up."""
    try:
        items = json.loads(raw or "[]")
    except ValueError as exc:
        raise ValueError(f"PORTAL_REGISTERS is not valid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ValueError("PORTAL_REGISTERS must be a JSON list of registers.")
    out = []
    for i, item in enumerate(items):
        missing = [k for k in ("naam", "url", "client_id", "secret") if not isinstance(item, dict) or not item.get(k)]
        if missing:
            raise ValueError(f"PORTAL_REGISTERS[{i}] lacks {', '.join(missing)}.")
        out.append(RegisterConfig(str(item["naam"]), str(item["url"]), str(item["client_id"]), str(item["secret"])))
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    """One processing of the citizen's data as one register reported it (an Inzage result)."""

    register: str
    verwerkt_object_id: str
    actie_id: str
    tijdstip: str
    actie_naam: str | None
    handeling_naam: str | None
    verwerking_naam: str | None
    verwerking_id: str | None
    verwerking_id_afnemer: str | None
    vertrouwelijkheid: str | None
    bewaartermijn: str | None
    uitvoerder: str | None
    soort_afnemer_id: str | None
    afnemer_id: str | None
    betrokkenheid: str | None
    soorten_gegevens: tuple[str, ...]
    organisatie: str | None
    bestuursorgaan: str | None
    uitleg: Mapping[str, Mapping[str, Any]]
    verwerkingsactiviteit_id_afnemer: str | None = None  # §10.4: the caller's activity (the portal's, for its reads)

    def explained(self, lang: str) -> Mapping[str, Any]:
        """The VAR's plain-language texts in `lang`, else Dutch (always present), else nothing."""
        return self.uitleg.get(lang) or self.uitleg.get("nl") or {}

    def as_json(self) -> dict[str, Any]:
        return {
            "register": self.register,
            "verwerktObjectId": self.verwerkt_object_id,
            "actieId": self.actie_id,
            "tijdstip": self.tijdstip,
            "actieNaam": self.actie_naam,
            "handelingNaam": self.handeling_naam,
            "verwerkingNaam": self.verwerking_naam,
            "verwerkingId": self.verwerking_id,
            "verwerkingIdAfnemer": self.verwerking_id_afnemer,
            "verwerkingsactiviteitIdAfnemer": self.verwerkingsactiviteit_id_afnemer,
            "vertrouwelijkheid": self.vertrouwelijkheid,
            "bewaartermijn": self.bewaartermijn,
            "uitvoerder": self.uitvoerder,
            "soortAfnemerId": self.soort_afnemer_id,
            "afnemerId": self.afnemer_id,
            "betrokkenheid": self.betrokkenheid,
            "verwerkteSoortenGegevens": list(self.soorten_gegevens),
            "verantwoordelijkeOrganisatie": self.organisatie,
            "verantwoordelijkeBestuursorgaan": self.bestuursorgaan,
            "uitleg": {k: dict(v) for k, v in self.uitleg.items()},
        }


def entry_from_json(register: str, data: Mapping[str, Any]) -> Entry:
    """An Inzage result with `_expand.verwerkingsactiviteit` (docs/var.md) as an Entry."""
    actie = data.get("verwerkingsactie") or {}
    activiteit = (data.get("_expand") or {}).get("verwerkingsactiviteit") or {}
    return Entry(
        register=register,
        verwerkt_object_id=str(data.get("verwerktObjectId") or ""),
        actie_id=str(actie.get("actieId") or ""),
        tijdstip=str(actie.get("tijdstip") or ""),
        actie_naam=actie.get("actieNaam"),
        handeling_naam=actie.get("handelingNaam"),
        verwerking_naam=actie.get("verwerkingNaam"),
        verwerking_id=actie.get("verwerkingId"),
        verwerking_id_afnemer=actie.get("verwerkingIdAfnemer"),
        vertrouwelijkheid=actie.get("vertrouwelijkheid"),
        bewaartermijn=actie.get("bewaartermijn"),
        uitvoerder=actie.get("uitvoerder"),
        soort_afnemer_id=actie.get("soortAfnemerId"),
        afnemer_id=actie.get("afnemerId"),
        betrokkenheid=data.get("betrokkenheid"),
        soorten_gegevens=tuple(
            str(s.get("soortGegeven")) for s in data.get("verwerkteSoortenGegevens") or () if s.get("soortGegeven")
        ),
        organisatie=activiteit.get("verantwoordelijkeOrganisatie"),
        bestuursorgaan=activiteit.get("verantwoordelijkeBestuursorgaan"),
        uitleg=activiteit.get("uitleg") or {},
        verwerkingsactiviteit_id_afnemer=actie.get("verwerkingsactiviteitIdAfnemer"),
    )


@dataclass(frozen=True, slots=True)
class Bron:
    """A register the portal reads, with the client that reads it."""

    naam: str
    client: AsyncClient


@dataclass(slots=True)
class Lookup:
    """The merged answer of all registers, and the names of those that did not answer."""

    entries: list[Entry] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def _refuses_expand(error: InvalidRequest) -> bool:
    return any(p.name == "expand" for p in error.invalid_params)


def _inzage(bsn: str, begin: date, eind: date, page: int, headers: Mapping[str, str], expand: bool) -> operations.Call:
    extensions = ("verwerkingsactiviteit",) if expand else ()
    return operations.inzage_list(
        bsn, "BSN", "persoon", begin, eind, None, page, PAGE_SIZE, dict(headers), expand=extensions
    )


async def _one(bron: Bron, bsn: str, begin: date, eind: date, headers: Mapping[str, str]) -> list[Entry]:
    """All pages of one register. `expand=verwerkingsactiviteit` is this register's extension (docs/var.md):
    a register of another make that refuses it is asked again without, and its entries go unexplained."""
    out: list[Entry] = []
    expand = True
    for page in range(1, MAX_PAGES + 1):
        try:
            data = (await bron.client.send(_inzage(bsn, begin, eind, page, headers, expand))).json()
        except InvalidRequest as exc:
            if not (expand and page == 1 and _refuses_expand(exc)):
                raise
            expand = False
            data = (await bron.client.send(_inzage(bsn, begin, eind, page, headers, expand))).json()
        out += [entry_from_json(bron.naam, r) for r in data.get("results") or ()]
        if not data.get("next"):
            break
    return out


async def lookup(bronnen: Sequence[Bron], bsn: str, begin: date, eind: date, headers: Mapping[str, str]) -> Lookup:
    """Ask every register at once; merge their entries, newest first, and name the ones that failed.
    The reason is logged for the operator (without the BSN); the citizen is told which register is missing."""
    answers = await asyncio.gather(*(_one(b, bsn, begin, eind, headers) for b in bronnen), return_exceptions=True)
    result = Lookup()
    for bron, answer in zip(bronnen, answers, strict=True):
        if isinstance(answer, VerwerkingenlogError):
            log.warning("Portal: register %r could not be read: %s", bron.naam, type(answer).__name__)
            result.unreachable.append(bron.naam)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            result.entries += answer
    result.entries.sort(key=lambda e: e.tijdstip, reverse=True)
    return result
