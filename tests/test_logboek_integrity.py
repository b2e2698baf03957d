"""The Logius fields of an OTLP entry (table logboekregel) as first-class log content, on SQLite and PostgreSQL.

Each logboekregel row is a leaf of the Merkle log of its own (docs/integrity.md §2, kind ``logboekregel``),
appended with its action's version: `verify` names a changed, deleted or inserted row; the database refuses
UPDATE and any DELETE a recorded purge does not list; the retention purge removes the row with its lineage and
every proof stays valid. Migration 0008 numbers the rows stored before it and appends their leaves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import _prepare, make_settings
from tests.helpers import new_bsn
from tests.integrity_support import Fresh, b64, note_root, rfc_verify_consistency, rfc_verify_inclusion
from tests.logboek_support import dpl, pb_request, pb_response, pb_span
from tests.test_integrity_purge import execute_as_owner
from tests.test_integrity_verifier import cli_env, run_verifier
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.services import tokens
from verwerkingenlog.services.purge import Purger, PurgeReport
from verwerkingenlog.services.verify import ALTERED, INSERTED, MISSING, Verifier, VerifyReport
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database

fresh = integrity_support.fresh
PROTOBUF = {"Content-Type": "application/x-protobuf"}
INTEGRITEIT = "/api/v1/integriteit"
LONG_AGO_NS = 946_684_800_000_000_000  # 2000-01-01T00:00:00Z


def export(f: Fresh, *spans: Any) -> None:
    r = f.api.request("POST", "/v1/traces", "normaal", headers=PROTOBUF, content=pb_request(*spans))
    assert r.status_code == 200, r.text
    assert pb_response(r.content).partial_success.rejected_spans == 0


def error_span(bsn: str, **extra: Any) -> Any:
    """A child span that failed, with an exception and a processor: every kept Logius field set."""
    span = pb_span(
        "Opvragen BRP",
        start_ns=1_712_324_142_000_000_123,
        end_ns=1_712_324_142_250_000_000,
        **dpl(bsn, **extra),
        dpl__core__foreign_operation__processor="https://brp.example.nl/api",
        exception__type="TimeoutError",
        exception__message="BRP antwoordde niet binnen 5 s",
    )
    span.parent_span_id = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    span.status.code = 2
    span.status.message = "Basisregistratie niet bereikbaar"
    return span


def regels(f: Fresh) -> dict[str, tuple[int, str, str]]:
    """span id → (seq, lineage, status) of every stored logboekregel row."""
    rows = f.rows("SELECT span_id, seq, lineage_id, status FROM logboekregel")
    return {str(r[0]): (int(r[1]), str(r[2]), str(r[3])) for r in rows}


def leaf_of(f: Fresh, kind: str, ref: int) -> tuple[int, bytes]:
    ((idx, digest),) = f.rows(f"SELECT idx, hash FROM merkle_node WHERE level = 0 AND kind = '{kind}' AND ref = {ref}")
    return int(idx), bytes(digest)


def run_verify(f: Fresh) -> VerifyReport:
    state = f.app.state

    async def run() -> VerifyReport:
        keys = await state.integrity.trusted_keys()
        return await Verifier(state.db, state.register.reader, state.var.store, batch=3).run(keys)

    report: VerifyReport = f.call(run)
    return report


def purge(f: Fresh) -> PurgeReport:
    state = f.app.state
    report: PurgeReport = f.call(Purger(state.db, state.register.writer).run)
    return report


def test_an_otlp_span_is_two_leaves_and_its_logboekregel_leaf_is_provable(fresh: Fresh) -> None:
    """The span's version and its logboekregel are appended together; the logboekregel leaf is the SHA-256 of the
    record of docs/integrity.md §2 (built here by hand), and its inclusion proof verifies by RFC 9162."""
    f = fresh
    span = error_span(new_bsn())
    export(f, span)
    (span_id,) = regels(f)
    seq, lineage, status = regels(f)[span_id]
    assert (span_id, status) == (span.span_id.hex(), "Error")
    version_leaf, _ = leaf_of(f, "verwerkingsactie", int(f.rows("SELECT MAX(seq) FROM verwerkingsactie_versie")[0][0]))
    index, stored = leaf_of(f, "logboekregel", seq)
    assert index == version_leaf + 1

    record = {
        "type": "logboekregel",
        "formaat": 1,
        "volgnummer": seq,
        "lineageId": lineage,
        "clientId": "normaal",
        "traceId": span.trace_id.hex(),
        "spanId": span_id,
        "parentSpanId": "0102030405060708",
        "status": "Error",
        "statusMessage": "Basisregistratie niet bereikbaar",
        "startTimeUnixNano": "1712324142000000123",
        "endTimeUnixNano": "1712324142250000000",
        "processor": "https://brp.example.nl/api",
        "resource": {"service.name": "handmade"},
        "attributes": {
            "dpl.core.processing_activity_id": dict(dpl(None))["dpl__core__processing_activity_id"],
            "dpl.core.foreign_operation.processor": "https://brp.example.nl/api",
            "exception.type": "TimeoutError",
            "exception.message": "BRP antwoordde niet binnen 5 s",
        },
    }
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert stored == hashlib.sha256(b"\x00" + canonical).digest()

    f.checkpoint(True)
    proof = f.api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": index}).json()
    assert (proof["type"], proof["volgnummer"]) == ("logboekregel", seq)
    size, root = note_root(proof["checkpoint"])
    assert rfc_verify_inclusion(index, size, b64(proof["leafHash"]), [b64(h) for h in proof["proof"]], root)
    assert b64(proof["leafHash"]) == stored
    assert run_verify(f).ok


def test_verify_names_a_changed_a_deleted_and_an_inserted_logboekregel(fresh: Fresh) -> None:
    """Someone with database access changes one row's status, deletes another and inserts a third: verify
    reports each, naming the action's lineage and the span (or the row's number once it is gone)."""
    f = fresh
    export(f, error_span(new_bsn()), pb_span("Tweede", **dpl(new_bsn())), pb_span("Derde", **dpl(new_bsn())))
    f.checkpoint(True)
    assert run_verify(f).ok
    (changed, c_seq), (_, d_seq), _ = sorted(((s, v[0]) for s, v in regels(f).items()), key=lambda x: x[1])
    c_lineage = regels(f)[changed][1]
    c_leaf, _ = leaf_of(f, "logboekregel", c_seq)
    d_leaf, _ = leaf_of(f, "logboekregel", d_seq)
    intruder = uuid.uuid4()
    f.tamper(
        f"UPDATE logboekregel SET status_message = 'Alles in orde' WHERE seq = {c_seq}",
        f"DELETE FROM logboekregel WHERE seq = {d_seq}",
        "INSERT INTO logboekregel (lineage_id, trace_id, span_id, parent_span_id, status, status_message, start_ns, "
        "end_ns, processor, resource, attributes, client_id, seq) VALUES "
        f"('{intruder}', '{intruder.hex}', 'ffffffffffffffff', NULL, 'Ok', NULL, 1, 2, NULL, '{{}}', '{{}}', "
        "'normaal', 999)",
    )
    report = run_verify(f)
    found = {(x.what, x.leaf_index, x.kind, x.ref, x.entry) for x in report.findings}
    assert found == {
        (ALTERED, c_leaf, "logboekregel", c_seq, f"{c_lineage} (span {changed})"),
        (MISSING, d_leaf, "logboekregel", d_seq, f"logboekregel {d_seq}"),
        (INSERTED, None, "logboekregel", 999, f"{intruder} (span ffffffffffffffff)"),
    }


def test_the_database_refuses_to_change_or_delete_a_logboekregel(fresh: Fresh) -> None:
    """Migration 0008: UPDATE is refused; DELETE only of a row whose leaf a recorded purge lists."""
    f = fresh
    export(f, error_span(new_bsn()))
    for statement in ("UPDATE logboekregel SET status = 'Ok'", "DELETE FROM logboekregel"):
        with pytest.raises(Exception, match="append-only"):
            execute_as_owner(f, statement)
    assert [v[2] for v in regels(f).values()] == ["Error"]


def test_purge_removes_the_logboekregel_with_its_lineage_and_every_proof_stays_valid(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-RET-3: an expired OTLP entry goes whole, its logboekregel included (its leaf listed in the purge);
    the entry that has not expired keeps its row; verify passes and reports both leaves as purged; the old
    checkpoint is consistent with the new one and the purged logboekregel leaf's proof still verifies."""
    f = fresh
    expired = error_span(new_bsn(), verwerkingenlog__bewaartermijn="P1D")
    expired.start_time_unix_nano, expired.end_time_unix_nano = LONG_AGO_NS, LONG_AGO_NS + 1000
    kept = pb_span("Blijft", **dpl(new_bsn(), verwerkingenlog__bewaartermijn="P100Y"))
    export(f, expired, kept)
    gone_seq, gone_lineage, _ = regels(f)[expired.span_id.hex()]
    gone_leaf, gone_hash = leaf_of(f, "logboekregel", gone_seq)
    old = f.checkpoint(True)
    cli_env(f, monkeypatch)
    dry = CliRunner().invoke(cli, ["purge", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert (json.loads(dry.stdout)["versies"], json.loads(dry.stdout)["logboekregels"]) == (1, 1)
    assert regels(f)[expired.span_id.hex()][0] == gone_seq  # a dry run removes nothing

    report = purge(f)
    assert (report.versies, report.logboekregels, len(report.entries)) == (1, 1, 1)
    ((entry, own),) = report.entries
    version_leaf = int(
        f.rows(
            f"SELECT idx FROM merkle_node WHERE level = 0 AND kind = 'verwerkingsactie' "
            f"AND idx < {gone_leaf} ORDER BY idx LIMIT 1"
        )[0][0]
    )
    assert sorted(entry.leaves) == [version_leaf, gone_leaf]
    assert set(regels(f)) == {kept.span_id.hex()}
    assert f.rows(f"SELECT COUNT(*) FROM verwerkingsactie_versie WHERE lineage_id = '{gone_lineage}'") == [(0,)]

    new = f.checkpoint(True)
    verified = run_verify(f)
    assert verified.ok, verified.findings
    assert {(p.leaf_index, p.kind, p.purge_id) for p in verified.purged} == {
        (version_leaf, "verwerkingsactie", entry.id),
        (gone_leaf, "logboekregel", entry.id),
    }
    proof = f.api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": old.tree_size}).json()
    assert rfc_verify_consistency(
        old.tree_size, new.tree_size, old.root_hash, new.root_hash, [b64(h) for h in proof["proof"]]
    )
    inclusion = f.api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": gone_leaf}).json()
    assert b64(inclusion["leafHash"]) == gone_hash and own > gone_leaf
    size, root = note_root(inclusion["checkpoint"])
    assert rfc_verify_inclusion(gone_leaf, size, gone_hash, [b64(h) for h in inclusion["proof"]], root)


def test_migration_0008_numbers_existing_rows_and_appends_their_leaves(
    backend: tuple[str, str], fresh_database: str
) -> None:
    """Rows stored before 0008 get a seq in registration order (here: no action left, so by span start) and a
    leaf each at the end of the tree; afterwards verify passes and new rows continue the numbering. Rows whose
    lineage an earlier purge removed (as purges before 0008 did) go with the next purge, recorded."""
    columns = (
        "lineage_id, trace_id, span_id, parent_span_id, status, status_message, start_ns, end_ns, processor, "
        "resource, attributes, client_id"
    )
    later, earlier = uuid.uuid4(), uuid.uuid4()

    async def before_and_after() -> list[tuple[Any, ...]]:
        db = Database(fresh_database)
        try:
            await migrate.upgrade(db, "0007")
            async with db.engine.begin() as conn:
                for lineage, start in ((later, 2_000), (earlier, 1_000)):
                    await conn.execute(
                        text(
                            f"INSERT INTO logboekregel ({columns}) VALUES (:l, :t, :s, NULL, 'Ok', NULL, :a, :b, "
                            "NULL, :r, :at, 'normaal')"
                        ),
                        {
                            "l": str(lineage),
                            "t": lineage.hex,
                            "s": lineage.hex[:16],
                            "a": start,
                            "b": start + 1,
                            "r": json.dumps({"service.name": "oud"}),
                            "at": json.dumps({"big": 2**62, "ratio": 0.25}),
                        },
                    )
            await migrate.upgrade(db)
            async with db.engine.connect() as conn:
                return [
                    tuple(r)
                    for r in await conn.execute(
                        text(
                            "SELECT r.lineage_id, r.seq, n.idx FROM logboekregel r JOIN merkle_node n "
                            "ON n.kind = 'logboekregel' AND n.ref = r.seq AND n.level = 0 ORDER BY r.seq"
                        )
                    )
                ]
        finally:
            await db.dispose()

    rows = asyncio.run(before_and_after())
    assert rows == [(str(earlier), 1, 0), (str(later), 2, 1)]
    clients = asyncio.run(_prepare(fresh_database))
    with TestClient(create_app(make_settings(fresh_database)), base_url="http://testserver") as tc:
        headers = {**PROTOBUF, "Authorization": f"Bearer {tokens.issue(clients['normaal'])}"}
        sent = tc.post("/v1/traces", content=pb_request(pb_span("Nieuw", **dpl(new_bsn()))), headers=headers)
        assert pb_response(sent.content).partial_success.rejected_spans == 0
        state: Any = tc.app.state  # type: ignore[attr-defined]

        async def verify() -> VerifyReport:
            return await Verifier(state.db, state.register.reader, state.var.store).run([])

        report: VerifyReport = tc.portal.call(verify)  # type: ignore[union-attr]
        assert report.ok and report.tree_size == 4, report.findings  # 2 backfilled, then a version and its row

    with_leaves = integrity_support.query(
        backend[0],
        fresh_database,
        "SELECT r.seq, n.idx FROM logboekregel r JOIN merkle_node n "
        "ON n.kind = 'logboekregel' AND n.ref = r.seq AND n.level = 0 ORDER BY r.seq",
    )
    assert [tuple(r) for r in with_leaves] == [(1, 0), (2, 1), (3, 3)]

    # Both old rows belong to lineages with no version left (as a purge before 0008 left them): the next purge
    # removes them in a purge of their own, R-RET-3, and the entry with its action stays.
    with TestClient(create_app(make_settings(fresh_database)), base_url="http://testserver") as tc:
        state = tc.app.state  # type: ignore[attr-defined]
        dry: PurgeReport = tc.portal.call(Purger(state.db, state.register.writer).run, True)  # type: ignore[union-attr]
        assert (dry.logboekregels, dry.entries) == (2, [])
        done: PurgeReport = tc.portal.call(Purger(state.db, state.register.writer).run)  # type: ignore[union-attr]
        ((entry, own),) = done.entries
        assert (done.logboekregels, done.versies, sorted(entry.leaves), own) == (2, 0, [0, 1], 4)
        assert entry.criterium.startswith("R-RET-3")
        report = tc.portal.call(verify)  # type: ignore[union-attr]
        assert report.ok, report.findings
        assert {(p.leaf_index, p.kind) for p in report.purged} == {(0, "logboekregel"), (1, "logboekregel")}
    remaining = integrity_support.query(backend[0], fresh_database, "SELECT seq FROM logboekregel")
    assert [tuple(r) for r in remaining] == [(3,)]


def test_the_standalone_verifier_checks_a_logboekregel_and_names_a_changed_or_deleted_one(fresh: Fresh) -> None:
    """python -m verwerkingenlog.verifier, with only the HTTP API and the register's key: for an OTLP entry it
    also proves the logboekregel's leaf and that the API shows exactly what the leaf covers; a row changed in
    the database fails, naming the action and the span; a deleted one fails by its leaf index."""
    f = fresh
    span = error_span(new_bsn())
    export(f, span)
    seq, lineage, _ = regels(f)[span.span_id.hex()]
    index, _ = leaf_of(f, "logboekregel", seq)
    ((actie_id,),) = f.rows(f"SELECT actie_id FROM verwerkingsactie_versie WHERE lineage_id = '{lineage}'")
    f.checkpoint(True)
    vkey = f.api.tc.get(f"{INTEGRITEIT}/sleutels", headers={"Accept": "text/plain"}).text.strip()
    token = f.api.tokens["alles"]
    name = f"{lineage} (span {span.span_id.hex()})"

    by_action = ("--key", vkey, "--actie-id", str(actie_id), "--token", token, "--client-id", "normaal")
    code, said = run_verifier(f, *by_action)
    assert code == 0, said
    assert [line.split(":")[0] for line in said] == ["OK checkpoint", "OK inclusion", "OK content", "OK logboekregel"]
    assert said[-1] == f"OK logboekregel: the logboekregel of {name} is leaf {index}, exactly as the API shows it"
    code, said = run_verifier(f, "--key", vkey, "--leaf-index", str(index), "--token", token)
    assert code == 0 and said[-1].startswith(f"OK logboekregel: the logboekregel of {name}"), said
    # The record is for read:confidential only, like the version history.
    denied = f.api.tc.get(
        f"{INTEGRITEIT}/logboekregel",
        params={"leafIndex": index},
        headers={"Authorization": f"Bearer {f.api.tokens['normaal']}"},
    )
    assert denied.status_code == 403

    f.tamper(f"UPDATE logboekregel SET status = 'Ok', status_message = NULL WHERE seq = {seq}")
    code, said = run_verifier(f, *by_action)
    assert code == 1
    assert said[-1] == f"FAILED the logboekregel of {name} the API shows is not what leaf {index} covers"

    f.tamper(f"DELETE FROM logboekregel WHERE seq = {seq}")
    code, said = run_verifier(f, "--key", vkey, "--leaf-index", str(index), "--token", token)
    assert code == 1
    assert said[-1] == (
        f"FAILED GET /integriteit/logboekregel: HTTP 404: The register has no row for leaf {index}, "
        "and no purge removed it."
    )
