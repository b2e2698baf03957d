"""Value types of the information model (§3): a verwerkingsactie version and its verwerkte objecten.

The standard's "UGM" flattens verwerking, handeling and actie into one record; so do we.
`ACTIE_FIELDS` is the single list of client-settable top-level attributes (§3.2, R-PUT-1):
validation, rendering and storage all derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from verwerkingenlog.domain.values import Vertrouwelijkheid

# (JSON name, attribute name) of every client-settable scalar of a verwerkingsactie, in spec order.
ACTIE_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("actieNaam", "actie_naam"),
    ("handelingNaam", "handeling_naam"),
    ("verwerkingNaam", "verwerking_naam"),
    ("verwerkingId", "verwerking_id"),
    ("verwerkingsactiviteitId", "verwerkingsactiviteit_id"),
    ("verwerkingsactiviteitUrl", "verwerkingsactiviteit_url"),
    ("vertrouwelijkheid", "vertrouwelijkheid"),
    ("bewaartermijn", "bewaartermijn"),
    ("uitvoerder", "uitvoerder"),
    ("systeem", "systeem"),
    ("gebruiker", "gebruiker"),
    ("gegevensbron", "gegevensbron"),
    ("soortAfnemerId", "soort_afnemer_id"),
    ("afnemerId", "afnemer_id"),
    ("verwerkingsactiviteitIdAfnemer", "verwerkingsactiviteit_id_afnemer"),
    ("verwerkingsactiviteitUrlAfnemer", "verwerkingsactiviteit_url_afnemer"),
    ("verwerkingIdAfnemer", "verwerking_id_afnemer"),
    ("tijdstip", "tijdstip"),
)

# R-INZ-6 / R-PRIV-3: never shown through the Inzage API, not even as null keys.
NOT_FOR_INZAGE: Final[frozenset[str]] = frozenset({"systeem", "gebruiker", "gegevensbron"})


@dataclass(frozen=True, slots=True)
class VerwerktObject:
    """A person involved in an action (§3.3). `verwerkt_object_id` is stable across versions (R-VER-6)."""

    verwerkt_object_id: str
    objecttype: str
    soort_object_id: str
    object_id: str
    betrokkenheid: str | None = None
    soorten_gegevens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NieuwObject:
    """An object as a client sends it: no id yet, or an echoed id (PUT, R-PUT-5)."""

    objecttype: str
    soort_object_id: str
    object_id: str
    betrokkenheid: str | None = None
    soorten_gegevens: tuple[str, ...] = ()
    verwerkt_object_id: str | None = None


@dataclass(frozen=True, slots=True)
class Actiegegevens:
    """The client-settable attributes of a verwerkingsactie (everything but ids and objects)."""

    tijdstip: str
    tijdstip_us: int
    vertrouwelijkheid: Vertrouwelijkheid
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


@dataclass(frozen=True, slots=True)
class Versie:
    """One stored version of a logical action (B3891, §8.3).

    `actie_id` is new for every version (R-VER-1); `lineage_id` ties the versions of one action
    together (R-VER-2); `seq` is the register-wide monotonic sequence assigned on insert.
    """

    actie_id: str
    lineage_id: str
    versie: int
    vervallen: bool
    tijdstip_registratie_us: int
    gegevens: Actiegegevens
    objecten: tuple[VerwerktObject, ...] = field(default=())
    seq: int | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    """The search criteria shared by the Bewerking list (§6.2) and the Inzage list (§7.1).

    `vertrouwelijkheid` None means no confidentiality filter; `period_*` None means open.
    """

    objecttype: str
    soort_object_id: str
    object_id: str
    begin_us: int | None = None
    end_us: int | None = None
    vertrouwelijkheid: frozenset[Vertrouwelijkheid] | None = None
    verwerkingsactiviteit_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConsumerHeaders:
    """The headers a consumer propagates about its own processing (§10.2), already validated."""

    oin: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    verwerking_id: str | None = None
    vertrouwelijkheid: Vertrouwelijkheid | None = None
    bewaartermijn: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated, registered client and the scopes of its registration (§4.3)."""

    client_id: str
    scopes: frozenset[str]
