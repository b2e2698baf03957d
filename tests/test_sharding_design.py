"""The sharding design of docs/scaling.md, checked where it can be without Citus (not installable here):

- many Merkle logs and a log of logs over their checkpoints compose into ordinary proofs (integrity/merkle.py):
  an entry's inclusion in the register's checkpoint is two inclusion proofs, consistency between two register
  checkpoints is the top log's consistency proof plus each log's own, and a changed entry in one log shows in
  the top checkpoint;
- on PostgreSQL, the log tables with `log_id` as the distribution column, `PARTITION BY HASH (log_id)` as the
  single-server picture of Citus shards: an append's statements touch one partition (a router query), an
  Inzage touches every partition through its blind index (a fan-out), and a key without `log_id` is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from tests.conftest import _postgres_database
from verwerkingenlog.integrity import merkle
from verwerkingenlog.store.db import async_url

LOGS = 4


def _entry(log_id: int, n: int, changed: bool = False) -> bytes:
    return merkle.leaf_hash(f"log {log_id} entry {n}{' (changed)' if changed else ''}".encode())


def _checkpoint_leaf(log_id: int, size: int, root: bytes) -> bytes:
    """A leaf of the log of logs: one log's checkpoint (log id, tree size, root hash)."""
    return merkle.leaf_hash(b"log-checkpoint\n" + f"{log_id}\n{size}\n".encode() + root)


class Sharded:
    """N logs and the log of logs: after every round each log's checkpoint is appended to the top log."""

    def __init__(self) -> None:
        self.logs = [merkle.InMemoryNodeStore() for _ in range(LOGS)]
        self.top = merkle.InMemoryNodeStore()
        self.top_leaves: list[tuple[int, int, bytes]] = []  # (log_id, size, root) per top leaf

    def round(self, per_log: list[int]) -> tuple[int, bytes]:
        for log_id, count in enumerate(per_log):
            store = self.logs[log_id]
            merkle.append_leaves(store, [_entry(log_id, store.size() + i) for i in range(count)])
        for log_id, store in enumerate(self.logs):
            root = merkle.root_hash(store, store.size())
            self.top_leaves.append((log_id, store.size(), root))
            merkle.append_leaves(self.top, [_checkpoint_leaf(log_id, store.size(), root)])
        return self.top.size(), merkle.root_hash(self.top, self.top.size())

    def latest(self, log_id: int, top_size: int) -> tuple[int, int, bytes]:
        """(top leaf index, log size, log root) of the newest checkpoint of ``log_id`` within the top tree."""
        index = max(i for i, (lid, _, _) in enumerate(self.top_leaves[:top_size]) if lid == log_id)
        _, size, root = self.top_leaves[index]
        return index, size, root


def test_an_entry_is_proven_in_the_register_checkpoint_by_two_inclusion_proofs() -> None:
    s = Sharded()
    s.round([3, 5, 1, 7])
    top_size, top_root = s.round([2, 0, 4, 1])
    log_id, entry_index = 3, 6
    top_index, size, root = s.latest(log_id, top_size)
    merkle.verify_inclusion(
        entry_index, size, _entry(log_id, entry_index), merkle.inclusion_proof(s.logs[log_id], entry_index, size), root
    )
    merkle.verify_inclusion(
        top_index,
        top_size,
        _checkpoint_leaf(log_id, size, root),
        merkle.inclusion_proof(s.top, top_index, top_size),
        top_root,
    )


def test_two_register_checkpoints_are_consistent_through_the_top_log_and_every_log() -> None:
    s = Sharded()
    size1, root1 = s.round([3, 5, 1, 7])
    s.round([1, 1, 0, 2])
    size2, root2 = s.round([4, 0, 9, 1])
    merkle.verify_consistency(size1, size2, merkle.consistency_proof(s.top, size1, size2), root1, root2)
    for log_id, store in enumerate(s.logs):
        _, a, ra = s.latest(log_id, size1)
        _, b, rb = s.latest(log_id, size2)
        merkle.verify_consistency(a, b, merkle.consistency_proof(store, a, b), ra, rb)


