"""The MASU entry point reads koku's bucket when no root is given, as koku's Trino tables do."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import koku_ddl
import ocpagg
import pytest
from compare import assert_tables_match
from conftest import SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from ocpagg.sink import populate_line_item_daily_summary_table
from test_e2e_postgres import ALIAS, CLUSTER, PERIOD, expected_small, prepare_small


def test_default_root_is_kokus_bucket(
    tmp_path: Path,
    pg_conn: Any,
    pg_schema: str,
    s3_upload: Callable[[Path], str],
    s3_env_in_process: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kw = write_small_cluster(tmp_path, account=pg_schema)
    bucket = s3_upload(tmp_path).removeprefix("s3://")
    monkeypatch.setenv("S3_BUCKET_NAME", bucket)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    result = populate_line_item_daily_summary_table(
        pg_conn, pg_schema, kw["start_date"], kw["end_date"], PERIOD, CLUSTER, ALIAS, uuid.UUID(SMALL_SOURCE)
    )
    expected = expected_small(tmp_path, kw, pg_conn, pg_schema)
    assert result.rows == expected.num_rows > 0
    assert_tables_match(koku_ddl.read_summary(pg_conn, pg_schema), expected)


def test_no_root_and_no_bucket_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3_BUCKET_NAME", raising=False)
    with pytest.raises(ocpagg.ConfigError, match="S3_BUCKET_NAME"):
        populate_line_item_daily_summary_table(
            "sqlite:///unused.sqlite", "org1", dt.date(2027, 1, 1), dt.date(2027, 1, 1), 1, "c", None, "s"
        )
