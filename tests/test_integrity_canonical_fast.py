"""The fast path of integrity.canonical.leaf_bytes writes exactly the bytes of RFC 8785 (the rfc8785 package)."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from verwerkingenlog.integrity.canonical import leaf_bytes

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


def test_control_characters_keys_and_floats() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '"\\ \u2028 \x7f é \U0001f600'
    record = {"b": text, "a": [1, True, None], "\uffff": 1, "\U0001f600": 2, "e\u0301": 3}
    assert leaf_bytes(record) == rfc8785.dumps(record)
    with_float = {**record, "f": 1.5}
    assert leaf_bytes(with_float) == rfc8785.dumps(with_float)
