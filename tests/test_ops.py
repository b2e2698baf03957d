"""Operating the register: health, Prometheus metrics, request ids, JSON logs without BSNs or tokens, security
headers, CORS, per-client rate and body limits (docs/deployment.md), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import _prepare, _run, make_settings
from tests.helpers import Api, actie, new_bsn
from verwerkingenlog import observability
from verwerkingenlog.api.app import create_app
from verwerkingenlog.api.security import RateLimiter
from verwerkingenlog.domain.errors import TooManyRequests
from verwerkingenlog.services import tokens
from verwerkingenlog.settings import ClientLimits, Settings

UNKNOWN = "/api/v1/verwerkingsacties/0b9d7c3e-5a4f-4e21-9c8b-7d6e5f4a3b2c"
METRICS_TOKEN = "scrape-secret-for-the-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def own_api(url: str, backend: str, **overrides: Any) -> Iterator[Api]:
    clients = _run(_prepare(url))
    with TestClient(create_app(make_settings(url, **overrides)), base_url="http://testserver") as tc:
        yield Api(tc, {name: tokens.issue(c) for name, c in clients.items()}, backend, clients)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, parsed by the Prometheus client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# -- health ----------------------------------------------------------------------------------------------------


def test_live_and_ready_on_a_migrated_database(api: Api) -> None:
    live = api.tc.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = api.tc.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_not_ready_before_migrations(backend: tuple[str, str], fresh_database: str) -> None:
    """A register started on an unmigrated database is alive but must not receive traffic."""
    with TestClient(create_app(make_settings(fresh_database))) as tc:
        assert tc.get("/health/live").status_code == 200
        ready = tc.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "migrations": "pending"}


def test_not_ready_when_the_database_is_gone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'db.sqlite'}"
    with TestClient(create_app(make_settings(url))) as tc:
        (tmp_path / "missing-dir" / "x" / "db.sqlite").unlink()  # the register created the (0600) file and its
        (tmp_path / "missing-dir" / "x").rmdir()  # directory; take them away again
        ready = tc.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"


# -- metrics ---------------------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_and_describe_the_log(
    backend: tuple[str, str], fresh_database: str, tmp_path: Path
) -> None:
    # A key of its own: the default key file is shared by other tests (and other xdist workers).
    for api in own_api(
        fresh_database, backend[0], checkpoint_key_file=tmp_path / "checkpoint.key", metrics_token=METRICS_TOKEN
    ):
        created = api.create(actie(new_bsn()))
        assert api.request("GET", f"/api/v1/verwerkingsacties/{created['actieId']}").status_code == 200
        assert api.request("GET", "/api/v1/verwerkingsacties/6f1c5e0a-9b3d-4c2e-8f7a-1d2e3f4a5b6c").status_code == 404
        api.tc.app.state.integrity  # noqa: B018 - the app is started
        api.tc.portal.call(api.tc.app.state.integrity.sign_checkpoint)  # type: ignore[union-attr]
        r = api.tc.get("/metrics", headers=SCRAPER)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        got = samples(r.text)
        route = "/api/v1/verwerkingsacties/{actieId}"
        requests = "verwerkingenlog_http_requests_total"
        assert got[(requests, (("method", "GET"), ("route", route), ("status", "200")))] == 1
        assert got[(requests, (("method", "GET"), ("route", route), ("status", "404")))] == 1
        assert got[(requests, (("method", "POST"), ("route", "/api/v1/verwerkingsacties"), ("status", "201")))] == 1
        assert got[("verwerkingenlog_write_duration_seconds_count", (("route", "/api/v1/verwerkingsacties"),))] == 1
        assert got[("verwerkingenlog_merkle_tree_size", ())] >= 1
        assert got[("verwerkingenlog_checkpoint_tree_size", ())] == got[("verwerkingenlog_merkle_tree_size", ())]
        assert 0 <= got[("verwerkingenlog_checkpoint_age_seconds", ())] < 60
        assert got[("verwerkingenlog_purges", ())] == 0
        assert got[("verwerkingenlog_group_commit_batch_size_count", ())] >= 1
        assert got[("verwerkingenlog_group_commit_batch_size_sum", ())] >= 1
        assert ("verwerkingenlog_ingest_lag_seconds", ()) in got
        assert not any("6f1c5e0a" in str(labels) for _, labels in got), "raw paths must not become labels"


def test_metrics_are_off_the_public_port_by_default(api: Api) -> None:
    """Issue 19.7: without METRICS_TOKEN (and with no METRICS_ADDRESS listener) /metrics answers as an unknown path."""
    r = api.tc.get("/metrics")
    assert r.status_code == 404 and r.json() == {**api.tc.get("/no-such-path").json(), "instance": r.json()["instance"]}


def test_metrics_token(backend: tuple[str, str], fresh_database: str) -> None:
    for api in own_api(fresh_database, backend[0], metrics_token="scrape-secret-0123456789"):
        assert api.tc.get("/metrics").status_code == 401
        assert api.tc.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = api.tc.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
        assert ok.status_code == 200 and "verwerkingenlog_merkle_tree_size" in ok.text


# -- request ids and logs --------------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The production handler's output (JSON, redacting) during one test."""
    buffer = io.StringIO()
    h = observability.handler("json", buffer)
    root = logging.getLogger()
    root.addHandler(h)
    try:
        yield buffer
    finally:
        root.removeHandler(h)


