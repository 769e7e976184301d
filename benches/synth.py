"""A fast synthetic cluster-month in koku's hourly Parquet layout, for benchmarks and the demo.

``write_cluster_month`` writes the four hourly report types of one source and month (SPEC §1) at
any size: the pods of a cluster are fixed slots, each day decides (by hashing, with no state carried
between days) which pod name and node each slot has, and the rows of a day are generated in
vectorised chunks and written one row group at a time. Memory is bounded by one chunk plus the
per-pod tables of the cluster, whatever the number of rows, and days can be written by several
processes at once. The same seed gives the same files.

The shape follows a real OpenShift cluster: about 40 pods per namespace in deployments of a few
replicas (a few dozen label sets per namespace), statefulsets with a volume per pod, shared
(RWX) volumes mounted by every replica of a deployment, master/infra/worker nodes with
capacities, a few pending pods on no node, pod churn, and one node relabelled each day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import math
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ocpagg.layout import month_dir

LOG = logging.getLogger(__name__)

# koku's post-processor writes files of at most PARQUET_PROCESSING_BATCH_SIZE (200,000) rows.
ROW_GROUP_ROWS = 200_000
PODS_PER_NAMESPACE = 40
PODS_PER_NODE = 30
ENABLED_KEYS = ("app", "environment", "team", "cost_center", "node_pool", "vm_kubevirt_io_name")

# koku's default Platform category (id 1) and two more categories of user namespaces.
COST_CATEGORIES = (
    ("openshift-%", 1),
    ("kube-%", 1),
    ("Platform unallocated", 1),
    ("openshift", 1),
    ("payments-%", 2),
    ("data-prod-%", 3),
)

_GIB = float(2**30)
_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)

_SYSTEM_NAMESPACES = (
    "openshift-monitoring",
    "openshift-ingress",
    "openshift-dns",
    "openshift-etcd",
    "openshift-apiserver",
    "openshift-kube-apiserver",
    "openshift-sdn",
    "openshift-image-registry",
    "openshift-logging",
    "openshift-console",
    "openshift-marketplace",
    "openshift-operators",
    "kube-system",
    "openshift-cluster-node-tuning-operator",
    "openshift-machine-config-operator",
    "openshift-authentication",
)
_TEAMS = ("payments", "search", "identity", "data", "platform", "mobile", "web", "ml", "billing", "ops")
_ENVS = ("prod", "stage", "dev", "qa")
_COMPONENTS = ("api", "worker", "frontend", "cache", "db", "queue", "scheduler", "gateway", "auth", "etl")
_STORAGE_CLASSES = ("gp3-csi", "gp2", "ocs-storagecluster-cephfs", "ocs-storagecluster-ceph-rbd")
_POD_TYPE = {
    "report_period_start": pa.timestamp("ms"),
    "report_period_end": pa.timestamp("ms"),
    "interval_start": pa.timestamp("ms"),
    "interval_end": pa.timestamp("ms"),
}

# Which columns keep a Parquet dictionary: the strings and timestamps (random floats gain nothing).
_DICT_COLUMNS = {
    "pod_usage": [
        *_POD_TYPE,
        "pod",
        "namespace",
        "node",
        "resource_id",
        "pod_labels",
        "node_role",
        "node_capacity_cpu_cores",
        "node_capacity_cpu_core_seconds",
        "node_capacity_memory_bytes",
        "node_capacity_memory_byte_seconds",
    ],
    "storage_usage": [
        *_POD_TYPE,
        "namespace",
        "pod",
        "persistentvolumeclaim",
        "persistentvolume",
        "storageclass",
        "node",
        "csi_driver",
        "csi_volume_handle",
        "persistentvolume_labels",
        "persistentvolumeclaim_labels",
    ],
    "node_labels": [*_POD_TYPE, "node", "node_labels"],
    "namespace_labels": [*_POD_TYPE, "namespace", "namespace_labels"],
}


@dataclass(frozen=True)
class SynthInfo:
    """What ``write_cluster_month`` wrote, and reference data that fits it."""

    root: str
    account: str
    source_uuid: str
    year: int
    month: int
    days: tuple[dt.date, ...]
    pods_per_hour: int
    nodes: int
    namespaces: int
    rows: dict[str, int]
    files: dict[str, int]
    bytes_written: int
    enabled_keys: tuple[str, ...] = ENABLED_KEYS
    cost_categories: tuple[tuple[str, int], ...] = ()
    node_roles: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)

    @property
    def pod_rows(self) -> int:
        """Hourly pod_usage rows written."""
        return self.rows["pod_usage"]

    @property
    def start_date(self) -> dt.date:
        return self.days[0]

    @property
    def end_date(self) -> dt.date:
        return self.days[-1]

    def summarize_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ocpagg.summarize_table`` (less the row constants) for these files."""
        return {
            "account": self.account,
            "source_uuid": self.source_uuid,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "enabled_keys": self.enabled_keys,
            "cost_categories": self.cost_categories,
            "node_roles": self.node_roles,
        }


