"""RFC 9162 §2.1 Merkle hash tree over the register's leaves, served from stored perfect-subtree hashes.

Vocabulary (as in transparency-dev/merkle):

- A *node* ``NodeID(level, index)`` is the root of the perfect subtree over the ``2**level`` leaves
  ``[index << level, (index + 1) << level)``. Level 0 nodes are the leaf hashes. Only perfect subtrees are
  ever stored; every other hash a proof needs ("ephemeral" nodes on the right border) is recomputed from
  the perfect subtrees that cover its range.
- The *compact range* of ``[begin, end)`` is the shortest left-to-right list of perfect subtrees covering it
  (`range_nodes`). The compact range of ``[0, n)`` is the right border of the tree of size ``n``: it is all an
  appender needs to keep (`CompactRange`), and its hashes folded right-to-left give the tree head.
- A *plan* lists, per proof element, the nodes whose hashes fold into it. Plans are pure, so a store that
  does asynchronous I/O can fetch `plan_nodes(plan)` in one query and call `rehash` itself; `NodeReader` and
  the functions `root_hash`, `inclusion_proof` and `consistency_proof` do the same for synchronous stores.

Every proof needs O(log n) node reads; every append writes O(log n) nodes (amortised two).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "InMemoryNodeStore",
    "NodeID",
    "NodeReader",
    "NodeStore",
    "Plan",
    "ProofError",
    "append_leaves",
    "consistency_plan",
    "consistency_proof",
    "fold",
    "inclusion_plan",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "plan_nodes",
    "range_nodes",
    "rehash",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "root_hash",
    "root_plan",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""SHA-256 output size: every leaf, node and root hash has this length."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 9162 §2.1.1: the hash of an empty list is the hash of an empty string."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof, size or hash did not check out, or a proof was asked for an impossible range."""


# --- §2.1.1 hashing -------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH({d(0)}) = SHA-256(0x00 || d(0))``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def fold(hashes: Sequence[bytes]) -> bytes:
    """Hash of adjacent subtrees of decreasing size, left to right: ``node_hash(h0, node_hash(h1, ...))``.

    This is RFC 9162 §2.1.1's MTH of a range given its compact range (each split point k is the largest
    power of two below the remaining size, i.e. the boundary of the next perfect subtree).
    """
    if not hashes:
        raise ProofError("nothing to fold")
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


# --- node addressing ------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True, slots=True)
class NodeID:
    """The perfect subtree over leaves ``[index << level, (index + 1) << level)``."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        """First leaf covered."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf covered."""
        return (self.index + 1) << self.level


def range_nodes(begin: int, end: int) -> tuple[NodeID, ...]:
    """The compact range of ``[begin, end)``: the fewest perfect subtrees covering it, left to right."""
    if not 0 <= begin <= end:
        raise ProofError(f"invalid range [{begin}, {end})")
    nodes: list[NodeID] = []
    while begin < end:
        level = (begin & -begin).bit_length() - 1 if begin else end.bit_length() - 1
        while begin + (1 << level) > end:
            level -= 1
        nodes.append(NodeID(level, begin >> level))
        begin += 1 << level
    return tuple(nodes)


# --- proof plans (pure: which stored nodes make up which proof element) -------------------------------------

Plan = tuple[tuple[NodeID, ...], ...]
"""Per proof element, the perfect subtrees (left to right) whose `fold` is that element."""


def root_plan(size: int) -> Plan:
    """RFC 9162 §2.1.1 tree head of ``size`` leaves as one element: the compact range of ``[0, size)``."""
    if size < 0:
        raise ProofError(f"negative tree size {size}")
    return (range_nodes(0, size),) if size else ()


def _path_plan(node: NodeID, size: int) -> Plan:
    """Audit path of a perfect subtree ``node`` within the tree of ``size`` leaves, bottom-up (§2.1.3.1).

    Below the level where the paths to ``node`` and to the last leaf fork, every sibling is a stored perfect
    subtree. At the fork, the right sibling is the (possibly imperfect) rest of the tree, ``[begin, size)``.
    Above it, ``node`` lies on the right border: only left siblings exist, one per set bit of the index.
    """
    last = (size - 1) >> node.level
    inner = (node.index ^ last).bit_length()
    plan: list[tuple[NodeID, ...]] = []
    for step in range(inner):
        sibling = NodeID(node.level + step, (node.index >> step) ^ 1)
        plan.append((sibling,) if step < inner - 1 else range_nodes(sibling.begin, size))
    for step in range(inner, last.bit_length()):
        if (node.index >> step) & 1:
            plan.append((NodeID(node.level + step, (node.index >> step) - 1),))
    return tuple(plan)


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 §2.1.3.1 ``PATH(m, D[n])``: the inclusion proof of leaf ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} out of range for tree size {size}")
    return _path_plan(NodeID(0, index), size)


