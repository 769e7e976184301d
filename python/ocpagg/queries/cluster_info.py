"""Cluster information (SPEC §6): the nodes, PVCs and projects koku records for a source and range.

These are the rows of koku's ``get_nodes_trino``, ``get_pvcs_trino`` and ``get_projects_trino``,
computed from the daily pod_usage, node_labels and storage_usage trees of ``start_date``'s month.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..storage import filesystem_for
from .fold import Folder
from .scan import NUMBER, STRING, TIMESTAMP, Columns, day_range, month_files, scan_tables

LOG = logging.getLogger(__name__)

APISERVER_NAMESPACE = "openshift-kube-apiserver"
# koku's SQL LIKE pattern on the node-labels JSON text ("_" matches any one character).
INFRA_LABEL_PATTERN = '%"node_role_kubernetes_io": "infra"%'
ARCH_KEY = "kubernetes_io_arch"

NODES_SCHEMA = pa.schema(
    [
        ("node", pa.string()),
        ("resource_id", pa.string()),
        ("node_capacity_cpu_cores", pa.float64()),
        ("node_role", pa.string()),
        ("architecture", pa.string()),
    ]
)
PVCS_SCHEMA = pa.schema(
    [
        ("persistentvolume", pa.string()),
        ("persistentvolumeclaim", pa.string()),
        ("csi_volume_handle", pa.string()),
    ]
)
PROJECTS_SCHEMA = pa.schema([("namespace", pa.string())])

_POD = Columns(
    required={
        "interval_start": TIMESTAMP,
        "namespace": STRING,
        "node": STRING,
        "resource_id": STRING,
        "node_capacity_cpu_cores": NUMBER,
    },
    optional={"node_role": STRING},
)
_NODE_LABELS = Columns(required={"interval_start": TIMESTAMP, "node": STRING, "node_labels": STRING})
_STORAGE = Columns(
    required={"interval_start": TIMESTAMP, "persistentvolume": STRING, "persistentvolumeclaim": STRING},
    optional={"csi_volume_handle": STRING},
)


@dataclass(frozen=True)
class ClusterInformation:
    """The three result sets of koku's cluster-information queries."""

    nodes: pa.Table  # node, resource_id, node_capacity_cpu_cores, node_role, architecture
    pvcs: pa.Table  # persistentvolume, persistentvolumeclaim, csi_volume_handle
    projects: pa.Table  # namespace


def json_extract_scalar(text: str | None, key: str) -> str | None:
    """Trino's ``json_extract_scalar(text, '$.key')``: a scalar member as text, else NULL."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_float=str, parse_int=str)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    member = value.get(key)
    if isinstance(member, bool):
        return "true" if member else "false"
    if isinstance(member, str):
        return member
    return None


def _nodes(pod_parts: Folder, label_parts: Folder) -> pa.Table:
    pods = pod_parts.result(
        pa.schema(
            [
                ("node", pa.string()),
                ("resource_id", pa.string()),
                ("capacity", pa.float64()),
                ("role", pa.string()),
                ("apiserver", pa.bool_()),
            ]
        )
    )
    labels = label_parts.result(
        pa.schema([("node", pa.string()), ("infra", pa.bool_()), ("labels", pa.string())])
    )
    # The SQL's WHERE on the label side makes its LEFT JOIN an inner join: a node needs label rows.
    joined = pods.filter(pc.is_valid(pods.column("node"))).join(labels, "node", join_type="inner")
    joined = joined.sort_by([("node", "ascending"), ("resource_id", "ascending")])
    rows = []
    for row in joined.to_pylist():
        role = row["role"]
        if role is None:
            role = "master" if row["apiserver"] else "infra" if row["infra"] else "worker"
        arch = json_extract_scalar(row["labels"], ARCH_KEY)
        rows.append(
            {
                "node": row["node"],
                "resource_id": row["resource_id"],
                "node_capacity_cpu_cores": row["capacity"],
                "node_role": role,
                "architecture": arch.lower() if arch is not None else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=NODES_SCHEMA)


def cluster_information(
    root: str,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    filesystem: Any = None,
) -> ClusterInformation:
    """The nodes, PVCs and projects of a source's daily rows in ``[start_date, end_date]`` (start's month)."""
    fs, base = filesystem_for(root, filesystem)
    low, high = day_range(start_date, end_date)

    def files(report_type: str) -> list[str]:
        return month_files(fs, base, account, source_uuid, report_type, start_date, daily=True)

    pod_parts = Folder(
        ["node", "resource_id"],
        {
            "capacity": ("node_capacity_cpu_cores", "max"),
            "role": ("node_role", "max"),
            "apiserver": ("apiserver", "any"),
        },
    )
    project_parts = Folder(["namespace"], {})
    for table in scan_tables(fs, files("pod_usage"), _POD, low=low, high=high):
        table = table.append_column("apiserver", pc.equal(table.column("namespace"), APISERVER_NAMESPACE))
        pod_parts.add(table)
        project_parts.add(table.select(["namespace"]))

    label_parts = Folder(["node"], {"infra": ("infra", "any"), "labels": ("node_labels", "max")})
    for table in scan_tables(fs, files("node_labels"), _NODE_LABELS, low=low, high=high):
        infra = pc.match_like(table.column("node_labels"), INFRA_LABEL_PATTERN)
        label_parts.add(table.append_column("infra", infra))

    pvc_parts = Folder(["persistentvolume", "persistentvolumeclaim", "csi_volume_handle"], {})
    for table in scan_tables(fs, files("storage_usage"), _STORAGE, low=low, high=high):
        pvc_parts.add(table)

    nodes = _nodes(pod_parts, label_parts)
    pvcs = pvc_parts.result(PVCS_SCHEMA).sort_by(
        [(c, "ascending") for c in ("persistentvolume", "persistentvolumeclaim", "csi_volume_handle")]
    )
    projects = project_parts.result(PROJECTS_SCHEMA).sort_by([("namespace", "ascending")])
    LOG.info(
        "cluster information of %s %s..%s: %d nodes, %d PVCs, %d projects",
        source_uuid,
        start_date,
        end_date,
        nodes.num_rows,
        pvcs.num_rows,
        projects.num_rows,
    )
    return ClusterInformation(nodes=nodes, pvcs=pvcs, projects=projects)
