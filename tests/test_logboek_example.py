"""Done when: a new user points an OpenTelemetry-instrumented example app at the register with only exporter
configuration, and sees its processings in the citizen portal next to entries logged through the VNG API.
SQLite and PostgreSQL; the example runs as its own process (examples/otel_app)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.helpers import Api, actie, new_bsn
from tests.logboek_support import serving
from tests.portal_support import group_links, login, portal_settings, text_of
from verwerkingenlog.api.app import create_app
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client

ROOT = Path(__file__).resolve().parents[1]


def test_example_app_with_exporter_configuration_only_shows_up_in_the_portal(
    backend: tuple[str, str], registered: dict[str, Client]
) -> None:
    citizen = new_bsn()
    token = tokens.issue(registered["normaal"])
    with serving(backend[1]) as register_url:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{register_url}/v1/traces",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"Authorization=Bearer%20{token}",
        }
        run = subprocess.run(
            [sys.executable, "-m", "examples.otel_app", citizen],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stderr
    assert "Failed to export" not in run.stderr, run.stderr
    trace_id = run.stdout.strip()

    settings = make_settings(backend[1], **portal_settings(portal_demo_citizens=citizen))
    with TestClient(create_app(settings), base_url="https://testserver") as tc:
        api = Api(tc, {n: tokens.issue(c) for n, c in registered.items()}, backend[0], registered)
        an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
        api.create(actie(citizen, actieNaam="Beoordelen aanvraag via de VNG API", tijdstip=an_hour_ago))
        inzage = api.inzage(citizen).json()["results"]
        assert {r["verwerkingsactie"]["actieNaam"] for r in inzage} == {
            "Aanvraag parkeervergunning",
            "Raadplegen kentekenregistratie",
            "Beoordelen aanvraag via de VNG API",
        }
        assert {r["verwerkingsactie"]["verwerkingId"].replace("-", "") for r in inzage} >= {trace_id}
        page = text_of(login(tc, citizen).text)
        details = " ".join(text_of(tc.get(link).text) for link in group_links(tc.get("/portaal/").text))
    # The trace is one verwerking (one group, shown by its newest action); its actions are on its detail page.
    assert "Raadplegen kentekenregistratie" in page
    assert "Beoordelen aanvraag via de VNG API" in page
    assert "Raadplegen kentekenregistratie" in details and "Aanvraag parkeervergunning" in details
