"""Idempotent ingest (extension, docs/idempotency.md): POST /verwerkingsacties with an Idempotency-Key,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests import integrity_support
from tests.bewerking_support import assert_problem, invalid
from tests.conftest import TEST_KEY
from tests.helpers import Api, actie, new_bsn
from tests.integrity_support import Fresh
from verwerkingenlog.api.bodies import PostBody, gegevens_of, objecten_of, parse
from verwerkingenlog.domain.errors import IdempotencyKeyReused
from verwerkingenlog.domain.idempotency import IdempotencyKey, fingerprint
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services import bulk
from verwerkingenlog.services.purge import Purger
from verwerkingenlog.services.register import Register
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.pseudonymisation import Pseudonymiser
from verwerkingenlog.store.read import LogReader
from verwerkingenlog.store.rows import RowCodec
from verwerkingenlog.store.write import LogWriter


def _post(api: Api, body: Any, key: str | None, who: str = "alles") -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(body, who, headers=headers)


def test_retry_with_same_key_returns_the_original_and_stores_once(api: Api) -> None:
    """A retried POST with the same key and body: same status, same actieId, one stored action."""
    bsn = new_bsn()
    body = actie(bsn)
    key = str(uuid.uuid4())
    first = _post(api, body, key)
    again = _post(api, body, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert api.list(bsn).json()["count"] == 1


def test_key_order_and_whitespace_do_not_make_a_different_body(api: Api) -> None:
    bsn = new_bsn()
    body = actie(bsn)
    key = str(uuid.uuid4())
    first = _post(api, body, key)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    headers = {"Idempotency-Key": key, "Content-Type": "application/json", **api.auth("alles")}
    again = api.tc.post("/api/v1/verwerkingsacties", content=reordered, headers=headers)
    assert again.status_code == 201 and again.json()["actieId"] == first.json()["actieId"]
    assert api.list(bsn).json()["count"] == 1


def test_same_key_with_another_body_is_422_and_stores_nothing(api: Api) -> None:
    bsn = new_bsn()
    key = str(uuid.uuid4())
    assert _post(api, actie(bsn), key).status_code == 201
    other = _post(api, actie(bsn, actieNaam="Iets anders"), key)
    body = assert_problem(other, 422, "idempotency_key_reused")
    assert "Idempotency-Key" in body["detail"] and "different body" in body["detail"]
    assert api.list(bsn).json()["count"] == 1


def test_replay_after_a_correction_returns_the_original_version(api: Api) -> None:
    """The replay is re-rendered from the original version by its actieId, not from the current one."""
    bsn = new_bsn()
    body = actie(bsn)
    key = str(uuid.uuid4())
    first = _post(api, body, key).json()
    assert api.patch(first["verwerkingId"], {"bewaartermijn": "P20Y"}).status_code == 204
    again = _post(api, body, key)
    assert again.status_code == 201 and again.json() == first


def test_keys_are_per_client(api: Api) -> None:
    """Two clients may use the same key without seeing each other's results."""
    bsn = new_bsn()
    key = str(uuid.uuid4())
    a = _post(api, actie(bsn), key, who="alles")
    b = _post(api, actie(bsn), key, who="normaal")
    assert a.status_code == b.status_code == 201
    assert a.json()["actieId"] != b.json()["actieId"]
    assert api.list(bsn).json()["count"] == 2


def test_without_a_key_every_post_is_stored(api: Api) -> None:
    bsn = new_bsn()
    body = actie(bsn)
    assert _post(api, body, None).status_code == 201
    assert _post(api, body, None).status_code == 201
    assert api.list(bsn).json()["count"] == 2


@pytest.mark.parametrize("bad", [b"", b"x" * 256, "sleutel\u00e9".encode(), b"tab\there"])
def test_malformed_key_is_400_naming_the_header(api: Api, bad: bytes) -> None:
    bsn = new_bsn()
    headers = {"Content-Type": "application/json", "Idempotency-Key": bad, **api.auth("alles")}
    r = api.tc.post("/api/v1/verwerkingsacties", content=json.dumps(actie(bsn)), headers=headers)  # type: ignore[arg-type]
    assert ("Idempotency-Key", "invalid") in invalid(r)
    assert api.list(bsn).json()["count"] == 0


def test_invalid_body_with_a_key_stores_no_key(api: Api) -> None:
    """A 400 is not remembered: the corrected request may reuse the key."""
    bsn = new_bsn()
    key = str(uuid.uuid4())
    assert _post(api, actie(bsn, uitvoerder="123"), key).status_code == 400
    assert _post(api, actie(bsn), key).status_code == 201
    assert api.list(bsn).json()["count"] == 1


def test_concurrent_retries_store_one_action(api: Api) -> None:
    """Retries racing each other (a client that timed out and retried while the first was still running)."""
    bsn = new_bsn()
    body = actie(bsn)
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: _post(api, body, key), range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["actieId"] for r in responses}) == 1
    assert api.list(bsn).json()["count"] == 1


def test_ttl_setting_is_at_least_a_day() -> None:
    assert Settings().idempotency_key_ttl_seconds == 86_400
    with pytest.raises(ValueError):
        Settings(idempotency_key_ttl_seconds=3600)


