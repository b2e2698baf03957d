"""`make test-ha`: the register on a Patroni cluster loses its primary three times, and no entry is lost.

A small cluster on this machine, every member on a test host of its own (a network namespace joined to a
bridge by a veth pair; addresses in 198.18.16.0/24, the benchmarking range of RFC 2544, that exist only inside
these namespaces):

    vlha-etcd  198.18.16.2    etcd (Patroni's DCS)
    vlha-pg1   198.18.16.11   Patroni + PostgreSQL 15, port 5441
    vlha-pg2   198.18.16.12   Patroni + PostgreSQL 15, port 5442
    vlha-app   198.18.16.1    `verwerkingenlog serve` on 127.0.0.1:8080, the load, and this scenario

Synchronous replication (Patroni `synchronous_mode`, `synchronous_commit=on`): a commit returns only once the
standby has it, so a 201 means the entry is on two servers. The register connects with one multi-host URL
(`target_session_attrs=read-write`, per-host `connect_timeout`, TCP keepalives), and reads from the standby
(DATABASE_READ_URL, `target_session_attrs=standby`). Four applications log 5 entries a second each through
`BufferedLogger` (client/spool.py: a local spool, Idempotency-Key retries) while the faults happen, one after
the other:

    kill     kill -9 of the primary's postmaster (Patroni fails over at once: primary_start_timeout 0)
    cut      the primary's network link down (it loses etcd and its standby; the standby takes over after
             the leader key's TTL), then up again (it rejoins as a standby after pg_rewind)
    switch   a planned switchover (patronictl switchover)

After each fault, once the cluster has two members again, `verwerkingenlog verify` checks every leaf against
every checkpoint (signed every second, also into a witness file outside the database). At the end every
spool is drained and the database is counted: every acknowledged entry is there (lost 0), none twice
(duplicated 0). Prints a table; exit code 1 on any loss, duplicate, failed verify or unclean error.

Runs as root (namespaces), the PostgreSQL processes as user postgres; cleans up its namespaces, processes and
temp dir also when it fails. Bounded: at most --timeout seconds (default 900).

    sudo .venv/bin/python -m tests.ha.failover [--faults kill,cut,switch] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
NET = "198.18.16"
APP, ETCD = f"{NET}.1", f"{NET}.2"
NODES = {"pg1": (f"{NET}.11", 5441), "pg2": (f"{NET}.12", 5442)}
NS = {"sw": "vlha-sw", "app": "vlha-app", "etcd": "vlha-etcd", "pg1": "vlha-pg1", "pg2": "vlha-pg2"}
REGISTER = "http://127.0.0.1:8080"
APPLICATIONS = 4
RATE_PER_APPLICATION = 5.0  # entries per second each: 20/s in all, steady, that a loaded 2-core machine ships
ACTIVITY = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
SOCKET = "connect_timeout=2&keepalives_idle=2&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=5000"
HOSTS = ",".join(f"{ip}:{port}" for ip, port in NODES.values())
DATABASE_URL = f"postgresql://postgres@{HOSTS}/postgres?target_session_attrs=read-write&{SOCKET}"
DATABASE_READ_URL = f"postgresql://postgres@{HOSTS}/postgres?target_session_attrs=standby&{SOCKET}"


def sh(*args: str, check: bool = True, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, timeout=timeout, capture_output=True, text=True, **kw)


def in_ns(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", NS[ns], *args]


def as_postgres(ns: str, *args: str) -> list[str]:
    return in_ns(ns, "runuser", "-u", "postgres", "--", *args)


# -- the network (outside: as root, in the machine's namespace) ----------------------------------------------


def create_network() -> None:
    for ns in NS.values():
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sw = NS["sw"]
    sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", sw, "link", "set", "br0", "up")
    hosts = {"app": APP, "etcd": ETCD, **{name: ip for name, (ip, _) in NODES.items()}}
    for name, ip in hosts.items():
        # Both ends are created inside the namespaces: nothing appears in the machine's own namespace.
        sh("ip", "link", "add", "eth0", "netns", NS[name], "type", "veth", "peer", "name", f"p-{name}", "netns", sw)
        sh("ip", "-n", sw, "link", "set", f"p-{name}", "master", "br0", "up")
        sh("ip", "-n", NS[name], "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", NS[name], "link", "set", "eth0", "up")


def destroy_network() -> None:
    """Kill whatever still runs in our namespaces (only processes we started live there), then delete them."""
    for ns in NS.values():
        found = sh("ip", "netns", "pids", ns, check=False)
        for pid in found.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    time.sleep(0.5)
    for ns in NS.values():
        sh("ip", "netns", "del", ns, check=False)


def outside(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("make test-ha needs root (network namespaces); PostgreSQL runs as user postgres.", file=sys.stderr)
        return 2
    for tool in ("patroni", "patronictl", "etcd"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (Debian: apt-get install patroni etcd-server)", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on SIGTERM too (the finally below)
    work = Path(tempfile.mkdtemp(prefix="vlha-"))
    work.chmod(0o755)
    destroy_network()  # leftovers of a run that was killed before it could clean up
    started = time.monotonic()
    try:
        create_network()
        inner = in_ns("app", sys.executable, "-m", "tests.ha.failover", "--inside", str(work), "--faults", args.faults)
        try:
            return subprocess.run(inner, cwd=ROOT, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            print(f"test-ha: timed out after {args.timeout} s", file=sys.stderr)
            return 1
    finally:
        destroy_network()
        if args.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        print(f"test-ha took {time.monotonic() - started:.0f} s")


# -- the cluster (inside the app namespace) ------------------------------------------------------------------


def patroni_config(work: Path, name: str) -> str:
    ip, port = NODES[name]
    data = work / name
    return f"""\
