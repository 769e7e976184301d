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
from .params import RunParameters
from .run import RunObserver, RunResult, run_summary
from .sinks.connect import resolve_database
from .sinks.seed import SUMMARY_TABLE
from .storage import S3Storage

LOG = get_logger(__name__)

__all__ = ["RunResult", "S3Storage", "as_date", "populate_line_item_daily_summary_table", "resolve_storage"]

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
    return run_summary(
        params,
        db=database,
        schema=schema,
        hive_output=hive_output,
        hive_fs=fs if hive_output else None,
        on_day=on_day,
        allow_missing_days=allow_missing_days,
        target_table=shadow_table or SUMMARY_TABLE,
        observer=run_observer,
        tracing_id=tracing_id,
    )
