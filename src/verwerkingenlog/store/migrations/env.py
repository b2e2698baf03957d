"""Alembic environment. Migrations run on a connection handed in by `store.migrate` (both backends)."""

from __future__ import annotations

from alembic import context

from verwerkingenlog.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is run by hand without our wrapper
    raise RuntimeError("Run migrations with `verwerkingenlog migrate`.")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
