"""Decoding request bodies: one rule for every endpoint that reads JSON, protobuf or a compressed body
(issue 19.1, docs/deployment.md "Request limits").

The rule, in the order it is applied:
1. Size before anything is decoded: `http.bounded_body` refuses a body over its endpoint's limit with 413, by
   its Content-Length or while it streams in (R-VAL-12).
2. A compressed body (OTLP's `Content-Encoding: gzip`) is inflated at most up to the same limit: a gzip bomb
   gets 413 after `limit + 1` bytes of output, never a full inflation.
3. JSON is decoded by one parser with its limits checked while it parses: nesting deeper than
   `MAX_JSON_DEPTH` levels, invalid UTF-8, a lone UTF-16 surrogate (`"\\ud800"`), `NaN`/`Infinity` and trailing
   text are all a 400 `parse_error` on `body`, with the line and column in the reason.

No failure of a decoding step escapes as anything but a `DomainError` (400 or 413 problem+json), so no body
gets a 500 or a dropped connection; tests/fuzz holds every decoder to that contract.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

import pydantic_core

from verwerkingenlog.domain.errors import RequestTooLarge, UnsupportedMediaType, ValidationFailed

# The recursion limit of pydantic-core's JSON parser (jiter), checked while it parses: deeper input is refused
# before any Python code walks it. No register document comes near it (the VNG bodies are three levels deep,
# an OTLP export with nested attribute values perhaps ten).
MAX_JSON_DEPTH: Final = 200


def json_value(raw: bytes, name: str = "body") -> Any:
    """A JSON text as Python values, or ValidationFailed naming `name` and where the text went wrong."""
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("recursion limit exceeded"):
            reason = f"nested deeper than {MAX_JSON_DEPTH} levels ({reason.removeprefix('recursion limit exceeded ')})"
        elif "hex escape" in reason:  # jiter's words for an unpaired \ud800-\udfff escape
            reason = f"a UTF-16 surrogate escape without its pair is not a character ({reason})"
        raise ValidationFailed.one(name, "parse_error", f"The body is not acceptable JSON: {reason}.") from None


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding (none or gzip), at most `limit` bytes after inflating."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise UnsupportedMediaType("The Content-Encoding sent is not supported; send gzip or none.")  # no echo of input
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValidationFailed.one("body", "invalid", f"Not valid gzip: {exc}") from None
    if len(out) > limit:
        raise RequestTooLarge(f"The decompressed body exceeds {limit} bytes.")
    if not inflater.eof:
        raise ValidationFailed.one("body", "invalid", "Not valid gzip: the compressed data is truncated.")
    return out
