"""fg: the FG's watch list and an index for "which persons did this gebruiker process" (issue 17)

The watch list (`fg_volglijst`) is insert-only like the log: adding a person and taking them off are events; the
current list is, per person, the last event. A person is stored pseudonymised like every BSN (R-PRIV-1): the blind
index to match log entries, the identifier itself only sealed (AES-GCM), never in the clear.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fg_volglijst",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("object_sleutel", sa.LargeBinary(length=32), nullable=False),
        sa.Column("soort_object_id", sa.String(length=242), nullable=False),
        sa.Column("object_id_enc", sa.LargeBinary(), nullable=False),
        sa.Column("door", sa.String(length=255), nullable=False),
        sa.Column("reden", sa.String(length=2042), nullable=True),
    )
    op.create_index("ix_fg_volglijst_sleutel", "fg_volglijst", ["object_sleutel", "id"])
    op.create_index("ix_versie_gebruiker_tijdstip", "verwerkingsactie_versie", ["gebruiker", "tijdstip_us"])
    # Insert-only (on PostgreSQL through migration 0002's function verwerkingenlog_append_only()).
    for statement in guards.append_only("fg_volglijst", op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in guards.drop_append_only("fg_volglijst", op.get_bind().dialect.name):
        op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_versie_gebruiker_tijdstip")
    op.execute("DROP INDEX IF EXISTS ix_fg_volglijst_sleutel")
    op.execute("DROP TABLE IF EXISTS fg_volglijst")
