"""Issue 19.3 on SQLite and PostgreSQL: a register at revision 0009 whose earlier version stored objectIds in the
clear (every soortObjectId but a casing of `bsn`, also through its own logging of a read) and indexed `bsn` under
that casing is upgraded by `verwerkingenlog migrate`: the values are re-stored pseudonymised and re-keyed, once,
recorded in the log as a leaf of its own (docs/integrity.md §14). The checkpoint signed before stays a prefix of
the tree, every proof verifies, `verify` stays clean, and the database refuses any other change of those rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import TEST_KEY, _prepare, make_settings
from tests.helpers import TEST_ACTIVITY, Api, new_bsn
from tests.integrity_support import b64, note_root, query, rfc_verify_consistency, rfc_verify_inclusion
from tests.test_pseudonymisation_spellings import raw_database
from verwerkingenlog.api.app import build_integrity, create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.domain import versioning
from verwerkingenlog.domain.model import Actiegegevens, NieuwObject
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.services import tokens
from verwerkingenlog.services.verify import Verifier
from verwerkingenlog.store import migrate
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.pseudonymisation import Pseudonymiser
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.write import LogWriter

INTEGRITEIT = "/api/v1/integriteit"
ORIGIN = "register.test/verwerkingenlog"


class EarlierRule(Pseudonymiser):
    """The rule of the versions before issue 19.3, as they stored rows: only a soortObjectId spelled `bsn` (any
    case) pseudonymised, and the blind index over the kind exactly as supplied."""

    def protects_object(self, objecttype: str, soort: str | None) -> bool:
        return soort is not None and soort.lower() == "bsn"

    def sleutel(self, soort: str, object_id: str) -> bytes:
        return self._hmac(soort, object_id)


def _version(*objecten: NieuwObject, naam: str = "Opvragen persoonsgegevens") -> Any:
    now = 1_700_000_000_000_000
    gegevens = Actiegegevens(
        tijdstip="2023-11-14T22:13:20+00:00",
        tijdstip_us=now,
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        actie_naam=naam,
        verwerkingsactiviteit_id=TEST_ACTIVITY,
        bewaartermijn="P10Y",
    )
    return versioning.first_version(gegevens, list(objecten), now, "alles")


@dataclass
class Upgraded:
    """The register after `verwerkingenlog migrate`: its API, and what the earlier version had stored."""

    api: Api
    url: str
    secrets: dict[str, str]
    actie_id: str
    before: str  # the checkpoint signed before the upgrade


def _env(url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": url,
        "PSEUDONYMISATION_KEY": TEST_KEY,
        "CHECKPOINT_KEY_FILE": str(key_file),
        "CHECKPOINT_ORIGIN": ORIGIN,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def earlier(
    backend: tuple[str, str], fresh_database: str, tmp_path: Path
) -> tuple[str, str, Path, dict[str, str], str, str]:
    """A register at revision 0009 with rows as the earlier version wrote them, and a checkpoint over them."""
    url, key_file = fresh_database, tmp_path / "checkpoint.key"
    secrets = {
        "lang": new_bsn(),
        "gelezen": new_bsn(),
        "personeel": f"PN-{new_bsn()}",
        "bsn": new_bsn(),
        "klein": new_bsn(),
    }
    action = _version(
        NieuwObject("persoon", "BSN", secrets["bsn"]),
        NieuwObject("persoon", "burgerservicenummer", secrets["lang"]),
        NieuwObject("persoon", "Personeelsnummer", secrets["personeel"]),
        NieuwObject("persoon", "bsn", secrets["klein"]),
    )
    # The register's own entry of a read filtered by soortObjectId=bsn-nummer (R-SELF-1) as it stored it.
    read = _version(NieuwObject("persoon", "bsn-nummer", secrets["gelezen"], "Geraadpleegd"), naam="Raadplegen")

    async def populate() -> str:
        db = Database(url)
        try:
            await migrate.upgrade(db, "0009")
            writer = LogWriter(RowCodec(EarlierRule(TEST_KEY.encode())))
            async with db.writing() as conn:
                await writer.append(conn, [action, read])
            settings = make_settings(url, checkpoint_key_file=key_file, checkpoint_origin=ORIGIN)
            signed = await build_integrity(settings, db).sign_checkpoint(True)
            assert signed is not None
            return signed.note
        finally:
            await db.dispose()

    before = asyncio.run(populate())
    return backend[0], url, key_file, secrets, action.actie_id, before


@pytest.fixture
def upgraded(
    earlier: tuple[str, str, Path, dict[str, str], str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Upgraded, list[str]]]:
    name, url, key_file, secrets, actie_id, before = earlier
    leaked = [k for k, v in secrets.items() if v.encode() in raw_database(name, url)]
    _env(url, key_file, monkeypatch)
    runner = CliRunner()
    outputs = [runner.invoke(cli, ["migrate"]).output, runner.invoke(cli, ["migrate"]).output]
    clients = asyncio.run(_prepare(url))
    settings = make_settings(url, checkpoint_key_file=key_file, checkpoint_origin=ORIGIN)
    with TestClient(create_app(settings), base_url="http://testserver") as tc:
        api = Api(tc, {n: tokens.issue(c) for n, c in clients.items()}, name, clients)
        yield Upgraded(api, url, secrets, actie_id, before), [*outputs, ",".join(sorted(leaked))]


def test_migrate_re_pseudonymises_what_an_earlier_version_stored_in_the_clear(
    upgraded: tuple[Upgraded, list[str]],
) -> None:
    u, (first, second, leaked) = upgraded
    api = u.api
    assert leaked == "gelezen,lang,personeel"  # what the earlier rule left in the clear (not the BSNs)
    # The three in the clear, and the one indexed under the casing `bsn`: re-keyed. Once.
    assert "Re-pseudonymised 4 objectIds stored in the clear or under an earlier blind" in first, first
    assert "Re-pseudonymised" not in second, second

    raw = raw_database(api.backend, u.url)
    for name, value in u.secrets.items():
        assert value.encode() not in raw and value.encode().hex().encode() not in raw, name
    # The API shows exactly what it showed before; every spelling of BSN now finds every one of them.
    shown = api.get(u.actie_id).json()
    assert [(o["soortObjectId"], o["objectId"]) for o in shown["verwerkteObjecten"]] == [
        ("BSN", u.secrets["bsn"]),
        ("burgerservicenummer", u.secrets["lang"]),
        ("Personeelsnummer", u.secrets["personeel"]),
        ("bsn", u.secrets["klein"]),
    ]
    for soort in ("BSN", "burgerservicenummer", "bsn-nummer", "bsn"):
        for person in ("lang", "klein", "bsn"):
            found = api.list(u.secrets[person], soortObjectId=soort).json()["results"]
            assert [a["actieId"] for a in found] == [u.actie_id], (soort, person)
    assert api.list(u.secrets["personeel"], soortObjectId="Personeelsnummer").json()["count"] == 1

    # Recorded in the log: one leaf of its own; the old checkpoint is a prefix of the new one; every leaf proves.
    state = api.tc.app.state  # type: ignore[attr-defined]
    api.tc.portal.call(state.integrity.sign_checkpoint, True)  # type: ignore[union-attr]
    before_size, before_root = note_root(u.before)
    size, root = note_root(api.tc.get(f"{INTEGRITEIT}/checkpoint").text)
    proof = api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": before_size, "tot": size}).json()
    assert rfc_verify_consistency(before_size, size, before_root, root, [b64(p) for p in proof["proof"]])
    kinds: dict[int, str] = {}
    for index in range(size):
        leaf = api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": index}).json()
        assert rfc_verify_inclusion(index, size, b64(leaf["leafHash"]), [b64(p) for p in leaf["proof"]], root)
        kinds[index] = leaf["type"]
    (pass_leaf,) = [i for i, kind in kinds.items() if kind == "herpseudonimisering"]
    assert pass_leaf == before_size  # the first leaf after what the old checkpoint signed

    async def run_verify() -> Any:
        return await Verifier(state.db, state.register.reader, state.var.store).run(
            await state.integrity.trusted_keys()
        )

    report = api.tc.portal.call(run_verify)  # type: ignore[union-attr]
    assert report.ok, report.findings
    assert CliRunner().invoke(cli, ["verify"]).exit_code == 0


def test_only_the_storage_form_of_a_listed_row_may_change(upgraded: tuple[Upgraded, list[str]]) -> None:
    """Migration 0010: the database lets a row listed by a recorded re-pseudonymisation change how its objectId
    is stored, and nothing else; any other row, and any other column, stays refused."""
    u, _ = upgraded
    backend = u.api.backend
    listed = query(backend, u.url, "SELECT object_row FROM herpseudonimiseerd_object ORDER BY object_row")
    assert len(listed) == 4
    row = int(listed[0][0])
    unlisted = int(
        query(
            backend,
            u.url,
            "SELECT min(id) FROM verwerkt_object WHERE id NOT IN (SELECT object_row FROM herpseudonimiseerd_object)",
        )[0][0]
    )
    for statement in (
        f"UPDATE verwerkt_object SET betrokkenheid = 'Anders' WHERE id = {row}",
        f"UPDATE verwerkt_object SET soort_object_id = 'BSN' WHERE id = {row}",
        f"UPDATE verwerkt_object SET object_id = '123' WHERE id = {row}",
        f"UPDATE verwerkt_object SET object_sleutel = object_sleutel WHERE id = {unlisted}",
        "UPDATE herpseudonimisering SET objecten = 0",
        "DELETE FROM herpseudonimiseerd_object",
        "UPDATE herpseudonimisering_grens SET object_row = 0",
    ):
        with pytest.raises(Exception, match=r"append-only|not allowed"):
            query(backend, u.url, statement)
