"""integrity: Merkle log, checkpoints, keys and purges; deletion of log rows only through a recorded purge

Revision ID: 0005
Revises: 0004

New insert-only tables (docs/integrity.md): merkle_node (the tree; its level-0 rows are the leaves),
checkpoint, signing_key, purge, purged_leaf. They get the append-only triggers of 0002.

The log's own tables keep refusing UPDATE and TRUNCATE. DELETE of a version or object row is now allowed in
exactly one case (R-RET-3): the version's leaf is listed in purged_leaf, i.e. a purge recorded in the log
removes it. On PostgreSQL the purge runs through the SECURITY DEFINER function verwerkingenlog_purge_versions,
so that the application role needs no DELETE privilege at all (docs/deployment.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.store.migrations import guards

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NEW_TABLES = ("merkle_node", "checkpoint", "signing_key", "purge", "purged_leaf")
# (table, column holding the version's seq)
PURGEABLE = (("verwerkingsactie_versie", "seq"), ("verwerkt_object", "versie_seq"))
KIND = "verwerkingsactie"


def _create_tables() -> None:
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "merkle_node",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("ref", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(level = 0 AND kind IS NOT NULL AND ref IS NOT NULL) OR (level > 0 AND kind IS NULL AND ref IS NULL)",
            name="ck_merkle_node_leaf",
        ),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_merkle_node"),
        sa.UniqueConstraint("kind", "ref", name="uq_merkle_node_leaf"),
    )
    op.create_table(
        "checkpoint",
        sa.Column("id", seq_type, autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkpoint", schema=None) as batch_op:
        batch_op.create_index("ix_checkpoint_size", ["tree_size"], unique=False)
    op.create_table(
        "signing_key",
        sa.Column("id", seq_type, autoincrement=True, nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "purge",
        sa.Column("id", seq_type, autoincrement=True, nullable=False),
        sa.Column("tijdstip_registratie_us", sa.BigInteger(), nullable=False),
        sa.Column("peilmoment_us", sa.BigInteger(), nullable=False),
        sa.Column("criterium", sa.Text(), nullable=False),
        sa.Column("lineages", sa.Integer(), nullable=False),
        sa.Column("versies", sa.Integer(), nullable=False),
        sa.Column("objecten", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "purged_leaf",
        sa.Column("leaf_index", seq_type, autoincrement=False, nullable=False),
        sa.Column("purge_id", seq_type, nullable=False),
        sa.ForeignKeyConstraint(["purge_id"], ["purge.id"]),
        sa.PrimaryKeyConstraint("leaf_index"),
    )
    with op.batch_alter_table("purged_leaf", schema=None) as batch_op:
        batch_op.create_index("ix_purged_leaf_purge", ["purge_id"], unique=False)


def _upgrade_postgresql() -> None:
    for table in NEW_TABLES:
        for statement in guards.append_only(table, "postgresql"):
            op.execute(statement)
    op.execute(
        guards.pg_purge_only_function("verwerkingenlog_purge_only", KIND, "(to_jsonb(OLD) ->> TG_ARGV[0])::bigint")
    )
    for table, column in PURGEABLE:
        op.execute(guards.pg_drop(table, "append_only"))
        op.execute(guards.pg_refuse(table, "UPDATE"))
        op.execute(guards.pg_purge_only(table, f"verwerkingenlog_purge_only('{column}')"))
    # The only way the application role removes content: runs as the owner, and the triggers above still
    # refuse every row whose leaf no purge lists.
    deletes = (
        "DELETE FROM verwerkt_object WHERE versie_seq = ANY(seqs)",
        "DELETE FROM verwerkingsactie_versie WHERE seq = ANY(seqs)",
    )
    for statement in guards.pg_purge_function("verwerkingenlog_purge_versions", deletes):
        op.execute(statement)


def _upgrade_sqlite() -> None:
    for table in NEW_TABLES:
        for statement in guards.append_only(table, "sqlite"):
            op.execute(statement)
    for table, column in PURGEABLE:
        op.execute(guards.sqlite_drop(table, "delete"))
        op.execute(guards.sqlite_purge_only(table, KIND, "OLD." + column))


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_purge_versions(bigint[])")
        for table, _ in PURGEABLE:
            op.execute(guards.pg_drop(table, "purge_only"))
            op.execute(guards.pg_drop(table, "append_only"))
            op.execute(guards.pg_refuse(table))
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_purge_only()")
    else:
        for table, _ in PURGEABLE:
            op.execute(guards.sqlite_drop(table, "delete"))
            op.execute(guards.sqlite_refuse(table, "DELETE"))
    for table in NEW_TABLES:
        for statement in guards.drop_append_only(table, dialect):
            op.execute(statement)
    with op.batch_alter_table("purged_leaf", schema=None) as batch_op:
        batch_op.drop_index("ix_purged_leaf_purge")
    op.drop_table("purged_leaf")
    op.drop_table("purge")
    op.drop_table("signing_key")
    with op.batch_alter_table("checkpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_checkpoint_size")
    op.drop_table("checkpoint")
    op.drop_table("merkle_node")
