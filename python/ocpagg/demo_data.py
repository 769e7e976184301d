"""The demo's sample cluster-month in koku's hourly Parquet layout (SPEC §1), in plain pyarrow.

Five nodes (a master, an infra node, three workers), platform and application namespaces,
deployments with labels, a statefulset with volumes, one node relabelled mid-month: about 23,000
hourly pod rows (31 pods), the same every time. (The benchmarks' generator, ``benches/synth.py``, writes
clusters of any size.)
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import random
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from .layout import month_dir

GIB = 1024**3

# node, resource id, role label, cores, memory GiB
_NODES = (
    ("master-0", "i-0a1", "master", 8, 32),
    ("infra-0", "i-0b2", "infra", 8, 32),
    ("worker-0", "i-0c3", "worker", 16, 64),
    ("worker-1", "i-0d4", "worker", 16, 64),
    ("worker-2", "i-0e5", "worker", 16, 64),
)
# namespace, app, replicas, cpu request, memory request GiB, node choices
_WORKLOADS = (
    ("openshift-kube-apiserver", "kube-apiserver", 1, 1.0, 2.0, ("master-0",)),
    ("openshift-monitoring", "prometheus", 2, 1.0, 4.0, ("infra-0",)),
    ("openshift-ingress", "router", 2, 0.5, 1.0, ("infra-0",)),
    ("shop", "frontend", 6, 0.5, 1.0, ("worker-0", "worker-1", "worker-2")),
    ("shop", "payments", 4, 1.0, 2.0, ("worker-1", "worker-2")),
    ("analytics", "spark", 8, 2.0, 8.0, ("worker-0", "worker-1", "worker-2")),
    ("analytics", "postgres", 2, 1.0, 4.0, ("worker-2",)),
    ("ci", "runner", 6, 0.5, 2.0, ("worker-0", "worker-1")),
)
_ENVIRONMENT = {"shop": "prod", "analytics": "prod", "ci": "dev"}


@dataclass(frozen=True)
class DemoFiles:
    """What ``write_demo_month`` wrote."""

    root: str
    account: str
    source_uuid: str
    start_date: dt.date
    end_date: dt.date
    pod_rows: int


def _write(root: str, account: str, source: str, report: str, day: dt.date, rows: dict[str, list]) -> None:
    folder = month_dir(root, account, report, source, day.year, day.month)
    os.makedirs(folder, exist_ok=True)
    table = pa.table(rows)
    pq.write_table(table, f"{folder}/{report}_{day:%Y%m%d}.parquet")


def write_demo_month(root: str, *, account: str, source_uuid: str, year: int, month: int) -> DemoFiles:
    """Write the sample cluster's hourly files of one month under ``root`` (a local directory)."""
    rng = random.Random(7)
    days = calendar.monthrange(year, month)[1]
    period_start = dt.datetime(year, month, 1)
    period_end = period_start + dt.timedelta(days=days)
    pods = [
        (ns, app, f"{app}-{rng.randrange(16**6):06x}-{i}", rng.choice(nodes), cpu, mem)
        for ns, app, replicas, cpu, mem, nodes in _WORKLOADS
        for i in range(replicas)
    ]
    pod_rows = 0
    for d in range(1, days + 1):
        day = dt.date(year, month, d)
        pod: dict[str, list] = {k: [] for k in _POD_COLUMNS}
        storage: dict[str, list] = {k: [] for k in _STORAGE_COLUMNS}
        node_labels: dict[str, list] = {k: [] for k in ("interval_start", "node", "node_labels")}
        ns_labels: dict[str, list] = {k: [] for k in ("interval_start", "namespace", "namespace_labels")}
        for hour in range(24):
            start = dt.datetime(year, month, d, hour)
            for node, _, role, _, _ in _NODES:
                labels = {"node_role_kubernetes_io": role, "kubernetes_io_hostname": node}
                if node == "worker-2" and d > days // 2:
                    labels["topology_kubernetes_io_zone"] = "zone-b"  # relabelled mid-month
                node_labels["interval_start"].append(start)
                node_labels["node"].append(node)
                node_labels["node_labels"].append(json.dumps(labels))
            for ns in dict.fromkeys(w[0] for w in _WORKLOADS):
                ns_labels["interval_start"].append(start)
                ns_labels["namespace"].append(ns)
                environment = _ENVIRONMENT.get(ns, "platform")
                ns_labels["namespace_labels"].append(json.dumps({"environment": environment}))
            for ns, app, name, node, cpu, mem in pods:
                n = next(x for x in _NODES if x[0] == node)
                load = 0.3 + 0.6 * rng.random()
                pod["interval_start"].append(start)
                pod["namespace"].append(ns)
                pod["node"].append(node)
                pod["pod"].append(name)
                pod["resource_id"].append(n[1])
                pod["pod_labels"].append(json.dumps({"app": app, "team": ns}))
                pod["pod_usage_cpu_core_seconds"].append(cpu * load * 3600)
                pod["pod_request_cpu_core_seconds"].append(cpu * 3600)
                pod["pod_limit_cpu_core_seconds"].append(cpu * 2 * 3600)
                pod["pod_usage_memory_byte_seconds"].append(mem * GIB * (0.5 + 0.4 * load) * 3600)
                pod["pod_request_memory_byte_seconds"].append(mem * GIB * 3600)
                pod["pod_limit_memory_byte_seconds"].append(mem * GIB * 1.5 * 3600)
                pod["node_capacity_cpu_cores"].append(float(n[3]))
                pod["node_capacity_cpu_core_seconds"].append(n[3] * 3600.0)
                pod["node_capacity_memory_bytes"].append(float(n[4] * GIB))
                pod["node_capacity_memory_byte_seconds"].append(n[4] * GIB * 3600.0)
                if app == "postgres":
                    storage["interval_start"].append(start)
                    storage["namespace"].append(ns)
                    storage["pod"].append(name)
                    storage["persistentvolumeclaim"].append(f"data-{name}")
                    storage["persistentvolume"].append(f"pv-{name}")
                    storage["storageclass"].append("gp3-csi")
                    storage["persistentvolumeclaim_capacity_bytes"].append(100.0 * GIB)
                    storage["persistentvolumeclaim_capacity_byte_seconds"].append(100.0 * GIB * 3600)
                    storage["volume_request_storage_byte_seconds"].append(100.0 * GIB * 3600)
                    storage["persistentvolumeclaim_usage_byte_seconds"].append(40.0 * GIB * load * 3600)
                    storage["persistentvolume_labels"].append(json.dumps({"app": app}))
                    storage["persistentvolumeclaim_labels"].append(json.dumps({"environment": "prod"}))
        for rows in (pod, storage, node_labels, ns_labels):
            starts = rows["interval_start"]
            rows["report_period_start"] = [period_start] * len(starts)
            rows["report_period_end"] = [period_end] * len(starts)
            rows["interval_end"] = [s + dt.timedelta(hours=1) for s in starts]
            rows["interval_start"] = pa.array(starts, pa.timestamp("ms"))
        pod_rows += len(pod["pod"])
        _write(root, account, source_uuid, "pod_usage", day, pod)
        _write(root, account, source_uuid, "storage_usage", day, storage)
        _write(root, account, source_uuid, "node_labels", day, node_labels)
        _write(root, account, source_uuid, "namespace_labels", day, ns_labels)
    first, last = dt.date(year, month, 1), dt.date(year, month, days)
    return DemoFiles(root, account, source_uuid, first, last, pod_rows)


_POD_COLUMNS = (
    "interval_start",
    "namespace",
    "node",
    "pod",
    "resource_id",
    "pod_labels",
    "pod_usage_cpu_core_seconds",
    "pod_request_cpu_core_seconds",
    "pod_limit_cpu_core_seconds",
    "pod_usage_memory_byte_seconds",
    "pod_request_memory_byte_seconds",
    "pod_limit_memory_byte_seconds",
    "node_capacity_cpu_cores",
    "node_capacity_cpu_core_seconds",
    "node_capacity_memory_bytes",
    "node_capacity_memory_byte_seconds",
)
_STORAGE_COLUMNS = (
    "interval_start",
    "namespace",
    "pod",
    "persistentvolumeclaim",
    "persistentvolume",
    "storageclass",
    "persistentvolumeclaim_capacity_bytes",
    "persistentvolumeclaim_capacity_byte_seconds",
    "volume_request_storage_byte_seconds",
    "persistentvolumeclaim_usage_byte_seconds",
    "persistentvolume_labels",
    "persistentvolumeclaim_labels",
)
