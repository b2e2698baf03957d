"""The OTLP/gRPC side of `verwerkingenlog.client.otel` (`pip install 'verwerkingenlog[otel-grpc]'`): the stock
gRPC span exporter with a client interceptor that reads each ExportTraceServiceResponse (the stock exporter
discards it, partial_success included) and sets a freshly minted bearer token on each call.

The interceptor is put on the exporter's channel by overriding `_initialize_channel_and_stub`, which the stock
exporter also calls to reconnect after UNAVAILABLE, so a reconnected channel keeps it (tested against the SDK
in tests/test_logboek_grpc.py; a new SDK that renames the hook fails that test, not silently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import grpc
from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc

from verwerkingenlog.client.auth import TokenSource
from verwerkingenlog.client.otel import CheckedSpanExporter, Refusal, _Refusals


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Sequence[tuple[str, str | bytes]] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _Interceptor(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, refusals: _Refusals, tokens: TokenSource | None) -> None:
        self.refusals = refusals
        self.tokens = tokens

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if self.tokens is not None:
            metadata = [(k, v) for k, v in (details.metadata or ()) if k.lower() != "authorization"]
            metadata.append(("authorization", self.tokens.authorization()))
            details = _CallDetails(
                details.method,
                details.timeout,
                metadata,
                details.credentials,
                getattr(details, "wait_for_ready", None),
                getattr(details, "compression", None),
            )
        outcome = continuation(details, request)
        if outcome.exception() is None:
            response = outcome.result()
            if isinstance(response, svc.ExportTraceServiceResponse):
                self.refusals.record(response)
        return outcome


class _InterceptedExporter(OTLPSpanExporter):
    def __init__(self, interceptor: _Interceptor, **kwargs: Any) -> None:
        self._verwerkingenlog_interceptor = interceptor  # before super().__init__, which opens the channel
        super().__init__(**kwargs)

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]
        channel = grpc.intercept_channel(cast(grpc.Channel, self._channel), self._verwerkingenlog_interceptor)
        self._client = self._stub(channel)


def checked_grpc_exporter(
    target: str,
    *,
    tokens: TokenSource | None = None,
    headers: dict[str, str] | None = None,
    insecure: bool = False,
    credentials: grpc.ChannelCredentials | None = None,
    timeout: float = 10.0,
    fail_closed: bool = False,
    meter_provider: metrics.MeterProvider | None = None,
    on_refusal: Callable[[Refusal], None] | None = None,
) -> CheckedSpanExporter:
    """The stock OTLP/gRPC exporter for `target` (host:port), wrapped (CheckedSpanExporter); with `tokens`, the
    `authorization` metadata is minted per call (else send it in `headers`)."""
    refusals = _Refusals()
    exporter = _InterceptedExporter(
        _Interceptor(refusals, tokens),
        endpoint=target,
        insecure=insecure,
        credentials=credentials,
        headers=headers,
        timeout=timeout,
    )
    return CheckedSpanExporter(exporter, refusals, fail_closed, meter_provider, on_refusal)