def test_a_changed_entry_in_one_log_does_not_match_the_register_checkpoint() -> None:
    s = Sharded()
    top_size, top_root = s.round([3, 5, 1, 7])
    forged = merkle.InMemoryNodeStore()  # log 1 as someone rewrote it: entry 2 changed
    merkle.append_leaves(forged, [_entry(1, n, changed=n == 2) for n in range(5)])
    forged_root = merkle.root_hash(forged, 5)
    top_index, size, root = s.latest(1, top_size)
    assert forged_root != root
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(
            top_index,
            top_size,
            _checkpoint_leaf(1, size, forged_root),
            merkle.inclusion_proof(s.top, top_index, top_size),
            top_root,
        )


# -- the same statements on PostgreSQL partitioning by the distribution column ------------------------------

SHARDS = 8
SCHEMA = [
    """CREATE TABLE versie (log_id int NOT NULL, seq bigint NOT NULL, lineage_id text NOT NULL,
         versie int NOT NULL, actie_id text NOT NULL, tijdstip_registratie_us bigint NOT NULL,
         PRIMARY KEY (log_id, seq)) PARTITION BY HASH (log_id)""",
    "CREATE INDEX ix_versie_lineage ON versie (log_id, lineage_id, versie)",
    "CREATE INDEX ix_versie_actie ON versie (actie_id)",
    """CREATE TABLE verwerkt_object (log_id int NOT NULL, id bigint NOT NULL, versie_seq bigint NOT NULL,
         object_sleutel bytea NOT NULL, tijdstip_us bigint NOT NULL,
         PRIMARY KEY (log_id, id)) PARTITION BY HASH (log_id)""",
    "CREATE INDEX ix_object_sleutel ON verwerkt_object (object_sleutel, tijdstip_us)",
    """CREATE TABLE merkle_node (log_id int NOT NULL, level int NOT NULL, idx bigint NOT NULL,
         hash bytea NOT NULL, kind text, ref bigint,
         PRIMARY KEY (log_id, level, idx)) PARTITION BY HASH (log_id)""",
]


def _sleutel(person: int) -> bytes:
    return hashlib.sha256(f"person {person}".encode()).digest()


async def _setup(conn: asyncpg.Connection) -> None:
    for statement in SCHEMA:
        await conn.execute(statement)
    for table in ("versie", "verwerkt_object", "merkle_node"):
        for r in range(SHARDS):
            await conn.execute(
                f"CREATE TABLE {table}_s{r} PARTITION OF {table} FOR VALUES WITH (MODULUS {SHARDS}, REMAINDER {r})"
            )
    rows = [(log_id, log_id * 200 + n + 1, n) for log_id in range(SHARDS) for n in range(200)]
    await conn.executemany(
        "INSERT INTO versie VALUES ($1, $2, $3, 1, $4, $2)",
        [(log_id, seq, f"lineage-{log_id}-{n}", f"actie-{seq}") for log_id, seq, n in rows],
    )
    await conn.executemany(
        "INSERT INTO verwerkt_object VALUES ($1, $2, $2, $3, $2)",
        [(log_id, seq, _sleutel(n % 50)) for log_id, seq, n in rows],
    )
    await conn.executemany(
        "INSERT INTO merkle_node VALUES ($1, 0, $2, $3, 'verwerkingsactie', $4)",
        [(log_id, n, _entry(log_id, n), seq) for log_id, seq, n in rows],
    )
    await conn.execute("ANALYZE")


