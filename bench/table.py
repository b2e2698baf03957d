"""Markdown tables of a results file (for docs/performance.md and the README): `python -m bench.table FILE`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _m(x: dict[str, Any]) -> str:
    rate = f"{x['per_second']:,.0f}/s" if x["per_second"] else "sequential"
    return f"{rate} | {x['p50_ms']:.1f} | {x['p95_ms']:.1f} | {x['p99_ms']:.1f}"


def results_table(r: dict[str, Any]) -> str:
    rows = ["| Measurement | Register | p50 ms | p95 ms | p99 ms | Anchor | Ratio |", "|---|---|---|---|---|---|---|"]
    pg = r.get("postgresql", {})
    for c, p in pg.get("post", {}).items():
        a = p["anchor_asyncpg"]
        rows.append(
            f"| PostgreSQL POST, {c} clients | {_m(p['register'])} | asyncpg {a['per_second']:,.0f}/s "
            f"(p99 {a['p99_ms']:.1f} ms) | **{p['ratio']}×** |"
        )
    for c, f in pg.get("floor", {}).items():
        rows.append(f"| HTTP floor (trivial GET), {c} clients | {_m(f)} | | |")
    if "bulk" in pg:
        b = pg["bulk"]
        rows.append(
            f"| PostgreSQL bulk ingest | {b['register']['per_second']:,.0f}/s | | | | "
            f"COPY {b['anchor_copy']['per_second']:,.0f}/s | **{b['ratio']}×** |"
        )
    for volume, reads in pg.get("reads", {}).items():
        n = int(reads.get("stored_versions", {}).get("count", volume))
        rows.append(f"| Inzage, one citizen, {n:,} versions stored | {_m(reads['inzage_citizen_page'])} | | |")
        rows.append(f"| GET action by id, {n:,} versions stored | {_m(reads['bewerking_by_id'])} | | |")
    if "peak_rss_mb" in pg:
        rows.append(f"| PostgreSQL server peak RSS | {pg['peak_rss_mb']} MB | | | | | |")
    sq = r.get("sqlite", {})
    for c, p in sq.get("post", {}).items():
        rows.append(f"| SQLite POST, {c} clients | {_m(p['register'])} | | |")
    if "bulk" in sq:
        rows.append(f"| SQLite bulk ingest | {sq['bulk']['register']['per_second']:,.0f}/s | | | | | |")
    if "peak_rss_mb" in sq:
        rows.append(f"| SQLite server peak RSS | {sq['peak_rss_mb']} MB | | | | | |")
    return "\n".join(rows)


def sizing_table(r: dict[str, Any]) -> str:
    s = r.get("postgresql", {}).get("sizing", {})
    rows = ["| Table | Table MB per million | Index MB per million |", "|---|---|---|"]
    total_t = total_i = 0.0
    for table, v in s.items():
        if isinstance(v, dict):
            rows.append(f"| `{table}` | {v['table_mb_per_million']:,.0f} | {v['index_mb_per_million']:,.0f} |")
            total_t += v["table_mb_per_million"]
            total_i += v["index_mb_per_million"]
    rows.append(f"| **total** | **{total_t:,.0f}** | **{total_i:,.0f}** |")
    return "\n".join(rows)


def main() -> None:
    r = json.loads(Path(sys.argv[1]).read_text())
    print(f"Mode {r['mode']}, seed {r['seed']}, machine: {r['machine']}\n")
    print(results_table(r))
    print()
    print(sizing_table(r))


if __name__ == "__main__":
    main()
