"""(2b) ocpagg's read + aggregate beside the decode floor: wall and CPU seconds, interleaved rounds.

The floor (benches/decode_floor.py) is pyarrow decoding exactly the row groups and columns ocpagg
reads, with ocpagg's number of decoding threads, and doing nothing else. Targets (issue 12): read
+ aggregate wall ≤ 1.5× the floor's, CPU ≤ 2× the floor's CPU. CPU seconds are the process's
(user + system, all threads), so they hold up better than wall times on a shared machine.
"""

from __future__ import annotations

import resource
import statistics
import time

import benchlib
import pytest


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@pytest.mark.parametrize("pod_rows", benchlib.SIZES, ids=benchlib.size_label)
def test_read_aggregate_vs_decode_floor(benchmark, pod_rows: int) -> None:
    from decode_floor import decode_floor, month_units
    from ocpagg.reader import DECODE_THREADS

    info = benchlib.tree(pod_rows)
    units = month_units(info.root, info.account, info.source_uuid, info.start_date, info.end_date)
    systems = {
        "floor": lambda: decode_floor(units),
        "ocpagg-stream": lambda: benchlib.run_ocpagg_stream(info),
        "ocpagg": lambda: benchlib.run_ocpagg(info),
    }
    for fn in systems.values():  # warm the page cache
        fn()
    wall: dict[str, list[float]] = {n: [] for n in systems}
    cpu: dict[str, list[float]] = {n: [] for n in systems}
    for _ in range(benchlib.rounds(pod_rows, 7, 5)):
        for name, fn in systems.items():
            w, c = time.perf_counter(), _cpu()
            fn()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(_cpu() - c)
    benchmark.group = f"floor {benchlib.size_label(pod_rows)}"
    benchmark.extra_info.update(
        kind="floor",
        system="ocpagg-stream",
        pod_rows=info.pod_rows,
        input_rows=sum(info.rows.values()),
        decode_threads=DECODE_THREADS,
        wall={n: statistics.median(v) for n, v in wall.items()},
        cpu={n: statistics.median(v) for n, v in cpu.items()},
        rounds=len(wall["floor"]),
    )
    # the figures are the interleaved medians above; this records the entry
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
