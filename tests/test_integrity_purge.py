"""The retention purge (§11, R-RET-1..4) on SQLite and PostgreSQL: what is removed, what stays, and that every
remaining proof, every old checkpoint and `verify` stay valid afterwards."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh, b64, note_root, rfc_verify_consistency, rfc_verify_inclusion
from verwerkingenlog.cli import app as cli
from verwerkingenlog.services.purge import Purger, PurgeReport
from verwerkingenlog.services.verify import Verifier, VerifyReport

fresh = integrity_support.fresh
LONG_AGO = "2000-01-31T12:00:00+01:00"
INTEGRITEIT = "/api/v1/integriteit"


def purge(f: Fresh, dry_run: bool = False) -> PurgeReport:
    state = f.app.state
    report: PurgeReport = f.call(Purger(state.db, state.register.writer).run, dry_run)
    return report


def verify(f: Fresh) -> VerifyReport:
    state = f.app.state

    async def run() -> VerifyReport:
        return await Verifier(state.db, state.register.reader, state.var.store).run(
            await state.integrity.trusted_keys()
        )

    report: VerifyReport = f.call(run)
    return report


def log(f: Fresh, **overrides: Any) -> tuple[dict[str, Any], list[int]]:
    r = f.api.post(actie(new_bsn(), **overrides))
    assert r.status_code == 201, r.text
    return r.json(), [int(r.headers["Leaf-Index"])]


def latest(f: Fresh) -> tuple[str, int, bytes]:
    note = f.api.tc.get(f"{INTEGRITEIT}/checkpoint").text
    return (note, *note_root(note))


def test_purge_removes_expired_lineages_and_keeps_every_proof(fresh: Fresh) -> None:
    """R-RET-1: expired = the current version's tijdstip + bewaartermijn has passed. R-RET-3: all versions of
    the lineage go, recorded as a purge entry (its own leaf). R-RET-4: a vervallen lineage follows the same rule.
    A later version with a longer term keeps the lineage (F4415), and no bewaartermijn means never (R-RET-2).
    The old checkpoint stays consistent with the new one, every remaining proof verifies, and so do the purged
    leaves' proofs (by leaf index): verify reports them as purged, not as tampering."""
    f = fresh
    expired, expired_leaves = log(f, tijdstip=LONG_AGO, bewaartermijn="P1Y")
    deleted, deleted_leaves = log(f, tijdstip=LONG_AGO, bewaartermijn="P1Y")
    deleted_leaves += [int(f.api.delete(deleted["actieId"]).headers["Leaf-Index"])]
    lengthened, _ = log(f, tijdstip=LONG_AGO, bewaartermijn="P1Y")
    assert f.api.patch(lengthened["verwerkingId"], {"bewaartermijn": "P100Y"}).status_code == 204
    forever, _ = log(f, tijdstip=LONG_AGO, bewaartermijn=None)
    recent, _ = log(f)
    f.checkpoint()
    _, before_size, before_root = latest(f)

    dry = purge(f, dry_run=True)
    assert {v.lineage_id for v in dry.lineages} == {expired["actieId"], deleted["actieId"]}
    assert (dry.versies, dry.objecten, dry.entries) == (3, 3, [])
    assert f.api.get(expired["actieId"]).status_code == 200  # a dry run removes nothing

    done = purge(f)
    assert {v.lineage_id for v in done.lineages} == {expired["actieId"], deleted["actieId"]}
    ((entry, own_leaf),) = done.entries
    assert sorted(entry.leaves) == sorted(expired_leaves + deleted_leaves)
    assert (entry.lineages, entry.versies, entry.objecten) == (2, 3, 3)
    assert f.api.get(expired["actieId"]).status_code == 404
    for kept in (lengthened, forever, recent):
        assert f.api.get(kept["actieId"]).status_code == 200, kept
    assert purge(f).entries == []  # nothing left to purge

    f.checkpoint()
    _, size, root = latest(f)
    consistency = f.api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": before_size, "tot": size}).json()
    assert rfc_verify_consistency(before_size, size, before_root, root, [b64(p) for p in consistency["proof"]])
    for index in range(size):
        proof = f.api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": index}).json()
        assert rfc_verify_inclusion(index, size, b64(proof["leafHash"]), [b64(p) for p in proof["proof"]], root), index
    purge_leaf = f.api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": own_leaf}).json()
    assert (purge_leaf["type"], purge_leaf["volgnummer"]) == ("purge", entry.id)
    gone = f.api.request("GET", f"{INTEGRITEIT}/bewijs/inclusie", params={"actieId": expired["actieId"]})
    assert gone.status_code == 404  # the actieId is content, and content is gone; the leaf index still proves

    report = verify(f)
    assert report.ok, report.findings
    assert {(p.leaf_index, p.purge_id) for p in report.purged} == {(i, entry.id) for i in entry.leaves}
    assert {p.detail for p in report.purged} == {f"purged (content removed by purge #{entry.id})"}


