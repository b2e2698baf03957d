"""The bulk fast path of POST bodies (api.bodies.parse_post, docs/performance.md "Bulk ingest") gives exactly what
the pydantic model `PostBody` gives: the same Actiegegevens and objects for every body it accepts, and for every
other body the same `invalidParams` (R-VAL-*, §4.9), because those go through `PostBody` itself.

Generated bodies: valid ones (every field absent, null or a valid value of its rule; objects with and without
their optional parts; read-only fields with any JSON) and mutations of them (a key dropped or duplicated, a
value of the wrong type or breaking its rule, an unknown key, broken JSON).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verwerkingenlog.api import bodies
from verwerkingenlog.domain.errors import ValidationFailed
from verwerkingenlog.domain.model import ACTIE_FIELDS

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_naam = _text.filter(lambda s: "\x00" not in s)
_uuid = st.builds(lambda u, upper: str(u).upper() if upper else str(u), st.uuids(), st.booleans())
_uri = st.builds(lambda path: "https://var.example.nl/" + path, st.text("abc/-_.é0189", max_size=10))
_oin = st.text("0123456789", min_size=20, max_size=20)
_moment = st.builds(
    lambda d, offset, frac: d.isoformat(timespec="seconds") + frac + offset,
    st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31)),
    st.sampled_from(["Z", "z", "+00:00", "+01:00", "-05:30", "+23:59", "-00:00"]),
    st.sampled_from(["", ".5", ".123456", ".1234567890"]),
)
_periode = st.sampled_from(["P10Y", "P6M", "P2W", "P1DT12H", "P1Y2M3DT4H5M6S", "PT0.5S", "P1,5Y", "P0D"])
_VALID: dict[str, st.SearchStrategy[str]] = {
    "actieNaam": _naam,
    "handelingNaam": _naam,
    "verwerkingNaam": _naam,
    "verwerkingId": _uuid,
    "verwerkingsactiviteitId": _uuid,
    "verwerkingsactiviteitUrl": _uri,
    "vertrouwelijkheid": st.sampled_from(["normaal", "Vertrouwelijk", "OPGEHEVEN"]),
    "bewaartermijn": _periode,
    "uitvoerder": _oin,
    "systeem": _naam,
    "gebruiker": _naam.map(lambda s: s[:40]),
    "gegevensbron": _naam,
    "soortAfnemerId": _naam,
    "afnemerId": st.sampled_from(["123456782", "00000001821002193000"]),
    "verwerkingsactiviteitIdAfnemer": _uuid,
    "verwerkingsactiviteitUrlAfnemer": _uri,
    "verwerkingIdAfnemer": _uuid,
    "tijdstip": _moment,
}
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
# Values that break a rule or a type: too long, NUL, wrong formats, other JSON types.
_bad = (
    st.sampled_from(["", "x" * 243, "a\x00b", "not-a-uuid", "P", "PT", "150", "2024-13-01T00:00:00Z", "geheim", "ding"])
    | st.sampled_from(["2024-04-05T14:35:42", "2024-04-05T14:35:42+24:00", "0001-01-01T00:00:00+01:00", "1" * 21])
    | _json
)


@st.composite
def _object(draw: st.DrawFn) -> dict[str, Any]:
    o: dict[str, Any] = {
        "objecttype": draw(st.sampled_from(["persoon", "Persoon", "PERSOON"])),
        "soortObjectId": draw(st.sampled_from(["BSN", "bsn", "A-nummer"])),
        "objectId": draw(_naam.map(lambda s: s[:40])),
    }
    if draw(st.booleans()):
        o["betrokkenheid"] = draw(st.none() | _naam)
    if draw(st.booleans()):
        o["verwerkteSoortenGegevens"] = draw(
            st.none() | st.lists(st.builds(lambda s: {"soortGegeven": s}, _naam), max_size=3)
        )
    for ro in ("url", "verwerktObjectId"):
        if draw(st.integers(0, 4)) == 0:
            o[ro] = draw(_json)
    return o


@st.composite
def _valid_body(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, _ in ACTIE_FIELDS:
        if name in bodies.REQUIRED:
            body[name] = draw(_VALID[name])
        else:
            choice = draw(st.integers(0, 2))
            if choice:
                body[name] = draw(_VALID[name]) if choice == 1 else None
    body["verwerkteObjecten"] = draw(st.lists(_object(), max_size=3))
    for ro in bodies.READ_ONLY:
        if draw(st.integers(0, 4)) == 0:
            body[ro] = draw(_json)
    return body


def _dumps(body: Any, ascii_only: bool) -> bytes:
    return json.dumps(body, ensure_ascii=ascii_only).encode()


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    body = draw(_valid_body())
    target = body
    if body["verwerkteObjecten"] and draw(st.booleans()):
        target = draw(st.sampled_from(body["verwerkteObjecten"]))
    kind = draw(st.sampled_from(["drop", "bad", "unknown", "duplicate", "raw", "soort", "objects"]))
    key = draw(st.sampled_from(sorted(target)))
    if kind == "drop":
        del target[key]
    elif kind == "bad":
        target[key] = draw(_bad)
    elif kind == "unknown":
        target[draw(_text.filter(lambda k: k not in target))] = draw(_json)
    elif kind == "soort":
        target["verwerkteSoortenGegevens"] = [draw(st.dictionaries(_text, _json, max_size=2) | _bad)]
    elif kind == "objects":
        body["verwerkteObjecten"] = draw(_bad)
    raw = _dumps(body, draw(st.booleans()))
    if kind == "duplicate":  # the key once more, first or last, with another value
        extra = json.dumps(key).encode() + b":" + json.dumps(draw(_bad | _VALID.get(key, _bad))).encode()
        raw = (b"{" + extra + b"," + raw[1:]) if draw(st.booleans()) else (raw[:-1] + b"," + extra + b"}")
    elif kind == "raw":
        cut = draw(st.integers(0, len(raw)))
        raw = draw(
            st.sampled_from(
                [
                    raw[:cut],
                    raw[:cut] + b"\xff" + raw[cut:],
                    b"\xef\xbb\xbf" + raw,
                    b"[" + raw + b"]",
                    raw + b" \r\n\t",
                    raw.replace(b'"', b"'", 1),
                    raw[:-1] + b',"x":"\\ud800"}',
                ]
            )
        )
    return raw


def _pydantic(raw: bytes) -> Any:
    try:
        body = bodies.parse(bodies.PostBody, raw)
    except ValidationFailed as exc:
        return exc
    return bodies.gegevens_of(body), bodies.objecten_of(body)


def _check(raw: bytes) -> tuple[Any, Any]:
    expected = _pydantic(raw)
    fast = bodies._fast_post(raw)
    if fast is not None:  # what the fast path accepts, pydantic accepts, with the same value
        assert not isinstance(expected, ValidationFailed), expected.params
        assert fast == expected
    try:
        got: Any = bodies.parse_post(raw)
    except ValidationFailed as exc:
        assert isinstance(expected, ValidationFailed)
        assert exc.params == expected.params
        assert (exc.status, exc.code, exc.detail) == (expected.status, expected.code, expected.detail)
    else:
        assert got == expected
    return fast, expected


def _ignored_not_text(body: dict[str, Any]) -> bool:
    ignored = [body.get(ro) for ro in bodies.READ_ONLY]
    ignored += [o.get(ro) for o in body["verwerkteObjecten"] for ro in ("url", "verwerktObjectId")]
    return any(v is not None and not isinstance(v, str) for v in ignored)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_body(), st.booleans())
def test_valid_bodies_take_the_fast_path_with_the_same_result(body: dict[str, Any], ascii_only: bool) -> None:
    fast, expected = _check(_dumps(body, ascii_only))
    assert not isinstance(expected, ValidationFailed), expected.params
    # Every valid body is taken by the fast path, except one with something other than a string or null in an
    # ignored read-only field (pydantic accepts any JSON there and ignores it): that one falls back.
    assert (fast is not None) != _ignored_not_text(body)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_bodies_give_the_pydantic_answer(raw: bytes) -> None:
    fast, expected = _check(raw)
    if isinstance(expected, ValidationFailed):
        assert fast is None
        assert expected.params  # an invalid body is reported with its invalidParams


def test_mutations_produce_both_outcomes() -> None:
    """The mutations above are not all rejected (nor all accepted): both branches of the property are exercised."""
    outcomes: set[bool] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(_mutated())
    def collect(raw: bytes) -> None:
        outcomes.add(isinstance(_pydantic(raw), ValidationFailed))

    collect()
    assert outcomes == {True, False}


def test_known_differences_of_the_two_parsers_fall_back() -> None:
    """Bodies on which msgspec and pydantic's JSON parser differ are answered by pydantic."""
    base = {"vertrouwelijkheid": "normaal", "tijdstip": "2024-04-05T14:35:42+01:00", "verwerkteObjecten": []}
    raw = json.dumps({**base, "url": float("nan")}).encode()  # NaN: pydantic accepts (ignored), msgspec refuses
    assert bodies._fast_post(raw) is None
    assert bodies.parse_post(raw) == _pydantic(raw)
    for depth in (199, 250, 5000):  # pydantic's parser refuses deep nesting (parse_error), msgspec's would not
        deep = json.dumps(base).encode()[:-1] + b', "url": ' + b"[" * depth + b"]" * depth + b"}"
        assert _check(deep)[0] is None  # parse_post answers as pydantic does (accepted, or parse_error)
        deep_twice = deep[:-1] + b', "url": "https://example.nl/x"}'  # a duplicate key: the last one counts
        assert _check(deep_twice)[0] is None
        if depth > 199:
            with pytest.raises(ValidationFailed) as refused:
                bodies.parse_post(deep_twice)
            assert [(p.name, p.code) for p in refused.value.params] == [("body", "parse_error")]
    duplicate = json.dumps(base).encode()[:-1] + b', "vertrouwelijkheid": "geheim"}'  # the last one counts
    with_dup = _pydantic(duplicate)
    assert isinstance(with_dup, ValidationFailed)
    assert [(p.name, p.code) for p in with_dup.params] == [("vertrouwelijkheid", "invalid_choice")]
    assert bodies._fast_post(duplicate) is None


