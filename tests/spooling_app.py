"""An application process for the fault tests: logs numbered entries through a BufferedLogger and
prints `spooled N` after each `log()` returned (so the test knows what was accepted), then waits
until its spool is drained (prints `drained`) and sleeps until killed.

    python -m tests.spooling_app SPOOL URL CLIENT_ID SECRET BSN FIRST COUNT
"""

from __future__ import annotations

import sys
import time

from verwerkingenlog.client import BufferedLogger, RetryPolicy, persoon, verwerking

ACTIVITY = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"


def main(argv: list[str]) -> None:
    spool, url, client_id, secret, bsn, first, count = argv
    logger = BufferedLogger(
        url,
        client_id,
        secret,
        spool_path=spool,
        backoff=RetryPolicy(base_delay=0.02, max_delay=0.2),
        idle_poll=0.02,
    )
    with verwerking(ACTIVITY, f"https://var.example.nl/{ACTIVITY}"):
        for i in range(int(first), int(first) + int(count)):
            logger.log(actie_naam="Faultproef", handeling_naam=f"nr {i}", objecten=[persoon(bsn)])
            print(f"spooled {i}", flush=True)
    while not logger.flush(1.0):
        pass
    print("drained", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1:])
