"""API clients' credentials (issue 15 part 4), on SQLite and PostgreSQL: no client secret readable from a database
dump, key rotation of CLIENT_SECRET_KEY, plain secrets of an older version converted by migration 0011, and clients
that sign with their own private key (a registered public key or a JWKS URL, ES256 and EdDSA)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import _postgres_database, make_settings
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.client import TokenSource
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client, Clients, InvalidCredential
from verwerkingenlog.store import migrate
from verwerkingenlog.store.client_secrets import ClientSecretKeyring
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.tables import client as client_table

runner = CliRunner()
LIST_PARAMS = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "1", "vertrouwelijkheid": "normaal"}
OLD_KEY = "old:" + "o" * 40
NEW_KEY = "new:" + "n" * 40


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, URL) of an empty database of its own: these tests change keys and migrate from an old schema."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'register.db'}"
        return
    for url in _postgres_database():
        yield "postgresql", url


def _run(url: str, work: Any, revision: str = "head", keyring: ClientSecretKeyring | None = None) -> Any:
    async def go() -> Any:
        db = Database(url)
        try:
            await migrate.upgrade(db, revision, keyring=keyring)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _api(url: str, **overrides: Any) -> TestClient:
    """The register on this database; no client cache, so that each request reads the client with this keyring."""
    return TestClient(create_app(make_settings(url, client_cache_seconds=0, **overrides)))


def _status(tc: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return tc.get("/api/v1/verwerkingsacties", params=LIST_PARAMS, headers=headers).status_code


def _dump(backend: str, url: str) -> bytes:
    """Everything a database dump holds: the SQLite file (and its WAL) byte for byte; `pg_dump` of the database."""
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    done = subprocess.run(["pg_dump", "--data-only", plain], capture_output=True, timeout=60, check=True)
    return done.stdout


def _said(result: Any) -> str:
    """The CLI's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _table_text(url: str) -> str:
    async def rows(db: Database) -> str:
        async with db.reading() as conn:
            return repr((await conn.execute(sa.select(client_table))).all())

    return str(_run(url, rows))


def test_no_client_secret_is_readable_from_a_database_dump(fresh: tuple[str, str]) -> None:
    """R-AUTH-1: the secrets the CLI and the service hand out once sign valid tokens, yet appear nowhere in a dump
    of the database (the SQLite file, `pg_dump`) nor in the api_client table."""
    backend, url = fresh
    made = [_run(url, lambda db, i=i: Clients(db).add(f"dump-{i}", ["read:normal"])) for i in range(3)]
    cli_add = runner.invoke(
        cli, ["clients", "add", "dump-cli", "--scope", "read:normal", "--json"], env={"DATABASE_URL": url}
    )
    assert cli_add.exit_code == 0, cli_add.output
    rotated = runner.invoke(cli, ["clients", "rotate", "dump-1", "--json"], env={"DATABASE_URL": url})
    assert rotated.exit_code == 0, rotated.output
    secrets = [c.secret for c in made] + [json.loads(cli_add.stdout)["secret"], json.loads(rotated.stdout)["secret"]]
    assert all(s and len(s) >= 32 for s in secrets)

    with _api(url) as tc:
        assert _status(tc, tokens.issue(made[0])) == 200
        assert _status(tc, tokens.issue(Client("dump-cli", secrets[3], frozenset()))) == 200
        assert _status(tc, tokens.issue(Client("dump-1", secrets[4], frozenset()))) == 200
        assert _status(tc, tokens.issue(made[1])) == 401  # the secret before the rotation

    dump, table = _dump(backend, url), _table_text(url)
    assert b"dump-cli" in dump and "dump-cli" in table  # the dump does hold the clients
    for secret in secrets:
        assert secret is not None
        assert secret.encode() not in dump, f"secret found in the {backend} dump"
        assert secret not in table
    assert "aesgcm:test:" in table  # sealed with the first key of CLIENT_SECRET_KEY


