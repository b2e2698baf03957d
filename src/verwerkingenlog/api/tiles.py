"""The log as C2SP tlog-tiles (extension, docs/integrity.md §7a): `<prefix>/checkpoint`, `<prefix>/tile/<L>/<N>`,
`<prefix>/tile/leafhashes/<N>`, each with an optional `.p/<W>` for a partial tile.

What a mirror, a monitor or Tessera's tools fetch to follow the register without an account: hashes and the
signed checkpoint only, so no authentication. The prefix is the path of the checkpoint origin
(`integrity.tiles.log_prefix`: origin `log.gemeente.nl/verwerkingenlog` → `/verwerkingenlog`), so the origin line is
the log's URL prefix without the scheme, as tlog-tiles recommends. Full tiles never change (cached for a year,
`immutable`); partial tiles and the checkpoint are short-lived (tlog-tiles: the checkpoint is mutable and a log may
drop a partial tile once the full one exists).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from verwerkingenlog.api import params
from verwerkingenlog.domain.errors import NotFound
from verwerkingenlog.integrity.tiles import entry_bundle, log_prefix, parse_tile_path
from verwerkingenlog.services.integrity import NOTE_MEDIA_TYPE, Integrity

TILE_MEDIA_TYPE = "application/octet-stream"
FULL_TILE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_TILE_CACHE = "public, max-age=60"
CHECKPOINT_CACHE = "public, max-age=5"


def _integrity(request: Request) -> Integrity:
    service: Integrity = request.app.state.integrity
    return service


def _no_query(request: Request) -> None:
    c = params.Collector()
    params.reject_unknown(c, request.query_params, ())
    c.raise_if_any()


async def checkpoint(request: Request) -> Response:
    """tlog-tiles `<prefix>/checkpoint`: the latest signed checkpoint (C2SP tlog-checkpoint, signed note)."""
    _no_query(request)
    note = (await _integrity(request).latest()).note
    return Response(note.encode("utf-8"), media_type=NOTE_MEDIA_TYPE, headers={"Cache-Control": CHECKPOINT_CACHE})


async def tile(request: Request, path: str) -> Response:
    """tlog-tiles `<prefix>/tile/<L>/<N>[.p/<W>]` (hashes) and `<prefix>/tile/leafhashes/<N>[.p/<W>]` (the leaf
    hashes framed as an entry bundle; no `tile/entries/`, whose entries would be records). A path that is not the
    canonical encoding of a tile is a 404."""
    _no_query(request)
    ref = parse_tile_path(path)
    if ref is None:
        raise NotFound("Not a tile of C2SP tlog-tiles: tile/<L>/<N>[.p/<W>] or tile/leafhashes/<N>[.p/<W>].")
    hashes = await _integrity(request).tile(ref)
    body = entry_bundle(hashes) if ref.level is None else b"".join(hashes)
    cache = FULL_TILE_CACHE if ref.full else PARTIAL_TILE_CACHE
    return Response(body, media_type=TILE_MEDIA_TYPE, headers={"Cache-Control": cache})


def router(origin: str) -> APIRouter:
    """The tile routes under the prefix of ``origin`` (the register's CHECKPOINT_ORIGIN)."""
    prefix = log_prefix(origin)
    routes = APIRouter(prefix=prefix, tags=["integriteit"])
    extension = {"x-extension": True}
    routes.add_api_route("/checkpoint", checkpoint, methods=["GET"], include_in_schema=False, openapi_extra=extension)
    routes.add_api_route("/tile/{path:path}", tile, methods=["GET"], include_in_schema=False, openapi_extra=extension)
    return routes
