"""The log served as C2SP tlog-tiles (docs/integrity.md §7a): `/verwerkingenlog/checkpoint`, `/tile/<L>/<N>[.p/<W>]`
and `/tile/leafhashes/<N>[.p/<W>]`, public, computed from the stored tree, on SQLite and PostgreSQL.

The tiles are checked against this file's own RFC 9162 helpers (tests/integrity_support.py), never against the
register's Merkle code; tests/test_integrity_tiles_go.py checks them with Go's golang.org/x/mod/sumdb/tlog."""

from __future__ import annotations

import json
from typing import Any

from tests import integrity_support
from tests.helpers import actie, new_bsn
from tests.integrity_support import Fresh, b64, note_root, rfc_mth, rfc_node
from verwerkingenlog.integrity.tiles import TileRef, encode_index, log_prefix, parse_tile_path
from verwerkingenlog.services.purge import Purger

fresh = integrity_support.fresh
PREFIX = "/verwerkingenlog"  # the path of the fixture's origin register.test/verwerkingenlog
BULK = "/api/v1/verwerkingsacties/bulk"
LONG_AGO = "2000-01-31T12:00:00+01:00"


def bulk(f: Fresh, count: int, **overrides: Any) -> list[int]:
    """Store ``count`` actions in one bulk request; their leaf indexes."""
    body = b"".join(json.dumps(actie(new_bsn(), **overrides)).encode() + b"\n" for _ in range(count))
    r = f.api.request("POST", BULK, headers={"Content-Type": "application/x-ndjson"}, content=body)
    assert r.status_code == 200 and r.json()["stored"] == count, r.text
    return [int(x["leafIndex"]) for x in r.json()["results"]]


def tile(f: Fresh, path: str) -> bytes:
    r = f.api.tc.get(f"{PREFIX}/{path}")  # no Authorization header: the tiles are public
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"] == "application/octet-stream"
    return r.content


def split(data: bytes) -> list[bytes]:
    assert len(data) % 32 == 0
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def test_tiles_rebuild_the_signed_tree_head(fresh: Fresh) -> None:
    """tlog-tiles: level-0 tiles hold the leaf hashes, 256 per full tile; a level-1 hash is the MTH of a full level-0
    tile; the partial tile of a tree of size s has s mod 256 hashes. A tree of 300 leaves is tile/0/000 (full),
    tile/0/001.p/44 and tile/1/000.p/1, and hashing them again gives the checkpoint's root."""
    f = fresh
    bulk(f, 300)
    f.checkpoint()
    note = f.api.tc.get(f"{PREFIX}/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"] == "text/plain; charset=utf-8"
    assert note.text == f.api.tc.get("/api/v1/integriteit/checkpoint").text
    assert note.text.startswith("register.test/verwerkingenlog\n")  # the origin is the prefix without a scheme
    size, root = note_root(note.text)
    assert size == 300

    full = split(tile(f, "tile/0/000"))
    partial = split(tile(f, f"tile/0/001.p/{size - 256}"))
    assert (len(full), len(partial)) == (256, 44)
    leaves = full + partial
    assert rfc_mth(leaves) == root
    # Every level-0 hash is the leaf the proof endpoint names.
    for index in (0, 255, 256, 299):
        proof = f.api.tc.get("/api/v1/integriteit/bewijs/inclusie", params={"leafIndex": index}).json()
        assert b64(proof["leafHash"]) == leaves[index]
    (level1,) = split(tile(f, "tile/1/000.p/1"))
    assert level1 == rfc_mth(full)
    assert rfc_node(level1, rfc_mth(partial)) == root
    # A partial tile of an earlier size is the first hashes of the current one.
    assert split(tile(f, "tile/0/001.p/3")) == partial[:3]


def test_entry_bundles_hold_leaf_hashes_only(fresh: Fresh) -> None:
    """The entry of this register is the leaf hash, never the record (personal data): each entry is a big-endian
    uint16 length (32) and the hash, the same hashes as the level-0 tile. Tiles need no checkpoint: they are the
    stored tree."""
    f = fresh
    bsns = [new_bsn() for _ in range(3)]
    for bsn in bsns:
        assert f.api.post(actie(bsn)).status_code == 201
    bundle = tile(f, "tile/leafhashes/000.p/3")
    assert len(bundle) == 3 * 34
    entries = [bundle[i + 2 : i + 34] for i in range(0, len(bundle), 34)]
    assert all(bundle[i : i + 2] == b"\x00\x20" for i in range(0, len(bundle), 34))
    assert entries == split(tile(f, "tile/0/000.p/3"))
    for bsn in bsns:
        assert bsn.encode() not in bundle