scope: verwerkingenlog
namespace: /vlha/
name: {name}
log:
  level: INFO
restapi:
  listen: {ip}:8008
  connect_address: {ip}:8008
etcd3:
  hosts: {ETCD}:2379
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    primary_start_timeout: 0
    maximum_lag_on_failover: 0
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        synchronous_commit: "on"
        wal_log_hints: "on"
        max_connections: 100
        shared_buffers: 32MB
        wal_keep_size: 256MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host all all {NET}.0/24 trust
    - host replication all {NET}.0/24 trust
postgresql:
  listen: {ip},127.0.0.1:{port}
  connect_address: {ip}:{port}
  data_dir: {data}/data
  bin_dir: {PG_BIN}
  pgpass: {data}/pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: {data}
"""


@dataclass
class Cluster:
    work: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        etcd_dir = self.work / "etcd"
        etcd_dir.mkdir()
        self._spawn(
            "etcd",
            in_ns(
                "etcd",
                "etcd",
                "--name=e1",
                f"--data-dir={etcd_dir}",
                f"--listen-client-urls=http://{ETCD}:2379",
                f"--advertise-client-urls=http://{ETCD}:2379",
                f"--listen-peer-urls=http://{ETCD}:2380",
                f"--initial-advertise-peer-urls=http://{ETCD}:2380",
                f"--initial-cluster=e1=http://{ETCD}:2380",
            ),
        )
        for name in NODES:
            node = self.work / name
            node.mkdir(mode=0o700)
            shutil.chown(node, "postgres", "postgres")
            config = self.work / f"{name}.yml"
            config.write_text(patroni_config(self.work, name))
            config.chmod(0o644)
            self.start_node(name)
            if name == "pg1":  # pg1 bootstraps; pg2 then copies it (pg_basebackup)
                self.wait(lambda: self.leader() == "pg1", 90, "pg1 to bootstrap as primary")
        self.wait(self.healthy, 120, "a primary and a synchronous standby")

    def start_node(self, name: str) -> None:
        self._spawn(name, as_postgres(name, "patroni", str(self.work / f"{name}.yml")))

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 - kept open while the process runs
        self.procs[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def members(self) -> list[dict[str, Any]]:
        import httpx

        for ip, _ in NODES.values():
            with contextlib.suppress(httpx.HTTPError, ValueError):
                found: list[dict[str, Any]] = httpx.get(f"http://{ip}:8008/cluster", timeout=1).json()["members"]
                return found
        return []

    def leader(self) -> str | None:
        for m in self.members():
            if m.get("role") == "leader" and m.get("state") == "running":
                return str(m["name"])
        return None

    def healthy(self) -> bool:
        """One running leader and one streaming synchronous standby."""
        roles = Counter(
            m.get("role") for m in self.members() if m.get("state") in ("running", "streaming") and not m.get("lag")
        )
        return roles.get("leader") == 1 and roles.get("sync_standby") == 1

    def postmaster_pid(self, name: str) -> int:
        return int((self.work / name / "data" / "postmaster.pid").read_text().split()[0])

    @staticmethod
    def wait(check: Any, seconds: float, what: str) -> float:
        start = time.monotonic()
        while not check():
            if time.monotonic() - start > seconds:
                raise TimeoutError(f"timed out after {seconds} s waiting for {what}")
            time.sleep(0.2)
        return time.monotonic() - start

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


# -- the register and the load -------------------------------------------------------------------------------


def register_env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_READ_URL": DATABASE_READ_URL,
        "PSEUDONYMISATION_KEY": "ha-test-" + "k" * 40,
        "MIGRATE_ON_START": "true",
        "CHECKPOINT_KEY_FILE": str(work / "checkpoint.key"),
        "CHECKPOINT_INTERVAL_SECONDS": "1",
        "CHECKPOINT_WITNESS_FILE": str(work / "witness.txt"),
        "GROUP_COMMIT_WINDOW_MS": "2",
        "LOG_LEVEL": "INFO",
    }


def cli(work: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return sh(
        str(Path(sys.executable).parent / "verwerkingenlog"),
        *args,
        env=register_env(work),
        check=False,
        timeout=timeout,
    )


@dataclass
class Ack:
    app: int
    number: int
    at: float


@dataclass
class Failure:
    at: float
    status: int | None  # None: no HTTP answer (connection refused, timeout)
    problem_json: bool


class Load:
    """Four applications, each logging at a steady rate into its own spool, shipped by its BufferedLogger."""

    def __init__(self, work: Path, client_id: str, secret: str) -> None:
        from verwerkingenlog.client import BufferedLogger, RetryPolicy
        from verwerkingenlog.client.errors import ApiError, RegisterUnavailable
        from verwerkingenlog.client.operations import NO_RETRIES
        from verwerkingenlog.client.sync import Client

        self.acks: list[Ack] = []
        self.failures: list[Failure] = []
        self.spooled = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        load = self

        class Recording(Client):
            """Records what the register acknowledged (201, or 200 for a retried Idempotency-Key)."""

            def create(self, actie: Any, idempotency_key: str | None = None, **kw: Any) -> Any:
                try:
                    created = super().create(actie, idempotency_key=idempotency_key, **kw)
                except ApiError as err:
                    with load._lock:
                        load.failures.append(Failure(time.monotonic(), err.status, "status" in err.body))
                    raise
                except RegisterUnavailable:
                    with load._lock:
                        load.failures.append(Failure(time.monotonic(), None, True))
                    raise
                app, number = str(actie["handelingNaam"]).split()[1].split("-")
                with load._lock:
                    load.acks.append(Ack(int(app), int(number), time.monotonic()))
                return created

        self.loggers = [
            BufferedLogger(
                client=Recording(REGISTER, client_id, secret, timeout=10.0, retry=NO_RETRIES),
                spool_path=work / f"app{i}.spool",
                backoff=RetryPolicy(base_delay=0.05, max_delay=0.5),
                idle_poll=0.02,
                defaults={"systeem": "HA-proef"},
            )
            for i in range(APPLICATIONS)
        ]
        self.threads = [threading.Thread(target=self._application, args=(i,), daemon=True) for i in range(APPLICATIONS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _application(self, i: int) -> None:
        from verwerkingenlog.client import persoon, verwerking

        logger, n, interval = self.loggers[i], 0, 1.0 / RATE_PER_APPLICATION
        next_at = time.monotonic()
        with verwerking(ACTIVITY, f"https://var.example.nl/{ACTIVITY}"):
            while not self._stop.is_set():
                logger.log(actie_naam="HA-proef", handeling_naam=f"nr {i}-{n}", objecten=[persoon("999990019")])
                with self._lock:
                    self.spooled += 1
                n += 1
                next_at += interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop_and_drain(self, seconds: float) -> bool:
        self._stop.set()
        for t in self.threads:
            t.join(5)
        drained = all(logger.flush(seconds) for logger in self.loggers)
        for logger in self.loggers:
            logger.close(flush_timeout=0)
        return drained

    def acked_since(self, t: float) -> set[int]:
        with self._lock:
            return {a.app for a in self.acks if a.at > t}


@dataclass
class Result:
    fault: str
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    write_outage_s: float = 0.0
    cluster_back_s: float = 0.0
    errors: str = ""
    verify: str = ""
    ok: bool = True


def stored_counts() -> Counter[str]:
    import asyncio

    from verwerkingenlog.store.db import PostgresTarget

    async def count() -> Counter[str]:
        conn = await PostgresTarget.parse(DATABASE_URL).connect()
        try:
            rows = await conn.fetch(
                "SELECT handeling_naam, count(*) AS n FROM verwerkingsactie_versie "
                "WHERE actie_naam = 'HA-proef' GROUP BY handeling_naam"
            )
        finally:
            await conn.close()
        return Counter({r["handeling_naam"]: int(r["n"]) for r in rows})

    return asyncio.run(count())


def read_from_replica(work: Path, cluster: Cluster) -> str:
    """DATABASE_READ_URL on the real standby: a reader that never wrote sees the entries (synchronous
    replication) and its reads leave connections of the register on the standby."""
    import asyncio

    from verwerkingenlog.client.sync import Client

    added = cli(work, "clients", "add", f"ha-read-{uuid.uuid4().hex[:6]}", "-s", "read:normal", "--json")
    reader = json.loads(added.stdout)
    with Client(REGISTER, reader["clientId"], reader["secret"]) as client:
        seen = len(client.list("999990019", vertrouwelijkheid="normaal", page_size=10).results)
    standby = next((m for m in cluster.members() if m.get("role") == "sync_standby"), None)
    if standby is None:
        return "failed: no standby"

    async def register_connections() -> int:
        import asyncpg

        conn = await asyncpg.connect(host=standby["host"], port=standby["port"], user="postgres")
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE client_addr = $1::inet AND backend_type = 'client backend'",
                    APP,
                )
            )
        finally:
            await conn.close()

    on_standby = asyncio.run(register_connections())
    ok = seen > 0 and on_standby > 0
    return f"{'ok' if ok else 'failed'}: {seen} entries listed; {on_standby} register connections on {standby['name']}"


def inject(fault: str, cluster: Cluster, leader: str) -> None:
    if fault == "kill":
        os.kill(cluster.postmaster_pid(leader), signal.SIGKILL)
    elif fault == "cut":
        sh("ip", "-n", NS[leader], "link", "set", "eth0", "down")
    elif fault == "switch":
        other = next(n for n in NODES if n != leader)
        done = sh(
            *in_ns(
                leader,
                "patronictl",
                "-c",
                str(cluster.work / f"{leader}.yml"),
                "switchover",
                "--leader",
                leader,
                "--candidate",
                other,
                "--force",
            ),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"patronictl switchover failed: {done.stdout} {done.stderr}")
    else:
        raise ValueError(fault)


def inside(work: Path, faults: list[str]) -> int:
    import httpx

    cluster = Cluster(work)
    register: subprocess.Popen[bytes] | None = None
    load: Load | None = None
    results: list[Result] = []
    t_begin = time.monotonic()
    try:
        cluster.start()
        print(f"cluster up in {time.monotonic() - t_begin:.0f} s: leader {cluster.leader()}", flush=True)
        for step in (("migrate",), ("keys", "generate")):
            done = cli(work, *step)
            assert done.returncode == 0, done.stdout + done.stderr
        added = cli(work, "clients", "add", f"ha-{uuid.uuid4().hex[:6]}", "-s", "create:normal", "--json")
        assert added.returncode == 0, added.stdout + added.stderr
        client = json.loads(added.stdout)
        log = open(work / "register.log", "ab")  # noqa: SIM115
        register = subprocess.Popen(
            [str(Path(sys.executable).parent / "verwerkingenlog"), "serve", "--port", "8080"],
            env=register_env(work),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def ready() -> bool:
            try:
                return httpx.get(f"{REGISTER}/health/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        cluster.wait(ready, 60, "the register")
        load = Load(work, client["clientId"], client["secret"])
        load.start()
        time.sleep(5)
        boundaries: list[tuple[str, float, float]] = []
        for fault in faults:
            leader = cluster.leader()
            assert leader is not None
            result = Result(fault)
            t0 = time.monotonic()
            inject(fault, cluster, leader)
            print(f"{fault}: injected on {leader}", flush=True)
            # Every fault moves the leader to the other node (kill: primary_start_timeout 0 fails over at once).
            cluster.wait(lambda leader=leader: cluster.leader() not in (None, leader), 90, f"a new leader ({fault})")
            if fault == "cut":  # the old primary rejoins once its link is back
                cluster.wait(
                    lambda: load.acked_since(time.monotonic() - 1) == set(range(APPLICATIONS)),
                    60,
                    "writes through the new primary",
                )
                sh("ip", "-n", NS[leader], "link", "set", "eth0", "up")
            # Generous: on a loaded machine Patroni 3.0.2 can take the rejoining node's slow postmaster start for
            # a stale pid file, fail its pg_rewind and need minutes to rejoin (the register is not affected).
            cluster.wait(cluster.healthy, 300, f"the cluster to recover from {fault}")
            result.cluster_back_s = time.monotonic() - t0
            cluster.wait(lambda t0=t0: load.acked_since(t0) == set(range(APPLICATIONS)), 60, "every application")
            time.sleep(4)  # steady writes again, and a checkpoint after the fault
            verified = cli(work, "verify", "--witness", str(work / "witness.txt"), "--json", timeout=300)
            try:
                report = json.loads(verified.stdout)
                result.verify = "clean" if report["ok"] else f"{len(report['findings'])} findings"
                result.verify += f" ({report['checkpoints']} checkpoints, tree {report['treeSize']})"
            except ValueError:
                result.verify = f"failed: {verified.stderr[-300:]}"
            result.ok = verified.returncode == 0
            boundaries.append((fault, t0, time.monotonic()))
            results.append(result)
            print(f"{fault}: recovered; verify {result.verify}", flush=True)
        drained = load.stop_and_drain(180)
        stored = stored_counts()
        replica_reads = read_from_replica(work, cluster)
        print(f"reads: {replica_reads}", flush=True)
        acks = sorted(load.acks, key=lambda a: a.at)
        for result, (_, t0, t1) in zip(results, boundaries, strict=True):
            phase = [a for a in acks if t0 <= a.at < t1]
            names = {f"nr {a.app}-{a.number}" for a in phase}
            result.acknowledged = len(names)
            result.lost = sum(1 for n in names if stored[n] == 0)
            result.duplicated = sum(1 for n in names if stored[n] > 1)
            times = [t0] + [a.at for a in phase]
            result.write_outage_s = max(b - a for a, b in itertools.pairwise(times)) if phase else t1 - t0
            failed = [f for f in load.failures if t0 <= f.at < t1]
            kinds = Counter("no answer" if f.status is None else str(f.status) for f in failed)
            result.errors = ", ".join(f"{k}×{v}" for k, v in sorted(kinds.items())) or "none"
            # A failover is an outage, never a bug: 503 problem+json (or no answer in time), not a 500 or a 4xx.
            unclean = [f for f in failed if f.status is not None and (f.status != 503 or not f.problem_json)]
            if unclean or result.lost or result.duplicated:
                result.ok = False
        all_lost = sum(1 for a in acks if stored[f"nr {a.app}-{a.number}"] == 0)
        all_dup = sum(1 for n, c in stored.items() if c > 1)
        print()
        print(
            f"{'fault':<8} {'acknowledged':>12} {'lost':>5} {'duplicated':>10} {'write outage':>13} "
            f"{'cluster back':>13}  {'errors seen by clients':<28} verify"
        )
        for r in results:
            print(
                f"{r.fault:<8} {r.acknowledged:>12} {r.lost:>5} {r.duplicated:>10} {r.write_outage_s:>12.1f}s "
                f"{r.cluster_back_s:>12.1f}s  {r.errors:<28} {r.verify}"
            )
        print(
            f"\nin all: {load.spooled} spooled, {len(acks)} acknowledged, {sum(stored.values())} stored "
            f"({len(stored)} distinct), {all_lost} acknowledged but lost, {all_dup} stored twice; spools drained: "
            f"{drained}; {time.monotonic() - t_begin:.0f} s"
        )
        ok = all(r.ok for r in results) and drained and all_lost == 0 and all_dup == 0 and len(stored) == load.spooled
        print("test-ha:", "PASSED" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        if load is not None:
            load._stop.set()
        if register is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(register.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                register.wait(10)
        cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default="kill,cut,switch")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with every log")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside is not None:
        return inside(args.inside, args.faults.split(","))
    return outside(args)


if __name__ == "__main__":
    sys.exit(main())
