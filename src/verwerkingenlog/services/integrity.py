"""Integrity use cases shared by the HTTP API and the CLI: keys, signed checkpoints, proofs, the witness export.

docs/integrity.md specifies the formats. The register

- signs its tree head as a C2SP tlog-checkpoint with Ed25519 (`sign_checkpoint`), never two checkpoints that
  are inconsistent with each other (it checks the previous one against the stored tree before signing);
- keeps every checkpoint and publishes every public key it ever used (`published_keys`), so old checkpoints
  stay verifiable after a rotation (`rotate_key` signs one bridging checkpoint with both keys);
- serves RFC 9162 inclusion proofs (by actieId or leaf index) against a signed checkpoint and consistency proofs
  between tree sizes;
- exports each new checkpoint to a witness file and/or URL (`Witness`), without ever blocking a write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from verwerkingenlog.domain import scopes
from verwerkingenlog.domain.errors import Gone, NotFound, NotYetCheckpointed, ValidationFailed
from verwerkingenlog.domain.values import Vertrouwelijkheid, from_epoch_us
from verwerkingenlog.integrity import tiles
from verwerkingenlog.integrity.checkpoint import Checkpoint, SignerKey, VerifierKey, sign_checkpoint
from verwerkingenlog.integrity.merkle import NodeID, consistency_plan, inclusion_plan
from verwerkingenlog.integrity.records import (
    KIND_ACTIE,
    KIND_ACTIVITEIT,
    KIND_LOGBOEKREGEL,
    LogboekregelEntry,
    actie_record,
    activiteit_record,
)
from verwerkingenlog.integrity.tiles import TileRef
from verwerkingenlog.integrity.witness import witness_entry
from verwerkingenlog.services.register import wall_clock_us
from verwerkingenlog.store import integrity as store
from verwerkingenlog.store import logboek as logboek_store
from verwerkingenlog.store.db import Database, database_unavailable
from verwerkingenlog.store.integrity import ACTIVE, REPLACED, Leaf, StoredCheckpoint
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.signing import KeyFileError, read_signer, retire_file, write_signer
from verwerkingenlog.store.var import VarStore

log = logging.getLogger("verwerkingenlog.integrity")


class InconsistentLog(Exception):
    """The stored tree no longer matches a checkpoint the register signed: it refuses to sign another."""


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A public key as published (docs/integrity.md §5): in use (`actief`) or replaced by a rotation."""

    vkey: str
    status: str
    sinds_us: int
    tot_us: int | None = None

    @property
    def key(self) -> VerifierKey:
        return VerifierKey.parse(self.vkey)


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 §2.1.3.1 PATH(leaf, D[tree size]) with the signed checkpoint of that size."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]
    checkpoint: StoredCheckpoint
    kind: str
    ref: int


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 9162 §2.1.4.1 PROOF(van, D[tot])."""

    van: int
    tot: int
    proof: list[bytes]


@dataclass
class Witness:
    """Hands every new signed checkpoint to an external copy: appended to a file, POSTed to a URL.

    The file holds the notes one after another, each followed by an empty line. A failed POST is kept (the
    newest 100) and retried on the next call; nothing here ever raises into the write path.
    """

    file: Path | None = None
    url: str | None = None
    timeout: float = 10.0
    pending: list[str] = field(default_factory=list)
    transport: httpx.AsyncBaseTransport | None = None  # tests replace the network

    async def export(self, note: str) -> None:
        if self.file is not None:
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                with self.file.open("a", encoding="utf-8") as out:
                    out.write(witness_entry(note))
            except OSError as exc:
                log.error("checkpoint witness file %s: %s", self.file, exc)
        if self.url is not None:
            self.pending = [*self.pending, note][-100:]
            await self.retry()

    async def retry(self) -> None:
        """POST the notes not delivered yet, oldest first; stop at the first failure."""
        if self.url is None or not self.pending:
            return
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            while self.pending:
                try:
                    response = await client.post(
                        self.url, content=self.pending[0].encode(), headers={"Content-Type": NOTE_MEDIA_TYPE}
                    )
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    log.warning("checkpoint witness %s: %s (will retry)", self.url, exc)
                    return
                self.pending.pop(0)


NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"


class Integrity:
    def __init__(
        self,
        db: Database,
        origin: str,
        key_file: Path,
        witness: Witness | None = None,
        clock: Callable[[], int] = wall_clock_us,
        interval_seconds: int = 0,
    ) -> None:
        self.db = db
        self.origin = origin
        self.key_file = key_file
        self.witness = witness or Witness()
        self.clock = clock
        self.interval_seconds = interval_seconds

    # -- keys ----------------------------------------------------------------------------------------------

    async def published_keys(self) -> list[PublishedKey]:
        """Every public key ever used, oldest first, with when it started and (if replaced) stopped signing."""
        async with self.db.reading() as conn:
            events = await store.key_events(conn)
        keys: dict[str, PublishedKey] = {}
        for e in events:
            if e.event == ACTIVE and e.vkey not in keys:
                keys[e.vkey] = PublishedKey(e.vkey, ACTIVE, e.at_us)
            elif e.event == REPLACED and e.vkey in keys:
                keys[e.vkey] = PublishedKey(e.vkey, REPLACED, keys[e.vkey].sinds_us, e.at_us)
        return list(keys.values())

    async def trusted_keys(self) -> list[VerifierKey]:
        return [k.key for k in await self.published_keys()]

    def _check_name(self, signer: SignerKey) -> SignerKey:
        if signer.name != self.origin:
            raise KeyFileError(
                f"the key in {self.key_file} is named {signer.name!r}, but the log's origin is {self.origin!r} "
                "(CHECKPOINT_ORIGIN): generate a key for this origin"
            )
        return signer

    async def _publish(self, signer: SignerKey) -> None:
        """Publish the key as in use, unless it is already known."""
        vkey = signer.verifier.encode()
        if any(k.vkey == vkey for k in await self.published_keys()):
            return
        async with self.db.writing() as conn:
            await store.add_key_event(conn, vkey, ACTIVE, self.clock())
        log.warning("checkpoint signing key published: %s", vkey)

    async def signer(self, create: bool = True) -> SignerKey:
        """The current signing key from the key file; created (and published) on first use when ``create``."""
        signer = read_signer(self.key_file)
        if signer is None:
            if not create:
                raise KeyFileError(f"no checkpoint signing key at {self.key_file}: `verwerkingenlog keys generate`")
            signer = SignerKey.generate(self.origin)
            write_signer(self.key_file, signer)
            log.warning("created a new checkpoint signing key in %s", self.key_file)
        await self._publish(self._check_name(signer))
        return signer

    async def generate_key(self) -> SignerKey:
        """A first key: refused when the key file exists (that is what `rotate_key` is for)."""
        if read_signer(self.key_file) is not None:
            raise KeyFileError(f"{self.key_file} holds a key already: rotate it with `verwerkingenlog keys rotate`")
        return await self.signer(create=True)

    async def rotate_key(self) -> tuple[SignerKey, SignerKey, StoredCheckpoint]:
        """Replace the signing key: the new key is published, the old one marked replaced (still published),
        and one bridging checkpoint of the current tree is signed by both, so that a verifier trusting the old
        key can check the new one. The old key is kept beside the key file as ``…<key ID>.vervangen``."""
        old = await self.signer(create=False)
        new = SignerKey.generate(self.origin)
        retire_file(self.key_file, old)
        staged = self.key_file.with_name(f".{self.key_file.name}.new")
        write_signer(staged, new, replace=True)
        try:
            async with self.db.writing() as conn:
                await store.lock_log(conn)
                now = self.clock()
                await store.add_key_event(conn, new.verifier.encode(), ACTIVE, now)
                await store.add_key_event(conn, old.verifier.encode(), REPLACED, now)
                bridge = await self._sign(conn, [old, new], now)
            staged.replace(self.key_file)
        finally:
            staged.unlink(missing_ok=True)
        await self.witness.export(bridge.note)
        return old, new, bridge

    # -- checkpoints ---------------------------------------------------------------------------------------

    async def _sign(self, conn: AsyncConnection, signers: list[SignerKey], now_us: int) -> StoredCheckpoint:
        """Sign the current tree head, after checking that it extends the latest checkpoint (under the lock)."""
        size, root = await store.tree_head(conn)
        latest = await store.latest_checkpoint(conn)
        if latest is not None and (
            latest.tree_size > size or await store.root_at(conn, latest.tree_size) != latest.root_hash
        ):
            raise InconsistentLog(
                f"the stored tree no longer matches checkpoint #{latest.id} (size {latest.tree_size}): "
                "run `verwerkingenlog verify`; no new checkpoint is signed"
            )
        note = sign_checkpoint(Checkpoint(self.origin, size, root, from_epoch_us(now_us)), signers)
        return await store.add_checkpoint(conn, size, root, now_us, note)

    async def sign_checkpoint(self, force: bool = False) -> StoredCheckpoint | None:
        """Sign the tree head when the log grew since the latest checkpoint (or there is none, or ``force``);
        None when nothing changed. The note goes to the witness after the commit."""
        signer = await self.signer()
        async with self.db.writing() as conn:
            await store.lock_log(conn)
            latest = await store.latest_checkpoint(conn)
            size = await store.tree_size(conn)
            if latest is not None and latest.tree_size == size and not force:
                return None
            stored = await self._sign(conn, [signer], self.clock())
        await self.witness.export(stored.note)
        return stored

    async def tick(self) -> StoredCheckpoint | None:
        """One round of the background job: sign when there are new entries, retry the witness."""
        await self.witness.retry()
        async with self.db.reading() as conn:
            latest = await store.latest_checkpoint(conn)
            size = await store.tree_size(conn)
        if size == (0 if latest is None else latest.tree_size):
            return None
        return await self.sign_checkpoint()

    async def run(self) -> None:
        """Sign a checkpoint every ``interval_seconds`` while the log grows; errors are logged, never fatal."""
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if database_unavailable(exc):  # a failover: the next interval signs (docs/deployment.md)
                    log.warning("signing a checkpoint failed: database unavailable (%s)", type(exc).__name__)
                else:
                    log.exception("signing a checkpoint failed")

    async def latest(self) -> StoredCheckpoint:
        async with self.db.reading() as conn:
            found = await store.latest_checkpoint(conn)
        if found is None:
            raise NotFound("No checkpoint has been signed yet.")
        return found

    async def checkpoints(self, offset: int, limit: int) -> tuple[int, list[StoredCheckpoint]]:
        async with self.db.reading() as conn:
            return await store.count_checkpoints(conn), await store.list_checkpoints(conn, offset, limit)

    # -- proofs --------------------------------------------------------------------------------------------

    async def _checkpoint_for(self, conn: AsyncConnection, tree_size: int | None) -> StoredCheckpoint:
        if tree_size is None:
            found = await store.latest_checkpoint(conn)
            if found is None:
                raise self._not_yet("No checkpoint has been signed yet.")
            return found
        found = await store.checkpoint_of_size(conn, tree_size)
        if found is None:
            raise ValidationFailed.one("treeSize", "not_found", "No signed checkpoint has this tree size.")
        return found

    def _not_yet(self, detail: str) -> NotYetCheckpointed:
        retry = self.interval_seconds or None
        when = f" The register signs one at least every {retry} seconds while the log grows." if retry else ""
        return NotYetCheckpointed(detail + when, retry)

    async def inclusion(
        self,
        leaf_index: int | None = None,
        actie_id: str | None = None,
        tree_size: int | None = None,
        caller_scopes: frozenset[str] = frozenset(),
    ) -> InclusionProof:
        """RFC 9162 §2.1.3.1: the audit path of one version's leaf (by actieId: exactly that version) in the
        tree of a signed checkpoint (the latest, or the one of ``tree_size``).

        By actieId the caller's scopes decide as for reading the action (R-GETS-4, issue 19.2): a version of an
        action whose current vertrouwelijkheid the caller may not see is answered exactly like an unknown id,
        before anything else (checkpoint, leaf) is looked at. By leaf index it is public: hashes only."""
        async with self.db.reading() as conn:
            if actie_id is not None:
                found = await store.version_and_current_vertrouwelijkheid(conn, actie_id)
                visible = found is not None and scopes.may_see(caller_scopes, Vertrouwelijkheid(found[1]))
                index = None if found is None or not visible else await store.leaf_of(conn, KIND_ACTIE, found[0])
                if index is None:
                    raise NotFound("No stored version has this actieId.")
                leaf_index = index
            assert leaf_index is not None
            leaf = (await store.leaves_between(conn, leaf_index, leaf_index + 1)).get(leaf_index)
            if leaf is None:
                raise NotFound("The log has no leaf with this index.")
            cp = await self._checkpoint_for(conn, tree_size)
            if leaf_index >= cp.tree_size:
                raise self._not_yet(f"Leaf {leaf_index} is newer than the checkpoint of tree size {cp.tree_size}.")
            proof = await store.hashes_of(conn, inclusion_plan(leaf_index, cp.tree_size))
        return InclusionProof(leaf_index, cp.tree_size, leaf.hash, proof, cp, leaf.kind, leaf.ref)

    async def logboekregel(
        self, caller_scopes: frozenset[str], leaf_index: int | None = None, actie_id: str | None = None
    ) -> tuple[int, LogboekregelEntry]:
        """The Logius fields an OTLP entry keeps (docs/integrity.md §2) and their leaf index, by the leaf or by an
        actieId of the action, for the standalone verifier's content check. Like the version history: only for
        read:confidential. A leaf whose row a purge removed is `Gone`; one whose row is missing `NotFound`."""
        scopes.check_history(caller_scopes)
        async with self.db.reading() as conn:
            if actie_id is not None:
                found = await logboek_store.entry_of_actie(conn, actie_id)
                index = None if found is None else await store.leaf_of(conn, KIND_LOGBOEKREGEL, found.seq)
                if found is None or index is None:
                    raise NotFound("No logboekregel is stored for an action with this actieId.")
                return index, found
            assert leaf_index is not None
            leaf = (await store.leaves_between(conn, leaf_index, leaf_index + 1)).get(leaf_index)
            if leaf is None or leaf.kind != KIND_LOGBOEKREGEL:
                raise NotFound("The log has no logboekregel leaf with this index.")
            entry = (await logboek_store.entries_by_seq(conn, [leaf.ref])).get(leaf.ref)
            if entry is None:
                purged = (await store.purged_leaves(conn, leaf_index, leaf_index + 1)).get(leaf_index)
                if purged is not None:
                    raise Gone(f"The content of leaf {leaf_index} was removed by purge #{purged}.")
                raise NotFound(f"The register has no row for leaf {leaf_index}, and no purge removed it.")
            return leaf_index, entry

    async def consistency(self, van: int, tot: int | None = None) -> ConsistencyProof:
        """RFC 9162 §2.1.4.1: proof that the tree of size ``tot`` (default: the latest checkpoint's) extends
        the tree of size ``van``."""
        async with self.db.reading() as conn:
            if tot is None:
                tot = (await self._checkpoint_for(conn, None)).tree_size
            size = await store.tree_size(conn)
            if tot > size:
                raise ValidationFailed.one("tot", "invalid", f"The log has {size} leaves.")
            if van > tot:
                raise ValidationFailed.one("van", "invalid", "Must not be larger than `tot`.")
            proof = await store.hashes_of(conn, consistency_plan(van, tot))
        return ConsistencyProof(van, tot, proof)

    async def tile(self, ref: TileRef) -> list[bytes]:
        """The hashes of a C2SP tlog-tiles tile or entry bundle (docs/integrity.md §7a), read from the stored tree
        in one range scan; `NotFound` for a tile the tree does not have (yet). Public: hashes only."""
        async with self.db.reading() as conn:
            size = await store.tree_size(conn)
            if not tiles.exists(ref, size):
                raise NotFound(f"The log ({size} leaves) has no {ref.path()}.")
            found = await store.level_hashes(conn, ref.tree_level, ref.first, ref.first + ref.width)
        if len(found) != ref.width:  # a node missing from a stored tree: `verify` names it (§9)
            raise NotFound(f"The stored tree lacks hashes of {ref.path()}: run `verwerkingenlog verify`.")
        return found

    async def leaf_hash(self, index: int) -> bytes:
        async with self.db.reading() as conn:
            return (await store.get_nodes(conn, [NodeID(0, index)]))[0]

    # -- a log that predates the Merkle tree ------------------------------------------------------------------

    async def needs_adoption(self) -> bool:
        """True when versions are stored but the tree is still empty (a register upgraded to the Merkle log)."""
        async with self.db.reading() as conn:
            if await store.tree_size(conn):
                return False
            return bool(await store.registration_times(conn, KIND_ACTIE)) or bool(
                await store.registration_times(conn, KIND_ACTIVITEIT)
            )

    async def adopt_existing(self, reader: LogReader, var: VarStore, batch: int = 1000) -> int:
        """Give every stored version a leaf, once: only while the tree is still empty (a register upgraded to
        this version), in registration order. Afterwards a row without a leaf is never adopted: `verify`
        reports it as inserted behind the register's back. Returns the number of leaves appended."""
        async with self.db.writing() as conn:
            await store.lock_log(conn)
            if await store.tree_size(conn):
                return 0
            order = sorted(
                [(t, 0, seq) for seq, t in (await store.registration_times(conn, KIND_ACTIE)).items()]
                + [(t, 1, seq) for seq, t in (await store.registration_times(conn, KIND_ACTIVITEIT)).items()]
            )
            for start in range(0, len(order), batch):
                chunk = order[start : start + batch]
                acties = await reader.by_seq(conn, [seq for _, kind, seq in chunk if kind == 0])
                activiteiten = await var.by_seq(conn, [seq for _, kind, seq in chunk if kind == 1])
                await store.append_leaves(
                    conn,
                    [
                        Leaf(KIND_ACTIE, seq, actie_record(acties[seq]))
                        if kind == 0
                        else Leaf(KIND_ACTIVITEIT, seq, activiteit_record(activiteiten[seq]))
                        for _, kind, seq in chunk
                    ],
                )
        if order:
            log.warning("gave the %d versions stored before the Merkle log their leaves", len(order))
        return len(order)
