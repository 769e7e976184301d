"""(3) End to end into koku's PostgreSQL table, beside the floor: a plain COPY of the same rows.

In the same module and on the same server: ocpagg's streaming read + aggregate alone (what the
end-to-end run does before writing), the end-to-end run (ocpagg.sink.run_summary), and psql's \\copy
of the same summary rows from CSV into the same table. Every round starts from an empty table.
"""

from __future__ import annotations

from pathlib import Path

import benchlib
import pytest
from pgfixture import postgres  # noqa: F401 - the session's PostgreSQL fixture


@pytest.fixture(scope="module", params=benchlib.SIZES, ids=benchlib.size_label)
def loaded_db(request):
    url = request.getfixturevalue("postgres")
    info = benchlib.tree(request.param)
    benchlib.prepare_database(url, info)
    return request.param, info, url


def _extra(benchmark, system: str, info, pod_rows: int) -> None:
    benchmark.group = f"postgres {benchlib.size_label(pod_rows)}"
    benchmark.extra_info.update(
        kind="postgres", system=system, pod_rows=info.pod_rows, input_rows=sum(info.rows.values())
    )


def test_stream_read_aggregate(benchmark, loaded_db) -> None:
    pod_rows, info, _ = loaded_db
    _extra(benchmark, "ocpagg-stream", info, pod_rows)
    out = benchmark.pedantic(
        benchlib.run_ocpagg_stream, args=(info,), rounds=benchlib.rounds(pod_rows, 5, 3), iterations=1
    )
    benchmark.extra_info["output_rows"] = out


def test_end_to_end(benchmark, loaded_db) -> None:
    pod_rows, info, url = loaded_db
    _extra(benchmark, "ocpagg-pg", info, pod_rows)
    out = benchmark.pedantic(
        benchlib.run_ocpagg_pg,
        args=(info, url),
        setup=lambda: benchlib.empty_summary(url),
        rounds=benchlib.rounds(pod_rows, 5, 3),
        iterations=1,
    )
    benchmark.extra_info["output_rows"] = out


def test_plain_copy(benchmark, loaded_db, tmp_path: Path) -> None:
    import ocpagg

    pod_rows, info, url = loaded_db
    table = ocpagg.summarize_table(info.root, **benchlib._kwargs(info))
    csv = tmp_path / "summary.csv"
    columns = benchlib.copy_csv(table, csv)
    _extra(benchmark, "copy", info, pod_rows)
    benchmark.extra_info["output_rows"] = table.num_rows
    del table
    benchmark.pedantic(
        benchlib.plain_copy,
        args=(url, csv, columns),
        setup=lambda: benchlib.empty_summary(url),
        rounds=benchlib.rounds(pod_rows, 5, 3),
        iterations=1,
    )
