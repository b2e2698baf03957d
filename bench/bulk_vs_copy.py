"""The bench's `bulk` line alone (docs/performance.md, "Bulk ingest"): `POST /verwerkingsacties/bulk` against
PostgreSQL COPY of the same rows, round after round, with the server's CPU time per entry.

`.venv/bin/python -m bench.bulk_vs_copy [--rounds N]` uses `bench.run`'s own measurements (`Suite.bulk`,
`Suite.anchor_copy`: the same data, 10 000 entries in batches of 5 000), on a throw-away database, with a
register started as `bench.run` starts it; it skips the POST, floor and read measurements, and so needs only a
few PostgreSQL connections. Server CPU per entry (utime + stime of the server process over a round, divided by
the entries) is the number other load on the machine disturbs least. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from pathlib import Path

import asyncpg

from bench.run import PG_ADMIN, QUICK, Server, Suite

_ANCHOR_TABLES = (
    "CREATE TABLE anchor_versie (LIKE verwerkingsactie_versie INCLUDING ALL)",
    "CREATE SEQUENCE anchor_versie_seq OWNED BY anchor_versie.seq",
    "ALTER TABLE anchor_versie ALTER seq SET DEFAULT nextval('anchor_versie_seq')",
    "CREATE TABLE anchor_object (LIKE verwerkt_object INCLUDING ALL)",
    "CREATE SEQUENCE anchor_object_id_seq OWNED BY anchor_object.id",
    "ALTER TABLE anchor_object ALTER id SET DEFAULT nextval('anchor_object_id_seq')",
)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(rounds: int, entries: int, batch: int, seed: int) -> None:
    suite = Suite(QUICK, seed, "postgresql", 1)
    name = f"vl_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    server: Server | None = None
    try:
        token = await suite.prepare(url)
        conn = await asyncpg.connect(url)
        for statement in _ANCHOR_TABLES:
            await conn.execute(statement)
        await conn.close()
        server = Server(url, suite.workdir, workers=1).start()
        assert server.proc is not None
        await suite.bulk(server, token, batch, batch)  # warm-up: imports, compiled statements, first partition
        for _ in range(rounds):
            before = _cpu_seconds(server.proc.pid)
            bulk = (await suite.bulk(server, token, entries, batch)).summary()
            cpu_us = (_cpu_seconds(server.proc.pid) - before) / entries * 1e6
            copy = (await suite.anchor_copy(url, entries, batch)).summary()
            ratio = bulk["per_second"] / copy["per_second"]
            print(
                f"bulk {bulk['per_second']:7,.0f}/s (server CPU {cpu_us:4.0f} µs/entry, errors {bulk['errors']})"
                f"  COPY {copy['per_second']:7,.0f}/s  ratio {ratio:.2f}x  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        print(f"server peak RSS {server.peak_rss / 2**20:.1f} MB")
    finally:
        if server is not None:
            server.stop()
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--entries", type=int, default=QUICK.bulk_entries)
    parser.add_argument("--batch", type=int, default=QUICK.bulk_batch)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.entries, args.batch, args.seed))


if __name__ == "__main__":
    main()
