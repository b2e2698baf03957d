"""Signed checkpoints (C2SP tlog-checkpoint in C2SP signed-note), key texts, canonical record bytes, and the
standalone verifier's checks, including a state machine interleaving appends, purges and checkpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from verwerkingenlog.integrity.canonical import CanonicalizationError, leaf_bytes, record_leaf_hash
from verwerkingenlog.integrity.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteError,
    NoteSignature,
    SignatureError,
    SignerKey,
    VerifierKey,
    ed25519_key_id,
    generate_key,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
)
from verwerkingenlog.integrity.merkle import (
    EMPTY_ROOT,
    InMemoryNodeStore,
    NodeID,
    ProofError,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from verwerkingenlog.integrity.verify import (
    verify_checkpoint,
    verify_checkpoints_consistent,
    verify_leaf_inclusion,
    verify_record_inclusion,
)

# The example of Go's golang.org/x/mod/sumdb/note package documentation (Ed25519 is deterministic).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNED = (
    GO_TEXT + "\n"
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_COSIGNED = (
    GO_SIGNED
    + "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

ORIGIN = "register.example.nl/verwerkingenlog"
KEY = SignerKey(ORIGIN, bytes(range(32)))
VKEY = KEY.verifier.encode()
ROOT = hashlib.sha256(b"some root").digest()
NOON = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def checkpoint(size: int = 5, root: bytes = ROOT, time: datetime | None = NOON) -> Checkpoint:
    return Checkpoint(ORIGIN, size, root, time)


# --- keys -------------------------------------------------------------------------------------------------


def test_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    signer = SignerKey.parse(GO_SKEY)
    public = Ed25519PrivateKey.from_private_bytes(signer.seed).public_key().public_bytes_raw()
    by_hand = hashlib.sha256(b"PeterNeumann" + b"\n" + b"\x01" + public).digest()[:4]
    assert by_hand.hex() == "c74f20a3"
    assert signer.key_id == ed25519_key_id("PeterNeumann", public) == 0xC74F20A3


def test_go_note_key_texts_round_trip() -> None:
    signer = SignerKey.parse(GO_SKEY)
    assert signer.encode() == GO_SKEY
    assert signer.verifier.encode() == GO_VKEY
    assert VerifierKey.parse(GO_VKEY) == signer.verifier
    assert base64.b64decode(GO_VKEY.split("+")[2]) == b"\x01" + signer.public_key
    assert GO_SKEY.split("+", 4)[4] not in repr(signer) and "seed" not in repr(signer)


def test_signing_reproduces_the_go_note_example_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, [SignerKey.parse(GO_SKEY)]) == GO_SIGNED
    note = open_note(GO_SIGNED.encode(), [VerifierKey.parse(GO_VKEY)])
    assert note.text == GO_TEXT
    assert [(sig.name, sig.key_id) for sig in note.verified] == [("PeterNeumann", 0xC74F20A3)]


def test_signatures_by_unknown_keys_are_ignored_but_kept() -> None:
    note = open_note(GO_COSIGNED, [VerifierKey.parse(GO_VKEY)])
    assert [sig.name for sig in note.verified] == ["PeterNeumann"]
    assert [sig.name for sig in note.unverified] == ["EnochRoot"]
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_note(GO_COSIGNED, [KEY.verifier])


def test_generated_keys_parse_and_sign() -> None:
    skey, vkey = generate_key("example.org/log")
    assert skey.startswith("PRIVATE+KEY+example.org/log+") and vkey.startswith("example.org/log+")
    signer, verifier = SignerKey.parse(skey), VerifierKey.parse(vkey)
    assert signer.verifier == verifier
    assert verifier.verify(b"message", signer.sign(b"message"))
    assert not verifier.verify(b"massage", signer.sign(b"message"))
    assert generate_key("example.org/log") != (skey, vkey)


@pytest.mark.parametrize(
    "text",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # short key ID
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type byte 0x02
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW!",  # not base64
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
        "PeterNeumann",
        GO_SKEY,
    ],
)
def test_malformed_verifier_keys_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        VerifierKey.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        GO_VKEY,
        GO_SKEY.replace("PRIVATE+KEY", "PUBLIC+KEY"),
        GO_SKEY.replace("c74f20a3", "c74f20a4"),
        GO_SKEY[:-4],
    ],
)
def test_malformed_signer_keys_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        SignerKey.parse(text)


# --- signed notes -------------------------------------------------------------------------------------------


def test_wrong_key_and_modified_text_fail() -> None:
    signed = sign_checkpoint(checkpoint(), [KEY])
    other = SignerKey.generate(ORIGIN)
    with pytest.raises(SignatureError):
        verify_checkpoint(signed, [other.verifier.encode()])
    with pytest.raises(SignatureError, match="invalid signature"):
        open_note(signed.replace("\n5\n", "\n6\n"), [KEY.verifier])
    # a signature by the right key ID but made with another key
    forged = NoteSignature(ORIGIN, KEY.key_id, other.sign(checkpoint().text().encode()))
    with pytest.raises(SignatureError, match="invalid signature"):
        open_note(checkpoint().text() + "\n" + forged.line(), [KEY.verifier])


def test_a_failing_signature_by_a_known_key_rejects_the_note_even_next_to_a_good_one() -> None:
    rotated = SignerKey(ORIGIN, bytes(range(1, 33)))
    text = checkpoint().text()
    bad = NoteSignature(ORIGIN, rotated.key_id, KEY.sign(text.encode()))
    with pytest.raises(SignatureError):
        open_note(sign_note(text, [KEY], keep=[bad]), [KEY.verifier, rotated.verifier])


def test_key_rotation_signs_with_both_keys_and_either_verifies() -> None:
    rotated = SignerKey(ORIGIN, bytes(range(1, 33)))
    assert rotated.key_id != KEY.key_id
    signed = sign_checkpoint(checkpoint(), [KEY, rotated])
    assert verify_checkpoint(signed, [VKEY]) == checkpoint()
    assert verify_checkpoint(signed, [rotated.verifier.encode()]) == checkpoint()
    assert len(open_note(signed, [KEY.verifier, rotated.verifier]).verified) == 2


def test_resigning_replaces_a_kept_signature_by_the_same_key() -> None:
    text = checkpoint().text()
    witness = SignerKey("witness.example", bytes(range(2, 34)))
    first = parse_note(sign_note(text, [KEY, witness]))
    again = parse_note(sign_note(text, [KEY], keep=first.signatures))
    assert [sig.name for sig in again.signatures] == ["witness.example", ORIGIN]


def test_duplicate_signatures_are_verified_once() -> None:
    signed = sign_checkpoint(checkpoint(), [KEY])
    duplicated = signed + signed.split("\n\n")[1]
    assert len(parse_note(duplicated).signatures) == 2
    assert len(open_note(duplicated, [KEY.verifier]).verified) == 1


@pytest.mark.parametrize(
    "message",
    [
        "text\n— name AAAAAAA=\n",  # no blank line
        "text\n\n— name AAAAAAA=",  # no final newline
        "text\n\n",  # no signature
        "text\n\n- name AAAAAAA=\n",  # hyphen, not em dash
        "text\n\n— name\n",  # no signature
        "text\n\n— name AAAA\n",  # only a key ID
        "text\n\n— name not*base64\n",
        "text\n\n— na+me AAAAAAA=\n",  # plus in key name
        "text\n\n—  name AAAAAAA=\n",  # empty key name
        "te\txt\n\n— name AAAAAAA=\n",  # control character
        "text\r\n\n— name AAAAAAA=\n",
        "text\n\n" + "— name AAAAAAA=\n" * 101,  # too many signatures
    ],
)
def test_malformed_notes_are_rejected(message: str) -> None:
    with pytest.raises(NoteError):
        parse_note(message)


def test_note_bytes_must_be_utf8_and_texts_end_in_newline() -> None:
    with pytest.raises(NoteError):
        parse_note(b"\xfftext\n\n\xe2\x80\x94 name AAAAAAA=\n")
    with pytest.raises(NoteError):
        sign_note("no newline", [KEY])
    with pytest.raises(NoteError):
        sign_note("text\n", [])
    assert parse_note("line one\n\nline three\n\n— name AAAAAAA=\n").text == "line one\n\nline three\n"


# --- checkpoint text ----------------------------------------------------------------------------------------


def test_checkpoint_text_is_exactly_the_c2sp_body_with_a_time_line() -> None:
    root = base64.b64encode(ROOT).decode()
    assert checkpoint().text() == f"{ORIGIN}\n5\n{root}\ntime 2025-03-01T12:00:00Z\n"
    assert checkpoint(time=None).text() == f"{ORIGIN}\n5\n{root}\n"
    assert Checkpoint(ORIGIN, 0, EMPTY_ROOT).text() == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    extended = Checkpoint(ORIGIN, 5, ROOT, NOON, ("other extension",))
    assert extended.text().endswith("\ntime 2025-03-01T12:00:00Z\nother extension\n")
    assert Checkpoint.parse(extended.text()) == extended


def test_checkpoint_time_is_utc_whole_seconds() -> None:
    amsterdam = datetime(2025, 3, 1, 13, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert checkpoint(time=amsterdam).time == NOON
    with pytest.raises(CheckpointError):
        checkpoint(time=datetime(2025, 3, 1, 12))  # naive


@settings(max_examples=50)
@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=30),
    st.integers(0, 2**64),
    st.binary(min_size=32, max_size=32),
    st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_checkpoint_text_round_trips(origin: str, size: int, root: bytes, time: datetime | None) -> None:
    made = Checkpoint(origin, size, root, time)
    assert Checkpoint.parse(made.text()) == made
    assert Checkpoint.parse(made.text()).text() == made.text()


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n05\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
        f"{ORIGIN}\n+5\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n５\n{base64.b64encode(ROOT).decode()}\n",  # fullwidth digit
        f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # unpadded
        f"{ORIGIN}\n5\n",
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}",  # no final newline
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\n\n",  # empty extension line
        f"\n5\n{base64.b64encode(ROOT).decode()}\n",  # empty origin
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\ntime 2025-03-01 12:00:00Z\n",
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\ntime 2025-02-30T12:00:00Z\n",
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_checkpoint_fields_are_validated() -> None:
    for origin, size, root, extensions in [
        ("", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("two\nlines",)),
        (ORIGIN, 1, ROOT, ("time 2025-03-01T12:00:00Z",)),
    ]:
        with pytest.raises(CheckpointError):
            Checkpoint(origin, size, root, None, extensions)
    with pytest.raises(CheckpointError, match="differs from the origin"):
        sign_checkpoint(checkpoint(), [SignerKey("someone.else", bytes(32))])


# --- the standalone verifier's checks ------------------------------------------------------------------------


def test_verify_checkpoint_needs_the_log_key_and_origin() -> None:
    signed = sign_checkpoint(checkpoint(), [KEY])
    assert verify_checkpoint(signed, [VKEY], origin=ORIGIN) == checkpoint()
    assert verify_checkpoint(signed.encode(), [KEY.verifier]) == checkpoint()
    with pytest.raises(CheckpointError):
        verify_checkpoint(signed, [VKEY], origin="other.example/log")
    witness = SignerKey("witness.example", bytes(range(2, 34)))
    cosigned = sign_note(checkpoint().text(), [witness])
    with pytest.raises(SignatureError, match="no trusted key named"):
        verify_checkpoint(cosigned, [witness.verifier])


def test_the_signature_is_independently_checkable_with_the_published_key() -> None:
    """docs/integrity.md "Verifying by hand": only base64, hashlib and cryptography."""
    signed = sign_checkpoint(checkpoint(), [KEY])
    name, key_id_hex, key_b64 = VKEY.split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1 and hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id_hex
    text, signature_line = signed.rsplit("\n\n", 1)
    sig_name, sig_b64 = signature_line.removeprefix("\u2014 ").rstrip("\n").split(" ")
    sig = base64.b64decode(sig_b64)
    assert sig_name == name and sig[:4].hex() == key_id_hex
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(sig[4:], (text + "\n").encode())


def test_inclusion_and_consistency_against_checkpoints() -> None:
    records = [{"type": "test", "seq": i, "naam": f"actie {i}"} for i in range(13)]
    store = InMemoryNodeStore()
    append_leaves(store, [record_leaf_hash(record) for record in records[:6]])
    old = verify_checkpoint(sign_checkpoint(checkpoint(6, root_hash(store, 6)), [KEY]), [VKEY])
    append_leaves(store, [record_leaf_hash(record) for record in records[6:]])
    new = verify_checkpoint(sign_checkpoint(checkpoint(13, root_hash(store, 13)), [KEY]), [VKEY])

    for index, record in enumerate(records):
        proof = inclusion_proof(store, index, 13)
        verify_record_inclusion(new, index, record, proof)
        verify_leaf_inclusion(new, index, leaf_hash(leaf_bytes(record)), proof)
        with pytest.raises(ProofError):
            verify_record_inclusion(new, index, {**record, "naam": "gewijzigd"}, proof)
    proof = consistency_proof(store, 6, 13)
    verify_checkpoints_consistent(old, new, proof)
    with pytest.raises(ProofError):
        verify_checkpoints_consistent(new, old, proof)
    with pytest.raises(ProofError):
        verify_checkpoints_consistent(old, checkpoint(13, ROOT), proof)
    with pytest.raises(CheckpointError):
        verify_checkpoints_consistent(old, Checkpoint("other.example", 13, new.root_hash), proof)
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    verify_checkpoints_consistent(empty, new, consistency_proof(store, 0, 13))


# --- canonical bytes (RFC 8785) ------------------------------------------------------------------------------


def test_rfc8785_example_3_2_2() -> None:
    record = json.loads(
        r"""{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"""
        r""" "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"""
    )
    expected = (
        r"""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"""
        r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
    )
    assert leaf_bytes(record) == expected.encode("utf-8")


