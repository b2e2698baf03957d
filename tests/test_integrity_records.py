"""The records leaves cover (docs/integrity.md §2): frozen per format, complete, and documented byte for byte."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from verwerkingenlog.domain.logboek import Logboekregel, Status
from verwerkingenlog.domain.model import Actiegegevens, Versie, VerwerktObject
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.domain.var import Activiteitgegevens, ActiviteitVersie, Vertaling, VerwerktPersoonsgegeven
from verwerkingenlog.integrity.canonical import leaf_bytes, record_leaf_hash
from verwerkingenlog.integrity.records import (
    ACTIE_RECORD_FIELDS,
    ACTIVITEIT_RECORD_FIELDS,
    LOGBOEKREGEL_RECORD_FIELDS,
    LogboekregelEntry,
    actie_record,
    activiteit_record,
    logboekregel_record,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "integrity.md"

EXAMPLE = Versie(
    actie_id="5f0bef4c-f66f-4311-84a5-19e8bf359ea1",
    lineage_id="5f0bef4c-f66f-4311-84a5-19e8bf359ea0",
    versie=2,
    vervallen=False,
    tijdstip_registratie_us=1_700_000_000_123_456,
    gegevens=Actiegegevens(
        tijdstip="2024-04-05T14:35:42+01:00",
        tijdstip_us=0,
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        actie_naam="Opvragen persoonsgegevens",
        bewaartermijn="P10Y",
    ),
    objecten=(
        VerwerktObject(
            "c5b9f4e7-8c79-41b9-91e2-6268419cb167", "persoon", "BSN", "999990019", "Partner", ("Nationaliteit",)
        ),
    ),
    seq=42,
    client_id="zaaksysteem",
)
REGEL = LogboekregelEntry(
    seq=7,
    lineage_id="5f0bef4c-f66f-4311-84a5-19e8bf359ea0",
    client_id="zaaksysteem",
    regel=Logboekregel(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        parent_span_id=None,
        status=Status.ERROR,
        status_message="Basisregistratie niet bereikbaar",
        start_ns=1_712_324_142_000_000_123,
        end_ns=1_712_324_142_250_000_000,
        processor=None,
        resource={"service.name": "zaaksysteem", "service.version": "2.1"},
        attributes={"exception.type": "TimeoutError", "http.status_code": 504},
    ),
)


def test_the_documented_example_is_what_the_register_hashes() -> None:
    """docs/integrity.md §2 gives a record's leaf bytes and hash; a format change must change the docs too."""
    doc = DOC.read_text(encoding="utf-8")
    shown = re.search(r"```text\n(\{\"actieId\".*?)\n```", doc, re.DOTALL)
    digest = re.search(r"its leaf hash is `([0-9a-f]{64})`", doc)
    assert shown and digest
    assert leaf_bytes(actie_record(EXAMPLE)).decode() == shown.group(1)
    assert record_leaf_hash(actie_record(EXAMPLE)).hex() == digest.group(1)


