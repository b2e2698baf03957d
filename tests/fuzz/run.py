"""Run the fuzz targets of tests/fuzz/targets.py with atheris (coverage-guided, libFuzzer), each for a bounded time.

    python -m tests.fuzz.run [--seconds 30] [TARGET ...]     # what `make fuzz` runs (FUZZ_SECONDS)
    python -m tests.fuzz.run --write-seeds                    # (re)write the seed corpora from tests/fuzz/targets.py

Each target runs in its own process (atheris instruments the register's modules as they are imported), starting
from its committed seeds in tests/fuzz/corpus/<target>/ and growing a working corpus in a temporary directory
(the committed corpora stay small). A crash is written to tests/fuzz/crashes/<target>/crash-<sha1>: fix it, keep
the file, and tests/test_fuzz_corpus.py replays it in the normal suite from then on. Exits 1 when any target
crashed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"


def _child(name: str, libfuzzer_args: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["verwerkingenlog"]):
        from tests.fuzz import targets
    atheris.Setup([sys.argv[0], *libfuzzer_args], targets.TARGETS[name])
    atheris.Fuzz()


def _write_seeds() -> None:
    from tests.fuzz import targets

    for name, documents in targets.seeds().items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for doc in documents:
            data = doc if isinstance(doc, bytes) else doc.encode()
            (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)
    print(f"seeds written under {CORPUS}")


def _run(name: str, seconds: int) -> tuple[bool, int, float, str]:
    """(crashed, executions, seconds taken, last lines of output) of one target."""
    crashes = CRASHES / name
    crashes.mkdir(parents=True, exist_ok=True)
    seeds = CORPUS / name
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as work:
        args = [
            f"-max_total_time={seconds}",
            "-timeout=20",
            "-rss_limit_mb=2048",
            "-max_len=16384",
            f"-artifact_prefix={crashes}/",
            work,
            str(seeds),
        ]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.run", "--child", name, "--", *args],
            capture_output=True,
            text=True,
            errors="replace",
            env={**os.environ, "PYTHONHASHSEED": "0"},
            cwd=HERE.parent.parent,
        )
        took = time.monotonic() - started
    output = done.stdout + done.stderr
    runs = re.findall(r"Done (\d+) runs", output) or re.findall(r"#(\d+)\s", output)
    executions = int(runs[-1]) if runs else 0
    crashed = done.returncode != 0
    tail = ""
    if crashed:
        lines = output.strip().splitlines()
        start = next((i for i, line in enumerate(lines) if "Uncaught Python exception" in line), len(lines) - 40)
        tail = "\n".join(lines[max(0, start) :][:60])
    return crashed, executions, took, tail


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        name = argv[1]
        rest = argv[argv.index("--") + 1 :] if "--" in argv else []
        _child(name, rest)
        return 0
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "30")))
    p.add_argument("--write-seeds", action="store_true")
    p.add_argument("targets", nargs="*")
    args = p.parse_args(argv)
    if args.write_seeds:
        _write_seeds()
        return 0
    from tests.fuzz.targets import TARGETS

    names = args.targets or sorted(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        p.error(f"unknown targets {unknown}; known: {', '.join(sorted(TARGETS))}")
    failed = []
    total = time.monotonic()
    for name in names:
        crashed, executions, took, tail = _run(name, args.seconds)
        print(f"{'CRASH' if crashed else 'ok   '} {name:<16} {executions:>9} runs in {took:5.1f} s", flush=True)
        if crashed:
            failed.append(name)
            print(tail, flush=True)
    print(
        f"fuzz: {len(names)} targets, {args.seconds} s each, {time.monotonic() - total:.0f} s in all; "
        f"crashed: {', '.join(failed) or 'none'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
