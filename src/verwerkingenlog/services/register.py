"""The verwerkingenlog use cases (Bewerking §6, Inzage §7) on top of the store.

Each operation follows the order of checks of §4.9: the API has already authenticated,
checked the scope family and validated syntax; here come resolution (400/404),
the confidentiality rules (403) and the atomic execution.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from verwerkingenlog.domain import idempotency, scopes, versioning
from verwerkingenlog.domain.errors import IdempotencyKeyReused, NotFound, ValidationFailed
from verwerkingenlog.domain.idempotency import IdempotencyKey
from verwerkingenlog.domain.model import (
    Actiegegevens,
    Caller,
    ConsumerHeaders,
    NieuwObject,
    ObjectFilter,
    Versie,
    VerwerktObject,
)
from verwerkingenlog.domain.pagination import Page, page_beyond_end
from verwerkingenlog.domain.selflog import SelfLogProfile, persons, self_log_entry
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.services import idempotency as idempotency_service
from verwerkingenlog.store import idempotency as idempotency_keys
from verwerkingenlog.store.db import Connection, Database, IntegrityError
from verwerkingenlog.store.group_commit import GroupCommitter
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.write import LogWriter

DEFAULT_IDEMPOTENCY_TTL_US = 86_400 * 1_000_000
KEY_CLEANUP_INTERVAL_US = 60 * 1_000_000


def wall_clock_us() -> int:
    return time.time_ns() // 1000


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Results(Generic[T]):
    count: int
    items: list[T]


class Register:
    def __init__(
        self,
        db: Database,
        reader: LogReader,
        writer: LogWriter,
        self_log: SelfLogProfile | None,
        clock: Callable[[], int] = wall_clock_us,
        idempotency_ttl_us: int = DEFAULT_IDEMPOTENCY_TTL_US,
        committer: GroupCommitter | None = None,
        read_after_write_seconds: float = 10.0,
    ) -> None:
        self.db = db
        self.read_after_write_us = int(read_after_write_seconds * 1_000_000)
        self._last_write_us: dict[str, int] = {}
        """Per client: when it last changed the log through this process (read-your-writes, `_replica_ok`)."""
        self.reader = reader
        self.writer = writer
        self.self_log = self_log
        self.clock = clock
        self.idempotency_ttl_us = idempotency_ttl_us
        self._next_key_cleanup_us = 0
        # New actions without an Idempotency-Key and the self-log entries of reads share transactions.
        self.committer = committer or GroupCommitter(db, writer)

    # -- Bewerking: writes ---------------------------------------------------------------

    async def create(self, caller: Caller, gegevens: Actiegegevens, objecten: Sequence[NieuwObject]) -> Versie:
        """R-POST-1..4: scope check on the body's confidentiality, then one atomic append."""
        self._wrote(caller)
        scopes.check_create(caller.scopes, gegevens.vertrouwelijkheid)
        new = versioning.first_version(gegevens, objecten, self.clock(), caller.client_id)
        return await self.committer.append(new)

    async def create_once(
        self, caller: Caller, key: IdempotencyKey, gegevens: Actiegegevens, objecten: Sequence[NieuwObject]
    ) -> tuple[Versie, bool]:
        """Idempotent ingest (extension, docs/idempotency.md): (version, replayed).

        The key is recorded in the same transaction as the action (R-TX-1), so either both or neither
        are stored. A retry with the same key and body gets the original version (re-read by its
        actieId, never a stored response body); with another body, 422. Two concurrent requests with
        one key: the loser fails on the primary key, rolls back entirely and replays the winner.
        """
        self._wrote(caller)
        scopes.check_create(caller.scopes, gegevens.vertrouwelijkheid)
        now = self.clock()
        fresh_from = now - self.idempotency_ttl_us
        try:
            async with self.db.writing() as conn:
                await self._cleanup_keys(conn, now)
                earlier = await self._replay(conn, caller, key, fresh_from)
                if earlier is not None and earlier.version is not None:
                    return earlier.version, True
                # An expired row, or one whose action was purged since (R-RET-3), makes way for this request.
                new = versioning.first_version(gegevens, objecten, now, caller.client_id)
                purged = () if earlier is None else (key.key,)
                await idempotency_keys.claim(conn, caller.client_id, [(key, new.actie_id)], now, fresh_from, purged)
                (seq,) = await self.writer.append(conn, [new])
        except IntegrityError:
            async with self.db.reading() as conn:
                earlier = await self._replay(conn, caller, key, fresh_from)
            if earlier is None or earlier.version is None:
                raise
            return earlier.version, True
        return replace(new, seq=seq), False

    async def _replay(
        self, conn: Connection, caller: Caller, key: IdempotencyKey, fresh_from: int
    ) -> idempotency_service.Earlier | None:
        """The unexpired earlier request with this key (its version None: purged since); 422 for another body."""
        earlier = (await idempotency_service.look_up(conn, self.reader, caller.client_id, [key], fresh_from)).get(
            key.key
        )
        if earlier is not None and not earlier.same_request(key):
            raise IdempotencyKeyReused(
                f"The {idempotency.HEADER} sent was already used for a request with a different body. "
                "Use a new key for every logical request; send the same key only when retrying the same request."
            )
        return earlier

    async def _cleanup_keys(self, conn: Connection, now: int) -> None:
        """Expired idempotency keys are removed on the write path, at most once a minute per process."""
        if now < self._next_key_cleanup_us:
            return
        self._next_key_cleanup_us = now + KEY_CLEANUP_INTERVAL_US
        await idempotency_keys.forget_expired(conn, now - self.idempotency_ttl_us)

    async def correct(
        self, caller: Caller, actie_id: str, gegevens: Actiegegevens, objecten: Sequence[NieuwObject]
    ) -> Versie:
        """R-PUT-2..5 (F8316, F3835)."""
        self._wrote(caller)
        async with self.db.writing() as conn:
            current = await self._current_for_change(conn, actie_id)
            scopes.check_put(caller.scopes, current.gegevens.vertrouwelijkheid, gegevens.vertrouwelijkheid)
            new = versioning.corrected_version(current, gegevens, objecten, self.clock(), caller.client_id)
            (seq,) = await self.writer.append(conn, [new])
        return replace(new, seq=seq)

    async def patch(
        self,
        caller: Caller,
        verwerking_id: str,
        bewaartermijn: str | None,
        vertrouwelijkheid: Vertrouwelijkheid | None,
    ) -> list[Versie]:
        """R-PATCH-2..5 (F4415, F2969): one new version per addressed lineage, all or nothing."""
        self._wrote(caller)
        async with self.db.writing() as conn:
            await self.writer.lock(conn, await self.reader.lineages_of_verwerking(conn, verwerking_id))
            addressed = await self.reader.visible_of_verwerking(conn, verwerking_id)
            if not addressed:
                raise ValidationFailed.one(
                    "verwerkingId", "not_found", "No (non-deleted) actions with this verwerkingId exist."
                )
            scopes.check_patch(
                caller.scopes,
                vertrouwelijkheid is not None,
                (v.gegevens.vertrouwelijkheid for v in addressed),
            )
            now = self.clock()
            new = [
                versioning.patched_version(v, now, bewaartermijn, vertrouwelijkheid, caller.client_id)
                for v in addressed
            ]
            await self.writer.append(conn, new)
        return new

    async def delete(self, caller: Caller, actie_id: str) -> Versie:
        """R-DEL-1..3 (F9906, F2265): a logical delete appends a vervallen version."""
        self._wrote(caller)
        async with self.db.writing() as conn:
            current = await self._current_for_change(conn, actie_id)
            scopes.check_delete(caller.scopes, current.gegevens.vertrouwelijkheid)
            new = versioning.deleted_version(current, self.clock(), caller.client_id)
            (seq,) = await self.writer.append(conn, [new])
        return replace(new, seq=seq)

    async def _current_for_change(self, conn: Connection, actie_id: str) -> Versie:
        """R-PUT-2 / R-DEL-2 (AMB-11): unknown or vervallen → 400 naming `actieId`."""
        lineage = await self.reader.lineage_of(conn, actie_id)
        if lineage is None:
            raise ValidationFailed.one("actieId", "not_found", "No action with this actieId exists.")
        await self.writer.lock(conn, [lineage])
        current = await self.reader.current(conn, lineage)
        assert current is not None
        if current.vervallen:
            raise ValidationFailed.one("actieId", "vervallen", "This action has been deleted (vervallen).")
        return current

    # -- Bewerking: reads ----------------------------------------------------------------

    async def read(self, caller: Caller, actie_id: str, consumer: ConsumerHeaders) -> Versie:
        """R-GETS-2..5: any version's id resolves to the current version; 404 when unknown or vervallen."""
        async with self.db.reading(self._replica_ok(caller)) as conn:
            lineage = await self.reader.lineage_of(conn, actie_id)
            current = None if lineage is None else await self.reader.current(conn, lineage)
        if current is None or current.vervallen:
            raise NotFound("No action with this actieId exists.")
        scopes.check_read(caller.scopes, current.gegevens.vertrouwelijkheid)
        await self.log_read(caller, consumer, current.objecten)
        return current

    async def history(self, caller: Caller, actie_id: str, consumer: ConsumerHeaders) -> list[Versie]:
        """decisions.md 3 / R-VER-4: every version of the lineage, for read:confidential only."""
        scopes.check_history(caller.scopes)
        async with self.db.reading(self._replica_ok(caller)) as conn:
            lineage = await self.reader.lineage_of(conn, actie_id)
            versions = [] if lineage is None else await self.reader.history(conn, lineage)
        if not versions:
            raise NotFound("No action with this actieId exists.")
        await self.log_read(caller, consumer, versions[-1].objecten)
        return versions

    async def search_acties(
        self, caller: Caller, f: ObjectFilter, page: Page, consumer: ConsumerHeaders
    ) -> Results[Versie]:
        """§6.2: R-GETL-6 is checked on the filter before anything is read."""
        scopes.check_list(caller.scopes, f.vertrouwelijkheid)
        async with self.db.reading(self._replica_ok(caller)) as conn:
            count, items = await self.reader.search_acties(conn, f, page.size, page.offset)
        self.check_page(page, count)
        await self.log_read(caller, consumer, [_queried(f)])
        return Results(count, items)

    # -- Inzage --------------------------------------------------------------------------

    async def search_objecten(
        self, caller: Caller, f: ObjectFilter, page: Page, consumer: ConsumerHeaders
    ) -> Results[tuple[VerwerktObject, Versie]]:
        """§7.1: the scope filters visibility (R-INZ-5); vertrouwelijk is never returned."""
        f = replace(f, vertrouwelijkheid=scopes.inzage_visible(caller.scopes))
        async with self.db.reading(self._replica_ok(caller)) as conn:
            count, items = await self.reader.search_objecten(conn, f, page.size, page.offset)
        self.check_page(page, count)
        await self.log_read(caller, consumer, [_queried(f)])
        return Results(count, items)

    async def read_object(
        self, caller: Caller, verwerkt_object_id: str, consumer: ConsumerHeaders
    ) -> tuple[VerwerktObject, Versie]:
        """§7.2 (AMB-30): invisible under the caller's scope is the same as unknown: 404."""
        visible = scopes.inzage_visible(caller.scopes)
        async with self.db.reading(self._replica_ok(caller)) as conn:
            found = await self.reader.object_by_id(conn, verwerkt_object_id)
        found = [(o, v) for o, v in found if v.gegevens.vertrouwelijkheid in visible]
        if not found:
            raise NotFound("No verwerkt object with this id is visible.")
        await self.log_read(caller, consumer, [found[0][0]])
        return found[0]

    # -- helpers -------------------------------------------------------------------------

    def _wrote(self, caller: Caller) -> None:
        self._last_write_us[caller.client_id] = self.clock()

    def _replica_ok(self, caller: Caller) -> bool:
        """Reads go to the replica (DATABASE_READ_URL), except for a client that changed the log within
        DATABASE_READ_AFTER_WRITE_SECONDS: it reads from the primary and sees its own writes, whatever the
        replica's lag. The self-log entry of every read is written on the primary (log_read)."""
        if self.db.replica is None:
            return False
        last = self._last_write_us.get(caller.client_id)
        if last is None:
            return True
        if self.clock() - last < self.read_after_write_us:
            return False
        self._last_write_us.pop(caller.client_id, None)
        return True

    @staticmethod
    def check_page(page: Page, count: int) -> None:
        problem = page_beyond_end(page, count)
        if problem is not None:
            raise ValidationFailed([problem])

    async def log_read(
        self, caller: Caller, consumer: ConsumerHeaders, objecten: Sequence[VerwerktObject | NieuwObject]
    ) -> None:
        """R-SELF-1/2: append the register's own action before data is returned; failure → 5xx."""
        if self.self_log is None:
            return
        now = self.clock()
        gegevens = self_log_entry(self.self_log, consumer, caller.client_id, versioning.random_id(), now)
        entry = versioning.first_version(gegevens, persons(objecten), now, caller.client_id)
        await self.committer.append(entry)


def _queried(f: ObjectFilter) -> NieuwObject:
    return NieuwObject(f.objecttype, f.soort_object_id, f.object_id)
