"""A chain of two applications links up in both standards (docs/migration-otel.md), on SQLite and PostgreSQL.

The consumer still logs through the VNG API with this client library; its outgoing call carries the §10.2
headers and W3C `traceparent`. The provider has moved to OpenTelemetry: it reads the traceparent, logs its
span with the library's OpenTelemetry helper (exporter + DplSpanProcessor) to the register's OTLP receiver.
Both entries are one trace in the Logius face and consumer/afnemer in the VNG face.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tests.helpers import TEST_ACTIVITY, Api, actie, new_bsn
from tests.logboek_support import ACTIVITY_URL, serving
from verwerkingenlog.client import otel, propagation
from verwerkingenlog.client.propagation import (
    PropagationWSGIMiddleware,
    ProviderActivity,
    httpx_hook,
    parse_traceparent,
    verwerking,
)
from verwerkingenlog.services.clients import Client

PROVIDER_ACTIVITY = "7d3c1e52-9a41-4b7e-8a8e-2f5d0c6b1a93"
PROVIDER_URL = f"https://var.example.nl/api/v1/verwerkingsactiviteit/{PROVIDER_ACTIVITY}"


@pytest.fixture
def register_url(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[str]:
    with serving(backend[1]) as url:
        yield url


def provider_app(register_url: str, client: Client) -> tuple[Callable[..., Iterable[bytes]], Any]:
    """The person registry, instrumented with OpenTelemetry through the client library's helper."""
    provider = otel.tracer_provider(register_url, client.client_id, client.secret, "persoonsregistratie", batch=False)
    tracer = provider.get_tracer("brp")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        carrier = {"traceparent": environ.get("HTTP_TRACEPARENT", "")}
        context = TraceContextTextMapPropagator().extract(carrier)
        bsn = environ["PATH_INFO"].rsplit("/", 1)[-1]
        with tracer.start_as_current_span("Verstrekken persoonsgegevens", context=context) as span:
            span.set_attributes(
                {
                    otel.DATA_SUBJECT_ID: bsn,
                    otel.DATA_SUBJECT_ID_TYPE: "BSN",
                    otel.FOREIGN_PROCESSOR: "https://parkeren.gemeente.example/",
                }
            )
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    wrapped = PropagationWSGIMiddleware(app, ProviderActivity(PROVIDER_ACTIVITY, PROVIDER_URL))
    return wrapped, provider


def test_vng_consumer_and_opentelemetry_provider_link_up(
    api: Api, register_url: str, registered: dict[str, Client]
) -> None:
    bsn = new_bsn()
    app, provider = provider_app(register_url, registered["normaal"])
    transport = httpx.WSGITransport(app=app)
    with (
        verwerking(TEST_ACTIVITY, ACTIVITY_URL) as v,
        httpx.Client(transport=transport, base_url="http://brp", event_hooks={"request": [httpx_hook]}) as http,
    ):
        assert http.get(f"/personen/{bsn}").status_code == 200
        api.create(actie(bsn, actieNaam="Aanvragen parkeervergunning", **v.entry_fields()))
    provider.shutdown()
    trace_id = uuid.UUID(v.verwerking_id).hex

    r = api.request("POST", "/api/v1/processing-activities", json={"traceId": trace_id})
    lines = {x["name"]: x for x in r.json()["processingActivities"]}
    assert set(lines) == {"Aanvragen parkeervergunning", "Verstrekken persoonsgegevens"}
    child = lines["Verstrekken persoonsgegevens"]
    assert child["parentSpanId"] == v.span_id  # the consumer's traceparent
    assert child["attributes"]["dpl.core.processing_activity_id"] == PROVIDER_URL  # from the verwerking context
    # The VNG face: the provider's entry names the consumer's verwerking.
    provided = next(
        a for a in api.list(bsn, activity=PROVIDER_ACTIVITY).json()["results"] if a["actieNaam"].startswith("Verstr")
    )
    assert provided["verwerkingIdAfnemer"] == v.verwerking_id
    assert provided["verwerkingsactiviteitId"] == PROVIDER_ACTIVITY


def test_traceparent_rules() -> None:
    """W3C Trace Context: invalid values are ignored, never an error; the received trace is continued."""
    good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    parsed = parse_traceparent(good, "congo=t61rcWkgMzE")
    assert parsed is not None and parsed.parent_span_id == "b7ad6b7169203331"
    assert parsed.verwerking_id == "0af76519-16cd-43dd-8448-eb211c80319c"
    for bad in (
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "nonsense",
    ):
        assert parse_traceparent(bad) is None, bad
    afnemer, problems = propagation.parse_headers({"traceparent": good, "tracestate": "congo=t61rcWkgMzE"})
    assert problems == [] and afnemer.trace == parsed
    # A consumer that sent only a traceparent is named by its trace as verwerkingIdAfnemer.
    assert afnemer.entry_fields() == {"verwerkingIdAfnemer": "0af76519-16cd-43dd-8448-eb211c80319c"}
    with verwerking(TEST_ACTIVITY) as own:
        assert propagation.outgoing_headers()["traceparent"] == own.traceparent
        assert "tracestate" not in propagation.outgoing_headers()
