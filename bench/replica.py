"""Read throughput with and without a streaming replica (`python -m bench.run --replica`, docs/performance.md).

The machine's PostgreSQL has no `replication` entry in its pg_hba.conf (and /etc is not ours to edit), so, as
tests/ha/failover.py does, this builds its own pair in a temp dir: a throw-away primary (`initdb`, whose default
pg_hba allows replication from 127.0.0.1) and a real streaming standby of it (`pg_basebackup -R`), each on a free
port, run as the `postgres` OS user. Same data, same primary, two registers one after the other: reads on the
primary (DATABASE_URL only), then reads on the standby (DATABASE_READ_URL). The self-log entry of every read is
written on the primary in both runs (§10.5). Stops both instances and removes the directory, also on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench.run import INZAGE_HEADERS, Http, Run, Server, Suite, closed_loop

PG_BIN = Path("/usr/lib/postgresql/15/bin")
READ_SECONDS = {"quick": 5.0, "full": 20.0}
READ_CONCURRENCY = 16
WARM_UP_SECONDS = 2.0
LOAD_ENTRIES = {"quick": 20_000, "full": 200_000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str | Path, timeout: float = 120) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *map(str, args)],
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@contextlib.contextmanager
def primary_and_standby() -> Iterator[tuple[str, str]]:
    """Admin URLs of a throw-away primary and its streaming standby; both stopped and deleted afterwards."""
    work = Path(tempfile.mkdtemp(prefix="vl-bench-replica-"))
    shutil.chown(work, "postgres")
    primary, standby = work / "primary", work / "standby"
    p_port, s_port = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _as_postgres(PG_BIN / "initdb", "-D", primary, "-U", "postgres", "-A", "trust", "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -k {work} -c wal_level=replica -c max_wal_senders=4"
        _as_postgres(PG_BIN / "pg_ctl", "-D", primary, "-w", "-l", work / "p.log", "-o", f"-p {p_port} {opts}", "start")
        started.append(primary)
        _as_postgres(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(p_port), "-U", "postgres",
            "-D", standby, "-R", "-X", "stream",
        )  # fmt: skip
        _as_postgres(PG_BIN / "pg_ctl", "-D", standby, "-w", "-l", work / "s.log", "-o", f"-p {s_port} {opts}", "start")
        started.append(standby)
        yield f"postgresql://postgres@127.0.0.1:{p_port}", f"postgresql://postgres@127.0.0.1:{s_port}"
    finally:
        for data in reversed(started):
            with contextlib.suppress(subprocess.SubprocessError):
                _as_postgres(PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop", timeout=60)
        shutil.rmtree(work, ignore_errors=True)


async def _caught_up(primary: str, standby: str, timeout: float = 120) -> None:
    """Wait until the standby has replayed everything the primary has written (same data for both runs)."""
    p, s = await asyncpg.connect(primary), await asyncpg.connect(standby)
    try:
        if not await s.fetchval("SELECT pg_is_in_recovery()"):
            raise SystemExit("the standby is not in recovery: not a replica")
        target = await p.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while not await s.fetchval("SELECT pg_last_wal_replay_lsn() >= $1", target):
            if time.monotonic() > deadline:
                raise SystemExit("the standby did not catch up")
            await asyncio.sleep(0.2)
    finally:
        await p.close()
        await s.close()


async def _standby_transactions(standby: str) -> int:
    conn = await asyncpg.connect(standby)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def _reads(suite: Suite, server: Server, token: str, ids: list[str], seconds: float) -> dict[str, Run]:
    """READ_CONCURRENCY clients for `seconds` each: one citizen's Inzage page, then GET of an action by id."""
    auth = {"Authorization": f"Bearer {token}"}
    clients = [Http(server.port) for _ in range(READ_CONCURRENCY)]
    rng = random.Random(suite.seed + 2)
    citizens = suite.gen.citizens

    async def inzage(w: int) -> bool:
        person = citizens[int(rng.paretovariate(1.2)) % len(citizens)] if rng.random() < 0.5 else rng.choice(citizens)
        q = urlencode(
            {
                "objecttype": "persoon",
                "soortObjectId": "BSN",
                "objectId": person,
                "beginDatum": "2024-01-01",
                "eindDatum": "2027-01-01",
            }
        )
        status, _ = await clients[w].request("GET", f"/api/v1/verwerkte-objecten?{q}", {**auth, **INZAGE_HEADERS})
        return status == 200

    async def by_id(w: int) -> bool:
        status, _ = await clients[w].request("GET", f"/api/v1/verwerkingsacties/{rng.choice(ids)}", auth)
        return status == 200

    try:
        # Unmeasured warm-up of both kinds: the standby's shared_buffers start cold, the primary's are warm from
        # loading; without it the first run measures cache misses, not where the reads go.
        await closed_loop(READ_CONCURRENCY, WARM_UP_SECONDS, inzage)
        await closed_loop(READ_CONCURRENCY, WARM_UP_SECONDS, by_id)
        return {
            "inzage_citizen_page": await closed_loop(READ_CONCURRENCY, seconds, inzage),
            "bewerking_by_id": await closed_loop(READ_CONCURRENCY, seconds, by_id),
        }
    finally:
        for c in clients:
            await c.close()


async def measure(suite: Suite) -> dict[str, Any]:
    seconds = READ_SECONDS[suite.mode.name]
    with primary_and_standby() as (primary_admin, standby_admin):
        admin = await asyncpg.connect(f"{primary_admin}/postgres")
        await admin.execute("CREATE DATABASE vl_bench_replica")
        await admin.close()
        primary, standby = f"{primary_admin}/vl_bench_replica", f"{standby_admin}/vl_bench_replica"
        token = await suite.prepare(primary)
        loader = Server(primary, suite.workdir).start()
        try:
            await suite.bulk(loader, token, LOAD_ENTRIES[suite.mode.name], suite.mode.bulk_batch)
        finally:
            loader.stop()
        conn = await asyncpg.connect(primary)
        await conn.execute("ANALYZE")
        await conn.close()
        ids = await suite.sample_ids(primary, 500)
        stored = await suite.count(primary)
        out: dict[str, Any] = {"stored_versions": stored, "concurrency": READ_CONCURRENCY, "seconds": seconds}
        for where, env in (("primary", {}), ("replica", {"DATABASE_READ_URL": standby})):
            await _caught_up(primary, standby)
            before = await _standby_transactions(standby)
            server = Server(primary, suite.workdir, workers=1, **env).start()
            try:
                out[where] = {k: r.summary() for k, r in (await _reads(suite, server, token, ids, seconds)).items()}
            finally:
                server.stop()
            # The proof that the reads went where they should: transactions the standby served during the run.
            out[where]["standby_transactions"] = await _standby_transactions(standby) - before
        for kind, label in (("inzage_citizen_page", "Inzage"), ("bewerking_by_id", "GET by id")):
            on_primary, on_replica = out["primary"][kind], out["replica"][kind]
            suite.report(f"{label} c={READ_CONCURRENCY} reads on primary", on_primary)
            suite.report(f"{label} c={READ_CONCURRENCY} reads on replica", on_replica, on_primary, "primary")
            out[f"{kind}_ratio"] = (
                round(on_replica["per_second"] / on_primary["per_second"], 2) if on_primary["per_second"] else None
            )
        print(
            f"standby transactions: {out['primary']['standby_transactions']} with reads on the primary, "
            f"{out['replica']['standby_transactions']} with reads on the replica"
        )
        print(f"(replica comparison at {stored:,} stored versions, {os.cpu_count()} cores shared by both instances)")
        return out
