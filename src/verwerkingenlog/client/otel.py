"""For suppliers who already use the OpenTelemetry SDK: log processings as Logboek Dataverwerkingen spans.

`pip install 'verwerkingenlog[otel]'`. The pieces, usable apart (docs/migration-otel.md):

- `register_exporter(...)`: the OTLP/HTTP exporter pointed at the register's `/v1/traces`, with a bearer token
  that is re-minted before the register's maximum token age (a static header would expire after an hour);
  `register_grpc_exporter(...)` the same over OTLP/gRPC;
- `CheckedSpanExporter` (what both return): the stock exporter, wrapped so that a **refusal is visible**. The
  register answers an export with `partial_success` naming every span it refused (a span without
  `dpl.core.processing_activity_id`, with a user identity, …); the stock Python exporters never read it: they
  return SUCCESS and log nothing, over HTTP and gRPC. The wrapper logs each refusal at WARNING with the
  register's reasons, counts the refused spans (`rejected_spans`, and the OpenTelemetry counter
  `verwerkingenlog.client.rejected_spans`) and, with `fail_closed=True`, raises `SpansRefused`;
- `FailClosedSpanProcessor`: exports each span as it ends and lets `SpansRefused` (or `ExportFailed`) out of
  the span's `end()`, so out of the `with tracer.start_as_current_span(...)` block: for applications that
  must not go on with a processing that is not logged (the SDK's own processors swallow exporter errors);
- `DplSpanProcessor`: fills `dpl.core.processing_activity_id` (and the register's `verwerkingenlog.*`
  confidentiality and retention) from the current `verwerking(...)` context of this library, so that code
  already marked for the VNG API produces valid Logius log lines without repeating itself;
- `tracer_provider(...)`: all of these, with the ALWAYS_ON sampler (Logboek Dataverwerkingen forbids sampling).

The register's own receiver, not this module, decides what is valid.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from opentelemetry import metrics, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, attach, detach, set_value
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from verwerkingenlog.client import propagation
from verwerkingenlog.client.auth import TokenSource

PROCESSING_ACTIVITY_ID = "dpl.core.processing_activity_id"
DATA_SUBJECT_ID = "dpl.core.data_subject_id"
DATA_SUBJECT_ID_TYPE = "dpl.core.data_subject_id_type"
FOREIGN_PROCESSOR = "dpl.core.foreign_operation.processor"
REJECTED_SPANS_METRIC = "verwerkingenlog.client.rejected_spans"

log = logging.getLogger("verwerkingenlog.client.otel")


@dataclass(frozen=True, slots=True)
class Refusal:
    """The register's partial_success for one export: how many spans it refused, and why (each span named)."""

    rejected_spans: int
    error_message: str


class SpansRefused(RuntimeError):
    """A fail-closed exporter's export was (partly) refused: these spans are not logged."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"the register refused {refusal.rejected_spans} span(s): {refusal.error_message}")
        self.refusal = refusal


class ExportFailed(RuntimeError):
    """A fail-closed exporter's export failed as a whole (register unreachable, 401, 413, …): nothing logged."""


class _Refusals(threading.local):
    """What the transport hook saw of the responses during the current thread's export."""

    def __init__(self) -> None:
        self.seen: list[Refusal] = []

    def record(self, response: svc.ExportTraceServiceResponse) -> None:
        partial = response.partial_success
        if partial.rejected_spans or partial.error_message:
            self.seen.append(Refusal(partial.rejected_spans, partial.error_message))

    def take(self) -> list[Refusal]:
        seen, self.seen = self.seen, []
        return seen


