"""Storage per million versions with and without monthly partitions (docs/performance.md "Storage at scale").

    .venv/bin/python -m bench.partition_sizing --versions 200000 --months 12

Loads the same realistic versions (bench.run's generator, pseudonymised by the register's codec) with COPY into
two throw-away PostgreSQL databases: one at revision 0008 (unpartitioned tables) and one at head (monthly
partitions, registration times spread evenly over ``--months`` months). Prints table and index bytes per million
versions (summed over the partitions), the per-partition size, and the time of a per-citizen Inzage search
(`LogReader.search_objecten`, the register's own statement) on the partitioned database. Merkle leaves are not
loaded: the Merkle table is not partitioned, its size is unchanged (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.run import KEY, PG_ADMIN, Generator, rows_of
from verwerkingenlog.domain.model import ObjectFilter
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database, async_url
from verwerkingenlog.store.pseudonymisation import Pseudonymiser
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import versie, verwerkt_object

TABLES = ("verwerkingsactie_versie", "verwerkt_object")
# Bytes of a table, summed over its partitions when it has them (a partitioned parent holds no rows itself).
LEAVES_SIZE = (
    "SELECT sum(pg_table_size(r)), sum(pg_indexes_size(r)) FROM (SELECT relid AS r "
    "FROM pg_partition_tree($1::regclass) WHERE isleaf UNION ALL SELECT $1::regclass "
    "WHERE NOT EXISTS (SELECT FROM pg_partition_tree($1::regclass))) t"
)


async def load(url: str, rows: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]], partitioned: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        v_cols = [c.name for c in versie.columns]
        o_cols = [c.name for c in verwerkt_object.columns if c.name != "id"]
        if not partitioned:
            o_cols.remove("tijdstip_registratie_us")
        seqs = [
            r[0]
            for r in await conn.fetch(
                "SELECT nextval('verwerkingsactie_versie_seq_seq') FROM generate_series(1, $1)", len(rows)
            )
        ]
        versions, objects = [], []
        for seq, (v, objs) in zip(seqs, rows, strict=True):
            versions.append(tuple({**v, "seq": seq}.get(c) for c in v_cols))
            for o in objs:
                full = {**o, "versie_seq": seq, "tijdstip_registratie_us": v["tijdstip_registratie_us"]}
                objects.append(tuple(full.get(c) for c in o_cols))
        await conn.copy_records_to_table("verwerkingsactie_versie", records=versions, columns=v_cols)
        await conn.copy_records_to_table("verwerkt_object", records=objects, columns=o_cols)
        await conn.execute("VACUUM ANALYZE verwerkingsactie_versie")
        await conn.execute("VACUUM ANALYZE verwerkt_object")
    finally:
        await conn.close()


async def sizes(url: str) -> dict[str, tuple[int, int]]:
    conn = await asyncpg.connect(url)
    try:
        out = {}
        for table in TABLES:
            heap, idx = await conn.fetchrow(
                LEAVES_SIZE,
                table,
            )
            out[table] = (int(heap), int(idx))
        return out
    finally:
        await conn.close()


async def lookups(url: str, codec: RowCodec, citizens: Sequence[str]) -> dict[str, float]:
    db = Database(url)
    reader = LogReader(codec)
    times = []
    try:
        for bsn in citizens:
            f = ObjectFilter(objecttype="persoon", soort_object_id="BSN", object_id=bsn)
            t0 = time.perf_counter()
            async with db.reading() as conn:
                await reader.search_objecten(conn, f, 20, 0)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        await db.dispose()
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(len(times) * 0.95)], 2)}


def per_million(heap: int, idx: int, n: int) -> str:
    return f"table {heap / n * 1e6 / 2**20:,.0f} MB, indexes {idx / n * 1e6 / 2**20:,.0f} MB per million versions"


async def main(n: int, months: int, seed: int, keep: bool = False) -> None:
    gen = Generator(seed, 20_000)
    bodies = [json.dumps(gen.actie()).encode() for _ in range(n)]
    codec = RowCodec(Pseudonymiser(KEY.encode()))
    rows = rows_of(codec, bodies)
    first = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    span = months * 30.4 * 86_400
    for i, (v, _) in enumerate(rows):  # registration times spread evenly over the months, in seq order
        v["tijdstip_registratie_us"] = int((first + span * i / n) * 1_000_000)
    admin = await asyncpg.connect(PG_ADMIN)
    names = {kind: f"vl_sizing_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("flat", "part")}
    try:
        for name in names.values():
            await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        urls = {kind: f"{base}/{name}" for kind, name in names.items()}
        for kind, url in urls.items():
            db = Database(url)
            try:
                await migrate.upgrade(db, "0008" if kind == "flat" else "head")
            finally:
                await db.dispose()
            raw = async_url(url).replace("postgresql+asyncpg", "postgresql")
            if kind == "part":
                conn = await asyncpg.connect(raw)
                await conn.execute(
                    "SELECT verwerkingenlog_create_partition(m::date) FROM generate_series("
                    "'2025-01-01'::date, '2025-01-01'::date + make_interval(months => $1), interval '1 month') m",
                    months,
                )
                await conn.close()
            t0 = time.perf_counter()
            await load(raw, rows, kind == "part")
            print(f"{kind}: loaded {n} versions in {time.perf_counter() - t0:.1f} s")
            measured = await sizes(raw)
            total = [0, 0]
            for table, (heap, idx) in measured.items():
                total[0] += heap
                total[1] += idx
                print(f"  {table}: {per_million(heap, idx, n)}")
            print(f"  total: {per_million(total[0], total[1], n)}")
        conn = await asyncpg.connect(async_url(urls["part"]).replace("postgresql+asyncpg", "postgresql"))
        parts = await conn.fetch(
            "SELECT relid::text AS name, pg_table_size(relid) AS t, pg_indexes_size(relid) AS i "
            "FROM pg_partition_tree('verwerkt_object'::regclass) WHERE isleaf ORDER BY 1 LIMIT 2"
        )
        await conn.close()
        for p in parts:
            print(f"  partition {p['name']}: table {p['t'] / 2**20:.1f} MB, indexes {p['i'] / 2**20:.1f} MB")
        frequent = [o["objectId"] for b in bodies[:200] for o in json.loads(b)["verwerkteObjecten"]][:200]
        print(
            f"partitioned ({months} months + DEFAULT + ahead): Inzage search",
            await lookups(urls["part"], codec, frequent),
        )
    finally:
        for name in names.values():
            if not keep:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def purge_timing(n: int, seed: int) -> None:
    """Purge ``n`` expired versions registered in one ended month: as a whole month (its own partition) and row by
    row (the same versions in the DEFAULT partition), each in a fresh database, with their Merkle leaves."""
    from verwerkingenlog.api import bodies as parse
    from verwerkingenlog.domain import versioning
    from verwerkingenlog.services.purge import Purger
    from verwerkingenlog.store import partitions
    from verwerkingenlog.store.write import LogWriter

    gen = Generator(seed, 20_000)
    codec = RowCodec(Pseudonymiser(KEY.encode()))
    registered = int(datetime(2024, 1, 15, tzinfo=UTC).timestamp() * 1_000_000)
    versions = []
    for _ in range(n):
        body = parse.parse(parse.PostBody, json.dumps({**gen.actie(), "bewaartermijn": "P1M"}).encode())
        versions.append(versioning.first_version(parse.gegevens_of(body), parse.objecten_of(body), registered))
    admin = await asyncpg.connect(PG_ADMIN)
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        for whole in (True, False):
            name = f"vl_purge_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            db = Database(f"{base}/{name}")
            try:
                await migrate.upgrade(db)
                writer = LogWriter(codec)
                async with db.writing() as conn:
                    if whole:
                        await partitions.create_months(conn, [partitions.month_of(registered)])
                    for i in range(0, n, 1000):
                        await writer.append(conn, versions[i : i + 1000])
                raw = await asyncpg.connect(f"{base}/{name}")
                await raw.execute("ANALYZE")  # as autovacuum would have by the time a month expires
                await raw.close()
                t0 = time.perf_counter()
                report = await Purger(db, writer).run()
                seconds = time.perf_counter() - t0
                how = "as one month (TRUNCATE + DROP)" if whole else "row by row (DELETE per version)"
                print(f"purge {report.versies} versions {how}: {seconds:.1f} s, {len(report.entries)} purge entries")
            finally:
                await db.dispose()
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--keep", action="store_true", help="Keep both databases (vl_sizing_*) to inspect.")
    parser.add_argument("--purge", type=int, metavar="N", help="Instead: time purging N expired versions of a month.")
    args = parser.parse_args()
    if args.purge:
        asyncio.run(purge_timing(args.purge, args.seed))
    else:
        asyncio.run(main(args.versions, args.months, args.seed, args.keep))