def test_migration_0011_seals_the_plain_secrets_of_an_older_version(fresh: tuple[str, str]) -> None:
    """A register of before this change kept secrets in the clear; after `migrate` they are sealed, the clients'
    tokens still work, and the old values are gone from the table and the dump."""
    backend, url = fresh
    plain = {f"oud-{i}": f"plain-secret-of-an-older-version-{i}-{uuid.uuid4().hex}" for i in range(2)}

    async def old_version(db: Database) -> None:
        async with db.engine.begin() as conn:
            for client_id, secret in plain.items():
                await conn.execute(
                    sa.text("INSERT INTO api_client (client_id, secret, scopes, created_us) VALUES (:c, :s, :p, 1)"),
                    {"c": client_id, "s": secret, "p": json.dumps(["read:normal"])},
                )

    _run(url, old_version, revision="0009")
    before = _dump(backend, url)
    assert all(secret.encode() in before for secret in plain.values())  # the grep below does find a secret
    _run(url, lambda db: asyncio.sleep(0))  # `verwerkingenlog migrate`: to head

    table = _table_text(url)
    with _api(url) as tc:
        for client_id, secret in plain.items():
            assert secret not in table
            assert _status(tc, tokens.issue(Client(client_id, secret, frozenset()))) == 200
    dump = _dump(backend, url)  # SQLite: not even in a freed page (the migration zeroes what it replaces)
    assert not any(secret.encode() in dump for secret in plain.values())


def test_migration_0011_downgrades_to_plain_secrets_only_without_key_pair_clients(fresh: tuple[str, str]) -> None:
    """Going back past 0011 restores the plain secrets an older version reads; it refuses while a client exists
    that has no secret at all (it would be lost)."""
    from alembic import command

    _, url = fresh
    made = _run(url, lambda db: Clients(db).add("terug", ["read:normal"]))
    pem = _pem(ed25519.Ed25519PrivateKey.generate())[1]
    _run(url, lambda db: Clients(db).add("sleutel", [], public_key=pem))

    async def downgrade(db: Database) -> None:
        def run(conn: Any) -> None:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")

        async with db.engine.begin() as conn:
            await conn.run_sync(run)

    with pytest.raises(RuntimeError, match="public key or JWKS URL"):
        _run(url, downgrade)
    _run(url, lambda db: Clients(db).remove("sleutel"))
    _run(url, downgrade, revision="head")

    async def stored(db: Database) -> list[Any]:
        async with db.reading() as conn:
            return list((await conn.execute(sa.text("SELECT client_id, secret FROM api_client"))).all())

    assert ("terug", made.secret) in _run(url, stored, revision="0009")
    _run(url, lambda db: asyncio.sleep(0))  # and up again: sealed once more
    assert made.secret not in _table_text(url)


