"""The checkpoint signing key on disk: one signer key text (docs/integrity.md §5), never in the database.

The file holds the secret ``PRIVATE+KEY+…`` text of the current key, mode 0600. A rotation keeps the replaced
key next to it as ``<file>.<key ID>.vervangen`` (the operator archives or destroys it); its public half stays
published from the database, so checkpoints it signed stay verifiable.
"""

from __future__ import annotations

import os
from pathlib import Path

from verwerkingenlog.integrity.checkpoint import NoteError, SignerKey


class KeyFileError(Exception):
    """The key file cannot be read, is malformed, or is in the way."""


def read_signer(path: Path) -> SignerKey | None:
    """The key in ``path``, or None when there is no such file."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the checkpoint key file {path}: {exc}") from exc
    try:
        return SignerKey.parse(text)
    except NoteError as exc:
        raise KeyFileError(f"{path} does not hold a signer key: {exc}") from exc


def write_signer(path: Path, signer: SignerKey, replace: bool = False) -> None:
    """Write the key atomically with mode 0600; refuse to overwrite unless ``replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not replace:
        raise KeyFileError(f"{path} exists already: rotate the key instead (`verwerkingenlog keys rotate`)")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(signer.encode() + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def retire_file(path: Path, signer: SignerKey) -> Path:
    """Keep a replaced key beside the key file (mode 0600) and return where."""
    kept = path.with_name(f"{path.name}.{signer.key_id:08x}.vervangen")
    write_signer(kept, signer, replace=True)
    return kept
