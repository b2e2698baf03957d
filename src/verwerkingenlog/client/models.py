"""Typed models of the wire formats (§3.2, §3.3, §7.1, §17.3): plain dataclasses, no pydantic, so the
client installs without the register's dependencies. Python names are snake_case; `to_json` and
`from_json` translate to and from the standard's JSON names. Unknown JSON properties are ignored
when reading, so a newer register does not break an older client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from verwerkingenlog.domain.model import ACTIE_FIELDS

T = TypeVar("T")

# The field table is shared with the register: `domain.model` is pure standard-library Python, so importing
# it keeps the client free of server dependencies (tests/test_client_standalone.py).
JSON_NAME = dict((attr, name) for name, attr in ACTIE_FIELDS)


def now() -> str:
    """B2017: `tijdstip` is the moment the action starts, with an explicit offset (R-VAL-4)."""
    return datetime.now().astimezone().isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class VerwerktObject:
    """A person involved in an action (§3.3). `url`/`verwerkt_object_id` are set by the register."""

    object_id: str
    soort_object_id: str = "BSN"
    objecttype: str = "persoon"
    betrokkenheid: str | None = None
    soorten_gegevens: Sequence[str] = ()
    verwerkt_object_id: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "objecttype": self.objecttype,
            "soortObjectId": self.soort_object_id,
            "objectId": self.object_id,
            "betrokkenheid": self.betrokkenheid,
            "verwerkteSoortenGegevens": [{"soortGegeven": s} for s in self.soorten_gegevens],
        }
        if self.verwerkt_object_id is not None:
            out["verwerktObjectId"] = self.verwerkt_object_id  # R-PUT-5: keeps the object's identity
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerwerktObject:
        return cls(**_object_kwargs(data))


def _object_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "object_id": data["objectId"],
        "soort_object_id": data["soortObjectId"],
        "objecttype": data["objecttype"],
        "betrokkenheid": data.get("betrokkenheid"),
        "soorten_gegevens": tuple(s["soortGegeven"] for s in data.get("verwerkteSoortenGegevens") or ()),
        "verwerkt_object_id": data.get("verwerktObjectId"),
        "url": data.get("url"),
    }


def persoon(
    bsn: str,
    betrokkenheid: str | None = None,
    soorten_gegevens: Sequence[str] = (),
    soort_object_id: str = "BSN",
) -> VerwerktObject:
    """A natural person identified by BSN (or, for private-law tasks, another identifier, B7972)."""
    return VerwerktObject(bsn, soort_object_id, "persoon", betrokkenheid, tuple(soorten_gegevens))


@dataclass(frozen=True, slots=True)
class Verwerkingsactie:
    """One logged action (§3.2). Unset values are sent as absent (`null`).

    `vertrouwelijkheid` defaults to `normaal` and `tijdstip` to now when sent; the buffered logger fills
    unset values from the current `verwerking(...)` context first (propagation).
    """

    verwerkte_objecten: Sequence[VerwerktObject] = ()
    vertrouwelijkheid: str | None = None
    tijdstip: str | None = None
    actie_naam: str | None = None
    handeling_naam: str | None = None
    verwerking_naam: str | None = None
    verwerking_id: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    bewaartermijn: str | None = None
    uitvoerder: str | None = None
    systeem: str | None = None
    gebruiker: str | None = None
    gegevensbron: str | None = None
    soort_afnemer_id: str | None = None
    afnemer_id: str | None = None
    verwerkingsactiviteit_id_afnemer: str | None = None
    verwerkingsactiviteit_url_afnemer: str | None = None
    verwerking_id_afnemer: str | None = None
    # Set by the register (read-only):
    actie_id: str | None = None
    url: str | None = None
    tijdstip_registratie: str | None = None

    def to_json(self, complete: bool = False) -> dict[str, Any]:
        """The request body. `complete=True` sends every key (PUT needs all of them, R-PUT-1)."""
        out: dict[str, Any] = {}
        for name, attr in ACTIE_FIELDS:
            value = getattr(self, attr)
            if value is not None or complete:
                out[name] = value
        out["vertrouwelijkheid"] = self.vertrouwelijkheid or "normaal"
        out["tijdstip"] = self.tijdstip or now()
        out["verwerkteObjecten"] = [o.to_json() for o in self.verwerkte_objecten]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verwerkingsactie:
        return cls(**_actie_kwargs(data))


def _actie_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {attr: data.get(name) for name, attr in ACTIE_FIELDS}
    kwargs["verwerkte_objecten"] = tuple(VerwerktObject.from_json(o) for o in data.get("verwerkteObjecten") or ())
    kwargs["actie_id"] = data.get("actieId")
    kwargs["url"] = data.get("url")
    kwargs["tijdstip_registratie"] = data.get("tijdstipRegistratie")
    return kwargs


@dataclass(frozen=True, slots=True)
class Versie(Verwerkingsactie):
    """One version of an action from the history extension (`/versies`, decisions.md 3)."""

    versie: int = 0
    volgnummer: int | None = None
    vervallen: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Versie:
        return cls(
            **_actie_kwargs(data),
            versie=int(data.get("versie") or 0),
            volgnummer=data.get("volgnummer"),
            vervallen=bool(data.get("vervallen")),
        )


@dataclass(frozen=True, slots=True)
class VerwerktObjectUitgebreid(VerwerktObject):
    """An Inzage result (§7.1): the object with its action in the restricted field set (R-INZ-6)."""

    verwerkingsactie: Verwerkingsactie | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerwerktObjectUitgebreid:
        nested = data.get("verwerkingsactie")
        return cls(
            **_object_kwargs(data),
            verwerkingsactie=None if nested is None else Verwerkingsactie.from_json(nested),
        )


@dataclass(frozen=True, slots=True)
class VerwerktPersoonsgegeven:
    rol_betrokkene: str | None = None
    naam: str | None = None


_VAR_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "id"),
    ("naam", "naam"),
    ("verantwoordelijkeOrganisatie", "verantwoordelijke_organisatie"),
    ("doel", "doel"),
    ("grondslag", "grondslag"),
    ("gebaseerdOp", "gebaseerd_op"),
    ("categorie", "categorie"),
    ("verantwoordelijkeBestuursorgaan", "verantwoordelijke_bestuursorgaan"),
    ("toelichtingGrondslag", "toelichting_grondslag"),
    ("bewaartermijn", "bewaartermijn"),
    ("herkomst", "herkomst"),
)


@dataclass(frozen=True, slots=True)
class Verwerkingsactiviteit:
    """A processing activity of the VAR (§17.3). `etag` comes from the response header (single GET)."""

    id: str
    naam: str
    verantwoordelijke_organisatie: str
    doel: str
    grondslag: str
    gebaseerd_op: str | None = None
    categorie: str | None = None
    verantwoordelijke_bestuursorgaan: str | None = None
    toelichting_grondslag: str | None = None
    bewaartermijn: str | None = None
    herkomst: str | None = None
    afnemende_internationale_derden: tuple[str, ...] = ()
    afnemende_categorie_ontvangers: tuple[str, ...] = ()
    verwerkte_persoonsgegevens: tuple[VerwerktPersoonsgegeven, ...] = ()
    etag: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], etag: str | None = None) -> Verwerkingsactiviteit:
        kwargs: dict[str, Any] = {attr: data.get(name) for name, attr in _VAR_FIELDS}
        return cls(
            **kwargs,
            afnemende_internationale_derden=tuple(data.get("afnemendeInternationaleDerden") or ()),
            afnemende_categorie_ontvangers=tuple(data.get("afnemendeCategorieOntvangers") or ()),
            verwerkte_persoonsgegevens=tuple(
                VerwerktPersoonsgegeven(p.get("rolBetrokkene"), p.get("naam"))
                for p in data.get("verwerktePersoonsgegevens") or ()
            ),
            etag=etag,
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list operation (§4.8): `count` over all pages, `next`/`previous` as URLs."""

    count: int
    results: list[T] = field(default_factory=list)
    next: str | None = None
    previous: str | None = None
