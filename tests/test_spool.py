"""The buffered logger and its durable spool, as an application uses them."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tests.helpers import TEST_ACTIVITY, new_bsn
from tests.live import RegisterProcess, live_register, wait_until  # noqa: F401 - fixture
from verwerkingenlog.client import (
    BufferedLogger,
    Client,
    RetryPolicy,
    SpoolFull,
    Verwerkingsactie,
    persoon,
    verwerking,
)
from verwerkingenlog.client.operations import NO_RETRIES
from verwerkingenlog.services.clients import Client as Registered

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)


class Recorder:
    """A scripted register: answers by a function and records the bodies it received."""

    def __init__(self, answer: Any = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.answer = answer or (lambda body: httpx.Response(201, json=body | {"actieId": str(uuid.uuid4())}))

    def client(self) -> Client:
        def handle(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            self.bodies.append(body)
            self.keys.append(request.headers["Idempotency-Key"])
            response: httpx.Response = self.answer(body)
            return response

        return Client("http://register.test", "app", "s" * 40, transport=httpx.MockTransport(handle), retry=NO_RETRIES)


def _logger(tmp_path: Path, rec: Recorder, **kw: Any) -> BufferedLogger:
    return BufferedLogger(spool_path=tmp_path / "app.spool", client=rec.client(), backoff=FAST, idle_poll=0.02, **kw)


def test_entries_are_shipped_in_order_with_their_spool_keys(tmp_path: Path) -> None:
    rec = Recorder()
    with _logger(tmp_path, rec, defaults={"systeem": "App 1.0"}) as logger:
        keys = [logger.log(actie_naam=f"Stap {i}", objecten=[persoon("1")]) for i in range(20)]
        assert logger.flush(10)
        m = logger.metrics()
    assert [b["actieNaam"] for b in rec.bodies] == [f"Stap {i}" for i in range(20)]
    assert rec.keys == keys
    assert all(b["systeem"] == "App 1.0" and b["vertrouwelijkheid"] == "normaal" for b in rec.bodies)
    assert m.depth == 0 and m.shipped == 20 and m.oldest_age_seconds == 0.0 and m.last_ship_lag_seconds is not None


def test_log_fills_the_entry_from_the_current_verwerking(tmp_path: Path) -> None:
    rec = Recorder()
    with _logger(tmp_path, rec) as logger:
        with verwerking(
            TEST_ACTIVITY, "https://var.example.nl/a", bewaartermijn="P5Y", verwerking_naam="Vergunning"
        ) as v:
            logger.log(Verwerkingsactie(actie_naam="Opslaan", verwerkte_objecten=[persoon("1")]))
            logger.log({"actieNaam": "Eigen", "vertrouwelijkheid": "vertrouwelijk", "verwerkteObjecten": []})
        assert logger.flush(10)
    first, second = rec.bodies
    assert first["verwerkingId"] == v.verwerking_id and first["verwerkingsactiviteitId"] == TEST_ACTIVITY
    assert first["bewaartermijn"] == "P5Y" and first["verwerkingNaam"] == "Vergunning"
    assert first["tijdstip"] and first["verwerkteObjecten"][0]["objectId"] == "1"
    assert second["vertrouwelijkheid"] == "vertrouwelijk"  # what the caller gave wins


def test_an_entry_is_durable_before_log_returns(tmp_path: Path) -> None:
    """Not started: nothing ships, yet the entry is in the file (another connection sees it)."""
    rec = Recorder()
    logger = _logger(tmp_path, rec, start=False)
    key = logger.log(actie_naam="Opvragen", objecten=[persoon("1")])
    with sqlite3.connect(tmp_path / "app.spool") as other:
        rows = other.execute("SELECT idempotency_key, body FROM entry").fetchall()
    assert rows[0][0] == key and json.loads(rows[0][1])["actieNaam"] == "Opvragen"
    assert logger.metrics().depth == 1 and not rec.bodies
    logger.close(flush_timeout=0)


def test_full_spool_raises_when_so_configured(tmp_path: Path) -> None:
    logger = _logger(tmp_path, Recorder(), start=False, max_entries=2, when_full="raise")
    logger.log(actie_naam="1")
    logger.log(actie_naam="2")
    with pytest.raises(SpoolFull) as full:
        logger.log(actie_naam="3")
    assert "full" in str(full.value) and "2 entries" in str(full.value)
    assert logger.metrics().depth == 2
    logger.close(flush_timeout=0)


def test_full_spool_blocks_until_there_is_room_or_the_timeout(tmp_path: Path) -> None:
    rec = Recorder()
    logger = _logger(tmp_path, rec, start=False, max_entries=1, when_full="block", block_timeout=0.2)
    logger.log(actie_naam="1")
    started = time.monotonic()
    with pytest.raises(SpoolFull) as full:
        logger.log(actie_naam="2")
    assert time.monotonic() - started >= 0.2 and "after waiting" in str(full.value)

    logger.spool.block_timeout = 10
    threading.Timer(0.1, logger.start).start()  # the register "comes back": the shipper makes room
    logger.log(actie_naam="3")
    assert logger.flush(10)
    assert [b["actieNaam"] for b in rec.bodies] == ["1", "3"]
    logger.close()


def test_byte_bound(tmp_path: Path) -> None:
    logger = _logger(tmp_path, Recorder(), start=False, max_entries=None, max_bytes=300, when_full="raise")
    logger.log(actie_naam="a")
    with pytest.raises(SpoolFull):
        logger.log(actie_naam="b" * 200)
    with pytest.raises(SpoolFull) as never:
        logger.log(actie_naam="c" * 700)
    assert "can never fit" in str(never.value)
    logger.close(flush_timeout=0)


def test_refused_entries_go_to_the_dead_letters_and_the_queue_moves_on(tmp_path: Path) -> None:
    def answer(body: dict[str, Any]) -> httpx.Response:
        if body["actieNaam"] == "fout":
            problem = {"code": "invalid", "status": 400, "detail": "bad", "invalidParams": [{"name": "uitvoerder"}]}
            return httpx.Response(400, json=problem)
        return httpx.Response(201, json=body | {"actieId": str(uuid.uuid4())})

    rec = Recorder(answer)
    with _logger(tmp_path, rec) as logger:
        logger.log(actie_naam="goed")
        logger.log(actie_naam="fout")
        logger.log(actie_naam="ook goed")
        assert logger.flush(10)
        dead = logger.dead_letters()
        assert logger.metrics().dead_letters == 1
        assert dead[0].status == 400 and dead[0].body["actieNaam"] == "fout"
        assert dead[0].problem["invalidParams"][0]["name"] == "uitvoerder"
        assert logger.requeue_dead_letters() == 1
        assert logger.flush(10)
        assert logger.metrics().dead_letters == 1  # refused again, kept again: never dropped
    assert [b["actieNaam"] for b in rec.bodies] == ["goed", "fout", "ook goed", "fout"]


def test_transient_failures_are_retried_with_the_same_key(tmp_path: Path) -> None:
    answers = [httpx.Response(503, json={"code": "error"}), httpx.Response(429, json={"code": "throttled"})]

    def answer(body: dict[str, Any]) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(201, json=body | {"actieId": str(uuid.uuid4())})

    rec = Recorder(answer)
    with _logger(tmp_path, rec) as logger:
        key = logger.log(actie_naam="één")
        assert logger.flush(10)
        m = logger.metrics()
    assert rec.keys == [key, key, key] and m.failed_attempts == 2 and m.shipped == 1


def test_register_down_grows_the_spool_and_metrics_show_the_lag(tmp_path: Path) -> None:
    client = Client("http://127.0.0.1:9", "app", "s" * 40, retry=NO_RETRIES)  # nothing listens on port 9
    with BufferedLogger(spool_path=tmp_path / "s", client=client, backoff=FAST) as logger:
        for i in range(3):
            logger.log(actie_naam=str(i))
        wait_until(lambda: logger.metrics().failed_attempts >= 2, 10, "failed attempts")
        m = logger.metrics()
        assert m.depth == 3 and m.oldest_age_seconds > 0 and m.shipped == 0 and m.last_error
        registry = CollectorRegistry()
        logger.register_prometheus(registry)
        assert registry.get_sample_value("verwerkingenlog_spool_depth") == 3
        assert registry.get_sample_value("verwerkingenlog_spool_oldest_age_seconds") > 0  # type: ignore[operator]
        assert registry.get_sample_value("verwerkingenlog_spool_shipped_total") == 0
        logger.close(flush_timeout=0)


def test_end_to_end_against_a_real_register(
    tmp_path: Path,
    live_register: RegisterProcess,  # noqa: F811
    registered: dict[str, Registered],
) -> None:
    c = registered["alles"]
    bsn = new_bsn()
    with BufferedLogger(live_register.url, c.client_id, c.secret, spool_path=tmp_path / "s", backoff=FAST) as logger:
        with verwerking(TEST_ACTIVITY, "https://var.example.nl/a", bewaartermijn="P1Y"):
            for i in range(5):
                logger.log(actie_naam=f"Stap {i}", objecten=[persoon(bsn)], systeem="App")
        assert logger.flush(20)
    with Client(live_register.url, c.client_id, c.secret) as client:
        page = client.list(bsn, verwerkingsactiviteit_id=TEST_ACTIVITY)
    assert sorted(a.actie_naam or "" for a in page.results) == [f"Stap {i}" for i in range(5)]
    assert len({a.verwerking_id for a in page.results}) == 1
