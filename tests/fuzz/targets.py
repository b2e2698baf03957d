"""Fuzz targets: every parser the register exposes, each held to its contract (issue 19.8; README, `make fuzz`).

A target takes arbitrary bytes, hands them to one parser the way the register does, and lets only the
parser's documented errors pass: a `DomainError` (400/401/413 problem+json) for what the API reads, an
`ImportFormatError` for the VAR spreadsheet import, a `NoteError`/`ProofError`/`CheckFailed` for the standalone
verifier. Anything else escaping (RecursionError, UnicodeError, KeyError, OverflowError, …) is a crash.

`tests/fuzz/run.py` drives them with atheris (`make fuzz`); tests/test_fuzz_corpus.py runs every committed
seed and every recorded crash through them in the normal suite, without atheris.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.datastructures import Headers, QueryParams

from verwerkingenlog.api import bodies, bulk, decoding, logboek, otlp, params
from verwerkingenlog.domain import var as var_rules
from verwerkingenlog.domain.errors import DomainError, ValidationFailed
from verwerkingenlog.integrity import checkpoint as notes
from verwerkingenlog.integrity.merkle import ProofError
from verwerkingenlog.integrity.verify import verify_leaf_inclusion
from verwerkingenlog.services import tokens
from verwerkingenlog.services.clients import Client
from verwerkingenlog.services.var_import import ImportFormatError, parse_rows, read_table

Target = Callable[[bytes], None]
TARGETS: dict[str, Target] = {}


def target(fn: Target) -> Target:
    TARGETS[fn.__name__] = fn
    return fn


def _text(data: bytes) -> str:
    """Bytes as the text an HTTP stack hands a router (Starlette decodes query strings and headers latin-1)."""
    return data.decode("latin-1")


# -- the VNG API bodies ------------------------------------------------------------------------------------


@target
def post_body(data: bytes) -> None:
    """POST /verwerkingsacties (and each bulk entry): msgspec's fast path, pydantic's verdict otherwise."""
    with contextlib.suppress(ValidationFailed):
        bodies.parse_post(data)


@target
def put_body(data: bytes) -> None:
    """PUT and PATCH /verwerkingsacties/{id}."""
    for model in (bodies.PutBody, bodies.PatchBody):
        with contextlib.suppress(ValidationFailed):
            bodies.parse(model, data)


@target
def bulk_body(data: bytes) -> None:
    """POST /verwerkingsacties/bulk: the first byte picks NDJSON or a JSON array, then every entry."""
    ndjson = bool(data[:1]) and data[0] % 2 == 0
    try:
        entries = bulk._entries(data[1:], ndjson)
    except ValidationFailed:
        return
    for _, text in entries[:1000]:
        post_body(text)


# -- OpenTelemetry ------------------------------------------------------------------------------------------


@target
def otlp_json(data: bytes) -> None:
    """POST /v1/traces as application/json."""
    with contextlib.suppress(ValidationFailed):
        otlp.spans_from_json(data)


@target
def otlp_protobuf(data: bytes) -> None:
    """POST /v1/traces (and gRPC Export) as protobuf."""
    with contextlib.suppress(ValidationFailed):
        otlp.spans_from_protobuf(data)


@target
def otlp_gzip(data: bytes) -> None:
    """POST /v1/traces with Content-Encoding: gzip: inflated at most up to the limit."""
    try:
        out = decoding.inflate(data, "gzip", 65_536)
    except DomainError:
        return
    assert len(out) <= 65_536


# -- the read extension and the VAR ----------------------------------------------------------------------


@target
def read_extension(data: bytes) -> None:
    """POST /processing-activities: the body's criteria (the query's are strings, covered by query_params)."""
    c = params.Collector()
    try:
        body = decoding.json_value(data)
    except ValidationFailed:
        return
    with contextlib.suppress(ValidationFailed):
        logboek.query_of(c, body, {}, 50)  # every shape; a batch of at most 50 (LOGBOEK_READ_BATCH_MAX's default)
        c.raise_if_any()


@target
def var_document(data: bytes) -> None:
    """POST/PUT /verwerkingsactiviteiten."""
    with contextlib.suppress(ValidationFailed):
        var_rules.parse_activiteit(decoding.json_value(data))


_SCRATCH = Path(tempfile.mkdtemp(prefix="vl-fuzz-"))


def _import(data: bytes, suffix: str) -> None:
    path = _SCRATCH / f"upload{suffix}"
    path.write_bytes(data)
    with contextlib.suppress(ImportFormatError):
        parse_rows(read_table(path), None)


@target
def var_csv(data: bytes) -> None:
    """The VAR spreadsheet import (admin page, `verwerkingenlog var import`) of a CSV file."""
    _import(data, ".csv")


@target
def var_xlsx(data: bytes) -> None:
    """The same import of an XLSX file (a zip of XML parts)."""
    _import(data, ".xlsx")


# -- query parameters and headers ------------------------------------------------------------------------

_ZONE = ZoneInfo("Europe/Amsterdam")


@target
def query_params(data: bytes) -> None:
    """The query of GET /verwerkingsacties, /verwerkte-objecten and friends, and the consumer headers."""
    query, _, header = data.partition(b"\n")
    q = QueryParams(_text(query))
    c = params.Collector()
    params.reject_unknown(c, q, ("objecttype", "soortObjectId", "objectId", "beginDatum", "eindDatum", "page"))
    params.object_filter(c, q, _ZONE, dates_required=bool(data[:1]) and data[0] % 2 == 0, with_vertrouwelijkheid=True)
    params.page_of(c, q)
    name, _, value = _text(header).partition(":")
    params.consumer_headers(c, Headers({name.strip().lower() or "x": value.strip()}))
    params.path_uuid(c, "actieId", _text(header))
    with contextlib.suppress(ValidationFailed):
        c.raise_if_any()


# -- bearer tokens ------------------------------------------------------------------------------------------


class _Clients:
    """The one registered client, in memory: the verifier's lookup without a database."""

    client = Client("fuzz", "fuzz-secret-0123456789abcdefghijklmnopqrstuv", frozenset({"read:normal"}))

    async def get(self, client_id: str) -> Client | None:
        return self.client if client_id == self.client.client_id else None


