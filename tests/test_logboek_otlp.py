"""Logboek Dataverwerkingen through OTLP, on SQLite and PostgreSQL (docs/logboek.md).

An application instrumented with the official OpenTelemetry SDK and its OTLP/HTTP exporter logs through the
receiver; its processings appear in the Inzage and Bewerking APIs and in the Logius read shape; a chain of
two applications links up through traceparent; malformed spans get per-span errors; a retried span is the
same entry; every entry is a verified leaf of the Merkle log.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.propagators.textmap import default_setter
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tests import integrity_support, var_support
from tests.helpers import TEST_ACTIVITY, Api, actie, new_bsn
from tests.logboek_support import ACTIVITY_URL, dpl, pb_request, pb_response, pb_span, serving, tracer_provider
from verwerkingenlog.services.clients import Client
from verwerkingenlog.services.verify import Verifier

fresh = integrity_support.fresh
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def register_url(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[str]:
    with serving(backend[1]) as url:
        yield url


def read_ext(api: Api, body: Any, who: str = "alles", **params: Any) -> httpx.Response:
    return api.request("POST", "/api/v1/processing-activities", who, json=body, params=params)


def test_sdk_application_logs_and_citizen_sees_it_through_inzage(api: Api, register_url: str) -> None:
    bsn = new_bsn()
    provider, _ = tracer_provider(register_url, api.tokens["normaal"], "parkeervergunningen")
    tracer = provider.get_tracer("parkeren")
    with tracer.start_as_current_span("Raadplegen kenteken") as span:
        span.set_attributes(
            {
                "dpl.core.processing_activity_id": ACTIVITY_URL,
                "dpl.core.data_subject_id": bsn,
                "dpl.core.data_subject_id_type": "BSN",
            }
        )
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    api.create(actie(bsn, actieNaam="Beoordelen aanvraag"))  # the same person, logged through the VNG API

    r = api.inzage(bsn)
    assert r.status_code == 200, r.text
    names = {x["verwerkingsactie"]["actieNaam"] for x in r.json()["results"]}
    assert names == {"Raadplegen kenteken", "Beoordelen aanvraag"}
    otlp = next(x for x in r.json()["results"] if x["verwerkingsactie"]["actieNaam"] == "Raadplegen kenteken")
    assert otlp["verwerkingsactie"]["verwerkingId"].replace("-", "") == trace_id
    assert otlp["verwerkingsactie"]["vertrouwelijkheid"] == "normaal"
    assert "systeem" not in otlp["verwerkingsactie"]

    listed = api.list(bsn).json()["results"]
    from_otlp = next(a for a in listed if a["actieNaam"] == "Raadplegen kenteken")
    assert from_otlp["systeem"] == "parkeervergunningen"
    assert from_otlp["verwerkingsactiviteitUrl"] == ACTIVITY_URL
    assert from_otlp["verwerkingsactiviteitId"] == TEST_ACTIVITY
    assert from_otlp["verwerkteObjecten"][0]["objectId"] == bsn


def test_two_applications_link_up_through_traceparent(api: Api, register_url: str) -> None:
    bsn = new_bsn()
    portal, _ = tracer_provider(register_url, api.tokens["normaal"], "aanvraagportaal")
    brp, _ = tracer_provider(register_url, api.tokens["normaal"], "persoonsregistratie")
    carrier: dict[str, str] = {}
    with portal.get_tracer("portaal").start_as_current_span("Aanvragen parkeervergunning") as consumer:
        consumer.set_attributes({"dpl.core.processing_activity_id": ACTIVITY_URL})
        TraceContextTextMapPropagator().inject(carrier, setter=default_setter)
        consumer_ids = consumer.get_span_context()
    assert carrier["traceparent"].startswith("00-")
    # The provider receives only the traceparent header, as over HTTP.
    context = TraceContextTextMapPropagator().extract(carrier)
    with brp.get_tracer("brp").start_as_current_span("Verstrekken persoonsgegevens", context=context) as provider:
        provider.set_attributes(
            {
                **{k.replace("__", "."): v for k, v in dpl(bsn).items()},
                "dpl.core.foreign_operation.processor": "https://portaal.gemeente.example/",
            }
        )
        provider.set_status(Status(StatusCode.OK))
    portal.shutdown()
    brp.shutdown()
    trace_id = format(consumer_ids.trace_id, "032x")

    found = read_ext(api, {"traceId": trace_id})
    assert found.status_code == 200, found.text
    lines = {x["name"]: x for x in found.json()["processingActivities"]}
    assert set(lines) == {"Aanvragen parkeervergunning", "Verstrekken persoonsgegevens"}
    child = lines["Verstrekken persoonsgegevens"]
    assert child["parentSpanId"] == format(consumer_ids.span_id, "016x")
    assert child["status"] == "Ok"
    assert child["attributes"]["dpl.core.foreign_operation.processor"] == "https://portaal.gemeente.example/"
    assert child["resource"]["service.name"] == "persoonsregistratie"
    assert "parentSpanId" not in lines["Aanvragen parkeervergunning"]
    # The VNG face: the provider's entry names the consumer's verwerking as verwerkingIdAfnemer.
    (vng,) = api.list(bsn).json()["results"]
    assert vng["verwerkingIdAfnemer"] == vng["verwerkingId"]
    assert vng["verwerkingId"].replace("-", "") == trace_id


def test_retried_span_is_one_entry_and_the_exporter_gets_a_confirmation(api: Api, register_url: str) -> None:
    bsn = new_bsn()
    provider, exporter = tracer_provider(register_url, api.tokens["normaal"], "zaaksysteem")
    with provider.get_tracer("z").start_as_current_span("Opvragen") as span:
        span.set_attributes({k.replace("__", "."): v for k, v in dpl(bsn).items()})
    finished = span  # the SDK's ReadableSpan
    assert exporter.export([finished]) is SpanExportResult.SUCCESS  # a retry of the same span
    assert exporter.export([finished]) is SpanExportResult.SUCCESS
    provider.shutdown()
    assert api.list(bsn).json()["count"] == 1


def test_malformed_spans_get_per_span_errors_and_valid_ones_are_stored(api: Api) -> None:
    bsn = new_bsn()
    good = pb_span("Goed", **dpl(bsn))
    no_activity = pb_span(
        "Zonder activiteit", span_id=b"\x01" * 8, dpl__core__data_subject_id=bsn, dpl__core__data_subject_id_type="BSN"
    )
    no_type = pb_span("Zonder soort", span_id=b"\x02" * 8, dpl__core__processing_activity_id=ACTIVITY_URL)
    no_type.attributes.add(key="dpl.core.data_subject_id", value={"string_value": bsn})
    user = pb_span("Met gebruiker", span_id=b"\x03" * 8, enduser__id="jan", **dpl(bsn))
    bad_ids = pb_span("Kapotte ids", trace_id=b"\x00" * 16, **dpl(bsn))
    r = api.request(
        "POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(good, no_activity, no_type, user, bad_ids)
    )
    assert r.status_code == 200, r.text
    partial = pb_response(r.content).partial_success
    assert partial.rejected_spans == 4
    message = partial.error_message
    assert (
        f"span {no_activity.trace_id.hex()}/0101010101010101: attribute dpl.core.processing_activity_id is required"
        in message
    )
    assert "0202020202020202: attribute dpl.core.data_subject_id_type is required" in message
    assert "0303030303030303: log lines must not contain user identities (enduser.id)" in message
    assert "trace_id must be 16 bytes and not all zero" in message
    assert [a["actieNaam"] for a in api.list(bsn).json()["results"]] == ["Goed"]


def test_unparsable_request_is_a_400_and_authentication_is_required(api: Api) -> None:
    assert api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=b"\xff\xff\xff").status_code == 400
    assert api.request("POST", "/v1/traces", None, headers=PROTOBUF, content=pb_request()).status_code == 401
    text = api.request("POST", "/v1/traces", "normaal", headers={"Content-Type": "text/plain"}, content=b"x")
    assert text.status_code == 415


def test_confidential_span_needs_create_confidential(api: Api) -> None:
    bsn = new_bsn()
    span = pb_span("Fraudeonderzoek", **dpl(bsn, verwerkingenlog__vertrouwelijkheid="vertrouwelijk"))
    refused = pb_response(
        api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span)).content
    )
    assert refused.partial_success.rejected_spans == 1
    assert "create:confidential" in refused.partial_success.error_message
    ok = pb_response(api.request("POST", "/v1/traces", "alles", headers=PROTOBUF, content=pb_request(span)).content)
    assert ok.partial_success.rejected_spans == 0
    assert api.list(bsn).json()["results"][0]["vertrouwelijkheid"] == "vertrouwelijk"
    assert api.inzage(bsn).json()["count"] == 0  # vertrouwelijk is never shown to the citizen (R-INZ-5)


def test_otlp_json_with_gzip(api: Api) -> None:
    bsn = new_bsn()
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "balie"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "Inzien dossier",
                                "kind": 1,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000000",
                                "status": {"code": 2, "message": "BRP niet bereikbaar"},
                                "attributes": [
                                    {"key": k.replace("__", "."), "value": {"stringValue": v}}
                                    for k, v in dpl(bsn).items()
                                ]
                                + [{"key": "exception.type", "value": {"stringValue": "TimeoutError"}}],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = api.request("POST", "/v1/traces", "normaal", headers=headers, content=gzip.compress(json.dumps(body).encode()))
    assert r.status_code == 200, r.text
    assert r.json() == {}
    (line,) = read_ext(api, {"traceId": trace_id}).json()["processingActivities"]
    assert line["spanId"] == span_id
    assert line["status"] == "Error"
    assert (line["startTime"], line["endTime"]) == (1_700_000_000_000, 1_700_000_000_250)
    assert line["attributes"]["exception.type"] == "TimeoutError"
    assert line["attributes"]["dpl.core.data_subject_id"] == bsn


def test_retention_comes_from_the_activity_profile_in_the_var(api: Api) -> None:
    bsn = new_bsn()
    activity = var_support.create(api, var_support.activiteit(var_support.new_oin(), bewaartermijn="P7Y"))
    url = f"https://log.gemeente.example/api/v1/verwerkingsactiviteit/{activity['id']}"
    own = pb_span("Met eigen termijn", **dpl(bsn, activity=url, verwerkingenlog__bewaartermijn="P1Y"))
    profile = pb_span("Zonder termijn", **dpl(bsn, activity=url))
    r = api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(own, profile))
    assert pb_response(r.content).partial_success.rejected_spans == 0
    listed = api.list(bsn, activity=activity["id"]).json()["results"]
    assert {a["actieNaam"]: a["bewaartermijn"] for a in listed} == {"Met eigen termijn": "P1Y", "Zonder termijn": "P7Y"}


def test_every_otlp_entry_is_a_leaf_of_the_merkle_log_and_verifies(fresh: integrity_support.Fresh) -> None:
    before = fresh.checkpoint(True)
    spans = [pb_span(f"Actie {i}", **dpl(new_bsn())) for i in range(3)]
    r = fresh.api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(*spans))
    assert pb_response(r.content).partial_success.rejected_spans == 0
    after = fresh.checkpoint(True)
    # Each entry is two leaves: its version, then its logboekregel (the kept Logius fields, docs/logboek.md).
    assert after.tree_size == before.tree_size + 6
    kinds = fresh.rows(f"SELECT kind FROM merkle_node WHERE level = 0 AND idx >= {before.tree_size} ORDER BY idx")
    assert [k for (k,) in kinds] == ["verwerkingsactie"] * 3 + ["logboekregel"] * 3
    state = fresh.app.state

    async def verify() -> Any:
        keys = await state.integrity.trusted_keys()
        return await Verifier(state.db, state.register.reader, state.var.store).run(keys, ())

    report = fresh.call(verify)
    assert report.ok, report.findings
    assert report.tree_size == after.tree_size


def test_otlp_entry_is_an_ordinary_action_for_the_bewerking_api(api: Api) -> None:
    """Retention changed by PATCH on the trace's verwerkingId and a logical delete apply to an OTLP entry; the
    Logius face shows the current version with the span's kept fields, and nothing once it is vervallen."""
    bsn = new_bsn()
    trace = uuid.uuid4()
    span = pb_span("Wijzigbaar", trace_id=trace.bytes, span_id=b"\x0a" * 8, **dpl(bsn))
    api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span))
    assert api.patch(str(trace), {"bewaartermijn": "P3Y"}).status_code == 204
    (line,) = read_ext(api, {"traceId": trace.hex}).json()["processingActivities"]
    assert line["attributes"]["verwerkingenlog.bewaartermijn"] == "P3Y"
    assert line["spanId"] == "0a" * 8
    (entry,) = api.list(bsn).json()["results"]
    assert api.get(entry["actieId"]).json()["bewaartermijn"] == "P3Y"
    assert api.delete(entry["actieId"]).status_code == 204
    assert read_ext(api, {"traceId": trace.hex}).json()["processingActivities"] == []
    # A retry of the deleted span is still the same (deleted) entry, not a new one.
    api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span))
    assert read_ext(api, {"traceId": trace.hex}).json()["processingActivities"] == []