def test_key_rotation_new_key_first_reencrypt_then_drop_the_old_one(
    fresh: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/deployment.md, Key management: the first key seals, all keys open; `clients reencrypt` moves every
    secret to the first key, after which the old key can go. Without the key that sealed a secret, the client is
    refused (401), never served a 500."""
    _, url = fresh
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CLIENT_SECRET_KEY", OLD_KEY)
    made = _run(url, lambda db: Clients(db).add("roteren", ["read:normal"]))
    token = tokens.issue(made)

    with _api(url, client_secret_key=f"{NEW_KEY},{OLD_KEY}") as tc:
        assert _status(tc, token) == 200  # the old key still opens it
    monkeypatch.setenv("CLIENT_SECRET_KEY", f"{NEW_KEY},{OLD_KEY}")
    result = runner.invoke(cli, ["clients", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 of 1 client secrets with key 'new'" in _said(result)
    assert "aesgcm:new:" in _table_text(url)

    with _api(url, client_secret_key=NEW_KEY) as tc:
        assert _status(tc, token) == 200
    with _api(url, client_secret_key=OLD_KEY) as tc:
        assert _status(tc, token) == 401

    monkeypatch.setenv("CLIENT_SECRET_KEY", "other:" + "x" * 40)
    refused = runner.invoke(cli, ["clients", "reencrypt"])
    assert refused.exit_code == 2 and "no longer" in _said(refused)  # names the missing key, changes nothing
    assert "aesgcm:new:" in _table_text(url)


def test_a_malformed_client_secret_key_is_refused_at_start(fresh: tuple[str, str]) -> None:
    _, url = fresh
    for bad, message in [
        ("short", "shorter than 32"),
        ("a:" + "k" * 40 + ",b", "ID:SECRET"),
        ("x y:" + "k" * 40, "id"),
    ]:
        with pytest.raises(ValueError, match=message), _api(url, client_secret_key=bad):
            pass


# -- clients that sign with their own key ---------------------------------------------------------------------


def _pem(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    """(private key PEM, public key PEM), as `openssl genpkey` and `openssl pkey -pubout` write them."""
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.mark.parametrize(
    "make_key",
    [ed25519.Ed25519PrivateKey.generate, lambda: ec.generate_private_key(ec.SECP256R1())],
    ids=["EdDSA", "ES256"],
)
def test_a_client_with_a_public_key_needs_no_secret(
    fresh: tuple[str, str], tmp_path: Path, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`clients add ID --public-key FILE`: the register keeps only the public key; the client library signs with
    the private key; a token signed with another key, or an HS256 token keyed with the public key (algorithm
    confusion), is refused."""
    backend, url = fresh
    monkeypatch.setenv("DATABASE_URL", url)
    private_pem, public_pem = _pem(make_key())
    (tmp_path / "client.pub").write_text(public_pem)
    added = runner.invoke(
        cli,
        ["clients", "add", "leverancier", "-s", "read:normal", "--public-key", str(tmp_path / "client.pub"), "--json"],
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) == {"clientId": "leverancier", "kind": "public-key", "scopes": ["read:normal"]}
    listed = runner.invoke(cli, ["clients", "list"])
    assert "public-key" in listed.output

    source = TokenSource.from_private_key("leverancier", private_pem)
    other = TokenSource.from_private_key("leverancier", _pem(make_key())[0])
    with _api(url) as tc:
        assert _status(tc, source.token()) == 200
        assert _status(tc, other.token()) == 401
        claims = {"iss": "leverancier", "client_id": "leverancier", "iat": int(time.time())}
        # PyJWT refuses to use a PEM as an HMAC key, so the attacker's token is built by hand.
        assert _status(tc, _hs256_with_raw_key(claims, public_pem.encode())) == 401
    token_cmd = runner.invoke(cli, ["token", "leverancier"])
    assert token_cmd.exit_code == 2 and "private key" in _said(token_cmd)
    rotate_cmd = runner.invoke(cli, ["clients", "rotate", "leverancier"])
    assert rotate_cmd.exit_code == 2 and "no secret" in _said(rotate_cmd)
    assert b"PRIVATE" not in _dump(backend, url)


def _hs256_with_raw_key(claims: dict[str, Any], key: bytes) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


def test_registration_refuses_keys_and_urls_it_cannot_use(fresh: tuple[str, str]) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, url = fresh
    rsa_pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))[1]  # type: ignore[arg-type]
    p384 = _pem(ec.generate_private_key(ec.SECP384R1()))[1]
    for kwargs, message in [
        ({"public_key": "not a key"}, "PEM"),
        ({"public_key": rsa_pem}, "Ed25519"),
        ({"public_key": p384}, "P-256"),
        ({"jwks_url": "http://supplier.example/jwks.json"}, "https"),
        ({"jwks_url": "file:///etc/passwd"}, "https"),
        ({"secret": "x", "jwks_url": "https://supplier.example/jwks.json"}, "one of them"),
    ]:
        with pytest.raises(InvalidCredential, match=message):
            _run(url, lambda db, kw=kwargs: Clients(db).add("kan-niet", [], **kw))


class _Jwks:
    """A supplier's JWK Set on a loopback port, whose keys the test replaces (key rotation at the supplier)."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> None:
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[_alg(key)].to_jwk(key.public_key()))  # type: ignore[attr-defined]
        self.keys.append({**jwk, "kid": kid, "use": "sig"})


def _alg(key: Any) -> str:
    return "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256"


@pytest.fixture
def jwks() -> Iterator[_Jwks]:
    found = _Jwks()
    try:
        yield found
    finally:
        found.server.shutdown()


def test_a_client_with_a_jwks_url_rotates_its_own_keys(fresh: tuple[str, str], jwks: _Jwks) -> None:
    """The register fetches the client's JWK Set and verifies with the key the token's `kid` names; a key the
    supplier adds later is found by fetching again; an unknown `kid`, or a set that cannot be fetched, is a 401."""
    _, url = fresh
    first, second = ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()
    jwks.publish(first, "2026-01")
    _run(url, lambda db: Clients(db).add("jwks-klant", ["read:normal"], jwks_url=jwks.url))

    def token(key: Any, kid: str) -> str:
        pem = _pem(key)[0]
        return TokenSource.from_private_key("jwks-klant", pem, key_id=kid).token()

    with _api(url) as tc:
        assert _status(tc, token(first, "2026-01")) == 200
        assert _status(tc, token(second, "2026-02")) == 401  # not published yet
        assert _status(tc, token(second, "2026-01")) == 401  # signed with another key than `kid` names
    jwks.publish(second, "2026-02")  # the supplier adds its next key
    with _api(url) as tc:  # (a running register refetches on an unknown `kid` at most every 30 s)
        assert _status(tc, token(second, "2026-02")) == 200
        assert _status(tc, token(first, "2026-01")) == 200
    jwks.server.shutdown()
    jwks.server.server_close()
    with _api(url) as tc:
        assert _status(tc, token(first, "2026-01")) == 401  # the set cannot be fetched: refused, not a 500
