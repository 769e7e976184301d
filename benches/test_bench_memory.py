"""Peak RSS of the whole process: each system run once in a fresh Python process (VmHWM).

Sizes: OCPAGG_BENCH_MEMORY_SIZES (default 1M, 10M and 50M). Each size is a cluster-month (the per-day
size grows with it) and, for multiples of OCPAGG_BENCH_FLAT_BASE (default 10M), also that size's cluster
over more months (`xN months`: the same per-day size, N times the days — the flat-memory check of SPEC §2).
The baselines run at sizes up to 10M only (they hold the whole month in memory).
"""

from __future__ import annotations

import benchlib
import pytest
from pgfixture import postgres  # noqa: F401 - the session's PostgreSQL fixture

_BASELINE_LIMIT = 10_000_000

_CASES = []
for _rows in benchlib.MEMORY_SIZES:
    _CASES.append((_rows, 1, "ocpagg-stream"))
    _CASES.append((_rows, 1, "ocpagg-pg"))
    if _rows <= _BASELINE_LIMIT:
        _CASES += [(_rows, 1, s) for s in ("ocpagg", "duckdb-koku", "duckdb", "pandas")]
_BASE = (
    benchlib.FLAT_BASE
    if benchlib.FLAT_BASE in benchlib.MEMORY_SIZES
    else min(benchlib.MEMORY_SIZES, default=0)
)
for _rows in benchlib.MEMORY_SIZES:
    if _BASE and _rows > _BASE and _rows % _BASE == 0:
        _CASES.append((_rows, _rows // _BASE, "ocpagg-stream"))
        _CASES.append((_rows, _rows // _BASE, "ocpagg-pg"))


def _id(case: tuple[int, int, str]) -> str:
    rows, months, system = case
    return f"{system}-{benchlib.size_label(rows)}" + (f"-x{months}months" if months > 1 else "")


@pytest.mark.parametrize("case", _CASES, ids=_id)
def test_peak_rss(benchmark, case: tuple[int, int, str], request) -> None:
    pod_rows, months, system = case
    info = benchlib.tree(pod_rows, months=months)
    pg_url = None
    if system == "ocpagg-pg":
        pg_url = request.getfixturevalue("postgres")
        benchlib.prepare_database(pg_url, info)
        benchlib.empty_summary(pg_url)
    benchmark.group = "peak RSS"
    runs: list[benchlib.ChildRun] = []
    errors: list[str] = []

    def once() -> None:
        try:
            runs.append(benchlib.run_child(system, info, pg_url=pg_url))
        except (RuntimeError, TimeoutError) as exc:  # recorded in the results, then failed below
            errors.append(str(exc))

    benchmark.pedantic(once, rounds=1, iterations=1)
    if errors:
        benchmark.extra_info.update(
            kind="memory-failed", system=system, pod_rows=info.pod_rows, error=errors[0]
        )
        pytest.fail(errors[0])
    run = runs[-1]
    benchmark.extra_info.update(
        kind="memory",
        system=system,
        pod_rows=info.pod_rows,
        input_rows=sum(info.rows.values()),
        months=months,
        days=len(info.days),
        pods_per_hour=info.pods_per_hour,
        max_rss_mb=run.max_rss_mb,
        child_seconds=run.seconds,
        output_rows=run.rows,
    )
