"""Test support for the integrity tests: an independent RFC 9162 verifier, fresh registers, raw tampering.

The verifier below imports nothing from `verwerkingenlog`: it follows RFC 9162 §2.1.3.2 and §2.1.4.2 as the
text states them, and computes MTH (§2.1.1) recursively, so that the register's proofs are checked against
the RFC and not against the register's own code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import _postgres_database, _prepare, make_settings
from tests.helpers import Api
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.store.db import async_url

# --- RFC 9162, independently ----------------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc_leaf_hash(data: bytes) -> bytes:
    """§2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return sha256(b"\x00" + data)


def rfc_node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def rfc_mth(leaves: Sequence[bytes]) -> bytes:
    """§2.1.1 over leaf *hashes*: the empty tree hashes the empty string; k = largest power of 2 below n."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return rfc_node(rfc_mth(leaves[:k]), rfc_mth(leaves[k:]))


def rfc_verify_inclusion(leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            r = rfc_node(p, r)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = rfc_node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: Sequence[bytes]
) -> bool:
    """§2.1.4.2, step by step (first > 0)."""
    if first == second:
        return not path and first_hash == second_hash
    if not path or first > second:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            fr = rfc_node(c, fr)
            sr = rfc_node(c, sr)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = rfc_node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def note_root(note: str) -> tuple[int, bytes]:
    """Tree size and root hash of a checkpoint note (tlog-checkpoint lines 2 and 3), read by hand."""
    lines = note.split("\n")
    return int(lines[1]), b64(lines[2])


# --- fresh registers ------------------------------------------------------------------------------------


@dataclass
class Fresh:
    """A register of its own (database, key file, app) for a test that tampers or purges."""

    api: Api
    url: str
    backend: str
    key_file: Path
    witness_file: Path

    @property
    def app(self) -> Any:
        return self.api.tc.app

    def call(self, fn: Any, *args: Any) -> Any:
        """Run an async service method on the app's own event loop (the one its database engine uses)."""
        return self.api.tc.portal.call(fn, *args)  # type: ignore[union-attr]

    def checkpoint(self, force: bool = False) -> Any:
        return self.call(self.app.state.integrity.sign_checkpoint, force)

    def tamper(self, *statements: str) -> None:
        """Run SQL as someone with direct access to the database, past the append-only triggers."""
        tamper(self.backend, self.url, *statements)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return query(self.backend, self.url, sql)


def tamper(backend: str, url: str, *statements: str) -> None:
    if backend == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in triggers:  # what an attacker with the file does first
                con.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                con.execute(statement)
            con.commit()
        finally:
            con.close()
        return

    async def run() -> None:
        import asyncpg

        con = await asyncpg.connect(async_url(url).replace("postgresql+asyncpg", "postgresql"))
        try:
            async with con.transaction():
                await con.execute("SET LOCAL session_replication_role = replica")  # superuser: no triggers
                for statement in statements:
                    await con.execute(statement)
        finally:
            await con.close()

    asyncio.run(run())


def query(backend: str, url: str, sql: str) -> list[tuple[Any, ...]]:
    if backend == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return [tuple(r) for r in con.execute(sql)]
        finally:
            con.close()

    async def run() -> list[tuple[Any, ...]]:
        import asyncpg

        con = await asyncpg.connect(async_url(url).replace("postgresql+asyncpg", "postgresql"))
        try:
            return [tuple(r) for r in await con.fetch(sql)]
        finally:
            await con.close()

    result: list[tuple[Any, ...]] = asyncio.run(run())
    return result


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fresh]:
    """A new, empty, migrated register per test, on each backend, signing with its own key."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'register.db'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    try:
        registered = asyncio.run(_prepare(url))
        key_file, witness_file = tmp_path / "checkpoint.key", tmp_path / "witness.txt"
        settings = make_settings(
            url,
            checkpoint_key_file=key_file,
            checkpoint_interval_seconds=0,
            checkpoint_witness_file=witness_file,
            checkpoint_origin="register.test/verwerkingenlog",
        )
        with TestClient(create_app(settings), base_url="http://testserver") as tc:
            api = Api(tc, {name: tokens.issue(c) for name, c in registered.items()}, request.param, registered)
            yield Fresh(api, url, request.param, key_file, witness_file)
    finally:
        for _ in urls:  # drops the PostgreSQL database
            pass
