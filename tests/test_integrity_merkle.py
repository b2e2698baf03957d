"""RFC 9162 Merkle tree: the stored-node implementation against an independent reference written here.

The reference follows the RFC text literally: MTH, PATH and PROOF/SUBPROOF as the recursive definitions of
§2.1.1, §2.1.3.1 and §2.1.4.1, and verification as the bit-shifting algorithms of §2.1.3.2 and §2.1.4.2.
It imports nothing from `verwerkingenlog`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verwerkingenlog.integrity import merkle
from verwerkingenlog.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    InMemoryNodeStore,
    NodeID,
    ProofError,
    append_leaves,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
    plan_nodes,
    range_nodes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300

# --- the independent reference (RFC 9162 §2.1, straight from the text) ------------------------------------


def ref_leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


LEAF_DATA = [f"leaf {i}".encode() for i in range(MAX_SIZE)]


@cache
def ref_mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over LEAF_DATA (§2.1.1)."""
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return ref_leaf_hash(LEAF_DATA[lo])
    k = largest_power_of_two_below(n)
    return ref_node_hash(ref_mth(lo, lo + k), ref_mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) (§2.1.3.1)."""
    n = hi - lo
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), ref_mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), ref_mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) (§2.1.4.1)."""
    n = hi - lo
    if m == n:
        return [] if b else [ref_mth(lo, hi)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, b), ref_mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), ref_mth(lo, lo + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (§2.1.4.1)."""
    return ref_subproof(m, 0, n, True)


def rfc_verify_inclusion(leaf_index: int, tree_size: int, hash_: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, hash_
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = ref_node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = ref_node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    """§2.1.4.2, step by step (for 0 < first < second; equal sizes need an empty path and equal roots)."""
    if first == second:
        return not path and first_hash == second_hash
    if not 0 < first < second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = ref_node_hash(c, fr)
            sr = ref_node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = ref_node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# --- the implementation under test, filled once -------------------------------------------------------------

STORE = InMemoryNodeStore()
BORDER = append_leaves(STORE, [ref_leaf_hash(data) for data in LEAF_DATA])
sizes = st.integers(min_value=1, max_value=MAX_SIZE)


def flip(value: bytes, bit: int = 3) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


def rejected(check: Callable[[], None]) -> bool:
    try:
        check()
    except ProofError:
        return True
    return False


# --- hashing and roots --------------------------------------------------------------------------------------


def test_hashes_are_the_rfc_9162_prefixed_sha256() -> None:
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert merkle.node_hash(b"l" * 32, b"r" * 32) == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_stored_root_equals_the_recursive_definition_for_every_prefix() -> None:
    border = CompactRange()
    assert border.root() == ref_mth(0, 0) == root_hash(STORE, 0)
    for size in range(1, MAX_SIZE + 1):
        border.append(ref_leaf_hash(LEAF_DATA[size - 1]))
        assert border.root() == ref_mth(0, size), size
        assert root_hash(STORE, size) == ref_mth(0, size), size
        assert CompactRange.load(STORE, size).root() == ref_mth(0, size), size


def test_appending_writes_one_leaf_and_the_subtrees_it_completes() -> None:
    border = CompactRange.load(STORE, 7)
    written = border.append(ref_leaf_hash(LEAF_DATA[7]))
    assert [node for node, _ in written] == [NodeID(0, 7), NodeID(1, 3), NodeID(2, 1), NodeID(3, 0)]
    assert written[-1][1] == ref_mth(0, 8)
    for size in range(1, MAX_SIZE):
        count = len(CompactRange.load(STORE, size).append(ref_leaf_hash(LEAF_DATA[size])))
        assert count == 1 + (size ^ (size + 1)).bit_length() - 1  # leaf + one per trailing one bit of size


def test_every_stored_node_is_the_mth_of_its_range() -> None:
    for level in range(MAX_SIZE.bit_length()):
        for index in range(MAX_SIZE >> level):
            node = NodeID(level, index)
            assert STORE.get_nodes([node]) == [ref_mth(node.begin, node.end)]
    with pytest.raises(KeyError):
        STORE.get_nodes([NodeID(0, MAX_SIZE)])


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_range_nodes_cover_the_range_with_perfect_aligned_subtrees(a: int, b: int) -> None:
    begin, end = min(a, b), max(a, b)
    nodes = range_nodes(begin, end)
    position = begin
    for node in nodes:
        assert node.begin == position
        position = node.end
    assert position == end
    levels = [node.level for node in nodes]
    # compact: levels rise then fall, no level appears more than twice
    assert all(levels.count(level) <= 2 for level in levels)


def test_store_rejects_out_of_order_writes() -> None:
    store = InMemoryNodeStore()
    with pytest.raises(ProofError):
        store.append_nodes([(NodeID(0, 1), b"\x00" * 32)])
    with pytest.raises(ProofError):
        CompactRange().append(b"short")


# --- inclusion proofs ---------------------------------------------------------------------------------------


@given(sizes, st.data())
def test_inclusion_proof_equals_reference_and_verifies_both_ways(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = ref_leaf_hash(LEAF_DATA[index]), ref_mth(0, size)
    proof = inclusion_proof(STORE, index, size)
    assert proof == ref_path(index, 0, size)
    verify_inclusion(index, size, leaf, proof, root)
    assert rfc_verify_inclusion(index, size, leaf, proof, root)
    assert len(plan_nodes(inclusion_plan(index, size))) <= 2 * size.bit_length()


@given(sizes, st.data())
def test_tampered_inclusion_proofs_fail_both_verifiers(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = ref_leaf_hash(LEAF_DATA[index]), ref_mth(0, size)
    proof = inclusion_proof(STORE, index, size)
    other = data.draw(st.integers(0, size).filter(lambda i: i != index), label="other index") if size > 1 else size
    probes: list[tuple[str, int, bytes, list[bytes], bytes]] = [
        ("wrong leaf", index, ref_leaf_hash(b"not a leaf"), proof, root),
        ("leaf data instead of hash", index, LEAF_DATA[index].ljust(32, b"-"), proof, root),
        ("wrong root", index, leaf, proof, flip(root)),
        ("empty-tree root", index, leaf, proof, EMPTY_ROOT),
        ("other index", other, leaf, proof, root),
        ("trailing element", index, leaf, [*proof, root], root),
        ("preceding element", index, leaf, [root, *proof], root),
    ]
    probes += [
        (f"flipped element {i}", index, leaf, [*proof[:i], flip(p), *proof[i + 1 :]], root) for i, p in enumerate(proof)
    ]
    if proof:
        probes.append(("dropped element", index, leaf, proof[:-1], root))
    for name, i, leaf_, proof_, root_ in probes:
        assert rejected(lambda: verify_inclusion(i, size, leaf_, proof_, root_)), name  # noqa: B023
        assert not rfc_verify_inclusion(i, size, leaf_, proof_, root_), name


def test_inclusion_rejects_impossible_indices() -> None:
    for index, size in [(0, 0), (3, 3), (-1, 5)]:
        with pytest.raises(ProofError):
            inclusion_plan(index, size)
        with pytest.raises(ProofError):
            verify_inclusion(index, size, b"\x00" * 32, [], b"\x00" * 32)


# --- consistency proofs -------------------------------------------------------------------------------------


@given(sizes, st.data())
def test_consistency_proof_equals_reference_and_verifies_both_ways(size2: int, data: st.DataObject) -> None:
    size1 = data.draw(st.integers(1, size2), label="size1")
    root1, root2 = ref_mth(0, size1), ref_mth(0, size2)
    proof = consistency_proof(STORE, size1, size2)
    assert proof == (ref_proof(size1, size2) if size1 < size2 else [])
    verify_consistency(size1, size2, proof, root1, root2)
    assert rfc_verify_consistency(size1, size2, root1, root2, proof)
    assert len(plan_nodes(consistency_plan(size1, size2))) <= 3 * size2.bit_length()


def test_consistency_proofs_equal_reference_for_all_small_sizes() -> None:
    for size2 in range(1, 65):
        for size1 in range(1, size2):
            assert consistency_proof(STORE, size1, size2) == ref_proof(size1, size2), (size1, size2)


@given(sizes.filter(lambda n: n > 1), st.data())
def test_tampered_consistency_proofs_fail_both_verifiers(size2: int, data: st.DataObject) -> None:
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    root1, root2 = ref_mth(0, size1), ref_mth(0, size2)
    proof = consistency_proof(STORE, size1, size2)
    probes: list[tuple[str, int, list[bytes], bytes, bytes]] = [
        ("wrong old root", size1, proof, flip(root1), root2),
        ("wrong new root", size1, proof, root1, flip(root2)),
        ("swapped roots", size1, proof, root2, root1),
        ("empty proof", size1, [], root1, root2),
        ("trailing root", size1, [*proof, root2], root1, root2),
        ("preceding root", size1, [root1, *proof], root1, root2),
        ("preceding first element", size1, [proof[0], *proof], root1, root2),
        ("truncated", size1, proof[:-1], root1, root2),
        ("size1 - 1", size1 - 1, proof, root1, root2),
        ("size1 + 1", size1 + 1, proof, root1, root2),
    ]
    probes += [
        (f"flipped element {i}", size1, [*proof[:i], flip(p, 4), *proof[i + 1 :]], root1, root2)
        for i, p in enumerate(proof)
    ]
    for name, s1, proof_, r1, r2 in probes:
        assert rejected(lambda: verify_consistency(s1, size2, proof_, r1, r2)), name  # noqa: B023
        assert not rfc_verify_consistency(s1, size2, r1, r2, proof_), name


def test_consistency_edge_cases() -> None:
    root5 = ref_mth(0, 5)
    assert consistency_proof(STORE, 0, 5) == [] == consistency_proof(STORE, 5, 5)
    verify_consistency(0, 5, [], EMPTY_ROOT, root5)  # the empty tree is a prefix of every tree
    verify_consistency(5, 5, [], root5, root5)
    for size1, size2, proof, root1, root2 in [
        (5, 5, [], root5, ref_mth(0, 4)),  # same size, different root
        (5, 5, [root5], root5, root5),  # same size, non-empty proof
        (0, 5, [], root5, root5),  # empty tree with a non-empty root
        (0, 5, [root5], EMPTY_ROOT, root5),  # empty tree with a proof
        (6, 5, [], root5, root5),  # shrinking
    ]:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, root2)
    with pytest.raises(ProofError):
        consistency_plan(6, 5)


# --- RFC 6962 test data (as in transparency-dev/merkle's proof tests) ------------------------------------------

RFC6962_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC6962_INCLUSION = {  # (leaf index, tree size) -> audit path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
RFC6962_CONSISTENCY = {  # (size1, size2) -> proof
    (1, 8): RFC6962_INCLUSION[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_rfc6962_test_vectors() -> None:
    store = InMemoryNodeStore()
    append_leaves(store, [merkle.leaf_hash(leaf) for leaf in RFC6962_LEAVES])
    roots = [root_hash(store, size).hex() for size in range(1, 9)]
    assert roots == RFC6962_ROOTS
    for (index, size), path in RFC6962_INCLUSION.items():
        proof = inclusion_proof(store, index, size)
        assert [p.hex() for p in proof] == path
        verify_inclusion(index, size, merkle.leaf_hash(RFC6962_LEAVES[index]), proof, bytes.fromhex(roots[size - 1]))
    for (size1, size2), path in RFC6962_CONSISTENCY.items():
        proof = consistency_proof(store, size1, size2)
        assert [p.hex() for p in proof] == path
        verify_consistency(size1, size2, proof, bytes.fromhex(roots[size1 - 1]), bytes.fromhex(roots[size2 - 1]))


@settings(max_examples=25)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40))
def test_trees_with_duplicate_and_empty_leaves(leaves: list[bytes]) -> None:
    store = InMemoryNodeStore()
    border = append_leaves(store, [merkle.leaf_hash(leaf) for leaf in leaves])

    def mth(items: list[bytes]) -> bytes:
        if len(items) == 1:
            return ref_leaf_hash(items[0])
        k = largest_power_of_two_below(len(items))
        return ref_node_hash(mth(items[:k]), mth(items[k:]))

    assert border.root() == root_hash(store, len(leaves)) == mth(leaves)
    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(store, index, len(leaves))
        assert rfc_verify_inclusion(index, len(leaves), ref_leaf_hash(leaf), proof, border.root())
