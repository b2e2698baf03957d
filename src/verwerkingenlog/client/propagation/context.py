"""The verwerking the current code runs for, in a context variable (§10, B8157).

`verwerking(...)` (context manager or decorator) marks code as part of verwerking X for activity Y; the
outgoing integrations read `outgoing_headers()`, the incoming ones set the `Afnemer`, and the buffered
logger fills a log entry from `entry_fields()`.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec, TypeVar, cast

from verwerkingenlog.client.propagation.headers import (
    BEWAARTERMIJN,
    OIN,
    VERTROUWELIJKHEID,
    VERWERKING_ID,
    VERWERKINGSACTIVITEIT_ID,
    VERWERKINGSACTIVITEIT_URL,
    Afnemer,
    _bewaartermijn,
    _oin,
    _url,
    _uuid,
    _vertrouwelijkheid,
    present,
)
from verwerkingenlog.client.propagation.trace import TRACEPARENT, TRACESTATE, new_span_id

P = ParamSpec("P")
R = TypeVar("R")


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
        return present(
            (
                (OIN, self.oin),
                (VERWERKINGSACTIVITEIT_ID, self.verwerkingsactiviteit_id),
                (VERWERKINGSACTIVITEIT_URL, self.verwerkingsactiviteit_url),
                (VERWERKING_ID, self.verwerking_id),
                (VERTROUWELIJKHEID, self.vertrouwelijkheid),
                (BEWAARTERMIJN, self.bewaartermijn),
            )
        )

    def entry_fields(self) -> dict[str, Any]:
        """The fields of an own log entry this verwerking determines (§3.2, §10.4)."""
        out: dict[str, Any] = {}
        if self.afnemer is not None:
            out.update(self.afnemer.entry_fields())
        out.update(
            present(
                (
                    ("verwerkingId", self.verwerking_id),
                    ("verwerkingsactiviteitId", self.verwerkingsactiviteit_id),
                    ("verwerkingsactiviteitUrl", self.verwerkingsactiviteit_url),
                    ("verwerkingNaam", self.verwerking_naam),
                    ("vertrouwelijkheid", self.vertrouwelijkheid),
                    ("bewaartermijn", self.bewaartermijn),
                )
            )
        )
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


def with_verwerking(v: Verwerking) -> Token[Verwerking | None]:
    """Low-level: make `v` current (e.g. in a worker thread); undo with `reset(token)`."""
    return _current.set(v)


def reset(token: Token[Verwerking | None]) -> None:
    _current.reset(token)


def derived(v: Verwerking, **changes: Any) -> Verwerking:
    """A copy of a verwerking with some values changed (e.g. a later `bewaartermijn`)."""
    return replace(v, **changes)
