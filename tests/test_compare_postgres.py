"""``ocpagg compare`` on real PostgreSQL: koku's table filled from the DuckDB reference (what Trino would
write) against the rows ocpagg computes from the same files (``--input``); then seeded differences,
each found and counted exactly; then the exit status of a comparison that cannot run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compare_helpers import (
    KOKU_TABLE,
    PERIOD,
    compare_args,
    execute,
    load_rows,
    q,
    read_json,
    reference_rows,
    run_ocpagg,
    setup_small,
    table_text,
)


def _loaded(tmp_path: Path, conn: Any, schema: str) -> tuple[Path, dict[str, Any], int]:
    root = tmp_path / "root"
    kw = setup_small(conn, schema, root)
    rows = reference_rows(conn, schema, root, kw)
    assert rows.num_rows == 30  # 10 a day: 5 pod, 1 storage, 4 unallocated
    load_rows(conn, schema, rows)
    return root, kw, rows.num_rows


def _one(conn: Any, schema: str, where: str) -> str:
    """The uuid of the first row (in a stable order) matching ``where``."""
    rows = execute(
        conn,
        f"SELECT CAST(uuid AS text) FROM {q(schema)}.{q(KOKU_TABLE)} WHERE {where} "
        "ORDER BY namespace, node, CAST(pod_labels AS text), uuid LIMIT 1",
    )
    assert rows, where
    return str(rows[0][0])


def test_reference_rows_compare_equal_to_computed(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    root, kw, count = _loaded(tmp_path, pg_conn, pg_schema)
    # An OCP-on-cloud row (infrastructure_raw_cost set) is left out of the comparison.
    execute(
        pg_conn,
        f"INSERT INTO {q(pg_schema)}.{q(KOKU_TABLE)} (uuid, usage_start, usage_end, report_period_id, "
        "namespace, data_source, infrastructure_raw_cost) VALUES (gen_random_uuid(), '2027-01-02', "
        f"'2027-01-02', {PERIOD}, 'cloud-project', 'Pod', 12.5)",
    )
    before = table_text(pg_conn, pg_schema)
    report = tmp_path / "report.json"
    proc = run_ocpagg(compare_args(pg_schema, kw, pg_url, "--input", str(root), "--json", str(report)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"EQUAL: {count} rows match over 3 days" in proc.stdout
    lines = proc.stdout.splitlines()
    day_lines = [line.split() for line in lines if line.startswith("2027-01-0")]
    assert [d[0] for d in day_lines] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    assert sum(int(d[1]) for d in day_lines) == count
    assert all(d[2:5] == ["0", "0", "0"] for d in day_lines)

    data = read_json(report)
    assert data["equal"] is True
    assert data["totals"] == {"matched": count, "only_koku": 0, "only_ocpagg": 0, "differ": 0}
    assert set(data["by_data_source"]) == {"Pod", "Storage"}
    assert data["by_data_source"]["Storage"]["matched"] == 3  # one PVC a day
    assert data["rows"] == [] and data["rows_left_out"] == 0
    assert data["scope"]["cluster_alias"] == "Compare cluster"  # from the report period
    assert data["max_relative_difference"] < 1e-12
    assert table_text(pg_conn, pg_schema) == before  # compare writes nothing


def test_seeded_differences_are_found_and_counted(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    root, kw, count = _loaded(tmp_path, pg_conn, pg_schema)
    t = f"{q(pg_schema)}.{q(KOKU_TABLE)}"
    per_day = {
        d: int(execute(pg_conn, f"SELECT count(*) FROM {t} WHERE usage_start = '2027-01-0{d}'")[0][0])
        for d in (1, 2, 3)
    }
    assert sum(per_day.values()) == count

    # Day 1: a value changed within tolerance (still a match), a row added, labels in another key order.
    within = _one(pg_conn, pg_schema, "usage_start = '2027-01-01' AND namespace = 'app-a'")
    execute(
        pg_conn,
        f"UPDATE {t} SET pod_request_cpu_core_hours = pod_request_cpu_core_hours * (1 + 1e-11) "
        f"WHERE uuid = '{within}'",
    )
    execute(
        pg_conn,
        f"INSERT INTO {t} (uuid, usage_start, usage_end, report_period_id, cluster_id, cluster_alias, "
        "namespace, node, data_source, source_uuid, pod_usage_cpu_core_hours, pod_labels) "
        f"SELECT gen_random_uuid(), usage_start, usage_end, report_period_id, cluster_id, cluster_alias, "
        f"'ghost-namespace', node, data_source, source_uuid, 1.5, pod_labels FROM {t} "
        f"WHERE uuid = '{within}'",
    )
    reordered = _one(pg_conn, pg_schema, "usage_start = '2027-01-01' AND namespace = 'app-b'")
    execute(
        pg_conn,
        f"UPDATE {t} SET pod_labels = CAST((SELECT '{{' || string_agg(format('%s: %s', to_json(key), "
        "to_json(value)), ', ' ORDER BY key DESC) || '}' FROM jsonb_each_text(pod_labels)) AS jsonb) "
        f"WHERE uuid = '{reordered}'",
    )
    # Day 2: a value changed beyond tolerance; a row moved to day 3.
    beyond = _one(pg_conn, pg_schema, "usage_start = '2027-01-02' AND namespace = 'app-a'")
    execute(
        pg_conn,
        f"UPDATE {t} SET pod_usage_cpu_core_hours = pod_usage_cpu_core_hours * 1.001 WHERE uuid = '{beyond}'",
    )
    moved = _one(pg_conn, pg_schema, "usage_start = '2027-01-02' AND namespace = 'openshift-monitoring'")
    execute(
        pg_conn,
        f"UPDATE {t} SET usage_start = '2027-01-03', usage_end = '2027-01-03' WHERE uuid = '{moved}'",
    )
    # Day 3: the storage row removed.
    removed = _one(pg_conn, pg_schema, "usage_start = '2027-01-03' AND data_source = 'Storage'")
    execute(pg_conn, f"DELETE FROM {t} WHERE uuid = '{removed}'")

    report = tmp_path / "report.json"
    proc = run_ocpagg(
        compare_args(
            pg_schema,
            kw,
            pg_url,
            "--input",
            str(root),
            "--json",
            str(report),
            "--max-rows",
            "10",
            "--html",
            str(tmp_path / "report.html"),
            "--metrics-textfile",
            str(tmp_path / "compare.prom"),
        )  # fmt: skip
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = read_json(report)
    from prometheus_client.parser import text_string_to_metric_families

    gauges = {
        s.labels["result"]: s.value
        for family in text_string_to_metric_families((tmp_path / "compare.prom").read_text())
        for s in family.samples
        if s.name == "ocpagg_compare_rows"
    }
    assert gauges == {"matched": count - 3, "only_koku": 2, "only_ocpagg": 2, "differ": 1}
    days = {d["day"]: d for d in data["days"]}
    counts = {
        day: {k: d[k] for k in ("matched", "only_koku", "only_ocpagg", "differ")} for day, d in days.items()
    }
    assert counts == {
        "2027-01-01": {"matched": per_day[1], "only_koku": 1, "only_ocpagg": 0, "differ": 0},
        "2027-01-02": {"matched": per_day[2] - 2, "only_koku": 0, "only_ocpagg": 1, "differ": 1},
        "2027-01-03": {"matched": per_day[3] - 1, "only_koku": 1, "only_ocpagg": 1, "differ": 0},
    }
    assert data["totals"] == {"matched": count - 3, "only_koku": 2, "only_ocpagg": 2, "differ": 1}
    assert days["2027-01-03"]["by_data_source"]["Storage"] == {
        "matched": 0,
        "only_koku": 0,
        "only_ocpagg": 1,
        "differ": 0,
    }
    # The within-tolerance change shows as day 1's largest relative difference, below --rtol.
    assert 5e-12 < days["2027-01-01"]["max_relative_difference"] < 1e-9
    assert abs(days["2027-01-02"]["max_relative_difference"] - 0.001 / 1.001) < 1e-6

    rows = data["rows"]
    assert sorted((r["day"], r["result"]) for r in rows) == [
        ("2027-01-01", "only in koku"),
        ("2027-01-02", "only in ocpagg"),
        ("2027-01-02", "values differ"),
        ("2027-01-03", "only in koku"),
        ("2027-01-03", "only in ocpagg"),
    ]
    by_kind = {(r["day"], r["result"]): r for r in rows}
    assert by_kind[("2027-01-01", "only in koku")]["key"]["namespace"] == "ghost-namespace"
    assert by_kind[("2027-01-02", "only in ocpagg")]["key"]["namespace"] == "openshift-monitoring"
    assert by_kind[("2027-01-03", "only in koku")]["key"]["namespace"] == "openshift-monitoring"
    assert by_kind[("2027-01-03", "only in ocpagg")]["key"]["persistentvolumeclaim"] == "db-data"
    differ = by_kind[("2027-01-02", "values differ")]
    assert differ["key"]["namespace"] == "app-a"
    assert [d["column"] for d in differ["differences"]] == ["pod_usage_cpu_core_hours"]
    change = differ["differences"][0]
    assert abs(change["koku"] / change["ocpagg"] - 1.001) < 1e-9

    # The terminal report: one line per day, then the differing rows with both values.
    out = proc.stdout
    assert "DIFFERENT: 5 rows differ over 3 of 3 days (2 only in koku, 2 only in ocpagg, 1 with values" in out
    line = next(line for line in out.splitlines() if line.startswith("2027-01-02"))
    assert line.split()[1:5] == [str(per_day[2] - 2), "0", "1", "1"]
    assert "2027-01-02 values differ: data_source=Pod namespace=app-a" in out
    assert f"koku {change['koku']:.15g}  ocpagg {change['ocpagg']:.15g}  rel 9.99e-04" in out

    # The HTML page: the verdict, the day table, the differing rows.
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "DIFFERENT: 5 rows differ (2 only in koku, 2 only in ocpagg, 1 values differ)" in page
    assert f'<td class="text">2027-01-02</td><td>{per_day[2] - 2}</td><td>0</td><td>1</td><td>1</td>' in page
    assert "namespace=ghost-namespace" in page and 'src="data:image/png;base64,' in page


def test_exit_status_two_when_the_comparison_cannot_run(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    root = tmp_path / "root"
    kw = setup_small(pg_conn, pg_schema, root)
    base = compare_args(pg_schema, kw, pg_url)

    both = run_ocpagg([*base, "--input", str(root), "--shadow-table", "s"])
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    neither = run_ocpagg(base)
    assert (
        neither.returncode == 2
        and "one of the arguments --input --shadow-table is required" in neither.stderr
    )

    unreachable = compare_args(pg_schema, kw, "postgresql://nobody@127.0.0.1:1/none", "--input", str(root))
    proc = run_ocpagg(unreachable)
    assert proc.returncode == 2 and proc.stderr.startswith("ocpagg: error: cannot connect to PostgreSQL"), (
        proc.stderr
    )

    proc = run_ocpagg([*base, "--shadow-table", "no_such_shadow"])
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"ocpagg: error: no table {pg_schema}.no_such_shadow (shadow table no_such_shadow)"
    )

    proc = run_ocpagg([*base, "--input", str(tmp_path / "missing")])
    assert proc.returncode == 2 and "the input root does not exist" in proc.stderr

    wrong_period = [*base, "--input", str(root)]
    wrong_period[wrong_period.index("--report-period-id") + 1] = "99"
    proc = run_ocpagg(wrong_period)
    assert proc.returncode == 2 and "report period 99 does not exist" in proc.stderr

    proc = run_ocpagg(compare_args(pg_schema, kw, pg_url, "--input", str(root), end="2027-02-01"))
    assert proc.returncode == 2 and "2027-01-01..2027-02-01 spans months" in proc.stderr

    proc = run_ocpagg([*base, "--input", str(root), "--rtol", "-1"])
    assert proc.returncode == 2 and "--rtol and --atol must be zero or positive" in proc.stderr

    sqlite = f"sqlite:///{tmp_path / 'ocpagg.db'}"
    assert run_ocpagg(["init-db", "--db", sqlite]).returncode == 0
    proc = run_ocpagg(compare_args(pg_schema, kw, sqlite, "--input", str(root)))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "ocpagg: error: compare reads koku's PostgreSQL tables: give a postgresql:// database"
    )
