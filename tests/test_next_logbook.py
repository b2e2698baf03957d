"""The next-logbook pointer (issue 18.2, logboek-extensie-lezen "Toevoeging bij schrijven Logs"), on SQLite and
PostgreSQL: the client library writes it on the span that calls another organisation, the register keeps it with
the span's other Logius attributes and returns it through the read extension in every shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import Api, new_bsn
from tests.logboek_support import ACTIVITY_URL, dpl, pb_request, pb_response, pb_span, serving, tracer_provider
from verwerkingenlog.client import propagation
from verwerkingenlog.client.otel import DplSpanProcessor
from verwerkingenlog.client.propagation.requests_adapter import propagating_session
from verwerkingenlog.services.clients import Client

PATH = "/api/v1/processing-activities"


@pytest.fixture
def two_organisations(backend: tuple[str, str], registered: dict[str, Client]) -> Iterator[tuple[str, str]]:
    """Two real servers: our own register, and another organisation's (whose API the application calls)."""
    with serving(backend[1]) as own, serving(backend[1]) as other:
        yield own, other


@pytest.fixture
def next_logbooks() -> Iterator[None]:
    yield
    propagation.configure_next_logbooks({})


def _read(api: Api, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = api.request("POST", PATH, "alles", json=body)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["processingActivities"]
    return found


def test_a_call_to_another_organisation_writes_its_read_api_on_the_span(
    api: Api, two_organisations: tuple[str, str], next_logbooks: None
) -> None:
    own, other = two_organisations
    read_api = f"{other}/lezenapi/v1/processing-activities"
    propagation.configure_next_logbooks({other: read_api})
    provider, _ = tracer_provider(own, api.tokens["normaal"], "zaaksysteem")
    provider.add_span_processor(DplSpanProcessor())
    tracer = provider.get_tracer("zaak")
    bsn = new_bsn()
    subject = _subject(bsn)
    with (
        propagation.verwerking(verwerkingsactiviteit_url=ACTIVITY_URL),
        httpx.Client(event_hooks={"request": [propagation.httpx_hook]}) as http,
    ):
        with tracer.start_as_current_span("Bevraag BRP", attributes=subject):
            http.get(f"{other}/api/v1/verwerkingsacties")  # another organisation: the pointer
        with tracer.start_as_current_span("Intern opzoeken", attributes=subject):
            http.get(f"{own}/api/v1/verwerkingsacties")  # our own register: no pointer (MUST NOT)
        with tracer.start_as_current_span("Bevraag BRP via requests", attributes=subject):
            propagating_session().get(f"{other}/api/v1/verwerkingsacties", timeout=10)
    provider.shutdown()

    flat = {x["name"]: x["attributes"] for x in _read(api, {"dpl.core.data_subject_id": bsn})}
    assert set(flat) == {"Bevraag BRP", "Intern opzoeken", "Bevraag BRP via requests"}
    assert flat["Bevraag BRP"]["dpl.read.externalReadAPI_id"] == read_api
    assert flat["Bevraag BRP via requests"]["dpl.read.externalReadAPI_id"] == read_api
    assert "dpl.read.externalReadAPI_id" not in flat["Intern opzoeken"]
    nested = {x["name"]: x["attributes"]["dpl"] for x in _read(api, {"dpl": {"core": {"dataSubjectId": bsn}}})}
    assert nested["Bevraag BRP"]["read"] == {"nextLogbook": read_api}
    assert "read" not in nested["Intern opzoeken"]
    # The old body shows it too (it is an attribute like any other).
    old = _read(api, {"attributes": {"dpl.core.data_subject_id": bsn}})
    assert sum(1 for x in old if x["attributes"].get("dpl.read.externalReadAPI_id") == read_api) == 2


def test_without_configuration_no_pointer_is_written(
    api: Api, two_organisations: tuple[str, str], next_logbooks: None
) -> None:
    own, other = two_organisations
    provider, _ = tracer_provider(own, api.tokens["normaal"], "zaaksysteem")
    provider.add_span_processor(DplSpanProcessor())
    bsn = new_bsn()
    with (
        httpx.Client(event_hooks={"request": [propagation.httpx_hook]}) as http,
        provider.get_tracer("zaak").start_as_current_span("Bevraag", attributes=_subject(bsn)),
    ):
        http.get(f"{other}/api/v1/verwerkingsacties")
    provider.shutdown()
    (line,) = _read(api, {"dpl.core.data_subject_id": bsn, "dpl.core.processing_activity_id": ACTIVITY_URL})
    assert not any(k.startswith("dpl.read.") for k in line["attributes"])


def _subject(bsn: str) -> dict[str, Any]:
    return {k.replace("__", "."): v for k, v in dpl(bsn).items()}


def test_configuration_names_origins_and_absolute_read_apis(next_logbooks: None) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        propagation.configure_next_logbooks({"https://api.rvig.example.nl/brp": "https://ldv.rvig.example.nl/"})
    with pytest.raises(ValueError, match="read API"):
        propagation.configure_next_logbooks({"https://api.rvig.example.nl": "ldv.rvig.example.nl"})
    propagation.configure_next_logbooks({"https://API.rvig.example.nl": "https://ldv.rvig.example.nl/lezen"})
    assert (
        propagation.next_logbook_for("https://api.rvig.example.nl/brp/personen?x=1")
        == "https://ldv.rvig.example.nl/lezen"
    )
    assert propagation.next_logbook_for("https://api.rvig.example.nl:8443/brp") is None
    assert propagation.next_logbook_for("https://intern.gemeente.example/") is None


def test_the_register_refuses_a_pointer_that_is_no_uri(api: Api) -> None:
    bsn = new_bsn()
    bad = pb_span("Met kapotte wijzer", span_id=b"\x04" * 8, **dpl(bsn, dpl__read__externalReadAPI_id="rvig"))
    bad_pr28 = pb_span("PR 28", span_id=b"\x05" * 8, **dpl(bsn, dpl__read__nextLogbook="/lezen"))
    good = pb_span("Met wijzer", **dpl(bsn, dpl__read__nextLogbook="https://ldv.rvig.example.nl/lezen"))
    r = api.request(
        "POST",
        "/v1/traces",
        "normaal",
        headers={"Content-Type": "application/x-protobuf"},
        content=pb_request(bad, bad_pr28, good),
    )
    assert r.status_code == 200, r.text
    partial = pb_response(r.content).partial_success
    assert partial.rejected_spans == 2
    assert "0404040404040404" in partial.error_message and "0505050505050505" in partial.error_message
    (line,) = _read(api, {"dpl": {"core": {"dataSubjectId": bsn, "processingActivityId": ACTIVITY_URL}}})
    assert line["attributes"]["dpl"]["read"] == {"nextLogbook": "https://ldv.rvig.example.nl/lezen"}
