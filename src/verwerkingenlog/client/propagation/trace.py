"""W3C Trace Context beside the §10.2 headers.

Logboek Dataverwerkingen requires W3C Trace Context between applications: it is sent beside the §10.2
headers so that a chain links up in both standards. A trace id is a verwerkingId's 128 bits (docs/logboek.md).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A received `traceparent` (W3C Trace Context level 1): the caller's trace and span."""

    trace_id: str
    parent_span_id: str
    sampled: bool = True
    tracestate: str | None = None

    @property
    def verwerking_id(self) -> str:
        return trace_to_uuid(self.trace_id)


def trace_to_uuid(trace_id: str) -> str:
    t = trace_id
    return f"{t[0:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:32]}"


def parse_traceparent(value: str | None, tracestate: str | None = None) -> TraceParent | None:
    """W3C Trace Context §3.2: an invalid traceparent is ignored (never an error): version ff, all-zero ids,
    upper-case hex or a wrong length restart the trace. Future versions are read by their first four parts."""
    if not value:
        return None
    m = _TRACEPARENT.fullmatch(value.strip())
    if m is None:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    state = tracestate.strip() if tracestate and tracestate.strip() else None
    return TraceParent(trace_id, span_id, bool(int(flags, 16) & 1), state)


def new_span_id() -> str:
    return uuid.uuid4().hex[:16]