def test_cache_headers_and_no_authentication(fresh: Fresh) -> None:
    """Full tiles never change (cached a year, immutable); partial tiles and the checkpoint are short-lived."""
    f = fresh
    bulk(f, 257)
    f.checkpoint()
    for path, cache in (
        ("tile/0/000", "public, max-age=31536000, immutable"),
        ("tile/leafhashes/000", "public, max-age=31536000, immutable"),
        ("tile/0/001.p/1", "public, max-age=60"),
        ("tile/leafhashes/001.p/1", "public, max-age=60"),
        ("tile/1/000.p/1", "public, max-age=60"),
        ("checkpoint", "public, max-age=5"),
    ):
        r = f.api.tc.get(f"{PREFIX}/{path}")
        assert r.status_code == 200, (path, r.text)
        assert r.headers["cache-control"] == cache, path
    assert len(tile(f, "tile/leafhashes/000")) == 256 * 34


def test_tiles_beyond_the_tree_and_other_paths_are_404(fresh: Fresh) -> None:
    """Empty tiles are never served (tlog-tiles); neither is a tile the tree does not have yet, nor a path that is
    not the canonical encoding of a tile (each tile has one URL). 404 is problem+json and never cached."""
    f = fresh
    assert f.api.tc.get(f"{PREFIX}/checkpoint").status_code == 404  # nothing signed yet
    assert f.api.tc.get(f"{PREFIX}/tile/0/000.p/1").status_code == 404  # empty tree
    bulk(f, 5)
    assert len(tile(f, "tile/0/000.p/5")) == 5 * 32
    for path in (
        "tile/0/000",  # the full tile needs 256 leaves
        "tile/0/000.p/6",  # wider than the tree
        "tile/0/001.p/1",
        "tile/1/000.p/1",  # no complete subtree of 256 leaves yet
        "tile/leafhashes/000",
        "tile/0/0",  # not three digits
        "tile/0/x000/000",  # a leading zero group
        "tile/00/000.p/1",  # a leading zero in the level
        "tile/64/000.p/1",  # levels run 0..63
        "tile/0/000.p/05",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/data/000.p/1",  # sumdb's name, not C2SP's
        "tile/8/0/000.p/1",  # sumdb's path with the height
        "tile/entries/000.p/5",  # tlog-tiles' entry bundles: their entries would be the records (docs/integrity.md §7a)
    ):
        r = f.api.tc.get(f"{PREFIX}/{path}")
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json", path
        assert r.headers["cache-control"] == "no-store", path
    r = f.api.tc.get(f"{PREFIX}/tile/0/000.p/5", params={"x": "1"})
    assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "x"


def test_index_path_encoding_for_large_indexes() -> None:
    """tlog-tiles `<N>`: 1234067 is x001/x234/067; every index has exactly one path."""
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(1000) == "x001/000"
    assert encode_index(7) == "007"
    assert parse_tile_path("3/x001/x234/067.p/9") == TileRef(3, 1234067, 9)
    assert parse_tile_path("leafhashes/x001/000") == TileRef(None, 1000, 256)
    for index in (0, 999, 1000, 999_999, 1_000_000, 2**40 + 3):
        for width in (1, 255, 256):
            ref = TileRef(0, index, width)
            assert parse_tile_path(ref.path().removeprefix("tile/")) == ref


def test_purged_leaves_keep_their_hash_in_the_tiles(fresh: Fresh) -> None:
    """A retention purge removes the content, not the leaf hash: the tiles, and so every mirror, stay the same."""
    f = fresh
    bulk(f, 2, tijdstip=LONG_AGO, bewaartermijn="P1Y")
    bulk(f, 1)
    before = tile(f, "tile/0/000.p/3")
    state = f.app.state
    report = f.call(Purger(state.db, state.register.writer).run, False)
    assert report.entries, "the two expired actions were purged"
    after = split(tile(f, "tile/0/000.p/4"))  # the purge record is a leaf of its own
    assert b"".join(after[:3]) == before


def test_the_prefix_is_the_path_of_the_origin() -> None:
    """tlog-tiles Parameters: the origin line is a URL prefix of the log without the scheme, so the register serves
    its tiles under the path of CHECKPOINT_ORIGIN (the default origin `<host>/verwerkingenlog`)."""
    assert log_prefix("log.gemeente.nl/verwerkingenlog") == "/verwerkingenlog"
    assert log_prefix("log.gemeente.nl/logs/verwerkingen/") == "/logs/verwerkingen"
    assert log_prefix("log.gemeente.nl") == ""
