"""(2) Read + aggregate: local Parquet to the summary rows, ocpagg beside the baselines.

duckdb-koku is koku's summary SQL run by DuckDB at its best settings (the honest baseline);
duckdb is the tests' oracle (tests/reference.py, simple on purpose); pandas the proof of concept's way.
"""

from __future__ import annotations

import benchlib
import pytest

# (system, rounds at ≤2M pod rows, rounds above)
_SYSTEMS = [("ocpagg", 7, 5), ("duckdb-koku", 3, 2), ("duckdb", 3, 2), ("pandas", 2, 1)]


@pytest.mark.parametrize("pod_rows", benchlib.SIZES, ids=benchlib.size_label)
@pytest.mark.parametrize("system,small,large", _SYSTEMS, ids=[s[0] for s in _SYSTEMS])
def test_read_aggregate(benchmark, pod_rows: int, system: str, small: int, large: int) -> None:
    info = benchlib.tree(pod_rows)
    run = benchlib.SYSTEMS[system]
    benchmark.group = f"read+aggregate {benchlib.size_label(pod_rows)}"
    benchmark.extra_info.update(
        kind="read_aggregate", system=system, pod_rows=info.pod_rows, input_rows=sum(info.rows.values())
    )
    out = benchmark.pedantic(run, args=(info,), rounds=benchlib.rounds(pod_rows, small, large), iterations=1)
    benchmark.extra_info["output_rows"] = out
    assert out > 0
