"""Bulk ingest (extension, docs/performance.md): POST many new actions at once, as NDJSON or a JSON array.

Each entry is validated like the body of `POST /verwerkingsacties` (same rules, same invalidParams) and
answered on its own line of the result; the valid entries are stored in one transaction. With an
`Idempotency-Key` header, entry n (1-based) has the key `<key>:<n>` (docs/idempotency.md).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import msgspec
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from verwerkingenlog.api import bodies, params
from verwerkingenlog.api.auth import requires
from verwerkingenlog.api.http import bounded_body, json_response, negotiated, renderer
from verwerkingenlog.domain import idempotency
from verwerkingenlog.domain.errors import DomainError, RequestTooLarge, UnsupportedMediaType, ValidationFailed
from verwerkingenlog.domain.model import Caller
from verwerkingenlog.services import bulk
from verwerkingenlog.services.register import Register
from verwerkingenlog.services.strict import IngestPolicy
from verwerkingenlog.settings import Settings

router = APIRouter(prefix="/api/v1", dependencies=[Depends(negotiated)])

NDJSON = "application/x-ndjson"
_TYPES = {"application/json", NDJSON, "application/jsonl"}


async def _body(request: Request, settings: Settings) -> bytes:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _TYPES:
        raise UnsupportedMediaType(
            f"Send the entries as {NDJSON} (one action per line) or as an application/json array."
        )
    return await bounded_body(request, settings.bulk_max_body_bytes)


def _entries(raw: bytes, ndjson: bool) -> list[tuple[int, bytes]]:
    """(line, raw entry): NDJSON lines (blank lines skipped, numbered as in the file), or array elements."""
    if ndjson:
        return [(n, line) for n, line in enumerate(raw.split(b"\n"), 1) if line.strip()]
    try:
        items = msgspec.json.decode(raw, type=list[msgspec.Raw])
    except msgspec.DecodeError as exc:
        raise ValidationFailed.one("body", "parse_error", f"The body must be a JSON array of actions: {exc}.") from None
    except RecursionError:
        # msgspec's only depth bound is Python's recursion limit (about 1,000 levels): one rule, no 500 (api.decoding)
        raise ValidationFailed.one(
            "body", "parse_error", "The body is not acceptable JSON: nested too deeply."
        ) from None
    return [(n, bytes(item)) for n, item in enumerate(items, 1)]


_pauses = 0
_collecting = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cycle collector waits while a bulk request validates, stores and answers its entries.

    A request of 5 000 entries makes some 400 000 objects that live until it answers (versions, rows, leaf
    records, results); every collection on the way walked the ones already made, and the full ones the whole
    heap. Reference counting frees as before, cycles are collected once no bulk request is running. The
    collector is one per process, so the pause is counted across concurrent requests."""
    global _pauses, _collecting
    if _pauses == 0:
        _collecting = gc.isenabled()
        gc.disable()
    _pauses += 1
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _collecting:
            gc.enable()


def _problem(exc: DomainError) -> dict[str, Any]:
    out: dict[str, Any] = {"status": exc.status, "code": exc.code, "detail": exc.detail}
    if isinstance(exc, ValidationFailed):
        out["invalidParams"] = [{"name": p.name, "code": p.code, "reason": p.reason} for p in exc.params]
    return out


@router.post("/verwerkingsacties/bulk", openapi_extra={"x-extension": True})
async def verwerkingsacties_bulk(request: Request, caller: Caller = Depends(requires(None))) -> Response:
    """Extension: one result per entry - `201` with the stored action's `actieId`, `url` and `leafIndex`, or the
    entry's problem (`400` with `invalidParams`, `403`, `422`). The request itself answers `200`."""
    settings: Settings = request.app.state.settings
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    key = c.value(idempotency.HEADER, request.headers.get(idempotency.HEADER), idempotency.key_value)
    c.raise_if_any()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await _body(request, settings)
    lines = _entries(raw, ctype != "application/json")
    if len(lines) > settings.bulk_max_entries:
        raise RequestTooLarge(f"{len(lines)} entries; at most {settings.bulk_max_entries} per request.")
    with _gc_paused():
        return await _answer(request, caller, key, lines)


async def _answer(request: Request, caller: Caller, key: str | None, lines: list[tuple[int, bytes]]) -> Response:
    results: list[dict[str, Any] | None] = [None] * len(lines)
    entries: list[bulk.Entry] = []
    where: list[int] = []
    for pos, (line, text) in enumerate(lines):
        try:
            gegevens, objecten = bodies.parse_post(text)
        except ValidationFailed as exc:
            results[pos] = {"line": line, **_problem(exc)}
            continue
        sent = None if key is None else idempotency.IdempotencyKey(f"{key}:{line}", idempotency.fingerprint(text))
        entries.append(bulk.Entry(sent, gegevens, objecten))
        where.append(pos)
    policy: IngestPolicy = request.app.state.ingest_policy
    refusals = await policy.check_vng([e.gegevens for e in entries])  # strict ingest (issue 18.3)
    for pos, refused in zip(where, refusals, strict=True):
        if refused is not None:
            results[pos] = {"line": lines[pos][0], **_problem(refused)}
    kept = [i for i, refused in enumerate(refusals) if refused is None]
    entries, where = [entries[i] for i in kept], [where[i] for i in kept]
    register: Register = request.app.state.register
    outcomes = await bulk.ingest(register, caller, entries) if entries else []
    r = renderer(request)
    for pos, outcome in zip(where, outcomes, strict=True):
        line = lines[pos][0]
        if isinstance(outcome, DomainError):
            results[pos] = {"line": line, **_problem(outcome)}
        else:
            done: dict[str, Any] = {
                "line": line,
                "status": 201,
                "actieId": outcome.version.actie_id,
                "url": r.actie_url(outcome.version.actie_id),
                "leafIndex": outcome.leaf_index,
            }
            if outcome.replayed:
                done["replayed"] = True
            results[pos] = done
    out = [x for x in results if x is not None]
    stored = sum(1 for x in out if x["status"] == 201 and not x.get("replayed"))
    replayed = sum(1 for x in out if x.get("replayed"))
    return json_response(
        {
            "count": len(out),
            "stored": stored,
            "replayed": replayed,
            "failed": len(out) - stored - replayed,
            "results": out,
        }
    )
