"""Strict ingest, per register and per standard (issue 18.3; docs/logboek.md, "Strict ingest"), on SQLite and
PostgreSQL: HTTP in (VNG POST, bulk, OTLP), HTTP out (problem+json, partial success, /metrics).

Off by default: the lenient register stores what strict mode would refuse, and counts it by reason."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from opentelemetry.proto.common.v1 import common_pb2
from prometheus_client.parser import text_string_to_metric_families

from tests import var_support
from tests.conftest import make_settings
from tests.helpers import Api, actie, new_bsn
from tests.logboek_support import dpl, pb_request, pb_response, pb_span
from verwerkingenlog.api.app import create_app
from verwerkingenlog.domain.strict import holds_bsn, passes_elfproef
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client

BSN_SHAPED = "999990019"  # a test BSN: nine digits passing the elfproef, reserved range
PROTOBUF = {"Content-Type": "application/x-protobuf"}
BULK = "/api/v1/verwerkingsacties/bulk"
METRICS_TOKEN = "strict-ingest-scraper-token-0123456789"
WOULD_REFUSE = "verwerkingenlog_strict_ingest_would_refuse_total"


@contextmanager
def register(backend: tuple[str, str], registered: dict[str, Client], **overrides: Any) -> Iterator[Api]:
    app = create_app(make_settings(backend[1], metrics_token=METRICS_TOKEN, **overrides))
    with TestClient(app, base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, backend[0], registered)


def activity(api: Api) -> tuple[str, str]:
    """A fresh activity in the VAR: (id, url as an OTLP span names it)."""
    body = var_support.create(api, var_support.activiteit(var_support.new_oin()))
    return body["id"], f"https://var.example.nl/api/v1/verwerkingsactiviteit/{body['id']}"


def now() -> str:
    return datetime.now(UTC).isoformat()


def would_refuse(api: Api) -> dict[tuple[str, str], float]:
    r = api.tc.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200, r.text
    return {
        (s.labels["standard"], s.labels["reason"]): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name == WOULD_REFUSE
    }


def logged(api: Api, bsn: str, *activities: str) -> list[str]:
    """The actieNaam of each entry about the person under these activities (the register's self-log aside)."""
    return [a["actieNaam"] for i in activities for a in api.list(bsn, activity=i).json()["results"]]


def otlp(api: Api, *spans: Any) -> Any:
    r = api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(*spans))
    assert r.status_code == 200, r.text
    return pb_response(r.content).partial_success


