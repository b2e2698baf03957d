"""Never lose an entry: a durable local spool and a buffered logger that ships it in the background.

The standard asks a consumer to log *before* it processes (B7952) and the register to be available
for that (R-POST-8). A register that is briefly down must not stop the application, nor lose the
entry: `BufferedLogger.log` returns once the entry is durably in a local SQLite file (WAL,
synchronous=FULL), with its Idempotency-Key assigned there; a background thread ships entries in
order and deletes one only after the register confirmed it. A crash between shipping and deleting
re-ships the entry with the same key, and the register answers with the original (docs/idempotency.md).

The spool is bounded (entries and/or bytes). When full, `when_full="block"` waits (up to
`block_timeout`) for the shipper to make room and `when_full="raise"` raises `SpoolFull` at once:
an entry is never dropped silently. Entries the register rejects permanently (400, 403, 413, 415, 422)
are moved to a dead-letter table, logged and counted; `requeue_dead_letters()` sends them again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from verwerkingenlog.client import propagation
from verwerkingenlog.client.errors import ApiError, RegisterUnavailable, SpoolFull
from verwerkingenlog.client.models import Verwerkingsactie, VerwerktObject, now
from verwerkingenlog.client.operations import NO_RETRIES, RetryPolicy
from verwerkingenlog.client.sync import Client

try:  # a lease so that one process ships a spool file shared by several (e.g. web workers)
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("verwerkingenlog.client.spool")

WhenFull = Literal["block", "raise"]
PERMANENT = frozenset({400, 403, 413, 415, 422})  # the entry itself is refused: retrying cannot help

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL,
  size INTEGER NOT NULL,
  spooled_at REAL NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL,
  body TEXT NOT NULL,
  spooled_at REAL NOT NULL,
  failed_at REAL NOT NULL,
  status INTEGER NOT NULL,
  problem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
  id INTEGER PRIMARY KEY CHECK (id = 1), depth INTEGER NOT NULL, bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO state VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS entry_in AFTER INSERT ON entry
  BEGIN UPDATE state SET depth = depth + 1, bytes = bytes + NEW.size WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS entry_out AFTER DELETE ON entry
  BEGIN UPDATE state SET depth = depth - 1, bytes = bytes - OLD.size WHERE id = 1; END;
"""


