"""Alembic migrations, run programmatically on the register's own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from verwerkingenlog.store.client_secrets import ClientSecretKeyring
from verwerkingenlog.store.db import Database

_HERE = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


async def upgrade(db: Database, revision: str = "head", keyring: ClientSecretKeyring | None = None) -> None:
    """`keyring`: the one migration 0011 seals plain client secrets with (default: CLIENT_SECRET_KEY of the
    environment, or its key file)."""

    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        if keyring is not None:
            cfg.attributes["client_secret_keyring"] = keyring
        command.upgrade(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def is_current(db: Database) -> bool:
    """True when the database is at the newest migration (used by readiness checks)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())

    def current(conn: Connection) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    async with db.engine.connect() as conn:
        return await conn.run_sync(current) == heads