def test_request_id_is_echoed_or_made_and_on_the_log_line(api: Api, captured: io.StringIO) -> None:
    given = api.request("GET", UNKNOWN, headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = api.request("GET", UNKNOWN, headers={"X-Request-ID": "bad id\twith tab"})
    assert made.headers["X-Request-ID"] != "bad id\twith tab" and len(made.headers["X-Request-ID"]) == 32
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    access = [e for e in lines if e["logger"] == "verwerkingenlog.request"]
    assert {e["request_id"] for e in access} == {"abc-123", made.headers["X-Request-ID"]}
    first = next(e for e in access if e["request_id"] == "abc-123")
    assert first["route"] == "/api/v1/verwerkingsacties/{actieId}" and first["status"] == 404
    assert first["client_id"] == "alles" and first["level"] == "INFO" and first["time"].endswith("Z")
    problem = [e for e in lines if e["logger"] == "verwerkingenlog.api" and e.get("request_id") == "abc-123"]
    assert problem, "the problem's own log line carries the request id too"


def test_bsns_and_tokens_are_redacted_from_every_part_of_a_record(api: Api, captured: io.StringIO) -> None:
    bsn = "999993653"
    jwt = api.tokens["alles"]
    secret = api.clients["alles"].secret
    log = logging.getLogger("verwerkingenlog.test")
    log.warning("lookup of %s with Authorization: Bearer %s", bsn, jwt)
    log.info("client_secret=%s", secret, extra={"object_id": bsn, "header": f"Bearer {secret}"})
    try:
        raise ValueError(f"objectId {bsn} token {jwt}")
    except ValueError:
        log.exception("failed")
    out = captured.getvalue()
    assert out.count("[redacted]") >= 6, out
    for leaked in (bsn, jwt, secret, jwt.split(".")[1]):
        assert leaked not in out
    entries = [json.loads(line) for line in out.splitlines()]
    assert entries[0]["message"] == "lookup of [redacted] with Authorization: Bearer [redacted]"
    assert entries[1]["object_id"] == "[redacted]" and "ValueError" in entries[2]["exception"]


def test_uvicorns_colour_codes_stay_out_of_json_lines(captured: io.StringIO) -> None:
    # uvicorn passes `color_message` as an extra (a logger of our own here: in-process uvicorn servers of other
    # tests stop uvicorn's loggers from propagating)
    logging.getLogger("verwerkingenlog.test").info(
        "Started %s", "x", extra={"color_message": "Started \x1b[36m%s\x1b[0m"}
    )
    (entry,) = [json.loads(line) for line in captured.getvalue().splitlines() if "Started" in line]
    assert entry["message"] == "Started x" and "color_message" not in entry


def test_text_format_for_people() -> None:
    buffer = io.StringIO()
    h = observability.handler("text", buffer)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "person %s", ("123456782",), None)
    h.handle(record)
    assert buffer.getvalue().rstrip().endswith("INFO x person [redacted]")


