"""Standalone verifier: checks the register from the outside, with nothing but its HTTP API and its public key.

    python -m verwerkingenlog.verifier --url https://log.gemeente.nl/api/v1 --key '<vkey>' [checks …]

What an auditor or a citizen's app runs (docs/integrity.md §11, docs/integrity-walkthrough.md):

- always: the latest checkpoint carries a valid signature by a trusted key (C2SP signed-note, Ed25519);
- ``--leaf-index N`` / ``--actie-id ID``: that version's leaf is in the signed tree (RFC 9162 §2.1.3.2); by
  actieId needs a registered client's ``--token``, and with a token that may read the version history
  (``read:confidential``) the verifier also rebuilds the version's record from the API and checks that its
  canonical bytes are exactly the leaf (integrity.records, RFC 8785); for an entry logged through OpenTelemetry
  likewise its logboekregel (the kept Logius fields, a leaf of its own), and with ``--leaf-index`` of a
  logboekregel leaf and a token that leaf's row;
- ``--witness FILE``: every checkpoint of an exported copy is signed by the register and the latest checkpoint
  extends it (RFC 9162 §2.1.4.2): nothing the register once signed was changed or removed since;
- ``--state FILE``: the same for the checkpoint seen on the previous run, then the file remembers the latest.

Needs only httpx, cryptography and rfc8785 (``pip install verwerkingenlog[verifier]``): no database, no
server framework. Exit code 0 when every check passed, 1 when one failed, 2 on a usage or network error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from verwerkingenlog.domain.logboek import Logboekregel, Status
from verwerkingenlog.domain.model import ACTIE_FIELDS, Actiegegevens, Versie, VerwerktObject
from verwerkingenlog.domain.values import Vertrouwelijkheid, to_epoch_us
from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.checkpoint import Checkpoint, NoteError, VerifierKey
from verwerkingenlog.integrity.merkle import ProofError
from verwerkingenlog.integrity.records import (
    FORMAT,
    KIND_LOGBOEKREGEL,
    LogboekregelEntry,
    actie_record,
    logboekregel_record,
)
from verwerkingenlog.integrity.verify import (
    verify_checkpoint,
    verify_checkpoints_consistent,
    verify_leaf_inclusion,
)
from verwerkingenlog.integrity.witness import parse_witness_file

__all__ = ["CheckFailed", "RegisterVerifier", "main", "record_from_history", "record_from_logboekregel"]


class CheckFailed(Exception):
    """A check did not pass: the register served something its signatures or proofs do not support."""


@dataclass(frozen=True, slots=True)
class Inclusion:
    leaf_index: int
    leaf_hash: bytes
    checkpoint: Checkpoint
    kind: str
    volgnummer: int


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckFailed(f"not base64: {text!r}") from exc


def _claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWT, to learn which client it names."""
    try:
        payload = token.split(".")[1]
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return data


def record_from_history(entry: dict[str, Any], lineage_id: str, client_id: str | None) -> dict[str, Any]:
    """The record (docs/integrity.md §2) of one entry of GET /verwerkingsacties/{id}/versies.

    The API does not show which client stored a version; ``client_id`` supplies it (the caller's own id for
    the versions it logged).
    """
    stored = datetime.fromisoformat(entry["tijdstipRegistratie"])
    fields: dict[str, Any] = {attr: entry.get(json_name) for json_name, attr in ACTIE_FIELDS}
    fields["vertrouwelijkheid"] = Vertrouwelijkheid(entry["vertrouwelijkheid"])
    objecten = tuple(
        VerwerktObject(
            verwerkt_object_id=o["verwerktObjectId"],
            objecttype=o["objecttype"],
            soort_object_id=o["soortObjectId"],
            object_id=o["objectId"],
            betrokkenheid=o.get("betrokkenheid"),
            soorten_gegevens=tuple(s["soortGegeven"] for s in o.get("verwerkteSoortenGegevens") or []),
        )
        for o in entry["verwerkteObjecten"]
    )
    versie = Versie(
        actie_id=entry["actieId"],
        lineage_id=lineage_id,
        versie=entry["versie"],
        vervallen=entry["vervallen"],
        tijdstip_registratie_us=to_epoch_us(stored),
        gegevens=Actiegegevens(tijdstip_us=0, **fields),
        objecten=objecten,
        seq=entry["volgnummer"],
        client_id=client_id,
    )
    return actie_record(versie)


