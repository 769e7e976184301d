"""The one module koku's MASU imports: its Trino calls for OpenShift, answered by ocpagg.

Configuration is explicit: ``database`` names the database (a ``postgresql://`` URL, a libpq
keyword string, or Django's ``DATABASES['default']`` entry) and ocpagg opens, owns and closes its
connection and its one transaction; ``storage`` is an ``S3Storage`` built from koku's settings,
or an fsspec filesystem and a root. Nothing is read from environment variables.

**Fallback contract.** Every exception raised here is an ``ocpagg.OcpaggError`` with
``database_committed``. False: the run failed before its commit and every table is exactly as
before it, so koku may run its Trino path for that chunk. True: the database rows were committed
and only a step after the commit failed (publishing the Hive twin); do not run Trino again for
the chunk — rerun ocpagg, or sync the Hive partitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import fsspec

from .errors import ConfigError
from .layout import account_from_schema
from .logs import get_logger
from .memory import lean_allocator
from .params import RunParameters
from .run import RunObserver, RunResult, run_summary, target_table_for
from .sinks.connect import resolve_database
from .storage import S3Storage

LOG = get_logger(__name__)

__all__ = [
    "RunResult",
    "S3Storage",
    "as_date",
    "get_max_min_timestamp_from_parquet",
    "populate_gpu_ui_summary_table_with_usage_only",
    "populate_line_item_daily_summary_table",
    "populate_openshift_cluster_information_tables",
    "resolve_storage",
    "vm_request_rows",
]

Storage = S3Storage | tuple[fsspec.AbstractFileSystem, str]


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    """A date from a date, a datetime or an ISO string (koku passes all three)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(str(value)).date()
    except ValueError as exc:
        raise ConfigError(f"not a date: {value!r}") from exc