_VERIFIER = tokens.TokenVerifier(_Clients(), max_age=3600, leeway=60)  # type: ignore[arg-type]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed(payload: bytes) -> str:
    """A JWT with the fuzzed payload, signed with the registered client's secret (claims are then reached)."""
    head = _b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64url(payload)
    mac = hmac.new(_Clients.client.secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + _b64url(mac)


@target
def jwt_token(data: bytes) -> None:
    """The Authorization header of every API request: as sent, or as a validly signed token with the fuzzed
    claims (the first byte chooses)."""
    authorization = "Bearer " + _signed(data[1:]) if data[:1] == b"S" else _text(data)
    with contextlib.suppress(DomainError):
        asyncio.run(_VERIFIER.caller(authorization))


# -- the standalone verifier --------------------------------------------------------------------------------

_SIGNER = notes.SignerKey("fuzz.example/log", bytes(range(32)))
_KEY = _SIGNER.verifier


@target
def signed_note(data: bytes) -> None:
    """A checkpoint note as the verifier reads it from the register or a witness file."""
    with contextlib.suppress(notes.NoteError):
        notes.Checkpoint.parse(notes.open_note(data, [_KEY]).text)
    with contextlib.suppress(notes.NoteError):
        notes.Checkpoint.parse(data.decode("utf-8", "replace"))


@target
def note_keys(data: bytes) -> None:
    """Verifier keys (--key) and signer keys (CHECKPOINT_KEY_FILE)."""
    text = data.decode("utf-8", "replace")
    for parse in (notes.VerifierKey.parse, notes.SignerKey.parse):
        with contextlib.suppress(notes.NoteError):
            parse(text)


def _checkpoint(size: int) -> tuple[str, notes.Checkpoint]:
    cp = notes.Checkpoint(_SIGNER.name, size, hashlib.sha256(str(size).encode()).digest())
    return notes.sign_checkpoint(cp, [_SIGNER]), cp


_LATEST_NOTE, _LATEST = _checkpoint(7)


@target
def verifier_proofs(data: bytes) -> None:
    """The standalone verifier (python -m verwerkingenlog.verifier) against a hostile register: the fuzzed
    bytes are its inclusion and consistency answers. The verifier reports FAILED (1) or an error (2), never a
    traceback."""
    from verwerkingenlog import verifier

    inclusion, _, consistency = data.partition(b"\n\n\n")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/integriteit/checkpoint"):
            return httpx.Response(200, text=_LATEST_NOTE)
        if request.url.path.endswith("/bewijs/inclusie"):
            return httpx.Response(200, content=inclusion, headers={"Content-Type": "application/json"})
        return httpx.Response(200, content=consistency, headers={"Content-Type": "application/json"})

    args = verifier._parser().parse_args(["--url", "https://fuzz.example/api/v1", "--key", _KEY.encode()])
    args.leaf_index = 0
    allowed = (httpx.HTTPError, OSError, notes.NoteError)  # main() reports these as "error: …", exit 2
    with httpx.Client(transport=httpx.MockTransport(answer)) as client, contextlib.suppress(*allowed):
        assert verifier.run(args, client, lambda _: None) in (0, 1)


@target
def merkle_proof(data: bytes) -> None:
    """RFC 9162 inclusion proofs: any index, leaf and path against a checkpoint."""
    index = int.from_bytes(data[:8], "big", signed=True)
    proof = [data[i : i + 32] for i in range(40, len(data), 32)]
    with contextlib.suppress(ProofError):
        verify_leaf_inclusion(_LATEST, index, data[8:40], proof)


def seeds() -> dict[str, list[Any]]:
    """Documents the seed corpora are made from (tests/fuzz/run.py --write-seeds)."""
    from tests.helpers import actie, new_bsn
    from tests.logboek_support import dpl, pb_request, pb_span
    from tests.var_support import activiteit, new_oin

    bsn = new_bsn()
    span_json = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "balie"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "Inzien dossier",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000000",
                                "status": {"code": 2, "message": "fout"},
                                "attributes": [
                                    {"key": k.replace("__", "."), "value": {"stringValue": v}}
                                    for k, v in dpl(bsn).items()
                                ]
                                + [
                                    {"key": "n", "value": {"intValue": "12"}},
                                    {"key": "a", "value": {"arrayValue": {"values": [{"doubleValue": 1.5}]}}},
                                    {"key": "b", "value": {"bytesValue": "AAE="}},
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    post = json.dumps(actie(bsn)).encode()
    var_doc = activiteit(new_oin())
    csv_text = "UUID;Naam verwerking;Doel;Grondslag;Bewaartermijn\n" + f"{var_doc['id']};Parkeren;Vergunning;Wet;P1Y\n"
    inclusion = {
        "checkpoint": _LATEST_NOTE,
        "treeSize": 7,
        "leafIndex": 0,
        "leafHash": base64.b64encode(bytes(32)).decode(),
        "proof": [base64.b64encode(bytes(32)).decode()] * 3,
        "type": "verwerkingsactie",
        "volgnummer": 1,
    }
    token = tokens.issue(_Clients.client)
    return {
        "post_body": [post, b"{}", b"[]"],
        "put_body": [post, b'{"bewaartermijn": "P1Y"}'],
        "bulk_body": [b"\x00" + post + b"\n" + post + b"\n", b"\x01[" + post + b"," + post + b"]"],
        "otlp_json": [json.dumps(span_json).encode(), b'{"resourceSpans": []}'],
        "otlp_protobuf": [pb_request(pb_span("Inzien", **dpl(bsn)))],
        "otlp_gzip": [__import__("gzip").compress(post)],
        "read_extension": [
            json.dumps({"traceId": "5b8efff798038103d269b633813fc60c", "startTime": 0}).encode(),
            json.dumps({"attributes": {"dpl.core.data_subject_id": bsn}}).encode(),
        ],
        "var_document": [json.dumps(var_doc).encode()],
        "var_csv": [csv_text.encode()],
        "var_xlsx": [_xlsx(csv_text)],
        "query_params": [
            f"objecttype=persoon&soortObjectId=BSN&objectId={bsn}&beginDatum=2024-01-01&eindDatum=2024-02-01"
            "&vertrouwelijkheid=normaal,vertrouwelijk&page=2\nOIN: 00000001234567890000".encode()
        ],
        "jwt_token": [f"Bearer {token}".encode(), b'S{"iss":"fuzz","iat":1700000000,"exp":1e308}'],
        "signed_note": [_LATEST_NOTE.encode()],
        "note_keys": [_KEY.encode().encode(), _SIGNER.encode().encode()],
        "verifier_proofs": [json.dumps(inclusion).encode() + b"\n\n\n" + b'{"proof": []}'],
        "merkle_proof": [bytes(40) + bytes(64)],
    }


def _xlsx(csv_text: str) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in csv_text.strip().split("\n"):
        sheet.append(line.split(";"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
