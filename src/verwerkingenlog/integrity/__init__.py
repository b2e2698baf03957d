"""Integrity of the register: a Merkle log over every stored version, signed checkpoints and proofs.

- `merkle`: RFC 9162 §2.1 hashing, tree heads, inclusion and consistency proofs from stored subtree hashes.
- `canonical`: the bytes a leaf hash covers (RFC 8785 JSON canonicalisation of the record).
- `checkpoint`: C2SP tlog-checkpoint bodies, C2SP signed notes with Ed25519, key texts.
- `verify`: the checks a standalone verifier makes with only the HTTP API and the published key.

The formats are specified in docs/integrity.md. This package is pure: storage and HTTP wiring live elsewhere.
"""