class CheckedSpanExporter(SpanExporter):
    """A stock OTLP exporter whose partial successes are logged, counted and (fail-closed) raised.

    `rejected_spans` and `refused_exports` count since start, `last_refusal` is the latest; the OpenTelemetry
    counter `verwerkingenlog.client.rejected_spans` (of `meter_provider`, else the global one) counts the same for
    an application that exports metrics. `on_refusal` is called with each refusal. Built by `register_exporter`,
    `register_grpc_exporter`, `checked_http_exporter` and `checked_grpc_exporter`, which install the hook that
    reads the response (the stock exporters discard it).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        refusals: _Refusals,
        fail_closed: bool = False,
        meter_provider: metrics.MeterProvider | None = None,
        on_refusal: Callable[[Refusal], None] | None = None,
    ) -> None:
        self.exporter = exporter
        self.fail_closed = fail_closed
        self.on_refusal = on_refusal
        self.rejected_spans = 0
        self.refused_exports = 0
        self.last_refusal: Refusal | None = None
        self._refusals = refusals
        self._lock = threading.Lock()
        meter = (meter_provider or metrics.get_meter_provider()).get_meter("verwerkingenlog.client.otel")
        self._counter = meter.create_counter(
            REJECTED_SPANS_METRIC, unit="{span}", description="Spans the verwerkingenlog register refused (not logged)."
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._refusals.take()
        result = self.exporter.export(spans)
        refused = []
        for refusal in self._refusals.take():
            if not refusal.rejected_spans:  # OTLP: a message with nothing rejected is a warning, all accepted
                log.warning(
                    "the verwerkingenlog register accepted the export with a warning: %s", refusal.error_message
                )
                continue
            refused.append(refusal)
            with self._lock:
                self.rejected_spans += refusal.rejected_spans
                self.refused_exports += 1
                self.last_refusal = refusal
            self._counter.add(refusal.rejected_spans)
            log.warning(
                "the verwerkingenlog register refused %d of %d span(s), which are NOT logged: %s",
                refusal.rejected_spans,
                len(spans),
                refusal.error_message,
            )
            if self.on_refusal is not None:
                self.on_refusal(refusal)
        if self.fail_closed:
            if refused:
                raise SpansRefused(refused[0])
            if result is not SpanExportResult.SUCCESS:
                raise ExportFailed("the export to the verwerkingenlog register failed (see the exporter's log)")
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def _http_hook(refusals: _Refusals) -> Callable[..., requests.Response]:
    """A requests response hook reading the ExportTraceServiceResponse (protobuf, or JSON) of a 2xx answer."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if not 200 <= response.status_code < 300:
            return response  # the stock exporter logs these itself and returns FAILURE
        ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        message = svc.ExportTraceServiceResponse()
        try:
            if ctype == "application/json":
                partial = (json.loads(response.content or b"{}") or {}).get("partialSuccess") or {}
                message.partial_success.rejected_spans = int(partial.get("rejectedSpans") or 0)
                message.partial_success.error_message = str(partial.get("errorMessage") or "")
            else:
                message.ParseFromString(response.content)
        except (ValueError, TypeError, AttributeError) as exc:  # DecodeError is a ValueError
            log.warning("unreadable OTLP export response from the verwerkingenlog register: %s", exc)
            return response
        refusals.record(message)
        return response

    return hook


def checked_http_exporter(
    endpoint: str,
    *,
    session: requests.Session | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    fail_closed: bool = False,
    meter_provider: metrics.MeterProvider | None = None,
    on_refusal: Callable[[Refusal], None] | None = None,
) -> CheckedSpanExporter:
    """The stock OTLP/HTTP exporter for `endpoint` (…/v1/traces), wrapped (CheckedSpanExporter)."""
    refusals = _Refusals()
    session = session or requests.Session()
    session.hooks["response"].append(_http_hook(refusals))
    exporter = OTLPSpanExporter(endpoint=endpoint, headers=headers, timeout=timeout, session=session)
    return CheckedSpanExporter(exporter, refusals, fail_closed, meter_provider, on_refusal)