def test_only_a_recorded_purge_may_delete(fresh: Fresh) -> None:
    """Migration 0005: even after a purge, the database refuses to delete a row whose leaf no purge lists,
    and the integrity tables refuse UPDATE and DELETE altogether."""
    f = fresh
    kept, _ = log(f)
    log(f, tijdstip=LONG_AGO, bewaartermijn="P1D")
    purge(f)
    f.checkpoint()
    refused = [
        f"DELETE FROM verwerkingsactie_versie WHERE actie_id = '{kept['actieId']}'",
        "DELETE FROM purged_leaf",
        "UPDATE merkle_node SET hash = hash",
        "DELETE FROM merkle_node",
        "UPDATE checkpoint SET note = note",
        "DELETE FROM purge",
    ]
    for statement in refused:
        with pytest.raises(Exception, match="append-only"):
            execute_as_owner(f, statement)
    assert f.api.get(kept["actieId"]).status_code == 200


def execute_as_owner(f: Fresh, statement: str) -> None:
    """Run a statement as the database owner, triggers active (no tampering tricks)."""
    if f.backend == "sqlite":
        con = sqlite3.connect(f.url.removeprefix("sqlite:///"))
        try:
            con.execute(statement)
            con.commit()
        finally:
            con.close()
        return
    import asyncio

    import asyncpg

    async def run() -> None:
        con = await asyncpg.connect(f.url)
        try:
            await con.execute(statement)
        finally:
            await con.close()

    asyncio.run(run())


def test_purge_command_reports_and_supports_dry_run(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    """`verwerkingenlog purge --dry-run` names what would go; `purge` removes it and says which purge recorded
    it; --peilmoment is only allowed with --dry-run (a purge never removes what is not expired yet)."""
    f = fresh
    old, _ = log(f, tijdstip=LONG_AGO, bewaartermijn="P1M")
    young, _ = log(f, bewaartermijn="P1Y", tijdstip="2099-01-01T00:00:00+00:00")
    for name, value in {
        "DATABASE_URL": f.url,
        "PSEUDONYMISATION_KEY": TEST_KEY,
        "CHECKPOINT_KEY_FILE": str(f.key_file),
        "CHECKPOINT_ORIGIN": "register.test/verwerkingenlog",
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    dry = runner.invoke(cli, ["purge", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert [x["lineageId"] for x in json.loads(dry.stdout)["lineages"]] == [old["actieId"]]
    later = runner.invoke(cli, ["purge", "--dry-run", "--json", "--peilmoment", "2100-06-01T00:00:00Z"])
    assert {x["lineageId"] for x in json.loads(later.stdout)["lineages"]} == {old["actieId"], young["actieId"]}
    refused = runner.invoke(cli, ["purge", "--peilmoment", "2100-06-01T00:00:00Z"])
    assert refused.exit_code == 2 and "--dry-run" in refused.output
    done = runner.invoke(cli, ["purge"])
    assert done.exit_code == 0, done.output
    assert "Purged 1 actions (1 versions, 1 objects)" in done.output and "purge #1" in done.output
    assert f.api.get(old["actieId"]).status_code == 404 and f.api.get(young["actieId"]).status_code == 200
    assert runner.invoke(cli, ["verify"]).exit_code == 0
