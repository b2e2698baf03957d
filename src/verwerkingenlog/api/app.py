"""The ASGI application: wires settings, store, services and routers together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from verwerkingenlog import PRODUCT_NAME, __version__
from verwerkingenlog.api import bewerking, bulk, docs, fg, integrity, inzage, ops, tiles, tracing, var
from verwerkingenlog.api.allow import AllowMiddleware
from verwerkingenlog.api.logboek import logboek_service, mount_logboek, start_otlp_grpc, stop_otlp_grpc
from verwerkingenlog.api.middleware import ApiVersionMiddleware
from verwerkingenlog.api.problems import (
    handle_database_error,
    handle_domain_error,
    handle_unexpected,
    problem_response,
)
from verwerkingenlog.api.security import HeadLimitMiddleware, RateLimiter, SecurityHeadersMiddleware
from verwerkingenlog.domain.errors import DomainError
from verwerkingenlog.domain.selflog import SelfLogProfile
from verwerkingenlog.observability import configure_logging
from verwerkingenlog.services.client_cache import start_client_cache
from verwerkingenlog.services.clients import Clients
from verwerkingenlog.services.fg import build_fg
from verwerkingenlog.services.herpseudonimisering import repseudonymise
from verwerkingenlog.services.integrity import Integrity, Witness
from verwerkingenlog.services.partitions import Partitions
from verwerkingenlog.services.register import Register, wall_clock_us
from verwerkingenlog.services.strict import IngestPolicy
from verwerkingenlog.services.tokens import TokenVerifier
from verwerkingenlog.services.var import VarService
from verwerkingenlog.settings import Settings
from verwerkingenlog.store import migrate
from verwerkingenlog.store.client_secrets import keyring_from_settings
from verwerkingenlog.store.db import DATABASE_ERRORS, Database
from verwerkingenlog.store.group_commit import GroupCommitter
from verwerkingenlog.store.pseudonymisation import Pseudonymiser, load_secret
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.write import LogWriter

log = logging.getLogger("verwerkingenlog")

_HTTP_CODES = {404: ("not_found", "Not found."), 405: ("method_not_allowed", "Method not allowed.")}


def self_log_profile(settings: Settings) -> SelfLogProfile | None:
    if not settings.self_logging:
        return None
    url = settings.self_log_verwerkingsactiviteit_url
    if url is None and settings.public_base_url:
        url = (
            f"{settings.public_base_url.rstrip('/')}/verwerkingsactiviteit/{settings.self_log_verwerkingsactiviteit_id}"
        )
    return SelfLogProfile(
        verwerkingsactiviteit_id=settings.self_log_verwerkingsactiviteit_id,
        verwerkingsactiviteit_url=url,
        bewaartermijn=settings.self_log_bewaartermijn,
        systeem=f"{PRODUCT_NAME} {__version__}",
    )


def build_register(settings: Settings, db: Database) -> Register:
    codec = RowCodec(
        Pseudonymiser(load_secret(settings.pseudonymisation_key, settings.key_file), settings.personal_data_objecttypes)
    )
    writer = LogWriter(codec)
    return Register(
        db,
        LogReader(codec),
        writer,
        self_log_profile(settings),
        idempotency_ttl_us=settings.idempotency_key_ttl_seconds * 1_000_000,
        committer=GroupCommitter(db, writer, settings.group_commit_window_ms / 1000, settings.group_commit_max_batch),
        read_after_write_seconds=settings.database_read_after_write_seconds,
    )


def build_integrity(settings: Settings, db: Database) -> Integrity:
    """Checkpoints, keys and proofs (docs/integrity.md), configured by the CHECKPOINT_* settings."""
    return Integrity(
        db,
        settings.log_origin,
        settings.checkpoint_key_file,
        Witness(settings.checkpoint_witness_file, settings.checkpoint_witness_url),
        interval_seconds=settings.checkpoint_interval_seconds,
    )


async def start_partitions(settings: Settings, db: Database) -> asyncio.Task[None] | None:
    """PostgreSQL: create the monthly partitions ahead now (a failure is logged: writes then land in the DEFAULT
    partition) and start the periodic task that keeps them ahead (docs/performance.md)."""
    if db.is_sqlite:
        return None
    partitions = Partitions(db, settings.partitions_ahead_months, wall_clock_us)
    try:
        await partitions.ensure_ahead()
    except Exception:
        log.exception("creating partitions ahead failed")
    if not settings.partition_maintenance_interval_seconds:
        return None
    return asyncio.create_task(partitions.run(settings.partition_maintenance_interval_seconds), name="partitions")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, settings.database_read_url)
        keyring = keyring_from_settings(settings)  # a malformed CLIENT_SECRET_KEY stops the start here
        if settings.migrate_on_start:
            await migrate.upgrade(db, keyring=keyring)
        if not settings.self_logging:
            log.warning("SELF_LOGGING is off: reads of the log are NOT logged as processings (§10.5).")
        clients = Clients(db, keyring)
        app.state.settings = settings
        app.state.db = db
        app.state.clients = clients
        app.state.register = build_register(settings, db)
        app.state.var = VarService(db)
        would_refuse = app.state.metrics.strict_ingest_would_refuse
        app.state.ingest_policy = IngestPolicy(
            db,
            settings.strict_ingest_vng,
            settings.strict_ingest_otlp,
            lambda standard, reason: would_refuse.labels(standard, reason.value).inc(),
        )
        app.state.logboek = logboek_service(
            app.state.register, app.state.var, settings.otlp_keep_exception_stacktrace, app.state.ingest_policy
        )
        client_listener = await start_client_cache(
            db.url, db.is_sqlite, settings.client_cache_seconds, db.postgres.connect if db.postgres else None
        )
        app.state.verifier = TokenVerifier(
            clients,
            settings.jwt_max_age_seconds,
            settings.jwt_leeway_seconds,
            settings.client_cache_seconds,
            settings.max_token_bytes,
        )
        app.state.integrity = build_integrity(settings, db)
        app.state.fg = build_fg(settings, app.state.register, app.state.var)
        app.state.register.committer.on_batch = app.state.metrics.batch_size.observe  # group-commit batch sizes
        await start_otlp_grpc(app, settings)
        if settings.migrate_on_start:
            await app.state.integrity.adopt_existing(app.state.register.reader, app.state.var.store)
            try:
                await repseudonymise(db, app.state.register.reader.codec)
            except Exception:  # e.g. a role without the owner's rights: the data stays readable, say so loudly
                log.exception("re-pseudonymising objectIds stored in the clear failed: run `verwerkingenlog migrate`")
        checkpoints = None
        if settings.checkpoint_interval_seconds:
            checkpoints = asyncio.create_task(app.state.integrity.run(), name="checkpoints")
        partitions = await start_partitions(settings, db)
        try:
            yield
        finally:
            for task in (checkpoints, partitions):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await app.state.register.committer.close()
            if client_listener is not None:
                await client_listener.stop()
            await stop_otlp_grpc(app)
            await db.dispose()
            if app.state.tracer_provider is not None:
                app.state.tracer_provider.shutdown()  # flushes the spans still batched

    app = FastAPI(
        title=PRODUCT_NAME,
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(ApiVersionMiddleware)
    app.add_middleware(integrity.LeafIndexMiddleware)
    # Operations (docs/deployment.md): security headers, CORS only when origins are configured, and outermost
    # the request id, request log line and metrics. Metrics and limiter exist before the lifespan: middleware
    # is built with the app.
    app.state.metrics = ops.Metrics()
    app.state.rate_limiter = RateLimiter(settings)
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age_seconds=settings.hsts_max_age_seconds)
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["API-version", "Location", "X-Request-ID"],
        )
    app.add_middleware(HeadLimitMiddleware, max_header_bytes=settings.max_header_bytes)
    app.add_middleware(ops.MetricsListenerMiddleware, settings=settings)
    app.add_middleware(ops.RequestMiddleware, metrics=app.state.metrics)
    app.add_middleware(AllowMiddleware, routes=app.router.routes)  # RFC 9110: Allow on every 405, of every router
    # OpenTelemetry tracing: off unless the standard OTEL_* variables ask for it (api/tracing.py).
    app.state.tracer_provider = tracing.provider_from_environment()
    if app.state.tracer_provider is not None:
        app.add_middleware(tracing.TracingMiddleware, tracer=app.state.tracer_provider.get_tracer("verwerkingenlog"))
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(Exception, handle_unexpected)
    for database_error in DATABASE_ERRORS:  # a failover: 503 (api/problems.py)
        app.add_exception_handler(database_error, handle_database_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        code, title = _HTTP_CODES.get(exc.status_code, ("error", "HTTP error."))
        return problem_response(exc.status_code, code, title, str(exc.detail))

    app.include_router(bewerking.router)
    app.include_router(bulk.router)
    app.include_router(inzage.router)
    app.include_router(var.router)
    app.include_router(integrity.router)
    app.include_router(tiles.router(settings.log_origin))  # C2SP tlog-tiles under the origin's path (§7a)
    app.include_router(fg.router)
    app.include_router(docs.router)
    if settings.portal_enabled:  # the citizen portal 'Mijn verwerkingen' (docs/portal.md)
        from verwerkingenlog.portal.web import PREFIX, create_portal

        app.mount(PREFIX, create_portal(settings, app))
    # The employees' admin pages (docs/admin.md); only a page saying they are off unless ADMIN_OIDC_ISSUER is set.
    from verwerkingenlog.admin.web import PREFIX as ADMIN_PREFIX
    from verwerkingenlog.admin.web import create_admin

    app.mount(ADMIN_PREFIX, create_admin(settings, app))
    mount_logboek(app)
    app.include_router(ops.router)
    return app


def create_served_app() -> FastAPI:
    """The factory `verwerkingenlog serve` gives uvicorn: configures logging (LOG_FORMAT, LOG_LEVEL) in each worker
    process, then builds the app. Tests and embedders call create_app and keep their own logging."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