def _scanned(plan: Any) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in a JSON plan."""
    found: list[tuple[str, str]] = []

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            found.append((node["Node Type"], node["Relation Name"]))
        for child in node.get("Plans", []):
            walk(child)

    walk(json.loads(plan)[0]["Plan"])
    return found


@pytest.fixture
def partitioned() -> Iterator[Any]:
    """A scratch PostgreSQL database of its own (no register: these are the bare statements)."""
    for url in _postgres_database():
        yield from _runner(url)


def _runner(url: str) -> Iterator[Any]:
    dsn = async_url(url).replace("postgresql+asyncpg", "postgresql")

    def run(work: Any) -> Any:
        async def go() -> Any:
            conn = await asyncpg.connect(dsn)
            try:
                if not await conn.fetchval("SELECT to_regclass('versie') IS NOT NULL"):
                    await _setup(conn)
                return await work(conn)
            finally:
                await conn.close()

        return asyncio.run(go())

    yield run


postgresql = pytest.mark.postgresql


async def _explain(conn: asyncpg.Connection, sql: str, *args: Any) -> list[tuple[str, str]]:
    return _scanned(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))


@postgresql
def test_the_statements_of_an_append_touch_one_shard(partitioned: Any) -> None:
    async def work(conn: asyncpg.Connection) -> None:
        shapes = [
            # the lineage's current version (store/read.py, under the lineage lock)
            ("SELECT * FROM versie WHERE log_id = $1 AND lineage_id = $2 ORDER BY versie DESC LIMIT 1", 3, "x"),
            # the log's tree size and its border nodes (store/integrity.py: two primary-key statements)
            ("SELECT idx FROM merkle_node WHERE log_id = $1 AND level = 0 ORDER BY idx DESC LIMIT 1", 3),
            ("SELECT hash FROM merkle_node WHERE log_id = $1 AND (level, idx) IN ((7, 0), (6, 2), (3, 24))", 3),
            # a version's objects (joined on the distribution column)
            (
                "SELECT o.* FROM verwerkt_object o JOIN versie v ON v.log_id = o.log_id AND v.seq = o.versie_seq "
                "WHERE v.log_id = $1 AND v.seq = $2",
                3,
                600,
            ),
        ]
        for sql, *args in shapes:
            partitions = {relation for _, relation in await _explain(conn, sql, *args)}
            assert len({p.rsplit("_s", 1)[0] for p in partitions}) == len(partitions), partitions
            assert all(p.endswith(tuple(f"_s{r}" for r in range(SHARDS))) for p in partitions), partitions
            shards = {p.rsplit("_s", 1)[1] for p in partitions}
            assert len(shards) == 1, (sql, partitions)
        # an append's rows all land in the one partition of their log (tuple routing: Citus's shard routing)
        await conn.execute("INSERT INTO versie VALUES (5, 100000, 'new', 1, 'actie-new', 1)")
        await conn.execute("INSERT INTO verwerkt_object VALUES (5, 100000, 100000, $1, 1)", _sleutel(1))
        await conn.execute("INSERT INTO merkle_node VALUES (5, 0, 200, $1, 'verwerkingsactie', 100000)", b"h" * 32)
        homes = {
            await conn.fetchval(f"SELECT tableoid::regclass::text FROM {t} WHERE log_id = 5 AND {key}")
            for t, key in (("versie", "seq = 100000"), ("verwerkt_object", "id = 100000"), ("merkle_node", "idx = 200"))
        }
        # co-located: the same log_id hashes to the same shard number in every table
        assert len({h.rsplit("_s", 1)[1] for h in homes}) == 1, homes

    partitioned(work)


@postgresql
def test_an_inzage_fans_out_to_every_shard_through_the_blind_index(partitioned: Any) -> None:
    async def work(conn: asyncpg.Connection) -> None:
        await conn.execute("SET enable_seqscan = off")  # the index must be usable in every partition
        scans = await _explain(
            conn,
            "SELECT v.actie_id FROM verwerkt_object o JOIN versie v ON v.log_id = o.log_id AND v.seq = o.versie_seq "
            "WHERE o.object_sleutel = $1 ORDER BY o.tijdstip_us DESC LIMIT 10",
            _sleutel(7),
        )
        objects = [(kind, rel) for kind, rel in scans if rel.startswith("verwerkt_object_s")]
        assert {rel for _, rel in objects} == {f"verwerkt_object_s{r}" for r in range(SHARDS)}
        assert not [kind for kind, _ in objects if kind == "Seq Scan"], objects  # index or bitmap index scans
        found = await conn.fetch("SELECT o.log_id FROM verwerkt_object o WHERE o.object_sleutel = $1", _sleutel(7))
        assert {r["log_id"] for r in found} == set(range(SHARDS))  # a citizen's entries are in every log

    partitioned(work)


@postgresql
def test_a_key_without_the_distribution_column_is_refused(partitioned: Any) -> None:
    async def work(conn: asyncpg.Connection) -> str:
        try:
            await conn.execute("CREATE TABLE bad (log_id int, seq bigint PRIMARY KEY) PARTITION BY HASH (log_id)")
        except asyncpg.PostgresError as exc:
            return str(exc)
        return "accepted"

    assert "must include all partitioning columns" in partitioned(work)
