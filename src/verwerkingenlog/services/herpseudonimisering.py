"""Re-pseudonymisation (issue 19.3, docs/integrity.md §14): objectIds that an older version stored in the clear
(any `soortObjectId` but exactly `BSN`) are re-stored encrypted, with the blind index of the folded kind, once.

The log stays append-only in everything it proves: the rows are listed and the pass recorded (itself a leaf,
like a purge) before any row changes, and the database lets a listed row change only its storage form. The
versions' leaves stay valid, because a record covers the objectId as the API shows it, not how it is stored.
Run after the schema upgrade by `verwerkingenlog migrate` and at start-up (MIGRATE_ON_START), as the adoption of
a log that predates the Merkle tree is: it needs the pseudonymisation key. Once nothing is in the clear, finding
that out is one probe of an empty partial index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from verwerkingenlog.integrity.records import (
    KIND_HERPSEUDONIMISERING,
    HerpseudonimiseringEntry,
    herpseudonimisering_record,
)
from verwerkingenlog.services.register import wall_clock_us
from verwerkingenlog.store import integrity as store
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.integrity import Leaf
from verwerkingenlog.store.rows import RowCodec

log = logging.getLogger("verwerkingenlog.integrity")


async def repseudonymise(
    db: Database, codec: RowCodec, clock: Callable[[], int] = wall_clock_us
) -> HerpseudonimiseringEntry | None:
    """Re-store every objectId in the clear that the current rule pseudonymises; None when there is none."""
    async with db.writing() as conn:
        await store.lock_log(conn)
        found = [
            o
            for o in await store.objects_in_the_clear(conn)
            if codec.pseudo.protects_object(o.objecttype, o.soort_object_id)
        ]
        if not found:
            return None
        sealed = {o.row: codec.sealed_object_id(o.soort_object_id, o.object_id) for o in found}
        entry = await store.repseudonymise(conn, clock(), found, sealed)
        await store.append_leaves(conn, [Leaf(KIND_HERPSEUDONIMISERING, entry.id, herpseudonimisering_record(entry))])
    async with db.reading() as conn:
        await store.truncate_sqlite_wal(conn)
    log.warning(
        "re-pseudonymised %d objectIds of %d versions stored in the clear (herpseudonimisering #%d)",
        entry.objecten,
        entry.versies,
        entry.id,
    )
    return entry
