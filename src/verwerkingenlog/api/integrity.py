"""Integrity API (extension, docs/integrity.md §7): signed checkpoints, published keys, RFC 9162 proofs.

Everything here is hashes, sizes and signatures: no personal data. So the checkpoints, the keys, consistency
proofs and inclusion proofs *by leaf index* are public (an auditor or a citizen's app needs no account).
An inclusion proof *by actieId* needs a registered client and applies the visibility of reading that action
(R-GETS-4): an action whose current vertrouwelijkheid is not `normaal` is provable by actieId only for
read:confidential; for anyone else it is answered exactly like an unknown actieId (404, same body), because
the proof would tell that it exists (issue 19.2). By leaf index it stays public: hashes only.

`LeafIndexMiddleware` adds the `Leaf-Index` header (extension) to every POST, PUT, PATCH and DELETE response
that stored versions: the leaf index of each, comma-separated, so that a client can ask for its proof later.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verwerkingenlog.api import params
from verwerkingenlog.api.auth import authenticated
from verwerkingenlog.api.http import json_response, paginated
from verwerkingenlog.api.problems import domain_error_response
from verwerkingenlog.domain import values
from verwerkingenlog.domain.errors import InvalidValue, NotYetCheckpointed, ValidationFailed
from verwerkingenlog.domain.pagination import page_beyond_end
from verwerkingenlog.domain.values import render_registratie
from verwerkingenlog.integrity.checkpoint import VerifierKey
from verwerkingenlog.integrity.records import logboekregel_record
from verwerkingenlog.services.integrity import NOTE_MEDIA_TYPE, Integrity, PublishedKey
from verwerkingenlog.store.integrity import StoredCheckpoint, leaf_receipt

LEAF_INDEX_HEADER = "Leaf-Index"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

router = APIRouter(prefix="/api/v1/integriteit", tags=["integriteit"])


class LeafIndexMiddleware:
    """Extension header `Leaf-Index` on writes: the committed leaves of the request, in order."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        with leaf_receipt() as written:

            async def send_with_leaves(message: Message) -> None:
                if message["type"] == "http.response.start" and written:
                    MutableHeaders(scope=message)[LEAF_INDEX_HEADER] = ",".join(str(i) for i in written)
                await send(message)

            await self.app(scope, receive, send_with_leaves)


def _integrity(request: Request) -> Integrity:
    service: Integrity = request.app.state.integrity
    return service


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _number(c: params.Collector, q: QueryParams, name: str) -> int | None:
    found = q.getlist(name)
    if len(found) > 1:
        c.add(name, "invalid", "This query parameter may occur only once.")
        return None
    return c.value(name, found[0] if found else None, _whole)