def test_rfc8785_sorts_keys_by_utf16_code_units() -> None:
    record = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    assert list(json.loads(leaf_bytes(record)).values()) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_leaf_bytes_accept_any_mapping_and_sequence_and_reject_non_json() -> None:
    from types import MappingProxyType

    record = MappingProxyType({"b": (1, 2), "a": {"z": None, "y": True}})
    assert leaf_bytes(record) == b'{"a":{"y":true,"z":null},"b":[1,2]}'
    assert record_leaf_hash(record) == hashlib.sha256(b'\x00{"a":{"y":true,"z":null},"b":[1,2]}').digest()
    for bad in [{"when": NOON}, {"n": 2**53}, {"f": float("nan")}, {1: "int key"}, {"b": b"bytes"}]:
        with pytest.raises(CanonicalizationError):
            leaf_bytes(bad)  # type: ignore[arg-type]
    with pytest.raises(CanonicalizationError):
        leaf_bytes([1, 2])  # type: ignore[arg-type]


# --- any interleaving of appends, purges and checkpoints keeps the log consistent ------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10)
json_records = st.dictionaries(st.text(max_size=5), json_scalars, max_size=4)


class RegisterLog(RuleBasedStateMachine):
    """A register in miniature: records become leaves, purge drops content but never a stored node."""

    def __init__(self) -> None:
        super().__init__()
        self.store = InMemoryNodeStore()
        self.records: list[dict[str, Any] | None] = []
        self.leaves: list[bytes] = []
        self.checkpoints: list[Checkpoint] = []
        self.clock = NOON

    @rule(records=st.lists(json_records, min_size=1, max_size=5))
    def append(self, records: list[dict[str, Any]]) -> None:
        hashes = [record_leaf_hash(record) for record in records]
        border = append_leaves(self.store, hashes)
        self.records += records
        self.leaves += hashes
        assert border.root() == root_hash(self.store, len(self.leaves))

    @precondition(lambda self: self.records)
    @rule(data=st.data())
    def purge(self, data: st.DataObject) -> None:
        self.records[data.draw(st.integers(0, len(self.records) - 1), label="purged")] = None

    @rule()
    def sign_checkpoint(self) -> None:
        self.clock += timedelta(seconds=1)
        size = self.store.size()
        signed = sign_checkpoint(Checkpoint(ORIGIN, size, root_hash(self.store, size), self.clock), [KEY])
        self.checkpoints.append(verify_checkpoint(signed, [VKEY], origin=ORIGIN))

    @invariant()
    def stored_leaves_are_never_changed(self) -> None:
        ids = [NodeID(0, index) for index in range(self.store.size())]
        assert list(self.store.get_nodes(ids)) == self.leaves

    @invariant()
    def every_checkpoint_is_consistent_with_the_latest(self) -> None:
        if self.checkpoints:
            latest = self.checkpoints[-1]
            for old in self.checkpoints:
                assert root_hash(self.store, old.size) == old.root_hash
                verify_checkpoints_consistent(old, latest, consistency_proof(self.store, old.size, latest.size))

    @invariant()
    def every_leaf_is_provably_in_the_latest_checkpoint(self) -> None:
        if self.checkpoints:
            latest = self.checkpoints[-1]
            for index in range(latest.size):
                proof = inclusion_proof(self.store, index, latest.size)
                record = self.records[index]
                if record is None:  # purged: the stored leaf hash still proves the position
                    verify_leaf_inclusion(latest, index, self.store.get_nodes([NodeID(0, index)])[0], proof)
                else:
                    verify_record_inclusion(latest, index, record, proof)