def test_lenient_by_default_stores_and_counts_what_strict_would_refuse(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    with register(backend, registered) as api:
        bsn = new_bsn()
        unknown = str(uuid.uuid4())
        # A supplier's first call on an empty VAR works.
        assert (
            api.post(actie(bsn, verwerkingsactiviteitId=unknown, gebruiker=f"medewerker {BSN_SHAPED}")).status_code
            == 201
        )
        span = pb_span("Onbekende activiteit", **dpl(bsn, activity=f"https://var.example.nl/a/{unknown}"))
        assert otlp(api, span).rejected_spans == 0
        bulk = json.dumps([actie(bsn, verwerkingsactiviteitId=unknown), actie(bsn, verwerkingsactiviteitId=unknown)])
        r = api.request("POST", BULK, "alles", headers={"Content-Type": "application/json"}, content=bulk.encode())
        assert [x["status"] for x in r.json()["results"]] == [201, 201]
        assert len(logged(api, bsn, unknown)) == 4
        assert would_refuse(api) == {
            ("vng", "unknown_activity"): 3,
            ("vng", "bsn_outside_subject"): 1,
            ("otlp", "unknown_activity"): 1,
        }


def test_strict_vng_refuses_unknown_and_retired_activities_naming_the_field(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    with register(backend, registered, strict_ingest_vng=True) as api:
        bsn = new_bsn()
        known, _ = activity(api)
        retired, _ = activity(api)
        assert api.request("DELETE", f"{var_support.VAR}/{retired}", "var-write").status_code == 204
        unknown = str(uuid.uuid4())

        r = api.post(actie(bsn, verwerkingsactiviteitId=unknown))
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        (param,) = r.json()["invalidParams"]
        assert (param["name"], param["code"]) == ("verwerkingsactiviteitId", "unknown_activity")
        assert unknown in param["reason"]

        r = api.post(actie(bsn, verwerkingsactiviteitId=retired, tijdstip=now()))
        assert r.status_code == 422, r.text
        assert [(p["name"], p["code"]) for p in r.json()["invalidParams"]] == [
            ("verwerkingsactiviteitId", "retired_activity")
        ]
        # Logged before it was retired: still explained by the activity as it was then.
        assert api.post(actie(bsn, verwerkingsactiviteitId=retired)).status_code == 201
        assert api.post(actie(bsn, verwerkingsactiviteitId=known, tijdstip=now())).status_code == 201
        assert len(logged(api, bsn, known, retired, unknown)) == 2


def test_strict_vng_refuses_a_bsn_outside_the_subject_fields_and_never_stores_it(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    with register(backend, registered, strict_ingest_vng=True) as api:
        bsn = new_bsn()
        known, _ = activity(api)
        for field, value in (("gegevensbron", f"BRP {BSN_SHAPED}"), ("gebruiker", BSN_SHAPED)):
            r = api.post(actie(bsn, verwerkingsactiviteitId=known, **{field: value}))
            assert r.status_code == 422, r.text
            assert [(p["name"], p["code"]) for p in r.json()["invalidParams"]] == [(field, "bsn_outside_subject")]
            assert BSN_SHAPED not in r.text
        # Nine digits failing the elfproef, or a BSN as the subject itself, are fine.
        ok = actie(BSN_SHAPED, verwerkingsactiviteitId=known, gegevensbron="zaak 123456789")
        assert api.post(ok).status_code == 201
        assert logged(api, bsn, known) == []

        body = "\n".join(
            json.dumps(e)
            for e in (
                actie(bsn, verwerkingsactiviteitId=known),
                actie(bsn, verwerkingsactiviteitId=str(uuid.uuid4())),
                actie(bsn, verwerkingsactiviteitId=known, gebruiker=BSN_SHAPED),
            )
        ).encode()
        r = api.request("POST", BULK, "alles", headers={"Content-Type": "application/x-ndjson"}, content=body)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["status"] for x in results] == [201, 422, 422]
        assert results[1]["invalidParams"][0]["name"] == "verwerkingsactiviteitId"
        assert results[2]["invalidParams"][0]["name"] == "gebruiker"
        assert BSN_SHAPED not in r.text
        assert len(logged(api, bsn, known)) == 1


def test_strict_otlp_rejects_spans_per_span_and_is_switched_on_per_standard(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    with register(backend, registered, strict_ingest_otlp=True) as api:
        bsn = new_bsn()
        _, known = activity(api)
        start = time.time_ns()
        good = pb_span("Bekend", start_ns=start, **dpl(bsn, activity=known))
        unknown = pb_span(
            "Onbekend", span_id=b"\x01" * 8, start_ns=start, **dpl(bsn, activity=f"https://x.nl/a/{uuid.uuid4()}")
        )
        leaky = pb_span("Fout", span_id=b"\x02" * 8, start_ns=start, **dpl(bsn, activity=known))
        leaky.events.add(
            name="exception",
            time_unix_nano=start + 1,
            attributes=[
                common_pb2.KeyValue(key="exception.type", value=common_pb2.AnyValue(string_value="KeyError")),
                common_pb2.KeyValue(
                    key="exception.message", value=common_pb2.AnyValue(string_value=f"no person {BSN_SHAPED}")
                ),
            ],
        )
        partial = otlp(api, good, unknown, leaky)
        assert partial.rejected_spans == 2
        assert "0101010101010101: dpl.core.processing_activity_id: Processing activity" in partial.error_message
        assert "0202020202020202: exception.message: Holds a value shaped like a BSN" in partial.error_message
        assert BSN_SHAPED not in partial.error_message
        assert logged(api, bsn, known.rsplit("/", 1)[1]) == ["Bekend"]
        # The VNG API of this register stays lenient: strict is chosen per standard.
        assert api.post(actie(bsn, verwerkingsactiviteitId=str(uuid.uuid4()))).status_code == 201
        assert would_refuse(api) == {("vng", "unknown_activity"): 1}


def test_a_bsn_shape_is_nine_digits_standing_alone_that_pass_the_elfproef() -> None:
    assert passes_elfproef(BSN_SHAPED) and passes_elfproef("111222333")
    assert not passes_elfproef("123456789") and not passes_elfproef("000000000") and not passes_elfproef("99999001")
    assert holds_bsn(f"medewerker {BSN_SHAPED}") and holds_bsn(f"bsn={BSN_SHAPED}.")
    # Part of a longer number, an id or a word: not a BSN on its own.
    assert not holds_bsn(f"1{BSN_SHAPED}") and not holds_bsn(f"{BSN_SHAPED}0") and not holds_bsn(f"x{BSN_SHAPED}")
    assert not holds_bsn("1700000000000000000") and not holds_bsn(str(uuid.uuid4().int))