def record_from_logboekregel(data: dict[str, Any]) -> dict[str, Any]:
    """The record (docs/integrity.md §2) of a logboekregel, rebuilt from what GET /integriteit/logboekregel shows:
    every member must be there and of its type, so a record the API pads or trims does not pass."""
    try:
        if (data["type"], data["formaat"]) != (KIND_LOGBOEKREGEL, FORMAT):
            raise CheckFailed(f"not a logboekregel record of formaat {FORMAT}: {data['type']!r} {data['formaat']!r}")
        regel = Logboekregel(
            trace_id=data["traceId"],
            span_id=data["spanId"],
            parent_span_id=data["parentSpanId"],
            status=Status(data["status"]),
            status_message=data["statusMessage"],
            start_ns=int(data["startTimeUnixNano"]),
            end_ns=int(data["endTimeUnixNano"]),
            processor=data["processor"],
            resource=dict(data["resource"]),
            attributes=dict(data["attributes"]),
        )
        entry = LogboekregelEntry(int(data["volgnummer"]), str(data["lineageId"]), data["clientId"], regel)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckFailed(f"the register's logboekregel is malformed: {exc}") from exc
    return logboekregel_record(entry)


_F = TypeVar("_F", bound=Callable[..., Any])


def _malformed_answers(check: _F) -> _F:
    """A check whose answer from the register is malformed (not JSON, a member missing or of another type)
    fails as a check (exit 1, FAILED …), never with a traceback: the register is what is being checked, so its
    answers are untrusted input (tests/fuzz/targets.py::verifier_proofs)."""

    @functools.wraps(check)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            if isinstance(exc, NoteError | ProofError):
                raise CheckFailed(str(exc)) from exc
            raise CheckFailed(f"{check.__name__}: the register's answer is malformed: {exc!r}") from exc

    return checked  # type: ignore[return-value]


