"""``ocpagg.masu``'s entry points for koku's other OCP Trino calls, with explicit settings and storage.

The computations are checked against the DuckDB reference in ``test_queries*.py``; here the MASU
calls, given koku's arguments, a database setting and an fsspec storage, must give the same
results as the library functions they wrap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import ocpagg
import pytest
from ocpagg import masu
from ocpagg.queries import cluster_information, gpu_summary_rows, usage_bounds
from test_queries import ACCOUNT, JAN2, JAN3, SOURCE, cluster, gpus  # noqa: F401
from test_queries_db import add_provider, q, snapshot


def _storage(root: Path, schema: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fixture's tree as koku stores it for ``schema`` (its account folder linked to the schema's)."""
    for tree in (root / "data" / "parquet", root / "data" / "parquet" / "daily"):
        link = tree / schema
        if (tree / ACCOUNT).exists() and not link.exists():
            link.symlink_to(tree / ACCOUNT, target_is_directory=True)
    return fsspec.filesystem("file"), str(root)


def _categories(conn: Any, schema: str) -> list[tuple[str, int]]:
    sql = f'SELECT namespace, cost_category_id FROM "{schema}".reporting_ocp_cost_category_namespace'
    return [(str(n), int(i)) for n, i in q(conn, sql)]


def test_usage_bounds_and_cluster_information(
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    cluster: Path,  # noqa: F811
) -> None:
    bounds = masu.get_max_min_timestamp_from_parquet(
        pg_schema, SOURCE, JAN2, JAN3, storage=_storage(cluster, pg_schema)
    )
    assert bounds == usage_bounds(
        str(cluster), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3
    )
    assert bounds[0] is not None and bounds[0].date() == JAN2

    add_provider(pg_conn, pg_schema)
    counts = masu.populate_openshift_cluster_information_tables(
        pg_schema, SOURCE, "c-1", "prod", JAN2, JAN3, database=pg_url, storage=_storage(cluster, pg_schema)
    )
    info = cluster_information(
        str(cluster), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3
    )
    snap = snapshot(pg_conn, pg_schema)
    assert snap["clusters"] == [("c-1", "prod")]
    assert counts.nodes_created == len(snap["nodes"]) == info.nodes.num_rows
    assert sorted(p for (p,) in snap["projects"]) == sorted(info.projects.column("namespace").to_pylist())


def test_gpu_summary(pg_url: str, pg_conn: Any, pg_schema: str, gpus: Path) -> None:  # noqa: F811
    add_provider(pg_conn, pg_schema)
    counts = masu.populate_gpu_ui_summary_table_with_usage_only(
        pg_schema, JAN2, JAN3, SOURCE, "c-1", "prod", database=pg_url, storage=_storage(gpus, pg_schema)
    )
    rows = gpu_summary_rows(
        str(gpus), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3, cluster_id="c-1",
        cluster_alias="prod", cost_categories=_categories(pg_conn, pg_schema),
    )  # fmt: skip
    assert counts.inserted == rows.num_rows == len(snapshot(pg_conn, pg_schema)["gpu"]) > 0


def test_connection_objects_are_refused(pg_url: str, pg_schema: str, gpus: Path) -> None:  # noqa: F811
    import psycopg2

    connection = psycopg2.connect(pg_url)
    try:
        with pytest.raises(ocpagg.ConfigError, match="pass the database settings instead") as refused:
            masu.populate_gpu_ui_summary_table_with_usage_only(
                pg_schema, JAN2, JAN3, SOURCE, "c-1", None, database=connection, storage=_storage(gpus, "x")
            )
        assert refused.value.database_committed is False
    finally:
        connection.close()
