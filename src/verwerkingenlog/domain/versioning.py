"""B3891: the log is physically immutable and logically mutable (§8).

Every change appends a version; these pure functions compute that version from the current one.
The store assigns `seq`; here we only decide content, ids and the `vervallen` flag.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from verwerkingenlog.domain.model import Actiegegevens, NieuwObject, Versie, VerwerktObject
from verwerkingenlog.domain.values import Vertrouwelijkheid

IdFactory = Callable[[], str]


def random_id() -> str:
    """R-VAL-1: ids the register issues are random (version 4) UUIDs, never time-ordered (B2357)."""
    return str(uuid.uuid4())


_VARIANT = {d: "89ab"[int(d, 16) & 0x3] for d in "0123456789abcdef"}


def uuid4_text(random16: bytes) -> str:
    """The text of ``uuid.UUID(bytes=random16, version=4)``: the version nibble set to 4, the variant bits to
    RFC 4122's ``10``, without building a UUID object."""
    h = random16.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def random_ids(batch: int = 256) -> IdFactory:
    """`random_id` for many ids in a row (bulk ingest): the same random version-4 UUIDs (R-VAL-1, B2357), drawn
    from ``os.urandom`` 16 bytes at a time but ``batch`` ids per call, for one request (not shared, not kept).
    `uuid.uuid4` cost 5 µs per id, two to four ids per action."""
    pending: list[str] = []

    def new_id() -> str:
        if not pending:
            block = os.urandom(16 * batch)
            pending.extend(uuid4_text(block[i : i + 16]) for i in range(len(block) - 16, -1, -16))
        return pending.pop()

    return new_id


def first_version(
    gegevens: Actiegegevens,
    objecten: Sequence[NieuwObject],
    now_us: int,
    client_id: str | None = None,
    new_id: IdFactory = random_id,
) -> Versie:
    """R-POST-4: a new action gets a new actieId, tijdstipRegistratie = now, vervallen = false.

    Every object gets a new verwerktObjectId (R-POST-5: client-supplied ids are ignored).
    """
    actie_id = new_id()
    return Versie(
        actie_id=actie_id,
        lineage_id=actie_id,
        versie=1,
        vervallen=False,
        tijdstip_registratie_us=now_us,
        gegevens=gegevens,
        objecten=tuple(_materialise(o, new_id()) for o in objecten),
        client_id=client_id,
    )


def corrected_version(
    current: Versie,
    gegevens: Actiegegevens,
    objecten: Sequence[NieuwObject],
    now_us: int,
    client_id: str | None = None,
    new_id: IdFactory = random_id,
) -> Versie:
    """R-PUT-4/R-PUT-5 (F8316): full replacement by the request body.

    An object that echoes the verwerktObjectId of an object of the current version keeps that id;
    every other object gets a new id (AMB-19). Each current id is kept at most once.
    """
    available = {o.verwerkt_object_id for o in current.objecten}
    nieuw: list[VerwerktObject] = []
    for o in objecten:
        if o.verwerkt_object_id is not None and o.verwerkt_object_id in available:
            available.discard(o.verwerkt_object_id)
            nieuw.append(_materialise(o, o.verwerkt_object_id))
        else:
            nieuw.append(_materialise(o, new_id()))
    return _next(current, gegevens, tuple(nieuw), False, now_us, client_id, new_id)


def patched_version(
    current: Versie,
    now_us: int,
    bewaartermijn: str | None = None,
    vertrouwelijkheid: Vertrouwelijkheid | None = None,
    client_id: str | None = None,
    new_id: IdFactory = random_id,
) -> Versie:
    """R-PATCH-5 (F4415, F2969): copy the current version, replace whichever property was sent.

    A version is appended even when nothing changes (AMB-29); objects keep their ids (R-VER-6).
    """
    gegevens = current.gegevens
    if bewaartermijn is not None:
        gegevens = replace(gegevens, bewaartermijn=bewaartermijn)
    if vertrouwelijkheid is not None:
        gegevens = replace(gegevens, vertrouwelijkheid=vertrouwelijkheid)
    return _next(current, gegevens, current.objecten, False, now_us, client_id, new_id)


def deleted_version(
    current: Versie, now_us: int, client_id: str | None = None, new_id: IdFactory = random_id
) -> Versie:
    """R-DEL-1 (F9906): logical delete appends a copy with vervallen = true; nothing is removed."""
    return _next(current, current.gegevens, current.objecten, True, now_us, client_id, new_id)


def current_version(versions: Iterable[Versie]) -> Versie | None:
    """R-VER-2: the current version is the one with the highest sequence, never by timestamp."""
    best: Versie | None = None
    for v in versions:
        if best is None or v.versie > best.versie:
            best = v
    return best


def visible_version(versions: Iterable[Versie]) -> Versie | None:
    """R-VER-4: only a current version that is not vervallen is visible through the APIs."""
    current = current_version(versions)
    return None if current is None or current.vervallen else current


def _next(
    current: Versie,
    gegevens: Actiegegevens,
    objecten: tuple[VerwerktObject, ...],
    vervallen: bool,
    now_us: int,
    client_id: str | None,
    new_id: IdFactory,
) -> Versie:
    return Versie(
        actie_id=new_id(),
        lineage_id=current.lineage_id,
        versie=current.versie + 1,
        vervallen=vervallen,
        tijdstip_registratie_us=now_us,
        gegevens=gegevens,
        objecten=objecten,
        client_id=client_id,
    )


def _materialise(o: NieuwObject, object_id: str) -> VerwerktObject:
    return VerwerktObject(
        verwerkt_object_id=object_id,
        objecttype=o.objecttype,
        soort_object_id=o.soort_object_id,
        object_id=o.object_id,
        betrokkenheid=o.betrokkenheid,
        soorten_gegevens=o.soorten_gegevens,
    )
