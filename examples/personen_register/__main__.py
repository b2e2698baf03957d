"""`python -m examples.personen_register` — serve the mock person registry on PORT (default 8081).

Needs VERWERKINGENLOG_URL, VERWERKINGENLOG_CLIENT_ID and VERWERKINGENLOG_SECRET of a client registered
with the register (`verwerkingenlog clients add personen-register`)."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from wsgiref.simple_server import WSGIRequestHandler, make_server

from examples.personen_register.app import make_app
from examples.settings import logger as make_logger


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


def main() -> None:
    logger = make_logger("personen-register", "PersonenRegister (voorbeeld) 1.0")
    port = int(os.environ.get("PORT", "8081"))
    server = make_server("127.0.0.1", port, make_app(logger), handler_class=QuietHandler)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        logger.close()  # ship what can be shipped; the rest stays in the spool for the next start
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"personen-register listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        logger.close()


if __name__ == "__main__":
    main()
