"""Extreme numbers in OTLP spans (issue 21, finding 2), on SQLite and PostgreSQL: never a 500.

A time the wire format allows but the register cannot store (fixed64 beyond 2^63 − 1 ns) is a per-span
rejection naming the span and the field (OTLP partial success); a JSON value the OTLP/JSON mapping does not
allow (a time beyond 2^64 − 1 or negative, an intValue beyond int64, a fraction, Infinity as an integer) is a
400 naming the field by its JSON path; NaN and ±infinity are valid doubles: kept, and shown as OTLP/JSON writes
them ("NaN", "Infinity", "-Infinity", as strings). The bare literals NaN and Infinity are not JSON (RFC 8259): the
one body-parsing rule (api/decoding.py) refuses them as a parse error of the body before any field is read.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from opentelemetry.proto.common.v1 import common_pb2

from tests import integrity_support
from tests.helpers import Api, new_bsn
from tests.logboek_support import dpl, pb_request, pb_response, pb_span
from verwerkingenlog.services.verify import Verifier

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
START = 1_700_000_000_000_000_000
SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"


def json_span(**fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": "Opvragen",
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(START + 1000),
        "attributes": [{"key": k.replace("__", "."), "value": {"stringValue": v}} for k, v in dpl(new_bsn()).items()],
    }
    span.update(fields)
    return span


def post_json(api: Api, span: dict[str, Any], raw: dict[str, str] | None = None) -> httpx.Response:
    """POST one span as OTLP/JSON; `raw` replaces placeholders by JSON text Python's encoder would not write
    (Infinity, NaN, 1e400)."""
    text = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    for placeholder, literal in (raw or {}).items():
        text = text.replace(json.dumps(placeholder), literal)
    return api.request("POST", "/v1/traces", "normaal", headers=JSON, content=text.encode())


def read_line(api: Api, trace_id: str) -> dict[str, Any]:
    r = api.request("POST", "/api/v1/processing-activities", "alles", json={"traceId": trace_id})
    assert r.status_code == 200, r.text
    (line,) = r.json()["processingActivities"]
    return dict(line)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (2**64 - 1, 2**64 - 1, "start_time"),
        (2**63, 2**63, "start_time"),
        (START, 2**64 - 1, "end_time"),
        (START, 2**63, "end_time"),
    ],
)
def test_protobuf_time_beyond_int64_is_a_rejection_naming_span_and_field(
    api: Api, start: int, end: int, field: str
) -> None:
    bsn = new_bsn()
    bad = pb_span("Ver in de toekomst", span_id=b"\x09" * 8, start_ns=start, end_ns=end, **dpl(bsn))
    good = pb_span("Gewoon", **dpl(bsn))
    r = api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(bad, good))
    assert r.status_code == 200, r.text
    partial = pb_response(r.content).partial_success
    assert partial.rejected_spans == 1
    assert f"span {bad.trace_id.hex()}/0909090909090909: {field} is after 2262-04-11" in partial.error_message
    assert [a["actieNaam"] for a in api.list(bsn).json()["results"]] == ["Gewoon"]


def test_the_largest_storable_time_is_stored(api: Api) -> None:
    bsn = new_bsn()
    span = pb_span("Op de grens", start_ns=START, end_ns=2**63 - 1, **dpl(bsn))
    r = api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span))
    assert pb_response(r.content).partial_success.rejected_spans == 0
    assert read_line(api, span.trace_id.hex())["endTime"] == (2**63 - 1) // 1_000_000


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('"18446744073709551616"', "startTimeUnixNano"),  # 2^64
        ('"-1"', "startTimeUnixNano"),
        ("-1", "endTimeUnixNano"),
        ("1e300", "startTimeUnixNano"),
        ('"Infinity"', "startTimeUnixNano"),
        ('"-Infinity"', "endTimeUnixNano"),
        ('"NaN"', "startTimeUnixNano"),
        ("1.5", "startTimeUnixNano"),
        ("true", "startTimeUnixNano"),
        ('"1e3"', "endTimeUnixNano"),
        ('"' + "9" * 5000 + '"', "startTimeUnixNano"),
    ],
)
def test_json_time_outside_fixed64_is_a_400_naming_the_field(api: Api, raw: str, key: str) -> None:
    r = post_json(api, json_span(**{key: "@x@"}), {"@x@": raw})
    assert r.status_code == 400, r.text
    (param,) = r.json()["invalidParams"]
    assert param["name"] == f"{SPAN}.{key}"


@pytest.mark.parametrize(
    ("field", "literal"),
    [("startTimeUnixNano", "Infinity"), ("endTimeUnixNano", "-Infinity"), ("attribute", "NaN")],
)
def test_bare_nan_and_infinity_are_not_json_a_400_naming_the_body(api: Api, field: str, literal: str) -> None:
    span = json_span()
    if field == "attribute":
        span["attributes"].append({"key": "teller", "value": {"doubleValue": "@x@"}})
    else:
        span[field] = "@x@"
    r = post_json(api, span, {"@x@": literal})
    assert r.status_code == 400, r.text
    (param,) = r.json()["invalidParams"]
    assert param["name"] == "body"


def test_json_time_at_the_top_of_fixed64_is_a_rejection_not_a_400(api: Api) -> None:
    span = json_span(startTimeUnixNano=str(2**64 - 1), endTimeUnixNano=str(2**64 - 1))
    r = post_json(api, span)
    assert r.status_code == 200, r.text
    assert r.json()["partialSuccess"]["rejectedSpans"] == 1
    assert "start_time is after 2262-04-11" in r.json()["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    "value",
    [
        '{"intValue": "9223372036854775808"}',
        '{"intValue": "-9223372036854775809"}',
        '{"intValue": 18446744073709551616}',
        '{"intValue": 1e400}',
        '{"intValue": "Infinity"}',
        '{"intValue": "NaN"}',
        '{"intValue": 2.5}',
        '{"intValue": "12abc"}',
        '{"doubleValue": "veel"}',
        '{"doubleValue": true}',
        '{"arrayValue": {"values": [{"intValue": "99999999999999999999"}]}}',
    ],
)
def test_json_attribute_number_outside_its_type_is_a_400_naming_the_field(api: Api, value: str) -> None:
    span = json_span()
    span["attributes"].append({"key": "teller", "value": "@v@"})
    r = post_json(api, span, {"@v@": value})
    assert r.status_code == 400, r.text
    (param,) = r.json()["invalidParams"]
    assert param["name"].startswith(f"{SPAN}.attributes[3].value.")


def test_json_int64_extremes_and_non_finite_doubles_are_kept(api: Api) -> None:
    span = json_span()
    values = {
        "min": '{"intValue": "-9223372036854775808"}',
        "max": '{"intValue": 9223372036854775807}',
        "nan": '{"doubleValue": "NaN"}',
        "inf": '{"doubleValue": "Infinity"}',
        "overflow": '{"doubleValue": 1e400}',
        "neg": '{"doubleValue": "-Infinity"}',
        "huge": '{"doubleValue": 1.7976931348623157e308}',
        "list": '{"arrayValue": {"values": [{"doubleValue": "NaN"}]}}',
    }
    span["attributes"] += [{"key": k, "value": f"@{k}@"} for k in values]
    r = post_json(api, span, {f"@{k}@": v for k, v in values.items()})
    assert r.status_code == 200, r.text
    assert r.json() == {}
    attributes = read_line(api, span["traceId"])["attributes"]
    assert {k: attributes[k] for k in values} == {
        "min": -(2**63),
        "max": 2**63 - 1,
        "nan": "NaN",
        "inf": "Infinity",
        "overflow": "Infinity",
        "neg": "-Infinity",
        "huge": 1.7976931348623157e308,
        "list": ["NaN"],
    }


def test_protobuf_int64_extremes_and_non_finite_doubles_are_kept(api: Api) -> None:
    span = pb_span("Getallen", **dpl(new_bsn()))
    span.attributes.add(key="min", value=common_pb2.AnyValue(int_value=-(2**63)))
    span.attributes.add(key="max", value=common_pb2.AnyValue(int_value=2**63 - 1))
    span.attributes.add(key="nan", value=common_pb2.AnyValue(double_value=float("nan")))
    span.attributes.add(key="inf", value=common_pb2.AnyValue(double_value=float("-inf")))
    r = api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span))
    assert r.status_code == 200, r.text
    assert pb_response(r.content).partial_success.rejected_spans == 0
    attributes = read_line(api, span.trace_id.hex())["attributes"]
    assert (attributes["min"], attributes["max"], attributes["nan"], attributes["inf"]) == (
        -(2**63),
        2**63 - 1,
        "NaN",
        "-Infinity",
    )


fresh = integrity_support.fresh


def test_extreme_values_and_events_are_verified_leaves(fresh: integrity_support.Fresh) -> None:
    """The kept attributes (int64 extremes, NaN, ±infinity, events) have canonical bytes: verify stays clean."""
    span = pb_span("Randgevallen", **dpl(new_bsn()))
    span.attributes.add(key="max", value=common_pb2.AnyValue(int_value=2**63 - 1))
    span.attributes.add(key="nan", value=common_pb2.AnyValue(double_value=float("nan")))
    span.attributes.add(key="inf", value=common_pb2.AnyValue(double_value=float("inf")))
    event = span.events.add(name="retry", time_unix_nano=2**64 - 1)
    event.attributes.add(key="poging", value=common_pb2.AnyValue(int_value=-(2**63)))
    failure = span.events.add(name="exception", time_unix_nano=START + 1)
    failure.attributes.add(key="exception.type", value=common_pb2.AnyValue(string_value="ValueError"))
    r = fresh.api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(span))
    assert pb_response(r.content).partial_success.rejected_spans == 0
    state = fresh.app.state

    async def verify() -> Any:
        keys = await state.integrity.trusted_keys()
        return await Verifier(state.db, state.register.reader, state.var.store).run(keys, ())

    report = fresh.call(verify)
    assert report.ok, report.findings
    attributes = read_line(fresh.api, span.trace_id.hex())["attributes"]
    assert attributes["exception.type"] == "ValueError"
    assert attributes["verwerkingenlog.events"] == [
        {"name": "retry", "timeUnixNano": str(2**64 - 1), "attributes": {"poging": -(2**63)}}
    ]
