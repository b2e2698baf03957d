"""Structured logs for operators: one JSON object per line, with the request id, and never a BSN or a token.

Why a redaction filter on top of careful call sites: a register of processings of personal data must not
become a second, unprotected copy of them. Log lines go to log shippers, tickets and screenshots; a BSN
echoed in an error detail or a bearer token in a debugging line would leak exactly what the register
pseudonymises (R-PRIV-1). So every record passes `Redactor` before it is formatted, whatever logged it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any

# The id of the request being handled (X-Request-ID, set by the request middleware), on every log line.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What must never reach a log line:
# - BSN-like numbers: a standalone run of 8 to 11 digits (a BSN has 9, or 8 when a leading zero was lost;
#   test persons use 11). Longer runs (OINs: 20 digits, timestamps in µs: 16) are not BSNs, nor are digits
#   inside a word (hex ids such as request ids and UUIDs).
# - tokens: JWTs (three base64url parts whose first decodes to a JSON object: whatever its spacing, so not only
#   those starting `eyJ`), bearer/basic credentials of any length that look like one (a digit or a symbol in it,
#   or 12 characters or more: "bearer token" stays readable), whatever follows `Authorization:`, and
#   `secret=`/`token=`/`password=` style assignments (query strings, JSON).
BSN_LIKE = re.compile(r"(?<![\w.])\d{8,11}(?![\w.])")
JWT_LIKE = re.compile(r"(?<![\w-])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+((?=[\w.~+/=-]*[\d_.~+/=-])[\w.~+/=-]{4,}|[\w.~+/=-]{12,})")
AUTHORIZATION = re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?>(?:(bearer|basic)\s+)?)(?![<\[])[^\s\"',]+")
SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(secret|token|password|client_secret|access_token|id_token|refresh_token|api_?key)"
    r"(\s*=\s*|\"\s*:\s*\")[^\s\",&]+"
)

REDACTED = "[redacted]"


def _is_jwt(match: re.Match[str]) -> bool:
    """A JWT's first part is base64url of a JSON object (RFC 7519 §7.2): only then is `a.b.c` a token and not a
    dotted name."""
    head = match.group(0).split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (ValueError, binascii.Error):
        return False
    return decoded.lstrip(b" \t\r\n").startswith(b"{")


def redact_tokens(text: str) -> str:
    """`text` with every JWT, credential and secret assignment replaced by `[redacted]`."""
    text = JWT_LIKE.sub(lambda m: REDACTED if _is_jwt(m) else m.group(0), text)
    text = AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{REDACTED}", text)
    text = CREDENTIAL.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def holds_token(text: str) -> bool:
    """Whether `text` still holds something `redact_tokens` would remove (the test suite's log scan uses this)."""
    return redact_tokens(text) != text


def redact(text: str) -> str:
    """`text` with every BSN-like number, JWT, credential and secret assignment replaced by `[redacted]`."""
    return BSN_LIKE.sub(REDACTED, redact_tokens(text))


class Redactor(logging.Filter):
    """Rewrites a record's message (arguments merged in) and its exception text, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is still logged, as its template
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # the redacted exc_text is what is printed
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
# uvicorn's `color_message` is its message with terminal colour codes: not for a JSON line.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            # Redacted here as well as by the handler's Redactor: the formatter may be used on its own (a log
            # configuration of an embedding application) and must not be the place a token gets through.
            "message": redact(record.getMessage()),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = redact(rid)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else redact(str(value))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal (LOG_FORMAT=text), with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        rid = request_id.get()
        return f"{line} [request_id={redact(rid)}]" if rid else line


def handler(fmt: str, stream: Any = None) -> logging.Handler:
    """A stream handler with the register's redaction and the chosen format (`json` or `text`)."""
    h = logging.StreamHandler(stream or sys.stderr)
    h.addFilter(Redactor())
    h.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return h


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Route every logger (the register's, uvicorn's, SQLAlchemy's) through one redacting handler on the root
    logger. uvicorn is started with `log_config=None` so that its loggers propagate here."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(fmt))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    # The register logs each request itself (route template, status, duration, request id): uvicorn's
    # access line would repeat it with the raw path and query string.
    logging.getLogger("uvicorn.access").disabled = True
    # aiosqlite's DEBUG lines hold every SQL statement with its parameters (client secrets, pseudonyms): never
    # logged, whatever LOG_LEVEL says.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
