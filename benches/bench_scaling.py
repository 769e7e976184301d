"""Scaling: one month of clusters 1×, 2×, 5× (and 10×) the 10M-pod-row cluster's nodes, in fresh processes.

    nice python benches/bench_scaling.py [--multiples 1,2,5] [--base 10M] [--keep] [--json OUT]

For each size (pods per hour, nodes and namespaces all grow with it; 31 days), three fresh Python
processes (``benches/runner.py``): **floor** = the decode floor (``benches/decode_floor.py``:
pyarrow decoding the row groups and columns ocpagg reads, nothing else), **ocpagg** =
``summarize_table`` (the whole month's Table; its peak RSS is also given less the returned Table's
buffers) and **ocpagg-stream** = ``iter_summary_batches`` with each day's rows dropped (what the
sinks do). Reported: input rows (all four report types) per second of the child's own wall time,
its CPU seconds, and peak RSS (VmHWM). The floor's own throughput at each size shows how much of a
loss is decoding koku's files (their 200k-row row groups hold more distinct strings as the
cluster grows) rather than ocpagg. Trees not
already cached under $OCPAGG_BENCH_DIR are generated with benches/synth.py and removed afterwards
(``--keep`` keeps them). Throughput that holds as the cluster grows means linear time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchlib  # noqa: E402

SYSTEMS = ("floor", "ocpagg", "ocpagg-stream")


def run(multiples: list[int], base: int, keep: bool, repeats: int = 1) -> list[dict[str, Any]]:
    out = []
    for m in multiples:
        rows = base * m
        folder = benchlib.tree_folder(rows)
        cached = (folder / "info.pkl").exists()
        start = time.perf_counter()
        info = benchlib.tree(rows)
        generated = 0.0 if cached else time.perf_counter() - start
        try:
            for system in SYSTEMS:
                runs = [benchlib.run_child(system, info) for _ in range(repeats)]
                best = min(runs, key=lambda r: r.seconds)
                record = {
                    "kind": "scaling",
                    "system": system,
                    "multiple": m,
                    "pod_rows": info.pod_rows,
                    "input_rows": sum(info.rows.values()),
                    "pods_per_hour": info.pods_per_hour,
                    "nodes": info.nodes,
                    "runs": repeats,
                    "seconds": best.seconds,
                    "cpu_seconds": best.cpu_seconds,
                    "max_rss_mb": min(r.max_rss_mb for r in runs),
                    "result_mb": best.result_mb,
                    "output_rows": best.rows,
                    "generated_s": generated,
                }
                print(json.dumps(record), flush=True)
                out.append(record)
        finally:
            if not cached and not keep:
                shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--multiples", default="1,2,5", help="cluster sizes, as multiples of --base")
    parser.add_argument("--base", default="10M", help="pod rows of the 1× month")
    parser.add_argument("--repeats", type=int, default=1, help="fresh processes per size and system (best)")
    parser.add_argument("--keep", action="store_true", help="keep the generated trees")
    parser.add_argument("--json", type=Path, default=benchlib.BENCH_DIR / "scaling.json")
    args = parser.parse_args()
    multiples = [int(x) for x in args.multiples.split(",") if x.strip()]
    results = run(multiples, benchlib.parse_size(args.base), args.keep, args.repeats)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
