"""The contracts, served: the standard's own OAS files verbatim, the register's annotated copies
(corrections and extensions marked `x-extension: true`), and interactive documentation.

The documentation page is Swagger UI from the `swagger-ui-bundle-v2` package, served by the register itself:
a municipality's network often has no internet, and the page must work there (it loaded from a CDN before).
Its start-up code is a static file too, so the page runs under a strict Content-Security-Policy."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from swagger_ui_bundle import swagger_ui_path

from verwerkingenlog.domain.errors import NotFound
from verwerkingenlog.settings import Settings

OAS_DIR = Path(__file__).parent / "oas"
STANDARD_DIR = OAS_DIR / "standard"
DOCUMENTS = ("bewerking-api", "inzage-api", "var-api")
YAML = "application/yaml"
STATIC_DIR = Path(__file__).parent / "static"
ASSETS_URL = "/api/v1/docs/assets"
# The files the page loads, and where they live: Swagger UI's own, and its start-up script.
ASSETS: Final = {
    "swagger-ui.css": (Path(str(swagger_ui_path)) / "swagger-ui.css", "text/css"),
    "swagger-ui-bundle.js": (Path(str(swagger_ui_path)) / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui-standalone-preset.js": (
        Path(str(swagger_ui_path)) / "swagger-ui-standalone-preset.js",
        "text/javascript",
    ),
    "favicon-32x32.png": (Path(str(swagger_ui_path)) / "favicon-32x32.png", "image/png"),
    "docs-init.js": (STATIC_DIR / "docs-init.js", "text/javascript"),
}
# Nothing but the register itself: no inline script, no other origin (Swagger UI's icons are data: URIs). Inline
# styles are allowed: Swagger UI's React components set some, and a style cannot run code.
DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

router = APIRouter()


def _document(directory: Path, name: str) -> Path:
    path = directory / f"{name}.yaml"
    if name not in DOCUMENTS or not path.exists():
        raise NotFound(f"No OpenAPI document {name!r}; available: {', '.join(DOCUMENTS)}.")
    return path


@router.get("/api/v1/openapi/standard/{name}.yaml", include_in_schema=False)
async def standard_document(name: str) -> Response:
    """The VNG standard's OAS file, byte for byte."""
    return FileResponse(_document(STANDARD_DIR, name), media_type=YAML)


# The register's documents name the deploying municipality as their contact (ADR /core/doc-openapi-contact), in
# a block of this form; the values are the API_CONTACT_* settings, written as YAML double-quoted scalars (JSON).
_CONTACT = re.compile(r"\n  contact:\n    x-extension: true\n    name: [^\n]*\n    url: [^\n]*\n    email: [^\n]*\n")


@lru_cache(maxsize=16)
def _with_contact(path: Path, name: str, url: str, email: str) -> bytes:
    """The document's text with only the contact's three values replaced, so the rest stays byte for byte the
    file (with the default settings the whole document is)."""
    text = path.read_text(encoding="utf-8")
    block = (
        f"\n  contact:\n    x-extension: true\n    name: {json.dumps(name, ensure_ascii=False)}\n"
        f"    url: {json.dumps(url, ensure_ascii=False)}\n    email: {json.dumps(email, ensure_ascii=False)}\n"
    )
    return _CONTACT.sub(lambda _m: block, text, count=1).encode("utf-8")


@router.get("/api/v1/openapi/{name}.yaml", include_in_schema=False)
async def register_document(request: Request, name: str) -> Response:
    """The OAS file this register implements: the standard plus its documented corrections and
    extensions (each extension marked `x-extension: true`, decisions.md 5), with this deployment's contact."""
    path = _document(OAS_DIR, name)
    settings: Settings = request.app.state.settings
    body = _with_contact(path, settings.api_contact_name, settings.api_contact_url, settings.api_contact_email)
    return Response(body, media_type=YAML)


@router.get("/api/v1/docs", include_in_schema=False)
async def interactive_docs() -> Response:
    urls = [{"url": f"/api/v1/openapi/{n}.yaml", "name": n} for n in DOCUMENTS if (OAS_DIR / f"{n}.yaml").exists()]
    urls += [{"url": f"/api/v1/openapi/standard/{n}.yaml", "name": f"{n} (standard, verbatim)"} for n in DOCUMENTS]
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Open Verwerkingenlog API</title>
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-urls="{escape(json.dumps(urls))}"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_URL}/swagger-ui-standalone-preset.js"></script>
<script src="{ASSETS_URL}/docs-init.js"></script>
</body>
</html>
"""
    return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})


@router.get(ASSETS_URL + "/{name}", include_in_schema=False)
async def docs_asset(name: str) -> Response:
    """Swagger UI's files (a fixed list, never a path from the request). They change only with the package
    version, so browsers may keep them for a day."""
    found = ASSETS.get(name)
    if found is None:
        raise NotFound(f"No documentation asset {name!r}.")
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/", include_in_schema=False)
async def root() -> Response:
    return RedirectResponse("/api/v1/docs")
