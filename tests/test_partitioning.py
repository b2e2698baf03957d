"""Monthly partitions of the log tables on PostgreSQL (migration 0009, docs/performance.md "Partitioning by
registration time"): created ahead, writes routed by registration time, per-citizen reads by index across all
partitions, the append-only triggers on every partition, the purge of a whole expired month, and the migration
of a populated register. SQLite keeps its tables whole and runs the same statements."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from typer.testing import CliRunner

from tests import integrity_support
from tests.conftest import TEST_KEY, _prepare, make_settings
from tests.helpers import TEST_ACTIVITY, Api, actie, new_bsn
from tests.integrity_support import Fresh, b64, note_root, rfc_verify_consistency, rfc_verify_inclusion
from tests.test_storage import explain, full_scans, recorded_statements
from verwerkingenlog.api.app import create_app
from verwerkingenlog.cli import app as cli
from verwerkingenlog.domain import versioning
from verwerkingenlog.domain.model import Actiegegevens, NieuwObject, Versie
from verwerkingenlog.domain.values import Vertrouwelijkheid, to_epoch_us
from verwerkingenlog.integrity.records import KIND_ACTIE, actie_record
from verwerkingenlog.services import partitions as partitions_service
from verwerkingenlog.services import tokens
from verwerkingenlog.services.partitions import Partitions
from verwerkingenlog.services.purge import Purger, PurgeReport
from verwerkingenlog.services.register import wall_clock_us
from verwerkingenlog.services.verify import Verifier, VerifyReport
from verwerkingenlog.store import migrate
from verwerkingenlog.store import partitions as store
from verwerkingenlog.store.db import Database, async_url
from verwerkingenlog.store.integrity import Leaf, append_leaves
from verwerkingenlog.store.pseudonymisation import Pseudonymiser, load_secret
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.tables import versie, verwerkt_object

fresh = integrity_support.fresh
postgresql = pytest.mark.parametrize("fresh", ["postgresql"], indirect=True)
INTEGRITEIT = "/api/v1/integriteit"


def us(year: int, month: int, day: int = 10) -> int:
    return to_epoch_us(datetime(year, month, day, 12, tzinfo=UTC))


def version(bsn: str, registered_us: int, tijdstip_us: int | None = None, bewaartermijn: str | None = "P1M") -> Versie:
    """A new action about ``bsn`` (and one other person), registered at ``registered_us``."""
    at = registered_us if tijdstip_us is None else tijdstip_us
    gegevens = Actiegegevens(
        tijdstip=datetime.fromtimestamp(at / 1_000_000, UTC).isoformat(),
        tijdstip_us=at,
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        verwerkingsactiviteit_id=TEST_ACTIVITY,
        bewaartermijn=bewaartermijn,
    )
    objecten = [NieuwObject("persoon", "BSN", bsn), NieuwObject("persoon", "BSN", new_bsn())]
    return versioning.first_version(gegevens, objecten, registered_us)


def append(f: Fresh, versions: list[Versie]) -> list[int]:
    """Store versions through the register's own writer (with their Merkle leaves), as a POST would."""
    state = f.app.state

    async def go() -> list[int]:
        async with state.db.writing() as conn:
            seqs: list[int] = await state.register.writer.append(conn, versions)
            return seqs

    result: list[int] = f.call(go)
    return result


def create_months(f: Fresh, *months: date) -> dict[date, bool | None]:
    async def go() -> dict[date, bool | None]:
        async with f.app.state.db.writing() as conn:
            return await store.create_months(conn, months)

    created: dict[date, bool | None] = f.call(go)
    return created


def partitions_of(f: Fresh, table: str = versie.name) -> dict[str, int]:
    """label (YYYY-MM or DEFAULT) → exact row count."""

    async def go() -> list[store.Partition]:
        async with f.app.state.db.reading() as conn:
            return await store.list_partitions(conn, table)

    found: list[store.Partition] = f.call(go)
    return {p.label: p.rows for p in found}


