"""Incoming calls on a WSGI application (Flask, Django, …): the provider side of §10."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import copy_context
from typing import Any, cast

from verwerkingenlog.client.propagation.context import _afnemer
from verwerkingenlog.client.propagation.headers import HEADERS, parse_headers
from verwerkingenlog.client.propagation.provider import ProviderActivity, _problem, _report
from verwerkingenlog.client.propagation.trace import TRACEPARENT, TRACESTATE

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