def _mix(*parts: np.ndarray | int) -> np.ndarray:
    """splitmix64 of the combined inputs, elementwise (a stateless, vectorised hash)."""
    with np.errstate(over="ignore"):
        h = np.uint64(0x9E3779B97F4A7C15)
        for part in parts:
            h = h ^ np.asarray(part).astype(np.uint64)
            h = h + np.uint64(0x9E3779B97F4A7C15)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
        return np.asarray(h, dtype=np.uint64) & _M64


_B36 = np.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))


def _suffixes(h: np.ndarray, width: int) -> np.ndarray:
    """Base-36 strings of ``width`` characters from hashes, vectorised."""
    out = np.full(h.shape, "", dtype=f"<U{width}")
    v = h.copy()
    for _ in range(width):
        out = np.char.add(out, _B36[(v % np.uint64(36)).astype(np.int64)])
        v = v // np.uint64(36)
    return out


@dataclass
class _Cluster:
    """The fixed shape of a cluster: nodes, namespaces, deployments and pod slots."""

    seed: int
    node_names: list[str]
    node_resource_ids: list[str]
    node_role: np.ndarray  # 1 master, 2 infra, 3 worker
    node_cores: np.ndarray
    node_mem_bytes: np.ndarray
    node_labels: list[str]  # JSON per node
    node_labels_alt: list[str]  # the label set a relabelled node switches to
    namespaces: list[str]
    namespace_labels: list[str]
    # pod slots
    slot_ns: np.ndarray
    slot_system: np.ndarray
    slot_stable: np.ndarray  # statefulset / VM pods keep their name
    slot_prefix: np.ndarray  # "deploy-rshash-" or the stable full name
    slot_label: np.ndarray  # index into pod_label_strings
    pod_label_strings: list[str]
    slot_lifetime: np.ndarray
    slot_phase: np.ndarray
    slot_cpu: np.ndarray  # request, cores
    slot_mem: np.ndarray  # request, bytes
    slot_limit: np.ndarray  # limit / request factor (0 = no limit)
    # storage slots
    vol_slot: np.ndarray  # the pod slot mounting the claim
    vol_pvc: list[str]
    vol_pv: np.ndarray  # index into pv names
    pv_names: list[str]
    pv_handles: list[str]
    pv_class: np.ndarray
    pv_capacity: np.ndarray
    pv_labels: list[str]
    vol_pvc_labels: list[str]


def _dumps(labels: dict[str, str]) -> str:
    return json.dumps(labels)


