"""Performance gates for CI, at a small size: ratios against baselines run in the same process, and
flat peak memory as the number of days grows. Never absolute times.

Marked ``bench``: ``python -m pytest -m "not bench"`` runs the fast suite without them.
The thresholds sit well below what a noisy 2-core machine measures (see docs/benchmarks.md):
ocpagg's read + aggregate is ~9x the DuckDB reference and ~45x pandas at this size.
"""

from __future__ import annotations

import os

import benchlib
import pytest

GATE_ROWS = benchlib.parse_size(os.environ.get("OCPAGG_GATE_ROWS", "200k"))
GATE_DAYS = 6  # 200k pod rows over 6 days: ~1,400 pods an hour, the cluster of a 1M-row month
MIN_RATIO_DUCKDB = 2.0
MIN_RATIO_PANDAS = 5.0
RSS_MONTH_ROWS = 1_000_000  # ~1,350 pods an hour
RSS_TOLERANCE = 0.10
RSS_SLACK_MB = 32.0

pytestmark = pytest.mark.bench


@pytest.fixture(scope="module")
def gate_tree():
    return benchlib.tree(GATE_ROWS, days=GATE_DAYS)


@pytest.fixture(scope="module")
def medians(gate_tree) -> dict[str, float]:
    systems = {name: (lambda name=name: benchlib.SYSTEMS[name](gate_tree)) for name in ("ocpagg", "duckdb")}
    for fn in systems.values():  # warm the page cache and imports
        fn()
    out = benchlib.interleaved_medians(systems, rounds=5)
    out.update(benchlib.interleaved_medians({"pandas": lambda: benchlib.run_pandas(gate_tree)}, rounds=3))
    return out


def test_same_rows_as_reference(gate_tree) -> None:
    assert benchlib.run_ocpagg(gate_tree) == benchlib.run_duckdb(gate_tree)


def test_read_aggregate_faster_than_duckdb_reference(medians: dict[str, float]) -> None:
    ratio = medians["duckdb"] / medians["ocpagg"]
    assert ratio >= MIN_RATIO_DUCKDB, f"ocpagg only {ratio:.1f}x the DuckDB reference ({medians})"


def test_read_aggregate_faster_than_pandas(medians: dict[str, float]) -> None:
    ratio = medians["pandas"] / medians["ocpagg"]
    assert ratio >= MIN_RATIO_PANDAS, f"ocpagg only {ratio:.1f}x pandas ({medians})"


def test_peak_rss_flat_as_days_grow() -> None:
    """Peak RSS of a fresh process streaming one month and three months of the same cluster.

    The slack covers the allocator's warm-up (~+20 MB over the first months, then flat); a leak of
    each day's rows (≥1 MB a day here) would add 60 MB or more and fail.
    """
    one = benchlib.tree(RSS_MONTH_ROWS)
    three = benchlib.tree(3 * RSS_MONTH_ROWS, months=3)
    assert one.pods_per_hour == three.pods_per_hour
    rss = {}
    for name, info in (("one", one), ("three", three)):
        rss[name] = min(benchlib.run_child("ocpagg-stream", info).max_rss_mb for _ in range(2))
    limit = rss["one"] * (1 + RSS_TOLERANCE) + RSS_SLACK_MB
    assert rss["three"] <= limit, (
        f"peak RSS {rss['three']:.0f} MB over {len(three.days)} days, "
        f"{rss['one']:.0f} MB over {len(one.days)} days"
    )
