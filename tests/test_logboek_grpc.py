"""OTLP/gRPC (OTLP_GRPC_PORT) with the official OpenTelemetry gRPC exporter, on SQLite and PostgreSQL: the
same store, per-span errors and authentication as OTLP/HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from tests.conftest import make_settings
from tests.helpers import Api, new_bsn
from tests.live import free_port
from tests.logboek_support import dpl, pb_request, pb_span
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
def grpc_register(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[tuple[Api, int]]:
    port = free_port()
    app = create_app(make_settings(backend[1], otlp_grpc_port=port))
    with TestClient(app, base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, backend[0], registered), port


def test_sdk_grpc_exporter_logs_through_the_receiver(grpc_register: tuple[Api, int]) -> None:
    api, port = grpc_register
    bsn = new_bsn()
    auth = (("authorization", f"Bearer {api.tokens['normaal']}"),)
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, headers=auth)
    provider = TracerProvider(resource=Resource.create({"service.name": "gegevensmagazijn"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("Opvragen via gRPC") as span:
        span.set_attributes({k.replace("__", "."): v for k, v in dpl(bsn).items()})
    assert exporter.export([span]) is SpanExportResult.SUCCESS  # a retry: the same entry
    provider.shutdown()
    (entry,) = api.list(bsn).json()["results"]
    assert (entry["actieNaam"], entry["systeem"]) == ("Opvragen via gRPC", "gegevensmagazijn")


def test_grpc_per_span_errors_and_authentication(grpc_register: tuple[Api, int]) -> None:
    api, port = grpc_register
    bsn = new_bsn()
    body = pb_request(pb_span("Goed", **dpl(bsn)), pb_span("Zonder activiteit", span_id=b"\x07" * 8))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(EXPORT, response_deserializer=svc.ExportTraceServiceResponse.FromString)
        response = export(body, metadata=(("authorization", f"Bearer {api.tokens['normaal']}"),))
        assert response.partial_success.rejected_spans == 1
        assert "0707070707070707: attribute dpl.core.processing_activity_id is required" in (
            response.partial_success.error_message
        )
        with pytest.raises(grpc.RpcError) as refused:
            export(body)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert [a["actieNaam"] for a in api.list(bsn).json()["results"]] == ["Goed"]


def test_sdk_grpc_exporter_recorded_exception_arrives(grpc_register: tuple[Api, int]) -> None:
    api, port = grpc_register
    bsn = new_bsn()
    auth = (("authorization", f"Bearer {api.tokens['normaal']}"),)
    provider = TracerProvider(resource=Resource.create({"service.name": "gegevensmagazijn"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, headers=auth))
    )
    with pytest.raises(PermissionError), provider.get_tracer("t").start_as_current_span("Opvragen via gRPC") as span:
        span.set_attributes({k.replace("__", "."): v for k, v in dpl(bsn).items()})
        raise PermissionError("geen autorisatie voor deze gegevens")
    provider.shutdown()
    trace_id = format(span.get_span_context().trace_id, "032x")
    r = api.request("POST", "/api/v1/processing-activities", "alles", json={"traceId": trace_id})
    (line,) = r.json()["processingActivities"]
    assert line["attributes"]["exception.type"] == "PermissionError"
    assert line["attributes"]["exception.message"] == "geen autorisatie voor deze gegevens"
    assert "exception.stacktrace" not in line["attributes"]


def test_grpc_time_beyond_int64_is_a_rejection_not_an_error(grpc_register: tuple[Api, int]) -> None:
    """Issue 21: a fixed64 time the register cannot store is a per-span rejection over gRPC too."""
    api, port = grpc_register
    body = pb_request(pb_span("Ver weg", span_id=b"\x0c" * 8, start_ns=2**64 - 1, end_ns=2**64 - 1, **dpl(new_bsn())))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(EXPORT, response_deserializer=svc.ExportTraceServiceResponse.FromString)
        response = export(body, metadata=(("authorization", f"Bearer {api.tokens['normaal']}"),))
    assert response.partial_success.rejected_spans == 1
    assert "0c0c0c0c0c0c0c0c: start_time is after 2262-04-11" in response.partial_success.error_message
