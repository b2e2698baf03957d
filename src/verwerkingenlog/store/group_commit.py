"""Group commit: concurrent appends of new actions share one write transaction (docs/performance.md).

A request hands its already validated, scope-checked version to `GroupCommitter.append` and waits. One
flusher task at a time takes what is waiting (after at most `window_s`, or at once when `max_batch` versions
wait), appends them all in one transaction - rows, objects and Merkle leaves in the order they arrived, under
the register-wide log lock (store.integrity) - and resolves each waiter only after that transaction has
committed (R-TX-2): an acknowledged entry is durable. While one batch commits, the next one gathers, so the
number of commits (fsyncs) per second no longer bounds the number of actions per second.

A database failure fails every request of that batch (the API answers 5xx, nothing of the batch is stored);
a request's own validation and scope checks happen before it is enqueued, so they never poison a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, replace

from verwerkingenlog.domain.model import Versie
from verwerkingenlog.integrity.records import KIND_ACTIE
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.integrity import leaves_of, note_leaves
from verwerkingenlog.store.write import LogWriter


@dataclass(slots=True)
class _Waiting:
    version: Versie
    done: asyncio.Future[tuple[int, int]]


class GroupCommitter:
    def __init__(self, db: Database, writer: LogWriter, window_s: float = 0.002, max_batch: int = 256) -> None:
        if max_batch < 1 or window_s < 0:
            raise ValueError("max_batch must be at least 1 and window_s not negative")
        self.db = db
        self.writer = writer
        self.window_s = window_s
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._full = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0
        self.appended = 0
        self.on_batch: Callable[[int], None] | None = None
        """Hook (metrics, tests): called with the size of every batch inside its transaction, just before the commit."""

    async def append(self, version: Versie) -> Versie:
        """Store ``version`` in the next group transaction; returns it with its `seq` once committed durably.

        The leaf index is reported to the request's Leaf-Index receipt (store.integrity.leaf_receipt)."""
        done: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(version, done))
        if self._flusher is None:
            self._full = asyncio.Event()  # bound to this event loop (tests run several loops in one process)
            # A context of its own: the flusher must not write into the first request's contextvars.
            self._flusher = asyncio.create_task(self._flush(), name="group-commit", context=contextvars.Context())
        if len(self._waiting) >= self.max_batch:
            self._full.set()
        seq, leaf = await asyncio.shield(done)
        note_leaves([leaf])
        return replace(version, seq=seq)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                if self.window_s and len(self._waiting) < self.max_batch:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self.window_s)
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            async with self.db.writing() as conn:
                seqs = await self.writer.append(conn, [w.version for w in batch])
                by_seq = await leaves_of(conn, KIND_ACTIE, seqs)  # one primary-key range probe per batch
                leaves = [by_seq[seq] for seq in seqs]
                if self.on_batch is not None:
                    self.on_batch(len(batch))
        except BaseException as exc:
            for w in batch:
                if not w.done.done():
                    w.done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("group commit aborted"))
            if not isinstance(exc, Exception):
                raise
            return
        self.batches += 1
        self.appended += len(batch)
        for w, seq, leaf in zip(batch, seqs, leaves, strict=True):
            if not w.done.done():
                w.done.set_result((seq, leaf))

    async def close(self) -> None:
        """Let the batch in flight (and what waits behind it) commit before the engine goes away."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