@dataclass(frozen=True, slots=True)
class SpooledEntry:
    id: int
    idempotency_key: str
    body: dict[str, Any]
    spooled_at: float
    attempts: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry the register refused; `problem` is its problem+json body (§4.5)."""

    id: int
    idempotency_key: str
    body: dict[str, Any]
    spooled_at: float
    failed_at: float
    status: int
    problem: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SpoolMetrics:
    """`depth`/`bytes`: waiting entries; `oldest_age_seconds`: how far shipping lags behind (0 when empty);
    `last_ship_lag_seconds`: spool-to-confirmation time of the last shipped entry."""

    depth: int
    bytes: int
    oldest_age_seconds: float
    dead_letters: int
    shipped: int
    failed_attempts: int
    last_ship_lag_seconds: float | None
    last_error: str | None
    shipping: bool


class Spool:
    """A durable FIFO of entries in one SQLite file; thread-safe; several processes may share it."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_entries: int | None = 100_000,
        max_bytes: int | None = None,
        when_full: WhenFull = "block",
        block_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if when_full not in ("block", "raise"):
            raise ValueError("when_full must be 'block' or 'raise' (entries are never dropped)")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.when_full = when_full
        self.block_timeout = block_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed put survives a power cut, not only a crash
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock, self._transaction() as db:
            for statement in _statements(_SCHEMA):
                db.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def put(self, body: Mapping[str, Any]) -> str:
        """Store an entry durably; returns its Idempotency-Key. Raises `SpoolFull` per the policy."""
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        size = len(text.encode("utf-8"))
        if self.max_bytes is not None and size > self.max_bytes:
            raise SpoolFull(f"An entry of {size} bytes can never fit a spool of at most {self.max_bytes} bytes.")
        key = str(uuid.uuid4())
        deadline = time.monotonic() + self.block_timeout
        with self._lock:
            while True:
                with self._transaction() as db:
                    depth, used = db.execute("SELECT depth, bytes FROM state").fetchone()
                    full = (self.max_entries is not None and depth >= self.max_entries) or (
                        self.max_bytes is not None and used + size > self.max_bytes
                    )
                    if not full:
                        db.execute(
                            "INSERT INTO entry (idempotency_key, body, size, spooled_at) VALUES (?, ?, ?, ?)",
                            (key, text, size, self._clock()),
                        )
                        return key
                limits = f"{depth} entries, {used} bytes (limits: {self.max_entries} entries, {self.max_bytes} bytes)"
                remaining = deadline - time.monotonic()
                if self.when_full == "raise" or remaining <= 0:
                    waited = "" if self.when_full == "raise" else f" after waiting {self.block_timeout:g} s"
                    raise SpoolFull(
                        f"The verwerkingenlog spool {self.path} is full{waited}: {limits}. Is the register reachable?"
                    )
                # Room is made by this process's shipper (notify) or another process's: poll as well.
                self._room.wait(min(remaining, 0.2))

    def oldest(self) -> SpooledEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, idempotency_key, body, spooled_at, attempts FROM entry ORDER BY id LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return SpooledEntry(row[0], row[1], json.loads(row[2]), row[3], row[4])

    def remove(self, entry_id: int) -> None:
        """Called only after the register confirmed the entry."""
        with self._lock:
            self._db.execute("DELETE FROM entry WHERE id = ?", (entry_id,))
            self._room.notify_all()

    def failed(self, entry_id: int, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE entry SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error[:2000], entry_id)
            )

    def to_dead_letter(self, entry: SpooledEntry, status: int, problem: Mapping[str, Any]) -> None:
        """Move a refused entry out of the queue, in one transaction (it is never lost in between)."""
        with self._lock:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO dead_letter (idempotency_key, body, spooled_at, failed_at, status, problem) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        entry.idempotency_key,
                        json.dumps(entry.body, ensure_ascii=False),
                        entry.spooled_at,
                        self._clock(),
                        status,
                        json.dumps(dict(problem), ensure_ascii=False),
                    ),
                )
                db.execute("DELETE FROM entry WHERE id = ?", (entry.id,))
            self._room.notify_all()

    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, idempotency_key, body, spooled_at, failed_at, status, problem FROM dead_letter ORDER BY id"
            ).fetchall()
        return [DeadLetter(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], json.loads(r[6])) for r in rows]

    def requeue_dead_letters(self, ids: Sequence[int] | None = None) -> int:
        """Put dead letters back in the queue (e.g. after a scope was granted), with a new key: the
        register never stored them."""
        moved = 0
        with self._lock, self._transaction() as db:
            rows = db.execute("SELECT id, body, spooled_at FROM dead_letter ORDER BY id").fetchall()
            for dead_id, body, spooled_at in rows:
                if ids is not None and dead_id not in ids:
                    continue
                db.execute(
                    "INSERT INTO entry (idempotency_key, body, size, spooled_at) VALUES (?, ?, ?, ?)",
                    (str(uuid.uuid4()), body, len(body.encode("utf-8")), spooled_at),
                )
                db.execute("DELETE FROM dead_letter WHERE id = ?", (dead_id,))
                moved += 1
        return moved

    def stats(self) -> tuple[int, int, float | None, int]:
        """(depth, bytes, spooled_at of the oldest entry, dead letters)."""
        with self._lock:
            depth, used = self._db.execute("SELECT depth, bytes FROM state").fetchone()
            oldest = self._db.execute("SELECT min(spooled_at) FROM entry").fetchone()[0]
            dead = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()[0]
        return int(depth), int(used), oldest, int(dead)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _statements(script: str) -> list[str]:
    """Split the schema script into statements (triggers contain `;` inside BEGIN … END)."""
    out: list[str] = []
    buf = ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def compose(
    entry: Verwerkingsactie | Mapping[str, Any] | None, defaults: Mapping[str, Any], **fields: Any
) -> dict[str, Any]:
    """A complete request body: what the caller gave, then the current verwerking's facts (§10.4,
    propagation), then the logger's defaults (e.g. `systeem`), then `tijdstip` = now (B2017)."""
    if isinstance(entry, Verwerkingsactie):
        body = entry.to_json()
        given = {k for k, v in body.items() if v is not None}
        if entry.vertrouwelijkheid is None:
            given.discard("vertrouwelijkheid")
    else:
        body = dict(entry or {})
        given = {k for k, v in body.items() if v is not None}
    for name, value in fields.items():
        json_name, value = _field(name, value)
        body[json_name] = value
        given.add(json_name)
    for source in (propagation.entry_fields(), defaults):
        for key, value in source.items():
            if key not in given and value is not None:
                body[key] = value
                given.add(key)
    body.setdefault("vertrouwelijkheid", "normaal")
    if not body.get("tijdstip"):
        body["tijdstip"] = now()
    body.setdefault("verwerkteObjecten", [])
    return body


