"""The benchmark suite (docs/performance.md): `make bench` (full) or `make bench ARGS=--quick`.

Starts its own registers (PostgreSQL and SQLite), generates realistic data from a fixed seed and measures each
number next to its anchor in the same run: single POSTs against a minimal asyncpg program inserting the same
rows, bulk ingest against PostgreSQL COPY of the same rows, Inzage/Bewerking GETs at a stored volume, the HTTP
framework floor, and the server's peak RSS. Prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from verwerkingenlog.api import bodies
from verwerkingenlog.domain import versioning
from verwerkingenlog.domain.scopes import ALL_SCOPES
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Clients
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.pseudonymisation import Pseudonymiser
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import versie, verwerkt_object

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ANCHOR_POOL_MAX = 32
"""The raw asyncpg anchor's connections at most (one transaction per action on each)."""
KEY = "bench-pseudonymisation-key-0123456789abcdefghijklmnop"
INZAGE_HEADERS = {
    "OIN": "00000001821002193000",
    "VerwerkingsactiviteitId": "c5b9f4e7-8c79-41b9-91e2-6268419cb167",
    "VerwerkingsactiviteitUrl": "https://var.example.nl/api/v1/verwerkingsactiviteit/c5b9f4e7-8c79-41b9-91e2-6268419cb167",
}
SOORTEN = [
    "Naam",
    "Adres",
    "Geboortedatum",
    "Nationaliteit",
    "BSN",
    "Burgerlijke staat",
    "Inkomen",
    "Kinderen",
    "Telefoonnummer",
    "E-mailadres",
    "Zorgindicatie",
    "Uitkering",
]
BETROKKENHEID = ["Aanvrager", "Partner", "Kind", "Ouder", "Medebewoner", None]


@dataclass(frozen=True)
class Mode:
    name: str
    post_seconds: float
    concurrency: tuple[int, ...]
    bulk_entries: int
    bulk_batch: int
    volumes: tuple[int, ...]
    get_samples: int
    citizens: int


QUICK = Mode("quick", 2.5, (1, 16, 64), 10_000, 5_000, (50_000,), 150, 20_000)
FULL = Mode("full", 20.0, (1, 16, 64), 200_000, 10_000, (1_000_000, 10_000_000), 1000, 1_000_000)


# -- realistic data ------------------------------------------------------------------------------------------


class Generator:
    """Deterministic actions: 1-3 persons, 2-6 kinds of data, a skewed spread over citizens, systems, activities."""

    def __init__(self, seed: int, citizens: int) -> None:
        self.rng = random.Random(seed)
        self.citizens = [self._bsn() for _ in range(citizens)]
        self.systems = [f"Zaaksysteem {i} v{self.rng.randint(1, 9)}.{self.rng.randint(0, 9)}" for i in range(25)]
        self.activities = [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(60)]
        self.start = datetime(2025, 1, 1, tzinfo=UTC)

    def _bsn(self) -> str:
        while True:  # the elfproef of a BSN
            digits = [self.rng.randint(0, 9) for _ in range(8)]
            total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
            for last in range(10):
                if (total - last) % 11 == 0 and digits[0] != 0:
                    return "".join(map(str, digits)) + str(last)

    def citizen(self) -> str:
        # A few citizens have many processings (benefits, care), most have a handful: Pareto-like skew.
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(self.citizens) - 1)
        return (
            self.citizens[(index * 7919) % len(self.citizens)]
            if self.rng.random() < 0.3
            else self.rng.choice(self.citizens)
        )

    def actie(self) -> dict[str, Any]:
        rng = self.rng
        activity = rng.choice(self.activities)
        moment = self.start + timedelta(seconds=rng.randrange(0, 365 * 86_400))
        objecten = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            objecten.append(
                {
                    "objecttype": "persoon",
                    "soortObjectId": "BSN",
                    "objectId": self.citizen(),
                    "betrokkenheid": rng.choice(BETROKKENHEID),
                    "verwerkteSoortenGegevens": [{"soortGegeven": s} for s in rng.sample(SOORTEN, rng.randint(2, 6))],
                }
            )
        return {
            "actieNaam": rng.choice(["Opvragen persoonsgegevens", "Wijzigen adres", "Beoordelen aanvraag"]),
            "handelingNaam": rng.choice(["Intake", "Toetsing", "Besluit", "Uitbetaling"]),
            "verwerkingNaam": rng.choice(["Bijstand", "Huwelijk", "Parkeervergunning", "WMO-voorziening"]),
            "verwerkingId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "verwerkingsactiviteitId": activity,
            "verwerkingsactiviteitUrl": f"https://var.gemeente.nl/api/v1/verwerkingsactiviteit/{activity}",
            "vertrouwelijkheid": "normaal",
            "bewaartermijn": rng.choice(["P1Y", "P7Y", "P10Y"]),
            "uitvoerder": "00000001821002193000",
            "systeem": rng.choice(self.systems),
            "gebruiker": f"medewerker-{rng.randint(1, 400)}",
            "gegevensbron": "BRP",
            "tijdstip": moment.isoformat(),
            "verwerkteObjecten": objecten,
        }


