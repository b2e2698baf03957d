"""Signed tree heads: C2SP tlog-checkpoint bodies in C2SP signed notes, signed with Ed25519.

Formats (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note, and Go's golang.org/x/mod/sumdb/note
for the key encodings); docs/integrity.md gives them with examples.

- Checkpoint body: ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` then optional extension lines. This
  register writes one extension line ``time <YYYY-MM-DDTHH:MM:SSZ>``: when the head was signed, UTC, whole
  seconds.
- Signed note: ``<text>\\n— <key name> <base64(key ID || signature)>\\n`` (one line per signature, em dash
  U+2014), where the text is the body including its final newline.
- Key ID: ``SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]``, a big-endian uint32.
- Verifier key (published): ``<name>+<8 hex digits key ID>+<base64(0x01 || public key)>``.
- Signer key (secret): ``PRIVATE+KEY+<name>+<8 hex digits key ID>+<base64(0x01 || 32-byte seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verwerkingenlog.integrity.merkle import HASH_SIZE

__all__ = [
    "MAX_SIGNATURES",
    "SIGNATURE_TYPE_ED25519",
    "Checkpoint",
    "CheckpointError",
    "Note",
    "NoteError",
    "NoteSignature",
    "SignatureError",
    "SignerKey",
    "VerifiedNote",
    "VerifierKey",
    "ed25519_key_id",
    "generate_key",
    "is_valid_key_name",
    "open_note",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
]

SIGNATURE_TYPE_ED25519 = 0x01
"""signed-note §Signature types: the identifier byte of Ed25519 signatures."""

MAX_SIGNATURES = 100
"""signed-note §Format: verifiers SHOULD limit signatures per note and MUST accept 16; Go's note accepts 100."""

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_TIME_PREFIX = "time "
_TIME_PATTERN = re.compile(r"time \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
_SIZE_PATTERN = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_KEY_ID_PATTERN = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)


class NoteError(ValueError):
    """A signed note, key or checkpoint text is malformed."""


class SignatureError(NoteError):
    """A signature by a known key does not verify, or no known key signed the note."""


class CheckpointError(NoteError):
    """A note text is not a well-formed checkpoint body."""


# --- encodings ------------------------------------------------------------------------------------------


def _b64decode(text: str, what: str, error: type[NoteError] = NoteError) -> bytes:
    """Standard base64 (RFC 4648 §4) with padding; anything else is malformed."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise error(f"{what} is not valid base64") from exc


def _b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding."""
    return base64.b64encode(data).decode("ascii")


def _check_note_text(text: str, what: str, error: type[NoteError] = NoteError) -> bytes:
    """signed-note §Format: valid UTF-8 without ASCII control characters other than newline."""
    if any(ch < "\x20" and ch != "\n" for ch in text):
        raise error(f"{what} contains a control character")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(f"{what} is not valid UTF-8") from exc


