"""Canonical bytes of a stored record: RFC 8785 JSON Canonicalization Scheme (JCS), UTF-8.

A record is a JSON object. Its values must already be JSON values: strings, booleans, ``None``, integers
within ±(2**53 - 1), finite floats, lists or tuples, and mappings with string keys. Everything else
(``datetime``, ``UUID``, ``Decimal``, ``bytes``) must be rendered to a string by the code that builds the
record, so that the rendering is part of the documented record format (docs/integrity.md), not an accident
of this module. Anything that JCS cannot represent exactly raises `rfc8785.CanonicalizationError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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


def leaf_bytes(record: Mapping[str, Any]) -> bytes:
    """RFC 8785 §3.2: the canonical JSON text of ``record``, UTF-8 encoded: what a leaf hash covers."""
    if not isinstance(record, Mapping):
        raise CanonicalizationError("a record must be a JSON object")
    return rfc8785.dumps(_plain(record))


def record_leaf_hash(record: Mapping[str, Any]) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of a record: ``SHA-256(0x00 || JCS(record))``."""
    return leaf_hash(leaf_bytes(record))