@lru_cache(maxsize=4)
def _cluster(seed: int, pods: int, nodes: int, namespaces: int, storage_fraction: float) -> _Cluster:
    """Build the cluster for a seed and size (cached: each worker process builds it once)."""
    rng = np.random.default_rng([seed, 0xC1])
    # Nodes: a few masters and infra nodes, the rest workers.
    n_master = 3 if nodes >= 12 else 1
    n_infra = max(1, nodes // 12) if nodes >= 4 else 0
    role = np.full(nodes, 3, dtype=np.int8)
    role[:n_master] = 1
    role[n_master : n_master + n_infra] = 2
    node_names = [f"ip-10-{i // 62500}-{(i // 250) % 250}-{i % 250}.ec2.internal" for i in range(nodes)]
    rid_hash = _mix(seed, np.arange(nodes), 0x51D)
    node_resource_ids = [f"i-{int(h) & 0xFFFFFFFFFFFFFFF:017x}" for h in rid_hash]
    cores = rng.choice(np.array([8.0, 16.0, 32.0, 64.0]), p=[0.2, 0.4, 0.3, 0.1], size=nodes)
    cores[role == 1] = 8.0
    mem = cores * rng.choice(np.array([4.0, 8.0]), size=nodes) * _GIB
    pools = np.array(["master", "infra", "general", "compute", "memory"])
    pool = np.where(role == 1, 0, np.where(role == 2, 1, rng.integers(2, 5, size=nodes)))
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    role_names = ("", "master", "infra", "worker")
    node_labels, node_labels_alt = [], []
    for i in range(nodes):
        base = {
            "beta_kubernetes_io_arch": "amd64",
            "kubernetes_io_hostname": node_names[i],
            "node_role_kubernetes_io": role_names[role[i]],
            "topology_kubernetes_io_zone": zones[i % 3],
            "node_pool": str(pools[pool[i]]),
        }
        node_labels.append(_dumps(base))
        node_labels_alt.append(_dumps({**base, "node_pool": "drained"}))

    # Namespaces: system ones, then user ones named by team and environment.
    n_sys = min(len(_SYSTEM_NAMESPACES), max(1, namespaces // 8))
    ns_names = list(_SYSTEM_NAMESPACES[:n_sys])
    ns_team = [""] * n_sys
    ns_env = [""] * n_sys
    for j in range(namespaces - n_sys):
        team, env = _TEAMS[j % len(_TEAMS)], _ENVS[(j // len(_TEAMS)) % len(_ENVS)]
        ns_names.append(f"{team}-{env}-{j:05d}")
        ns_team.append(team)
        ns_env.append(env)
    ns_labels = []
    for k, name in enumerate(ns_names):
        labels = {"kubernetes_io_metadata_name": name}
        if ns_team[k]:
            labels.update(team=ns_team[k], cost_center=f"cc-{_TEAMS.index(ns_team[k]) * 100 + 1000}")
        else:
            labels["openshift_io_cluster_monitoring"] = "true"
        ns_labels.append(_dumps(labels))

    # Deployments of a few replicas each, until every pod slot has one.
    est = pods // 2 + 16
    replicas = rng.choice(np.array([1, 1, 1, 2, 2, 3, 3, 5, 8]), size=est)
    while replicas.sum() < pods:
        replicas = np.concatenate([replicas, replicas])
    cut = int(np.searchsorted(np.cumsum(replicas), pods)) + 1
    replicas = replicas[:cut]
    replicas[-1] -= int(replicas.sum()) - pods
    deployments = len(replicas)
    kind = rng.choice(np.array([0, 1, 2]), p=[0.92, 0.06, 0.02], size=deployments)  # deploy, sts, vm
    kind[replicas > 1] = np.where(kind[replicas > 1] == 2, 0, kind[replicas > 1])
    # System pods (~8%) go to system namespaces, the rest to user namespaces with skewed sizes.
    n_sys_deploy = max(1, int(deployments * 0.08))
    dep_ns = np.empty(deployments, dtype=np.int64)
    dep_ns[:n_sys_deploy] = rng.integers(0, n_sys, size=n_sys_deploy)
    user = namespaces - n_sys
    if user > 0:
        weights = rng.pareto(1.5, size=user) + 1.0
        dep_ns[n_sys_deploy:] = n_sys + rng.choice(
            user, p=weights / weights.sum(), size=deployments - n_sys_deploy
        )
    else:
        dep_ns[n_sys_deploy:] = rng.integers(0, n_sys, size=deployments - n_sys_deploy)
    dep_cpu = rng.choice(np.array([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0]), size=deployments)
    dep_mem = (
        rng.choice(np.array([64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0]), size=deployments) * 2**20
    )
    dep_limit = rng.choice(np.array([0.0, 1.0, 2.0, 4.0]), size=deployments)
    dep_version = rng.integers(1, 4, size=deployments)
    dep_rwx = (kind == 0) & (rng.random(deployments) < storage_fraction * 0.25)
    dep_pvc = (kind == 0) & ~dep_rwx & (rng.random(deployments) < storage_fraction * 0.25)

    slot_dep = np.repeat(np.arange(deployments), replicas)
    slot_rep = np.arange(pods) - np.repeat(np.cumsum(replicas) - replicas, replicas)
    label_strings: list[str] = []
    dep_label = np.empty(deployments, dtype=np.int64)
    slot_label = np.empty(pods, dtype=np.int64)
    slot_prefix = np.empty(pods, dtype=object)
    dep_names = []
    for d in range(deployments):
        ns = int(dep_ns[d])
        comp = _COMPONENTS[d % len(_COMPONENTS)]
        name = f"{comp}-{d:06d}"
        dep_names.append(name)
        labels = {"app": name, "app_kubernetes_io_part_of": comp, "version": f"v{dep_version[d]}"}
        if ns_team[ns]:
            labels.update(team=ns_team[ns], environment=ns_env[ns])
        if kind[d] == 0:
            labels["pod_template_hash"] = f"{int(_mix(seed, d, 0x7E)) & 0xFFFFFFFFFF:010x}"
        if kind[d] == 2:
            labels["vm_kubevirt_io_name"] = f"vm-{name}"
            labels["kubevirt_io"] = "virt-launcher"
        dep_label[d] = len(label_strings)
        label_strings.append(_dumps(labels))
    for s in range(pods):
        d = int(slot_dep[s])
        if kind[d] == 0:
            slot_label[s] = dep_label[d]
            slot_prefix[s] = f"{dep_names[d]}-{json.loads(label_strings[dep_label[d]])['pod_template_hash']}-"
        elif kind[d] == 1:
            pod_name = f"{dep_names[d]}-{slot_rep[s]}"
            labels = json.loads(label_strings[dep_label[d]])
            labels["statefulset_kubernetes_io_pod_name"] = pod_name
            slot_label[s] = len(label_strings)
            label_strings.append(_dumps(labels))
            slot_prefix[s] = pod_name
        else:
            slot_label[s] = dep_label[d]
            slot_prefix[s] = f"virt-launcher-vm-{dep_names[d]}"
    slot_kind = kind[slot_dep]

    # Volumes: one per statefulset pod, one per single-claim deployment, one shared by all replicas (RWX).
    vol_slot: list[int] = []
    vol_pvc: list[str] = []
    vol_pv: list[int] = []
    pv_of_dep: dict[int, int] = {}
    pv_names: list[str] = []
    vol_pvc_labels: list[str] = []
    for s in range(pods):
        d = int(slot_dep[s])
        if slot_kind[s] == 1:
            claim, shared = f"data-{slot_prefix[s]}", False
        elif dep_rwx[d]:
            claim, shared = f"{dep_names[d]}-shared", True
        elif dep_pvc[d]:
            claim, shared = f"{dep_names[d]}-data", False
        else:
            continue
        if shared and d in pv_of_dep:
            pv = pv_of_dep[d]
        else:
            pv = len(pv_names)
            pv_names.append(f"pvc-{int(_mix(seed, s, 0xF00)):016x}")
            if shared:
                pv_of_dep[d] = pv
        vol_slot.append(s)
        vol_pvc.append(claim)
        vol_pv.append(pv)
        vol_pvc_labels.append(_dumps({"app": dep_names[d]}))
    n_pv = len(pv_names)
    pv_class = rng.integers(0, len(_STORAGE_CLASSES), size=max(n_pv, 1))
    pv_capacity = rng.choice(np.array([1.0, 5.0, 10.0, 20.0, 50.0, 100.0]), size=max(n_pv, 1)) * _GIB
    pv_labels = [
        _dumps({"failure_domain_beta_kubernetes_io_zone": zones[i % 3]}) if i % 4 else "{}"
        for i in range(n_pv)
    ]
    pv_handles = [f"vol-{int(_mix(seed, i, 0xAB)):016x}" for i in range(n_pv)]

    lifetime = rng.choice(np.array([1, 2, 7, 30, 10_000]), p=[0.1, 0.1, 0.2, 0.2, 0.4], size=pods)
    lifetime[slot_kind != 0] = 10_000
    return _Cluster(
        seed=seed,
        node_names=node_names,
        node_resource_ids=node_resource_ids,
        node_role=role,
        node_cores=cores,
        node_mem_bytes=mem,
        node_labels=node_labels,
        node_labels_alt=node_labels_alt,
        namespaces=ns_names,
        namespace_labels=ns_labels,
        slot_ns=dep_ns[slot_dep],
        slot_system=dep_ns[slot_dep] < n_sys,
        slot_stable=slot_kind != 0,
        slot_prefix=slot_prefix,
        slot_label=slot_label,
        pod_label_strings=label_strings,
        slot_lifetime=lifetime,
        slot_phase=rng.integers(0, 10_000, size=pods) % lifetime,
        slot_cpu=dep_cpu[slot_dep],
        slot_mem=dep_mem[slot_dep],
        slot_limit=dep_limit[slot_dep],
        vol_slot=np.asarray(vol_slot, dtype=np.int64),
        vol_pvc=vol_pvc,
        vol_pv=np.asarray(vol_pv, dtype=np.int64),
        pv_names=pv_names,
        pv_handles=pv_handles,
        pv_class=pv_class,
        pv_capacity=pv_capacity,
        pv_labels=pv_labels,
        vol_pvc_labels=vol_pvc_labels,
    )


@dataclass
class _Day:
    """Which pod name and node every slot has on one day (node -1: pending, no node)."""

    names: pa.Array
    node: np.ndarray


def _day_state(c: _Cluster, day_index: int) -> _Day:
    pods = len(c.slot_ns)
    slots = np.arange(pods)
    gen = (day_index + c.slot_phase) // c.slot_lifetime
    h = _mix(c.seed, slots, gen)
    role = c.node_role
    system_pool = np.flatnonzero(role != 3)
    worker_pool = np.flatnonzero(role == 3)
    if len(worker_pool) == 0:
        worker_pool = system_pool
    node = np.where(
        c.slot_system,
        system_pool[(h % np.uint64(len(system_pool))).astype(np.int64)],
        worker_pool[((h >> np.uint64(20)) % np.uint64(len(worker_pool))).astype(np.int64)],
    )
    pending = (_mix(h, day_index, 0xBAD) % np.uint64(1000)) < np.uint64(2)
    node = np.where(pending, -1, node)
    suffix = _suffixes(h >> np.uint64(8), 5)
    names = np.where(c.slot_stable, c.slot_prefix.astype(str), np.char.add(c.slot_prefix.astype(str), suffix))
    return _Day(names=pa.array(names, type=pa.string()), node=node)


def _dict(indices: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)


def _timestamps(ms: np.ndarray) -> pa.Array:
    return pa.array(ms.astype("datetime64[ms]"))


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


class _DayWriter:
    """Writes the four report types of one day, chunk by chunk."""

    def __init__(self, c: _Cluster, day: dt.date, day_index: int, period: tuple[int, int], rg_rows: int):
        self.c = c
        self.day = day
        self.day_index = day_index
        self.day_ms = (day - dt.date(1970, 1, 1)).days * _DAY_MS
        self.period = period
        self.rg_rows = rg_rows
        self.state = _day_state(c, day_index)
        self.rng = np.random.default_rng([c.seed, 0xDA, day_index])
        self.node_dict = pa.array(["", *c.node_names])
        self.rid_dict = pa.array(["", *c.node_resource_ids])

    def _times(self, hours: np.ndarray) -> dict[str, pa.Array]:
        start = self.day_ms + hours.astype(np.int64) * _HOUR_MS
        n = len(hours)
        return {
            "report_period_start": _timestamps(np.full(n, self.period[0], dtype=np.int64)),
            "report_period_end": _timestamps(np.full(n, self.period[1], dtype=np.int64)),
            "interval_start": _timestamps(start),
            "interval_end": _timestamps(start + _HOUR_MS - 1000),
        }

    def pod_chunks(self, effective: bool) -> Iterator[pa.Table]:
        c, st = self.c, self.state
        pods = len(c.slot_ns)
        labels = pa.array(c.pod_label_strings)
        namespaces = pa.array(c.namespaces)
        roles = pa.array(["", "master", "infra", "worker"])
        for a, b in _chunks(24 * pods, self.rg_rows):
            r = np.arange(a, b)
            hour, slot = r // pods, r % pods
            node = st.node[slot]
            on_node = node >= 0
            nidx = np.where(on_node, node, 0)
            cols = self._times(hour)
            cols["namespace"] = _dict(c.slot_ns[slot], namespaces)
            cols["node"] = _dict(node + 1, self.node_dict)
            cols["pod"] = _dict(slot, st.names)
            cols["resource_id"] = _dict(node + 1, self.rid_dict)
            cols["pod_labels"] = _dict(c.slot_label[slot], labels)
            cols["node_role"] = _dict(np.where(on_node, c.node_role[nidx], 0), roles)
            u = self.rng.random((2, len(r)))
            cpu_req = c.slot_cpu[slot] * 3600.0
            mem_req = c.slot_mem[slot] * 3600.0
            cpu_use = np.where(on_node, np.round(cpu_req * (0.05 + 1.3 * u[0] ** 2), 6), 0.0)
            mem_use = np.where(on_node, np.floor(mem_req * (0.3 + 0.9 * u[1])), 0.0)
            cols["pod_usage_cpu_core_seconds"] = pa.array(cpu_use)
            cols["pod_request_cpu_core_seconds"] = pa.array(cpu_req)
            cols["pod_limit_cpu_core_seconds"] = pa.array(cpu_req * c.slot_limit[slot])
            cols["pod_usage_memory_byte_seconds"] = pa.array(mem_use)
            cols["pod_request_memory_byte_seconds"] = pa.array(mem_req)
            cols["pod_limit_memory_byte_seconds"] = pa.array(mem_req * c.slot_limit[slot])
            cores = np.where(on_node, c.node_cores[nidx], 0.0)
            mem = np.where(on_node, c.node_mem_bytes[nidx], 0.0)
            cols["node_capacity_cpu_cores"] = pa.array(cores)
            cols["node_capacity_cpu_core_seconds"] = pa.array(cores * 3600.0)
            cols["node_capacity_memory_bytes"] = pa.array(mem)
            cols["node_capacity_memory_byte_seconds"] = pa.array(mem * 3600.0)
            if effective:
                cols["pod_effective_usage_cpu_core_seconds"] = pa.array(np.maximum(cpu_use, cpu_req))
                cols["pod_effective_usage_memory_byte_seconds"] = pa.array(np.maximum(mem_use, mem_req))
            yield pa.table(cols)

    def storage_chunks(self) -> Iterator[pa.Table]:
        c, st = self.c, self.state
        vols = len(c.vol_slot)
        if vols == 0:
            return
        namespaces = pa.array(c.namespaces)
        pvcs = pa.array(c.vol_pvc)
        pvs = pa.array(c.pv_names)
        handles = pa.array(c.pv_handles)
        classes = pa.array(_STORAGE_CLASSES)
        pv_labels = pa.array(c.pv_labels)
        pvc_labels = pa.array(c.vol_pvc_labels)
        for a, b in _chunks(24 * vols, self.rg_rows):
            r = np.arange(a, b)
            hour, vol = r // vols, r % vols
            slot = c.vol_slot[vol]
            pv = c.vol_pv[vol]
            cap = c.pv_capacity[pv]
            cols = self._times(hour)
            cols["namespace"] = _dict(c.slot_ns[slot], namespaces)
            cols["pod"] = _dict(slot, st.names)
            cols["persistentvolumeclaim"] = _dict(vol, pvcs)
            cols["persistentvolume"] = _dict(pv, pvs)
            cols["storageclass"] = _dict(c.pv_class[pv], classes)
            cols["node"] = _dict(st.node[slot] + 1, self.node_dict)
            cols["csi_driver"] = pa.array(np.full(len(r), "ebs.csi.aws.com"))
            cols["csi_volume_handle"] = _dict(pv, handles)
            cols["persistentvolumeclaim_capacity_bytes"] = pa.array(cap)
            cols["persistentvolumeclaim_capacity_byte_seconds"] = pa.array(cap * 3600.0)
            cols["volume_request_storage_byte_seconds"] = pa.array(cap * 3600.0)
            used = np.floor(cap * 3600.0 * self.rng.random(len(r)) * 0.9)
            cols["persistentvolumeclaim_usage_byte_seconds"] = pa.array(used)
            cols["persistentvolume_labels"] = _dict(pv, pv_labels)
            cols["persistentvolumeclaim_labels"] = _dict(vol, pvc_labels)
            yield pa.table(cols)

    def node_label_chunks(self) -> Iterator[pa.Table]:
        c = self.c
        nodes = len(c.node_names)
        workers = np.flatnonzero(c.node_role == 3)
        relabelled = int(workers[self.day_index % len(workers)]) if len(workers) else -1
        labels = pa.array([*c.node_labels, *c.node_labels_alt])
        for a, b in _chunks(24 * nodes, self.rg_rows):
            r = np.arange(a, b)
            hour, node = r // nodes, r % nodes
            label = np.where((node == relabelled) & (hour >= 12), node + nodes, node)
            cols = self._times(hour)
            cols["node"] = _dict(node, self.node_dict[1:])
            cols["node_labels"] = _dict(label, labels)
            yield pa.table(cols)

    def namespace_label_chunks(self) -> Iterator[pa.Table]:
        c = self.c
        count = len(c.namespaces)
        names, labels = pa.array(c.namespaces), pa.array(c.namespace_labels)
        for a, b in _chunks(24 * count, self.rg_rows):
            r = np.arange(a, b)
            hour, ns = r // count, r % count
            cols = self._times(hour)
            cols["namespace"] = _dict(ns, names)
            cols["namespace_labels"] = _dict(ns, labels)
            yield pa.table(cols)


@dataclass(frozen=True)
class _Job:
    root: str
    account: str
    source_uuid: str
    seed: int
    pods: int
    nodes: int
    namespaces: int
    storage_fraction: float
    day: dt.date
    day_index: int
    period: tuple[int, int]
    row_group_rows: int
    compression: str
    effective: bool


def _write(path: str, report_type: str, chunks: Iterator[pa.Table], compression: str) -> tuple[int, int]:
    """Write chunks as the row groups of one file; (rows, bytes)."""
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for table in chunks:
            if writer is None:
                writer = pq.ParquetWriter(
                    path,
                    table.schema,
                    compression=compression,
                    use_dictionary=[n for n in _DICT_COLUMNS[report_type] if n in table.schema.names],
                    dictionary_pagesize_limit=64 * 2**20,
                    store_schema=False,  # as koku's files: plain string columns in the Arrow schema
                    write_statistics=["interval_start", "interval_end"],
                )
            writer.write_table(table, row_group_size=table.num_rows)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows, (os.path.getsize(path) if writer is not None else 0)


def _write_day(job: _Job) -> dict[str, tuple[int, int]]:
    c = _cluster(job.seed, job.pods, job.nodes, job.namespaces, job.storage_fraction)
    w = _DayWriter(c, job.day, job.day_index, job.period, job.row_group_rows)
    stamp = job.day.isoformat()
    out: dict[str, tuple[int, int]] = {}
    makers = {
        "pod_usage": lambda: w.pod_chunks(job.effective),
        "storage_usage": w.storage_chunks,
        "node_labels": w.node_label_chunks,
        "namespace_labels": w.namespace_label_chunks,
    }
    for report_type, make in makers.items():
        folder = month_dir(job.root, job.account, report_type, job.source_uuid, job.day.year, job.day.month)
        path = f"{folder}/{report_type}.{stamp}_0.parquet"
        out[report_type] = _write(path, report_type, make(), job.compression)
        if out[report_type][0] == 0 and os.path.exists(path):
            os.remove(path)
    return out


def write_cluster_month(
    root: str | os.PathLike[str],
    *,
    account: str = "org1234567",
    source_uuid: str = "3c0f4a7e-9b7e-4d35-9c3e-5a0b6ad1c001",
    year: int = 2026,
    month: int = 8,
    pod_rows: int = 1_000_000,
    days: int | None = None,
    pods_per_hour: int | None = None,
    nodes: int | None = None,
    namespaces: int | None = None,
    seed: int = 0,
    storage_fraction: float = 0.15,
    effective_columns: bool = True,
    row_group_rows: int = ROW_GROUP_ROWS,
    compression: str = "snappy",
    workers: int = 1,
) -> SynthInfo:
    """Write a synthetic cluster-month of about ``pod_rows`` hourly pod rows under a local ``root``.

    ``days`` limits the month to its first days (all of them by default); the pods per hour are
    ``pod_rows / (24 × days)``, rounded, unless ``pods_per_hour`` fixes them (the same cluster over
    several months). Each day gets one file per report type, in row groups of
    ``row_group_rows``. ``workers`` > 1 writes days in parallel processes.
    """
    last = calendar.monthrange(year, month)[1]
    n_days = last if days is None else max(1, min(days, last))
    pods = pods_per_hour or max(1, round(pod_rows / (24 * n_days)))
    nodes = nodes or max(3, math.ceil(pods / PODS_PER_NODE))
    namespaces = namespaces or max(4, math.ceil(pods / PODS_PER_NAMESPACE))
    root = os.fspath(root)
    for report_type in _DICT_COLUMNS:
        os.makedirs(month_dir(root, account, report_type, source_uuid, year, month), exist_ok=True)
    first = dt.date(year, month, 1)
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    epoch = dt.date(1970, 1, 1)
    period = ((first - epoch).days * _DAY_MS, (nxt - epoch).days * _DAY_MS)
    day_list = [first + dt.timedelta(days=i) for i in range(n_days)]
    jobs = [
        _Job(
            root,
            account,
            source_uuid,
            seed,
            pods,
            nodes,
            namespaces,
            storage_fraction,
            d,
            d.day - 1,
            period,
            row_group_rows,
            compression,
            effective_columns,
        )
        for d in day_list
    ]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_write_day, jobs))
    else:
        results = [_write_day(job) for job in jobs]
    rows = {rt: sum(r[rt][0] for r in results) for rt in _DICT_COLUMNS}
    files = {rt: sum(1 for r in results if r[rt][0]) for rt in _DICT_COLUMNS}
    size = sum(r[rt][1] for r in results for rt in _DICT_COLUMNS)
    c = _cluster(seed, pods, nodes, namespaces, storage_fraction)
    role_names = ("", "master", "infra", "worker")
    node_roles = tuple(
        (c.node_names[i], c.node_resource_ids[i], role_names[c.node_role[i]]) for i in range(nodes)
    )
    LOG.info("wrote %s pod rows (%d pods/hour, %d days) under %s", rows["pod_usage"], pods, n_days, root)
    return SynthInfo(
        root=root,
        account=account,
        source_uuid=source_uuid,
        year=year,
        month=month,
        days=tuple(day_list),
        pods_per_hour=pods,
        nodes=nodes,
        namespaces=namespaces,
        rows=rows,
        files=files,
        bytes_written=size,
        cost_categories=COST_CATEGORIES,
        node_roles=node_roles,
    )
