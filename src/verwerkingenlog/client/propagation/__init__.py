"""Header propagation between consumer and provider (§10, B9177, B7259, B8157).

A consumer that calls any API processing personal data passes facts about its own processing in
HTTP headers (§10.2); the provider logs its own side and records them (§10.4). One module per concern:

- `context`: "the verwerking this code runs for" in a context variable; `verwerking(...)` (context manager
  or decorator) marks code as part of verwerking X for activity Y; the buffered logger fills a log entry
  from it (`entry_fields`);
- `headers`: the §10.2 header names and value rules, and the reading of an incoming call's headers;
- `trace`: W3C Trace Context (`traceparent`), sent beside the §10.2 headers (Logboek Dataverwerkingen);
- `chain`: the next logbook (logboek-extensie-lezen): which other organisations this application calls, and
  their read APIs, noted on every outgoing call;
- outgoing: `httpx_hooks` (httpx) and `requests_adapter` (requests, imported on its own);
- incoming: `asgi` (`PropagationMiddleware`) and `wsgi` (`PropagationWSGIMiddleware`).

Nothing here imports the register's server code: the client library stands alone.
"""

from verwerkingenlog.client.propagation.asgi import PropagationMiddleware
from verwerkingenlog.client.propagation.chain import (
    NEXT_LOGBOOK,
    configure_next_logbooks,
    next_logbook_for,
    note_outgoing,
    on_crossing,
)
from verwerkingenlog.client.propagation.context import (
    P,
    R,
    Verwerking,
    configure,
    current,
    current_afnemer,
    derived,
    entry_fields,
    outgoing_headers,
    reset,
    verwerking,
    with_verwerking,
)
from verwerkingenlog.client.propagation.headers import (
    BEWAARTERMIJN,
    HEADERS,
    OIN,
    VERTROUWELIJKHEDEN,
    VERTROUWELIJKHEID,
    VERWERKING_ID,
    VERWERKINGSACTIVITEIT_ID,
    VERWERKINGSACTIVITEIT_URL,
    Afnemer,
    InvalidHeader,
    parse_headers,
)
from verwerkingenlog.client.propagation.httpx_hooks import async_httpx_hook, httpx_hook
from verwerkingenlog.client.propagation.provider import ProviderActivity, log
from verwerkingenlog.client.propagation.trace import (
    TRACEPARENT,
    TRACESTATE,
    TraceParent,
    new_span_id,
    parse_traceparent,
    trace_to_uuid,
)
from verwerkingenlog.client.propagation.wsgi import PropagationWSGIMiddleware

__all__ = [
    "BEWAARTERMIJN",
    "HEADERS",
    "NEXT_LOGBOOK",
    "OIN",
    "TRACEPARENT",
    "TRACESTATE",
    "VERTROUWELIJKHEDEN",
    "VERTROUWELIJKHEID",
    "VERWERKINGSACTIVITEIT_ID",
    "VERWERKINGSACTIVITEIT_URL",
    "VERWERKING_ID",
    "Afnemer",
    "InvalidHeader",
    "P",
    "PropagationMiddleware",
    "PropagationWSGIMiddleware",
    "ProviderActivity",
    "R",
    "TraceParent",
    "Verwerking",
    "async_httpx_hook",
    "configure",
    "configure_next_logbooks",
    "current",
    "current_afnemer",
    "derived",
    "entry_fields",
    "httpx_hook",
    "log",
    "new_span_id",
    "next_logbook_for",
    "note_outgoing",
    "on_crossing",
    "outgoing_headers",
    "parse_headers",
    "parse_traceparent",
    "reset",
    "trace_to_uuid",
    "verwerking",
    "with_verwerking",
]
