"""Header propagation (§10): the verwerking context, outgoing hooks (httpx, requests) and incoming
middleware (ASGI, WSGI), from an application developer's side."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
import requests

from tests.helpers import Api, new_bsn
from verwerkingenlog.client import propagation
from verwerkingenlog.client.propagation import (
    PropagationMiddleware,
    PropagationWSGIMiddleware,
    ProviderActivity,
    async_httpx_hook,
    current,
    current_afnemer,
    entry_fields,
    httpx_hook,
    outgoing_headers,
    parse_headers,
    verwerking,
)
from verwerkingenlog.client.propagation_requests import propagating_session

CONSUMER = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
CONSUMER_URL = f"https://var.gemeente.nl/api/v1/verwerkingsactiviteit/{CONSUMER}"
PROVIDER = "7d3c1e52-9a41-4b7e-8a8e-2f5d0c6b1a93"
OIN = "00000001821002193000"


def test_verwerking_generates_an_id_and_sets_the_headers() -> None:
    """B8157: a verwerking without an id gets a new UUID; §10.2 headers carry what is known."""
    assert outgoing_headers() == {} and current() is None
    with verwerking(CONSUMER, CONSUMER_URL, oin=OIN, bewaartermijn="P10Y") as v:
        assert uuid.UUID(v.verwerking_id).version == 4
        assert outgoing_headers() == {
            "OIN": OIN,
            "VerwerkingsactiviteitId": CONSUMER,
            "VerwerkingsactiviteitUrl": CONSUMER_URL,
            "VerwerkingId": v.verwerking_id,
            "Vertrouwelijkheid": "normaal",
            "Bewaartermijn": "P10Y",
            # W3C Trace Context beside the §10.2 headers (Logboek Dataverwerkingen, docs/logboek.md)
            "traceparent": f"00-{uuid.UUID(v.verwerking_id).hex}-{v.span_id}-01",
        }
        given = "48086BF2-11B7-4603-9526-67D7C3BB6587"
        with verwerking(CONSUMER, verwerking_id=given, vertrouwelijkheid="Vertrouwelijk") as inner:
            assert inner.verwerking_id == given.lower() and inner.vertrouwelijkheid == "vertrouwelijk"
            assert "OIN" not in outgoing_headers()
        assert current() == v
    assert current() is None


def test_decorator_runs_every_call_as_its_own_verwerking() -> None:
    seen: list[str] = []

    @verwerking(CONSUMER)
    def handle() -> None:
        v = current()
        assert v is not None
        seen.append(v.verwerking_id)

    @verwerking(CONSUMER)
    async def handle_async() -> str:
        await asyncio.sleep(0)
        v = current()
        assert v is not None
        return v.verwerking_id

    handle()
    handle()
    seen.append(asyncio.run(handle_async()))
    assert len(set(seen)) == 3 and current() is None


def test_invalid_values_are_refused_at_the_source() -> None:
    with pytest.raises(ValueError, match="UUID"):
        verwerking("not-a-uuid")
    with pytest.raises(ValueError, match="OIN"):
        verwerking(CONSUMER, oin="123")
    with pytest.raises(ValueError, match="duration"):
        verwerking(CONSUMER, bewaartermijn="tien jaar")


def test_httpx_hooks_add_the_headers_and_respect_explicit_ones() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handle), event_hooks={"request": [httpx_hook]}) as http:
        http.get("http://provider.test/a")
        with verwerking(CONSUMER, oin=OIN) as v:
            http.get("http://provider.test/b", headers={"Vertrouwelijkheid": "vertrouwelijk"})

    async def async_call() -> None:
        hooks = {"request": [async_httpx_hook]}
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle), event_hooks=hooks) as http:
            with verwerking(CONSUMER):
                await http.get("http://provider.test/c")

    asyncio.run(async_call())
    assert "VerwerkingId" not in seen[0].headers
    assert seen[1].headers["VerwerkingId"] == v.verwerking_id and seen[1].headers["OIN"] == OIN
    assert seen[1].headers["Vertrouwelijkheid"] == "vertrouwelijk"
    assert seen[2].headers["VerwerkingsactiviteitId"] == CONSUMER


def test_parse_headers_case_insensitive_with_the_header_rules() -> None:
    """§10.4 (AMB-07, AMB-08, AMB-32): any case of names; `Normaal`; a bare integer means years."""
    afnemer, problems = parse_headers(
        [
            ("oin", OIN),
            ("VERWERKINGSACTIVITEITID", CONSUMER.upper()),
            ("verwerkingsactiviteitUrl", CONSUMER_URL),
            ("verwerkingid", "48086bf2-11b7-4603-9526-67d7c3bb6587"),
            ("vertrouwelijkheid", "Normaal"),
            ("bewaartermijn", "150"),
        ]
    )
    assert problems == []
    assert afnemer.entry_fields() == {
        "soortAfnemerId": "OIN",
        "afnemerId": OIN,
        "verwerkingsactiviteitIdAfnemer": CONSUMER,
        "verwerkingsactiviteitUrlAfnemer": CONSUMER_URL,
        "verwerkingIdAfnemer": "48086bf2-11b7-4603-9526-67d7c3bb6587",
        "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P150Y",
    }
    bad, problems = parse_headers({"OIN": "123", "Bewaartermijn": "0", "Vertrouwelijkheid": "geheim"})
    assert {p.header for p in problems} == {"OIN", "Bewaartermijn", "Vertrouwelijkheid"}
    assert bad.oin is None and bad.bewaartermijn is None


ASGI_HEADERS = [
    (b"oin", OIN.encode()),
    (b"verwerkingsactiviteitid", CONSUMER.encode()),
    (b"verwerkingid", b"48086bf2-11b7-4603-9526-67d7c3bb6587"),
    (b"vertrouwelijkheid", b"Vertrouwelijk"),
    (b"bewaartermijn", b"P5Y"),
]


def _asgi(middleware_kw: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> tuple[list[Any], list[Any]]:
    seen: list[Any] = []
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((current_afnemer(), current(), entry_fields()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/p", "headers": headers}
    asyncio.run(PropagationMiddleware(app, **middleware_kw)(scope, receive, send))
    return seen, sent


def test_asgi_middleware_runs_the_request_as_the_providers_verwerking() -> None:
    """The provider logs its own activity and verwerkingId, the consumer's facts as afnemer (§10.4)."""
    seen, sent = _asgi({"activity": ProviderActivity(PROVIDER, oin="00000004003214345001")}, ASGI_HEADERS)
    afnemer, v, fields = seen[0]
    assert afnemer.oin == OIN and v.verwerkingsactiviteit_id == PROVIDER
    assert v.verwerking_id != "48086bf2-11b7-4603-9526-67d7c3bb6587"
    assert fields["verwerkingIdAfnemer"] == "48086bf2-11b7-4603-9526-67d7c3bb6587"
    assert fields["verwerkingsactiviteitIdAfnemer"] == CONSUMER and fields["afnemerId"] == OIN
    assert fields["vertrouwelijkheid"] == "vertrouwelijk" and fields["bewaartermijn"] == "P5Y"
    assert fields["verwerkingId"] == v.verwerking_id and sent[0]["status"] == 200
    assert current() is None and current_afnemer() is None


