"""The cheaper per-entry steps of bulk ingest (docs/performance.md, "Bulk ingest") build exactly what the plain
standard-library forms built: the blind index, the issued ids, the stored `soorten_gegevens` text; and the cycle
collector's pause during a bulk request ends with the last one."""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verwerkingenlog.api.bulk import _gc_paused
from verwerkingenlog.domain.model import Actiegegevens, Versie, VerwerktObject
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.domain.versioning import random_ids, uuid4_text
from verwerkingenlog.store.pseudonymisation import Pseudonymiser, _derive
from verwerkingenlog.store.rows import RowCodec

_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=80), _text, _text)
def test_blind_index_is_hmac_sha256_of_kind_and_value(secret: bytes, soort: str, object_id: str) -> None:
    """R-PRIV-1: the blind index is HMAC-SHA-256 of kind and value, with precomputed pads."""
    key = _derive(secret, b"blind-index")
    expected = hmac.new(key, soort.encode() + b"\x00" + object_id.encode(), hashlib.sha256).digest()
    pseudo = Pseudonymiser(secret)
    assert pseudo.sleutel(soort, object_id) == expected
    assert pseudo.sleutel(soort, object_id) == expected  # the precomputed pads are not consumed


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_uuid4_text_is_the_text_of_the_version_4_uuid(random16: bytes) -> None:
    """R-VAL-1 (B2357): the ids the register issues are the text of random version-4 UUIDs."""
    assert uuid4_text(random16) == str(uuid.UUID(bytes=random16, version=4))


def test_random_ids_are_distinct_version_4_uuids_across_batches() -> None:
    """R-VAL-1: ids drawn in batches are distinct, lowercase, version 4."""
    new_id = random_ids(batch=8)
    ids = [new_id() for _ in range(100)]  # 13 batches
    assert len(set(ids)) == 100
    assert all(_V4.fullmatch(i) and uuid.UUID(i).version == 4 for i in ids)


@settings(max_examples=200, deadline=None)
@given(st.lists(_text, max_size=6))
def test_stored_soorten_gegevens_text_is_json_dumps(soorten: list[str]) -> None:
    gegevens = Actiegegevens(
        tijdstip="2024-04-05T14:35:42+01:00", tijdstip_us=0, vertrouwelijkheid=Vertrouwelijkheid.NORMAAL
    )
    o = VerwerktObject(str(uuid.uuid4()), "persoon", "BSN", "123456782", None, tuple(soorten))
    v = Versie("a", "a", 1, False, 0, gegevens, (o,))
    (row,) = RowCodec(Pseudonymiser(b"k" * 32)).object_rows(1, v)
    assert row["soorten_gegevens"] == json.dumps(soorten, ensure_ascii=False)


def test_the_collector_pause_is_counted_across_overlapping_bulk_requests() -> None:
    """The cycle collector waits while any bulk request runs and works again after the last (api.bulk)."""
    assert gc.isenabled()
    first, second = _gc_paused(), _gc_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second request still runs
    second.__exit__(None, None, None)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _gc_paused():
        raise RuntimeError("a failing request")
    assert gc.isenabled()


def test_the_collector_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with _gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