class RegisterVerifier:
    """The checks, against one register's API root (``…/api/v1``), trusting only the given keys."""

    def __init__(self, client: httpx.Client, api_root: str, keys: Sequence[VerifierKey], token: str | None = None):
        self.client = client
        self.root = api_root.rstrip("/")
        self.keys = list(keys)
        self.token = token

    def _get(self, path: str, params: dict[str, Any] | None = None, auth: bool = False) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        response = self.client.get(f"{self.root}{path}", params=params, headers=headers)
        if response.status_code >= 400:
            detail = response.text
            with contextlib.suppress(ValueError):
                detail = response.json().get("detail", detail)
            raise CheckFailed(f"GET {path}: HTTP {response.status_code}: {detail}")
        return response

    def checkpoint(self, note: str) -> Checkpoint:
        """C2SP signed-note + tlog-checkpoint: signed by a trusted key named as the log."""
        try:
            return verify_checkpoint(note, self.keys)
        except NoteError as exc:
            raise CheckFailed(f"checkpoint signature: {exc}") from exc

    def latest(self) -> tuple[str, Checkpoint]:
        """The register's latest signed checkpoint: the note and what it says, once its signature checked out."""
        note = self._get("/integriteit/checkpoint").text
        return note, self.checkpoint(note)

    @_malformed_answers
    def consistent(self, old: Checkpoint, new: Checkpoint) -> None:
        """RFC 9162 §2.1.4.2: ``new`` extends ``old`` (proof fetched from the register)."""
        if old.size > new.size:
            old, new = new, old
        data = self._get("/integriteit/bewijs/consistentie", {"van": old.size, "tot": new.size}).json()
        try:
            verify_checkpoints_consistent(old, new, [_b64(h) for h in data["proof"]])
        except (NoteError, ProofError) as exc:
            raise CheckFailed(
                f"checkpoint of size {new.size} does not extend the one of size {old.size}: {exc}"
            ) from exc

    @_malformed_answers
    def inclusion(self, latest: Checkpoint, leaf_index: int | None = None, actie_id: str | None = None) -> Inclusion:
        """RFC 9162 §2.1.3.2: the leaf is in the signed tree the proof names; that tree is consistent with
        ``latest``."""
        query: dict[str, Any] = {"actieId": actie_id} if actie_id else {"leafIndex": leaf_index}
        data = self._get("/integriteit/bewijs/inclusie", query, auth=actie_id is not None).json()
        checkpoint = self.checkpoint(data["checkpoint"])
        if checkpoint.size != data["treeSize"]:
            raise CheckFailed("the proof's tree size differs from its checkpoint's")
        leaf = _b64(data["leafHash"])
        try:
            verify_leaf_inclusion(checkpoint, data["leafIndex"], leaf, [_b64(h) for h in data["proof"]])
        except ProofError as exc:
            raise CheckFailed(f"inclusion proof of leaf {data['leafIndex']}: {exc}") from exc
        if checkpoint != latest:
            self.consistent(checkpoint, latest)
        return Inclusion(data["leafIndex"], leaf, checkpoint, data["type"], data["volgnummer"])

    @_malformed_answers
    def content(self, inclusion: Inclusion, actie_id: str, client_id: str | None) -> None:
        """The version as the API shows it (its history) is exactly what the leaf covers."""
        history = self._get(f"/verwerkingsacties/{actie_id}/versies", auth=True).json()["results"]
        entry = next((v for v in history if v["actieId"] == actie_id), None)
        if entry is None:
            raise CheckFailed(f"the register's history of {actie_id} does not contain that version")
        record = record_from_history(entry, history[0]["actieId"], client_id)
        if record_leaf_hash(record) != inclusion.leaf_hash:
            raise CheckFailed(
                f"the version {actie_id} the API shows is not what leaf {inclusion.leaf_index} covers "
                "(or it was stored by another client than the one named by --client-id)"
            )

    @_malformed_answers
    def logboekregel(
        self, latest: Checkpoint, actie_id: str | None = None, leaf_index: int | None = None
    ) -> str | None:
        """The logboekregel of an action (by an actieId) or of a leaf: its leaf is in the signed tree, and the
        record the API shows hashes to exactly that leaf. Returns what was checked; None when the action has
        none (a VNG entry) or a recorded purge removed the leaf's content (then the message says so)."""
        query: dict[str, Any] = {"actieId": actie_id} if actie_id else {"leafIndex": leaf_index}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.client.get(f"{self.root}/integriteit/logboekregel", params=query, headers=headers)
        detail = response.text
        with contextlib.suppress(ValueError):
            detail = response.json().get("detail", detail)
        if response.status_code == 404 and actie_id is not None:
            return None
        if response.status_code == 410:
            return f"leaf {leaf_index} is a logboekregel whose content was purged: {detail}"
        if response.status_code >= 400:
            raise CheckFailed(f"GET /integriteit/logboekregel: HTTP {response.status_code}: {detail}")
        data = response.json()
        record = record_from_logboekregel(data["record"])
        name = f"{record['lineageId']} (span {record['spanId']})"
        inclusion = self.inclusion(latest, leaf_index=data["leafIndex"])
        if inclusion.kind != KIND_LOGBOEKREGEL or record_leaf_hash(record) != inclusion.leaf_hash:
            raise CheckFailed(
                f"the logboekregel of {name} the API shows is not what leaf {inclusion.leaf_index} covers"
            )
        return f"the logboekregel of {name} is leaf {inclusion.leaf_index}, exactly as the API shows it"

    def witness(self, notes: Sequence[str], latest: Checkpoint) -> int:
        """Every checkpoint of a witness copy is the register's and is extended by ``latest``."""
        for note in notes:
            old = self.checkpoint(note)
            if old.size > latest.size:
                raise CheckFailed(
                    f"a witnessed checkpoint has {old.size} leaves, the register's latest only {latest.size}: "
                    "the log was cut back"
                )
            self.consistent(old, latest)
        return len(notes)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m verwerkingenlog.verifier",
        description="Verify a verwerkingenlog register from the outside: checkpoint signature, inclusion and "
        "consistency proofs (docs/integrity.md).",
    )
    p.add_argument("--url", required=True, help="The register's API root, e.g. https://log.gemeente.nl/api/v1")
    p.add_argument(
        "--key",
        action="append",
        required=True,
        help="A trusted verifier key (<name>+<key ID>+<key>), or @FILE with one per line; repeatable.",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument("--actie-id", help="Prove this version (needs --token).")
    target.add_argument("--leaf-index", type=int, help="Prove this leaf.")
    p.add_argument("--token", help="A JWT of a registered client (for --actie-id and the content check).")
    p.add_argument("--client-id", help="The client that stored the version (default: the token's client).")
    p.add_argument("--witness", type=Path, help="A witness copy of checkpoints (one signed note after another).")
    p.add_argument("--state", type=Path, help="Remember the latest checkpoint here; check the next run extends it.")
    return p


def _keys(values: Sequence[str]) -> list[VerifierKey]:
    texts: list[str] = []
    for value in values:
        if value.startswith("@"):
            texts += [line.strip() for line in Path(value[1:]).read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            texts.append(value)
    return [VerifierKey.parse(t) for t in texts]


def run(args: argparse.Namespace, client: httpx.Client, say: Callable[[str], None]) -> int:
    """The checks the arguments ask for; 0 when all pass, 1 on the first failure."""
    verifier = RegisterVerifier(client, args.url, _keys(args.key), args.token)
    try:
        latest_note, latest = verifier.latest()
        when = f", signed {latest.time.isoformat()}" if latest.time else ""
        root = base64.b64encode(latest.root_hash).decode()
        say(f"OK checkpoint: {latest.origin}, {latest.size} leaves, root {root}{when}")
        if args.state is not None and args.state.exists():
            previous = verifier.checkpoint(args.state.read_text(encoding="utf-8"))
            verifier.consistent(previous, latest)
            say(f"OK consistent with the checkpoint of the previous run ({previous.size} leaves)")
        if args.witness is not None:
            count = verifier.witness(parse_witness_file(args.witness.read_text(encoding="utf-8")), latest)
            say(f"OK witness: all {count} exported checkpoints are extended by the latest checkpoint")
        if args.actie_id is not None or args.leaf_index is not None:
            if args.actie_id is not None and not args.token:
                raise CheckFailed("--actie-id needs --token (a registered client); or prove by --leaf-index")
            inclusion = verifier.inclusion(latest, args.leaf_index, args.actie_id)
            say(
                f"OK inclusion: leaf {inclusion.leaf_index} ({inclusion.kind} {inclusion.volgnummer}) is in the "
                f"signed tree of {inclusion.checkpoint.size} leaves"
            )
            if args.actie_id is not None:
                client_id = args.client_id or _claims(args.token).get("client_id") or _claims(args.token).get("iss")
                verifier.content(inclusion, args.actie_id, client_id)
                say(f"OK content: the version the API shows is exactly what leaf {inclusion.leaf_index} covers")
                checked = verifier.logboekregel(latest, actie_id=args.actie_id)
                if checked is not None:
                    say(f"OK logboekregel: {checked}")
            elif inclusion.kind == KIND_LOGBOEKREGEL and args.token:
                checked = verifier.logboekregel(latest, leaf_index=inclusion.leaf_index)
                say(f"OK logboekregel: {checked}")
        if args.state is not None:
            args.state.write_text(latest_note, encoding="utf-8")
    except CheckFailed as exc:
        say(f"FAILED {exc}")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with httpx.Client(timeout=30) as client:
            return run(args, client, print)
    except (httpx.HTTPError, OSError, NoteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