def test_oins_and_timestamps_are_not_mistaken_for_bsns() -> None:
    kept = "OIN 00000001001172773000 at 1732550000123456 took 12.345678901 ms"
    assert observability.redact(kept) == kept


# -- security headers, CORS ------------------------------------------------------------------------------------


def test_security_headers_on_every_answer(api: Api) -> None:
    for r in (
        api.request("GET", "/api/v1/verwerkingsacties", params={"objectId": new_bsn()}),
        api.request("GET", UNKNOWN),
        api.tc.get("/health/live"),
    ):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert "Strict-Transport-Security" not in r.headers  # plain HTTP: HSTS means nothing there


def test_hsts_over_https_only(backend: tuple[str, str], registered: Any) -> None:
    with TestClient(create_app(make_settings(backend[1])), base_url="https://testserver") as tc:
        assert tc.get("/health/live").headers["Strict-Transport-Security"] == "max-age=31536000"
    with TestClient(create_app(make_settings(backend[1], hsts_max_age_seconds=0)), base_url="https://x") as tc:
        assert "Strict-Transport-Security" not in tc.get("/health/live").headers


def test_cors_closed_by_default_and_open_to_configured_origins(backend: tuple[str, str], registered: Any) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(make_settings(backend[1]))) as tc:
        r = tc.options("/api/v1/verwerkingsacties", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
        assert "access-control-allow-origin" not in tc.get("/health/live", headers=preflight).headers
    settings = make_settings(backend[1], cors_allow_origins=["https://mijn.gemeente.nl"])
    with TestClient(create_app(settings)) as tc:
        ok = tc.options("/api/v1/verwerkingsacties", headers={**preflight, "Origin": "https://mijn.gemeente.nl"})
        assert ok.headers["access-control-allow-origin"] == "https://mijn.gemeente.nl"
        assert "access-control-allow-origin" not in tc.options("/api/v1/verwerkingsacties", headers=preflight).headers


# -- limits ----------------------------------------------------------------------------------------------------


def test_rate_limit_per_client(backend: tuple[str, str], fresh_database: str) -> None:
    limits = {"normaal": ClientLimits(rate_limit_per_minute=2)}
    for api in own_api(
        fresh_database, backend[0], rate_limit_per_minute=100, client_limits=limits, metrics_token=METRICS_TOKEN
    ):
        path = UNKNOWN
        assert [api.request("GET", path, "normaal").status_code for _ in range(2)] == [404, 404]
        refused = api.request("GET", path, "normaal")
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert api.request("GET", path, "alles").status_code == 404  # another client is not affected
        got = samples(api.tc.get("/metrics", headers=SCRAPER).text)
        assert got[("verwerkingenlog_rate_limited_requests_total", (("client", "normaal"),))] == 1


def test_rate_limit_window_and_default() -> None:
    now = [120.0]
    limiter = RateLimiter(Settings(rate_limit_per_minute=1), clock=lambda: now[0])
    limiter.hit("a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit("a")
    assert refused.value.retry_after_seconds == 60
    limiter.hit("b")
    now[0] = 180.0  # the next minute
    limiter.hit("a")
    unlimited = RateLimiter(Settings())
    for _ in range(1000):
        unlimited.hit("a")
    assert unlimited.windows == {}


def test_body_limit_per_client(backend: tuple[str, str], fresh_database: str) -> None:
    limits = {"normaal": ClientLimits(max_body_bytes=200)}
    for api in own_api(fresh_database, backend[0], client_limits=limits):
        body = actie(new_bsn())
        assert api.post(body, "normaal").status_code == 413
        assert api.post(body, "alles").status_code == 201


def test_client_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENT_LIMITS", '{"zaaksysteem": {"rate_limit_per_minute": 6000}}')
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", '["https://mijn.gemeente.nl"]')
    s = Settings()
    assert s.client_limits["zaaksysteem"].rate_limit_per_minute == 6000
    assert s.client_limits["zaaksysteem"].max_body_bytes is None
    assert s.cors_allow_origins == ["https://mijn.gemeente.nl"]
