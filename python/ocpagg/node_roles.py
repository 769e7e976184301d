"""Node roles derived from the Parquet files, for runs without MASU to fill reporting_ocp_nodes.

koku's MASU fills ``reporting_ocp_nodes`` before summarizing (koku's get_nodes_query_sql): per
(node, resource_id) of the pod rows in the range, the operator's ``node_role`` where present, else
``master`` for a node running pods in ``openshift-kube-apiserver``, else ``infra`` for a node whose
labels text holds ``"node_role_kubernetes_io": "infra"``, else ``worker``. Its pod/label join is an
inner join: a node with no node_labels row in the range gets no role at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import InputError
from .layout import FileEntry, list_month_entries
from .logs import get_logger
from .params import month_ranges
from .reader import FOOTERS
from .storage import filesystem_for

LOG = get_logger(__name__)

MASTER_NAMESPACE = "openshift-kube-apiserver"
INFRA_LABEL_TEXT = '"node_role_kubernetes_io": "infra"'


BATCH_ROWS = 64 * 1024


def _read_columns(
    fs: fsspec.AbstractFileSystem, entry: FileEntry, wanted: list[str], start: dt.date, end: dt.date
) -> Iterator[pa.Table]:
    """Batches of the ``wanted`` columns (NULL when absent, as strings), interval_start in [start, end]."""
    low = pa.scalar(dt.datetime.combine(start, dt.time()), pa.timestamp("ms"))
    high = pa.scalar(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()), pa.timestamp("ms"))
    path = entry.path
    try:
        metadata = FOOTERS.get(fs, path, entry.version, entry.size)
        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle, metadata=metadata)
            names = set(parquet.schema_arrow.names)
            if "interval_start" not in names:
                raise InputError(path, "column interval_start is missing")
            columns = ["interval_start", *(c for c in wanted if c in names)]
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                table = pa.Table.from_batches([batch])
                ts = table.column("interval_start").cast(pa.timestamp("ms"))
                table = table.filter(pc.and_(pc.greater_equal(ts, low), pc.less(ts, high)))
                if table.num_rows == 0:
                    continue
                arrays = []
                for name in wanted:
                    if name not in table.column_names:
                        arrays.append(pa.nulls(table.num_rows, pa.string()))
                        continue
                    column = table.column(name)
                    if pa.types.is_dictionary(column.type):
                        column = column.cast(column.type.value_type)
                    arrays.append(column.cast(pa.string()))
                yield pa.table(arrays, names=wanted)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the file name
        raise InputError(path, f"unreadable Parquet file ({exc})") from exc


def _scan_pods(
    table: pa.Table, api_nodes: dict[tuple[str, str], bool], operator_role: dict[tuple[str, str], str]
) -> None:
    """Fold a batch of pod rows into: runs apiserver pods, max operator role, per (node, resource_id)."""
    table = table.append_column(
        "is_api", pc.fill_null(pc.equal(table.column("namespace"), MASTER_NAMESPACE), False)
    )
    role = table.column("node_role")
    table = table.set_column(3, "node_role", pc.if_else(pc.equal(role, ""), None, role))
    grouped = table.group_by(["node", "resource_id"]).aggregate([("is_api", "any"), ("node_role", "max")])
    for node, resource_id, is_api, role_max in zip(
        grouped.column("node").to_pylist(),
        grouped.column("resource_id").to_pylist(),
        grouped.column("is_api_any").to_pylist(),
        grouped.column("node_role_max").to_pylist(),
        strict=True,
    ):
        key = (node, resource_id)
        api_nodes[key] = api_nodes.get(key, False) or bool(is_api)
        if role_max is not None and (key not in operator_role or role_max > operator_role[key]):
            operator_role[key] = role_max


def derive_node_roles(
    root: str,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    fs: fsspec.AbstractFileSystem | None = None,
) -> list[tuple[str, str, str]]:
    """(node, resource_id, node_role) for the source's nodes in the inclusive range, as koku derives them."""
    fs, base = filesystem_for(root, fs)
    api_nodes: dict[tuple[str, str], bool] = {}
    operator_role: dict[tuple[str, str], str] = {}
    labelled: set[str] = set()
    infra: set[str] = set()
    for year, month, days in month_ranges(start_date, end_date):
        files = list_month_entries(fs, base, account, source_uuid, year, month)
        for entry in files["pod_usage"]:
            wanted = ["node", "resource_id", "namespace", "node_role"]
            for table in _read_columns(fs, entry, wanted, days[0], days[-1]):
                _scan_pods(table, api_nodes, operator_role)
        for entry in files["node_labels"]:
            for table in _read_columns(fs, entry, ["node", "node_labels"], days[0], days[-1]):
                flag = pc.fill_null(pc.match_substring(table.column("node_labels"), INFRA_LABEL_TEXT), False)
                grouped = (
                    table.append_column("is_infra", flag).group_by(["node"]).aggregate([("is_infra", "any")])
                )
                for node, is_infra in zip(
                    grouped.column("node").to_pylist(),
                    grouped.column("is_infra_any").to_pylist(),
                    strict=True,
                ):
                    labelled.add(node)
                    if is_infra:
                        infra.add(node)
    roles = []
    for (node, resource_id), is_api in sorted(
        api_nodes.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")
    ):
        if node is None or resource_id is None or node not in labelled:
            continue
        role = operator_role.get((node, resource_id))
        if role is None:
            role = "master" if is_api else "infra" if node in infra else "worker"
        roles.append((node, resource_id, role))
    return roles
