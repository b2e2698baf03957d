"""OpenTelemetry tracing of requests (api/tracing.py): off by default, on through the standard OTEL_* variables,
one span per request named by its route template, continuing the caller's traceparent, and no identifiers from
the path, query or headers in its attributes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import make_settings
from tests.helpers import Api, new_bsn
from verwerkingenlog.api import tracing
from verwerkingenlog.api.app import create_app

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{PARENT_TRACE}-00f067aa0ba902b7-01"


def test_tracing_is_off_by_default(monkeypatch: pytest.MonkeyPatch, backend: tuple[str, str], registered: Any) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert tracing.exporter_from_environment() is None
    assert create_app(make_settings(backend[1])).state.tracer_provider is None


def test_the_standard_variables_switch_it_on_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert isinstance(tracing.exporter_from_environment(), ConsoleSpanExporter)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.internal:4318")
    assert type(tracing.exporter_from_environment()).__name__ == "OTLPSpanExporter"
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.exporter_from_environment() is None
    monkeypatch.setenv("OTEL_SDK_DISABLED", "false")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    with pytest.raises(ValueError, match="not supported"):
        tracing.exporter_from_environment()


def test_a_span_per_request_continuing_the_callers_trace(
    monkeypatch: pytest.MonkeyPatch, api: Api, backend: tuple[str, str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "log-gemeente")
    app = create_app(make_settings(backend[1]))
    provider = app.state.tracer_provider
    assert provider is not None and provider.resource.attributes["service.name"] == "log-gemeente"
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    bsn = new_bsn()
    with TestClient(app) as tc:
        headers = {**api.auth("alles"), "traceparent": TRACEPARENT}
        r = tc.get("/api/v1/verwerkingsacties", params={"objectId": bsn}, headers=headers)
        assert r.status_code in (200, 400), r.text
        tc.get("/health/live")
    (first, second) = spans.get_finished_spans()
    assert first.name == "GET /api/v1/verwerkingsacties" and second.name == "GET /health/live"
    assert format(first.context.trace_id, "032x") == PARENT_TRACE
    assert first.parent is not None and format(first.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert format(second.context.trace_id, "032x") != PARENT_TRACE
    attributes = dict(first.attributes or {})
    assert attributes["http.route"] == "/api/v1/verwerkingsacties"
    assert attributes["http.response.status_code"] == r.status_code
    assert bsn not in repr(attributes) and "Bearer" not in repr(attributes)
