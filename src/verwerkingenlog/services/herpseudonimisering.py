"""Re-pseudonymisation (issue 19.3, docs/integrity.md §14): objectIds that an older version stored in the clear
(any `soortObjectId` but a casing of `bsn`) are re-stored encrypted, with the blind index of the folded kind, and
rows it stored under a casing of `bsn` other than `BSN` get the blind index of `BSN`; once.

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
from verwerkingenlog.store.pseudonymisation import EARLIER_BSN_CASINGS
from verwerkingenlog.store.rows import RowCodec

log = logging.getLogger("verwerkingenlog.integrity")


async def repseudonymise(
    db: Database, codec: RowCodec, clock: Callable[[], int] = wall_clock_us
) -> HerpseudonimiseringEntry | None:
    """Re-store every objectId in the clear that the current rule pseudonymises; None when there is none."""
    async with db.writing() as conn:
        await store.lock_log(conn)
        sealed: dict[int, tuple[bytes, bytes]] = {}
        found = []
        for o in await store.objects_to_restore(conn, EARLIER_BSN_CASINGS):
            if o.object_id is not None and codec.pseudo.protects_object(o.objecttype, o.soort_object_id):
                sealed[o.row] = codec.sealed_object_id(o.soort_object_id, o.object_id)
            elif o.sealed is not None:  # an earlier blind index over a casing of "bsn": re-keyed
                value = codec.opened_object_id(o.sealed)
                if codec.pseudo.sleutel(o.soort_object_id, value) == o.sleutel:
                    continue
                sealed[o.row] = codec.sealed_object_id(o.soort_object_id, value)
            else:
                continue
            found.append(o)
        if not found:
            return None
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
