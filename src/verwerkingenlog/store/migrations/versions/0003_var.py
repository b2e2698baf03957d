"""VAR: the versioned register of processing activities (§17), append-only like the log

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "verwerkingsactiviteit_versie"


def upgrade() -> None:
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        TABLE,
        sa.Column("seq", seq_type, autoincrement=True, nullable=False),
        sa.Column("activiteit_id", sa.String(length=36), nullable=False),
        sa.Column("versie", sa.Integer(), nullable=False),
        sa.Column("organisatie", sa.String(length=20), nullable=False),
        sa.Column("ingetrokken", sa.Boolean(), nullable=False),
        sa.Column("tijdstip_registratie_us", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.Column("naam", sa.String(length=242), nullable=False),
        sa.Column("gebaseerd_op", sa.String(length=2042), nullable=True),
        sa.Column("categorie", sa.String(length=242), nullable=True),
        sa.Column("verantwoordelijke_bestuursorgaan", sa.String(length=242), nullable=True),
        sa.Column("doel", sa.String(length=2042), nullable=False),
        sa.Column("grondslag", sa.String(length=242), nullable=False),
        sa.Column("toelichting_grondslag", sa.String(length=2042), nullable=True),
        sa.Column("bewaartermijn", sa.String(length=2042), nullable=True),
        sa.Column("herkomst", sa.String(length=2042), nullable=True),
        sa.Column("afnemende_internationale_derden", sa.Text(), nullable=False),
        sa.Column("afnemende_categorie_ontvangers", sa.Text(), nullable=False),
        sa.Column("verwerkte_persoonsgegevens", sa.Text(), nullable=False),
        sa.Column("vertalingen", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("activiteit_id", "versie", name="uq_activiteit_versie"),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index("ix_activiteit_organisatie", ["organisatie", "activiteit_id"], unique=False)

    # The append-only triggers of 0002 (store.migrations.guards, frozen): the database itself refuses UPDATE,
    # DELETE and TRUNCATE on the VAR's versions.
    for statement in guards.append_only(TABLE, op.get_bind().dialect.name, "the register"):
        op.execute(statement)


def downgrade() -> None:
    for statement in guards.drop_append_only(TABLE, op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_activiteit_organisatie")
    op.drop_table(TABLE)
