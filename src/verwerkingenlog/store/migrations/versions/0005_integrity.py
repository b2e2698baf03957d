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

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NEW_TABLES = ("merkle_node", "checkpoint", "signing_key", "purge", "purged_leaf")
# (table, column holding the version's seq)
PURGEABLE = (("verwerkingsactie_versie", "seq"), ("verwerkt_object", "versie_seq"))
PURGED = (
    "SELECT 1 FROM merkle_node n JOIN purged_leaf p ON p.leaf_index = n.idx "
    "WHERE n.kind = 'verwerkingsactie' AND n.ref = {seq} AND n.level = 0"
)


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
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION verwerkingenlog_append_only()"
        )
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION verwerkingenlog_purge_only() RETURNS trigger AS $$
        BEGIN
          IF EXISTS ({PURGED.format(seq="(to_jsonb(OLD) ->> TG_ARGV[0])::bigint")}) THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION
            'verwerkingenlog: % on % is not allowed; the log is append-only (only a recorded purge removes content)',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql
        """
    )
    for table, column in PURGEABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_purge_only BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_purge_only('{column}')"
        )
    # The only way the application role removes content: runs as the owner, and the triggers above still
    # refuse every row whose leaf no purge lists.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION verwerkingenlog_purge_versions(seqs bigint[]) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        DECLARE removed bigint;
        BEGIN
          DELETE FROM verwerkt_object WHERE versie_seq = ANY(seqs);
          DELETE FROM verwerkingsactie_versie WHERE seq = ANY(seqs);
          GET DIAGNOSTICS removed = ROW_COUNT;
          RETURN removed;
        END $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION verwerkingenlog_purge_versions(bigint[]) FROM PUBLIC")


def _upgrade_sqlite() -> None:
    for table in NEW_TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: {event} on {table} is not allowed; "
                "the log is append-only'); END"
            )
    for table, column in PURGEABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"WHEN NOT EXISTS ({PURGED.format(seq='OLD.' + column)}) "
            f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: DELETE on {table} is not allowed; the log is "
            "append-only (only a purge recorded in the log removes content)'); END"
        )


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_purge_versions(bigint[])")
        for table, _ in PURGEABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_purge_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION verwerkingenlog_append_only()"
            )
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_purge_only()")
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    else:
        for table, _ in PURGEABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'verwerkingenlog: DELETE on {table} is not allowed; "
                "the log is append-only'); END"
            )
        for table in NEW_TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    with op.batch_alter_table("purged_leaf", schema=None) as batch_op:
        batch_op.drop_index("ix_purged_leaf_purge")
    op.drop_table("purged_leaf")
    op.drop_table("purge")
    op.drop_table("signing_key")
    with op.batch_alter_table("checkpoint", schema=None) as batch_op:
        batch_op.drop_index("ix_checkpoint_size")
    op.drop_table("checkpoint")
    op.drop_table("merkle_node")
