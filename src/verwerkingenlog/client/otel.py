"""For suppliers who already use the OpenTelemetry SDK: log processings as Logboek Dataverwerkingen spans.

`pip install 'verwerkingenlog[otel]'`. Three pieces, usable apart (docs/migration-otel.md):

- `register_exporter(...)`: the OTLP/HTTP exporter pointed at the register's `/v1/traces`, with a bearer token
  that is re-minted before the register's maximum token age (a static header would expire after an hour);
- `DplSpanProcessor`: fills `dpl.core.processing_activity_id` (and the register's `verwerkingenlog.*`
  confidentiality and retention) from the current `verwerking(...)` context of this library, so that code
  already marked for the VNG API produces valid Logius log lines without repeating itself;
- `tracer_provider(...)`: both, with the ALWAYS_ON sampler (Logboek Dataverwerkingen forbids sampling).

The register's own receiver, not this module, decides what is valid; invalid spans come back as
per-span errors in the OTLP partial-success response, which the SDK exporter logs.
"""

from __future__ import annotations

from typing import Any

import requests
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from verwerkingenlog.client import propagation
from verwerkingenlog.client.auth import TokenSource

PROCESSING_ACTIVITY_ID = "dpl.core.processing_activity_id"
DATA_SUBJECT_ID = "dpl.core.data_subject_id"
DATA_SUBJECT_ID_TYPE = "dpl.core.data_subject_id_type"
FOREIGN_PROCESSOR = "dpl.core.foreign_operation.processor"


class _BearerAuth(requests.auth.AuthBase):
    """A fresh `Authorization` header on every export (TokenSource caches and re-mints)."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self.tokens.authorization()
        return r


def register_exporter(register_url: str, client_id: str, secret: str, timeout: float = 10.0) -> OTLPSpanExporter:
    """The OTLP/HTTP (protobuf) exporter for the register at `register_url` (its root, e.g.
    https://log.gemeente.nl), authenticated as a registered client."""
    session = requests.Session()
    session.auth = _BearerAuth(TokenSource(client_id, secret))
    return OTLPSpanExporter(endpoint=f"{register_url.rstrip('/')}/v1/traces", timeout=timeout, session=session)


class DplSpanProcessor(SpanProcessor):
    """Sets the Logius attributes a span can take from this library's verwerking context, unless the code set
    them itself: the activity (its URL, else its id), confidentiality and retention."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        v = propagation.current()
        if v is None:
            return
        present = span.attributes or {}
        activity = v.verwerkingsactiviteit_url or v.verwerkingsactiviteit_id
        values: dict[str, Any] = {
            PROCESSING_ACTIVITY_ID: activity,
            "verwerkingenlog.vertrouwelijkheid": v.vertrouwelijkheid,
            "verwerkingenlog.bewaartermijn": v.bewaartermijn,
        }
        for key, value in values.items():
            if value is not None and key not in present:
                span.set_attribute(key, value)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def tracer_provider(
    register_url: str,
    client_id: str,
    secret: str,
    service_name: str,
    service_version: str | None = None,
    batch: bool = True,
) -> TracerProvider:
    """A TracerProvider that logs every span to the register: no sampling, the dpl processor first, then the
    exporter (batched; `batch=False` exports each span as it ends). Call `shutdown()` at exit to flush."""
    attributes = {"service.name": service_name}
    if service_version is not None:
        attributes["service.version"] = service_version
    provider = TracerProvider(resource=Resource.create(attributes), sampler=ALWAYS_ON)
    provider.add_span_processor(DplSpanProcessor())
    exporter = register_exporter(register_url, client_id, secret)
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider
