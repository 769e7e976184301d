"""Shadow mode (``summarize --shadow-table``, ``masu ... shadow_table=``) on real PostgreSQL.

ocpagg's rows go into a table of the summary's shape in the tenant schema — partitioned by month, no
foreign keys — with the same delete-then-insert per range and report period, while koku's table stays
byte-for-byte as it was; then ``compare --shadow-table`` finds it equal to koku's rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import pytest
from compare_helpers import (
    ALIAS,
    CLUSTER,
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
    summarize_args,
    table_text,
)

SHADOW = "ocpagg_shadow_summary"


def _relations(conn: Any, schema: str, table: str) -> dict[str, str]:
    """The table and its partitions: name -> partition bound ('' for the table itself)."""
    rows = execute(
        conn,
        "SELECT c.relname, coalesce(pg_get_expr(c.relpartbound, c.oid), '') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.oid IN (SELECT relid FROM pg_partition_tree(CAST($2 AS regclass)))",
        [schema, f"{q(schema)}.{q(table)}"],
    )
    return {str(name): str(bound) for name, bound in rows}


def test_shadow_run_leaves_koku_table_byte_for_byte_and_compares_equal(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    root = tmp_path / "root"
    kw = setup_small(pg_conn, pg_schema, root)
    expected = reference_rows(pg_conn, pg_schema, root, kw)
    load_rows(pg_conn, pg_schema, expected)  # what Trino wrote
    koku_before = table_text(pg_conn, pg_schema)
    tracked_before = execute(pg_conn, f"SELECT count(*) FROM {q(pg_schema)}.partitioned_tables")

    proc = run_ocpagg(summarize_args(pg_schema, kw, pg_url, root, "--shadow-table", SHADOW))
    assert proc.returncode == 0, proc.stderr
    assert f"{expected.num_rows} rows written into {SHADOW} for 3 days (0 replaced)" in proc.stdout
    assert table_text(pg_conn, pg_schema) == koku_before

    # The shadow table: partitioned by month (a default partition and January's), no foreign keys,
    # every summary column; koku's partition tracking knows nothing of it.
    assert _relations(pg_conn, pg_schema, SHADOW) == {
        SHADOW: "",
        f"{SHADOW}_default": "DEFAULT",
        f"{SHADOW}_2027_01": "FOR VALUES FROM ('2027-01-01') TO ('2027-02-01')",
    }
    kind = execute(
        pg_conn, "SELECT relkind FROM pg_class WHERE oid = CAST($1 AS regclass)", [f"{pg_schema}.{SHADOW}"]
    )
    assert kind == [("p",)]
    fks = execute(
        pg_conn,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = CAST($1 AS regclass)",
        [f"{pg_schema}.{SHADOW}"],
    )
    assert fks == [(0,)]
    columns = execute(
        pg_conn,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 "
        "AND table_name = $2",
        [pg_schema, SHADOW],
    )
    koku_columns = execute(
        pg_conn,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 "
        "AND table_name = $2",
        [pg_schema, KOKU_TABLE],
    )
    assert set(columns) == set(koku_columns)
    assert execute(pg_conn, f"SELECT count(*) FROM {q(pg_schema)}.partitioned_tables") == tracked_before
    assert execute(pg_conn, f"SELECT count(*) FROM {q(pg_schema)}.{q(SHADOW)}") == [(expected.num_rows,)]

    # compare --shadow-table: equal; and the shadow rows are what --input computes.
    report = tmp_path / "shadow.json"
    proc = run_ocpagg(compare_args(pg_schema, kw, pg_url, "--shadow-table", SHADOW, "--json", str(report)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"EQUAL: {expected.num_rows} rows match over 3 days" in proc.stdout
    assert read_json(report)["scope"]["ocpagg"] == f"shadow table {SHADOW}"

    # A rerun replaces the range's rows of the report period (never duplicates); rows of other report
    # periods and rows with OCP-on-cloud cost in the shadow table are kept, as in koku's table.
    shadow = f"{q(pg_schema)}.{q(SHADOW)}"
    execute(
        pg_conn,
        f"INSERT INTO {shadow} (uuid, usage_start, usage_end, report_period_id, namespace, data_source, "
        "infrastructure_raw_cost) VALUES (gen_random_uuid(), '2027-01-02', '2027-01-02', 7, 'other-period', "
        f"'Pod', NULL), (gen_random_uuid(), '2027-01-02', '2027-01-02', {PERIOD}, 'cloud', 'Pod', 3.5)",
    )
    first_ids = {
        r[0]
        for r in execute(
            pg_conn,
            f"SELECT CAST(uuid AS text) FROM {shadow} WHERE namespace NOT IN ('other-period', 'cloud')",
        )
    }
    proc = run_ocpagg(summarize_args(pg_schema, kw, pg_url, root, "--shadow-table", SHADOW))
    assert proc.returncode == 0, proc.stderr
    assert f"({expected.num_rows} replaced)" in proc.stdout
    rows = execute(pg_conn, f"SELECT CAST(uuid AS text), namespace FROM {shadow}")
    assert len(rows) == expected.num_rows + 2
    assert {ns for _, ns in rows} >= {"other-period", "cloud"}
    assert not first_ids & {i for i, _ in rows}
    assert table_text(pg_conn, pg_schema) == koku_before

    # Seed a difference in the shadow table: compare finds it (exit 1).
    execute(pg_conn, f"DELETE FROM {shadow} WHERE data_source = 'Storage' AND usage_start = '2027-01-02'")
    proc = run_ocpagg(compare_args(pg_schema, kw, pg_url, "--shadow-table", SHADOW, "--json", str(report)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert read_json(report)["totals"] == {
        "matched": expected.num_rows - 1,
        "only_koku": 1,
        "only_ocpagg": 0,
        "differ": 0,
    }


def test_masu_shadow_table_keyword(tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    from ocpagg.masu import populate_line_item_daily_summary_table

    root = tmp_path / "root"
    kw = setup_small(pg_conn, pg_schema, root)
    load_rows(pg_conn, pg_schema, reference_rows(pg_conn, pg_schema, root, kw))
    koku_before = table_text(pg_conn, pg_schema)
    result = populate_line_item_daily_summary_table(
        pg_schema,
        kw["start_date"],
        kw["end_date"],
        PERIOD,
        CLUSTER,
        ALIAS,
        kw["source_uuid"],
        database=pg_url,
        storage=(fsspec.filesystem("file"), str(root)),
        shadow_table=SHADOW,
    )
    assert result.rows == 30 and result.deleted == 0
    assert table_text(pg_conn, pg_schema) == koku_before
    proc = run_ocpagg(compare_args(pg_schema, kw, pg_url, "--shadow-table", SHADOW))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "name, message",
    [
        (KOKU_TABLE, "is koku's table"),
        (f"{KOKU_TABLE}_default", "is a partition of koku's table"),
        ("reporting_ocpusagereportperiod", "lacks the summary's columns"),
    ],
)
def test_shadow_table_must_not_be_koku_table(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, name: str, message: str
) -> None:
    root = tmp_path / "root"
    kw = setup_small(pg_conn, pg_schema, root)
    load_rows(pg_conn, pg_schema, reference_rows(pg_conn, pg_schema, root, kw))
    koku_before = table_text(pg_conn, pg_schema)
    proc = run_ocpagg(summarize_args(pg_schema, kw, pg_url, root, "--shadow-table", name))
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    assert table_text(pg_conn, pg_schema) == koku_before
