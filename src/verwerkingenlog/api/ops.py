"""Operating the register: health checks, Prometheus metrics, and the per-request middleware that gives every
request an id, a log line and its metrics.

The metrics live in a registry of their own per application (not prometheus_client's global one), so that
several applications in one process (tests, or a process embedding the register) never share or collide.
Gauges that describe the log itself (tree size, checkpoint age, purges) are read from the database at scrape
time: every worker process then reports the same truth, and nothing has to be kept in step on the write path.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select, text
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verwerkingenlog.api.http import json_response
from verwerkingenlog.api.problems import problem_response
from verwerkingenlog.domain.errors import NotAuthenticated
from verwerkingenlog.observability import BSN_LIKE, holds_token, request_id
from verwerkingenlog.settings import Settings
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.integrity import tree_size
from verwerkingenlog.store.tables import checkpoint, purge, purged_leaf, versie

log = logging.getLogger("verwerkingenlog.request")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is kept only when it is short and plain (it ends up in log lines and headers).
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric the register exports (docs/deployment.md, "Monitoring")."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "verwerkingenlog_http_requests",
            "HTTP requests by route template, method and status code.",
            ("route", "method", "status"),
            registry=r,
        )
        self.duration = Histogram(
            "verwerkingenlog_http_request_duration_seconds",
            "Time to answer a request, by route template and method.",
            ("route", "method"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.write_latency = Histogram(
            "verwerkingenlog_write_duration_seconds",
            "Time to answer a successful write (POST/PUT/PATCH/DELETE: committed durably before the answer).",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "verwerkingenlog_group_commit_batch_size",
            "New actions committed together in one transaction by the group commit of the write path.",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.ingest_lag = Gauge(
            "verwerkingenlog_ingest_lag_seconds",
            "Registration time minus tijdstip of the newest first version stored: how late actions arrive "
            "(clients that spool while the register is away arrive late; their spool depth is exported by the "
            "client library, verwerkingenlog.client.metrics).",
            registry=r,
        )
        self.rate_limited = Counter(
            "verwerkingenlog_rate_limited_requests", "Requests refused with 429 by client.", ("client",), registry=r
        )
        self.strict_ingest_would_refuse = Counter(
            "verwerkingenlog_strict_ingest_would_refuse",
            "Entries stored in lenient mode that strict ingest would have refused (issue 18.3), by standard "
            "(vng, otlp) and reason (unknown_activity, retired_activity, bsn_outside_subject).",
            ("standard", "reason"),
            registry=r,
        )
        self.tree_size = Gauge("verwerkingenlog_merkle_tree_size", "Leaves in the Merkle log.", registry=r)
        self.checkpoint_size = Gauge(
            "verwerkingenlog_checkpoint_tree_size", "Tree size of the newest signed checkpoint.", registry=r
        )
        self.checkpoint_age = Gauge(
            "verwerkingenlog_checkpoint_age_seconds",
            "Seconds since the newest checkpoint was signed (-1: none yet).",
            registry=r,
        )
        self.purges = Gauge("verwerkingenlog_purges", "Retention purges recorded in the log.", registry=r)
        self.purged_leaves = Gauge(
            "verwerkingenlog_purged_leaves", "Log entries whose content a retention purge removed.", registry=r
        )
        self.purged_versions = Gauge(
            "verwerkingenlog_purged_versions", "Versions removed by retention purges, summed.", registry=r
        )

    async def refresh_from(self, db: Database) -> None:
        """Read the log's own numbers (cheap: index probes and small counts, never a scan of the log)."""
        async with db.reading() as conn:
            size = await tree_size(conn)  # one descent of the primary key, not a count of every leaf
            latest = (
                await conn.execute(
                    select(checkpoint.c.tree_size, checkpoint.c.created_us).order_by(checkpoint.c.id.desc()).limit(1)
                )
            ).first()
            purges, versies = (
                await conn.execute(select(func.count(), func.coalesce(func.sum(purge.c.versies), 0)))
            ).one()
            purged = (await conn.execute(select(func.count()).select_from(purged_leaf))).scalar_one()
            newest = (
                await conn.execute(
                    select(versie.c.tijdstip_registratie_us, versie.c.tijdstip_us)
                    .where(versie.c.versie == 1)
                    .order_by(versie.c.seq.desc())
                    .limit(1)
                )
            ).first()
        self.ingest_lag.set((newest[0] - newest[1]) / 1_000_000 if newest else 0)
        self.tree_size.set(size)
        self.checkpoint_size.set(latest[0] if latest else 0)
        self.checkpoint_age.set(time.time() - latest[1] / 1_000_000 if latest else -1)
        self.purges.set(purges)
        self.purged_versions.set(versies)
        self.purged_leaves.set(purged)


def route_of(scope: Scope) -> str:
    """The route template (`/api/v1/verwerkingsacties/{actieId}`), never the raw path: bounded label values,
    and no identifiers from the path in metrics or logs."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched)"


class RequestMiddleware:
    """Per request: an id (the caller's X-Request-ID when plain, else a new one) in the log context and the
    response header; after it, one log line (route, status, duration, client) and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        plain = _GOOD_REQUEST_ID.fullmatch(given) and not BSN_LIKE.search(given) and not holds_token(given)
        rid = given if plain else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_of(scope), scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.duration.labels(route, method).observe(elapsed)
            if method in _WRITE_METHODS and status < 400:
                self.metrics.write_latency.labels(route).observe(elapsed)
            state: dict[str, Any] = scope.get("state") or {}
            log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "route": route,
                    "method": method,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client_id": state.get("client_id"),
                },
            )
            request_id.reset(token)


router = APIRouter()


@router.get("/health/live", include_in_schema=False)
async def live() -> Response:
    """The process answers: restart it when this fails."""
    return json_response({"status": "ok"})


@router.get("/health/ready", include_in_schema=False)
async def ready(request: Request) -> Response:
    """Send traffic only when the database answers and its schema is the newest this version knows (a register
    started before `verwerkingenlog migrate` ran is alive but not ready)."""
    db: Database = request.app.state.db
    checks: dict[str, str] = {}
    try:
        async with db.reading() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if await migrate.is_current(db) else "pending"
    except Exception as exc:  # any failure to reach the database means not ready
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        checks["database"] = "unavailable"
    ok = all(v == "ok" for v in checks.values()) and "migrations" in checks
    return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)


def on_metrics_listener(scope: Scope, settings: Settings) -> bool:
    """Whether the request arrived on the METRICS_ADDRESS listener (`verwerkingenlog serve` adds its socket to the
    same server, so the local port tells them apart)."""
    listener = settings.metrics_listener
    server = scope.get("server")
    return listener is not None and server is not None and server[1] == listener[1]


class MetricsListenerMiddleware:
    """The METRICS_ADDRESS listener serves GET /metrics and nothing else: the API never answers on it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and on_metrics_listener(scope, self.settings) and scope["path"] != "/metrics":
            detail = "The metrics listener serves GET /metrics only."
            await problem_response(404, "not_found", "Not found.", detail)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format (issue 19.7: off the public port by default). On the METRICS_ADDRESS listener as
    is; on the public port only with METRICS_TOKEN set and sent as a bearer token, else 404 like any unknown path."""
    settings: Settings = request.app.state.settings
    if not on_metrics_listener(request.scope, settings):
        expected = settings.metrics_token
        if not expected:
            raise StarletteHTTPException(404)  # exactly as an unknown path answers
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise NotAuthenticated("Send the METRICS_TOKEN as a bearer token to read the metrics.")
    m: Metrics = request.app.state.metrics
    await m.refresh_from(request.app.state.db)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