def _whole(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidValue("invalid", "Must be a whole number (0 or more).")
    return int(raw)


def _text(body: str) -> Response:
    return Response(body.encode("utf-8"), media_type=NOTE_MEDIA_TYPE)


def _checkpoint(cp: StoredCheckpoint) -> dict[str, Any]:
    return {
        "id": cp.id,
        "treeSize": cp.tree_size,
        "rootHash": _b64(cp.root_hash),
        "tijdstip": render_registratie(cp.created_us),
        "checkpoint": cp.note,
    }


def _key(k: PublishedKey) -> dict[str, Any]:
    parsed = VerifierKey.parse(k.vkey)
    return {
        "vkey": k.vkey,
        "keyId": f"{parsed.key_id:08x}",
        "status": k.status,
        "sinds": render_registratie(k.sinds_us),
        "tot": None if k.tot_us is None else render_registratie(k.tot_us),
    }


def _not_yet(exc: NotYetCheckpointed) -> Response:
    response = domain_error_response(exc)
    if exc.retry_after_seconds:
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


@router.get("/checkpoint", openapi_extra={"x-extension": True})
async def latest_checkpoint(request: Request) -> Response:
    """The latest signed checkpoint: a C2SP signed note, text/plain (public)."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    c.raise_if_any()
    return _text((await _integrity(request).latest()).note)


@router.get("/checkpoints", openapi_extra={"x-extension": True})
async def list_checkpoints(request: Request) -> Response:
    """Every checkpoint ever signed, oldest first, paginated (public)."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, params.PAGINATION)
    page = params.page_of(c, request.query_params)
    c.raise_if_any()
    count, found = await _integrity(request).checkpoints(page.offset, page.size)
    problem = page_beyond_end(page, count)
    if problem is not None:
        raise ValidationFailed([problem])
    return paginated(request, count, page, [_checkpoint(cp) for cp in found])


@router.get("/sleutels", openapi_extra={"x-extension": True})
async def keys(request: Request) -> Response:
    """The published verifier keys, in use and replaced (public): JSON, or one vkey per line for
    `Accept: text/plain`."""
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    c.raise_if_any()
    service = _integrity(request)
    published = await service.published_keys()
    accept = request.headers.get("accept", "")
    if "text/plain" in accept and "json" not in accept:
        ordered = sorted(published, key=lambda k: k.status != "actief")
        return _text("".join(k.vkey + "\n" for k in ordered))
    return json_response({"origin": service.origin, "sleutels": [_key(k) for k in published]})


@router.get("/bewijs/inclusie", openapi_extra={"x-extension": True})
async def inclusion(request: Request) -> Response:
    """RFC 9162 §2.1.3: inclusion proof of one stored version, by `actieId` (a registered client) or by
    `leafIndex` (public), against the latest checkpoint or the one of `treeSize`."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, ("actieId", "leafIndex", "treeSize"))
    raw_id = q.getlist("actieId")
    actie_id = c.value("actieId", raw_id[0], values.uuid_value) if len(raw_id) == 1 else None
    leaf_index = _number(c, q, "leafIndex")
    tree_size = _number(c, q, "treeSize")
    if len(raw_id) > 1:
        c.add("actieId", "invalid", "This query parameter may occur only once.")
    if not raw_id and leaf_index is None and "leafIndex" not in q:
        c.add("actieId", "required", "Give actieId or leafIndex.")
    if raw_id and "leafIndex" in q:
        c.add("leafIndex", "invalid", "Give actieId or leafIndex, not both.")
    caller_scopes: frozenset[str] = frozenset()
    if raw_id:
        caller_scopes = (await authenticated(request)).scopes
    c.raise_if_any()
    try:
        proof = await _integrity(request).inclusion(leaf_index, actie_id, tree_size, caller_scopes)
    except NotYetCheckpointed as exc:
        return _not_yet(exc)
    return json_response(
        {
            "leafIndex": proof.leaf_index,
            "treeSize": proof.tree_size,
            "leafHash": _b64(proof.leaf_hash),
            "proof": [_b64(h) for h in proof.proof],
            "checkpoint": proof.checkpoint.note,
            "type": proof.kind,
            "volgnummer": proof.ref,
        }
    )


@router.get("/logboekregel", openapi_extra={"x-extension": True})
async def logboekregel(request: Request) -> Response:
    """The record (docs/integrity.md §2) of the Logius fields an OTLP entry keeps, by `leafIndex` or by an
    `actieId` of its action, with its leaf index: what the standalone verifier hashes. Only for
    read:confidential, like the version history (it holds the span's resource and attributes)."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, ("actieId", "leafIndex"))
    raw_id = q.getlist("actieId")
    actie_id = c.value("actieId", raw_id[0], values.uuid_value) if len(raw_id) == 1 else None
    leaf_index = _number(c, q, "leafIndex")
    if len(raw_id) > 1:
        c.add("actieId", "invalid", "This query parameter may occur only once.")
    if not raw_id and "leafIndex" not in q:
        c.add("actieId", "required", "Give actieId or leafIndex.")
    if raw_id and "leafIndex" in q:
        c.add("leafIndex", "invalid", "Give actieId or leafIndex, not both.")
    caller = await authenticated(request)
    c.raise_if_any()
    index, entry = await _integrity(request).logboekregel(caller.scopes, leaf_index, actie_id)
    return json_response({"leafIndex": index, "record": logboekregel_record(entry)})


@router.get("/bewijs/consistentie", openapi_extra={"x-extension": True})
async def consistency(request: Request) -> Response:
    """RFC 9162 §2.1.4: proof that the tree of size `tot` (default: the latest checkpoint's) extends the tree
    of size `van` (public)."""
    c = params.Collector()
    q = request.query_params
    params.reject_unknown(c, q, ("van", "tot"))
    van = _number(c, q, "van")
    tot = _number(c, q, "tot")
    if "van" not in q:
        c.add("van", "required", "This query parameter is required.")
    c.raise_if_any()
    assert van is not None
    try:
        proof = await _integrity(request).consistency(van, tot)
    except NotYetCheckpointed as exc:
        return _not_yet(exc)
    return json_response({"van": proof.van, "tot": proof.tot, "proof": [_b64(h) for h in proof.proof]})
