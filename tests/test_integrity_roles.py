"""docs/deployment.md on PostgreSQL, literally: an owner role migrates, the application role gets exactly the
documented grants, and then can log, sign and purge, but cannot UPDATE, DELETE or TRUNCATE any log table."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PG_ADMIN_URL, _postgres_database, make_settings
from tests.helpers import actie, new_bsn
from tests.logboek_support import dpl, pb_request, pb_response, pb_span
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Clients
from verwerkingenlog.services.purge import Purger
from verwerkingenlog.services.verify import Verifier
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database, async_url
from verwerkingenlog.store.migrations import guards
from verwerkingenlog.store.tables import metadata

DOC = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def documented_grants() -> str:
    """The SQL block of step 3 in docs/deployment.md (the one with GRANT statements)."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    (grants,) = [b for b in blocks if "GRANT" in b]
    return re.sub(r"^ {3}", "", grants, flags=re.MULTILINE)


def with_user(url: str, user: str, password: str) -> str:
    return re.sub(r"^postgresql://[^/]*@", f"postgresql://{user}:{password}@", url)


async def execute(url: str, *statements: str) -> None:
    con = await asyncpg.connect(async_url(url).replace("postgresql+asyncpg", "postgresql"))
    try:
        for statement in statements:
            await con.execute(statement)
    finally:
        await con.close()


@pytest.fixture
def roles() -> Iterator[tuple[str, str, str]]:
    """A database owned by a fresh owner role, and an application role: (admin URL, owner URL, app URL)."""
    suffix, password = secrets.token_hex(4), secrets.token_hex(12)
    owner, app = f"vl_owner_{suffix}", f"vl_app_{suffix}"
    databases = _postgres_database()
    url = next(databases)
    name = url.rsplit("/", 1)[1]
    asyncio.run(
        execute(
            PG_ADMIN_URL,
            f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'",
            f"CREATE ROLE {app} LOGIN PASSWORD '{password}'",
            f'ALTER DATABASE "{name}" OWNER TO {owner}',
        )
    )
    try:
        yield url, with_user(url, owner, password), with_user(url, app, password)
    finally:
        for _ in databases:
            pass
        asyncio.run(execute(PG_ADMIN_URL, f"DROP ROLE IF EXISTS {app}", f"DROP ROLE IF EXISTS {owner}"))


def test_application_role_can_only_append(roles: tuple[str, str, str], tmp_path: Path) -> None:
    """R-VER-5 with roles: as documented, the application role logs, signs, purges and verifies; every UPDATE,
    DELETE and TRUNCATE of a log table is refused by its privileges."""
    _, owner_url, app_url = roles
    app_role = app_url.split("//")[1].split(":")[0]

    async def prepare() -> Any:
        db = Database(owner_url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()
        await execute(owner_url, documented_grants().replace("verwerkingenlog_app", app_role))
        db = Database(app_url)
        try:
            return await Clients(db).add("rollen", ["read:confidential", "update:confidential", "delete:confidential"])
        finally:
            await db.dispose()

    client = asyncio.run(prepare())
    settings = make_settings(app_url, checkpoint_key_file=tmp_path / "cp.key", checkpoint_interval_seconds=0)
    headers = {"Authorization": f"Bearer {tokens.issue(client)}"}
    with TestClient(create_app(settings)) as tc:
        body = actie(new_bsn(), tijdstip="2000-01-01T00:00:00+00:00", bewaartermijn="P1D")
        assert tc.post("/api/v1/verwerkingsacties", json=body, headers=headers).status_code == 201
        # An expired OTLP entry: its logboekregel row goes with its version (function of migration 0008).
        span = pb_span(start_ns=946_684_800_000_000_000, **dpl(new_bsn(), verwerkingenlog__bewaartermijn="P1D"))
        otlp = {**headers, "Content-Type": "application/x-protobuf"}
        sent = tc.post("/v1/traces", content=pb_request(span), headers=otlp)
        assert sent.status_code == 200 and pb_response(sent.content).partial_success.rejected_spans == 0
        kept = tc.post("/api/v1/verwerkingsacties", json=actie(new_bsn()), headers=headers).json()
        state: Any = tc.app.state  # type: ignore[attr-defined]
        assert tc.portal.call(state.integrity.sign_checkpoint) is not None  # type: ignore[union-attr]
        purged = tc.portal.call(Purger(state.db, state.register.writer).run)  # type: ignore[union-attr]
        assert (purged.versies, purged.logboekregels, len(purged.entries)) == (2, 1, 1)

        async def verify() -> Any:
            keys = await state.integrity.trusted_keys()
            return await Verifier(state.db, state.register.reader, state.var.store).run(keys)

        assert tc.portal.call(verify).ok  # type: ignore[union-attr]

    for table in guards.GUARDED_TABLES:  # each log table, with a column to "change" in place
        column = next(iter(metadata.tables[table].columns)).name
        for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                asyncio.run(execute(app_url, statement))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            asyncio.run(execute(app_url, f"TRUNCATE {table}"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):  # the owner: the triggers
        asyncio.run(execute(owner_url, f"DELETE FROM verwerkingsactie_versie WHERE actie_id = '{kept['actieId']}'"))