def consistency_plan(size1: int, size2: int) -> Plan:
    """RFC 9162 §2.1.4.1 ``PROOF(m, D[n])``: consistency of the tree of ``size1`` with that of ``size2``.

    The proof is the audit path, in the tree of ``size2``, of the largest perfect subtree ending at
    ``size1``, preceded by that subtree's hash unless it is the whole old tree (``size1`` a power of two),
    which the verifier already has. Equal sizes and the empty old tree need no proof.
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return ()
    level = (size1 & -size1).bit_length() - 1
    node = NodeID(level, (size1 - 1) >> level)
    seed: Plan = () if node.index == 0 else ((node,),)
    return seed + _path_plan(node, size2)


def plan_nodes(plan: Plan) -> list[NodeID]:
    """Every stored node a plan reads, without duplicates, in first-use order."""
    return list(dict.fromkeys(node for element in plan for node in element))


def rehash(plan: Plan, hashes: Mapping[NodeID, bytes]) -> list[bytes]:
    """Turn a plan into hashes: each element is the `fold` of its nodes' stored hashes."""
    return [fold([hashes[node] for node in element]) for element in plan]


# --- storage --------------------------------------------------------------------------------------------


class NodeReader(Protocol):
    """Read access to stored perfect-subtree hashes."""

    def get_nodes(self, ids: Sequence[NodeID]) -> Sequence[bytes]:
        """Hashes of the given nodes, in the same order; `KeyError` if any is not stored."""
        ...


class NodeStore(NodeReader, Protocol):
    """Append-only storage of perfect-subtree hashes, one write batch per appended leaf."""

    def size(self) -> int:
        """Number of leaves appended so far (= number of level-0 nodes)."""
        ...

    def append_nodes(self, nodes: Sequence[tuple[NodeID, bytes]]) -> None:
        """Store the nodes completed by appending one leaf; the first is that leaf, ``NodeID(0, size())``."""
        ...


def _read(reader: NodeReader, plan: Plan) -> list[bytes]:
    """Fetch a plan's nodes in one call and rehash them."""
    ids = plan_nodes(plan)
    return rehash(plan, dict(zip(ids, reader.get_nodes(ids), strict=True)))


def root_hash(reader: NodeReader, size: int) -> bytes:
    """RFC 9162 §2.1.1 ``MTH(D[size])`` from stored nodes, for any size not above the stored size."""
    return _read(reader, root_plan(size))[0] if size else EMPTY_ROOT


def inclusion_proof(reader: NodeReader, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``, from stored nodes."""
    return _read(reader, inclusion_plan(index, size))


def consistency_proof(reader: NodeReader, size1: int, size2: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof between tree sizes ``size1 <= size2``, from stored nodes."""
    return _read(reader, consistency_plan(size1, size2))


class CompactRange:
    """The right border of the tree ``[0, size)``: the hashes of ``range_nodes(0, size)``, largest first.

    Appending a leaf merges it with the border's smaller subtrees (one merge per trailing one bit of the
    old size) and reports every perfect subtree it completes, so a store can persist them.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != len(range_nodes(0, size)):
            raise ProofError(f"a compact range of size {size} has {size.bit_count()} hashes, not {len(hashes)}")
        self._size = size
        self._hashes = list(hashes)

    @classmethod
    def load(cls, reader: NodeReader, size: int) -> CompactRange:
        """Read the border of the tree of ``size`` from stored nodes (O(log n) reads)."""
        return cls(size, list(reader.get_nodes(range_nodes(0, size))))

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Hashes of ``range_nodes(0, size)``, left to right."""
        return tuple(self._hashes)

    def root(self) -> bytes:
        """RFC 9162 §2.1.1 tree head of the covered leaves."""
        return fold(self._hashes) if self._hashes else EMPTY_ROOT

    def append(self, leaf: bytes) -> list[tuple[NodeID, bytes]]:
        """Add one leaf hash; return the new perfect subtrees, the leaf itself first, then upwards."""
        if len(leaf) != HASH_SIZE:
            raise ProofError(f"leaf hash must be {HASH_SIZE} bytes, not {len(leaf)}")
        node, value = NodeID(0, self._size), leaf
        completed = [(node, value)]
        while node.index & 1:
            value = node_hash(self._hashes.pop(), value)
            node = NodeID(node.level + 1, node.index >> 1)
            completed.append((node, value))
        self._hashes.append(value)
        self._size += 1
        return completed


def append_leaves(store: NodeStore, leaves: Iterable[bytes]) -> CompactRange:
    """Append leaf hashes to ``store`` in order; return the resulting border (its ``root()`` is the head)."""
    border = CompactRange.load(store, store.size())
    for leaf in leaves:
        store.append_nodes(border.append(leaf))
    return border


class InMemoryNodeStore:
    """`NodeStore` in a dict, for tests and for verifiers that rebuild a tree."""

    def __init__(self) -> None:
        self._nodes: dict[NodeID, bytes] = {}
        self._size = 0

    def size(self) -> int:
        """Number of leaves appended."""
        return self._size

    def get_nodes(self, ids: Sequence[NodeID]) -> list[bytes]:
        """Stored hashes of ``ids``; `KeyError` for a node not (yet) stored."""
        return [self._nodes[node] for node in ids]

    def append_nodes(self, nodes: Sequence[tuple[NodeID, bytes]]) -> None:
        """Store the nodes completed by one appended leaf."""
        if not nodes or nodes[0][0] != NodeID(0, self._size):
            raise ProofError(f"the next write must start with leaf {self._size}")
        self._nodes.update(nodes)
        self._size += 1


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2, in the chained form of transparency-dev) ------------------


