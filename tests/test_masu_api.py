"""``ocpagg.masu``: koku's accessor arguments, explicit database settings and storage, no environment."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import koku_ddl
import ocpagg
import pytest
from compare import assert_tables_match
from conftest import S3_KEY, S3_REGION, S3_SECRET, SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from ocpagg.masu import S3Storage, populate_line_item_daily_summary_table
from test_e2e_postgres import ALIAS, CLUSTER, PERIOD, expected_small, prepare_small


@pytest.fixture
def no_s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """koku's worker pods: AWS_* variables of another account, no S3_* ones."""
    import os

    for name in [n for n in os.environ if n.startswith(("AWS_", "S3_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "another-account")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: must not be used


def test_explicit_s3_storage_and_url(
    tmp_path: Path,
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    s3_endpoint: str,
    s3_upload: Callable[[Path], str],
    no_s3_env: None,
) -> None:
    kw = write_small_cluster(tmp_path, account=pg_schema)
    bucket = s3_upload(tmp_path).removeprefix("s3://")
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    storage = S3Storage(
        bucket, endpoint_url=s3_endpoint, access_key=S3_KEY, secret_key=S3_SECRET, region=S3_REGION
    )
    result = populate_line_item_daily_summary_table(
        pg_schema,
        kw["start_date"].isoformat(),  # koku passes strings, dates or datetimes
        dt.datetime.combine(kw["end_date"], dt.time()),
        PERIOD,
        CLUSTER,
        ALIAS,
        uuid.UUID(SMALL_SOURCE),
        database=pg_url,
        storage=storage,
    )
    expected = expected_small(tmp_path, kw, pg_conn, pg_schema)
    assert result.rows == expected.num_rows > 0
    assert result.rows_by_data_source["Pod"] + result.rows_by_data_source.get("Storage", 0) <= result.rows
    assert_tables_match(koku_ddl.read_summary(pg_conn, pg_schema), expected)
    assert "secret" not in repr(storage) and S3_SECRET not in repr(storage).replace("***", "")


def test_fsspec_filesystem_and_root(tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    kw = write_small_cluster(tmp_path, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    result = populate_line_item_daily_summary_table(
        pg_schema,
        kw["start_date"],
        kw["end_date"],
        PERIOD,
        CLUSTER,
        ALIAS,
        SMALL_SOURCE,
        database=pg_url,
        storage=(fsspec.filesystem("file"), str(tmp_path)),
    )
    expected = expected_small(tmp_path, kw, pg_conn, pg_schema)
    assert result.rows == expected.num_rows
    assert_tables_match(koku_ddl.read_summary(pg_conn, pg_schema), expected)


def test_storage_must_be_explicit() -> None:
    with pytest.raises(ocpagg.ConfigError, match="storage must be"):
        populate_line_item_daily_summary_table(
            "org1",
            dt.date(2027, 1, 1),
            dt.date(2027, 1, 1),
            1,
            "c",
            None,
            "s",
            database="sqlite:///unused.sqlite",
            storage="s3://bucket",  # type: ignore[arg-type]
        )


def test_s3_storage_needs_both_keys() -> None:
    with pytest.raises(ocpagg.ConfigError, match="both access_key and secret_key"):
        S3Storage("bucket", access_key="k")