def rows_of(codec: RowCodec, bodies_json: Sequence[bytes]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The rows the register stores for these bodies (same codec, pseudonymisation included): the anchors'
    input, computed before their clock starts."""
    out = []
    for raw in bodies_json:
        body = bodies.parse(bodies.PostBody, raw)
        v = versioning.first_version(bodies.gegevens_of(body), bodies.objecten_of(body), time.time_ns() // 1000, "b")
        out.append((codec.versie_row(v), codec.object_rows(0, v)))
    return out


# -- a minimal keep-alive HTTP/1.1 client (the client must cost less CPU than the server it measures) --------


class Http:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        return int(status_line.split()[1]), data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# -- measurement helpers -------------------------------------------------------------------------------------


@dataclass
class Run:
    ops: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latencies_ms) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 2)

        return {
            "ops": self.ops,
            "per_second": round(self.ops / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "errors": self.errors,
        }


async def closed_loop(concurrency: int, seconds: float, one: Callable[[int], Awaitable[bool]]) -> Run:
    """`concurrency` workers call `one(worker)` back to back for `seconds`; latency per call."""
    run = Run()
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            ok = await one(w)
            run.latencies_ms.append((time.perf_counter() - t0) * 1000)
            run.ops += ok
            run.errors += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    run.seconds = time.perf_counter() - t0
    return run


class Server:
    """The register under test: uvicorn, one worker, no access log, on its own port; samples its RSS."""

    def __init__(self, database_url: str, workdir: Path, workers: int = 1, **env: str) -> None:
        self.workers = workers
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PSEUDONYMISATION_KEY": KEY,
            "MIGRATE_ON_START": "false",
            "CHECKPOINT_INTERVAL_SECONDS": "0",
            "CHECKPOINT_KEY_FILE": str(workdir / "checkpoint.key"),
            "INZAGE_HEADERS_REQUIRED": "true",
            **env,
        }
        self.log = workdir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0

    def start(self) -> Server:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.floor_app:create",
                    "--factory",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    *(["--workers", str(self.workers)] if self.workers > 1 else []),
                ],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit("server did not start")

    def sample_rss(self) -> int:
        """The kernel's own peak (VmHWM: no sample can miss it); with several workers the sum of every
        process's peak (an upper bound of the peak of the sum)."""
        if self.proc is None:
            return 0
        total = 0
        for pid in (self.proc.pid, *_children(self.proc.pid)):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        self.peak_rss = max(self.peak_rss, total)
        return self.peak_rss

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.sample_rss()
            self.proc.terminate()
            self.proc.wait(20)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- the suite -----------------------------------------------------------------------------------------------


class Suite:
    def __init__(self, mode: Mode, seed: int, backends: Sequence[str], workers: int = 1) -> None:
        self.mode = mode
        self.workers = workers
        self.seed = seed
        self.backends = backends
        self.gen = Generator(seed, mode.citizens)
        self.codec = RowCodec(Pseudonymiser(KEY.encode()))
        self.results: dict[str, Any] = {
            "mode": mode.name,
            "seed": seed,
            "workers": workers,
            "volumes": mode.volumes,
            "machine": machine(),
        }
        self.workdir = Path(tempfile.mkdtemp(prefix="vl-bench-"))

    def bodies(self, n: int) -> list[bytes]:
        return [json.dumps(self.gen.actie()).encode() for _ in range(n)]

    async def prepare(self, url: str) -> str:
        db = Database(url)
        try:
            await migrate.upgrade(db)
            client = await Clients(db).add("bench", list(ALL_SCOPES))
        finally:
            await db.dispose()
        token: str = tokens.issue(client, lifetime=86_400)
        return token

    async def posts(self, server: Server, token: str, concurrency: int) -> Run:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        clients = [Http(server.port) for _ in range(concurrency)]
        payloads = self.bodies(2000)

        async def one(w: int) -> bool:
            status, _ = await clients[w].request("POST", "/api/v1/verwerkingsacties", headers, random.choice(payloads))
            server.sample_rss()
            return status == 201

        try:
            return await closed_loop(concurrency, self.mode.post_seconds, one)
        finally:
            for c in clients:
                await c.close()

    async def floor(self, server: Server, concurrency: int) -> Run:
        clients = [Http(server.port) for _ in range(concurrency)]

        async def one(w: int) -> bool:
            status, _ = await clients[w].request("GET", "/bench/floor", {})
            return status == 200

        try:
            return await closed_loop(concurrency, min(self.mode.post_seconds, 3.0), one)
        finally:
            for c in clients:
                await c.close()

    async def anchor_posts(self, dsn: str, concurrency: int) -> Run:
        """A minimal asyncpg program: the same rows, one transaction per action, `concurrency` connections."""
        rows = rows_of(self.codec, self.bodies(2000))
        vcols = [c.name for c in versie.columns if c.name != "seq"]
        ocols = [c.name for c in verwerkt_object.columns if c.name != "id"]
        insert_v = f"INSERT INTO anchor_versie ({', '.join(vcols)}) VALUES ({placeholders(vcols)}) RETURNING seq"
        insert_o = f"INSERT INTO anchor_object ({', '.join(ocols)}) VALUES ({placeholders(ocols)})"
        # At most ANCHOR_POOL_MAX connections: 64 of them beside the register's pool and its listener ran PostgreSQL
        # out of connections (max_connections 100), and a 2-core server gains nothing past a few dozen.
        size = min(concurrency, ANCHOR_POOL_MAX)
        pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
        assert pool is not None
        counter = iter(range(10**9))

        async def one(_w: int) -> bool:
            vrow, orows = rows[next(counter) % len(rows)]
            async with pool.acquire() as conn, conn.transaction():
                vals = [vrow.get(c) for c in vcols]
                fresh = str(uuid.uuid4())
                vals[vcols.index("actie_id")] = vals[vcols.index("lineage_id")] = fresh
                seq = await conn.fetchval(insert_v, *vals)
                if orows:
                    await conn.executemany(insert_o, [[{**o, "versie_seq": seq}.get(c) for c in ocols] for o in orows])
            return True

        try:
            return await closed_loop(concurrency, self.mode.post_seconds, one)
        finally:
            await pool.close()

    async def bulk(self, server: Server, token: str, total: int, batch: int) -> Run:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        http = Http(server.port)
        run = Run()
        # The request bodies are built before the clock starts, as COPY's rows are (anchor_copy).
        bodies = [b"\n".join(self.bodies(batch)) for _ in range(0, total, batch)]
        t0 = time.perf_counter()
        try:
            for body in bodies:
                s0 = time.perf_counter()
                status, data = await http.request("POST", "/api/v1/verwerkingsacties/bulk", headers, body)
                run.latencies_ms.append((time.perf_counter() - s0) * 1000)
                server.sample_rss()
                stored = json.loads(data).get("stored", 0) if status == 200 else 0
                run.ops += stored
                run.errors += batch - stored
        finally:
            await http.close()
        run.seconds = time.perf_counter() - t0
        return run

    async def anchor_copy(self, dsn: str, total: int, batch: int) -> Run:
        """PostgreSQL COPY of the same rows (rows computed before the clock starts, like the register's input)."""
        vcols = [c.name for c in versie.columns]
        ocols = [c.name for c in verwerkt_object.columns if c.name != "id"]
        conn = await asyncpg.connect(dsn)
        run = Run()
        try:
            batches = [rows_of(self.codec, self.bodies(batch)) for _ in range(0, total, batch)]
            t0 = time.perf_counter()
            for rows in batches:
                s0 = time.perf_counter()
                async with conn.transaction():
                    seqs = [
                        r[0]
                        for r in await conn.fetch(
                            "SELECT nextval('anchor_versie_seq') FROM generate_series(1, $1)",
                            len(rows),
                        )
                    ]
                    vrecs: list[tuple[Any, ...]] = []
                    orecs: list[tuple[Any, ...]] = []
                    for seq, (vrow, orows) in zip(seqs, rows, strict=True):
                        vrecs.append(
                            tuple(
                                {**vrow, "seq": seq, "actie_id": (f := str(uuid.uuid4())), "lineage_id": f}.get(c)
                                for c in vcols
                            )
                        )
                        orecs.extend(tuple({**o, "versie_seq": seq}.get(c) for c in ocols) for o in orows)
                    await conn.copy_records_to_table("anchor_versie", records=vrecs, columns=vcols)
                    await conn.copy_records_to_table("anchor_object", records=orecs, columns=ocols)
                run.latencies_ms.append((time.perf_counter() - s0) * 1000)
                run.ops += len(rows)
            run.seconds = time.perf_counter() - t0
        finally:
            await conn.close()
        return run

    async def gets(self, server: Server, token: str, actie_ids: list[str]) -> dict[str, dict[str, float]]:
        """One citizen's Inzage page and one action by id, sequentially (latency, not throughput)."""
        http = Http(server.port)
        auth = {"Authorization": f"Bearer {token}"}
        inzage, bewerking = Run(), Run()
        rng = random.Random(self.seed + 1)
        try:
            for _ in range(self.mode.get_samples):
                q = urlencode(
                    {
                        "objecttype": "persoon",
                        "soortObjectId": "BSN",
                        "objectId": self.gen.citizens[int(rng.paretovariate(1.2)) % len(self.gen.citizens)]
                        if rng.random() < 0.5
                        else rng.choice(self.gen.citizens),
                        "beginDatum": "2024-01-01",
                        "eindDatum": "2027-01-01",
                    }
                )
                t0 = time.perf_counter()
                status, _ = await http.request("GET", f"/api/v1/verwerkte-objecten?{q}", {**auth, **INZAGE_HEADERS})
                inzage.latencies_ms.append((time.perf_counter() - t0) * 1000)
                inzage.ops += status == 200
                inzage.errors += status != 200
                t0 = time.perf_counter()
                status, _ = await http.request("GET", f"/api/v1/verwerkingsacties/{rng.choice(actie_ids)}", auth)
                bewerking.latencies_ms.append((time.perf_counter() - t0) * 1000)
                bewerking.ops += status == 200
                bewerking.errors += status != 200
        finally:
            await http.close()
        return {"inzage_citizen_page": inzage.summary(), "bewerking_by_id": bewerking.summary()}

    async def sample_ids(self, dsn: str, n: int) -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT actie_id FROM verwerkingsactie_versie TABLESAMPLE SYSTEM (1) LIMIT $1", n)
            if not rows:
                rows = await conn.fetch("SELECT actie_id FROM verwerkingsactie_versie LIMIT $1", n)
            return [str(r[0]) for r in rows]
        finally:
            await conn.close()

    async def sizing(self, dsn: str) -> dict[str, Any]:
        """Measured bytes per million stored versions: tables (with TOAST) and their indexes."""
        conn = await asyncpg.connect(dsn)
        try:
            versions = int(await conn.fetchval("SELECT count(*) FROM verwerkingsactie_versie"))
            out: dict[str, Any] = {"versions": versions}
            for table in ("verwerkingsactie_versie", "verwerkt_object", "merkle_node", "idempotency_key"):
                # Summed over the partitions on a partitioned table (migration 0009; the parent holds no rows).
                heap, idx = await conn.fetchrow(
                    "SELECT sum(pg_table_size(r)), sum(pg_indexes_size(r)) FROM (SELECT relid AS r "
                    "FROM pg_partition_tree($1::regclass) WHERE isleaf UNION ALL SELECT $1::regclass "
                    "WHERE NOT EXISTS (SELECT FROM pg_partition_tree($1::regclass))) t",
                    table,
                )
                out[table] = {  # sum() over bigint is numeric: asyncpg gives a Decimal
                    "table_mb_per_million": round(int(heap or 0) / versions * 1e6 / 2**20, 1),
                    "index_mb_per_million": round(int(idx or 0) / versions * 1e6 / 2**20, 1),
                }
            return out
        finally:
            await conn.close()

    async def postgres(self) -> None:
        name = f"vl_bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
        server: Server | None = None
        try:
            token = await self.prepare(url)
            conn = await asyncpg.connect(url)
            await conn.execute("CREATE TABLE anchor_versie (LIKE verwerkingsactie_versie INCLUDING ALL)")
            await conn.execute("CREATE SEQUENCE anchor_versie_seq OWNED BY anchor_versie.seq")
            await conn.execute("ALTER TABLE anchor_versie ALTER seq SET DEFAULT nextval('anchor_versie_seq')")
            await conn.execute("CREATE TABLE anchor_object (LIKE verwerkt_object INCLUDING ALL)")
            await conn.execute("CREATE SEQUENCE anchor_object_id_seq OWNED BY anchor_object.id")
            await conn.execute("ALTER TABLE anchor_object ALTER id SET DEFAULT nextval('anchor_object_id_seq')")
            await conn.close()
            server = Server(url, self.workdir, workers=self.workers).start()
            pg: dict[str, Any] = {"post": {}, "floor": {}, "workers": self.workers}
            for c in self.mode.concurrency:
                reg = (await self.posts(server, token, c)).summary()
                anchor = (await self.anchor_posts(url, c)).summary()
                floor = (await self.floor(server, c)).summary()
                pg["post"][str(c)] = {
                    "register": reg,
                    "anchor_asyncpg": anchor,
                    "ratio": round(reg["per_second"] / anchor["per_second"], 2) if anchor["per_second"] else None,
                }
                pg["floor"][str(c)] = floor
                self.report(f"PostgreSQL POST c={c}", reg, anchor, "asyncpg")
                self.report(f"PostgreSQL floor c={c}", floor)
            bulk = (await self.bulk(server, token, self.mode.bulk_entries, self.mode.bulk_batch)).summary()
            copy = (await self.anchor_copy(url, self.mode.bulk_entries, self.mode.bulk_batch)).summary()
            pg["bulk"] = {
                "register": bulk,
                "anchor_copy": copy,
                "ratio": round(bulk["per_second"] / copy["per_second"], 2) if copy["per_second"] else None,
            }
            self.report("PostgreSQL bulk", bulk, copy, "COPY")
            pg["reads"] = {}
            for volume in self.mode.volumes:
                stored = await self.count(url)
                if stored < volume:
                    await self.bulk(server, token, volume - stored, self.mode.bulk_batch)
                ids = await self.sample_ids(url, 500)
                reads = await self.gets(server, token, ids)
                reads["stored_versions"] = {"count": await self.count(url)}
                pg["reads"][str(volume)] = reads
                self.report(f"PostgreSQL Inzage @{volume:,}", reads["inzage_citizen_page"])
                self.report(f"PostgreSQL GET by id @{volume:,}", reads["bewerking_by_id"])
            pg["sizing"] = await self.sizing(url)
            server.stop()
            pg["peak_rss_mb"] = round(server.peak_rss / 2**20, 1)
            print(f"PostgreSQL server peak RSS: {pg['peak_rss_mb']} MB")
            self.results["postgresql"] = pg
        finally:
            if server is not None:
                server.stop()
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()

    async def count(self, url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM verwerkingsactie_versie"))
        finally:
            await conn.close()

    async def sqlite(self) -> None:
        url = f"sqlite:///{self.workdir / 'bench.db'}"
        token = await self.prepare(url)
        server = Server(url, self.workdir).start()
        out: dict[str, Any] = {"post": {}}
        try:
            for c in self.mode.concurrency:
                reg = (await self.posts(server, token, c)).summary()
                out["post"][str(c)] = {"register": reg}
                self.report(f"SQLite POST c={c}", reg)
            bulk = (await self.bulk(server, token, self.mode.bulk_entries // 2, self.mode.bulk_batch)).summary()
            out["bulk"] = {"register": bulk}
            self.report("SQLite bulk", bulk)
        finally:
            server.stop()
        out["peak_rss_mb"] = round(server.peak_rss / 2**20, 1)
        print(f"SQLite server peak RSS: {out['peak_rss_mb']} MB")
        self.results["sqlite"] = out

    @staticmethod
    def report(what: str, m: dict[str, float], anchor: dict[str, float] | None = None, name: str = "") -> None:
        line = f"{what:<34} {m['per_second']:>9.1f}/s  p50 {m['p50_ms']:>7.2f}  p95 {m['p95_ms']:>7.2f}  "
        line += f"p99 {m['p99_ms']:>7.2f} ms  err {int(m['errors'])}"
        if anchor is not None and anchor["per_second"]:
            line += f"   | {name} {anchor['per_second']:.1f}/s p99 {anchor['p99_ms']:.2f} ms"
            line += f"  ratio {m['per_second'] / anchor['per_second']:.2f}x"
        print(line, flush=True)


def placeholders(columns: Sequence[str]) -> str:
    return ", ".join(f"${i + 1}" for i in range(len(columns)))


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1] if Path("/proc/meminfo").exists() else "?"
    cpu = "?"
    if Path("/proc/cpuinfo").exists():
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            "?",
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem) / 2**20, 1) if mem != "?" else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # Other processes compete for the same cores: the ratios (same run, same moment) are the numbers to read.
        "load_average_at_start": list(os.getloadavg()),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Scaled-down run (< 2 minutes).")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--backend", choices=("all", "postgresql", "sqlite"), default="all")
    parser.add_argument(
        "--volumes",
        type=lambda v: tuple(int(x) for x in v.split(",")),
        help="Stored versions for the reads, e.g. 1000000",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Server worker processes for PostgreSQL (as `verwerkingenlog serve --workers N`); SQLite always 1.",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="Only the read comparison: a throw-away primary and its streaming standby, reads on each "
        "(DATABASE_READ_URL; bench/replica.py).",
    )
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.volumes:
        mode = replace(mode, volumes=args.volumes)
    suite = Suite(mode, args.seed, args.backend, args.workers)
    print(
        f"Open Verwerkingenlog benchmark ({suite.mode.name}, seed {args.seed}, {args.workers} PostgreSQL worker(s)) "
        f"on {suite.results['machine']}"
    )
    t0 = time.perf_counter()
    if args.replica:
        from bench import replica  # imports this module: not at the top

        suite.results["replica"] = asyncio.run(replica.measure(suite))
    elif args.backend in ("all", "postgresql"):
        asyncio.run(suite.postgres())
    if args.backend in ("all", "sqlite") and not args.replica:
        asyncio.run(suite.sqlite())
    suite.results["seconds"] = round(time.perf_counter() - t0, 1)
    suite.results["machine"]["load_average_at_end"] = list(os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{suite.mode.name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    text = json.dumps(suite.results, indent=2)
    out.write_text(text)
    (RESULTS / f"latest-{suite.mode.name}.json").write_text(text)
    print(f"Done in {suite.results['seconds']} s; results in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
