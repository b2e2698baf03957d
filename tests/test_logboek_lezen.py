"""The Logboek Dataverwerkingen read extension, POST /api/v1/processing-activities (docs/logboek.md §Read),
on SQLite and PostgreSQL: VNG entries in the Logius shape, criteria, scopes as on the Inzage API, pagination."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.helpers import TEST_ACTIVITY, Api, actie, new_bsn
from tests.logboek_support import ACTIVITY_URL, dpl, pb_request, pb_span
from tests.test_storage import bulk_insert, execute, explain, full_scans, recorded_statements

PATH = "/api/v1/processing-activities"


def read_ext(api: Api, body: Any, who: str = "alles", **params: Any) -> httpx.Response:
    return api.request("POST", PATH, who, json=body, params=params)


def by_subject(bsn: str, activity: str | None = None) -> dict[str, Any]:
    attributes = {"dpl.core.data_subject_id": bsn, "dpl.core.data_subject_id_type": "BSN"}
    if activity is not None:  # leaves out the register's own self-log entries of earlier reads (R-SELF-1)
        attributes["dpl.core.processing_activity_id"] = activity
    return {"attributes": attributes}


def test_vng_entry_is_read_in_the_logius_shape(api: Api) -> None:
    bsn, other = new_bsn(), new_bsn()
    created = api.create(actie(bsn, other, tijdstip="2024-04-05T14:35:42.250+01:00"))
    r = read_ext(api, by_subject(bsn), who="read-normal")
    assert r.status_code == 200, r.text
    assert r.headers["API-version"] == "1.0.0"
    (line,) = r.json()["processingActivities"]
    assert line["traceId"] == created["verwerkingId"].replace("-", "")
    assert len(line["spanId"]) == 16
    assert line["status"] == "Unset"
    assert line["name"] == "Opvragen persoonsgegevens"
    assert line["startTime"] == line["endTime"] == 1712324142250
    attributes = line["attributes"]
    assert attributes["dpl.core.processing_activity_id"] == created["verwerkingsactiviteitUrl"]
    # Only the person searched for, never the other one in the same action (as on the Inzage API).
    assert attributes["dpl.core.data_subject_id"] == bsn
    assert other not in str(line)
    # VNG fields without a Logius counterpart are kept under verwerkingenlog.*; no user, no system.
    assert attributes["verwerkingenlog.actieId"] == created["actieId"]
    assert attributes["verwerkingenlog.bewaartermijn"] == "P10Y"
    assert attributes["verwerkingenlog.verwerkingNaam"] == "Huwelijk"
    assert "resource" not in line
    assert created["gebruiker"] not in str(line)


def test_criteria_combine_and_the_trace_finds_both_faces(api: Api) -> None:
    bsn = new_bsn()
    trace = uuid.uuid4()
    vng = api.create(actie(bsn, verwerkingId=str(trace), tijdstip="2023-06-01T10:00:00Z"))
    span = pb_span("Via OTLP", trace_id=trace.bytes, start_ns=1_700_000_000_000_000_000, **dpl(bsn))
    api.request(
        "POST", "/v1/traces", "normaal", headers={"Content-Type": "application/x-protobuf"}, content=pb_request(span)
    )
    both = read_ext(api, {"traceId": trace.hex}).json()["processingActivities"]
    assert [x["name"] for x in both] == ["Via OTLP", "Opvragen persoonsgegevens"]  # newest first
    since = read_ext(api, {"traceId": trace.hex, "startTime": 1_690_000_000_000}).json()["processingActivities"]
    assert [x["name"] for x in since] == ["Via OTLP"]
    until = read_ext(api, {**by_subject(bsn), "endTime": 1_690_000_000_000}).json()["processingActivities"]
    assert [x["attributes"]["verwerkingenlog.actieId"] for x in until] == [vng["actieId"]]
    activity = {"attributes": {"dpl.core.processing_activity_id": ACTIVITY_URL}}
    names = {x["name"] for x in read_ext(api, {**activity, "traceId": trace.hex}).json()["processingActivities"]}
    assert names == {"Via OTLP", "Opvragen persoonsgegevens"}
    query = read_ext(api, {}, traceId=trace.hex).json()["processingActivities"]
    assert len(query) == 2


def test_at_least_one_criterion_and_known_ones_only(api: Api) -> None:
    for body in ({}, {"attributes": {}}):
        r = read_ext(api, body)
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")
    unknown = read_ext(api, {"gebruiker": "x", "attributes": {"dpl.core.foo": 1}})
    assert unknown.status_code == 400
    assert {p["name"] for p in unknown.json()["invalidParams"]} == {"gebruiker", "attributes.dpl.core.foo"}
    bad = read_ext(api, {"traceId": "xyz", "startTime": "gisteren"})
    assert {p["name"] for p in bad.json()["invalidParams"]} == {"traceId", "startTime"}


def test_a_query_naming_neither_a_person_nor_a_trace_is_refused(api: Api) -> None:
    """Issue 21.1: `{"startTime": 0}` (or a period, or an activity) listed every data subject of the register to
    a read:confidential client. A query must name a data subject or a trace; the 400 names both criteria, for
    every scope, before anything is read (and so before anything is self-logged)."""
    bsn = new_bsn()
    api.create(actie(bsn))
    refused_bodies: list[dict[str, Any]] = [
        {"startTime": 0},
        {"startTime": 0, "endTime": 4_102_444_800_000},
        {"attributes": {"dpl.core.processing_activity_id": ACTIVITY_URL}},
        {"attributes": {"dpl.core.data_subject_id_type": "BSN"}, "endTime": 4_102_444_800_000},
    ]
    for body in refused_bodies:
        for who in ("alles", "read-conf", "read-normal"):
            r = read_ext(api, body, who=who)
            assert r.status_code == 400, (body, who, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert {p["name"] for p in r.json()["invalidParams"]} == {"traceId", "dpl.core.data_subject_id"}
            assert bsn not in r.text
    as_query = read_ext(api, {}, startTime="0")
    assert as_query.status_code == 400
    own_reads = api.list(bsn, activity=None).json()["results"]
    assert all(a["verwerkingsactiviteitId"] == TEST_ACTIVITY for a in own_reads)  # no read was logged for bsn
    # Naming the person or the trace still works, with the period narrowing it.
    assert len(read_ext(api, {**by_subject(bsn, ACTIVITY_URL), "startTime": 0}).json()["processingActivities"]) == 1


def test_scopes_as_on_the_inzage_api(api: Api) -> None:
    bsn = new_bsn()
    api.create(actie(bsn, actieNaam="Normaal"))
    api.create(actie(bsn, actieNaam="Geheim", vertrouwelijkheid="vertrouwelijk"))
    assert read_ext(api, by_subject(bsn), who="geen").status_code == 403
    assert read_ext(api, by_subject(bsn), who="create-conf").status_code == 403
    seen = read_ext(api, by_subject(bsn), who="read-conf").json()["processingActivities"]
    assert [x["name"] for x in seen] == ["Normaal"]  # vertrouwelijk is never shown (R-INZ-5)
    assert seen[0]["resource"] == {"service.name": "FooBarApp v2.1"}  # the system only for read:confidential


def test_results_are_paginated_with_headers(api: Api) -> None:
    bsn = new_bsn()
    for i in range(3):
        api.create(actie(bsn, actieNaam=f"Actie {i}", tijdstip=f"2024-01-0{i + 1}T12:00:00Z"))
    first = read_ext(api, by_subject(bsn, ACTIVITY_URL), pageSize=2)
    assert first.headers["X-Total-Count"] == "3"
    assert [x["name"] for x in first.json()["processingActivities"]] == ["Actie 2", "Actie 1"]
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    second = read_ext(api, by_subject(bsn, ACTIVITY_URL), pageSize=2, page=2)
    assert [x["name"] for x in second.json()["processingActivities"]] == ["Actie 0"]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    assert read_ext(api, by_subject(bsn, ACTIVITY_URL), pageSize=2, page=3).status_code == 400
    assert read_ext(api, by_subject(bsn, ACTIVITY_URL), pageSize=1001).status_code == 400


def test_reads_are_logged_as_processings(api: Api) -> None:
    bsn = new_bsn()
    api.create(actie(bsn))
    read_ext(api, by_subject(bsn), who="read-normal")
    own = api.list(bsn, activity=None).json()["results"]
    assert any(a["verwerkingsactiviteitId"] != TEST_ACTIVITY for a in own)  # the register's own self-log entry


def test_read_extension_queries_use_the_indexes(api: Api) -> None:
    """The read extension's searches by trace (ix_versie_verwerking), by person (the blind index) and by an
    activity URL ending in its id (ix_versie_activiteit) never scan the log as a whole (PostgreSQL: analysed,
    enable_seqscan off; SQLite as deployed). An activity alone can match most of the log; it is paged, but
    its count reads every entry of the activity."""
    bsn = new_bsn()
    created = api.create(actie(bsn))
    bulk_insert(api, 2000)
    if api.backend == "postgresql":
        execute(api, "ANALYZE")
    trace = created["verwerkingId"].replace("-", "")
    for body in (
        {"traceId": trace},
        by_subject(bsn),
        {"attributes": {"dpl.core.processing_activity_id": ACTIVITY_URL}, "traceId": trace},
    ):
        with recorded_statements(api) as seen:
            r = read_ext(api, body, pageSize=1)
        assert r.status_code == 200, r.text
        searches = [
            (s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT") and "FROM verwerkingsactie_versie" in s
        ]
        assert len(searches) >= 2, searches  # count + page
        for statement, parameters in searches[:2]:
            plan = explain(api, statement, parameters)
            assert full_scans(plan) == [], (body, plan)


# --- Issue 18.1: the three shapes of the extension behind one router, batches, UUID trace ids -------------------


def _otlp(api: Api, *spans: Any) -> None:
    r = api.request(
        "POST", "/v1/traces", "normaal", headers={"Content-Type": "application/x-protobuf"}, content=pb_request(*spans)
    )
    assert r.status_code == 200, r.text


def test_develop_flat_body_with_a_uuid_trace_answers_in_uuid_form(api: Api) -> None:
    """Develop OAS: `allOf[Attributes, {traceId, startTime, endTime}]`, dpl.core.* at the top level, traceId
    `format: uuid`. The register refused both (400); it now answers, with trace ids written as asked."""
    bsn = new_bsn()
    trace = uuid.uuid4()
    _otlp(api, pb_span("Via OTLP", trace_id=trace.bytes, **dpl(bsn)))
    flat = {"dpl.core.data_subject_id": bsn, "dpl.core.processing_activity_id": ACTIVITY_URL}
    r = read_ext(api, flat)
    assert r.status_code == 200, r.text
    (line,) = r.json()["processingActivities"]
    assert line["traceId"] == str(trace)  # no trace id asked in hex: the OAS's UUID form
    assert line["attributes"]["dpl.core.data_subject_id"] == bsn
    by_uuid = read_ext(api, {"traceId": str(trace), "startTime": 0})
    assert by_uuid.status_code == 200, by_uuid.text
    assert [x["traceId"] for x in by_uuid.json()["processingActivities"]] == [str(trace)]
    by_hex = read_ext(api, {"traceId": trace.hex.upper()})  # 32 hex digits, as before: answered as before
    assert [x["traceId"] for x in by_hex.json()["processingActivities"]] == [trace.hex]
    old = read_ext(api, by_subject(bsn, ACTIVITY_URL))  # today's body: unchanged answer
    assert [x["traceId"] for x in old.json()["processingActivities"]] == [trace.hex]
    assert old.json()["processingActivities"][0]["attributes"]["dpl.core.data_subject_id"] == bsn


def test_pr28_nested_body_answers_nested_with_the_next_logbook(api: Api) -> None:
    """PR #28: `{"dpl": {"core": {processingActivityId, dataSubjectId, dataSubjectIdType}}}` in, the same nesting
    (camelCase, `dpl.read.nextLogbook`) out; the other attributes stay as they are."""
    bsn = new_bsn()
    trace = uuid.uuid4()
    next_api = "https://rvig.example.nl/lezenapi/v1/processing-activities"
    extra = {"dpl__read__externalReadAPI_id": next_api}
    _otlp(api, pb_span("Bevraag BRP", trace_id=trace.bytes, **dpl(bsn, **extra)))
    body = {"dpl": {"core": {"dataSubjectId": bsn, "dataSubjectIdType": "BSN", "processingActivityId": ACTIVITY_URL}}}
    r = read_ext(api, body)
    assert r.status_code == 200, r.text
    (line,) = r.json()["processingActivities"]
    assert line["traceId"] == str(trace)
    attributes = line["attributes"]
    assert attributes["dpl"] == {
        "core": {"processingActivityId": ACTIVITY_URL, "dataSubjectId": bsn, "dataSubjectIdType": "BSN"},
        "read": {"nextLogbook": next_api},
    }
    assert "dpl.core.data_subject_id" not in attributes
    assert attributes["verwerkingenlog.verwerkingId"] == str(trace)
    # The flat shapes show the pointer under the name it was logged with.
    flat = read_ext(api, {"dpl.core.data_subject_id": bsn}).json()["processingActivities"]
    assert any(x["attributes"].get("dpl.read.externalReadAPI_id") == next_api for x in flat)
    by_trace = read_ext(api, {"traceId": str(trace), "dpl": {"core": {}}}).json()["processingActivities"]
    assert [x["name"] for x in by_trace] == ["Bevraag BRP"]


def test_digilab_reference_path_serves_the_same_extension(api: Api) -> None:
    bsn = new_bsn()
    api.create(actie(bsn))
    r = api.request("POST", "/lezenapi/v1/processing-activities", "alles", json={"dpl.core.data_subject_id": bsn})
    assert r.status_code == 200, r.text
    assert r.headers["API-version"] == "1.0.0"
    assert any(x["attributes"]["dpl.core.data_subject_id"] == bsn for x in r.json()["processingActivities"])
    refused = api.request("POST", "/lezenapi/v1/processing-activities", "alles", json={"startTime": 0})
    assert refused.status_code == 400  # issue 21.1 holds on every path
    assert {p["name"] for p in refused.json()["invalidParams"]} == {"traceId", "dpl.core.data_subject_id"}
    assert api.request("POST", "/lezenapi/v1/processing-activities", "geen", json={}).status_code == 403


def test_shapes_are_not_mixed_and_unknown_nested_criteria_are_named(api: Api) -> None:
    bsn = new_bsn()
    mixed = read_ext(api, {"dpl": {"core": {"dataSubjectId": bsn}}, "dpl.core.data_subject_id": bsn})
    assert mixed.status_code == 400
    assert {p["name"] for p in mixed.json()["invalidParams"]} == {"dpl.core.data_subject_id"}
    nested = read_ext(api, {"dpl": {"core": {"dataSubjectId": bsn, "bsn": 1}, "read": {"nextLogbook": "x"}}})
    assert {p["name"] for p in nested.json()["invalidParams"]} == {"dpl.core.bsn", "dpl.read"}
    for bad in ("0af7651916cd43dd8448eb211c80319", "{0af76519-16cd-43dd-8448-eb211c80319c}", "0" * 32):
        r = read_ext(api, {"traceId": bad})
        assert r.status_code == 400, bad
        assert [p["name"] for p in r.json()["invalidParams"]] == ["traceId"]


def test_batch_queries_find_any_of_several_subjects_or_traces(api: Api) -> None:
    first, second, third = new_bsn(), new_bsn(), new_bsn()
    for bsn in (first, second, third):
        api.create(actie(bsn, actieNaam=f"Actie {bsn}"))
    r = read_ext(api, {"dpl.core.data_subject_id": [first, second], "dpl.core.processing_activity_id": ACTIVITY_URL})
    assert r.status_code == 200, r.text
    subjects = {x["attributes"]["dpl.core.data_subject_id"] for x in r.json()["processingActivities"]}
    assert subjects == {first, second}
    assert r.headers["X-Total-Count"] == "2"
    traces = [x["traceId"] for x in r.json()["processingActivities"]]
    by_traces = read_ext(api, {"dpl": {"core": {}}, "traceId": traces}).json()["processingActivities"]
    assert sorted(x["traceId"] for x in by_traces) == sorted(traces)
    nested = read_ext(api, {"dpl": {"core": {"dataSubjectId": [first, third], "processingActivityId": ACTIVITY_URL}}})
    assert {x["attributes"]["dpl"]["core"]["dataSubjectId"] for x in nested.json()["processingActivities"]} == {
        first,
        third,
    }
    empty = read_ext(api, {"dpl.core.data_subject_id": []})
    assert empty.status_code == 400
    assert "dpl.core.data_subject_id" in {p["name"] for p in empty.json()["invalidParams"]}
    wrong = read_ext(api, {"traceId": [traces[0], "nope"]})
    assert [p["name"] for p in wrong.json()["invalidParams"]] == ["traceId[1]"]


@pytest.mark.parametrize("settings_overrides", [{"logboek_read_batch_max": 3}])
def test_a_batch_is_bounded_by_a_setting(api: Api) -> None:
    bsns = [new_bsn() for _ in range(4)]
    r = read_ext(api, {"dpl.core.data_subject_id": bsns})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    (problem,) = r.json()["invalidParams"]
    assert (problem["name"], problem["code"]) == ("dpl.core.data_subject_id", "tooMany")
    assert read_ext(api, {"dpl.core.data_subject_id": bsns[:3]}).status_code == 200
    # Counted together, and refused before any element is checked (one problem, not one per element).
    both = read_ext(api, {"traceId": [uuid.uuid4().hex, "x"], "dpl.core.data_subject_id": [1, 2]})
    assert {(p["name"], p["code"]) for p in both.json()["invalidParams"]} == {
        ("traceId", "tooMany"),
        ("dpl.core.data_subject_id", "tooMany"),
    }
    huge = read_ext(api, {"dpl.core.data_subject_id": [0] * 50_000})
    assert [p["name"] for p in huge.json()["invalidParams"]] == ["dpl.core.data_subject_id"]


def test_an_activity_known_by_id_only_is_shown_as_a_uri_in_the_new_shapes(api: Api) -> None:
    """Found by schemathesis against the extension's OAS: a VNG entry without `verwerkingsactiviteitUrl`
    showed its bare id as `dpl.core.processing_activity_id`, which the schema requires to be a URI."""
    bsn = new_bsn()
    api.create(actie(bsn, verwerkingsactiviteitUrl=None))
    flat = read_ext(api, {"dpl.core.data_subject_id": bsn}).json()["processingActivities"]
    assert f"urn:uuid:{TEST_ACTIVITY}" in {x["attributes"]["dpl.core.processing_activity_id"] for x in flat}
    nested = read_ext(api, {"dpl": {"core": {"dataSubjectId": bsn}}}).json()["processingActivities"]
    assert f"urn:uuid:{TEST_ACTIVITY}" in {x["attributes"]["dpl"]["core"]["processingActivityId"] for x in nested}
    old = read_ext(api, by_subject(bsn)).json()["processingActivities"]  # the old body: answered as before
    assert TEST_ACTIVITY in {x["attributes"]["dpl.core.processing_activity_id"] for x in old}


@pytest.mark.parametrize("settings_overrides", [{"public_base_url": "https://log.gemeente.example/api/v1"}])
def test_pages_carry_count_next_and_previous_as_on_the_vng_apis(api: Api) -> None:
    """R-PAG-2 on the read extension too, at both paths: `count`, and `next`/`previous` as absolute URLs
    repeating the query, `null` when absent (beside the extension's array, which the schema allows)."""
    bsn = new_bsn()
    for i in range(3):
        api.create(actie(bsn, actieNaam=f"Actie {i}", tijdstip=f"2024-01-0{i + 1}T12:00:00Z"))
    body = {"dpl.core.data_subject_id": bsn, "dpl.core.processing_activity_id": ACTIVITY_URL}
    for root in ("/api/v1", "/lezenapi/v1"):
        first = api.request("POST", f"{root}/processing-activities", "alles", json=body, params={"pageSize": 2})
        page = first.json()
        assert (page["count"], page["previous"]) == (3, None)
        assert page["next"] == f"https://log.gemeente.example{root}/processing-activities?pageSize=2&page=2"
        assert [x["name"] for x in page["processingActivities"]] == ["Actie 2", "Actie 1"]
        second = api.request("POST", page["next"].removeprefix("https://log.gemeente.example"), "alles", json=body)
        assert second.json()["next"] is None
        assert (
            second.json()["previous"] == f"https://log.gemeente.example{root}/processing-activities?pageSize=2&page=1"
        )
        assert [x["name"] for x in second.json()["processingActivities"]] == ["Actie 0"]


def test_batch_queries_use_the_indexes(api: Api) -> None:
    """A batch of traces or persons (issue 18.1) searches the same indexes, once per value, never the log as a
    whole: here with this month's partition (where the searched entries are) filled too, so that PostgreSQL
    cannot find reading a near-empty partition whole the cheaper plan."""
    bsn, other = new_bsn(), new_bsn()
    traces = [api.create(actie(b))["verwerkingId"].replace("-", "") for b in (bsn, other)]
    now = datetime.now(UTC)
    bulk_insert(api, 2000, since=datetime(now.year, now.month, 1, tzinfo=UTC))
    if api.backend == "postgresql":
        execute(api, "ANALYZE")
    persons = {"dpl.core.data_subject_id": [bsn, other, new_bsn()], "dpl.core.processing_activity_id": ACTIVITY_URL}
    for body in ({"traceId": [*traces, uuid.uuid4().hex]}, persons):  # the activity leaves out own self-logs
        with recorded_statements(api) as seen:
            r = read_ext(api, body, pageSize=1)
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 2
        searches = [
            (s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT") and "FROM verwerkingsactie_versie" in s
        ]
        assert len(searches) >= 2, searches  # count + page
        for statement, parameters in searches[:2]:
            plan = explain(api, statement, parameters)
            assert full_scans(plan) == [], (body, plan)
