"""What both example applications read from the environment (the same names a real application would use)."""

from __future__ import annotations

import os
from pathlib import Path

from verwerkingenlog.client import BufferedLogger


def logger(name: str, systeem: str) -> BufferedLogger:
    """The application's buffered logger: VERWERKINGENLOG_URL, _CLIENT_ID, _SECRET and _SPOOL."""
    secret = os.environ.get("VERWERKINGENLOG_SECRET")
    if not secret:
        raise SystemExit(
            f"Set VERWERKINGENLOG_SECRET (and VERWERKINGENLOG_URL, VERWERKINGENLOG_CLIENT_ID={name}): "
            f"the register prints it once at `verwerkingenlog clients add {name}`. Or run `python -m examples.demo`."
        )
    return BufferedLogger(
        os.environ.get("VERWERKINGENLOG_URL", "http://127.0.0.1:8000"),
        os.environ.get("VERWERKINGENLOG_CLIENT_ID", name),
        secret,
        spool_path=Path(os.environ.get("VERWERKINGENLOG_SPOOL", f"./data/{name}.spool")),
        defaults={"systeem": systeem},
    )
