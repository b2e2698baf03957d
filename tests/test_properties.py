"""Property-based tests (hypothesis).

1. Random sequences of POST / PUT / PATCH / DELETE through the HTTP API against a small pure-Python model of
   the expected current, non-vervallen versions (§8). After each sequence the Bewerking list, the Bewerking
   single GET (with old and new ids), the Inzage list and the Inzage single GET must return exactly what
   the model predicts (R-VER-1..7, R-GETL-1..8, R-GETS-2..4, R-INZ-1/4/5/7, R-INZS-1, R-PUT-2..5,
   R-PATCH-2..5, R-DEL-1..4).
2. The pure domain functions: versioning.current_version / visible_version and the version constructors,
   duration parsing against an independent reference, moment parsing round trips.

Every example uses fresh persons and verwerkingIds (uuid4-based: hypothesis reseeds `random` per example),
and every list call filters on the test activity, so examples and self-log entries never interfere.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import INZAGE_HEADERS, Api, actie, person
from verwerkingenlog.domain import versioning
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.model import Actiegegevens, NieuwObject, Versie, VerwerktObject
from verwerkingenlog.domain.values import (
    Vertrouwelijkheid,
    duration_value,
    from_epoch_us,
    header_duration_value,
    moment_value,
    to_epoch_us,
)

HTTP_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE_SETTINGS = settings(max_examples=300, deadline=None)

N, V, OPG = "normaal", "vertrouwelijk", "opgeheven"
# Two of these denote the same instant with different offsets: their order falls back to the version sequence.
TIJDSTIPPEN = {
    "2024-04-05T14:35:42+01:00": datetime(2024, 4, 5, 13, 35, 42, tzinfo=UTC),
    "2024-04-05T13:35:42Z": datetime(2024, 4, 5, 13, 35, 42, tzinfo=UTC),
    "2023-01-01T00:00:00+05:45": datetime(2022, 12, 31, 18, 15, tzinfo=UTC),
    "2024-12-31T23:59:59.5-03:00": datetime(2025, 1, 1, 2, 59, 59, 500000, tzinfo=UTC),
}
TIJDSTIP_TEXTS = sorted(TIJDSTIPPEN)
POOL = 3  # persons per example
VERWERKINGEN = 2  # verwerkingIds per example


def fresh_bsn() -> str:
    return f"8{uuid.uuid4().int % 10**10:010d}"


# -- the model ---------------------------------------------------------------------------------------------------


@dataclass
class Lineage:
    """One logical action as the model expects it."""

    ids: list[str]  # every actieId this lineage ever had, oldest first
    vertrouwelijkheid: str
    bewaartermijn: str | None
    verwerking: int
    tijdstip: str
    objects: list[tuple[int, str]]  # (person index, verwerktObjectId) in order
    order: int  # model sequence of the current version (equal for the versions of one PATCH)
    vervallen: bool = False

    @property
    def current_id(self) -> str:
        return self.ids[-1]


@dataclass
class Model:
    persons: list[str] = field(default_factory=lambda: [fresh_bsn() for _ in range(POOL)])
    verwerkingen: list[str] = field(default_factory=lambda: [str(uuid.uuid4()) for _ in range(VERWERKINGEN)])
    lineages: list[Lineage] = field(default_factory=list)
    seen_object_ids: set[str] = field(default_factory=set)
    seen_actie_ids: set[str] = field(default_factory=set)
    counter: int = 0

    def tick(self) -> int:
        self.counter += 1
        return self.counter

    def visible(self) -> list[Lineage]:
        return [lin for lin in self.lineages if not lin.vervallen]


def _objects(model: Model, persons: list[int], echo: list[str | None]) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(persons):
        obj = person(model.persons[p], betrokkenheid=f"rol-{i}")
        if echo[i] is not None:
            obj["verwerktObjectId"] = echo[i]
        out.append(obj)
    return out


def _body(model: Model, op: dict[str, Any], echo: list[str | None]) -> dict[str, Any]:
    return actie(
        verwerkingId=model.verwerkingen[op["verwerking"]],
        vertrouwelijkheid=op["vertrouwelijkheid"],
        bewaartermijn=op["bewaartermijn"],
        tijdstip=op["tijdstip"],
        verwerkteObjecten=_objects(model, op["persons"], echo),
    )


def _learn_objects(model: Model, lineage_objects: list[tuple[int, str]], response: dict[str, Any]) -> None:
    for (p, _), got in zip(lineage_objects, response["verwerkteObjecten"], strict=True):
        assert got["objectId"] == model.persons[p]
    model.seen_object_ids.update(o for _, o in lineage_objects)


def _new_ids(model: Model, response: dict[str, Any], echoed: list[str | None]) -> list[str]:
    """Object ids from a 201/200 response: echoed current ids are kept, every other id is new (R-PUT-5)."""
    ids = [o["verwerktObjectId"] for o in response["verwerkteObjecten"]]
    assert len(ids) == len(echoed)
    for got, echo in zip(ids, echoed, strict=True):
        if echo is not None:
            assert got == echo
        else:
            assert got not in model.seen_object_ids
    assert len(set(ids)) == len(ids)
    return ids


def apply(api: Api, model: Model, op: dict[str, Any]) -> None:
    """Perform one operation over HTTP and update the model; the status code is predicted by the model."""
    kind, who = op["kind"], op["who"]
    if kind == "post":
        r = api.post(_body(model, op, [None] * len(op["persons"])), who)
        if op["vertrouwelijkheid"] == V and who != "alles":
            assert r.status_code == 403, r.text  # R-POST-1
            return
        assert r.status_code == 201, r.text
        data = r.json()
        assert data["actieId"] not in model.seen_actie_ids
        ids = _new_ids(model, data, [None] * len(op["persons"]))
        lin = Lineage(
            ids=[data["actieId"]],
            vertrouwelijkheid=op["vertrouwelijkheid"],
            bewaartermijn=op["bewaartermijn"],
            verwerking=op["verwerking"],
            tijdstip=op["tijdstip"],
            objects=list(zip(op["persons"], ids, strict=True)),
            order=model.tick(),
        )
        model.lineages.append(lin)
        model.seen_actie_ids.add(data["actieId"])
        _learn_objects(model, lin.objects, data)
        return
    if not model.lineages:
        return
    if kind == "patch":
        target = op["verwerking"]
        addressed = [lin for lin in model.visible() if lin.verwerking == target]
        body = {k: op[k] for k in ("bewaartermijn", "vertrouwelijkheid") if op[k] is not None}
        r = api.patch(model.verwerkingen[target], body, who)
        if not addressed:
            assert r.status_code == 400, r.text  # R-PATCH-3
            assert r.json()["invalidParams"][0]["name"] == "verwerkingId"
            return
        if who != "alles" and ("vertrouwelijkheid" in body or any(lin.vertrouwelijkheid != N for lin in addressed)):
            assert r.status_code == 403, r.text  # R-PATCH-4: nothing changes
            return
        assert r.status_code == 204, r.text
        order = model.tick()  # one transaction: the relative order of its versions is not specified
        for lin in addressed:
            if op["bewaartermijn"] is not None:
                lin.bewaartermijn = op["bewaartermijn"]
            if op["vertrouwelijkheid"] is not None:
                lin.vertrouwelijkheid = op["vertrouwelijkheid"]
            lin.order = order
            # R-PATCH-5 / R-VER-1: a new actieId per version; learn it through any older id (R-VER-3).
            got = api.get(lin.ids[0])
            assert got.status_code == 200, got.text
            new_id = got.json()["actieId"]
            assert new_id not in model.seen_actie_ids
            lin.ids.append(new_id)
            model.seen_actie_ids.add(new_id)
        return
    lin = model.lineages[op["target"] % len(model.lineages)]
    via = lin.ids[op["via"] % len(lin.ids)]  # any version's actieId resolves to the lineage (R-VER-3)
    if kind == "delete":
        r = api.delete(via, who)
        if lin.vervallen:
            assert r.status_code == 400, r.text  # R-DEL-2
            return
        if who != "alles" and lin.vertrouwelijkheid != N:
            assert r.status_code == 403, r.text  # R-DEL-3
            return
        assert r.status_code == 204, r.text
        lin.vervallen = True
        lin.order = model.tick()
        return
    # PUT: full replacement (R-PUT-4); echo the ids of current objects where asked (R-PUT-5).
    echo: list[str | None] = []
    for i, want in enumerate(op["echo"][: len(op["persons"])]):
        echo.append(lin.objects[i][1] if want and i < len(lin.objects) else None)
    echo += [None] * (len(op["persons"]) - len(echo))
    r = api.put(via, _body(model, op, echo), who)
    if lin.vervallen:
        assert r.status_code == 400, r.text  # R-PUT-2
        return
    if who == "alles":
        forbidden = op["vertrouwelijkheid"] == OPG and lin.vertrouwelijkheid != OPG  # R-PUT-3, AMB-24
    else:
        forbidden = lin.vertrouwelijkheid != N or op["vertrouwelijkheid"] != N
    if forbidden:
        assert r.status_code == 403, r.text
        return
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["actieId"] not in model.seen_actie_ids
    ids = _new_ids(model, data, echo)
    lin.ids.append(data["actieId"])
    model.seen_actie_ids.add(data["actieId"])
    lin.vertrouwelijkheid = op["vertrouwelijkheid"]
    lin.bewaartermijn = op["bewaartermijn"]
    lin.verwerking = op["verwerking"]
    lin.tijdstip = op["tijdstip"]
    lin.objects = list(zip(op["persons"], ids, strict=True))
    lin.order = model.tick()
    _learn_objects(model, lin.objects, data)


# -- checking the API against the model ----------------------------------------------------------------------------


def _sort_key(lin: Lineage) -> tuple[datetime, int]:
    return (TIJDSTIPPEN[lin.tijdstip], lin.order)


def assert_ordered(actual: list[Any], expected: list[tuple[tuple[Any, ...], Any]]) -> None:
    """R-GETL-8 / R-PAG-4: newest tijdstip first, then version sequence (both descending). Items whose keys tie
    completely (versions written by one PATCH, same instant) may come in any order among themselves."""
    expected = sorted(expected, key=lambda e: e[0], reverse=True)
    assert len(actual) == len(expected), (actual, expected)
    i = 0
    while i < len(expected):
        j = i
        while j < len(expected) and expected[j][0] == expected[i][0]:
            j += 1
        assert sorted(map(repr, actual[i:j])) == sorted(repr(e[1]) for e in expected[i:j]), (actual, expected)
        i = j


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    assert data.get("count", 0) == len(data.get("results", [])) or "results" not in data
    return data


def expected_object(model: Model, index: int, p: int, object_id: str) -> dict[str, Any]:
    bsn = model.persons[p]
    return {
        "url": f"http://testserver/api/v1/verwerkte-objecten/{object_id}",
        "verwerktObjectId": object_id,
        "objecttype": "persoon",
        "soortObjectId": "BSN",
        "objectId": bsn,
        "betrokkenheid": f"rol-{index}",
        "verwerkteSoortenGegevens": [],
    }


def check_action(model: Model, lin: Lineage, got: dict[str, Any], only_person: int | None = None) -> None:
    assert got["actieId"] == lin.current_id
    assert got["url"].endswith(f"/verwerkingsacties/{lin.current_id}")
    assert got["vertrouwelijkheid"] == lin.vertrouwelijkheid
    assert got["bewaartermijn"] == lin.bewaartermijn
    assert got["verwerkingId"] == model.verwerkingen[lin.verwerking]
    assert got["tijdstip"] == lin.tijdstip
    objects = [
        expected_object(model, i, p, oid)
        for i, (p, oid) in enumerate(lin.objects)
        if only_person is None or p == only_person
    ]
    assert got["verwerkteObjecten"] == objects


def check(api: Api, model: Model) -> None:
    visible = model.visible()
    for p, bsn in enumerate(model.persons):
        about = [lin for lin in visible if any(q == p for q, _ in lin.objects)]

        # Bewerking list, read:confidential: every visible action about p, only p's objects (R-GETL-1/5/8).
        results = ok(api.list(bsn, who="alles"))["results"]
        assert_ordered([a["actieId"] for a in results], [(_sort_key(lin), lin.current_id) for lin in about])
        by_id = {lin.current_id: lin for lin in about}
        for a in results:
            check_action(model, by_id[a["actieId"]], a, only_person=p)
            assert a["systeem"] == "FooBarApp v2.1"  # R-GETL-7: all fields

        # Bewerking list, read:normal with vertrouwelijkheid=normaal (R-GETL-4/6).
        normal = ok(api.list(bsn, who="read-normal"))["results"]
        assert_ordered(
            [a["actieId"] for a in normal],
            [(_sort_key(lin), lin.current_id) for lin in about if lin.vertrouwelijkheid == N],
        )
        # Bewerking list, vertrouwelijkheid filter (OR of the values, repeated parameter; R-GETL-4).
        conf = ok(api.list(bsn, who="alles", vertrouwelijkheid=[V, OPG]))["results"]
        assert_ordered(
            [a["actieId"] for a in conf],
            [(_sort_key(lin), lin.current_id) for lin in about if lin.vertrouwelijkheid in (V, OPG)],
        )

        # Inzage list: one result per occurrence, visibility by scope, only the subject (R-INZ-1/4/5/7).
        for who, shown in (("read-normal", {N}), ("read-conf", {N, OPG})):
            found = ok(api.inzage(bsn, who=who))["results"]
            shown_lins = [lin for lin in about if lin.vertrouwelijkheid in shown]
            # The occurrences of one action are contiguous and in the action's order (R-PAG-4) ...
            runs: list[tuple[str, list[str]]] = []
            for r in found:
                actie_id = r["verwerkingsactie"]["actieId"]
                if not runs or runs[-1][0] != actie_id:
                    runs.append((actie_id, []))
                runs[-1][1].append(r["verwerktObjectId"])
            assert len({a for a, _ in runs}) == len(runs), runs
            # ... and the actions are ordered like the Bewerking list.
            assert_ordered([a for a, _ in runs], [(_sort_key(lin), lin.current_id) for lin in shown_lins])
            occurrences = {lin.current_id: [oid for q, oid in lin.objects if q == p] for lin in shown_lins}
            for actie_id, oids in runs:
                assert oids == occurrences[actie_id]
            for r in found:
                assert r["objectId"] == bsn
                assert [o["verwerktObjectId"] for o in r["verwerkingsactie"]["verwerkteObjecten"]] == [
                    r["verwerktObjectId"]
                ]
                assert r["verwerkingsactie"]["vertrouwelijkheid"] in shown

    for lin in model.lineages:
        # GET single with every id the lineage ever had: the current version, or 404 (R-GETS-2/3, R-VER-3/4).
        for actie_id in lin.ids:
            r = api.get(actie_id)
            if lin.vervallen:
                assert r.status_code == 404, r.text
                continue
            check_action(model, lin, ok(r))
        if not lin.vervallen:
            normal_status = api.get(lin.ids[0], who="read-normal").status_code
            assert normal_status == (200 if lin.vertrouwelijkheid == N else 403)  # R-GETS-4

    # Inzage single for every object id ever issued (R-INZS-1, R-VER-6).
    current = {oid: lin for lin in visible if lin.vertrouwelijkheid in (N, OPG) for _, oid in lin.objects}
    for oid in model.seen_object_ids:
        r = api.request("GET", f"/api/v1/verwerkte-objecten/{oid}", "read-conf", headers=INZAGE_HEADERS)
        if oid in current:
            got = ok(r)
            assert got["verwerkingsactie"]["actieId"] == current[oid].current_id
        else:
            assert r.status_code == 404, r.text


# -- strategies ---------------------------------------------------------------------------------------------------

persons_st = st.lists(st.integers(0, POOL - 1), min_size=0, max_size=3)
bewaartermijn_st = st.sampled_from([None, "P10Y", "P1M", "P2W"])
who_st = st.sampled_from(["alles", "alles", "normaal"])

post_st = st.fixed_dictionaries(
    {
        "kind": st.just("post"),
        "who": who_st,
        "persons": persons_st,
        "vertrouwelijkheid": st.sampled_from([N, V]),
        "bewaartermijn": bewaartermijn_st,
        "verwerking": st.integers(0, VERWERKINGEN - 1),
        "tijdstip": st.sampled_from(TIJDSTIP_TEXTS),
    }
)
put_st = st.fixed_dictionaries(
    {
        "kind": st.just("put"),
        "who": who_st,
        "target": st.integers(0, 20),
        "via": st.integers(0, 20),
        "persons": persons_st,
        "echo": st.lists(st.booleans(), min_size=3, max_size=3),
        "vertrouwelijkheid": st.sampled_from([N, V, OPG]),
        "bewaartermijn": bewaartermijn_st,
        "verwerking": st.integers(0, VERWERKINGEN - 1),
        "tijdstip": st.sampled_from(TIJDSTIP_TEXTS),
    }
)
patch_st = st.fixed_dictionaries(
    {
        "kind": st.just("patch"),
        "who": who_st,
        "verwerking": st.integers(0, VERWERKINGEN - 1),
        "bewaartermijn": bewaartermijn_st,
        "vertrouwelijkheid": st.sampled_from([None, N, V, OPG]),
    }
).filter(lambda op: op["bewaartermijn"] is not None or op["vertrouwelijkheid"] is not None)
delete_st = st.fixed_dictionaries(
    {"kind": st.just("delete"), "who": who_st, "target": st.integers(0, 20), "via": st.integers(0, 20)}
)
# A few actions first, then a mix of changes (and more actions) on them.
ops_st = st.tuples(
    st.lists(post_st, min_size=2, max_size=4),
    st.lists(st.one_of(post_st, put_st, put_st, patch_st, patch_st, delete_st), min_size=3, max_size=9),
).map(lambda t: t[0] + t[1])


@HTTP_SETTINGS
@given(ops=ops_st)
def test_api_matches_the_version_model(api: Api, ops: list[dict[str, Any]]) -> None:
    """R-VER-1..7, R-GETL-1..8, R-GETS-2..4, R-INZ-1, R-INZ-4, R-INZ-5, R-INZ-7, R-INZS-1, R-PUT-2..5,
    R-PATCH-2..5, R-DEL-1..4, R-POST-1: after any sequence of writes every read returns exactly the current,
    non-vervallen versions the model predicts."""
    model = Model()
    for op in ops:
        apply(api, model, op)
    check(api, model)


# -- pure domain functions ----------------------------------------------------------------------------------------


def _gegevens(v: str = N, tijdstip_us: int = 0) -> Actiegegevens:
    return Actiegegevens(
        tijdstip="1970-01-01T00:00:00Z", tijdstip_us=tijdstip_us, vertrouwelijkheid=Vertrouwelijkheid(v)
    )


step_st = st.one_of(
    st.tuples(st.just("patch"), st.sampled_from([None, "P1Y"]), st.sampled_from([None, N, V, OPG])),
    st.tuples(st.just("correct"), st.lists(st.booleans(), max_size=3), st.integers(0, 3)),
    st.tuples(st.just("delete")),
)


@PURE_SETTINGS
@given(
    n_objects=st.integers(0, 3),
    steps=st.lists(step_st, max_size=8),
    seed=st.randoms(use_true_random=False),
)
def test_version_chain_properties(n_objects: int, steps: list[tuple[Any, ...]], seed: Any) -> None:
    """R-VER-1..4, R-VER-6, R-PUT-5, R-PATCH-5, R-DEL-1: every version gets a new actieId, the same lineage and
    the next number; current = highest number whatever the input order; visible = current unless vervallen;
    PATCH and DELETE keep objects (ids included); PUT keeps exactly the echoed current ids."""
    objecten = [NieuwObject("persoon", "BSN", str(i)) for i in range(n_objects)]
    chain = [versioning.first_version(_gegevens(), objecten, 1)]
    for now, step in enumerate(steps, start=2):
        cur = chain[-1]
        if step[0] == "patch":
            b, v = step[1], step[2]
            new = versioning.patched_version(cur, now, b, None if v is None else Vertrouwelijkheid(v))
            assert new.objecten == cur.objecten
            assert new.gegevens.bewaartermijn == (b if b is not None else cur.gegevens.bewaartermijn)
            assert new.gegevens.vertrouwelijkheid == (Vertrouwelijkheid(v) if v else cur.gegevens.vertrouwelijkheid)
            assert not new.vervallen
        elif step[0] == "correct":
            echo_flags, extra = step[1], step[2]
            body = [
                NieuwObject(
                    "persoon",
                    "BSN",
                    f"p{i}",
                    verwerkt_object_id=cur.objecten[i].verwerkt_object_id if i < len(cur.objecten) and flag else None,
                )
                for i, flag in enumerate(echo_flags)
            ] + [NieuwObject("persoon", "BSN", f"x{i}") for i in range(extra)]
            # An id that is not one of the current version's objects is never taken over.
            body.append(NieuwObject("persoon", "BSN", "foreign", verwerkt_object_id=str(uuid.uuid4())))
            new = versioning.corrected_version(cur, _gegevens(V), body, now)
            old_ids = {o.verwerkt_object_id for o in cur.objecten}
            for sent, got in zip(body, new.objecten, strict=True):
                if sent.verwerkt_object_id in old_ids:
                    assert got.verwerkt_object_id == sent.verwerkt_object_id
                else:
                    assert got.verwerkt_object_id not in old_ids
                    assert got.verwerkt_object_id != sent.verwerkt_object_id
                assert got.object_id == sent.object_id
            assert new.gegevens.vertrouwelijkheid is Vertrouwelijkheid.VERTROUWELIJK
        else:
            new = versioning.deleted_version(cur, now)
            assert new.vervallen and new.objecten == cur.objecten and new.gegevens == cur.gegevens
        chain.append(new)
        if new.vervallen:
            break

    assert [v.versie for v in chain] == list(range(1, len(chain) + 1))
    assert {v.lineage_id for v in chain} == {chain[0].actie_id}
    assert len({v.actie_id for v in chain}) == len(chain)
    assert all(uuid.UUID(v.actie_id).version == 4 for v in chain)
    shuffled = list(chain)
    seed.shuffle(shuffled)
    assert versioning.current_version(shuffled) is chain[-1]
    assert versioning.visible_version(shuffled) is (None if chain[-1].vervallen else chain[-1])
    assert versioning.current_version([]) is None and versioning.visible_version([]) is None


def _versie(number: int, vervallen: bool, registratie_us: int) -> Versie:
    return Versie(
        actie_id=str(uuid.uuid4()),
        lineage_id="lineage",
        versie=number,
        vervallen=vervallen,
        tijdstip_registratie_us=registratie_us,
        gegevens=_gegevens(),
        objecten=(VerwerktObject(str(uuid.uuid4()), "persoon", "BSN", "1"),),
    )


@PURE_SETTINGS
@given(
    entries=st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=8),
    seed=st.randoms(use_true_random=False),
)
def test_current_is_highest_sequence_never_time(entries: list[tuple[bool, int]], seed: Any) -> None:
    """R-VER-2 (AMB-02): 'current' is the highest version number even when registration times tie or run
    backwards; R-VER-4: it is visible only when not vervallen."""
    versions = [_versie(i + 1, vervallen, reg) for i, (vervallen, reg) in enumerate(entries)]
    seed.shuffle(versions)
    top = max(versions, key=lambda v: v.versie)
    assert versioning.current_version(versions) is top
    assert versioning.visible_version(versions) is (None if top.vervallen else top)


# Duration (R-VAL-6, AMB-08/09): an independent reference, written as a tokenizer rather than one regex.
_TOKEN = re.compile(r"([0-9]+(?:[.,][0-9]+)?)([YMWDHS])")


def reference_duration(text: str) -> bool:
    """P followed by ≥1 of nY nM nD and optionally T with ≥1 of nH nM nS, in that order; or PnW alone.
    ASCII digits; a decimal fraction (`.` or `,`) only on the last component."""
    if not text.startswith("P"):
        return False
    body = text[1:]
    date_part, _, time_part = body.partition("T")
    if "T" in body and not time_part:
        return False

    def tokens(part: str) -> list[tuple[str, str]] | None:
        out: list[tuple[str, str]] = []
        pos = 0
        while pos < len(part):
            m = _TOKEN.match(part, pos)
            if m is None:
                return None
            out.append((m.group(1), m.group(2)))
            pos = m.end()
        return out

    d, t = tokens(date_part), tokens(time_part)
    if d is None or t is None or (not d and not t):
        return False
    if [u for _, u in d] == ["W"] and not t:
        pass
    else:
        d_units, t_units = [u for _, u in d], [u for _, u in t]
        if any(u not in "YMD" for u in d_units) or any(u not in "HMS" for u in t_units):
            return False
        if d_units != sorted(d_units, key="YMD".index) or len(set(d_units)) != len(d_units):
            return False
        if t_units != sorted(t_units, key="HMS".index) or len(set(t_units)) != len(t_units):
            return False
    numbers = [n for n, _ in d + t]
    return not any(("." in n or "," in n) for n in numbers[:-1])


def _accepts(fn: Any, text: str) -> bool:
    try:
        fn(text)
    except InvalidValue:
        return False
    return True


_number = st.one_of(
    st.integers(0, 400).map(str),
    st.tuples(st.integers(0, 99), st.sampled_from([".", ","]), st.integers(0, 999)).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"
    ),
)


@st.composite
def structured_durations(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return f"P{draw(_number)}W"
    date = "".join(f"{draw(_number)}{u}" for u in "YMD" if draw(st.booleans()))
    time = "".join(f"{draw(_number)}{u}" for u in "HMS" if draw(st.booleans()))
    t = "T" if time or draw(st.integers(0, 9)) == 0 else ""
    return f"P{date}{t}{time}"


duration_text = st.one_of(
    structured_durations(),
    st.text(alphabet="PTYMWDHS0123456789.,-+ \n", max_size=12),
    st.text(alphabet="PTYMDW15\u0661\u00b2\uff15", max_size=6),
    st.sampled_from(["150", "-P1Y", "P", "PT", "P1Y\n", "p1y", "P1.5Y2M", "P1W2D", "PT1H2M3.5S", "P10 jaar"]),
)


@PURE_SETTINGS
@given(text=duration_text)
def test_duration_parsing_matches_reference(text: str) -> None:
    """R-VAL-6, AMB-08, AMB-09: `duration_value` accepts exactly the reference language of ISO 8601 durations
    (bare numbers, words, negatives, empty P/PT, non-ASCII digits rejected) and keeps the text as sent."""
    expected = reference_duration(text)
    assert _accepts(duration_value, text) is expected
    if expected:
        parsed = duration_value(text)
        assert parsed.text == text
        date_tokens = _TOKEN.findall(text.partition("T")[0])
        by_unit = {u: Decimal(n.replace(",", ".")) for n, u in date_tokens}
        assert parsed.years == by_unit.get("Y", 0)
        assert parsed.weeks == by_unit.get("W", 0)
        assert parsed.days == by_unit.get("D", 0)


@PURE_SETTINGS
@given(
    text=st.one_of(
        duration_text, st.integers(-5, 10**6).map(str), st.text(alphabet="0123456789\u00b2\u0661", max_size=4)
    )
)
def test_bewaartermijn_header_parsing(text: str) -> None:
    """§10.4 (AMB-08): the header also accepts a bare positive integer of ASCII digits n, meaning PnY;
    anything else follows R-VAL-6; never another exception than a validation error."""
    bare = text.isascii() and text.isdigit() and int(text) > 0
    assert _accepts(header_duration_value, text) is (bare or reference_duration(text))
    if bare:
        assert header_duration_value(text).text == f"P{int(text)}Y"


_offsets = st.one_of(
    st.just("Z"),
    st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)).map(
        lambda t: f"{t[0]}{t[1]:02d}:{t[2]:02d}"
    ),
)


def _offset_delta(offset: str) -> timedelta:
    if offset == "Z":
        return timedelta(0)
    sign = 1 if offset[0] == "+" else -1
    return sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))


@PURE_SETTINGS
@given(
    local=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset=_offsets,
    digits=st.integers(0, 9),
)
def test_moment_round_trip(local: datetime, offset: str, digits: int) -> None:
    """R-VAL-4 (AMB-36): any RFC 3339 date-time with an explicit offset is accepted, kept exactly as supplied,
    and denotes the right instant (fractions beyond microseconds truncated); epoch microseconds round-trip."""
    fraction = f"{local.microsecond:06d}{'7' * 3}"[:digits]
    text = local.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + (f".{fraction}" if digits else "") + offset
    moment = moment_value(text)
    assert moment.text == text
    micro = int(fraction[:6].ljust(6, "0")) if digits else 0
    naive = local.replace(microsecond=micro)
    expected = naive.replace(tzinfo=timezone(_offset_delta(offset))).astimezone(UTC)
    assert moment.instant == expected
    assert from_epoch_us(moment.epoch_us) == moment.instant
    assert to_epoch_us(from_epoch_us(moment.epoch_us)) == moment.epoch_us
    # Without an offset, or with a non-ASCII digit, it is not an RFC 3339 date-time.
    without = text[: -len(offset)]
    assert not _accepts(moment_value, without)
    assert not _accepts(moment_value, "\uff12" + text[1:])


@PURE_SETTINGS
@given(text=st.text(alphabet="0123456789-:TZ+.\u00b2\uff10 ", max_size=30))
def test_moment_never_crashes(text: str) -> None:
    """R-VAL-4: arbitrary input is either a valid moment or a validation error (400), never a server error."""
    try:
        moment = moment_value(text)
    except InvalidValue:
        return
    assert moment.text == text
    assert moment.instant.tzinfo is not None


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"])
def test_moment_outside_utc_range_is_a_validation_error(text: str) -> None:
    """R-VAL-4: an instant that cannot be represented (before year 1 / after 9999 in UTC) → validation error."""
    assert not _accepts(moment_value, text)
