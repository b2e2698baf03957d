"""Header propagation between consumer and provider (§10, B9177, B7259, B8157).

A consumer that calls any API processing personal data passes facts about its own processing in
HTTP headers (§10.2); the provider logs its own side and records them (§10.4). This module keeps
"the verwerking this code runs for" in a context variable, so that:

- `verwerking(...)` (context manager or decorator) marks code as part of verwerking X for activity Y;
- the httpx hooks (and `propagation_requests` for requests) add the §10.2 headers to outgoing calls;
- `PropagationMiddleware` (ASGI) and `PropagationWSGIMiddleware` read them on incoming calls;
- the buffered logger fills a log entry from the context (`entry_fields`).

Nothing here imports the register's server code: the client library stands alone.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar, Token, copy_context
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("verwerkingenlog.client.propagation")

P = ParamSpec("P")
R = TypeVar("R")

# §10.2 header names (AMB-32); HTTP matches them case-insensitively, and so does this module.
OIN = "OIN"
VERWERKINGSACTIVITEIT_ID = "VerwerkingsactiviteitId"
VERWERKINGSACTIVITEIT_URL = "VerwerkingsactiviteitUrl"
VERWERKING_ID = "VerwerkingId"
VERTROUWELIJKHEID = "Vertrouwelijkheid"
BEWAARTERMIJN = "Bewaartermijn"
HEADERS = (OIN, VERWERKINGSACTIVITEIT_ID, VERWERKINGSACTIVITEIT_URL, VERWERKING_ID, VERTROUWELIJKHEID, BEWAARTERMIJN)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OIN = re.compile(r"^[0-9]{20}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"^P(?:{_NUM}W|(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)$", re.ASCII
)
VERTROUWELIJKHEDEN = ("normaal", "vertrouwelijk", "opgeheven")
# W3C Trace Context, required between applications by Logboek Dataverwerkingen: sent beside the §10.2 headers
# so that a chain links up in both standards. A trace id is a verwerkingId's 128 bits (docs/logboek.md).
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


class InvalidHeader(ValueError):
    """A propagated header whose value breaks its format (§4.6 applies to propagated headers too)."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"{header}: {reason}")
        self.header = header
        self.reason = reason


def _uuid(header: str, value: str) -> str:
    if not _UUID.fullmatch(value):
        raise InvalidHeader(header, "must be a UUID")
    return value.lower()


def _oin(header: str, value: str) -> str:
    if not _OIN.fullmatch(value):
        raise InvalidHeader(header, "must be an OIN: exactly 20 digits")
    return value


def _url(header: str, value: str) -> str:
    if len(value) > 2042 or not _URI.fullmatch(value):
        raise InvalidHeader(header, "must be an absolute URI of at most 2042 characters")
    return value


def _vertrouwelijkheid(header: str, value: str) -> str:
    """R-VAL-8 / AMB-07: case-insensitive (the standard's own examples write `Normaal`), lowercase out."""
    if value.lower() not in VERTROUWELIJKHEDEN:
        raise InvalidHeader(header, "must be one of normaal, vertrouwelijk, opgeheven")
    return value.lower()


def _bewaartermijn(header: str, value: str) -> str:
    """§10.4 / AMB-08: an ISO 8601 duration, or — in this header only — a bare positive integer of years."""
    if value.isascii() and value.isdigit() and int(value) > 0:
        return f"P{int(value)}Y"
    if value in ("P", "PT") or not _DURATION.fullmatch(value):
        raise InvalidHeader(header, "must be an ISO 8601 duration such as P10Y (or a whole number of years)")
    return value


_RULES: dict[str, Callable[[str, str], str]] = {
    OIN: _oin,
    VERWERKINGSACTIVITEIT_ID: _uuid,
    VERWERKINGSACTIVITEIT_URL: _url,
    VERWERKING_ID: _uuid,
    VERTROUWELIJKHEID: _vertrouwelijkheid,
    BEWAARTERMIJN: _bewaartermijn,
}


@dataclass(frozen=True, slots=True)
class Afnemer:
    """What a consumer told about its processing in the §10.2 headers of an incoming call."""

    oin: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    verwerking_id: str | None = None
    vertrouwelijkheid: str | None = None
    bewaartermijn: str | None = None
    trace: TraceParent | None = None

    def entry_fields(self) -> dict[str, str]:
        """§10.4: the consumer's facts in the provider's own log entry. A consumer that sent only a
        traceparent (an OpenTelemetry application) names its verwerking by the trace id."""
        out: dict[str, str] = {}
        if self.verwerking_id is None and self.trace is not None:
            out["verwerkingIdAfnemer"] = self.trace.verwerking_id
        if self.oin is not None:
            out["soortAfnemerId"] = "OIN"
            out["afnemerId"] = self.oin
        for key, value in (
            ("verwerkingsactiviteitIdAfnemer", self.verwerkingsactiviteit_id),
            ("verwerkingsactiviteitUrlAfnemer", self.verwerkingsactiviteit_url),
            ("verwerkingIdAfnemer", self.verwerking_id),
            ("vertrouwelijkheid", self.vertrouwelijkheid),
            ("bewaartermijn", self.bewaartermijn),
        ):
            if value is not None:
                out[key] = value
        return out


