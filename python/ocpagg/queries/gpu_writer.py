"""Writing the GPU usage-only rows (SPEC §7) into koku's reporting_ocp_gpu_summary_p.

Under koku's conditions (GPU data for the source; no tag-based GPU rate; a cluster id). The rows
are computed and checked first; then, in one transaction, the source's earlier usage-only rows of
the range are deleted and the new ones inserted. Cost-model rows are never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, WriteError
from ..layout import source_has_report
from ..sinks import DatabaseSink, one_line
from ..storage import filesystem_for
from .gpu import GPU_SUMMARY_SCHEMA, gpu_summary_rows
from .scan import require_daily_files

LOG = logging.getLogger(__name__)

GPU_TABLE = "reporting_ocp_gpu_summary_p"
_NUMERIC = {"memory_capacity_gb", "mig_memory_capacity_gb"}


@dataclass
class GpuCounts:
    """What a GPU usage-only write did; ``skipped`` names the koku condition that stopped it."""

    deleted: int = 0
    inserted: int = 0
    skipped: str | None = None


def _usage_only_filter(sink: DatabaseSink) -> tuple[str, list[str]]:
    p = sink.placeholders(3)
    return (
        f"source_uuid = CAST({p[0]} AS uuid) AND usage_start >= {p[1]} AND usage_start <= {p[2]} "
        "AND cost_model_rate_type IS NULL AND cost_model_gpu_cost IS NULL",
        p,
    )


def populate_gpu_summary(
    sink: DatabaseSink,
    root: str,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    cluster_id: str | None,
    cluster_alias: str | None = None,
    gpu_tag_rate: bool = False,
    cost_categories: Iterable[tuple[str, int]] | None = None,
    allow_missing: bool = False,
    filesystem: Any = None,
) -> GpuCounts:
    """koku's ``_populate_gpu_ui_summary_table_with_usage_only`` from the Parquet trees; commits.

    ``gpu_tag_rate``: whether the source's cost model has a tag-based ``gpu_cost_per_month`` rate
    (koku then skips this step). ``cost_categories`` default to the schema's
    reporting_ocp_cost_category_namespace rows.
    """
    if not cluster_id:
        return GpuCounts(skipped="the source has no cluster id")
    if gpu_tag_rate:
        return GpuCounts(skipped="the cost model sets a tag-based GPU rate")
    fs, base = filesystem_for(root, filesystem)
    if not source_has_report(fs, base, account, source_uuid, "gpu_usage", daily=True):
        return GpuCounts(skipped="the source has no GPU data")
    sink.check_idle()
    for name in (GPU_TABLE, "reporting_tenant_api_provider"):
        if not sink.has_table(name):
            raise ConfigError(f"no table {sink.describe(name)}")
    try:
        if cost_categories is None:
            cost_categories = [
                (str(pattern), int(cid))
                for pattern, cid in sink.query(
                    "SELECT namespace, cost_category_id FROM "
                    f"{sink.table('reporting_ocp_cost_category_namespace')}"
                )
            ]
        p = sink.placeholders(1)
        if not sink.query(
            f"SELECT 1 FROM {sink.table('reporting_tenant_api_provider')} WHERE uuid = CAST({p[0]} AS uuid)",
            [str(source_uuid)],
        ):
            raise ConfigError(
                f"provider {source_uuid} is not in {sink.describe('reporting_tenant_api_provider')}"
            )
        where, _ = _usage_only_filter(sink)
        has_old = bool(
            sink.query(
                f"SELECT 1 FROM {sink.table(GPU_TABLE)} WHERE {where} LIMIT 1",
                [str(source_uuid), start_date, end_date],
            )
        )
    finally:
        sink.rollback()  # end the read transaction (ours: the connection was idle)
    if has_old and not allow_missing:
        require_daily_files(fs, base, account, source_uuid, "gpu_usage", start_date, ", and rows to replace")
    rows = gpu_summary_rows(
        root,
        account=account,
        source_uuid=source_uuid,
        start_date=start_date,
        end_date=end_date,
        cluster_id=cluster_id,
        cluster_alias=cluster_alias,
        cost_categories=cost_categories,
        filesystem=filesystem,
    )
    months = sorted({d.replace(day=1) for d in rows.column("usage_start").to_pylist()})
    _ensure_partitions(sink, months)
    counts = GpuCounts()
    names = list(GPU_SUMMARY_SCHEMA.names)
    q = sink.placeholders(len(names))
    values = ", ".join(
        f"CAST(CAST({q[i]} AS TEXT) AS numeric(33,15))"
        if n in _NUMERIC
        else f"CAST({q[i]} AS uuid)"
        if n == "source_uuid"
        else f"CAST({q[i]} AS date)"
        if n in ("usage_start", "usage_end")
        else q[i]
        for i, n in enumerate(names)
    )
    insert = (
        f"INSERT INTO {sink.table(GPU_TABLE)} (id, {', '.join(names)}) VALUES (gen_random_uuid(), {values})"
    )
    try:
        if getattr(sink, "schema", None) is not None:
            sink.query("SELECT pg_advisory_xact_lock(hashtext($1))", [f"ocpagg-gpu:{source_uuid}"])
        counts.deleted = max(
            sink.counted(
                f"DELETE FROM {sink.table(GPU_TABLE)} WHERE {where}", [str(source_uuid), start_date, end_date]
            ),
            0,
        )
        for row in rows.to_pylist():
            sink.execute(
                insert, [repr(row[n]) if n in _NUMERIC and row[n] is not None else row[n] for n in names]
            )
            counts.inserted += 1
        sink.commit()
    except Exception as exc:
        sink.rollback()
        raise WriteError(f"GPU usage-only rows of {source_uuid}: {one_line(exc)}") from exc
    LOG.info(
        "GPU usage-only rows of %s %s..%s: %d deleted, %d inserted",
        source_uuid,
        start_date,
        end_date,
        counts.deleted,
        counts.inserted,
    )
    return counts


def _ensure_partitions(sink: DatabaseSink, months: list[dt.date]) -> None:
    """The monthly partitions of the GPU table, each committed in a short transaction of its own."""
    ensure = getattr(sink, "ensure_partition", None)
    if ensure is None or not months:
        return
    saved = sink.target
    sink.target = GPU_TABLE
    try:
        for month in months:
            try:
                ensure(month)
                sink.commit()
            except Exception:
                sink.rollback()
                raise
    finally:
        sink.target = saved
