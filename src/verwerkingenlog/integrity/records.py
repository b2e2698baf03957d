"""The record each leaf of the register's Merkle log covers: one stored version, as plain JSON values.

A leaf hash is ``SHA-256(0x00 || JCS(record))`` (`integrity.canonical`); this module defines the records, so
that anyone holding a version's data can rebuild its leaf byte for byte. The field lists are explicit and
frozen per format (``"formaat": 1``): adding a field to the domain does not silently change the leaves of
versions stored earlier. docs/integrity.md §2 lists every field; tests/test_integrity_records.py fails when
the domain grows a field that no record covers.

Rules (docs/integrity.md §2):

- every field is present; an absent optional value is ``null`` (as the API renders it, §4.7);
- identifiers are the lowercase strings the register stores; ``tijdstip`` is the text as supplied (R-VAL-4);
  ``tijdstipRegistratie`` is rendered as the API renders it (UTC, microseconds, ``+00:00``);
- no URL: the base URL is a deployment detail, the record is not;
- objects keep their stored order (``positie``).

Pure: imports the domain only, so that the standalone verifier can rebuild records without the server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from verwerkingenlog.domain.logboek import Logboekregel
from verwerkingenlog.domain.model import Versie, VerwerktObject
from verwerkingenlog.domain.values import render_registratie
from verwerkingenlog.domain.var import ActiviteitVersie

__all__ = [
    "ACTIE_RECORD_FIELDS",
    "ACTIVITEIT_RECORD_FIELDS",
    "FORMAT",
    "KINDS",
    "KIND_ACTIE",
    "KIND_ACTIVITEIT",
    "KIND_HERPSEUDONIMISERING",
    "KIND_LOGBOEKREGEL",
    "KIND_PURGE",
    "LOGBOEKREGEL_RECORD_FIELDS",
    "HerpseudonimiseringEntry",
    "LogboekregelEntry",
    "PurgeEntry",
    "actie_record",
    "activiteit_record",
    "attribute_value",
    "herpseudonimisering_record",
    "logboekregel_record",
    "purge_record",
]

FORMAT: Final = 1
"""Format version of every record kind below (member ``formaat``)."""

KIND_ACTIE: Final = "verwerkingsactie"
KIND_ACTIVITEIT: Final = "verwerkingsactiviteit"
KIND_PURGE: Final = "purge"
KIND_LOGBOEKREGEL: Final = "logboekregel"
KIND_HERPSEUDONIMISERING: Final = "herpseudonimisering"
KINDS: Final = (KIND_ACTIE, KIND_ACTIVITEIT, KIND_PURGE, KIND_LOGBOEKREGEL, KIND_HERPSEUDONIMISERING)
"""The ``type`` of a record, also the ``kind`` of its leaf in the store."""

# (JSON name, attribute of `Actiegegevens`), format 1: the API's fields of a verwerkingsactie (§3.2).
ACTIE_RECORD_FIELDS: Final[tuple[tuple[str, str], ...]] = (
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

# (JSON name, attribute of `Activiteitgegevens`), format 1: the scalars of a Verwerkingsactiviteit (§17.3).
ACTIVITEIT_RECORD_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("naam", "naam"),
    ("gebaseerdOp", "gebaseerd_op"),
    ("categorie", "categorie"),
    ("verantwoordelijkeOrganisatie", "verantwoordelijke_organisatie"),
    ("verantwoordelijkeBestuursorgaan", "verantwoordelijke_bestuursorgaan"),
    ("doel", "doel"),
    ("grondslag", "grondslag"),
    ("toelichtingGrondslag", "toelichting_grondslag"),
    ("bewaartermijn", "bewaartermijn"),
    ("herkomst", "herkomst"),
)
_VERTALING_FIELDS: Final = (
    ("naam", "naam"),
    ("doel", "doel"),
    ("grondslag", "grondslag"),
    ("toelichtingGrondslag", "toelichting_grondslag"),
    ("bewaartermijn", "bewaartermijn"),
)


def _text(value: Any) -> Any:
    """Enums (vertrouwelijkheid) as their value; everything else is already a JSON value."""
    return getattr(value, "value", value)


def _object(o: VerwerktObject) -> dict[str, Any]:
    return {
        "verwerktObjectId": o.verwerkt_object_id,
        "objecttype": o.objecttype,
        "soortObjectId": o.soort_object_id,
        "objectId": o.object_id,
        "betrokkenheid": o.betrokkenheid,
        "verwerkteSoortenGegevens": [{"soortGegeven": s} for s in o.soorten_gegevens],
    }


def actie_record(v: Versie) -> dict[str, Any]:
    """The record of one stored version of a verwerkingsactie (B3891: every version is a leaf of its own).

    ``lineageId`` is the ``actieId`` of the action's first version (R-VER-2), ``volgnummer`` the register-wide
    sequence of the version, ``clientId`` the registered client that stored it (not shown by the API).
    """
    if v.seq is None:
        raise ValueError("a version gets its record once it is stored (its volgnummer is known)")
    record: dict[str, Any] = {
        "type": KIND_ACTIE,
        "formaat": FORMAT,
        "volgnummer": v.seq,
        "actieId": v.actie_id,
        "lineageId": v.lineage_id,
        "versie": v.versie,
        "vervallen": v.vervallen,
        "tijdstipRegistratie": render_registratie(v.tijdstip_registratie_us),
        "clientId": v.client_id,
    }
    for json_name, attr in ACTIE_RECORD_FIELDS:
        record[json_name] = _text(getattr(v.gegevens, attr))
    record["verwerkteObjecten"] = [_object(o) for o in v.objecten]
    return record


def activiteit_record(v: ActiviteitVersie) -> dict[str, Any]:
    """The record of one stored version of a processing activity of the VAR (§17.3, history extension)."""
    if v.seq is None:
        raise ValueError("a version gets its record once it is stored (its volgnummer is known)")
    g = v.gegevens
    record: dict[str, Any] = {
        "type": KIND_ACTIVITEIT,
        "formaat": FORMAT,
        "volgnummer": v.seq,
        "id": v.id,
        "versie": v.versie,
        "ingetrokken": v.ingetrokken,
        "tijdstipRegistratie": render_registratie(v.tijdstip_registratie_us),
        "clientId": v.client_id,
    }
    for json_name, attr in ACTIVITEIT_RECORD_FIELDS:
        record[json_name] = getattr(g, attr)
    record["afnemendeInternationaleDerden"] = list(g.afnemende_internationale_derden)
    record["afnemendeCategorieOntvangers"] = list(g.afnemende_categorie_ontvangers)
    record["verwerktePersoonsgegevens"] = [
        {"rolBetrokkene": p.rol_betrokkene, "naam": p.naam} for p in g.verwerkte_persoonsgegevens
    ]
    record["vertalingen"] = {
        taal: {json_name: getattr(t, attr) for json_name, attr in _VERTALING_FIELDS} for taal, t in g.vertalingen
    }
    return record


@dataclass(frozen=True, slots=True)
class PurgeEntry:
    """What one purge removed (R-RET-3): counts, the criterion and the leaves whose content is gone.

    No personal data: leaf indexes and counts only.
    """

    id: int
    tijdstip_registratie_us: int
    peilmoment_us: int
    criterium: str
    lineages: int
    versies: int
    objecten: int
    leaves: Sequence[int]


def purge_record(p: PurgeEntry) -> dict[str, Any]:
    """The record of a purge: itself a leaf, so that every removal of content is in the log (R-RET-3)."""
    return {
        "type": KIND_PURGE,
        "formaat": FORMAT,
        "purge": p.id,
        "tijdstipRegistratie": render_registratie(p.tijdstip_registratie_us),
        "peilmoment": render_registratie(p.peilmoment_us),
        "criterium": p.criterium,
        "lineages": p.lineages,
        "versies": p.versies,
        "objecten": p.objecten,
        "leaves": sorted(p.leaves),
    }


@dataclass(frozen=True, slots=True)
class HerpseudonimiseringEntry:
    """One pass that re-stored objectIds written in the clear (issue 19.3): counts and the leaves of the versions
    whose objects it re-stored. The versions' records (and so their leaves) do not change: a record holds the
    objectId as the API shows it, never its storage form. No personal data: counts and leaf indexes only."""

    id: int
    tijdstip_registratie_us: int
    versies: int
    objecten: int
    leaves: Sequence[int]


def herpseudonimisering_record(h: HerpseudonimiseringEntry) -> dict[str, Any]:
    """The record of a re-pseudonymisation: itself a leaf, so that every change of storage form is in the log."""
    return {
        "type": KIND_HERPSEUDONIMISERING,
        "formaat": FORMAT,
        "herpseudonimisering": h.id,
        "tijdstipRegistratie": render_registratie(h.tijdstip_registratie_us),
        "versies": h.versies,
        "objecten": h.objecten,
        "leaves": sorted(h.leaves),
    }


# (JSON name, attribute of `Logboekregel`), format 1: what a Logius log line keeps beside its action
# (docs/logboek.md). The times (`start_ns`, `end_ns`) and the maps are rendered below, not copied.
LOGBOEKREGEL_RECORD_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("traceId", "trace_id"),
    ("spanId", "span_id"),
    ("parentSpanId", "parent_span_id"),
    ("status", "status"),
    ("statusMessage", "status_message"),
    ("processor", "processor"),
)
_MAX_EXACT: Final = 2**53 - 1


def attribute_value(value: Any) -> Any:
    """An OpenTelemetry attribute value as a JSON value JCS represents exactly (docs/integrity.md §2).

    Strings, booleans, null, lists and maps stay as they are (recursively); integers beyond ±(2^53 − 1)
    (OTLP ints are 64-bit) become their decimal text; finite doubles stay numbers (JCS renders them in the
    ECMAScript shortest form); NaN and ±infinity become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return value if -_MAX_EXACT <= value <= _MAX_EXACT else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Mapping):
        return {str(k): attribute_value(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [attribute_value(v) for v in value]
    raise ValueError(f"not an attribute value: {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class LogboekregelEntry:
    """A stored logboekregel row: its own sequence number, the action's lineage, the client that sent the span
    and the kept Logius fields."""

    seq: int
    lineage_id: str
    client_id: str | None
    regel: Logboekregel


def logboekregel_record(e: LogboekregelEntry) -> dict[str, Any]:
    """The record of the Logius fields an OTLP span keeps beside its verwerkingsactie (docs/logboek.md): a leaf of
    its own, appended with the action's first version, so that `verify` covers status, times, span ids,
    processor, resource and attributes (``exception.*`` included) too.

    ``volgnummer`` is the row's own sequence number, ``lineageId`` the action's (its first version's actieId);
    the nanosecond times are decimal strings (beyond 2^53), the maps go through `attribute_value`.
    """
    r = e.regel
    record: dict[str, Any] = {
        "type": KIND_LOGBOEKREGEL,
        "formaat": FORMAT,
        "volgnummer": e.seq,
        "lineageId": e.lineage_id,
        "clientId": e.client_id,
    }
    for json_name, attr in LOGBOEKREGEL_RECORD_FIELDS:
        record[json_name] = _text(getattr(r, attr))
    record["startTimeUnixNano"] = str(r.start_ns)
    record["endTimeUnixNano"] = str(r.end_ns)
    record["resource"] = attribute_value(r.resource)
    record["attributes"] = attribute_value(r.attributes)
    return record
