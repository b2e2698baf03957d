"""The contracts, served: the standard's own OAS files verbatim, the register's annotated copies
(corrections and extensions marked `x-extension: true`), and interactive documentation."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, RedirectResponse, Response

from verwerkingenlog.domain.errors import NotFound

OAS_DIR = Path(__file__).parent / "oas"
STANDARD_DIR = OAS_DIR / "standard"
DOCUMENTS = ("bewerking-api", "inzage-api", "var-api")
YAML = "application/yaml"

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


@router.get("/api/v1/openapi/{name}.yaml", include_in_schema=False)
async def register_document(name: str) -> Response:
    """The OAS file this register implements: the standard plus its documented corrections and
    extensions (each extension marked `x-extension: true`, decisions.md 5)."""
    return FileResponse(_document(OAS_DIR, name), media_type=YAML)


@router.get("/api/v1/docs", include_in_schema=False)
async def interactive_docs() -> Response:
    urls = [{"url": f"/api/v1/openapi/{n}.yaml", "name": n} for n in DOCUMENTS if (OAS_DIR / f"{n}.yaml").exists()]
    urls += [{"url": f"/api/v1/openapi/standard/{n}.yaml", "name": f"{n} (standard, verbatim)"} for n in DOCUMENTS]
    return get_swagger_ui_html(
        openapi_url=urls[0]["url"],
        title="Open Verwerkingenlog API",
        swagger_ui_parameters={"urls": urls, "layout": "StandaloneLayout"},
    )


@router.get("/", include_in_schema=False)
async def root() -> Response:
    return RedirectResponse("/api/v1/docs")
