"""Property test: any interleaving of appends, changes, purges, checkpoints and the passing of time keeps the
register's Merkle log consistent (a real SQLite register, driven through its services).

After every step: `verify` finds nothing and reports exactly the purged leaves; stored leaf hashes never
change; every checkpoint is consistent with the latest and every leaf (purged or not) has an inclusion proof
in it, both checked with the independent RFC 9162 verifier; purged lineages are exactly those a simple model
of R-RET-1 (tijdstip + a whole number of days, of the current version) says have expired.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.integrity_support import note_root, rfc_verify_consistency, rfc_verify_inclusion
from verwerkingenlog.domain.model import Actiegegevens, Caller, NieuwObject
from verwerkingenlog.domain.scopes import ALL_SCOPES
from verwerkingenlog.domain.values import Vertrouwelijkheid, to_epoch_us
from verwerkingenlog.integrity.merkle import NodeID
from verwerkingenlog.services.integrity import Integrity
from verwerkingenlog.services.purge import Purger
from verwerkingenlog.services.register import Register
from verwerkingenlog.services.verify import Verifier
from verwerkingenlog.store import integrity as store
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.pseudonymisation import Pseudonymiser
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.var import VarStore
from verwerkingenlog.store.write import LogWriter

START = datetime(2030, 1, 1, tzinfo=UTC)
CALLER = Caller("eigenschap", frozenset(ALL_SCOPES))
TEMPLATE: dict[str, Path] = {}
WORK = Path(__file__).resolve().parents[1] / ".hypothesis" / "integrity-registers"


def template() -> Path:
    """One migrated, empty SQLite register, copied for every example (migrating each time is slow)."""
    if "db" not in TEMPLATE:
        WORK.mkdir(parents=True, exist_ok=True)
        path = WORK / f"template-{uuid.uuid4().hex}.db"
        db = Database(f"sqlite:///{path}")

        async def prepare() -> None:
            await migrate.upgrade(db)
            await db.dispose()

        asyncio.run(prepare())
        TEMPLATE["db"] = path
    return TEMPLATE["db"]


class Lineage:
    def __init__(self, actie_id: str, verwerking_id: str, tijdstip: datetime, days: int | None) -> None:
        self.actie_id, self.verwerking_id, self.tijdstip, self.days = actie_id, verwerking_id, tijdstip, days
        self.purged = False
        self.deleted = False

    def expired(self, now: datetime) -> bool:
        """R-RET-1 for whole days, computed independently of domain.retention."""
        return self.days is not None and self.tijdstip + timedelta(days=self.days) <= now


class RegisterLog(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.path = WORK / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(template(), self.path)
        self.db = Database(f"sqlite:///{self.path}")
        codec = RowCodec(Pseudonymiser(b"k" * 32))
        self.now = START
        clock = self.clock_us
        self.register = Register(self.db, LogReader(codec), LogWriter(codec), None, clock=clock)
        key_file = self.path.with_suffix(".key")
        self.integrity = Integrity(self.db, "eigenschap.test/verwerkingenlog", key_file, clock=clock)
        self.purger = Purger(self.db, self.register.writer, clock=clock)
        self.lineages: list[Lineage] = []
        self.leaf_hashes: list[bytes] = []
        self.checkpoints: list[str] = []

    def clock_us(self) -> int:
        return to_epoch_us(self.now)

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()
        for path in (self.path, self.path.with_suffix(".key")):
            path.unlink(missing_ok=True)

    def record_new_leaves(self) -> None:
        async def stored() -> list[bytes]:
            async with self.db.reading() as conn:
                size = await store.tree_size(conn)
                return await store.get_nodes(conn, [NodeID(0, i) for i in range(size)])

        hashes = self.run(stored())
        assert hashes[: len(self.leaf_hashes)] == self.leaf_hashes  # never changed, never removed
        self.leaf_hashes = hashes

    @initialize()
    def start(self) -> None:
        self.record_new_leaves()

    @rule(age=st.integers(0, 60), days=st.sampled_from([None, 1, 7, 30]))
    def log_action(self, age: int, days: int | None) -> None:
        tijdstip = self.now - timedelta(days=age)
        verwerking = str(uuid.uuid4())
        gegevens = Actiegegevens(
            tijdstip=tijdstip.isoformat(),
            tijdstip_us=to_epoch_us(tijdstip),
            vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
            verwerking_id=verwerking,
            bewaartermijn=None if days is None else f"P{days}D",
        )
        version = self.run(self.register.create(CALLER, gegevens, [NieuwObject("persoon", "BSN", "999990001")]))
        self.lineages.append(Lineage(version.actie_id, verwerking, tijdstip, days))
        self.record_new_leaves()

    def _visible(self) -> list[Lineage]:
        return [x for x in self.lineages if not x.purged and not x.deleted]

    @precondition(lambda self: self._visible())
    @rule(data=st.data())
    def lengthen(self, data: st.DataObject) -> None:
        """A later version with a longer term (F4415): the lineage now lives 100 years."""
        lineage = data.draw(st.sampled_from(self._visible()))
        self.run(self.register.patch(CALLER, lineage.verwerking_id, "P36500D", None))
        lineage.days = 36500
        self.record_new_leaves()

    @precondition(lambda self: self._visible())
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        """R-RET-4: a vervallen lineage is purged by the same rule."""
        lineage = data.draw(st.sampled_from(self._visible()))
        self.run(self.register.delete(CALLER, lineage.actie_id))
        lineage.deleted = True
        self.record_new_leaves()

    @rule(days=st.integers(1, 40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule()
    def purge(self) -> None:
        report = self.run(self.purger.run())
        expected = {x.actie_id for x in self.lineages if not x.purged and x.expired(self.now)}
        assert {v.lineage_id for v in report.lineages} == expected
        event("purge removed lineages" if expected else "purge found nothing expired")
        for lineage in self.lineages:
            lineage.purged = lineage.purged or lineage.actie_id in expected
        self.record_new_leaves()

    @rule()
    def checkpoint(self) -> None:
        signed = self.run(self.integrity.sign_checkpoint(force=True))
        self.checkpoints.append(signed.note)

    @invariant()
    def verify_finds_nothing(self) -> None:
        async def check() -> Any:
            keys = await self.integrity.trusted_keys()
            return await Verifier(self.db, self.register.reader, VarStore(), batch=3).run(keys, self.checkpoints)

        report = self.run(check())
        assert report.ok, report.findings
        assert report.tree_size == len(self.leaf_hashes)

    @invariant()
    def purged_content_is_gone_and_the_rest_is_there(self) -> None:
        async def current(actie_id: str) -> Any:
            async with self.db.reading() as conn:
                lineage = await self.register.reader.lineage_of(conn, actie_id)
                return None if lineage is None else await self.register.reader.current(conn, lineage)

        for lineage in self.lineages:
            found = self.run(current(lineage.actie_id))
            assert (found is None) == lineage.purged, lineage.actie_id

    @invariant()
    def every_proof_verifies_against_the_latest_checkpoint(self) -> None:
        if not self.checkpoints:
            return
        size, root = note_root(self.checkpoints[-1])
        for note in self.checkpoints:
            old_size, old_root = note_root(note)
            proof = self.run(self.integrity.consistency(old_size, size)).proof
            assert old_size == 0 or rfc_verify_consistency(old_size, size, old_root, root, proof)
        for index in range(size):
            proof = self.run(self.integrity.inclusion(leaf_index=index))
            assert proof.leaf_hash == self.leaf_hashes[index]
            assert rfc_verify_inclusion(index, size, proof.leaf_hash, proof.proof, root)


TestRegisterLog = RegisterLog.TestCase
TestRegisterLog.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