TestRegisterLog = RegisterLog.TestCase
TestRegisterLog.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


# --- docs/integrity.md stays true ----------------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "integrity.md"


def test_the_documented_example_verifies_with_the_library_and_by_hand() -> None:
    doc = DOC.read_text(encoding="utf-8")
    vkey = re.search(r"example key `([^`]+)`", doc)
    signed = re.search(r"```\n(register\.example\.nl/verwerkingenlog\n.*?\n— .*?\n)```", doc, re.DOTALL)
    script = re.search(r"```python\n(.*?)```", doc, re.DOTALL)
    assert vkey and signed and script
    assert vkey.group(1) == KEY.verifier.encode()
    example = verify_checkpoint(signed.group(1), [vkey.group(1)])
    records = [{"type": "voorbeeld", "seq": i + 1, "naam": n} for i, n in enumerate(["één", "twee", "drie"])]
    store = InMemoryNodeStore()
    append_leaves(store, [record_leaf_hash(record) for record in records])
    assert example == Checkpoint(ORIGIN, 3, root_hash(store, 3), NOON)
    assert sign_checkpoint(example, [KEY]) == signed.group(1)
    namespace: dict[str, Any] = {}
    exec(compile(script.group(1), str(DOC), "exec"), namespace)  # raises if any documented check fails
    assert namespace["r"] == namespace["sr"] == example.root_hash
