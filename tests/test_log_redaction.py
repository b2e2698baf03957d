"""No bearer token in the register's own log output (issue 21.4; docs/deployment.md, Logs): a real `verwerkingenlog
serve` process is sent tokens in every place a request can carry them, and its log output (the JSON lines of the
production handler) must hold none of them."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
import uuid

import httpx
import jwt
import pytest

from tests.helpers import actie, new_bsn
from tests.live import RegisterProcess
from verwerkingenlog import observability
from verwerkingenlog.services.clients import Client


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def odd_jwt(secret: str, claims: dict[str, object]) -> str:
    """A valid HS256 JWT whose header JSON starts with a space: it does not begin with `eyJ`, but any JWT library
    accepts it."""
    import hashlib
    import hmac

    head = _b64(b'{ "alg": "HS256", "typ": "JWT"}')
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def test_odd_jwt_is_a_valid_token() -> None:
    token = odd_jwt("s" * 32, {"iss": "x", "iat": 1})
    assert not token.startswith("eyJ")
    assert jwt.decode(token, "s" * 32, algorithms=["HS256"], options={"verify_iat": False})["iss"] == "x"


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc123",
        "'Bearer s3cr3t-t0ken'",
        "authorization=Basic dXNlcjpwYXNz",
        "the Accept header 'eyAiYWxnIjogIkhTMjU2In0.eyJpc3MiOiAieCJ9.c2lnbmF0dXJl' excludes it",
        "?access_token=opaque-123&x=1",
        "id_token=abc.def.ghi",
    ],
)
def test_the_redactor_removes_tokens_however_they_are_written(text: str) -> None:
    secret_part = {
        0: "abc123",
        1: "s3cr3t-t0ken",
        2: "dXNlcjpwYXNz",
        3: "eyAiYWxnIjogIkhTMjU2In0",
        4: "opaque-123",
        5: "abc.def.ghi",
    }
    out = observability.redact(text)
    assert observability.REDACTED in out
    assert not any(part in out for part in secret_part.values()), out


def test_the_redactor_leaves_ordinary_words_and_names_alone() -> None:
    for text in (
        "Send the METRICS_TOKEN as a bearer token to read the metrics.",
        "The Authorization header must be 'Bearer <JWT>'.",
        "Running upgrade 0001 -> 0002 on verwerkingenlog.gemeente.nl",
        "verwerkingenlog.api.app:create_served_app",
    ):
        assert observability.redact(text) == text


@pytest.mark.parametrize("formatter", [observability.JsonFormatter(), observability.TextFormatter()])
def test_the_formatters_redact_even_without_the_handlers_filter(formatter: logging.Formatter) -> None:
    token = odd_jwt("z" * 32, {"iss": "x", "iat": 1})
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s and Bearer %s", (token, "abc123"), None)
    line = formatter.format(record)
    assert token not in line and "abc123" not in line and observability.REDACTED in line


@pytest.fixture(scope="module")
def server(
    backend: tuple[str, str], registered: dict[str, Client], tmp_path_factory: pytest.TempPathFactory
) -> RegisterProcess:
    process = RegisterProcess(backend[1], tmp_path_factory.mktemp("redaction"), env={"LOG_LEVEL": "DEBUG"})
    process.start()
    yield process  # type: ignore[misc]
    process.stop()


def test_tokens_sent_anywhere_never_reach_the_server_log(
    server: RegisterProcess, registered: dict[str, Client]
) -> None:
    client = registered["alles"]
    now = int(time.time())
    valid = jwt.encode({"iss": client.client_id, "client_id": client.client_id, "iat": now}, client.secret)
    odd_valid = odd_jwt(client.secret, {"iss": client.client_id, "client_id": client.client_id, "iat": now})
    odd_unknown = odd_jwt("x" * 32, {"iss": "nobody", "iat": now})
    opaque = "opaque-" + uuid.uuid4().hex[:10]
    short = "s3cr" + uuid.uuid4().hex[:4]
    as_issuer = "iss-" + uuid.uuid4().hex  # a token that names a secret as its client
    forged_iss = jwt.encode({"iss": as_issuer, "iat": now}, "y" * 32)
    sent = [valid, odd_valid, odd_unknown, opaque, short, as_issuer]

    base = server.url
    search = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": new_bsn()}
    with httpx.Client(base_url=base, timeout=10) as http:
        for token in (valid, odd_valid, odd_unknown, opaque, short, forged_iss):
            http.get("/api/v1/verwerkingsacties", params=search, headers={"Authorization": f"Bearer {token}"})
            http.get("/api/v1/verwerkingsacties", params={**search, "access_token": token, "token": token})
            http.get("/api/v1/verwerkingsacties", headers={"Accept": token, "Authorization": f"Bearer {valid}"})
            if "." in token:  # a JWT as request id; a plain word is a request id like any other, and logged
                r = http.get("/health/live", headers={"X-Request-ID": token})
                assert r.headers["X-Request-ID"] != token
            http.post(
                "/api/v1/verwerkingsacties",
                content=json.dumps(actie(new_bsn())),
                headers={"Content-Type": token, "Authorization": f"Bearer {valid}"},
            )
            http.post(
                "/v1/traces",
                content=b"{}",
                headers={"Content-Encoding": token, "Authorization": f"Bearer {valid}"},
            )
            http.get(f"/api/v1/openapi/{token}.json")
            http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            http.get("/portaal/", params={"token": token})
            http.get(f"/portaal/export.{token}")
            http.get("/beheer/", params={"access_token": token})
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:  # an invalid request
                line = f"GET /?access_token={token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\x01\r\n"
                s.sendall(line.encode() + b"\r\n")
                s.recv(1000)
        key = str(uuid.uuid4())
        for body in (actie(new_bsn()), actie(new_bsn())):  # the same Idempotency-Key for a different body: 422
            http.post(
                "/api/v1/verwerkingsacties",
                json=body,
                headers={"Authorization": f"Bearer {valid}", "Idempotency-Key": key + opaque},
            )
    time.sleep(0.5)  # let the server write its last lines
    output = server.log_path.read_text(encoding="utf-8")
    assert "GET /api/v1/verwerkingsacties" in output, "the server logged no requests: the check would prove nothing"
    leaks = [(token, line) for line in output.splitlines() for token in sent if token in line]
    assert not leaks, f"{len(leaks)} log line(s) with a token, e.g. {leaks[:3]}"
    pattern_leaks = [line for line in output.splitlines() if observability.holds_token(line)]
    assert not pattern_leaks, pattern_leaks[:3]
