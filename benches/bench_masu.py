"""MASU's peak memory: ``ocpagg.masu.populate_line_item_daily_summary_table`` on a month, in a fresh process.

    nice python benches/bench_masu.py [--sizes 10M,50M] [--tracemalloc] [--keep] [--json OUT]

koku's worker calls this for a month (here in one call, the worst case for memory) into its
PostgreSQL table; its pods are limited to 512 MiB, and the target is a peak RSS (VmHWM) ≤ 400 MiB.
Each size runs in a fresh process (``benches/runner.py masu+profile``) against the throwaway
PostgreSQL of ``benchlib.LocalPostgres`` (koku's tables, the tree's reference rows, the report
period). Besides VmHWM, a sampler thread records every 10 ms the RSS, the bytes held by pyarrow's
memory pool (decoded Parquet, Arrow batches: jemalloc, as ``python -m ocpagg`` sets) and glibc
malloc's bytes in use (the Rust kernel's day state, libpq, Python's larger objects), and the split
at the moment of the RSS peak. ``--tracemalloc`` adds a run with Python's allocations traced (its
peak: Python objects only; that run is slower and its RSS is not the figure).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchlib  # noqa: E402

MB = 2**20


def run(sizes: list[int], tracemalloc: bool, keep: bool) -> list[dict[str, Any]]:
    out = []
    server = benchlib.LocalPostgres()
    url = server.start()
    try:
        for rows in sizes:
            folder = benchlib.tree_folder(rows)
            cached = (folder / "info.pkl").exists()
            info = benchlib.tree(rows)
            try:
                benchlib.prepare_database(url, info)
                benchlib.empty_summary(url)
                run_ = benchlib.run_child("masu+profile", info, pg_url=url)
                mem = run_.memory or {}
                record: dict[str, Any] = {
                    "kind": "masu-memory",
                    "pod_rows": info.pod_rows,
                    "input_rows": sum(info.rows.values()),
                    "pods_per_hour": info.pods_per_hour,
                    "seconds": run_.seconds,
                    "output_rows": run_.rows,
                    "max_rss_mb": run_.max_rss_mb,
                    "baseline_rss_mb": mem.get("baseline", {}).get("rss", 0) / MB,
                    "peak_arrow_mb": mem.get("peaks", {}).get("arrow", 0) / MB,
                    "peak_malloc_mb": mem.get("peaks", {}).get("malloc", 0) / MB,
                    "at_rss_peak_mb": {k: v / MB for k, v in mem.get("at_rss_peak", {}).items()},
                    "arrow_pool_max_mb": mem.get("arrow_pool_max", 0) / MB,
                    "arrow_pool": mem.get("arrow_pool"),
                }
                if tracemalloc:
                    benchlib.empty_summary(url)
                    traced = benchlib.run_child(
                        "masu+profile", info, pg_url=url, env={"OCPAGG_TRACEMALLOC": "1"}
                    )
                    tm = (traced.memory or {}).get("tracemalloc", {})
                    record["tracemalloc_peak_mb"] = tm.get("peak", 0) / MB
                    record["tracemalloc_top_at_end"] = tm.get("top_at_end", [])
                print(json.dumps(record), flush=True)
                out.append(record)
            finally:
                benchlib.empty_summary(url)
                if not cached and not keep:
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        server.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10M,50M", help="pod rows of each one-month tree")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python's allocations")
    parser.add_argument("--keep", action="store_true", help="keep generated trees")
    parser.add_argument("--json", type=Path, default=benchlib.BENCH_DIR / "masu_memory.json")
    args = parser.parse_args()
    sizes = [benchlib.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    results = run(sizes, args.tracemalloc, args.keep)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
