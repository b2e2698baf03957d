"""API clients: secrets encrypted at rest, and clients that sign with their own key (issue 15 part 4)

`api_client.secret` held every HS256 secret in the clear: anyone with a database dump could sign tokens as any
client. This seals each stored secret with the first key of CLIENT_SECRET_KEY (store.client_secrets) and adds
the columns of clients without a secret: `public_key` (PEM) and `jwks_url`. `secret` becomes nullable (those
clients have none) and wider (a sealed value is longer than the secret).

The keyring comes from `store.migrate.upgrade` (the server's own) or else from the environment, as the server
would load it.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from verwerkingenlog.store.client_secrets import ClientSecretKeyring, keyring_from_settings, sealed_by

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_client = sa.table("api_client", sa.column("client_id", sa.String), sa.column("secret", sa.String))


def _keyring() -> ClientSecretKeyring:
    given = context.config.attributes.get("client_secret_keyring")
    return given if isinstance(given, ClientSecretKeyring) else keyring_from_settings()


def _count_client_changes_again() -> None:
    """SQLite: the batch operation rebuilt `api_client`, and its triggers went with the old table; put back the
    change counter of migration 0010 (the same statements, frozen here), so revocation stays immediate (issue 19.5).
    PostgreSQL alters the table in place and keeps its trigger."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS api_client_{event.lower()}_counted")
        op.execute(
            f"CREATE TRIGGER api_client_{event.lower()}_counted AFTER {event} ON api_client "
            "BEGIN UPDATE client_change SET counter = counter + 1 WHERE id = 1; END"
        )


def upgrade() -> None:
    with op.batch_alter_table("api_client") as batch:
        batch.alter_column("secret", existing_type=sa.String(200), type_=sa.String(500), nullable=True)
        batch.add_column(sa.Column("public_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("jwks_url", sa.String(2000), nullable=True))
    _count_client_changes_again()
    conn = op.get_bind()
    rows = conn.execute(sa.select(_client.c.client_id, _client.c.secret).where(_client.c.secret.is_not(None))).all()
    plain = [(client_id, secret) for client_id, secret in rows if sealed_by(secret) is None]
    if not plain:
        return
    keyring = _keyring()
    for client_id, secret in plain:
        conn.execute(
            _client.update().where(_client.c.client_id == client_id).values(secret=keyring.seal(client_id, secret))
        )


def downgrade() -> None:
    """Back to plain secrets: possible only while no client signs with its own key (they have no secret)."""
    conn = op.get_bind()
    if conn.execute(sa.select(sa.func.count()).select_from(_client).where(_client.c.secret.is_(None))).scalar():
        raise RuntimeError("Clients with a public key or JWKS URL exist: remove them before downgrading past 0011.")
    rows = conn.execute(sa.select(_client.c.client_id, _client.c.secret)).all()
    if rows:
        keyring = _keyring()
        for client_id, secret in rows:
            if sealed_by(secret) is not None:
                conn.execute(
                    _client.update()
                    .where(_client.c.client_id == client_id)
                    .values(secret=keyring.open(client_id, secret))
                )
    with op.batch_alter_table("api_client") as batch:
        batch.drop_column("jwks_url")
        batch.drop_column("public_key")
        batch.alter_column("secret", existing_type=sa.String(500), type_=sa.String(200), nullable=False)
    _count_client_changes_again()
