"""`python -m examples.parkeervergunning BSN KENTEKEN` — apply for a parking permit; prints the result as JSON.

Needs VERWERKINGENLOG_URL, VERWERKINGENLOG_CLIENT_ID, VERWERKINGENLOG_SECRET and PERSONEN_URL (the
person registry, default http://127.0.0.1:8081)."""

from __future__ import annotations

import json
import os
import sys

from examples.parkeervergunning.app import Parkeervergunningen
from examples.settings import logger as make_logger


def main(argv: list[str]) -> None:
    bsn, kenteken = argv if argv else ("999990019", "AB-123-C")
    logger = make_logger("parkeervergunning", "ParkeerApp (voorbeeld) 1.0")
    try:
        app = Parkeervergunningen(logger, os.environ.get("PERSONEN_URL", "http://127.0.0.1:8081"))
        print(json.dumps(app.aanvragen(bsn, kenteken)), flush=True)
    finally:
        logger.close(flush_timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
