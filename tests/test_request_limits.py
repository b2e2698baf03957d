"""Request limits before the application reads anything (docs/deployment.md, Request limits): the bearer token's
size (issue 19.4), an empty bearer token and the request head's size (issue 21.3), against the in-process app and
against real `verwerkingenlog serve` processes on both HTTP/1.1 implementations uvicorn offers."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.helpers import Api, new_bsn
from tests.live import RegisterProcess
from verwerkingenlog.services.clients import Client


def test_a_validly_signed_token_larger_than_max_token_bytes_gets_401_before_decoding(api: Api) -> None:
    client = api.clients["alles"]
    claims = {"iss": client.client_id, "client_id": client.client_id, "iat": int(time.time()), "pad": "x" * 8_000}
    big = jwt.encode(claims, client.secret, algorithm="HS256")
    r = api.tc.get(
        "/api/v1/verwerkingsacties",
        params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": new_bsn()},
        headers={"Authorization": f"Bearer {big}"},
    )
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "authentication_failed" and "MAX_TOKEN_BYTES" in r.json()["detail"]
    # a normal token of the same client is still fine
    small = jwt.encode({k: v for k, v in claims.items() if k != "pad"}, client.secret, algorithm="HS256")
    assert len(small) < 4096
    ok = api.tc.get("/api/v1/verwerkingsactiviteiten", headers={"Authorization": f"Bearer {small}"})
    assert ok.status_code == 200, ok.text


def test_a_request_head_larger_than_max_header_bytes_gets_431_in_process(api: Api) -> None:
    r = api.tc.get("/health/live", headers={"X-Big": "a" * 20_000})
    assert r.status_code == 431, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "MAX_HEADER_BYTES" in r.json()["detail"]
    assert api.tc.get("/health/live", headers={"X-Big": "a" * 8_000}).status_code == 200


def raw_exchange(port: int, head: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send `head` (in pieces, stopping as soon as the server answered) and read the answer until the body is
    complete or the server closes: what any HTTP client would see, without a client library's own checks (httpx
    refuses to send a header value with trailing whitespace)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        for start in range(0, len(head), 65_536):
            try:
                s.sendall(head[start : start + 65_536])
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([s], [], [], 0)[0]:
                break
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65_536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            top, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                lines = top.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                if len(body) >= int(headers.get("content-length", "-1")) >= 0:
                    break
    top, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no HTTP answer at all: {data[:200]!r}"
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


@pytest.fixture(scope="module", params=["httptools", "h11"])
def served(
    request: pytest.FixtureRequest,
    backend: tuple[str, str],
    registered: dict[str, Client],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RegisterProcess]:
    """`verwerkingenlog serve --http <implementation>` on the test database."""
    process = RegisterProcess(
        backend[1], tmp_path_factory.mktemp("limits"), args=("--http", request.param), env={"PORTAL_ENABLED": "false"}
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("value", [b"Bearer ", b"Bearer", b"", b"Bearer \t "])
def test_an_empty_bearer_token_gets_a_prompt_401_from_a_real_server(served: RegisterProcess, value: bytes) -> None:
    head = b"GET /api/v1/verwerkingsactiviteiten HTTP/1.1\r\nHost: x\r\nAuthorization: " + value + b"\r\n\r\n"
    started = time.monotonic()
    status, headers, body = raw_exchange(served.port, head)
    assert time.monotonic() - started < 5
    assert status == 401 and headers["content-type"] == "application/problem+json", body
    assert json.loads(body)["code"] in ("authentication_failed", "not_authenticated")


@pytest.mark.parametrize("size", [17_000, 1_000_000, 16 * 1024 * 1024])
def test_an_oversized_request_head_gets_a_prompt_431_from_a_real_server(served: RegisterProcess, size: int) -> None:
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
    started = time.monotonic()
    status, headers, body = raw_exchange(served.port, head)
    assert time.monotonic() - started < 5
    assert status == 431, body[:300]
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "request_header_fields_too_large"
    # and the server still answers
    status, _, _ = raw_exchange(
        served.port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Ok: " + b"a" * 8000 + b"\r\n\r\n"
    )
    assert status == 200


def test_the_serve_command_refuses_an_unknown_http_implementation(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from verwerkingenlog.cli import app

    result = CliRunner().invoke(app, ["serve", "--http", "zttp"], env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.exit_code == 2 and "--http must be one of" in result.output
