"""What a standalone verifier checks, with nothing but the HTTP API's answers and the published key.

1. `verify_checkpoint`: the signed note carries a valid signature by a trusted key named like the origin.
2. `verify_leaf_inclusion` / `verify_record_inclusion`: a leaf (or a record's canonical bytes) is in the
   tree of a verified checkpoint (RFC 9162 §2.1.3.2).
3. `verify_checkpoints_consistent`: a later checkpoint extends an earlier one (RFC 9162 §2.1.4.2).

Every function raises (`NoteError`, `SignatureError`, `CheckpointError` or `ProofError`) or returns normally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.checkpoint import Checkpoint, CheckpointError, SignatureError, VerifierKey, open_note
from verwerkingenlog.integrity.merkle import ProofError, verify_consistency, verify_inclusion

__all__ = [
    "verify_checkpoint",
    "verify_checkpoints_consistent",
    "verify_leaf_inclusion",
    "verify_record_inclusion",
]


def verify_checkpoint(
    signed_note: str | bytes, trusted: Iterable[str | VerifierKey], origin: str | None = None
) -> Checkpoint:
    """tlog-checkpoint §Signatures: open the note with the trusted keys (vkey texts or parsed) and parse it.

    At least one verified signature must be by a key whose name is the checkpoint's origin (the log's own
    key; other verified keys, e.g. witnesses, do not suffice). With ``origin`` given, the checkpoint must be
    of that log.
    """
    keys = [VerifierKey.parse(key) if isinstance(key, str) else key for key in trusted]
    note = open_note(signed_note, keys)
    checkpoint = Checkpoint.parse(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint of {checkpoint.origin!r}, expected {origin!r}")
    if not any(sig.name == checkpoint.origin for sig in note.verified):
        raise SignatureError(f"no trusted key named {checkpoint.origin!r} signed the checkpoint")
    return checkpoint


def verify_leaf_inclusion(checkpoint: Checkpoint, index: int, leaf_hash: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.3.2: the leaf hash is leaf ``index`` of the checkpoint's tree."""
    verify_inclusion(index, checkpoint.size, leaf_hash, proof, checkpoint.root_hash)


def verify_record_inclusion(
    checkpoint: Checkpoint, index: int, record: Mapping[str, Any], proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.3.2 for a record: its RFC 8785 canonical bytes form leaf ``index`` of the tree."""
    verify_leaf_inclusion(checkpoint, index, record_leaf_hash(record), proof)


def verify_checkpoints_consistent(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2: ``new`` is the tree of ``old`` with leaves appended (same log, not smaller)."""
    if old.origin != new.origin:
        raise CheckpointError(f"checkpoints of different logs: {old.origin!r} and {new.origin!r}")
    if old.size > new.size:
        raise ProofError(f"the old checkpoint (size {old.size}) is larger than the new one (size {new.size})")
    verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
