"""A refused span is visible to the application (issue 20.2), on SQLite and PostgreSQL, over OTLP/HTTP and gRPC.

The register names every span it refuses in the OTLP `partial_success` of a 200 answer. The stock OpenTelemetry
exporters never read it: the first tests document that (SUCCESS, not a line logged). The client library's
CheckedSpanExporter logs the refusal at WARNING with the register's reasons, counts it (attribute and
OpenTelemetry counter) and, fail-closed, raises out of the span's block.
"""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as StockGrpcExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

from tests.conftest import make_settings
from tests.helpers import Api, new_bsn
from tests.live import free_port
from tests.logboek_support import ACTIVITY_URL, serving, tracer_provider
from verwerkingenlog.api.app import create_app
from verwerkingenlog.client import otel
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client

REASON = "attribute dpl.core.processing_activity_id is required"


@pytest.fixture
def register_url(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[str]:
    with serving(backend[1]) as url:
        yield url


@pytest.fixture
def grpc_register(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[tuple[Api, str]]:
    port = free_port()
    app = create_app(make_settings(backend[1], otlp_grpc_port=port))
    with TestClient(app, base_url="http://testserver") as tc:
        yield (
            Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, backend[0], registered),
            (f"127.0.0.1:{port}"),
        )


def provider_with(exporter: SpanExporter, batch: bool = False) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "zaaksysteem"}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider


def log_two(provider: TracerProvider) -> tuple[str, str]:
    """One valid span (a person's) and one the register refuses (no processing activity); their trace ids."""
    bsn = new_bsn()
    tracer = provider.get_tracer("z")
    with tracer.start_as_current_span("Geldig") as good:
        good.set_attributes(
            {otel.PROCESSING_ACTIVITY_ID: ACTIVITY_URL, otel.DATA_SUBJECT_ID: bsn, otel.DATA_SUBJECT_ID_TYPE: "BSN"}
        )
    with tracer.start_as_current_span("Zonder activiteit") as bad:
        bad.set_attribute("zaak", "Z-1")
    return (format(good.get_span_context().trace_id, "032x"), format(bad.get_span_context().trace_id, "032x"))


def stored(api: Api, trace_id: str) -> list[Any]:
    r = api.request("POST", "/api/v1/processing-activities", "alles", json={"traceId": trace_id})
    assert r.status_code == 200, r.text
    return list(r.json()["processingActivities"])


def warnings_of(caplog: pytest.LogCaptureFixture, prefix: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(prefix) and r.levelno >= logging.WARNING]


