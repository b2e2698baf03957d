"""The per-entry CPU of bulk ingest, without HTTP or a database (docs/performance.md, "Bulk ingest").

`.venv/bin/python -m bench.bulk_cpu [--entries N] [--repeat R]` runs the steps `POST /verwerkingsacties/bulk`
takes for every entry - validation, the version, the rows (pseudonymisation included), the leaf record and
its hash, the result line - on the benchmark's generated data and prints the CPU time (`process_time`, so
less sensitive to other load than wall time) per step and per 1 000 entries. Meant for side-by-side runs and
for `py-spy`/`valgrind --tool=callgrind`; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bench.run import KEY, Generator
from verwerkingenlog.api import bodies
from verwerkingenlog.api.bulk import _problem
from verwerkingenlog.api.render import Renderer
from verwerkingenlog.domain import versioning
from verwerkingenlog.domain.errors import ValidationFailed
from verwerkingenlog.integrity.canonical import record_leaf_hash
from verwerkingenlog.integrity.records import actie_record
from verwerkingenlog.store.pseudonymisation import Pseudonymiser
from verwerkingenlog.store.rows import RowCodec

Step = Callable[[list[Any]], list[Any]]


def steps(codec: RowCodec, renderer: Renderer) -> list[tuple[str, Step]]:
    def validate(raw: list[Any]) -> list[Any]:
        out: list[Any] = []
        for text in raw:
            try:
                out.append(bodies.parse_post(text))
            except ValidationFailed as exc:
                out.append(_problem(exc))
        return out

    def version(parsed: list[Any]) -> list[Any]:
        new_id = versioning.random_ids()
        return [versioning.first_version(g, o, 1_764_000_000_000_000, "bench", new_id) for g, o in parsed]

    def rows(versions: list[Any]) -> list[Any]:
        for seq, v in enumerate(versions, 1):
            codec.versie_row(v)
            codec.object_rows(seq, v)
        return [replace(v, seq=seq) for seq, v in enumerate(versions, 1)]

    def leaves(stored: list[Any]) -> list[Any]:
        for v in stored:
            record_leaf_hash(actie_record(v))
        return stored

    def results(stored: list[Any]) -> list[Any]:
        return [
            {"line": n, "status": 201, "actieId": v.actie_id, "url": renderer.actie_url(v.actie_id), "leafIndex": n}
            for n, v in enumerate(stored, 1)
        ]

    return [("validate", validate), ("version", version), ("rows", rows), ("leaf", leaves), ("results", results)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    gen = Generator(args.seed, 20_000)
    raw = [json.dumps(gen.actie()).encode() for _ in range(args.entries)]
    codec = RowCodec(Pseudonymiser(KEY.encode()))
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        data: list[Any] = raw
        for name, step in steps(codec, Renderer("http://localhost/api/v1")):
            t0 = time.process_time()
            data = step(data)
            spent = time.process_time() - t0
            best[name] = min(best.get(name, spent), spent)
    total = sum(best.values())
    for name, spent in best.items():
        print(f"{name:10} {spent / args.entries * 1e6:8.1f} µs/entry  {spent / total:6.1%}")
    print(f"{'total':10} {total / args.entries * 1e6:8.1f} µs/entry  ({args.entries} entries, best of {args.repeat})")


if __name__ == "__main__":
    main()
