"""The worked examples (examples/), run as a supplier runs them: one command, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_KEY
from tests.helpers import new_bsn
from tests.live import RegisterProcess, live_register  # noqa: F401 - fixture
from verwerkingenlog.services.clients import Client as Registered

ROOT = Path(__file__).resolve().parents[1]


def test_demo_links_consumer_and_provider_entries(backend: tuple[str, str], registered: dict[str, Registered]) -> None:
    """`python -m examples.demo`: both applications log their side; the headers link the entries (§10.4)."""
    env = {**os.environ, "PSEUDONYMISATION_KEY": TEST_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--database-url", backend[1], "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    consumer_id = summary["aanvraag"]["verwerkingId"]
    assert summary["consumer"] == ["Opvragen persoonsgegevens", "Opslaan aanvraag"]
    provider = summary["provider"]
    assert provider["verwerkingIdAfnemer"] == consumer_id != provider["verwerkingId"]
    assert provider["soortAfnemerId"] == "OIN" and provider["afnemerId"] == "00000001001172773000"
    assert provider["verwerkingsactiviteitIdAfnemer"] == "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
    assert provider["vertrouwelijkheid"] == "normaal" and provider["bewaartermijn"] == "P2Y"
    assert "Linked: provider.verwerkingIdAfnemer == consumer.verwerkingId" in result.stdout


def test_header_round_trip_between_the_example_apps(
    live_register: RegisterProcess,  # noqa: F811
    registered: dict[str, Registered],
    tmp_path: Path,
) -> None:
    """The example consumer calls the example provider (its WSGI app served by wsgiref in a thread); the
    provider's entry carries the consumer's OIN, verwerkingId and bewaartermijn (§10.2-10.4)."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from examples.parkeervergunning.app import Parkeervergunningen
    from examples.personen_register.app import ACTIVITEIT_ID, PERSONEN, make_app

    from verwerkingenlog.client import BufferedLogger, Client

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

    c = registered["alles"]
    bsn = new_bsn()
    PERSONEN[bsn] = {"naam": "T. Est", "adres": "Teststraat 1"}
    provider_log = BufferedLogger(live_register.url, c.client_id, c.secret, spool_path=tmp_path / "p.spool")
    consumer_log = BufferedLogger(live_register.url, c.client_id, c.secret, spool_path=tmp_path / "c.spool")
    server = make_server("127.0.0.1", 0, make_app(provider_log), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app = Parkeervergunningen(consumer_log, f"http://127.0.0.1:{server.server_port}")
        result = app.aanvragen(bsn, "XX-99-YY")
        assert result["naam"] == "T. Est"
        assert provider_log.flush(20) and consumer_log.flush(20)
    finally:
        server.shutdown()
        provider_log.close()
        consumer_log.close()
        PERSONEN.pop(bsn, None)
    with Client(live_register.url, c.client_id, c.secret) as client:
        provided = client.list(bsn, verwerkingsactiviteit_id=ACTIVITEIT_ID).results
    assert len(provided) == 1
    entry = provided[0]
    assert entry.verwerking_id_afnemer == result["verwerkingId"]
    assert entry.afnemer_id == "00000001001172773000" and entry.soort_afnemer_id == "OIN"
    assert entry.bewaartermijn == "P2Y" and entry.vertrouwelijkheid == "normaal"