class _BearerAuth(requests.auth.AuthBase):
    """A fresh `Authorization` header on every export (TokenSource caches and re-mints)."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self.tokens.authorization()
        return r


def register_exporter(
    register_url: str,
    client_id: str,
    secret: str,
    timeout: float = 10.0,
    *,
    fail_closed: bool = False,
    meter_provider: metrics.MeterProvider | None = None,
) -> CheckedSpanExporter:
    """The OTLP/HTTP (protobuf) exporter for the register at `register_url` (its root, e.g.
    https://log.gemeente.nl), authenticated as a registered client, refusals visible (CheckedSpanExporter)."""
    session = requests.Session()
    session.auth = _BearerAuth(TokenSource(client_id, secret))
    return checked_http_exporter(
        f"{register_url.rstrip('/')}/v1/traces",
        session=session,
        timeout=timeout,
        fail_closed=fail_closed,
        meter_provider=meter_provider,
    )


def register_grpc_exporter(
    target: str,
    client_id: str,
    secret: str,
    *,
    insecure: bool = False,
    fail_closed: bool = False,
    meter_provider: metrics.MeterProvider | None = None,
) -> CheckedSpanExporter:
    """The OTLP/gRPC exporter for the register's gRPC receiver at `target` (host:port, OTLP_GRPC_PORT), with a
    token re-minted per export, refusals visible. `insecure` only for a local test: Logius requires TLS."""
    from verwerkingenlog.client import otel_grpc

    return otel_grpc.checked_grpc_exporter(
        target,
        tokens=TokenSource(client_id, secret),
        insecure=insecure,
        fail_closed=fail_closed,
        meter_provider=meter_provider,
    )


class FailClosedSpanProcessor(SpanProcessor):
    """Exports each span synchronously when it ends and does not swallow the exporter's exceptions: with a
    fail-closed CheckedSpanExporter a refused or failed export raises out of `span.end()`, i.e. out of the
    `with tracer.start_as_current_span(...)` block, so the application does not go on as if it was logged.
    (The SDK's SimpleSpanProcessor and BatchSpanProcessor log an exporter's exception and carry on.)"""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def on_end(self, span: ReadableSpan) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))  # no spans of the export's own HTTP call
        try:
            self.exporter.export((span,))
        finally:
            detach(token)

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _mark_next_logbook(read_api: str) -> None:
    """An outgoing call to another organisation (propagation.chain): its read API on the current span, the
    action that makes the call (logboek-extensie-lezen). The first one stays when an action calls several."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    present = getattr(span, "attributes", None) or {}
    if propagation.NEXT_LOGBOOK not in present:
        span.set_attribute(propagation.NEXT_LOGBOOK, read_api)


class DplSpanProcessor(SpanProcessor):
    """Sets the Logius attributes a span can take from this library's verwerking context, unless the code set
    them itself: the activity (its URL, else its id), confidentiality and retention; and, on the span that
    calls another organisation configured with `propagation.configure_next_logbooks`, the next logbook
    (`dpl.read.externalReadAPI_id`, when the call goes through the library's httpx hooks or requests adapter)."""

    def __init__(self) -> None:
        propagation.on_crossing(_mark_next_logbook)

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
    *,
    fail_closed: bool = False,
    grpc_target: str | None = None,
    grpc_insecure: bool = False,
    meter_provider: metrics.MeterProvider | None = None,
) -> TracerProvider:
    """A TracerProvider that logs every span to the register: no sampling, the dpl processor first, then the
    checked exporter (batched; `batch=False` exports each span as it ends). Over OTLP/HTTP, or over OTLP/gRPC to
    `grpc_target` (host:port). `fail_closed=True`: each span is exported as it ends and a refusal raises
    `SpansRefused` out of the span's block (FailClosedSpanProcessor; `batch` is then ignored). Call `shutdown()`
    at exit to flush."""
    attributes = {"service.name": service_name}
    if service_version is not None:
        attributes["service.version"] = service_version
    provider = TracerProvider(resource=Resource.create(attributes), sampler=ALWAYS_ON)
    provider.add_span_processor(DplSpanProcessor())
    if grpc_target is not None:
        exporter = register_grpc_exporter(
            grpc_target,
            client_id,
            secret,
            insecure=grpc_insecure,
            fail_closed=fail_closed,
            meter_provider=meter_provider,
        )
    else:
        exporter = register_exporter(
            register_url, client_id, secret, fail_closed=fail_closed, meter_provider=meter_provider
        )
    processor: SpanProcessor
    if fail_closed:
        processor = FailClosedSpanProcessor(exporter)
    else:
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider
