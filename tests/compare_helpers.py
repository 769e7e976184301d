"""Helpers of the ``ocpagg compare`` tests: koku's table filled from the DuckDB reference, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import koku_ddl
import ocpagg
import pyarrow as pa
from conftest import SMALL_KEYS, SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from reference import reference_table

CLUSTER = "compare-cluster"
ALIAS = "Compare cluster"
PERIOD = 1
KOKU_TABLE = "reporting_ocpusagelineitem_daily_summary"
PYTHON_DIR = str(Path(ocpagg.__file__).resolve().parents[1])


def env() -> dict[str, str]:
    """The environment of a child ``python -m ocpagg``: this checkout's package first."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([PYTHON_DIR, *filter(None, [out.get("PYTHONPATH")])])
    return out


def run_ocpagg(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocpagg", *args], env=env(), capture_output=True, text=True, timeout=timeout
    )


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def execute(conn: Any, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one statement and commit; its rows (empty for statements that return none)."""
    with conn.cursor() as cur:
        cur.execute(sql, parameters=parameters)
        try:
            rows = cur.fetchall()
        except Exception:  # noqa: BLE001 - a statement without a result set
            rows = []
    conn.commit()
    return rows


def setup_small(conn: Any, schema: str, root: Path) -> dict[str, Any]:
    """The small cluster under ``root`` (account = schema) and koku's tenant rows for it; run kwargs."""
    kw = write_small_cluster(root, account=schema)
    koku_ddl.add_report_period(
        conn, schema, period_id=PERIOD, cluster_id=CLUSTER, source_uuid=SMALL_SOURCE, year=2027, month=1
    )
    execute(
        conn,
        f"UPDATE {q(schema)}.reporting_ocpusagereportperiod SET cluster_alias = $1 WHERE id = $2",
        [ALIAS, PERIOD],
    )
    koku_ddl.enable_keys(conn, schema, list(SMALL_KEYS))
    koku_ddl.add_nodes(conn, schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    return kw


def categories(conn: Any, schema: str) -> list[tuple[str, int]]:
    rows = execute(
        conn, f"SELECT namespace, cost_category_id FROM {q(schema)}.reporting_ocp_cost_category_namespace"
    )
    return [(str(p), int(i)) for p, i in rows]


def reference_rows(conn: Any, schema: str, root: Path, kw: dict[str, Any]) -> pa.Table:
    """What Trino would write, from the tests' independent DuckDB restatement of koku's SQL."""
    return reference_table(
        str(root),
        **kw,
        report_period_id=PERIOD,
        cluster_id=CLUSTER,
        cluster_alias=ALIAS,
        enabled_keys=SMALL_KEYS,
        cost_categories=categories(conn, schema),
        node_roles=SMALL_ROLES,
    )


def load_rows(conn: Any, schema: str, rows: pa.Table, table: str = KOKU_TABLE) -> None:
    """Insert summary rows (ocpagg.schema.SUMMARY_SCHEMA) into a table of koku's shape, as Trino would."""
    stage = "compare_test_load"
    numeric = {f.name for f in rows.schema if pa.types.is_floating(f.type)}
    select = []
    for name in rows.column_names:
        if name == "uuid":
            select.append("gen_random_uuid()")
        elif name in numeric:
            select.append(f"CAST(CAST({q(name)} AS text) AS numeric(33,15))")
        elif name in ("source_uuid",):
            select.append(f"CAST({q(name)} AS uuid)")
        elif name in ("report_period_id", "cost_category_id"):
            select.append(f"CAST({q(name)} AS integer)")
        elif name.endswith("_labels") or name == "infrastructure_usage_cost":
            select.append(f"CAST({q(name)} AS jsonb)")
        else:
            select.append(q(name))
    with conn.cursor() as cur:
        cur.execute("SET extra_float_digits = 3")
        cur.adbc_ingest(stage, rows, mode="create", temporary=True)
        cur.execute(
            f"INSERT INTO {q(schema)}.{q(table)} ({', '.join(q(n) for n in rows.column_names)}) "
            f"SELECT {', '.join(select)} FROM {q(stage)}"
        )
        cur.execute(f"DROP TABLE {q(stage)}")
    conn.commit()


def table_text(conn: Any, schema: str, table: str = KOKU_TABLE) -> list[tuple[Any, ...]]:
    """Every row of a table, every column as text, sorted: the table's exact state."""
    return execute(conn, f"SELECT CAST(t AS text) FROM {q(schema)}.{q(table)} AS t ORDER BY 1")


def compare_args(
    schema: str, kw: dict[str, Any], db: str, *side: str, start: str | None = None, end: str | None = None
) -> list[str]:
    return [
        "compare",
        "--db", db,
        "--schema", schema,
        "--source", kw["source_uuid"],
        "--start", start or kw["start_date"].isoformat(),
        "--end", end or kw["end_date"].isoformat(),
        "--report-period-id", str(PERIOD),
        "--cluster-id", CLUSTER,
        *side,
    ]  # fmt: skip


def summarize_args(schema: str, kw: dict[str, Any], db: str, root: Path, *extra: str) -> list[str]:
    return [
        "summarize",
        "--input", str(root),
        "--schema", schema,
        "--source", kw["source_uuid"],
        "--start", kw["start_date"].isoformat(),
        "--end", kw["end_date"].isoformat(),
        "--report-period-id", str(PERIOD),
        "--cluster-id", CLUSTER,
        "--cluster-alias", ALIAS,
        "--db", db,
        *extra,
    ]  # fmt: skip


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