def resolve_storage(storage: Storage) -> tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, root) from an S3Storage or an (fsspec filesystem, root) pair."""
    if isinstance(storage, S3Storage):
        return storage.filesystem(), storage.root
    if (
        isinstance(storage, tuple)
        and len(storage) == 2
        and isinstance(storage[0], fsspec.AbstractFileSystem)
        and isinstance(storage[1], str)
    ):
        return storage[0], storage[1]
    raise ConfigError("storage must be an ocpagg.masu.S3Storage or an (fsspec filesystem, root) pair")


def populate_line_item_daily_summary_table(
    schema: str,
    start_date: dt.date | dt.datetime | str,
    end_date: dt.date | dt.datetime | str,
    report_period_id: int,
    cluster_id: str,
    cluster_alias: str | None,
    source: Any,
    *,
    database: str | Mapping[str, Any],
    storage: Storage,
    hive_output: str | None = None,
    allow_missing_days: bool = False,
    tracing_id: str | None = None,
    on_day: Callable[[dt.date], None] | None = None,
    shadow_table: str | None = None,
    registry: Any = None,
    observer: RunObserver | None = None,
) -> RunResult:
    """koku's ``populate_line_item_daily_summary_table_trino``: delete and insert in one transaction.

    The arguments before ``*`` are koku's accessor arguments (``source`` is the provider UUID).
    ``hive_output`` (a root on the same storage, e.g. ``s3://bucket``) also writes the Hive twin;
    ``RunResult.hive_partitions`` lists its partitions for koku's metastore sync.
    ``allow_missing_days`` lets a day with rows in the table and no pod_usage input be replaced
    with nothing (by default such a run is refused before anything is deleted). ``shadow_table``
    writes a table of the same shape instead of koku's (the parallel run). ``registry`` is a
    ``prometheus_client`` registry for ocpagg's metrics (needs ``ocpagg[metrics]``).

    Raises ``OcpaggError`` subclasses carrying ``database_committed`` (see the module docstring).
    """
    if not isinstance(database, str | Mapping):
        resolve_database(database)  # a ConfigError saying what to pass instead
        raise ConfigError(
            "database must be settings (a postgresql:// URL, a libpq keyword string or Django's "
            "DATABASES entry), not a connection: ocpagg opens and owns its connection"
        )
    fs, root = resolve_storage(storage)
    params = RunParameters(
        root=root,
        account=account_from_schema(schema),
        source_uuid=str(source),
        start_date=as_date(start_date),
        end_date=as_date(end_date),
        report_period_id=int(report_period_id),
        cluster_id=str(cluster_id),
        cluster_alias=cluster_alias,
        filesystem=fs,
    )
    run_observer = observer
    if registry is not None and run_observer is None:
        from .metrics import RunMetrics

        run_observer = RunMetrics(registry)
    context = {"schema": schema, "source": params.source_uuid, "tracing_id": tracing_id or ""}
    LOG.info(
        "ocpagg summary %s..%s report period %s",
        params.start_date,
        params.end_date,
        report_period_id,
        extra=context,
    )
    with lean_allocator():  # for this call only: the worker's other pyarrow work keeps its pool
        return run_summary(
            params,
            db=database,
            schema=schema,
            hive_output=hive_output,
            hive_fs=fs if hive_output else None,
            on_day=on_day,
            allow_missing_days=allow_missing_days,
            target_table=target_table_for(shadow_table),
            observer=run_observer,
            tracing_id=tracing_id,
        )


def _settings_only(database: Any) -> None:
    if not isinstance(database, str | Mapping):
        resolve_database(database)  # a ConfigError saying what to pass instead
        raise ConfigError("database must be settings, not a connection: ocpagg opens and owns its connection")


def _with_sink(database: Any, schema: str, work: Callable[[Any], Any]) -> Any:
    """Run ``work(sink)`` on a connection ocpagg opens and closes; errors carry database_committed."""
    from .errors import OcpaggError, WriteError
    from .sinks import one_line, open_sink

    _settings_only(database)
    sink = open_sink(database, schema)
    try:
        return work(sink)
    except OcpaggError as exc:
        exc.database_committed = False  # the writers commit last: a failure is before the commit
        raise
    except Exception as exc:
        error = WriteError(one_line(exc))
        error.database_committed = False
        raise error from exc
    finally:
        sink.close()


def _query_args(
    schema: str, source: Any, start_date: Any, end_date: Any, storage: Storage
) -> tuple[str, dict[str, Any]]:
    """(root, keywords) shared by the other queries: account, source, dates and the filesystem."""
    fs, root = resolve_storage(storage)
    return root, {
        "account": account_from_schema(schema),
        "source_uuid": str(getattr(source, "uuid", source)),
        "start_date": as_date(start_date),
        "end_date": as_date(end_date),
        "filesystem": fs,
    }


def get_max_min_timestamp_from_parquet(
    schema: str,
    source: Any,
    start_date: dt.date | dt.datetime | str,
    end_date: dt.date | dt.datetime | str,
    *,
    storage: Storage,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """koku's ``get_max_min_timestamp_from_parquet``: (min, max) interval_start, or (None, None).

    koku's accessor then falls back to the range's own dates; that step stays the caller's.
    """
    from .queries import usage_bounds

    root, args = _query_args(schema, source, start_date, end_date, storage)
    return usage_bounds(root, **args)


def populate_openshift_cluster_information_tables(
    schema: str,
    source: Any,
    cluster_id: str,
    cluster_alias: str | None,
    start_date: dt.date | dt.datetime | str,
    end_date: dt.date | dt.datetime | str,
    *,
    database: str | Mapping[str, Any],
    storage: Storage,
) -> Any:
    """koku's ``populate_openshift_cluster_information_tables`` (clusters, nodes, PVCs, projects).

    ``source`` is koku's provider (its UUID). One transaction; returns the ``ClusterCounts``.
    """
    from .queries import populate_cluster_information

    root, args = _query_args(schema, source, start_date, end_date, storage)
    return _with_sink(
        database,
        schema,
        lambda sink: populate_cluster_information(
            sink, root, cluster_id=cluster_id, cluster_alias=cluster_alias, **args
        ),
    )


def populate_gpu_ui_summary_table_with_usage_only(
    schema: str,
    start_date: dt.date | dt.datetime | str,
    end_date: dt.date | dt.datetime | str,
    source: Any,
    cluster_id: str | None,
    cluster_alias: str | None,
    *,
    database: str | Mapping[str, Any],
    storage: Storage,
    gpu_tag_rate: bool = False,
) -> Any:
    """koku's usage-only GPU UI summary (``reporting_ocp_gpu_summary_p``); returns the ``GpuCounts``.

    ``gpu_tag_rate``: the source's cost model sets a tag-based GPU rate (koku then skips this step).
    """
    from .queries import populate_gpu_summary

    root, args = _query_args(schema, source, start_date, end_date, storage)
    return _with_sink(
        database,
        schema,
        lambda sink: populate_gpu_summary(
            sink, root, cluster_id=cluster_id, cluster_alias=cluster_alias, gpu_tag_rate=gpu_tag_rate, **args
        ),
    )


def vm_request_rows(
    schema: str,
    source: Any,
    start_date: dt.date | dt.datetime | str,
    end_date: dt.date | dt.datetime | str,
    *,
    storage: Storage,
    summary: Any = None,
) -> Any:
    """The rows of koku's virtualization temporary table (``populate_vm_tmp_table*.sql``), as Arrow.

    ``summary``: the schema's daily summary rows, needed when the source has no vm_usage report.
    koku inserts these rows into its temporary table and runs its PostgreSQL step unchanged.
    """
    from .queries import vm_request_rows as rows

    root, args = _query_args(schema, source, start_date, end_date, storage)
    return rows(root, summary=summary, **args)