def test_expired_keys_are_forgotten(backend: tuple[str, str]) -> None:
    """After the TTL a key is free again (and removed by the write path's cleanup)."""

    async def scenario() -> tuple[str, str, str]:
        db = Database(backend[1])
        codec = RowCodec(Pseudonymiser(TEST_KEY.encode()))
        now = [1_700_000_000_000_000]
        register = Register(db, LogReader(codec), LogWriter(codec), None, clock=lambda: now[0])
        raw = json.dumps(actie(new_bsn())).encode()
        body = parse(PostBody, raw)
        key = IdempotencyKey(str(uuid.uuid4()), fingerprint(raw))
        caller = Caller("alles", frozenset())
        try:
            first, replayed_first = await register.create_once(caller, key, gegevens_of(body), objecten_of(body))
            now[0] += register.idempotency_ttl_us - 1
            again, replayed = await register.create_once(caller, key, gegevens_of(body), objecten_of(body))
            assert replayed and not replayed_first
            with pytest.raises(IdempotencyKeyReused):
                await register.create_once(caller, IdempotencyKey(key.key, "0" * 64), gegevens_of(body), ())
            now[0] += 2
            later, replayed_later = await register.create_once(caller, key, gegevens_of(body), objecten_of(body))
            assert not replayed_later
            return first.actie_id, again.actie_id, later.actie_id
        finally:
            await db.dispose()

    first, again, later = asyncio.run(scenario())
    assert first == again != later


purged_register = integrity_support.fresh


def test_a_key_whose_action_was_purged_makes_way_single_and_bulk(purged_register: Fresh) -> None:
    """R-RET-3 with docs/idempotency.md: after the retention purge removed the action a key stands for, a retry
    with that key and body stores the action anew (a single POST and a bulk entry alike); another body is still
    422, as long as the key is remembered."""
    f = purged_register
    body = actie(new_bsn(), tijdstip="2000-01-31T12:00:00+01:00", bewaartermijn="P1Y")
    first = _post(f.api, body, "purged-1")
    assert first.status_code == 201
    bulk = {"Content-Type": "application/x-ndjson", "Idempotency-Key": "purged-bulk"}
    line = json.dumps(body).encode() + b"\n"
    stored = f.api.request("POST", "/api/v1/verwerkingsacties/bulk", "alles", headers=bulk, content=line).json()
    assert (stored["stored"], stored["replayed"]) == (1, 0)

    state = f.app.state
    assert len(f.call(Purger(state.db, state.register.writer).run, False).lineages) == 2

    again = _post(f.api, body, "purged-1")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json()["actieId"] != first.json()["actieId"]
    assert _post(f.api, body, "purged-1").headers["Idempotent-Replayed"] == "true"
    assert _post(f.api, {**body, "handelingNaam": "anders"}, "purged-1").status_code == 422

    retried = f.api.request("POST", "/api/v1/verwerkingsacties/bulk", "alles", headers=bulk, content=line).json()
    assert (retried["stored"], retried["replayed"]) == (1, 0)
    assert retried["results"][0]["actieId"] != stored["results"][0]["actieId"]
    replayed = f.api.request("POST", "/api/v1/verwerkingsacties/bulk", "alles", headers=bulk, content=line).json()
    assert (replayed["stored"], replayed["replayed"]) == (0, 1)
    assert replayed["results"][0]["actieId"] == retried["results"][0]["actieId"]


def test_bulk_entries_share_the_rules_of_a_single_post(backend: tuple[str, str], registered: Any) -> None:
    """Per entry of a bulk ingest, as for a single POST: a repeated key with the same body is answered with the
    first entry's action, with another body 422; an expired key makes way (services.bulk, docs/idempotency.md).
    (Through the API every entry has a key of its own; a repeat within one call is reachable only here.)"""

    async def scenario() -> list[list[Any]]:
        db = Database(backend[1])
        codec = RowCodec(Pseudonymiser(TEST_KEY.encode()))
        now = [1_800_000_000_000_000]
        register = Register(db, LogReader(codec), LogWriter(codec), None, clock=lambda: now[0])
        caller = Caller("alles", frozenset())

        def entry(raw: bytes, key: str) -> bulk.Entry:
            body = parse(PostBody, raw)
            return bulk.Entry(IdempotencyKey(key, fingerprint(raw)), gegevens_of(body), objecten_of(body))

        one, other = (json.dumps(actie(new_bsn())).encode() for _ in range(2))
        k1, k2 = str(uuid.uuid4()), str(uuid.uuid4())
        try:
            rounds = [await bulk.ingest(register, caller, [entry(one, k1), entry(one, k1), entry(other, k1)])]
            rounds.append(await bulk.ingest(register, caller, [entry(one, k1), entry(other, k2)]))
            now[0] += register.idempotency_ttl_us + 1
            rounds.append(await bulk.ingest(register, caller, [entry(one, k1)]))
            return [list(r) for r in rounds]
        finally:
            await db.dispose()

    first, second, expired = asyncio.run(scenario())
    stored, repeated, reused = first
    assert isinstance(stored, bulk.Stored) and not stored.replayed and stored.leaf_index is not None
    assert isinstance(repeated, bulk.Stored) and repeated.replayed
    assert (repeated.version.actie_id, repeated.leaf_index) == (stored.version.actie_id, stored.leaf_index)
    assert isinstance(reused, IdempotencyKeyReused)
    replay, new = second
    assert isinstance(replay, bulk.Stored) and replay.replayed
    assert (replay.version.actie_id, replay.leaf_index) == (stored.version.actie_id, stored.leaf_index)
    assert isinstance(new, bulk.Stored) and not new.replayed
    (anew,) = expired
    assert isinstance(anew, bulk.Stored) and not anew.replayed and anew.version.actie_id != stored.version.actie_id
