"""Canonical bytes of a stored record: RFC 8785 JSON Canonicalization Scheme (JCS), UTF-8.

A record is a JSON object. Its values must already be JSON values: strings, booleans, ``None``, integers
within ±(2**53 - 1), finite floats, lists or tuples, and mappings with string keys. Everything else
(``datetime``, ``UUID``, ``Decimal``, ``bytes``) must be rendered to a string by the code that builds the
record, so that the rendering is part of the documented record format (docs/integrity.md), not an accident
of this module. Anything that JCS cannot represent exactly raises `rfc8785.CanonicalizationError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import rfc8785
from rfc8785 import CanonicalizationError

from verwerkingenlog.integrity.merkle import leaf_hash

__all__ = ["CanonicalizationError", "leaf_bytes", "record_leaf_hash"]


def _plain(value: Any) -> Any:
    """Mappings to dicts and sequences to lists, recursively, since `rfc8785` accepts only those."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return [_plain(item) for item in value]
    return value


_MAX_EXACT = 2**53 - 1
_fast = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
_sorted = msgspec.json.Encoder(order="sorted")


def _simple(value: Any) -> bool:
    """True when `json` writes ``value`` exactly as JCS does: strings, booleans, null, integers within
    ±(2**53 - 1), lists and objects whose keys hold no character beyond the BMP (then code point order is
    JCS's UTF-16 order). Floats and everything else take the `rfc8785` path."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -_MAX_EXACT <= value <= _MAX_EXACT
    if isinstance(value, Mapping):
        return all(
            isinstance(k, str) and (k.isascii() or max(map(ord, k)) <= 0xFFFF) and _simple(v) for k, v in value.items()
        )
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return all(_simple(v) for v in value)
    return False


def _plain_simple(value: Any) -> bool:
    """`_simple` for values that are already plain - exactly `dict`, `list`, `tuple`, `str`, `int`, `bool` or
    ``None``, no subclasses - checked in one walk without copying (the records the register builds). False
    sends the value through `_plain` and `_simple`, which decide as before."""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return bool(-_MAX_EXACT <= value <= _MAX_EXACT)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or not (k.isascii() or max(map(ord, k)) <= 0xFFFF):
                return False
            if type(v) is not str and v is not None and not _plain_simple(v):
                return False
        return True
    if t is list or t is tuple:
        return all(type(v) is str or v is None or _plain_simple(v) for v in value)
    return False


def leaf_bytes(record: Mapping[str, Any]) -> bytes:
    """RFC 8785 §3.2: the canonical JSON text of ``record``, UTF-8 encoded: what a leaf hash covers.

    Records of strings, integers, booleans and nulls (every record the register builds) are written by a C
    encoder that produces the same bytes as JCS for them (escapes of §3.2.2.2, no other escaping, keys in code
    point order): msgspec with sorted keys when the record is made of exactly `dict`, `list`, `tuple`, `str`,
    `int`, `bool` and ``None`` (checked in one walk, no copy), else the standard library's after conversion to
    plain values. The bench profile showed the pure-Python `rfc8785` at a third of the bulk ingest CPU, and
    then the conversion and the standard library's encoder at a sixth. tests/test_integrity_canonical_fast.py
    checks the equality with `rfc8785` on generated records, for both encoders."""
    if not isinstance(record, Mapping):
        raise CanonicalizationError("a record must be a JSON object")
    if _plain_simple(record):
        try:
            return _sorted.encode(record)
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 report it
            return rfc8785.dumps(_plain(record))
    plain = _plain(record)
    if _simple(plain):
        try:
            return _fast.encode(plain).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 report it
            pass
    return rfc8785.dumps(plain)


def record_leaf_hash(record: Mapping[str, Any]) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of a record: ``SHA-256(0x00 || JCS(record))``."""
    return leaf_hash(leaf_bytes(record))
