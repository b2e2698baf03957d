"""logboekregel as Merkle leaves and purgeable (issue 8)

Revision ID: 0008
Revises: 0007

The Logius fields an OTLP span keeps beside its action (table logboekregel, 0006) become leaves of the Merkle log
(kind ``logboekregel``, docs/integrity.md §2), so `verify` covers them, and the retention purge removes them
with their lineage:

- ``seq``: the row's own sequence number, the ``ref`` of its leaf (merkle_node.ref is an integer). PostgreSQL:
  an identity; SQLite: handed out by the application (store.logboek), never reused.
- Rows stored before this revision are numbered in registration order (the seq of their action's first version;
  rows whose action is gone last, by span start and ids) and get their leaves **appended** at the end of the
  tree in that order: the tree is append-only, so they cannot be put where their actions are. Their leaves are
  later than every checkpoint signed before the upgrade, so those checkpoints stay valid. (A tree that is still
  empty, waiting for `adopt_existing`, cannot come with rows: every OTLP write since 0006 appended leaves.) The
  rows are read into memory at once: fine for the OTLP volumes registered so far, not for tens of millions.
- The triggers refuse UPDATE (and TRUNCATE) as before; DELETE only of a row whose leaf a recorded purge lists in
  purged_leaf (the pattern of 0005). On PostgreSQL the purge deletes through the SECURITY DEFINER function
  verwerkingenlog_purge_logboekregels, so the application role needs no DELETE privilege (docs/deployment.md).

The backfill computes the leaf hashes with the register's pure record code (integrity.records, frozen per
``formaat``) and appends them with the tree's compact range (integrity.merkle), like store.integrity does.
Downgrading keeps the appended leaves (the tree is insert-only), so a downgraded register's `verify` reports them.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from verwerkingenlog.domain.logboek import Logboekregel, Status
from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.merkle import CompactRange, range_nodes
from verwerkingenlog.integrity.records import KIND_LOGBOEKREGEL, LogboekregelEntry, logboekregel_record
from verwerkingenlog.store.migrations import guards

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "logboekregel"
KIND = "logboekregel"
# Registration order: the first version of the row's action, then (for rows whose action is gone) the span.
_ORDER = (
    "SELECT * FROM (SELECT r.lineage_id, r.trace_id, r.span_id, r.parent_span_id, r.status, r.status_message, "
    "r.start_ns, r.end_ns, r.processor, r.resource, r.attributes, r.client_id, "
    "(SELECT MIN(v.seq) FROM verwerkingsactie_versie v WHERE v.lineage_id = r.lineage_id) AS first_seq "
    "FROM logboekregel r) AS o "
    "ORDER BY CASE WHEN o.first_seq IS NULL THEN 1 ELSE 0 END, o.first_seq, o.start_ns, o.trace_id, o.span_id"
)


def _entry(seq: int, row: Any) -> LogboekregelEntry:
    regel = Logboekregel(
        trace_id=row.trace_id,
        span_id=row.span_id,
        parent_span_id=row.parent_span_id,
        status=Status(row.status),
        status_message=row.status_message,
        start_ns=int(row.start_ns),
        end_ns=int(row.end_ns),
        processor=row.processor,
        resource=json.loads(row.resource),
        attributes=json.loads(row.attributes),
    )
    return LogboekregelEntry(seq, str(row.lineage_id), row.client_id, regel)


def _number_and_append(bind: sa.Connection) -> int:
    """Number the existing rows in registration order and append their leaves; returns the next seq."""
    rows = bind.execute(sa.text(_ORDER)).all()
    if not rows:
        return 1
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x766C_6F67_6C65_6166})  # store.integrity
    used = bind.execute(
        sa.text("SELECT COALESCE(MAX(ref), 0) FROM merkle_node WHERE kind = 'logboekregel' AND level = 0")
    ).scalar_one()
    first = int(used) + 1
    entries = [_entry(first + offset, row) for offset, row in enumerate(rows)]
    bind.execute(
        sa.text(f"UPDATE {TABLE} SET seq = :seq WHERE lineage_id = :lineage"),
        [{"seq": e.seq, "lineage": e.lineage_id} for e in entries],
    )
    highest = bind.execute(sa.text("SELECT MAX(idx) FROM merkle_node WHERE level = 0")).scalar_one()
    size = 0 if highest is None else int(highest) + 1
    border_ids = range_nodes(0, size)  # the right border of the tree: O(log n) primary-key probes
    probe = sa.text("SELECT hash FROM merkle_node WHERE level = :level AND idx = :idx")
    hashes = [bytes(bind.execute(probe, {"level": n.level, "idx": n.index}).scalar_one()) for n in border_ids]
    border = CompactRange(size, hashes)
    nodes: list[dict[str, Any]] = []
    for e in entries:
        for node, value in border.append(record_leaf_hash(logboekregel_record(e))):
            kind, ref = (KIND_LOGBOEKREGEL, e.seq) if node.level == 0 else (None, None)
            nodes.append({"level": node.level, "idx": node.index, "hash": value, "kind": kind, "ref": ref})
    for start in range(0, len(nodes), 1000):
        bind.execute(
            sa.text("INSERT INTO merkle_node (level, idx, hash, kind, ref) VALUES (:level, :idx, :hash, :kind, :ref)"),
            nodes[start : start + 1000],
        )
    return first + len(entries)


def _upgrade_postgresql(bind: sa.Connection) -> None:
    op.execute(guards.pg_drop(TABLE, "append_only"))
    op.add_column(TABLE, sa.Column("seq", sa.BigInteger(), nullable=True))
    following = _number_and_append(bind)
    op.execute(f"ALTER TABLE {TABLE} ALTER COLUMN seq SET NOT NULL")
    op.execute(f"ALTER TABLE {TABLE} ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {following})")
    op.create_unique_constraint("uq_logboekregel_seq", TABLE, ["seq"])
    op.execute(guards.pg_refuse(TABLE, "UPDATE"))
    op.execute(guards.pg_purge_only_function("verwerkingenlog_logboekregel_purge_only", KIND, "OLD.seq"))
    op.execute(guards.pg_purge_only(TABLE, "verwerkingenlog_logboekregel_purge_only()"))
    # Like verwerkingenlog_purge_versions (0005): runs as the owner, the trigger above still refuses every row
    # whose leaf no purge lists.
    deletes = (f"DELETE FROM {TABLE} WHERE seq = ANY(seqs)",)
    for statement in guards.pg_purge_function("verwerkingenlog_purge_logboekregels", deletes):
        op.execute(statement)


def _upgrade_sqlite(bind: sa.Connection) -> None:
    for statement in guards.drop_append_only(TABLE, "sqlite"):
        op.execute(statement)
    op.add_column(TABLE, sa.Column("seq", sa.BigInteger(), nullable=True))
    _number_and_append(bind)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:  # recreates the table: NOT NULL, unique
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint("uq_logboekregel_seq", ["seq"])
    op.execute(guards.sqlite_refuse(TABLE, "UPDATE"))
    op.execute(guards.sqlite_purge_only(TABLE, KIND, "OLD.seq"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _upgrade_postgresql(bind)
    else:
        _upgrade_sqlite(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_purge_logboekregels(bigint[])")
        op.execute(guards.pg_drop(TABLE, "purge_only"))
        op.execute(guards.pg_drop(TABLE, "append_only"))
        op.execute("DROP FUNCTION IF EXISTS verwerkingenlog_logboekregel_purge_only()")
        op.drop_constraint("uq_logboekregel_seq", TABLE, type_="unique")
        op.drop_column(TABLE, "seq")
        op.execute(guards.pg_refuse(TABLE))
        return
    for statement in guards.drop_append_only(TABLE, "sqlite"):
        op.execute(statement)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint("uq_logboekregel_seq", type_="unique")
        batch_op.drop_column("seq")
    for statement in guards.append_only(TABLE, "sqlite"):
        op.execute(statement)
