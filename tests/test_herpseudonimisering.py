"""Issue 19.3 on SQLite and PostgreSQL: objectIds an older version stored in the clear (every soortObjectId but
exactly `BSN`, also through the register's own logging of a read) are re-stored pseudonymised by `verwerkingenlog
migrate`, once, recorded in the log as a leaf of its own (docs/integrity.md §14): every earlier proof and
checkpoint stays valid, `verify` stays clean, and the database still refuses any other change of those rows."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh, b64, note_root, rfc_verify_consistency, rfc_verify_inclusion
from tests.test_integrity_purge import verify
from tests.test_pseudonymisation_spellings import _raw_database
from verwerkingenlog.cli import app as cli
from verwerkingenlog.store.pseudonymisation import Pseudonymiser

fresh = integrity_support.fresh
INTEGRITEIT = "/api/v1/integriteit"
ACTIES = "/api/v1/verwerkingsacties"


class EarlierRule(Pseudonymiser):
    """The rule of the versions before issue 19.3, as they stored rows: only a soortObjectId spelled `bsn` (any
    case) pseudonymised, and the blind index over the kind exactly as supplied."""

    def protects_object(self, objecttype: str, soort: str | None) -> bool:
        return soort is not None and soort.lower() == "bsn"

    def sleutel(self, soort: str, object_id: str) -> bytes:
        return self._hmac(soort, object_id)


def _persons(soort: str, *ids: str) -> list[dict[str, str]]:
    return [{"objecttype": "persoon", "soortObjectId": soort, "objectId": i} for i in ids]


def _written_by_the_earlier_version(f: Fresh, secrets: dict[str, str]) -> dict[str, Any]:
    codec = f.app.state.register.reader.codec
    current = codec.pseudo
    codec.pseudo = EarlierRule(TEST_KEY.encode())
    try:
        body = actie(secrets["bsn"])
        body["verwerkteObjecten"] += _persons("burgerservicenummer", secrets["lang"])
        body["verwerkteObjecten"] += _persons("Personeelsnummer", secrets["personeel"])
        body["verwerkteObjecten"] += _persons("bsn", secrets["klein"])
        created = f.api.create(body)
        read = f.api.request(
            "GET",
            ACTIES,
            params={"objecttype": "persoon", "soortObjectId": "bsn-nummer", "objectId": secrets["gelezen"]},
        )
        assert read.status_code == 200
    finally:
        codec.pseudo = current
    return created


def _cli_env(f: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": f.url,
        "PSEUDONYMISATION_KEY": TEST_KEY,
        "CHECKPOINT_KEY_FILE": str(f.key_file),
        "CHECKPOINT_ORIGIN": "register.test/verwerkingenlog",
    }.items():
        monkeypatch.setenv(name, value)


def test_migrate_re_pseudonymises_what_an_earlier_version_stored_in_the_clear(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = fresh
    secrets = {
        "lang": new_bsn(),
        "gelezen": new_bsn(),
        "personeel": f"PN-{new_bsn()}",
        "bsn": new_bsn(),
        "klein": new_bsn(),
    }
    created = _written_by_the_earlier_version(f, secrets)
    clear = [k for k, v in secrets.items() if v.encode() in _raw_database(f.api, f.url)]
    assert sorted(clear) == ["gelezen", "lang", "personeel"]  # the earlier rule leaked these (not the BSN)
    f.checkpoint()
    before = f.api.tc.get(f"{INTEGRITEIT}/checkpoint").text
    before_size, before_root = note_root(before)

    _cli_env(f, monkeypatch)
    runner = CliRunner()
    done = runner.invoke(cli, ["migrate"])
    assert done.exit_code == 0, done.output
    assert "Re-pseudonymised 3 objectIds stored in the clear" in done.output
    again = runner.invoke(cli, ["migrate"])
    assert again.exit_code == 0 and "Re-pseudonymised" not in again.output  # once

    raw = _raw_database(f.api, f.url)
    for name, value in secrets.items():
        assert value.encode() not in raw and value.encode().hex().encode() not in raw, name
    # The API shows exactly what it showed before; the long spelling is now found by `BSN`, too.
    shown = f.api.get(created["actieId"]).json()
    assert [(o["soortObjectId"], o["objectId"]) for o in shown["verwerkteObjecten"]] == [
        ("BSN", secrets["bsn"]),
        ("burgerservicenummer", secrets["lang"]),
        ("Personeelsnummer", secrets["personeel"]),
        ("bsn", secrets["klein"]),
    ]
    for soort in ("BSN", "burgerservicenummer", "bsn-nummer", "bsn"):
        for person in ("lang", "klein", "bsn"):
            found = f.api.list(secrets[person], soortObjectId=soort).json()["results"]
            assert [a["actieId"] for a in found] == [created["actieId"]], (soort, person)
    assert f.api.list(secrets["personeel"], soortObjectId="Personeelsnummer").json()["count"] == 1

    # Recorded in the log: one leaf of its own; the old checkpoint is a prefix of the new one; every leaf proves.
    f.checkpoint()
    after = f.api.tc.get(f"{INTEGRITEIT}/checkpoint").text
    size, root = note_root(after)
    proof = f.api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": before_size, "tot": size}).json()
    assert rfc_verify_consistency(before_size, size, before_root, root, [b64(p) for p in proof["proof"]])
    kinds: dict[int, str] = {}
    for index in range(size):
        leaf = f.api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": index}).json()
        assert rfc_verify_inclusion(index, size, b64(leaf["leafHash"]), [b64(p) for p in leaf["proof"]], root)
        kinds[index] = leaf["type"]
    (pass_leaf,) = [i for i, kind in kinds.items() if kind == "herpseudonimisering"]
    assert pass_leaf >= before_size  # appended after everything the old checkpoint signed
    report = verify(f)
    assert report.ok, report.findings
    assert runner.invoke(cli, ["verify"]).exit_code == 0


def test_only_the_storage_form_of_a_listed_row_may_change(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migration 0010: the database lets a row listed by a recorded re-pseudonymisation change how its objectId
    is stored, and nothing else; any other row, and any other column, stays refused."""
    f = fresh
    secrets = {
        "lang": new_bsn(),
        "gelezen": new_bsn(),
        "personeel": f"PN-{new_bsn()}",
        "bsn": new_bsn(),
        "klein": new_bsn(),
    }
    _written_by_the_earlier_version(f, secrets)
    _cli_env(f, monkeypatch)
    assert CliRunner().invoke(cli, ["migrate"]).exit_code == 0
    listed = f.rows("SELECT object_row FROM herpseudonimiseerd_object ORDER BY object_row")
    assert len(listed) == 3
    row = int(listed[0][0])
    unlisted = int(
        f.rows(
            "SELECT min(id) FROM verwerkt_object WHERE id NOT IN (SELECT object_row FROM herpseudonimiseerd_object)"
        )[0][0]
    )
    for statement in (
        f"UPDATE verwerkt_object SET betrokkenheid = 'Anders' WHERE id = {row}",
        f"UPDATE verwerkt_object SET soort_object_id = 'BSN' WHERE id = {row}",
        f"UPDATE verwerkt_object SET object_id = '123' WHERE id = {row}",
        f"UPDATE verwerkt_object SET object_sleutel = object_sleutel WHERE id = {unlisted}",
        "UPDATE herpseudonimisering SET objecten = 0",
        "DELETE FROM herpseudonimiseerd_object",
    ):
        with pytest.raises(Exception, match=r"append-only|not allowed"):
            integrity_support.query(f.backend, f.url, statement)
