"""Generate the synchronous client (client/sync.py) from the asynchronous one (client/aio.py).

The async client is the source; unasync (as httpcore does) removes `async`/`await` and renames the
async names to their sync twins; ruff then sorts the imports and formats the result. Usage:

    python tools/gen_sync_client.py            # write client/sync.py
    python tools/gen_sync_client.py --check    # exit 1 when client/sync.py is not what aio.py generates

`make lint` runs the check, so CI fails when someone edits sync.py by hand or forgets to regenerate it.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

import tokenize_rt  # type: ignore[import-untyped]
import unasync  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "src" / "verwerkingenlog" / "client"
SOURCE = CLIENT / "aio.py"
TARGET = CLIENT / "sync.py"
RUFF = Path(sys.executable).with_name("ruff")

# Beyond unasync's own (__aenter__, __aexit__, AsyncIterator, …): the names whose sync twin is not `Sync…`.
REPLACEMENTS = {
    "AsyncClient": "Client",  # ours, and httpx's
    "AsyncBaseTransport": "BaseTransport",
    "AsyncSleep": "Sleep",
    "aclose": "close",
    "asyncio": "time",  # asyncio.sleep -> time.sleep
}
HEADER = (
    "# Generated from aio.py by tools/gen_sync_client.py (unasync): do not edit; edit aio.py and run\n"
    "# `make sync-client`.\n"
)


def generate(source: str) -> str:
    rule = unasync.Rule("/aio/", "/sync/", additional_replacements=REPLACEMENTS)
    # unasync's token pass without its file handling (it writes next to the source, we compare too)
    tokens = list(rule._unasync_tokens(tokenize_rt.src_to_tokens(source)))
    code = HEADER + tokenize_rt.tokens_to_src(tokens)
    for args in (["check", "--fix", "--quiet", "--select", "I,F401"], ["format", "--quiet"]):
        code = subprocess.run(
            [str(RUFF), *args, "--stdin-filename", str(TARGET), "-"],
            input=code,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=args[0] == "format",
        ).stdout
    return str(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the generated file is stale")
    parser.add_argument("--target", type=Path, default=TARGET, help="the file to write or check")
    args = parser.parse_args()
    wanted = generate(SOURCE.read_text())
    if not args.check:
        args.target.write_text(wanted)
        return 0
    actual = args.target.read_text() if args.target.exists() else ""
    if actual == wanted:
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(actual.splitlines(True), wanted.splitlines(True), str(args.target), "generated")
    )
    print(f"\n{args.target} is stale: run `make sync-client` (tools/gen_sync_client.py).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
