"""Helpers for the Logboek Dataverwerkingen tests: a real register server for the OpenTelemetry exporter, an
SDK tracer that exports to it, and OTLP requests built with the official protobuf messages."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.conftest import make_settings
from tests.helpers import TEST_ACTIVITY
from tests.live import free_port
from verwerkingenlog.api.app import create_app

ACTIVITY_URL = f"https://var.example.nl/api/v1/verwerkingsactiviteit/{TEST_ACTIVITY}"


@contextmanager
def serving(database_url: str, **overrides: Any) -> Iterator[str]:
    """The register as a real HTTP server on a free port (the exporter speaks real HTTP), in this process."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(make_settings(database_url, **overrides)), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the register did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def tracer_provider(register_url: str, token: str, service: str) -> tuple[TracerProvider, OTLPSpanExporter]:
    """What a supplier configures: the SDK and its OTLP/HTTP exporter with the register's URL and a bearer
    token (docs/logboek.md). Not the global provider, so tests do not see each other's spans."""
    exporter = OTLPSpanExporter(endpoint=f"{register_url}/v1/traces", headers={"Authorization": f"Bearer {token}"})
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": "2.1"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _value(v: Any) -> common_pb2.AnyValue:
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    return common_pb2.AnyValue(string_value=str(v))


def pb_span(
    name: str = "Opvragen persoonsgegevens",
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    start_ns: int = 1_700_000_000_000_000_000,
    end_ns: int | None = None,
    **attributes: Any,
) -> trace_pb2.Span:
    return trace_pb2.Span(
        trace_id=trace_id if trace_id is not None else uuid.uuid4().bytes,
        span_id=span_id if span_id is not None else uuid.uuid4().bytes[:8],
        name=name,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns if end_ns is not None else start_ns + 5_000_000,
        attributes=[common_pb2.KeyValue(key=k.replace("__", "."), value=_value(v)) for k, v in attributes.items()],
    )


def pb_request(*spans: trace_pb2.Span, service: str = "handmade") -> bytes:
    resource = trace_pb2.ResourceSpans(
        resource={"attributes": [common_pb2.KeyValue(key="service.name", value=_value(service))]},
        scope_spans=[trace_pb2.ScopeSpans(spans=list(spans))],
    )
    return svc.ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()


def pb_response(content: bytes) -> svc.ExportTraceServiceResponse:
    message = svc.ExportTraceServiceResponse()
    message.ParseFromString(content)
    return message


def dpl(bsn: str | None, activity: str = ACTIVITY_URL, **extra: Any) -> dict[str, Any]:
    """The dpl.core attributes of a log line about one person (keys with `__` for `.`)."""
    out: dict[str, Any] = {"dpl__core__processing_activity_id": activity, **extra}
    if bsn is not None:
        out.update(dpl__core__data_subject_id=bsn, dpl__core__data_subject_id_type="BSN")
    return out
