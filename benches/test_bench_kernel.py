"""(1) The kernel alone: every day's input batches already in memory, pushed and finished."""

from __future__ import annotations

import gc

import benchlib
import pytest


@pytest.mark.parametrize("pod_rows", benchlib.SIZES, ids=benchlib.size_label)
def test_kernel(benchmark, pod_rows: int) -> None:
    info = benchlib.tree(pod_rows)
    loaded = benchlib.load_batches(info)
    benchmark.group = f"kernel {benchlib.size_label(pod_rows)}"
    benchmark.extra_info.update(
        kind="kernel",
        system="ocpagg-kernel",
        pod_rows=loaded.rows["pod_usage"],
        input_rows=sum(loaded.rows.values()),
    )
    out = benchmark.pedantic(
        benchlib.run_kernel,
        args=(info, loaded),
        rounds=benchlib.rounds(pod_rows, 7, 5),
        iterations=1,
        warmup_rounds=1,
    )
    benchmark.extra_info["output_rows"] = out
    del loaded
    gc.collect()
