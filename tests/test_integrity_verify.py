"""`verwerkingenlog verify` against tampering done directly in the database, on SQLite and PostgreSQL.

Each case is what someone with database access (past the append-only triggers) could do: change a field, change
an object, delete a version, insert one, swap the order of two entries, rewrite a leaf hash, drop the newest
entry, hide a checkpoint. After each, verify must report exactly the new finding and name the entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh, rfc_node
from tests.var_support import activiteit, new_oin
from verwerkingenlog.cli import app as cli
from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.records import activiteit_record
from verwerkingenlog.integrity.witness import parse_witness_file
from verwerkingenlog.services.integrity import InconsistentLog
from verwerkingenlog.services.verify import (
    ALTERED,
    CHECKPOINT,
    INSERTED,
    MISSING,
    OUT_OF_ORDER,
    TREE,
    WITNESS,
    Verifier,
    VerifyReport,
)

fresh = integrity_support.fresh


def run_verify(f: Fresh, witness: Sequence[str] = ()) -> VerifyReport:
    state = f.app.state

    async def run() -> VerifyReport:
        keys = await state.integrity.trusted_keys()
        return await Verifier(state.db, state.register.reader, state.var.store, batch=4).run(keys, witness)

    report: VerifyReport = f.call(run)
    return report


def named(report: VerifyReport) -> set[tuple[str, int | None, str | None]]:
    """(finding, leaf index, entry) of every finding about an entry."""
    return {(x.what, x.leaf_index, x.entry) for x in report.findings if x.what not in (TREE, CHECKPOINT, WITNESS)}


def log_action(f: Fresh, **overrides: Any) -> tuple[dict[str, Any], int]:
    r = f.api.post(actie(new_bsn(), **overrides))
    assert r.status_code == 201, r.text
    return r.json(), int(r.headers["Leaf-Index"])


def seq_of(f: Fresh, actie_id: str) -> int:
    ((seq,),) = f.rows(f"SELECT seq FROM verwerkingsactie_versie WHERE actie_id = '{actie_id}'")
    return int(seq)


def test_verify_names_every_kind_of_tampering(fresh: Fresh) -> None:
    """Change a field, change an object, delete a row, insert a row, reorder two entries: each is reported as
    exactly one new finding per affected leaf, naming its leaf index and actieId (or volgnummer when the row is
    gone). Then a leaf hash rewritten to match altered content: the tree and the checkpoint catch it, and the
    register refuses to sign a checkpoint over the tampered tree."""
    f = fresh
    entries = [log_action(f) for _ in range(6)]
    (a, la), (b, lb), (c, lc), (d, _), (e, le), (g, lg) = entries
    var = f.api.request("POST", "/api/v1/verwerkingsactiviteiten", "var-write", json=activiteit(new_oin()))
    var_leaf = int(var.headers["Leaf-Index"])
    log_action(f)  # completes the subtree over leaves 0…7, so the VAR leaf lies below stored nodes
    f.checkpoint()
    clean = run_verify(f)
    assert clean.ok and clean.tree_size == 8 and clean.matched_size == 8, clean.findings
    expected: set[tuple[str, int | None, str | None]] = set()

    f.tamper(f"UPDATE verwerkingsactie_versie SET actie_naam = 'Niets gebeurd' WHERE actie_id = '{a['actieId']}'")
    expected.add((ALTERED, la, a["actieId"]))
    assert named(run_verify(f)) == expected

    object_id = b["verwerkteObjecten"][0]["verwerktObjectId"]
    f.tamper(f"UPDATE verwerkt_object SET betrokkenheid = 'Getuige' WHERE verwerkt_object_id = '{object_id}'")
    expected.add((ALTERED, lb, b["actieId"]))
    assert named(run_verify(f)) == expected

    seq_c = seq_of(f, c["actieId"])
    f.tamper(
        f"DELETE FROM verwerkt_object WHERE versie_seq = {seq_c}",
        f"DELETE FROM verwerkingsactie_versie WHERE seq = {seq_c}",
    )
    expected.add((MISSING, lc, f"volgnummer {seq_c}"))
    assert named(run_verify(f)) == expected

    seq_d, forged = seq_of(f, d["actieId"]), "00000000-0000-4000-8000-00000000f0f0"
    f.tamper(
        "INSERT INTO verwerkingsactie_versie (seq, actie_id, lineage_id, versie, vervallen, tijdstip_registratie_us, "
        "client_id, tijdstip, tijdstip_us, vertrouwelijkheid, actie_naam) "
        f"SELECT 900, '{forged}', '{forged}', 1, vervallen, tijdstip_registratie_us, client_id, tijdstip, tijdstip_us, "
        f"vertrouwelijkheid, 'Ingevoegd' FROM verwerkingsactie_versie WHERE seq = {seq_d}"
    )
    report = run_verify(f)
    inserted = [x for x in report.findings if x.what == INSERTED]
    assert [(x.ref, x.entry, x.kind) for x in inserted] == [(900, forged, "verwerkingsactie")]
    assert named(report) == expected | {(INSERTED, None, forged)}
    expected.add((INSERTED, None, forged))

    seq_e, seq_g = seq_of(f, e["actieId"]), seq_of(f, g["actieId"])
    f.tamper(  # swap which rows two leaves cover: the log's order
        f"UPDATE merkle_node SET ref = -1 WHERE level = 0 AND idx = {le}",
        f"UPDATE merkle_node SET ref = {seq_e} WHERE level = 0 AND idx = {lg}",
        f"UPDATE merkle_node SET ref = {seq_g} WHERE level = 0 AND idx = {le}",
    )
    report = run_verify(f)
    expected |= {(OUT_OF_ORDER, le, g["actieId"]), (OUT_OF_ORDER, lg, e["actieId"])}
    assert named(report) == expected
    moved = {x.leaf_index: x.detail for x in report.findings if x.what == OUT_OF_ORDER}
    assert f"leaf {lg}" in moved[le] and f"leaf {le}" in moved[lg]
    assert not [x for x in report.findings if x.what in (TREE, CHECKPOINT)]  # the stored tree itself is intact

    # Alter the VAR version and rewrite its leaf hash to match: the row now "verifies", the tree does not.
    state = f.app.state

    async def var_version() -> Any:
        async with state.db.reading() as conn:
            return (await state.var.store.by_seq(conn, [1]))[1]

    version = f.call(var_version)
    f.tamper(f"UPDATE verwerkingsactiviteit_versie SET doel = 'Iets anders' WHERE seq = {version.seq}")
    altered = replace(version, gegevens=replace(version.gegevens, doel="Iets anders"))
    forged_leaf = record_leaf_hash(activiteit_record(altered)).hex()
    literal = f"X'{forged_leaf}'" if f.backend == "sqlite" else f"'\\x{forged_leaf}'::bytea"
    f.tamper(f"UPDATE merkle_node SET hash = {literal} WHERE level = 0 AND idx = {var_leaf}")
    report = run_verify(f)
    assert named(report) == expected  # the row matches its (rewritten) leaf …
    assert {x.detail.split(" over ")[0] for x in report.findings if x.what == TREE} == {
        "stored node (level 1, index 3)",  # … but not the nodes above it
        "stored node (level 2, index 1)",
        "stored node (level 3, index 0)",
    }
    (mismatch,) = [x for x in report.findings if x.what == CHECKPOINT]
    assert "checkpoint #1 (tree size 8) does not match" in mismatch.detail

    # Rewrite every node above the leaves too: a consistent tree, but not the one the register signed.
    rewrite_tree(f)
    report = run_verify(f)
    assert named(report) == expected and not [x for x in report.findings if x.what == TREE]
    assert [x.what for x in report.findings if x.what not in (ALTERED, MISSING, INSERTED, OUT_OF_ORDER)] == [CHECKPOINT]
    with pytest.raises(InconsistentLog):  # and the register refuses to sign over it
        f.checkpoint(True)


def rewrite_tree(f: Fresh) -> None:
    """Recompute and store every interior node from the stored leaf hashes (RFC 9162 §2.1.1)."""
    level = [bytes(h) for (h,) in f.rows("SELECT hash FROM merkle_node WHERE level = 0 ORDER BY idx")]
    statements, height = [], 0
    while len(level) > 1:
        height += 1
        level = [rfc_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        for index, value in enumerate(level):
            literal = f"X'{value.hex()}'" if f.backend == "sqlite" else f"'\\x{value.hex()}'::bytea"
            statements.append(f"UPDATE merkle_node SET hash = {literal} WHERE level = {height} AND idx = {index}")
    f.tamper(*statements)


def test_removed_entries_and_hidden_checkpoints_are_found(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping the newest entry with all its traces leaves the tree smaller than a signed checkpoint; hiding
    a checkpoint from the register's table is caught by the witness copy. The CLI reports it, exit code 1."""
    f = fresh
    log_action(f)
    f.checkpoint()
    last, leaf = log_action(f)
    f.checkpoint()
    notes = parse_witness_file(f.witness_file.read_text(encoding="utf-8"))
    assert len(notes) == 2 and run_verify(f, notes).ok

    f.tamper("DELETE FROM checkpoint WHERE id = 2")
    report = run_verify(f, notes)
    assert [x.what for x in report.findings] == [WITNESS]
    assert (
        "witness checkpoint 2 is signed by the register but missing from its checkpoint table"
        in report.findings[0].detail
    )

    seq = seq_of(f, last["actieId"])
    f.tamper(
        f"DELETE FROM verwerkt_object WHERE versie_seq = {seq}",
        f"DELETE FROM verwerkingsactie_versie WHERE seq = {seq}",
        f"DELETE FROM merkle_node WHERE (level = 0 AND idx = {leaf}) OR (level = 1 AND idx = {leaf // 2})",
    )
    report = run_verify(f, notes)
    assert any(x.what == WITNESS and f"leaves {leaf}…{leaf}" in x.detail for x in report.findings), report.findings

    monkeypatch.setenv("DATABASE_URL", f.url)
    monkeypatch.setenv("PSEUDONYMISATION_KEY", TEST_KEY)
    monkeypatch.setenv("CHECKPOINT_KEY_FILE", str(f.key_file))
    monkeypatch.setenv("CHECKPOINT_ORIGIN", "register.test/verwerkingenlog")
    runner = CliRunner()
    result = runner.invoke(cli, ["verify", "--witness", str(f.witness_file), "--json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    assert not found["ok"] and found["treeSize"] == 1 and found["witnessCheckpoints"] == 2
    assert any("leaves 1…1 were removed" in x["detail"] for x in found["findings"])
    human = runner.invoke(cli, ["verify", "--witness", str(f.witness_file)])
    assert human.exit_code == 1 and "finding(s)" in human.output