def test_every_field_of_a_version_is_covered() -> None:
    """A field added to the domain without a record format that covers it would escape the integrity check:
    this fails until integrity/records.py (and docs/integrity.md §2) decide, in a new `formaat`."""
    derived = {"tijdstip_us"}  # the instant of `tijdstip`, which the record holds as supplied
    assert {attr for _, attr in ACTIE_RECORD_FIELDS} == {f.name for f in fields(Actiegegevens)} - derived
    assert set(actie_record(EXAMPLE)["verwerkteObjecten"][0]) == {
        "verwerktObjectId",
        "objecttype",
        "soortObjectId",
        "objectId",
        "betrokkenheid",
        "verwerkteSoortenGegevens",
    }
    assert len(fields(VerwerktObject)) == 6
    assert {f.name for f in fields(Versie)} == {
        "actie_id",
        "lineage_id",
        "versie",
        "vervallen",
        "tijdstip_registratie_us",
        "gegevens",
        "objecten",
        "seq",
        "client_id",
    }
    lists = {"afnemende_internationale_derden", "afnemende_categorie_ontvangers", "verwerkte_persoonsgegevens"}
    covered = {attr for _, attr in ACTIVITEIT_RECORD_FIELDS} | lists | {"vertalingen"}
    assert covered == {f.name for f in fields(Activiteitgegevens)}
    assert {f.name for f in fields(Vertaling)} == {
        "naam",
        "doel",
        "grondslag",
        "toelichting_grondslag",
        "bewaartermijn",
    }
    assert {f.name for f in fields(VerwerktPersoonsgegeven)} == {"rol_betrokkene", "naam"}
    rendered = {"start_ns", "end_ns", "resource", "attributes"}  # times as decimal text, maps as JSON values
    assert {attr for _, attr in LOGBOEKREGEL_RECORD_FIELDS} | rendered == {f.name for f in fields(Logboekregel)}
    assert {f.name for f in fields(LogboekregelEntry)} == {"seq", "lineage_id", "client_id", "regel"}
    assert set(logboekregel_record(REGEL)) == {
        "type",
        "formaat",
        "volgnummer",
        "lineageId",
        "clientId",
        *(json_name for json_name, _ in LOGBOEKREGEL_RECORD_FIELDS),
        "startTimeUnixNano",
        "endTimeUnixNano",
        "resource",
        "attributes",
    }
    assert {f.name for f in fields(ActiviteitVersie)} == {
        "id",
        "versie",
        "ingetrokken",
        "tijdstip_registratie_us",
        "gegevens",
        "seq",
        "client_id",
    }


def test_records_of_different_kinds_never_collide() -> None:
    """The `type` member separates kinds: a VAR version and an action never share a leaf."""
    activiteit = ActiviteitVersie(
        id="5f0bef4c-f66f-4311-84a5-19e8bf359ea1",
        versie=2,
        ingetrokken=False,
        tijdstip_registratie_us=EXAMPLE.tijdstip_registratie_us,
        gegevens=Activiteitgegevens("Huwelijk", "00000001821002193000", "Trouwen", "publieke taak"),
        seq=42,
        client_id="zaaksysteem",
    )
    one, other = activiteit_record(activiteit), actie_record(EXAMPLE)
    assert (one["type"], other["type"]) == ("verwerkingsactiviteit", "verwerkingsactie")
    assert record_leaf_hash(one) != record_leaf_hash(other)


def test_the_documented_logboekregel_example_is_what_the_register_hashes() -> None:
    """docs/integrity.md §2 shows a logboekregel record's leaf bytes and hash: nanoseconds as decimal text (they
    exceed 2^53), every kept Logius field present."""
    doc = DOC.read_text(encoding="utf-8")
    shown = re.search(r"```text\n(\{\"attributes\".*?)\n```", doc, re.DOTALL)
    digest = re.search(r"its leaf hash is `([0-9a-f]{64})`, a leaf of its own", doc)
    assert shown and digest
    assert leaf_bytes(logboekregel_record(REGEL)).decode() == shown.group(1)
    assert record_leaf_hash(logboekregel_record(REGEL)).hex() == digest.group(1)
    assert record_leaf_hash(logboekregel_record(REGEL)) != record_leaf_hash(actie_record(EXAMPLE))


def test_logboekregel_attribute_values_are_exact_json_values() -> None:
    """OTLP attributes may hold 64-bit integers, NaN and infinities, which JCS cannot write: they become text,
    so every span that was stored also has a leaf (docs/integrity.md §2)."""
    odd = Logboekregel(
        **{f.name: getattr(REGEL.regel, f.name) for f in fields(Logboekregel) if f.name != "attributes"},
        attributes={
            "big": 2**63 - 1,
            "small": -(2**53 - 1),
            "ratio": 0.5,
            "nan": float("nan"),
            "inf": float("inf"),
            "ninf": float("-inf"),
            "list": [1, 2**60, True, None],
            "map": {"k": 2**54},
        },
    )
    record = logboekregel_record(LogboekregelEntry(8, REGEL.lineage_id, None, odd))
    assert record["attributes"] == {
        "big": "9223372036854775807",
        "small": -(2**53 - 1),
        "ratio": 0.5,
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "list": [1, "1152921504606846976", True, None],
        "map": {"k": "18014398509481984"},
    }
    assert leaf_bytes(record).startswith(b'{"attributes":{"big":"9223372036854775807","inf":"Infinity"')
