"""The compare package without a database: normalisation, the multiset match, the reports."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pytest
from ocpagg.compare.columns import COMPARED_COLUMNS, COMPARED_SCHEMA, normalise
from ocpagg.compare.match import match_day
from ocpagg.compare.report import format_text, to_json
from ocpagg.compare.result import CompareScope, ComparisonResult
from ocpagg.errors import ComparisonError

DAY = dt.date(2027, 3, 4)
RTOL, ATOL = 1e-9, 1e-15


def row(**values: Any) -> dict[str, Any]:
    """A Pod row of the compared columns, NULL where not given."""
    base: dict[str, Any] = {name: None for name in COMPARED_COLUMNS}
    base.update(
        usage_start=DAY,
        usage_end=DAY,
        data_source="Pod",
        namespace="app",
        node="worker-0",
        resource_id="i-0",
        pod_labels='{"app": "web", "env": "prod"}',
        all_labels='{"app": "web", "env": "prod"}',
        cluster_id="c1",
        source_uuid="s1",
        report_period_id=1,
        pod_usage_cpu_core_hours=10.0,
        node_capacity_cpu_cores=4.0,
    )
    base.update(values)
    return base


def table(rows: list[dict[str, Any]], *, round_numbers: bool = False) -> pa.Table:
    raw = pa.Table.from_pylist(rows, schema=COMPARED_SCHEMA) if rows else COMPARED_SCHEMA.empty_table()
    return normalise(raw, round_numbers=round_numbers)


def match(koku: list[dict[str, Any]], ocpagg: list[dict[str, Any]], max_rows: int = 10, **kw: Any) -> Any:
    return match_day(
        DAY, table(koku), table(ocpagg, round_numbers=True), rtol=RTOL, atol=ATOL, max_rows=max_rows
    )


def counts(result: Any) -> tuple[int, int, int, int]:
    c = result.counts
    return c.matched, c.only_koku, c.only_ocpagg, c.differ


def test_label_key_order_and_spacing_do_not_matter() -> None:
    koku = [row(pod_labels='{"env": "prod", "app": "web"}', all_labels='{"env":"prod","app":"web"}')]
    assert counts(match(koku, [row()])) == (1, 0, 0, 0)


def test_a_label_value_that_differs_is_another_row() -> None:
    result = match([row(pod_labels='{"app": "web", "env": "stage"}')], [row()])
    assert counts(result) == (0, 1, 1, 0)
    # Rows come in key order; the JSON is canonical (keys sorted, no spaces).
    assert [(r.kind, r.key["pod_labels"]) for r in result.rows] == [
        ("only in ocpagg", '{"app":"web","env":"prod"}'),
        ("only in koku", '{"app":"web","env":"stage"}'),
    ]


def test_null_equals_null_in_keys_and_values() -> None:
    rows = [row(node=None, resource_id=None, pod_usage_cpu_core_hours=None)]
    assert counts(match(rows, rows)) == (1, 0, 0, 0)
    # A NULL key is not an empty string.
    assert counts(match([row(node=None)], [row(node="")])) == (0, 1, 1, 0)


def test_one_null_number_differs() -> None:
    result = match([row(pod_limit_cpu_core_hours=None)], [row(pod_limit_cpu_core_hours=2.0)])
    assert counts(result) == (0, 0, 0, 1)
    (difference,) = result.rows[0].differences
    assert (difference.column, difference.koku, difference.ocpagg) == ("pod_limit_cpu_core_hours", None, 2.0)


def test_relative_tolerance() -> None:
    within = match([row(pod_usage_cpu_core_hours=10.0 * (1 + 5e-10))], [row()])
    assert counts(within) == (1, 0, 0, 0)
    assert within.max_relative == pytest.approx(5e-10, rel=1e-3)
    beyond = match([row(pod_usage_cpu_core_hours=10.0 * (1 + 2e-9))], [row()])
    assert counts(beyond) == (0, 0, 0, 1)
    assert beyond.rows[0].differences[0].relative == pytest.approx(2e-9, rel=1e-3)


def test_absolute_tolerance_near_zero_and_numeric_rounding() -> None:
    # numeric(33,15) stores 4e-16 as 0: the computed side is rounded as PostgreSQL would.
    assert counts(match([row(pod_usage_cpu_core_hours=0.0)], [row(pod_usage_cpu_core_hours=4e-16)])) == (
        1,
        0,
        0,
        0,
    )
    assert counts(match([row(pod_usage_cpu_core_hours=0.0)], [row(pod_usage_cpu_core_hours=3e-15)])) == (
        0,
        0,
        0,
        1,
    )
    # A negative unallocated value rounds away from zero, as numeric's rounding does.
    assert counts(
        match([row(pod_usage_cpu_core_hours=-1.5e-15)], [row(pod_usage_cpu_core_hours=-1.5e-15)])
    ) == (
        1,
        0,
        0,
        0,
    )


def test_multiset_duplicates_and_pairing_by_value() -> None:
    # koku's fan-out rows: the same key twice. Two against one: one pair, one row only in koku.
    assert counts(match([row(), row()], [row()])) == (1, 1, 0, 0)
    assert counts(match([row(), row()], [row(), row()])) == (2, 0, 0, 0)
    # Same key, different values, in another order on each side: paired by value, both match.
    koku = [row(pod_usage_cpu_core_hours=1.0), row(pod_usage_cpu_core_hours=2.0)]
    ocpagg = [row(pod_usage_cpu_core_hours=2.0), row(pod_usage_cpu_core_hours=1.0)]
    assert counts(match(koku, ocpagg)) == (2, 0, 0, 0)


def test_text_columns_and_data_sources() -> None:
    storage = row(
        data_source="Storage",
        persistentvolumeclaim="pvc",
        volume_labels='{"a": "1"}',
        pod_labels=None,
        persistentvolumeclaim_capacity_gigabyte=10.0,
    )
    koku = [row(all_labels='{"app": "web"}'), storage, row(namespace="only-koku")]
    ocpagg = [row(), storage]
    result = match(koku, ocpagg)
    assert counts(result) == (1, 1, 0, 1)
    assert {k: v.as_dict() for k, v in result.by_data_source.items()} == {
        "Pod": {"matched": 0, "only_koku": 1, "only_ocpagg": 0, "differ": 1},
        "Storage": {"matched": 1, "only_koku": 0, "only_ocpagg": 0, "differ": 0},
    }
    differ = next(r for r in result.rows if r.kind == "values differ")
    assert [(d.column, d.koku, d.ocpagg, d.relative) for d in differ.differences] == [
        ("all_labels", '{"app":"web"}', '{"app":"web","env":"prod"}', None)
    ]


def test_rows_reported_are_capped() -> None:
    koku = [row(namespace=f"ns-{i:02d}") for i in range(30)]
    result = match(koku, [], max_rows=5)
    assert counts(result) == (0, 30, 0, 0)
    assert [r.key["namespace"] for r in result.rows] == [f"ns-{i:02d}" for i in range(5)]
    assert counts(match(koku, [], max_rows=0))[1] == 30


def test_empty_sides() -> None:
    assert counts(match([], [])) == (0, 0, 0, 0)
    assert counts(match([], [row()])) == (0, 0, 1, 0)


def test_labels_that_are_not_objects_are_refused() -> None:
    with pytest.raises(ComparisonError, match="pod_labels holds JSON that is not an object"):
        table([row(pod_labels="[1, 2]")])
    with pytest.raises(ComparisonError, match="pod_labels holds text that is not JSON"):
        table([row(pod_labels="{oops")])


def _result(days: list[Any]) -> ComparisonResult:
    scope = CompareScope(
        schema="org1",
        source_uuid="s1",
        start_date=days[0].day,
        end_date=days[-1].day,
        report_period_id=1,
        cluster_id="c1",
        cluster_alias=None,
        koku_label="koku's table",
        ocpagg_label="shadow table s",
        rtol=RTOL,
        atol=ATOL,
    )
    return ComparisonResult(scope=scope, days=days, max_rows=10)


def test_reports() -> None:
    equal = _result([match([row()], [row()])])
    text = format_text(equal)
    assert text.endswith("EQUAL: 1 rows match over 1 days\n")
    assert "2027-03-04            1          0            0              0             0" in text
    assert to_json(equal)["equal"] is True

    different = _result([match([row(pod_usage_cpu_core_hours=11.0)], [row()])])
    text = format_text(different)
    assert (
        "DIFFERENT: 1 rows differ over 1 of 1 days (0 only in koku, 0 only in ocpagg, 1 with values" in text
    )
    assert "2027-03-04 values differ: data_source=Pod namespace=app node=worker-0 resource_id=i-0 " in text
    assert "    pod_usage_cpu_core_hours  koku 11  ocpagg 10  rel 9.09e-02" in text
    data = json.loads(json.dumps(to_json(different)))
    assert data["days"] == [
        {
            "day": "2027-03-04",
            "matched": 0,
            "only_koku": 0,
            "only_ocpagg": 0,
            "differ": 1,
            "max_relative_difference": pytest.approx(1 / 11),
            "by_data_source": {"Pod": {"matched": 0, "only_koku": 0, "only_ocpagg": 0, "differ": 1}},
        }
    ]
    assert data["rows"][0]["differences"] == [
        {
            "column": "pod_usage_cpu_core_hours",
            "koku": 11.0,
            "ocpagg": 10.0,
            "relative_difference": pytest.approx(1 / 11),
        }
    ]
    assert different.gauges() == {"matched": 0, "only_koku": 0, "only_ocpagg": 0, "differ": 1}


def test_matplotlib_is_imported_only_for_the_html_page() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ocpagg.cli, ocpagg.compare, ocpagg.compare.html, ocpagg.compare.report; "
        "ocpagg.cli.build_parser(); print('matplotlib' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
