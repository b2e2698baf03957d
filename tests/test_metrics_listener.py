"""`/metrics` off the public port (issue 19.7; docs/deployment.md, Monitoring), against real `verwerkingenlog serve`
processes: a METRICS_ADDRESS listener serves it (and nothing else), the public port answers 404, or with
METRICS_TOKEN only to a scraper that sends it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live import RegisterProcess, free_port
from verwerkingenlog.services.clients import Client


def test_metrics_on_their_own_listener_and_not_on_the_public_port(
    backend: tuple[str, str], registered: dict[str, Client], tmp_path: Path
) -> None:
    metrics_port = free_port()
    process = RegisterProcess(backend[1], tmp_path, env={"METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}).start()
    try:
        listener = f"http://127.0.0.1:{metrics_port}"
        public = httpx.get(f"{process.url}/metrics", timeout=5)
        assert public.status_code == 404 and public.headers["content-type"] == "application/problem+json"
        scraped = httpx.get(f"{listener}/metrics", timeout=5)
        assert scraped.status_code == 200 and "verwerkingenlog_merkle_tree_size" in scraped.text
        # the listener is not a second way into the API
        for path in ("/api/v1/verwerkingsactiviteiten", "/health/live", "/portaal/"):
            assert httpx.get(f"{listener}{path}", timeout=5).status_code == 404, path
        assert httpx.get(f"{process.url}/health/live", timeout=5).status_code == 200
    finally:
        process.stop()


@pytest.mark.parametrize("address", ["9100", "host:port", "127.0.0.1:70000"])
def test_a_malformed_metrics_address_stops_the_server_at_start(tmp_path: Path, address: str) -> None:
    from typer.testing import CliRunner

    from verwerkingenlog.cli import app

    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "METRICS_ADDRESS": address}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2 and "METRICS_ADDRESS" in result.output


def test_metrics_with_a_token_on_the_public_port(
    backend: tuple[str, str], registered: dict[str, Client], tmp_path: Path
) -> None:
    token = "scrape-secret-0123456789abcdef"
    process = RegisterProcess(backend[1], tmp_path, env={"METRICS_TOKEN": token}).start()
    try:
        assert httpx.get(f"{process.url}/metrics", timeout=5).status_code == 401
        wrong = httpx.get(f"{process.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401
        ok = httpx.get(f"{process.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert ok.status_code == 200 and "verwerkingenlog_http_requests_total" in ok.text
    finally:
        process.stop()
