"""C2SP tlog-tiles addressing (docs/integrity.md §7a): which stored Merkle nodes a tile or entry bundle holds.

A tile `<prefix>/tile/<L>/<N>[.p/<W>]` lists the hashes of the perfect subtrees of height `8·L` — tree level
`8·L` in `integrity.merkle`'s `NodeID` terms — with indexes `N·256 … N·256 + W − 1` (`W` = 256 for a full tile).
Level-0 tiles are the leaf hashes; a hash of a level-`L` tile is the root of a full tile of level `L − 1`. Because
the register stores every perfect subtree (`merkle_node`), every tile is a range read of one tree level, and a
partial tile of width `W` never changes once it exists (its hashes are perfect subtrees).

The bundle `<prefix>/tile/leafhashes/<N>[.p/<W>]` holds, per leaf, the **leaf hash** (32 bytes) with the
big-endian uint16 length prefix of a tlog-tiles entry bundle: never the leaf's record, which carries personal
data (and is gone after a retention purge, while its hash stays). It is not served at tlog-tiles' `tile/entries/`:
there an entry must *hash* (`SHA-256(0x00 || entry)`) to its level-0 hash, and entries of another format must be
served at another path, so that a generic client never rehashes these and calls the log broken (§7a).

Pure: parsing and encoding of tile paths (`x001/x234/067`), the width a tree of some size gives each tile.
"""

from __future__ import annotations

from dataclasses import dataclass

LEAF_HASHES = "leafhashes"
"""The path segment of this register's leaf-hash bundles (`tile/leafhashes/<N>`), in place of `entries`."""

TILE_HEIGHT = 8
"""tlog-tiles: a tile is a subtree of height 8, i.e. 256 hashes wide."""

TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
"""tlog-tiles: `<L>` lies between 0 and 63."""

_MAX_GROUPS = 7
"""Path elements of `<N>`: 7 groups of three digits reach 10^21 > 2^64 (no tree is larger)."""


@dataclass(frozen=True, slots=True)
class TileRef:
    """One tile or entry bundle: its level (`None` for the entry bundle, whose hashes are level 0), its index
    within the level, and its width (256 for a full tile)."""

    level: int | None
    index: int
    width: int

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def tree_level(self) -> int:
        """The `NodeID.level` of the hashes the tile lists."""
        return TILE_HEIGHT * (self.level or 0)

    @property
    def first(self) -> int:
        """The `NodeID.index` of the tile's first hash at `tree_level`."""
        return self.index * TILE_WIDTH

    def path(self) -> str:
        """The path after `<prefix>/`: `tile/<L>/<N>[.p/<W>]` or `tile/leafhashes/<N>[.p/<W>]`."""
        level = LEAF_HASHES if self.level is None else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{suffix}"


def encode_index(index: int) -> str:
    """tlog-tiles `<N>`: zero-padded three-digit path elements, all but the last starting with `x`
    (1234067 → `x001/x234/067`)."""
    if index < 0:
        raise ValueError("a tile index is not negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _decimal(text: str, low: int, high: int) -> int | None:
    """A decimal ASCII integer without leading zeroes in [low, high], or None."""
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0") or len(text) > 3:
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_tile_path(path: str) -> TileRef | None:
    """The tile that `path` (after `tile/`, e.g. `0/x001/234.p/7` or `leafhashes/005`) names, or None when it is
    not the canonical encoding of one: every tile has exactly one path, so a cache or mirror never holds two
    copies of it."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    head, rest = parts[0], parts[1:]
    level = None if head == LEAF_HASHES else _decimal(head, 0, MAX_LEVEL)
    if level is None and head != LEAF_HASHES:
        return None
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        found = _decimal(rest[-1], 1, TILE_WIDTH - 1)
        if found is None:
            return None
        width = found
        rest = [*rest[:-2], rest[-2].removesuffix(".p")]
    if not 1 <= len(rest) <= _MAX_GROUPS:
        return None
    digits = [part.removeprefix("x") if i < len(rest) - 1 else part for i, part in enumerate(rest)]
    if not all(len(d) == 3 and d.isascii() and d.isdigit() for d in digits):
        return None
    ref = TileRef(level, int("".join(digits)), width)
    return ref if ref.path() == "tile/" + path else None


def nodes_at(tree_size: int, tree_level: int) -> int:
    """How many perfect subtrees of height ``tree_level`` the tree of ``tree_size`` leaves has complete."""
    return tree_size >> tree_level


def exists(ref: TileRef, tree_size: int) -> bool:
    """Whether the tree of ``tree_size`` leaves has every hash of the tile: a full tile once its 256 subtrees
    are complete, a partial tile of width ``W`` once its first ``W`` are (and it stays served after that)."""
    return ref.first + ref.width <= nodes_at(tree_size, ref.tree_level)


def log_prefix(origin: str) -> str:
    """The URL path under which the register serves its tiles: the path of its checkpoint origin, so that the
    origin line is the log's URL prefix without the scheme (tlog-tiles, Parameters): origin
    `log.gemeente.nl/verwerkingenlog` → `/verwerkingenlog`. An origin without a path serves at the root (``""``)."""
    _, _, path = origin.partition("/")
    path = path.strip("/")
    return f"/{path}" if path else ""


def entry_bundle(hashes: list[bytes]) -> bytes:
    """tlog-tiles entry bundle of leaf hashes: each a big-endian uint16 length (32) followed by the hash."""
    return b"".join(len(h).to_bytes(2, "big") + h for h in hashes)