def where_stored(f: Fresh, table: str, column: str, value: Any) -> set[str]:
    rows = f.rows(f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE {column} = {value}")
    return {str(r[0]) for r in rows}


def purge(f: Fresh) -> PurgeReport:
    state = f.app.state
    report: PurgeReport = f.call(Purger(state.db, state.register.writer).run)
    return report


def verify(f: Fresh) -> VerifyReport:
    state = f.app.state

    async def run() -> VerifyReport:
        return await Verifier(state.db, state.register.reader, state.var.store).run(
            await state.integrity.trusted_keys()
        )

    report: VerifyReport = f.call(run)
    return report


def as_owner(url: str, statement: str) -> None:
    """Run a statement as the database owner, triggers active."""

    async def run() -> None:
        con = await asyncpg.connect(async_url(url).replace("postgresql+asyncpg", "postgresql"))
        try:
            await con.execute(statement)
        finally:
            await con.close()

    asyncio.run(run())


def this_month() -> date:
    return store.month_of(wall_clock_us())


# -- created ahead -------------------------------------------------------------------------------------------


@postgresql
def test_partitions_are_created_ahead_at_start_and_on_demand(fresh: Fresh) -> None:
    """At start the server has the partitions of this month and the next three (PARTITIONS_AHEAD_MONTHS) for both
    log tables, plus a DEFAULT partition; `ensure_ahead` creates only what is missing (a later clock: four new
    months, then none), and each new partition has its own TRUNCATE guard trigger."""
    f = fresh
    expected = [f"{store.add_months(this_month(), n):%Y-%m}" for n in range(4)]
    for table in (versie.name, verwerkt_object.name):
        assert list(partitions_of(f, table)) == [*expected, "DEFAULT"], table

    later = Partitions(f.app.state.db, 3, lambda: us(2031, 5))
    assert f.call(later.ensure_ahead) == [date(2031, 5, 1), date(2031, 6, 1), date(2031, 7, 1), date(2031, 8, 1)]
    assert f.call(later.ensure_ahead) == []
    assert "2031-08" in partitions_of(f, verwerkt_object.name)
    triggers = f.rows(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'verwerkt_object_p2031_08'::regclass AND NOT tgisinternal"
    )
    assert {r[0] for r in triggers} == {
        "verwerkt_object_append_only",
        "verwerkt_object_purge_only",
        "verwerkt_object_p2031_08_purged_only",
    }

    env = {"DATABASE_URL": f.url, "COLUMNS": "200"}
    result = CliRunner().invoke(cli, ["partitions", "--create", "--ahead", "4"], env=env)
    assert result.exit_code == 0, result.output
    assert f"Created the partitions of {store.add_months(this_month(), 4):%Y-%m}." in result.output
    assert re.search(r"verwerkingsactie_versie_p2031_05\s+│\s+2031-05\s+│\s+0\s", result.output), result.output


def test_sqlite_has_no_partitions(isolated_api: Api, backend: tuple[str, str], fresh_database: str) -> None:
    """SQLite keeps each log table whole: the partitions command says so; on PostgreSQL it lists them."""
    result = CliRunner().invoke(cli, ["partitions"], env={"DATABASE_URL": fresh_database, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    if backend[0] == "sqlite":
        assert "no partitions" in result.output
    else:
        assert f"verwerkingsactie_versie_p{this_month():%Y_%m}" in result.output
        assert "DEFAULT" in result.output


# -- writes routed by registration time ----------------------------------------------------------------------


@postgresql
def test_writes_land_in_their_month_and_outside_the_range_in_default(fresh: Fresh) -> None:
    """A version and its objects land in the partition of the version's registration month; a registration time
    without a partition (long ago, far ahead) lands in DEFAULT, never fails; a month whose rows already sit in
    DEFAULT cannot get a partition any more (reported, not an error)."""
    f = fresh
    created = f.api.create(actie(new_bsn()))
    month = f"p{this_month():%Y_%m}"
    seq = f.rows(f"SELECT seq FROM verwerkingsactie_versie WHERE actie_id = '{created['actieId']}'")[0][0]
    assert where_stored(f, versie.name, "seq", seq) == {f"verwerkingsactie_versie_{month}"}
    assert where_stored(f, verwerkt_object.name, "versie_seq", seq) == {f"verwerkt_object_{month}"}

    old, ahead = append(f, [version(new_bsn(), us(2019, 3)), version(new_bsn(), us(2040, 1))])
    for s in (old, ahead):
        assert where_stored(f, versie.name, "seq", s) == {"verwerkingsactie_versie_default"}
        assert where_stored(f, verwerkt_object.name, "versie_seq", s) == {"verwerkt_object_default"}
    assert create_months(f, date(2019, 3, 1), date(2019, 4, 1)) == {date(2019, 3, 1): None, date(2019, 4, 1): True}
    assert f.api.get(created["actieId"]).status_code == 200
    rows = f.rows(
        "SELECT count(*) FROM verwerkt_object o JOIN verwerkingsactie_versie v ON v.seq = o.versie_seq "
        "WHERE o.tijdstip_registratie_us <> v.tijdstip_registratie_us"
    )
    assert rows == [(0,)]  # every object carries its version's registration time


@postgresql
def test_append_only_triggers_hold_on_every_partition(fresh: Fresh) -> None:
    """R-VER-5 on the partitioned tables: UPDATE and DELETE are refused through the parent and directly on a
    partition (the row triggers are inherited); TRUNCATE is refused on the parent and on each partition (their own
    statement triggers, which partitions do not inherit); emptying or dropping a month through the owner's
    functions is refused while its rows' leaves are not listed by a purge."""
    f = fresh
    f.api.create(actie(new_bsn()))
    append(f, [version(new_bsn(), us(2019, 3))])  # DEFAULT holds a row too
    month = f"p{this_month():%Y_%m}"
    refused = []
    for table, column in ((versie.name, "seq"), (verwerkt_object.name, "positie")):
        for target in (table, f"{table}_{month}"):
            refused += [f"UPDATE {target} SET {column} = {column}", f"DELETE FROM {target}", f"TRUNCATE {target}"]
        refused.append(f"TRUNCATE {table}_default")
    refused += [
        f"SELECT verwerkingenlog_purge_partition('{this_month()}')",
        f"SELECT verwerkingenlog_drop_partition('{this_month()}')",
    ]
    for statement in refused:
        with pytest.raises(Exception, match=r"append-only|only an emptied"):
            as_owner(f.url, statement)
    assert partitions_of(f)[f"{this_month():%Y-%m}"] == 1
    assert partitions_of(f)["DEFAULT"] == 1


# -- per-citizen reads across partitions ---------------------------------------------------------------------


@postgresql
def test_inzage_across_partitions_uses_the_index_of_each(fresh: Fresh) -> None:
    """A citizen's Inzage lookup finds their entries in six monthly partitions and DEFAULT, and its one
    statement (the page with its total) probes the blind index (object_sleutel, tijdstip_us) of every partition:
    no partition is scanned (analysed, enable_seqscan off; docs/performance.md)."""
    f = fresh
    months = [date(2025, m, 1) for m in range(1, 7)]
    assert set(create_months(f, *months).values()) == {True}
    bsn = new_bsn()
    mine = [version(bsn, us(m.year, m.month)) for m in months] + [version(bsn, us(2018, 6))]
    others = [version(new_bsn(), us(m.year, m.month, day)) for m in months for day in range(1, 28) for _ in range(40)]
    append(f, mine + others)
    as_owner(f.url, "ANALYZE")
    assert all(partitions_of(f)[f"{m:%Y-%m}"] == 1 + 27 * 40 for m in months)

    with recorded_statements(f.api) as seen:
        r = f.api.inzage(bsn, activity=None, begin="2018-01-01", end="2026-01-01")
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 7
    searches = [(s, p) for s, p in seen if s.lstrip().startswith("SELECT") and "object_sleutel = " in s]
    assert len(searches) == 1, searches  # the page, carrying the total (store.read._counted)
    for statement, parameters in searches:
        plan = explain(f.api, statement, parameters)
        probed = re.findall(r"using (verwerkt_object_\w+?)_object_sleutel_tijdstip_us_idx", plan)
        assert {f"verwerkt_object_p{m:%Y_%m}" for m in months} | {"verwerkt_object_default"} <= set(probed), plan
        assert full_scans(plan) == [], plan
    assert len(r.json()["results"]) == 7


# -- the purge of a whole month ------------------------------------------------------------------------------


@postgresql
def test_purge_drops_a_fully_expired_month_and_purges_a_mixed_one_row_by_row(fresh: Fresh) -> None:
    """R-RET-1 and R-RET-3 with partitions: a month whose every lineage has expired is one purge entry — every leaf
    listed, the lineage's later version (next month) deleted with it, the month's partitions emptied and dropped;
    a month with one live lineage keeps its partitions and loses only its expired lineages, row by row, as
    today. Afterwards verify passes, every proof verifies and the old checkpoint is consistent with the new one."""
    f = fresh
    january, february = date(2024, 1, 1), date(2024, 2, 1)
    assert create_months(f, january, february) == {january: True, february: True}
    expired_jan = [version(new_bsn(), us(2024, 1, d)) for d in (3, 4, 5)]
    mixed_expired = version(new_bsn(), us(2024, 2, 3))
    mixed_live = version(new_bsn(), us(2024, 2, 4), bewaartermijn="P100Y")
    append(f, [*expired_jan, mixed_expired, mixed_live])
    corrected = versioning.deleted_version(expired_jan[0], us(2024, 2, 6))  # its lineage spans both months
    append(f, [corrected])
    recent = f.api.create(actie(new_bsn()))
    f.checkpoint()
    before_size, before_root = note_root(f.api.tc.get(f"{INTEGRITEIT}/checkpoint").text)
    leaf_of = {int(r[0]): int(r[1]) for r in f.rows("SELECT ref, idx FROM merkle_node WHERE level = 0")}
    seq_of = {str(r[0]): int(r[1]) for r in f.rows("SELECT actie_id, seq FROM verwerkingsactie_versie")}

    report = purge(f)
    assert len(report.entries) == 2
    (month_entry, _), (row_entry, _) = report.entries
    january_leaves = [leaf_of[seq_of[v.actie_id]] for v in [*expired_jan, corrected]]
    assert sorted(month_entry.leaves) == sorted(january_leaves)
    assert (month_entry.lineages, month_entry.versies, month_entry.objecten) == (3, 4, 8)
    assert list(row_entry.leaves) == [leaf_of[seq_of[mixed_expired.actie_id]]]
    assert report.versies == 5 and report.objecten == 10

    assert "2024-01" not in partitions_of(f) and "2024-01" not in partitions_of(f, verwerkt_object.name)
    assert partitions_of(f)["2024-02"] == 1
    assert f.rows("SELECT actie_id FROM verwerkingsactie_versie WHERE tijdstip_registratie_us < 1709251200000000") == [
        (mixed_live.actie_id,)
    ]
    assert f.api.get(mixed_live.actie_id).status_code == 200
    assert f.api.get(recent["actieId"]).status_code == 200
    assert f.api.get(expired_jan[1].actie_id).status_code == 404
    assert purge(f).entries == []

    f.checkpoint()
    size, root = note_root(f.api.tc.get(f"{INTEGRITEIT}/checkpoint").text)
    proof = f.api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": before_size, "tot": size}).json()
    assert rfc_verify_consistency(before_size, size, before_root, root, [b64(p) for p in proof["proof"]])
    for index in range(size):
        inclusion = f.api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": index}).json()
        path = [b64(p) for p in inclusion["proof"]]
        assert rfc_verify_inclusion(index, size, b64(inclusion["leafHash"]), path, root), index
    result = verify(f)
    assert result.ok, result.findings
    assert {p.leaf_index for p in result.purged} == set(month_entry.leaves) | set(row_entry.leaves)


@postgresql
def test_a_month_with_a_live_lineage_is_never_dropped(fresh: Fresh) -> None:
    """One live lineage keeps the month: its partition stays, only the expired lineages go (row by row); and a
    lineage made live again by a later version (a longer bewaartermijn registered this month) keeps its old month."""
    f = fresh
    march = date(2024, 3, 1)
    create_months(f, march)
    old = version(new_bsn(), us(2024, 3, 2))
    lengthened = versioning.patched_version(old, us(2024, 3, 2) + 1, bewaartermijn="P100Y")  # registered later
    append(f, [old])
    append(f, [replace(lengthened, tijdstip_registratie_us=wall_clock_us())])
    report = purge(f)
    assert report.entries == [] and report.versies == 0
    assert partitions_of(f)["2024-03"] == 1
    assert f.api.get(old.actie_id).status_code == 200


@postgresql
def test_a_month_that_cannot_be_emptied_in_time_is_purged_row_by_row(fresh: Fresh, monkeypatch: Any) -> None:
    """When the month's TRUNCATE cannot get its lock in time (a long read of that month holds it), nothing of the
    month purge happens (one transaction) and the same run purges the month's expired lineages row by row; the
    emptied partition is dropped by the next run, and verify passes."""
    f = fresh
    create_months(f, date(2024, 4, 1))
    append(f, [version(new_bsn(), us(2024, 4, d)) for d in (2, 3)])
    monkeypatch.setattr(partitions_service, "LOCK_TIMEOUT", "200ms")

    async def hold() -> Any:
        con = await asyncpg.connect(async_url(f.url).replace("postgresql+asyncpg", "postgresql"))
        transaction = con.transaction()
        await transaction.start()
        await con.execute("SELECT count(*) FROM verwerkingsactie_versie_p2024_04")  # ACCESS SHARE until the end
        return con

    reader = f.call(hold)
    try:
        report = purge(f)
    finally:
        f.call(reader.close)
    ((entry, _),) = report.entries
    assert (entry.lineages, entry.versies, entry.objecten) == (2, 2, 4)
    assert partitions_of(f)["2024-04"] == 0  # emptied row by row; the drop timed out behind the read too
    assert purge(f).entries == []
    assert "2024-04" not in partitions_of(f)
    result = verify(f)
    assert result.ok, result.findings


# -- the migration of a populated register -------------------------------------------------------------------


def test_migration_0009_moves_a_populated_register(backend: tuple[str, str], fresh_database: str) -> None:
    """Migration 0009 on a register populated at revision 0008 (versions in three months, a correction, objects,
    Merkle leaves, a checkpoint): every row keeps its seq and id, objects get their version's registration time,
    PostgreSQL puts each month's rows in its own partition (plus this month and three ahead, and DEFAULT) and the
    sequence continues after the old rows; reads, new writes and verify work afterwards on both backends."""
    url = fresh_database
    codec = RowCodec(Pseudonymiser(load_secret(TEST_KEY, Path("/nonexistent/never-used.key"))))
    bsn = new_bsn()
    first = [version(bsn, us(2023, m)) for m in (4, 5, 6)]
    correction = versioning.deleted_version(first[2], us(2023, 6, 20))

    async def populate() -> dict[str, int]:
        db = Database(url)
        try:
            await migrate.upgrade(db, "0008")
            seqs: dict[str, int] = {}
            async with db.writing() as conn:
                for v in [*first, correction]:  # the 0008 write path: objects without a registration time
                    seq = (await conn.execute(insert(versie).returning(versie.c.seq), [codec.versie_row(v)])).scalar()
                    assert seq is not None
                    rows = [{k: o[k] for k in o if k != "tijdstip_registratie_us"} for o in codec.object_rows(seq, v)]
                    await conn.execute(insert(verwerkt_object), rows)
                    await append_leaves(conn, [Leaf(KIND_ACTIE, seq, actie_record(replace(v, seq=seq)))])
                    seqs[v.actie_id] = seq
            await migrate.upgrade(db)
            return seqs
        finally:
            await db.dispose()

    seqs = asyncio.run(populate())
    clients = asyncio.run(_prepare(url))
    with TestClient(create_app(make_settings(url)), base_url="http://testserver") as tc:
        api = Api(tc, {name: tokens.issue(c) for name, c in clients.items()}, backend[0], clients)
        state: Any = tc.app.state  # type: ignore[attr-defined]

        async def rows(sql: str) -> list[Any]:
            async with state.db.reading() as conn:
                return list(await conn.execute(text(sql)))

        def sql(statement: str) -> list[Any]:
            result: list[Any] = tc.portal.call(rows, statement)  # type: ignore[union-attr]
            return result

        stored = {r[0]: r[1] for r in sql("SELECT actie_id, seq FROM verwerkingsactie_versie")}
        assert stored == seqs
        assert sql(
            "SELECT count(*) FROM verwerkt_object o JOIN verwerkingsactie_versie v ON v.seq = o.versie_seq "
            "AND v.tijdstip_registratie_us = o.tijdstip_registratie_us"
        ) == [(8,)]
        assert api.inzage(bsn, activity=None, begin="2023-01-01", end="2024-01-01").json()["count"] == 2
        assert api.get(first[0].actie_id).json()["actieId"] == first[0].actie_id
        assert api.get(first[2].actie_id).status_code == 404  # deleted by its correction
        new = api.create(actie(bsn))
        assert sql(f"SELECT seq FROM verwerkingsactie_versie WHERE actie_id = '{new['actieId']}'")[0][0] > max(
            seqs.values()
        )
        if backend[0] == "postgresql":
            placed = sql("SELECT tableoid::regclass::text, count(*) FROM verwerkingsactie_versie GROUP BY 1 ORDER BY 1")
            assert placed[:3] == [
                ("verwerkingsactie_versie_p2023_04", 1),
                ("verwerkingsactie_versie_p2023_05", 1),
                ("verwerkingsactie_versie_p2023_06", 2),
            ]
            # the new action and the self-log entries of the reads above
            assert [p[0] for p in placed[3:]] == [f"verwerkingsactie_versie_p{this_month():%Y_%m}"]
            months = {r[0] for r in sql("SELECT relname FROM pg_class WHERE relname LIKE 'verwerkt_object_p%'")}
            assert {f"verwerkt_object_p{store.add_months(this_month(), n):%Y_%m}" for n in range(4)} <= months
            assert {"verwerkt_object_p2023_04", "verwerkt_object_p2023_09"} <= months  # every month in between
            for statement in ("UPDATE verwerkt_object SET positie = 0", "TRUNCATE verwerkingsactie_versie_p2023_05"):
                with pytest.raises(Exception, match="append-only"):
                    as_owner(url, statement)

        async def check() -> VerifyReport:
            return await Verifier(state.db, state.register.reader, state.var.store).run([])

        report: VerifyReport = tc.portal.call(check)  # type: ignore[union-attr]
        assert report.ok, report.findings


def test_the_lock_timeout_is_a_duration_never_sql() -> None:
    """store.partitions puts the timeout into SET LOCAL as text: anything but a duration is refused first."""
    for bad in ("5s'; DROP TABLE verwerkingsactie_versie; --", "", "five seconds"):
        with pytest.raises(ValueError, match="not a lock_timeout"):
            asyncio.run(store.set_lock_timeout(None, bad))  # type: ignore[arg-type]  # refused before any statement
