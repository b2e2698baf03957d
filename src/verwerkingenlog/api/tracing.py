"""OpenTelemetry tracing of requests: off by default, switched on and configured only by the standard
OpenTelemetry environment variables, so that operators use what their tracing back end documents.

- `OTEL_TRACES_EXPORTER=otlp` (OTLP over HTTP/protobuf, to `OTEL_EXPORTER_OTLP_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, with `OTEL_EXPORTER_OTLP_HEADERS`) or `console`; unset or `none`: no tracing.
- `OTEL_SDK_DISABLED=true` switches it off whatever else is set.
- `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`: read by the SDK.

A span per request, named `METHOD route-template`, continuing the caller's W3C `traceparent`. Its attributes are
the route template, method and status only: never the raw path, query or headers, which can hold BSNs and tokens.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verwerkingenlog import __version__
from verwerkingenlog.api.ops import route_of

_PROPAGATOR = TraceContextTextMapPropagator()


def exporter_from_environment() -> SpanExporter | None:
    """The exporter OTEL_TRACES_EXPORTER asks for, or None when tracing is off (the default)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    wanted = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if wanted in ("", "none"):
        return None
    if wanted == "console":
        return ConsoleSpanExporter()
    if wanted == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={wanted!r} is not supported here: use otlp, console or none.")


def provider_from_environment(exporter: SpanExporter | None = None) -> TracerProvider | None:
    """A tracer provider for this app (not the global one, so that several apps in a process stay apart)."""
    exporter = exporter or exporter_from_environment()
    if exporter is None:
        return None
    defaults = {"service.name": "verwerkingenlog", "service.version": __version__}
    if os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        defaults.pop("service.name")
    provider = TracerProvider(resource=Resource.create(defaults))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class TracingMiddleware:
    """One SERVER span per HTTP request, child of the caller's `traceparent` when it sends one."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _TRACE_HEADERS}
        parent = _PROPAGATOR.extract(carrier)
        method = scope["method"]
        with self.tracer.start_as_current_span(
            method, context=parent, kind=SpanKind.SERVER, record_exception=False, set_status_on_exception=False
        ) as span:
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = route_of(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)


_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})
