"""OTLP/gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export on a port of its own (OTLP_GRPC_PORT).

Started in the app's lifespan only when configured, in the same process and on the same event loop as the HTTP
API, so it shares the database engine and the Logboek service: the same validation, per-span errors
(partial success), durable commit before the answer, and deduplication as POST /v1/traces. Authentication is
the `authorization: Bearer …` metadata, as the HTTP header. gRPC compresses (gzip) by itself.

The generic handler is used rather than the generated `trace_service_pb2_grpc` module, which has no types.
"""

from __future__ import annotations

import logging

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as svc

from verwerkingenlog.api.otlp import export_message, spans_from_protobuf
from verwerkingenlog.domain.errors import DomainError, NotAuthenticated, PermissionDenied, ValidationFailed
from verwerkingenlog.services.otlp import Logboek
from verwerkingenlog.services.tokens import TokenVerifier

log = logging.getLogger("verwerkingenlog.otlp")

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"

_CODES: dict[type[DomainError], grpc.StatusCode] = {
    NotAuthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    ValidationFailed: grpc.StatusCode.INVALID_ARGUMENT,
}


def _status_of(exc: DomainError) -> grpc.StatusCode:
    for kind, code in _CODES.items():
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.UNAUTHENTICATED if exc.status == 401 else grpc.StatusCode.INVALID_ARGUMENT


class TraceService:
    def __init__(self, logboek: Logboek, verifier: TokenVerifier) -> None:
        self.logboek = logboek
        self.verifier = verifier

    async def export(
        self, request: svc.ExportTraceServiceRequest, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> svc.ExportTraceServiceResponse:
        metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        try:
            caller = await self.verifier.caller(metadata.get("authorization"))
            # Decoded again through the one decoder the HTTP receiver uses: one mapping for both transports.
            spans = spans_from_protobuf(request.SerializeToString())
            result = await self.logboek.export(caller, spans)
        except DomainError as exc:
            await context.abort(_status_of(exc), exc.detail)
        return export_message(result)


async def start(logboek: Logboek, verifier: TokenVerifier, host: str, port: int) -> grpc.aio.Server:
    """Bind and start the server; the caller stops it (lifespan end)."""
    service = TraceService(logboek, verifier)
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Export": grpc.unary_unary_rpc_method_handler(
                service.export,
                request_deserializer=svc.ExportTraceServiceRequest.FromString,
                response_serializer=svc.ExportTraceServiceResponse.SerializeToString,
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"{host}:{port}")
    await server.start()
    log.info("OTLP/gRPC receiver listening on %s:%d", host, port)
    return server