def parse_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[Afnemer, list[InvalidHeader]]:
    """Read the §10.2 headers (names case-insensitive). Invalid values are returned as problems and
    left out of the `Afnemer`, so a caller can decide between rejecting (400) and logging what is valid."""
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    trace_headers = {
        name.lower(): value for name, value in reversed(items) if name.lower() in (TRACEPARENT, TRACESTATE)
    }
    found: dict[str, str] = {}
    lower = {h.lower(): h for h in HEADERS}
    for name, value in items:
        canonical = lower.get(name.lower())
        if canonical is not None and canonical not in found:
            found[canonical] = value.strip()
    values: dict[str, str | None] = {}
    problems: list[InvalidHeader] = []
    for header, rule in _RULES.items():
        raw = found.get(header)
        if raw is None or raw == "":
            values[header] = None
            continue
        try:
            values[header] = rule(header, raw)
        except InvalidHeader as exc:
            problems.append(exc)
            values[header] = None
    afnemer = Afnemer(
        oin=values[OIN],
        verwerkingsactiviteit_id=values[VERWERKINGSACTIVITEIT_ID],
        verwerkingsactiviteit_url=values[VERWERKINGSACTIVITEIT_URL],
        verwerking_id=values[VERWERKING_ID],
        vertrouwelijkheid=values[VERTROUWELIJKHEID],
        bewaartermijn=values[BEWAARTERMIJN],
        trace=parse_traceparent(trace_headers.get(TRACEPARENT), trace_headers.get(TRACESTATE)),
    )
    return afnemer, problems


@dataclass(frozen=True, slots=True)
class Verwerking:
    """The processing the current code runs for. `verwerking_id` is always set (B8157: every
    processing has its own UUID). `afnemer` is set on a provider when the call came with headers."""

    verwerking_id: str
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    vertrouwelijkheid: str = "normaal"
    bewaartermijn: str | None = None
    oin: str | None = None
    verwerking_naam: str | None = None
    afnemer: Afnemer | None = None
    trace_id: str | None = None  # the trace this verwerking continues; None: its own (the verwerkingId's bits)
    span_id: str = field(default_factory=new_span_id)
    tracestate: str | None = None

    @property
    def traceparent(self) -> str:
        """W3C Trace Context: this verwerking as the parent of the calls it makes (always sampled: Logboek
        Dataverwerkingen forbids sampling)."""
        trace = self.trace_id or self.verwerking_id.replace("-", "").lower()
        return f"00-{trace}-{self.span_id}-01"

    def trace_headers(self) -> dict[str, str]:
        """`traceparent` (and `tracestate` when one was received), so that OpenTelemetry applications
        downstream link up (Logboek Dataverwerkingen requires W3C Trace Context between applications)."""
        out = {TRACEPARENT: self.traceparent}
        if self.tracestate:
            out[TRACESTATE] = self.tracestate
        return out

    def headers(self) -> dict[str, str]:
        """§10.2/§10.3: the headers for an outgoing call; absent values are left out."""
        out: dict[str, str] = {}
        for header, value in (
            (OIN, self.oin),
            (VERWERKINGSACTIVITEIT_ID, self.verwerkingsactiviteit_id),
            (VERWERKINGSACTIVITEIT_URL, self.verwerkingsactiviteit_url),
            (VERWERKING_ID, self.verwerking_id),
            (VERTROUWELIJKHEID, self.vertrouwelijkheid),
            (BEWAARTERMIJN, self.bewaartermijn),
        ):
            if value is not None:
                out[header] = value
        return out

    def entry_fields(self) -> dict[str, Any]:
        """The fields of an own log entry this verwerking determines (§3.2, §10.4)."""
        out: dict[str, Any] = {}
        if self.afnemer is not None:
            out.update(self.afnemer.entry_fields())
        for key, value in (
            ("verwerkingId", self.verwerking_id),
            ("verwerkingsactiviteitId", self.verwerkingsactiviteit_id),
            ("verwerkingsactiviteitUrl", self.verwerkingsactiviteit_url),
            ("verwerkingNaam", self.verwerking_naam),
            ("vertrouwelijkheid", self.vertrouwelijkheid),
            ("bewaartermijn", self.bewaartermijn),
        ):
            if value is not None:
                out[key] = value
        return out