def is_valid_key_name(name: str) -> bool:
    """signed-note §Format: a key name is non-empty and has no Unicode spaces and no plus (U+002B)."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _check_key_name(name: str) -> None:
    """Raise `NoteError` for a name `is_valid_key_name` rejects."""
    if not is_valid_key_name(name):
        raise NoteError(f"invalid key name {name!r}")


def ed25519_key_id(name: str, public_key: bytes) -> int:
    """signed-note §Ed25519 signatures: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``, big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([SIGNATURE_TYPE_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _split_key(text: str, parts: int, what: str) -> list[str]:
    """Chop at the first ``parts - 1`` plus signs (the base64 tail may itself contain ``+``)."""
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise NoteError(f"malformed {what}")
    return fields


def _decode_key_material(key_id_hex: str, material_b64: str, what: str) -> tuple[int, bytes]:
    """The key ID and the 32 key bytes after the 0x01 type byte."""
    if not _KEY_ID_PATTERN.fullmatch(key_id_hex):
        raise NoteError(f"{what}: the key ID must be 8 hexadecimal digits")
    material = _b64decode(material_b64, what)
    if len(material) != 33 or material[0] != SIGNATURE_TYPE_ED25519:
        raise NoteError(f"{what}: only Ed25519 keys (type 0x01, 32 bytes) are supported")
    return int(key_id_hex, 16), material[1:]


# --- keys -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key with its name and key ID; published as the vkey text (signed-note, Go note package)."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")

    @property
    def key_id(self) -> int:
        """signed-note key ID of this key."""
        return ed25519_key_id(self.name, self.public_key)

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Parse ``<name>+<hex key ID>+<base64(0x01 || public key)>``; the key ID must match."""
        name, key_id_hex, material = _split_key(vkey.strip(), 3, "verifier key")
        key_id, public_key = _decode_key_material(key_id_hex, material, "verifier key")
        key = cls(name, public_key)
        if key.key_id != key_id:
            raise NoteError("verifier key: the key ID does not match the name and public key")
        return key

    def encode(self) -> str:
        """The vkey text: ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
        material = _b64encode(bytes([SIGNATURE_TYPE_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """RFC 8032 Ed25519 verification of ``signature`` (without key ID) over ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class SignerKey:
    """A private key with its name; encoded as in Go's note package (``PRIVATE+KEY+...``). Keep it secret."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 private key seed has 32 bytes")

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        """A fresh random Ed25519 key under ``name``."""
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(name, seed)

    @classmethod
    def parse(cls, skey: str) -> SignerKey:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``; the key ID must match."""
        private, key, name, key_id_hex, material = _split_key(skey.strip(), 5, "signer key")
        if (private, key) != ("PRIVATE", "KEY"):
            raise NoteError("a signer key starts with PRIVATE+KEY+")
        key_id, seed = _decode_key_material(key_id_hex, material, "signer key")
        signer = cls(name, seed)
        if signer.key_id != key_id:
            raise NoteError("signer key: the key ID does not match the name and public key")
        return signer

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key (RFC 8032)."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()

    @property
    def key_id(self) -> int:
        """signed-note key ID of this key."""
        return ed25519_key_id(self.name, self.public_key)

    @property
    def verifier(self) -> VerifierKey:
        """The public half, to publish."""
        return VerifierKey(self.name, self.public_key)

    def encode(self) -> str:
        """The secret skey text: ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``."""
        material = _b64encode(bytes([SIGNATURE_TYPE_ED25519]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{material}"

    def sign(self, message: bytes) -> bytes:
        """RFC 8032 Ed25519 signature over ``message`` (64 bytes, without key ID)."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A new key pair as texts: (secret skey, public vkey), like Go's ``note.GenerateKey``."""
    signer = SignerKey.generate(name)
    return signer.encode(), signer.verifier.encode()


# --- signed notes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, key ID and the raw signature bytes."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """signed-note §Signatures: ``— <key name> base64(32-bit key ID || signature)``."""
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id.to_bytes(4, 'big') + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed, not yet verified, signed note."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note with at least one verified signature; ``unverified`` are those by keys not known."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _parse_signature_line(line: str) -> NoteSignature:
    """signed-note §Signatures: em dash, space, key name, space, base64(key ID || signature)."""
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError("a signature line starts with an em dash and a space")
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not is_valid_key_name(name) or not encoded:
        raise NoteError("malformed signature line")
    raw = _b64decode(encoded, "signature")
    if len(raw) < 5:
        raise NoteError("a signature has a 4-byte key ID and at least one byte")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def parse_note(message: str | bytes) -> Note:
    """signed-note §Format: split a note into its text and signature lines, without verifying."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("a signed note is valid UTF-8") from exc
    _check_note_text(message, "signed note")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note has a blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a signed note ends with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def sign_note(text: str, signers: Sequence[SignerKey], keep: Sequence[NoteSignature] = ()) -> str:
    """signed-note §Format: the text, a blank line, then ``keep`` and one signature line per signer.

    Signatures in ``keep`` by the same key (name and key ID) as a signer are replaced, as in Go's note.Sign.
    """
    if not text.endswith("\n"):
        raise NoteError("a note text ends with a newline")
    if not signers:
        raise NoteError("a note needs at least one signature")
    message = _check_note_text(text, "note text")
    renewed = {(signer.name, signer.key_id) for signer in signers}
    kept = [sig for sig in keep if (sig.name, sig.key_id) not in renewed]
    fresh = [NoteSignature(s.name, s.key_id, s.sign(message)) for s in signers]
    return text + "\n" + "".join(sig.line() for sig in [*kept, *fresh])


def open_note(message: str | bytes, known: Iterable[VerifierKey]) -> VerifiedNote:
    """signed-note §Signatures: verify every signature by a known key; the note needs at least one.

    A signature is by a known key when both key name and key ID match; others are returned as unverified
    (this is what makes key rotation and witness cosigning possible). A failing signature by a known key
    rejects the whole note (`SignatureError`), as does a note without any signature by a known key.
    """
    note = parse_note(message)
    keys: dict[tuple[str, int], VerifierKey] = {}
    for key in known:
        if keys.setdefault((key.name, key.key_id), key) != key:
            raise NoteError(f"ambiguous verifier keys {key.name}+{key.key_id:08x}")
    text = note.text.encode("utf-8")
    verified: dict[tuple[str, int], NoteSignature] = {}
    unverified: dict[NoteSignature, None] = {}
    for sig in note.signatures:
        known_key = keys.get((sig.name, sig.key_id))
        if known_key is None:
            unverified.setdefault(sig)
        elif (sig.name, sig.key_id) not in verified:
            if not known_key.verify(text, sig.signature):
                raise SignatureError(f"invalid signature by {sig.name}+{sig.key_id:08x}")
            verified[(sig.name, sig.key_id)] = sig
    if not verified:
        raise SignatureError("the note has no signature by a known key")
    return VerifiedNote(note.text, tuple(verified.values()), tuple(unverified))


# --- checkpoints ----------------------------------------------------------------------------------------


def _normalise_time(value: datetime | None) -> datetime | None:
    """UTC, whole seconds: exactly what the ``time`` extension line can carry."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise CheckpointError("a checkpoint time must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """C2SP tlog-checkpoint note text: origin, tree size, root hash, and this register's ``time`` line.

    ``time`` is normalised to UTC whole seconds. ``extensions`` are any further extension lines, kept
    verbatim after the ``time`` line.
    """

    origin: str
    size: int
    root_hash: bytes
    time: datetime | None = None
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("the origin is a non-empty line")
        _check_note_text(self.origin, "origin", CheckpointError)
        if self.size < 0:
            raise CheckpointError("the tree size is not negative")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"the root hash has {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("an extension line is non-empty and a single line")
            _check_note_text(line, "extension line", CheckpointError)
            if line.startswith(_TIME_PREFIX):
                raise CheckpointError("the time extension line is given as `time`, not in `extensions`")
        object.__setattr__(self, "time", _normalise_time(self.time))

    def text(self) -> str:
        """tlog-checkpoint §Note text: the lines, each ending in a newline."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash)]
        if self.time is not None:
            lines.append(_TIME_PREFIX + self.time.isoformat().replace("+00:00", "Z"))
        lines.extend(self.extensions)
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """tlog-checkpoint §Note text: parse a (verified) note text; strict, so ``parse(t).text() == t``."""
        if not text.endswith("\n"):
            raise CheckpointError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise CheckpointError("a checkpoint has at least three non-empty lines")
        origin, size_text, root_text, *extensions = lines
        if not _SIZE_PATTERN.fullmatch(size_text):
            raise CheckpointError("the tree size is a decimal number without leading zeros")
        root_hash = _b64decode(root_text, "root hash", CheckpointError)
        if _b64encode(root_hash) != root_text:
            raise CheckpointError("the root hash is not canonical base64")
        time = None
        if extensions and extensions[0].startswith(_TIME_PREFIX):
            if not _TIME_PATTERN.fullmatch(extensions[0]):
                raise CheckpointError("the time line is `time YYYY-MM-DDTHH:MM:SSZ`")
            try:
                time = datetime.fromisoformat(extensions[0][len(_TIME_PREFIX) :])
            except ValueError as exc:
                raise CheckpointError("the time line holds an impossible date or time") from exc
            extensions = extensions[1:]
        return cls(origin, int(size_text), root_hash, time, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[SignerKey]) -> str:
    """tlog-checkpoint §Signatures: the checkpoint as a signed note; the log's key name is its origin."""
    for signer in signers:
        if signer.name != checkpoint.origin:
            raise CheckpointError(f"the log's key name {signer.name!r} differs from the origin")
    return sign_note(checkpoint.text(), signers)