def test_asgi_middleware_strict_and_lenient_on_invalid_headers() -> None:
    bad = [(b"oin", b"12345"), (b"verwerkingid", b"48086bf2-11b7-4603-9526-67d7c3bb6587")]
    seen, sent = _asgi({"strict": True}, bad)
    assert not seen and sent[0]["status"] == 400
    problem = json.loads(sent[1]["body"])
    assert problem["invalidParams"][0]["name"] == "OIN" and problem["status"] == 400
    seen, sent = _asgi({}, bad)
    afnemer = seen[0][0]
    assert afnemer.oin is None and afnemer.verwerking_id == "48086bf2-11b7-4603-9526-67d7c3bb6587"


# Values on both sides of each §10.2 rule, including the corners where a rule of its own could drift from
# the register's: a fraction before the last part of a duration (R-VAL-6), the 2042-character URI (R-VAL-7).
HEADER_VALUES = [
    ("Bewaartermijn", "P10Y"),
    ("Bewaartermijn", "7"),
    ("Bewaartermijn", "0"),
    ("Bewaartermijn", "PT"),
    ("Bewaartermijn", "P1DT"),
    ("Bewaartermijn", "PT1H30.5M"),
    ("Bewaartermijn", "PT1.5H30M"),
    ("Bewaartermijn", "P1.5Y2M"),
    ("OIN", OIN),
    ("OIN", "123"),
    ("VerwerkingId", "48086BF2-11B7-4603-9526-67D7C3BB6587"),
    ("VerwerkingId", "x"),
    ("VerwerkingsactiviteitId", CONSUMER),
    ("Vertrouwelijkheid", "Normaal"),
    ("Vertrouwelijkheid", "geheim"),
    ("VerwerkingsactiviteitUrl", CONSUMER_URL),
    ("VerwerkingsactiviteitUrl", "var/relative"),
    ("VerwerkingsactiviteitUrl", "https://var.example/" + "a" * 2022),
    ("VerwerkingsactiviteitUrl", "https://var.example/" + "a" * 2023),
]


