"""uvicorn's HTTP/1.1 protocols with a bound on the request head (docs/deployment.md, Request limits).

Why: uvicorn's httptools protocol (the one `uvicorn[standard]` picks) has no limit on the request line and headers;
a 16 MiB header was read into memory and answered 200 (issue 21.3). h11 has a limit
(`h11_max_incomplete_event_size`) but answers it with a plain 400. Both protocols here take the limit from that
same uvicorn setting (`verwerkingenlog serve` sets it to MAX_HEADER_BYTES) and answer 431 with a problem+json
body, then close the connection, before the application sees the request.

Both bound the memory a request head may take while it is being received, not its exact size: a head that arrives
complete in one read passes them. The exact limit is applied to every request by `HeadLimitMiddleware`
(api/security.py), with the same answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from verwerkingenlog.api.problems import PROBLEM_JSON, problem_body

log = logging.getLogger("verwerkingenlog.request")

DEFAULT_MAX_HEADER_BYTES = 16_384


def _limit(config: Config) -> int:
    return config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES


def _too_large_body(limit: int) -> bytes:
    log.warning("request head larger than %d bytes refused with 431", limit)
    detail = f"The request line and headers together may be at most {limit} bytes (MAX_HEADER_BYTES)."
    body = problem_body(431, "request_header_fields_too_large", "Request header fields too large.", detail)
    return json.dumps(body).encode()


class H11WithLimits(H11Protocol):
    """h11 refuses a head over `h11_max_incomplete_event_size` itself; this answers that refusal with 431."""

    def send_400_response(self, msg: str) -> None:
        buffered, _ = self.conn.trailing_data
        if self.conn.their_state is not h11.ERROR or len(buffered) <= _limit(self.config):
            super().send_400_response(msg)
            return
        body = _too_large_body(_limit(self.config))
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"connection", b"close")]
        refusal = h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large")
        self.transport.write(self.conn.send(refusal) or b"")
        self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
        self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        self.transport.close()


try:
    import httptools
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
except ImportError:  # uvicorn without [standard]: h11 only
    HttpProtocol: type[asyncio.Protocol] = H11WithLimits
else:

    class HttpToolsWithLimits(HttpToolsProtocol):
        """httptools buffers a header until it is complete, without limit: count the bytes received while the
        head is incomplete, so that memory stays within the limit plus one read."""

        def __init__(
            self,
            config: Config,
            server_state: ServerState,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            super().__init__(config, server_state, app_state, _loop)
            self.max_header_bytes = _limit(config)
            self._in_head = True  # waiting for (the rest of) a request line and headers
            self._head_bytes = 0

        def data_received(self, data: bytes) -> None:
            self._unset_keepalive_if_required()
            if self._in_head:
                self._head_bytes += len(data)
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
                return
            except httptools.HttpParserUpgrade:
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                else:
                    self._unsupported_upgrade_warning()
                return
            if self._in_head and self._head_bytes > self.max_header_bytes:
                self._send_431()

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head, self._head_bytes = True, 0
            super().on_message_complete()

        def _send_431(self) -> None:
            body = _too_large_body(self.max_header_bytes)
            head = [STATUS_LINE[431]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    HttpProtocol = HttpToolsWithLimits


PROTOCOLS = {
    "auto": "verwerkingenlog.api.transport:HttpProtocol",
    "h11": "verwerkingenlog.api.transport:H11WithLimits",
    "httptools": "verwerkingenlog.api.transport:HttpToolsWithLimits",
}