def _field(name: str, value: Any) -> tuple[str, Any]:
    """Keyword fields in Python style: `actie_naam="…"`, `objecten=[persoon(bsn)]`."""
    from verwerkingenlog.client.models import JSON_NAME

    if name in ("objecten", "verwerkte_objecten"):
        return "verwerkteObjecten", [o.to_json() if isinstance(o, VerwerktObject) else dict(o) for o in value]
    if name in JSON_NAME:
        return JSON_NAME[name], value
    raise TypeError(f"Unknown log entry field {name!r}; use the snake_case names of Verwerkingsactie.")


class BufferedLogger:
    """Log without waiting on the register. `log()` returns after the entry is durably spooled.

        logger = BufferedLogger("https://log.gemeente.nl", "parkeerapp", secret, spool_path="parkeer.spool",
                                defaults={"systeem": "ParkeerApp 1.4"})
        with verwerking(ACTIVITEIT_ID, ACTIVITEIT_URL):
            logger.log(actie_naam="Opvragen persoonsgegevens", objecten=[persoon(bsn)])

    Call `close()` (or use `with`) at shutdown; what was not shipped yet stays in the spool for the next start.
    """

    def __init__(
        self,
        base_url: str | None = None,
        client_id: str | None = None,
        secret: str | None = None,
        *,
        spool_path: str | os.PathLike[str],
        client: Client | None = None,
        defaults: Mapping[str, Any] | None = None,
        max_entries: int | None = 100_000,
        max_bytes: int | None = None,
        when_full: WhenFull = "block",
        block_timeout: float = 30.0,
        backoff: RetryPolicy | None = None,
        idle_poll: float = 0.5,
        start: bool = True,
    ) -> None:
        if client is None:
            if base_url is None:
                raise ValueError("Give base_url, client_id and secret, or a client.")
            client = Client(base_url, client_id, secret, retry=NO_RETRIES)
        self.client = client
        self.spool = Spool(
            spool_path, max_entries=max_entries, max_bytes=max_bytes, when_full=when_full, block_timeout=block_timeout
        )
        self.defaults = dict(defaults or {})
        self.backoff = backoff or RetryPolicy(base_delay=0.2, max_delay=30.0)
        self.idle_poll = idle_poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease: Any = None
        self._shipped = 0
        self._failed = 0
        self._last_lag: float | None = None
        self._last_error: str | None = None
        self._closed = False
        if start:
            self.start()

    # -- the application's side ----------------------------------------------------------------

    def log(self, entry: Verwerkingsactie | Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Spool one entry (§13: before the processing it records); returns its Idempotency-Key.

        Raises `SpoolFull` when the spool is full (per its policy): then do not proceed (B7952)."""
        key = self.spool.put(compose(entry, self.defaults, **fields))
        self._wake.set()
        return key

    async def alog(self, entry: Verwerkingsactie | Mapping[str, Any] | None = None, **fields: Any) -> str:
        """`log` for asyncio code: the fsync runs in a worker thread, the context is carried along."""
        body = compose(entry, self.defaults, **fields)  # composed here: the verwerking is current here
        key = await asyncio.to_thread(self.spool.put, body)
        self._wake.set()
        return key

    def metrics(self) -> SpoolMetrics:
        depth, used, oldest, dead = self.spool.stats()
        return SpoolMetrics(
            depth=depth,
            bytes=used,
            oldest_age_seconds=0.0 if oldest is None else max(0.0, time.time() - oldest),
            dead_letters=dead,
            shipped=self._shipped,
            failed_attempts=self._failed,
            last_ship_lag_seconds=self._last_lag,
            last_error=self._last_error,
            shipping=self._thread is not None and self._thread.is_alive(),
        )

    def dead_letters(self) -> list[DeadLetter]:
        return self.spool.dead_letters()

    def requeue_dead_letters(self, ids: Sequence[int] | None = None) -> int:
        moved = self.spool.requeue_dead_letters(ids)
        self._wake.set()
        return moved

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the spool is empty (True) or the timeout passed (False)."""
        deadline = time.monotonic() + timeout
        while self.spool.stats()[0] > 0:
            if time.monotonic() >= deadline:
                return False
            self._wake.set()
            time.sleep(0.02)
        return True

    def register_prometheus(self, registry: Any = None, prefix: str = "verwerkingenlog_spool") -> None:
        """Expose the metrics as Prometheus gauges/counters (needs `prometheus_client`)."""
        from verwerkingenlog.client.metrics import SpoolCollector

        SpoolCollector(self, prefix).register(registry)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="verwerkingenlog-shipper", daemon=True)
        self._thread.start()

    def close(self, flush_timeout: float = 5.0) -> None:
        """Ship what can be shipped within `flush_timeout`, then stop; the rest stays spooled."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and flush_timeout > 0:
            self.flush(flush_timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._release()
        self.client.close()
        self.spool.close()

    def __enter__(self) -> BufferedLogger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the shipper ----------------------------------------------------------------------------

    def _acquire(self) -> bool:
        if fcntl is None or self._lease is not None:
            return True
        handle = open(f"{self.spool.path}.lock", "a")  # noqa: SIM115 - held for the shipper's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lease = handle
        return True

    def _release(self) -> None:
        if self._lease is not None:
            with suppress(OSError):
                self._lease.close()
            self._lease = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if not self._acquire():  # another process ships this spool; take over when it stops
                self._stop.wait(1.0)
                continue
            entry = self.spool.oldest()
            if entry is None:
                self._wake.wait(self.idle_poll)
                self._wake.clear()
                continue
            delay = self._ship(entry)
            if delay is None:
                failures = 0
                continue
            failures += 1
            self._stop.wait(delay if delay > 0 else self.backoff.delay(min(failures, 30)))

    def _ship(self, entry: SpooledEntry) -> float | None:
        """Ship one entry: None when done with it, else seconds to wait (0 = use back-off)."""
        try:
            self.client.create(entry.body, idempotency_key=entry.idempotency_key)
        except ApiError as err:
            if err.status in PERMANENT:
                self.spool.to_dead_letter(entry, err.status, err.body)
                self._last_error = str(err)
                log.error("verwerkingenlog refused a spooled entry; moved to the dead letters: %s", err)
                return None
            return self._failure(entry, str(err), err.retry_after)
        except RegisterUnavailable as err:
            return self._failure(entry, str(err), None)
        except Exception as err:  # never let the shipper die: the spool would grow unnoticed
            log.exception("verwerkingenlog shipper: unexpected error")
            return self._failure(entry, repr(err), None)
        self.spool.remove(entry.id)
        self._shipped += 1
        self._last_lag = max(0.0, time.time() - entry.spooled_at)
        return None

    def _failure(self, entry: SpooledEntry, error: str, retry_after: float | None) -> float:
        self._failed += 1
        self._last_error = error
        self.spool.failed(entry.id, error)
        if entry.attempts in (0, 9, 99) or entry.attempts % 1000 == 999:
            log.warning("verwerkingenlog: shipping failed (attempt %d), will retry: %s", entry.attempts + 1, error)
        return 0.0 if retry_after is None else min(retry_after, self.backoff.max_retry_after)