def _check_hash(name: str, value: bytes) -> None:
    """Every hash in a proof is a SHA-256 output."""
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be {HASH_SIZE} bytes, not {len(value)}")


def _split_path(index: int, size: int) -> tuple[int, int]:
    """Lengths of the inner part (below the fork with the last leaf) and the border part of an audit path."""
    inner = (index ^ (size - 1)).bit_length()
    return inner, (index >> inner).bit_count()


def _chain_inner(seed: bytes, path: Sequence[bytes], index: int) -> bytes:
    """Climb the inner path: the sibling is on the right when the current index is even (§2.1.3.2 step 4b)."""
    for step, sibling in enumerate(path):
        seed = node_hash(seed, sibling) if (index >> step) & 1 == 0 else node_hash(sibling, seed)
    return seed


def _chain_inner_right(seed: bytes, path: Sequence[bytes], index: int) -> bytes:
    """Climb the inner path using only left siblings: the hash of the older, smaller tree (§2.1.4.2 step 6b)."""
    for step, sibling in enumerate(path):
        if (index >> step) & 1:
            seed = node_hash(sibling, seed)
    return seed


def _chain_border(seed: bytes, path: Sequence[bytes]) -> bytes:
    """Climb the right border: every remaining sibling is on the left."""
    for sibling in path:
        seed = node_hash(sibling, seed)
    return seed


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root a valid inclusion proof of ``leaf`` at ``index`` implies."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} out of range for tree size {size}")
    _check_hash("leaf hash", leaf)
    for element in proof:
        _check_hash("proof element", element)
    inner, border = _split_path(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"inclusion proof has {len(proof)} elements, expected {inner + border}")
    return _chain_border(_chain_inner(leaf, proof[:inner], index), proof[inner:])


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raise `ProofError` unless ``proof`` shows ``leaf`` at ``index`` under ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of tree size {size}")


def root_from_consistency_proof(size1: int, size2: int, proof: Sequence[bytes], root1: bytes) -> bytes:
    """RFC 9162 §2.1.4.2: check the proof against ``root1`` and return the ``size2`` root it implies."""
    _check_hash("old root", root1)
    for element in proof:
        _check_hash("proof element", element)
    if not 0 <= size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == 0 and root1 != EMPTY_ROOT:
        raise ProofError("the old root is not the root of the empty tree")
    if size1 == size2:
        if proof:
            raise ProofError("the consistency proof between equal sizes is empty")
        return root1
    if size1 == 0:
        raise ProofError("the empty tree is a prefix of every tree, but implies no root for it")
    if not proof:
        raise ProofError("empty consistency proof between different non-empty sizes")
    # The largest perfect subtree ending at size1 is the seed; the rest is its audit path in the new tree.
    level = (size1 & -size1).bit_length() - 1
    inner, border = _split_path(size1 - 1, size2)
    inner -= level
    seed, path = (root1, proof) if size1 == 1 << level else (proof[0], proof[1:])
    if len(path) != inner + border:
        expected = len(proof) - len(path) + inner + border
        raise ProofError(f"consistency proof has {len(proof)} elements, expected {expected}")
    index = (size1 - 1) >> level
    old = _chain_border(_chain_inner_right(seed, path[:inner], index), path[inner:])
    if old != root1:
        raise ProofError(f"consistency proof does not lead to the root of the old tree size {size1}")
    return _chain_border(_chain_inner(seed, path[:inner], index), path[inner:])


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 §2.1.4.2: raise `ProofError` unless the tree of ``root2`` extends the tree of ``root1``.

    From the empty tree (``size1 == 0``, ``root1 == EMPTY_ROOT``) the proof is empty and every tree follows.
    """
    if size1 == 0 < size2:
        _check_hash("new root", root2)
        if proof:
            raise ProofError("the consistency proof from the empty tree is empty")
        if root1 != EMPTY_ROOT:
            raise ProofError("the old root is not the root of the empty tree")
        return
    if root_from_consistency_proof(size1, size2, proof, root1) != root2:
        raise ProofError(f"consistency proof does not lead to the root of the new tree size {size2}")