_current: ContextVar[Verwerking | None] = ContextVar("verwerkingenlog_verwerking", default=None)
_afnemer: ContextVar[Afnemer | None] = ContextVar("verwerkingenlog_afnemer", default=None)
_defaults: dict[str, str | None] = {"oin": None}


def configure(oin: str | None = None) -> None:
    """Set the organisation's own OIN once (sent as the `OIN` header, §10.2, unless a verwerking names one)."""
    _defaults["oin"] = None if oin is None else _oin(OIN, oin)


def current() -> Verwerking | None:
    """The verwerking the calling code runs for, if any."""
    return _current.get()


def current_afnemer() -> Afnemer | None:
    """The consumer's facts of the incoming call being handled, if any (set by the middleware)."""
    return _afnemer.get()


def outgoing_headers() -> dict[str, str]:
    """The §10.2 headers and W3C Trace Context for a call made now: empty outside any verwerking."""
    v = _current.get()
    return {} if v is None else {**v.headers(), **v.trace_headers()}


def entry_fields() -> dict[str, Any]:
    """The log-entry fields determined by the current context (own verwerking and/or afnemer)."""
    v = _current.get()
    if v is not None:
        return v.entry_fields()
    a = _afnemer.get()
    return {} if a is None else a.entry_fields()


class verwerking:
    """Marks code as running for one verwerking of one verwerkingsactiviteit.

    As a context manager it yields the `Verwerking`; as a decorator every call is its own verwerking
    (a new `verwerking_id` per call unless one is given). When a consumer's headers arrived (provider
    side), the consumer's `vertrouwelijkheid` and `bewaartermijn` are taken over unless given (§10.4).
    """

    def __init__(
        self,
        verwerkingsactiviteit_id: str | None = None,
        verwerkingsactiviteit_url: str | None = None,
        *,
        verwerking_id: str | None = None,
        vertrouwelijkheid: str | None = None,
        bewaartermijn: str | None = None,
        oin: str | None = None,
        verwerking_naam: str | None = None,
    ) -> None:
        self._args: dict[str, Any] = {
            "verwerkingsactiviteit_id": None
            if verwerkingsactiviteit_id is None
            else _uuid("verwerkingsactiviteit_id", verwerkingsactiviteit_id),
            "verwerkingsactiviteit_url": None
            if verwerkingsactiviteit_url is None
            else _url("verwerkingsactiviteit_url", verwerkingsactiviteit_url),
            "verwerking_id": None if verwerking_id is None else _uuid("verwerking_id", verwerking_id),
            "vertrouwelijkheid": None
            if vertrouwelijkheid is None
            else _vertrouwelijkheid("vertrouwelijkheid", vertrouwelijkheid),
            "bewaartermijn": None if bewaartermijn is None else _bewaartermijn("bewaartermijn", bewaartermijn),
            "oin": None if oin is None else _oin("oin", oin),
            "verwerking_naam": verwerking_naam,
        }
        self._tokens: list[Token[Verwerking | None]] = []

    def _build(self) -> Verwerking:
        a = self._args
        afnemer = _afnemer.get()
        return Verwerking(
            verwerking_id=a["verwerking_id"] or str(uuid.uuid4()),
            verwerkingsactiviteit_id=a["verwerkingsactiviteit_id"],
            verwerkingsactiviteit_url=a["verwerkingsactiviteit_url"],
            vertrouwelijkheid=a["vertrouwelijkheid"]
            or (afnemer.vertrouwelijkheid if afnemer is not None else None)
            or "normaal",
            bewaartermijn=a["bewaartermijn"] or (afnemer.bewaartermijn if afnemer is not None else None),
            oin=a["oin"] or _defaults["oin"],
            verwerking_naam=a["verwerking_naam"],
            afnemer=afnemer,
            trace_id=afnemer.trace.trace_id if afnemer is not None and afnemer.trace is not None else None,
            tracestate=afnemer.trace.tracestate if afnemer is not None and afnemer.trace is not None else None,
        )

    def __enter__(self) -> Verwerking:
        v = self._build()
        self._tokens.append(_current.set(v))
        return v

    def __exit__(self, *_exc: object) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> Verwerking:
        return self.__enter__()

    async def __aexit__(self, *_exc: object) -> None:
        self.__exit__()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):
            async_fn = cast(Callable[P, Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                with self._clone():
                    return await async_fn(*args, **kwargs)

            return cast(Callable[P, R], run_async)

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._clone():
                return fn(*args, **kwargs)

        return run

    def _clone(self) -> verwerking:
        """A decorated function's calls may run concurrently: each gets its own instance."""
        clone = object.__new__(verwerking)
        clone._args = dict(self._args)
        clone._tokens = []
        return clone


# -- outgoing: httpx ---------------------------------------------------------------------------


def _add_headers(headers: Any) -> None:
    for name, value in outgoing_headers().items():
        if name not in headers:  # an explicitly set header wins
            headers[name] = value


def httpx_hook(request: httpx.Request) -> None:
    """httpx request event hook: `httpx.Client(event_hooks={"request": [httpx_hook]})`."""
    _add_headers(request.headers)


async def async_httpx_hook(request: httpx.Request) -> None:
    """The same for `httpx.AsyncClient(event_hooks={"request": [async_httpx_hook]})`."""
    _add_headers(request.headers)


# -- incoming: ASGI and WSGI ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderActivity:
    """The provider's own activity: with it, the middleware runs every request as its own verwerking."""

    verwerkingsactiviteit_id: str
    verwerkingsactiviteit_url: str | None = None
    oin: str | None = None
    verwerking_naam: str | None = None

    def verwerking(self) -> verwerking:
        return verwerking(
            self.verwerkingsactiviteit_id,
            self.verwerkingsactiviteit_url,
            oin=self.oin,
            verwerking_naam=self.verwerking_naam,
        )


def _problem(problems: list[InvalidHeader]) -> bytes:
    body = {
        "type": "about:blank",
        "code": "invalid",
        "title": "Invalid input.",
        "status": 400,
        "detail": "A propagated verwerkingenlogging header (§10.2) is invalid.",
        "instance": f"urn:uuid:{uuid.uuid4()}",
        "invalidParams": [{"name": p.header, "code": "invalid", "reason": p.reason} for p in problems],
    }
    return json.dumps(body).encode()


def _report(problems: list[InvalidHeader]) -> None:
    for p in problems:
        log.warning("ignored invalid propagated header %s", p)


class PropagationMiddleware:
    """ASGI middleware for a provider: reads the §10.2 headers of every HTTP request.

    Valid values become `current_afnemer()`; with `activity`, each request also runs inside its own
    `verwerking` (new verwerking_id, the consumer's vertrouwelijkheid/bewaartermijn, §10.4). Invalid values
    are logged and ignored, or, with `strict=True`, answered with a 400 problem+json naming the header.
    """

    def __init__(self, app: Any, activity: ProviderActivity | None = None, strict: bool = False) -> None:
        self.app = app
        self.activity = activity
        self.strict = strict

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        afnemer, problems = parse_headers(raw)
        if problems and self.strict:
            body = _problem(problems)
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(body))],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        _report(problems)
        token = _afnemer.set(afnemer)
        try:
            if self.activity is None:
                await self.app(scope, receive, send)
            else:
                with self.activity.verwerking():
                    await self.app(scope, receive, send)
        finally:
            _afnemer.reset(token)