def counted(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(
        int(point.value)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == otel.REJECTED_SPANS_METRIC
        for point in metric.data.data_points  # type: ignore[union-attr]
    )


# -- what a stock exporter does (documented in docs/logboek.md) ---------------------------------------------------


def test_stock_http_exporter_reports_success_and_logs_nothing_for_a_refused_span(
    api: Api, register_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    provider, exporter = tracer_provider(register_url, api.tokens["normaal"], "zaaksysteem")
    caplog.set_level(logging.DEBUG)
    tracer = provider.get_tracer("z")
    with tracer.start_as_current_span("Zonder activiteit") as bad:
        pass
    assert exporter.export([bad]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
    provider.shutdown()
    assert stored(api, format(bad.get_span_context().trace_id, "032x")) == []  # refused: not logged
    assert warnings_of(caplog, "opentelemetry") == []  # and the application hears nothing of it


def test_stock_grpc_exporter_reports_success_and_logs_nothing_for_a_refused_span(
    grpc_register: tuple[Api, str], caplog: pytest.LogCaptureFixture
) -> None:
    api, target = grpc_register
    auth = (("authorization", f"Bearer {api.tokens['normaal']}"),)
    exporter = StockGrpcExporter(endpoint=target, insecure=True, headers=auth)
    provider = provider_with(exporter)
    caplog.set_level(logging.DEBUG)
    with provider.get_tracer("z").start_as_current_span("Zonder activiteit") as bad:
        pass
    assert exporter.export([bad]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
    provider.shutdown()
    assert stored(api, format(bad.get_span_context().trace_id, "032x")) == []
    assert warnings_of(caplog, "opentelemetry") == []


# -- the checked exporter -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [False, True], ids=["simple", "batch"])
def test_checked_http_exporter_logs_and_counts_a_refused_span(
    api: Api, register_url: str, caplog: pytest.LogCaptureFixture, batch: bool
) -> None:
    client = api.clients["normaal"]
    reader = InMemoryMetricReader()
    exporter = otel.register_exporter(
        register_url, client.client_id, client.secret, meter_provider=MeterProvider(metric_readers=[reader])
    )
    provider = provider_with(exporter, batch)
    good, bad = log_two(provider)
    provider.shutdown()
    assert [line["name"] for line in stored(api, good)] == ["Geldig"]
    assert stored(api, bad) == []
    (warning,) = warnings_of(caplog, "verwerkingenlog.client.otel")
    assert "refused 1 of" in warning.getMessage() and "NOT logged" in warning.getMessage()
    assert f"span {bad}/" in warning.getMessage() and REASON in warning.getMessage()
    assert (exporter.rejected_spans, exporter.refused_exports) == (1, 1)
    assert exporter.last_refusal is not None and REASON in exporter.last_refusal.error_message
    assert counted(reader) == 1


def test_checked_grpc_exporter_logs_and_counts_a_refused_span(
    grpc_register: tuple[Api, str], caplog: pytest.LogCaptureFixture
) -> None:
    api, target = grpc_register
    client = api.clients["normaal"]
    reader = InMemoryMetricReader()
    exporter = otel.register_grpc_exporter(
        target, client.client_id, client.secret, insecure=True, meter_provider=MeterProvider(metric_readers=[reader])
    )
    provider = provider_with(exporter)
    good, bad = log_two(provider)  # the token is minted by the exporter: the valid span is stored
    provider.shutdown()
    assert [line["name"] for line in stored(api, good)] == ["Geldig"]
    (warning,) = warnings_of(caplog, "verwerkingenlog.client.otel")
    assert f"span {bad}/" in warning.getMessage() and REASON in warning.getMessage()
    assert exporter.rejected_spans == 1
    assert counted(reader) == 1


def test_fail_closed_raises_out_of_the_span_over_http(api: Api, register_url: str) -> None:
    client = api.clients["normaal"]
    provider = otel.tracer_provider(register_url, client.client_id, client.secret, "zaaksysteem", fail_closed=True)
    tracer = provider.get_tracer("z")
    with tracer.start_as_current_span("Geldig") as good:  # a valid span: no exception
        good.set_attribute(otel.PROCESSING_ACTIVITY_ID, ACTIVITY_URL)
    with pytest.raises(otel.SpansRefused) as refused, tracer.start_as_current_span("Zonder activiteit"):
        pass
    provider.shutdown()
    assert refused.value.refusal.rejected_spans == 1
    assert REASON in str(refused.value)
    assert len(stored(api, format(good.get_span_context().trace_id, "032x"))) == 1


def test_fail_closed_raises_out_of_the_span_over_grpc(grpc_register: tuple[Api, str]) -> None:
    api, target = grpc_register
    client = api.clients["normaal"]
    provider = otel.tracer_provider(
        "unused",
        client.client_id,
        client.secret,
        "zaaksysteem",
        fail_closed=True,
        grpc_target=target,
        grpc_insecure=True,
    )
    with pytest.raises(otel.SpansRefused, match=REASON), provider.get_tracer("z").start_as_current_span("Zonder"):
        pass
    provider.shutdown()


def test_fail_closed_raises_when_the_export_fails_as_a_whole(
    api: Api, register_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong secret (401): the stock exporter logs an error and returns FAILURE; fail-closed raises."""
    provider = otel.tracer_provider(
        register_url, api.clients["normaal"].client_id, "not-the-secret", "zaaksysteem", fail_closed=True
    )
    with pytest.raises(otel.ExportFailed), provider.get_tracer("z").start_as_current_span("Geldig") as span:
        span.set_attribute(otel.PROCESSING_ACTIVITY_ID, ACTIVITY_URL)
    provider.shutdown()
    (error,) = warnings_of(caplog, "opentelemetry")
    assert error.levelno == logging.ERROR and "401" in error.getMessage()


def test_a_partial_success_that_rejects_nothing_is_a_warning_not_a_refusal(caplog: pytest.LogCaptureFixture) -> None:
    """OTLP: rejected_spans 0 with an error_message is a warning, everything accepted; a fail-closed exporter
    logs it and goes on. (The register itself never answers so: this is any OTLP receiver, on loopback.)"""
    answer = svc.ExportTraceServiceResponse()
    answer.partial_success.error_message = "attribute limits reached, values truncated"

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = answer.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        exporter = otel.checked_http_exporter(f"http://127.0.0.1:{server.server_port}/v1/traces", fail_closed=True)
        provider = TracerProvider()
        with provider.get_tracer("z").start_as_current_span("Iets") as span:
            pass
        assert exporter.export([span]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
    finally:
        server.shutdown()
    (warning,) = warnings_of(caplog, "verwerkingenlog.client.otel")
    assert "accepted the export with a warning: attribute limits reached" in warning.getMessage()
    assert (exporter.rejected_spans, exporter.refused_exports) == (0, 0)
