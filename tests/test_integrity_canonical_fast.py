"""The fast path of integrity.canonical.leaf_bytes writes exactly the bytes of RFC 8785 (the rfc8785 package)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from verwerkingenlog.integrity.canonical import CanonicalizationError, leaf_bytes

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.text(st.characters(exclude_categories=("Cs",)))
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _values, max_size=8))
def test_fast_path_equals_rfc8785(record: dict[str, Any]) -> None:
    assert leaf_bytes(record) == rfc8785.dumps(record)


def _wrapped(value: Any) -> Any:
    """The same JSON value with every object as a read-only mapping and every array as a tuple: not exactly
    `dict`/`list`, so `leaf_bytes` converts it and takes its second encoder."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _wrapped(v) for k, v in value.items()})
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_wrapped(v) for v in value)
    return value


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _values, min_size=1, max_size=8))
def test_both_encoders_write_the_rfc8785_bytes(record: dict[str, Any]) -> None:
    expected = rfc8785.dumps(record)
    assert leaf_bytes(record) == expected  # exactly dict/list/str/int/bool/None: msgspec, no copy
    assert leaf_bytes(_wrapped(record)) == expected  # mappings and tuples: converted, the standard library's encoder
    assert leaf_bytes({**record, "t": tuple(record)}) == rfc8785.dumps({**record, "t": list(record)})


def test_values_beyond_the_fast_encoders_are_refused_or_canonicalised_as_before() -> None:
    big = {"n": 2**53}  # beyond ±(2**53 - 1): rfc8785 refuses it, whichever path is taken
    for record in (big, MappingProxyType(big)):
        with pytest.raises(CanonicalizationError):
            leaf_bytes(record)
    with pytest.raises(CanonicalizationError):
        leaf_bytes({"s": "\ud800"})  # a lone surrogate has no UTF-8 form
    assert leaf_bytes({"f": 1e21, "g": [0.1]}) == rfc8785.dumps({"f": 1e21, "g": [0.1]})


def test_control_characters_keys_and_floats() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '"\\ \u2028 \x7f é \U0001f600'
    record = {"b": text, "a": [1, True, None], "\uffff": 1, "\U0001f600": 2, "e\u0301": 3}
    assert leaf_bytes(record) == rfc8785.dumps(record)
    with_float = {**record, "f": 1.5}
    assert leaf_bytes(with_float) == rfc8785.dumps(with_float)