def _fail_to_reach_brp() -> None:
    raise TimeoutError("BRP niet bereikbaar")


def test_sdk_recorded_exception_arrives_as_exception_fields_without_stacktrace(api: Api, register_url: str) -> None:
    """An exception escaping the span (the SDK records it as an `exception` event) is the entry's exception.type
    and exception.message; the stack trace is not kept by default (data minimisation)."""
    bsn = new_bsn()
    provider, _ = tracer_provider(register_url, api.tokens["normaal"], "zaaksysteem")
    with pytest.raises(TimeoutError), provider.get_tracer("z").start_as_current_span("Opvragen BRP") as span:
        span.set_attributes({k.replace("__", "."): v for k, v in dpl(bsn).items()})
        _fail_to_reach_brp()
    provider.shutdown()
    (line,) = read_ext(api, {"traceId": format(span.get_span_context().trace_id, "032x")}).json()[
        "processingActivities"
    ]
    assert line["status"] == "Error"
    assert line["attributes"]["exception.type"] == "TimeoutError"
    assert line["attributes"]["exception.message"] == "BRP niet bereikbaar"
    assert "exception.stacktrace" not in line["attributes"]
    assert "verwerkingenlog.exception.further" not in line["attributes"]


def test_stacktrace_is_kept_when_the_setting_allows_it(
    api: Api, backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    with serving(backend[1], otlp_keep_exception_stacktrace=True) as url:
        provider, _ = tracer_provider(url, api.tokens["normaal"], "zaaksysteem")
        with pytest.raises(TimeoutError), provider.get_tracer("z").start_as_current_span("Opvragen BRP") as span:
            span.set_attributes({k.replace("__", "."): v for k, v in dpl(new_bsn()).items()})
            _fail_to_reach_brp()
        provider.shutdown()
    (line,) = read_ext(api, {"traceId": format(span.get_span_context().trace_id, "032x")}).json()[
        "processingActivities"
    ]
    assert line["attributes"]["exception.type"] == "TimeoutError"
    assert "Traceback" in line["attributes"]["exception.stacktrace"]
    assert "_fail_to_reach_brp" in line["attributes"]["exception.stacktrace"]


def test_otlp_json_events_first_exception_kept_further_counted_others_kept(api: Api) -> None:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]

    def event(name: str, at: int, **attributes: str | int) -> dict[str, Any]:
        values = [
            {"key": k.replace("__", "."), "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attributes.items()
        ]
        return {"name": name, "timeUnixNano": str(1_700_000_000_000_000_000 + at), "attributes": values}

    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "Herhaald opvragen",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000900000000",
        "status": {"code": "STATUS_CODE_ERROR"},
        "attributes": [{"key": k.replace("__", "."), "value": {"stringValue": v}} for k, v in dpl(new_bsn()).items()],
        "events": [
            event("retry", 1, poging=2),
            event(
                "exception",
                2,
                exception__type="ConnectionError",
                exception__message="eerste poging",
                exception__stacktrace="Traceback (most recent call last): ...",
            ),
            event("exception", 3, exception__type="TimeoutError", exception__message="tweede poging"),
            event("exception", 4, exception__type="TimeoutError", exception__message="derde poging"),
        ],
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    r = api.request("POST", "/v1/traces", "normaal", headers={"Content-Type": "application/json"}, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {}
    (line,) = read_ext(api, {"traceId": trace_id}).json()["processingActivities"]
    attributes = line["attributes"]
    assert (attributes["exception.type"], attributes["exception.message"]) == ("ConnectionError", "eerste poging")
    assert attributes["verwerkingenlog.exception.further"] == 2
    assert "exception.stacktrace" not in attributes
    assert attributes["verwerkingenlog.events"] == [
        {"name": "retry", "timeUnixNano": "1700000000000000001", "attributes": {"poging": 2}}
    ]


def test_event_with_a_user_identity_is_refused_with_its_reason(api: Api) -> None:
    bsn = new_bsn()
    span = pb_span("Met gebruiker in event", span_id=b"\x0b" * 8, **dpl(bsn))
    span.events.add(name="login", time_unix_nano=1_700_000_000_000_000_001).attributes.add(
        key="enduser.id", value={"string_value": "jan"}
    )
    r = api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span))
    partial = pb_response(r.content).partial_success
    assert partial.rejected_spans == 1
    assert "0b0b0b0b0b0b0b0b: event 'login' must not contain user identities (enduser.id)" in partial.error_message
    assert api.list(bsn).json()["count"] == 0