@pytest.mark.parametrize(("header", "value"), HEADER_VALUES)
def test_a_strict_provider_refuses_exactly_the_header_values_the_register_refuses(
    api: Api, header: str, value: str
) -> None:
    """§10.2, R-VAL-1/2/6/7/8: the client reads propagated headers by the register's own value rules."""
    register = api.request(
        "GET",
        "/api/v1/verwerkingsacties",
        headers={header: value},
        params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": new_bsn()},
    )
    assert register.status_code in (200, 400), register.text
    _, sent = _asgi({"strict": True}, [(header.lower().encode(), value.encode())])
    assert sent[0]["status"] == register.status_code, (header, value, register.text)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def provider() -> Iterator[str]:
    """A WSGI provider behind the middleware that echoes what it sees as the current verwerking."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        def body() -> Iterator[bytes]:  # produced lazily: the context must still be there
            yield json.dumps(entry_fields()).encode()

        start_response("200 OK", [("Content-Type", "application/json")])
        return body()

    server = make_server(
        "127.0.0.1", 0, PropagationWSGIMiddleware(app, ProviderActivity(PROVIDER)), handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_requests_adapter_to_wsgi_middleware_round_trip(provider: str) -> None:
    """A confidential verwerking whose retention is not yet known reaches the provider's entry (§10.3)."""
    session = propagating_session()
    with verwerking(CONSUMER, CONSUMER_URL, oin=OIN, vertrouwelijkheid="vertrouwelijk") as v:
        fields = session.get(f"{provider}/personen/1", timeout=5).json()
    assert fields["verwerkingIdAfnemer"] == v.verwerking_id and fields["afnemerId"] == OIN
    assert fields["vertrouwelijkheid"] == "vertrouwelijk" and "bewaartermijn" not in fields
    assert fields["verwerkingsactiviteitId"] == PROVIDER and fields["verwerkingId"] != v.verwerking_id
    outside = requests.get(f"{provider}/personen/1", timeout=5).json()
    assert "afnemerId" not in outside and outside["vertrouwelijkheid"] == "normaal"


def test_configured_oin_is_the_default() -> None:
    propagation.configure(oin=OIN)
    try:
        with verwerking(CONSUMER):
            assert outgoing_headers()["OIN"] == OIN
    finally:
        propagation.configure(oin=None)