_BASE = json.dumps(
    {
        "vertrouwelijkheid": "normaal",
        "tijdstip": "2024-04-05T14:35:42+01:00",
        "verwerkteObjecten": [],
        "actieNaam": "AB",
    }
).encode()
_OBJECT = b'{"objecttype":"persoon","soortObjectId":"BSN","objectId":"1"}'


@pytest.mark.parametrize(
    "raw",
    [
        _BASE.replace(b'"AB"', b'"A\x01B"'),  # raw control characters in a string
        _BASE.replace(b'"AB"', b'"A\tB"'),
        _BASE.replace(b'"AB"', b'"A\x7fB"'),  # DEL is allowed
        _BASE.replace(b', "actieNaam"', b',\x0c"actieNaam"'),  # whitespace JSON does not know
        _BASE.replace(b', "actieNaam"', b',\xc2\xa0"actieNaam"'),
        _BASE[:-1] + b",}",  # trailing commas
        _BASE.replace(b"[]", b"[" + _OBJECT + b",]"),
        _BASE + b" x",  # trailing content
        _BASE + _BASE,
        _BASE + b"\x00",
        _BASE.replace(b'"AB"', b'"A\\xB"'),  # escapes
        _BASE.replace(b'"AB"', b'"A\\U0041B"'),
        _BASE.replace(b'"AB"', b'"A\\ud83d\\ude00B"'),
        _BASE.replace(b'"AB"', b'"A\\ude00\\ud83dB"'),
        _BASE.replace(b'"actieNaam"', b'"actie\\u004eaam"'),
        _BASE.replace(b'"AB"', b'"A\xc0\xafB"'),  # UTF-8: overlong, a surrogate, a noncharacter
        _BASE.replace(b'"AB"', b'"A\xed\xa0\x80B"'),
        _BASE.replace(b'"AB"', b'"A\xef\xbf\xbfB"'),
        _BASE.replace(b'"AB"', b"Null"),
        b"",
        b"   ",
    ],
)
def test_both_parsers_take_and_refuse_the_same_json_edge_cases(raw: bytes) -> None:
    fast, expected = _check(raw)
    assert (fast is None) == isinstance(expected, ValidationFailed)