_ENVIRON_KEYS = {"HTTP_" + h.upper(): h for h in (*HEADERS, TRACEPARENT, TRACESTATE)}


class PropagationWSGIMiddleware:
    """WSGI middleware for a provider; the same behaviour as `PropagationMiddleware`.

    The application (and the iteration of its response) runs in a copied context, so the
    verwerking is also current while a streamed response is produced."""

    def __init__(self, app: Any, activity: ProviderActivity | None = None, strict: bool = False) -> None:
        self.app = app
        self.activity = activity
        self.strict = strict

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raw = [(_ENVIRON_KEYS[k], str(v)) for k, v in environ.items() if k in _ENVIRON_KEYS]
        afnemer, problems = parse_headers(raw)
        if problems and self.strict:
            body = _problem(problems)
            start_response(
                "400 Bad Request",
                [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        _report(problems)
        ctx = copy_context()

        def call() -> Iterable[bytes]:
            _afnemer.set(afnemer)
            if self.activity is not None:
                self.activity.verwerking().__enter__()  # lives as long as this copied context
            return cast(Iterable[bytes], self.app(environ, start_response))

        result = ctx.run(call)
        return _InContext(ctx, result)


class _InContext:
    """Iterates a WSGI response inside the request's context (PEP 3333: close() must be passed on)."""

    def __init__(self, ctx: Any, result: Iterable[bytes]) -> None:
        self.ctx = ctx
        self.result = result
        self._it: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._it is None:
            self._it = iter(self.result)
        return cast(bytes, self.ctx.run(next, self._it))

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if close is not None:
            self.ctx.run(close)


def with_verwerking(v: Verwerking) -> Token[Verwerking | None]:
    """Low-level: make `v` current (e.g. in a worker thread); undo with `reset(token)`."""
    return _current.set(v)


def reset(token: Token[Verwerking | None]) -> None:
    _current.reset(token)


def derived(v: Verwerking, **changes: Any) -> Verwerking:
    """A copy of a verwerking with some values changed (e.g. a later `bewaartermijn`)."""
    return replace(v, **changes)
