"""One body-parsing rule for every endpoint that reads a body (issue 19.1, 21.2; api/decoding.py): deep nesting,
lone surrogates, gzip bombs and oversized bodies are a 400 or 413 problem+json naming the body, never a 500 and
never a dropped keep-alive connection. On SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import Api, actie, new_bsn
from tests.logboek_support import dpl, pb_request, pb_response, pb_span, serving
from tests.var_support import VAR, activiteit, new_oin
from verwerkingenlog.services.clients import Client

JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}
PROTOBUF = "application/x-protobuf"


def nested(depth: int, kind: str) -> bytes:
    """`[[[…]]]` or `{"a":{"a":…1}}`, `depth` levels deep."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def otlp_json(name: str = "Inzien dossier", bsn: str | None = None) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "balie"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": uuid.uuid4().hex,
                                "spanId": uuid.uuid4().hex[:16],
                                "name": name,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000000",
                                "attributes": [
                                    {"key": k.replace("__", "."), "value": {"stringValue": v}}
                                    for k, v in dpl(bsn or new_bsn()).items()
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }


# (method, path, client, headers) of every endpoint that reads a JSON body.
ENDPOINTS = {
    "processing-activities": ("POST", "/api/v1/processing-activities", "alles", JSON),
    "otlp-json": ("POST", "/v1/traces", "normaal", JSON),
    "var-create": ("POST", VAR, "var-write", JSON),
    "bulk-array": ("POST", "/api/v1/verwerkingsacties/bulk", "alles", JSON),
    "verwerkingsacties": ("POST", "/api/v1/verwerkingsacties", "alles", JSON),
}


def assert_problem(r: httpx.Response, status: int, reason_part: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    data: dict[str, Any] = r.json()
    if status == 400:
        (param,) = data["invalidParams"]
        assert param["name"] == "body" and param["code"] == "parse_error", param
        if reason_part is not None:
            assert reason_part in param["reason"], param
    return data


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [1_100, 10_000])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_deeply_nested_json_is_a_400_naming_the_body(api: Api, endpoint: str, depth: int, kind: str) -> None:
    method, path, who, headers = ENDPOINTS[endpoint]
    r = api.request(method, path, who, headers=headers, content=nested(depth, kind))
    assert_problem(r, 400)


@pytest.mark.parametrize("kind", ["array", "object"])
def test_deep_nesting_inside_an_otherwise_valid_document_is_refused_too(api: Api, kind: str) -> None:
    """The limit holds wherever the nesting is: in an OTLP attribute value, a VAR field, a criterion."""
    deep = json.loads(nested(150, kind))  # json can build it; the body is deeper than 200 levels as a whole
    for _ in range(60):
        deep = [deep]
    body = otlp_json()
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append({"key": "x", "value": deep})
    r = api.request("POST", "/v1/traces", "normaal", headers=JSON, content=json.dumps(body).encode())
    assert_problem(r, 400, "nested deeper than 200 levels")
    doc = {**activiteit(new_oin()), "doel": deep}
    assert_problem(api.request("POST", VAR, "var-write", headers=JSON, content=json.dumps(doc).encode()), 400)
    crit = json.dumps({"traceId": deep}).encode()
    assert_problem(api.request("POST", "/api/v1/processing-activities", "alles", headers=JSON, content=crit), 400)


def test_deeply_nested_ndjson_entries_are_answered_per_line(api: Api) -> None:
    bsn = new_bsn()
    body = b"\n".join([json.dumps(actie(bsn)).encode(), nested(10_000, "array"), nested(1_100, "object")]) + b"\n"
    r = api.request("POST", "/api/v1/verwerkingsacties/bulk", "alles", headers=NDJSON, content=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 400, 400]
    assert all(x["invalidParams"][0]["code"] == "parse_error" for x in results[1:])


def test_deep_nesting_at_the_end_of_a_bulk_array_refuses_the_body(api: Api) -> None:
    body = b"[" + json.dumps(actie(new_bsn())).encode() + b"," + nested(10_000, "object") + b"]"
    r = api.request("POST", "/api/v1/verwerkingsacties/bulk", "alles", headers=JSON, content=body)
    assert_problem(r, 400)


SURROGATE = "\ud800"  # a lone leading surrogate: json.dumps writes it as the escape \ud800


@pytest.mark.parametrize(
    "body",
    [
        {"attributes": {"dpl.core.data_subject_id": SURROGATE}},
        {"traceId": SURROGATE},
        {SURROGATE: 1},
    ],
    ids=["subject", "trace", "key"],
)
def test_a_lone_surrogate_in_the_read_extension_body_is_a_400(api: Api, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    assert b"\\ud800" in raw
    r = api.request("POST", "/api/v1/processing-activities", "alles", headers=JSON, content=raw)
    assert_problem(r, 400, "surrogate")


@pytest.mark.parametrize("where", ["name", "subject"])
def test_a_lone_surrogate_in_an_otlp_json_span_is_a_400_and_nothing_is_stored(api: Api, where: str) -> None:
    bsn = new_bsn()
    body = otlp_json(name=SURROGATE) if where == "name" else otlp_json(bsn=bsn + SURROGATE)
    raw = json.dumps(body).encode()
    r = api.request("POST", "/v1/traces", "normaal", headers=JSON, content=raw)
    assert_problem(r, 400, "surrogate")
    trace_id = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    found = api.request("POST", "/api/v1/processing-activities", "alles", json={"traceId": trace_id})
    assert found.status_code == 200 and found.json()["processingActivities"] == []


def test_a_lone_surrogate_in_a_var_document_is_a_400(api: Api) -> None:
    raw = json.dumps({**activiteit(new_oin()), "naam": "Parkeren " + SURROGATE}).encode()
    assert_problem(api.request("POST", VAR, "var-write", headers=JSON, content=raw), 400, "surrogate")


def test_invalid_utf8_and_trailing_text_name_line_and_column(api: Api) -> None:
    r = api.request("POST", VAR, "var-write", headers=JSON, content=b'{"naam": "\xff"}')
    assert_problem(r, 400, "line 1 column")
    r = api.request("POST", "/api/v1/processing-activities", "alles", headers=JSON, content=b'{"traceId": 1} x')
    assert_problem(r, 400, "trailing characters at line 1 column")


def test_a_gzip_bomb_is_refused_after_the_limit(api: Api) -> None:
    """64 MiB of zeros compress to 64 KiB; the receiver stops inflating at OTLP_MAX_BODY_BYTES + 1 (8 MiB)."""
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    headers = {**JSON, "Content-Encoding": "gzip"}
    data = assert_problem(api.request("POST", "/v1/traces", "normaal", headers=headers, content=bomb), 413)
    assert "decompressed body exceeds" in data["detail"]
    truncated = gzip.compress(json.dumps(otlp_json()).encode())[:-20]
    r = api.request("POST", "/v1/traces", "normaal", headers=headers, content=truncated)
    assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "body", r.text


@pytest.fixture
def live(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[str]:
    with serving(backend[1]) as url:
        yield url


def test_the_keep_alive_connection_survives_every_refused_body(api: Api, live: str) -> None:
    """After each refusal the same connection answers the next request (a 500 used to drop it)."""
    where = urlsplit(live)
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
    try:
        sent = 0
        for name, (method, path, who, headers) in ENDPOINTS.items():
            for body in (nested(10_000, "array"), nested(1_100, "object"), json.dumps([SURROGATE]).encode()):
                auth = {**headers, "Authorization": f"Bearer {api.tokens[who]}"}
                conn.request(method, path, body=body, headers=auth)
                response = conn.getresponse()
                response.read()
                assert response.status in (400, 413), (name, response.status)
                assert response.getheader("connection") != "close", name
                sent += 1
        auth = {**JSON, "Authorization": f"Bearer {api.tokens['alles']}"}
        conn.request("POST", "/api/v1/verwerkingsacties", body=b"x" * 2_000_000, headers=auth)  # > MAX_BODY_BYTES
        too_large = conn.getresponse()
        too_large.read()
        assert too_large.status == 413 and too_large.getheader("connection") != "close"
        conn.request(
            "POST", "/api/v1/processing-activities", body=b'{"traceId": "%s"}' % uuid.uuid4().hex.encode(), headers=auth
        )
        last = conn.getresponse()
        assert last.status == 200, last.read()
        answer = json.loads(last.read())
        assert (answer["processingActivities"], answer["count"]) == ([], 0)
        assert sent == len(ENDPOINTS) * 3
    finally:
        conn.close()


@pytest.mark.parametrize("settings_overrides", [{"otlp_max_spans": 3}])
def test_an_otlp_export_with_more_spans_than_otlp_max_spans_is_413(api: Api) -> None:
    """Counted before any span is mapped: 8 MiB of protobuf holds millions of empty spans."""
    bsn = new_bsn()
    spans = [pb_span(f"Stap {i}", **dpl(bsn)) for i in range(4)]
    r = api.request("POST", "/v1/traces", "normaal", headers={"Content-Type": PROTOBUF}, content=pb_request(*spans))
    assert_problem(r, 413)
    assert "4 spans in one export; at most 3" in r.json()["detail"]
    ok = api.request(
        "POST", "/v1/traces", "normaal", headers={"Content-Type": PROTOBUF}, content=pb_request(*spans[:3])
    )
    assert ok.status_code == 200 and pb_response(ok.content).partial_success.rejected_spans == 0
    body = otlp_json()
    body["resourceSpans"][0]["scopeSpans"][0]["spans"] *= 4
    assert_problem(api.request("POST", "/v1/traces", "normaal", headers=JSON, content=json.dumps(body).encode()), 413)
    empty = pb_request() + b"\x0a\x02\x12\x00" * 10  # ten resource spans, each with one empty scope
    r = api.request("POST", "/v1/traces", "normaal", headers={"Content-Type": PROTOBUF}, content=empty)
    assert r.status_code == 200, r.text
