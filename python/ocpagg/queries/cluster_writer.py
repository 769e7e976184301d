"""Writing cluster information (SPEC §6) into koku's reporting_ocp_clusters, _nodes, _pvcs, _projects.

koku's get-or-create and fill-when-empty rules, in one transaction of the caller's idle connection
(or ours). Everything is read and checked before the first statement; a failure rolls back only
this transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, InputError, WriteError
from ..sinks import DatabaseSink, one_line
from ..storage import filesystem_for
from .cluster_info import ClusterInformation, cluster_information
from .scan import require_daily_files

LOG = logging.getLogger(__name__)

CLUSTER_TABLES = (
    "reporting_tenant_api_provider",
    "reporting_ocp_clusters",
    "reporting_ocp_nodes",
    "reporting_ocp_pvcs",
    "reporting_ocp_projects",
)


@dataclass
class ClusterCounts:
    """What a cluster-information write changed."""

    cluster_uuid: str = ""
    clusters_created: int = 0
    clusters_updated: int = 0
    clusters_deleted: int = 0
    nodes_created: int = 0
    nodes_updated: int = 0
    pvcs_created: int = 0
    pvcs_updated: int = 0
    projects_created: int = 0
    skipped: list[str] = field(default_factory=list)


def best_handle(handles: list[str | None]) -> str | None:
    """The handle koku's fill-when-empty loop settles on: greatest non-empty, else '', else NULL."""
    filled = [h for h in handles if h]
    if filled:
        return max(filled)
    return "" if "" in handles else None


class _Writer:
    def __init__(self, sink: DatabaseSink) -> None:
        self.sink = sink

    def p(self, n: int) -> list[str]:
        return self.sink.placeholders(n)

    def t(self, name: str) -> str:
        return self.sink.table(name)

    def cluster(self, provider: str, cluster_id: str, alias: str | None, counts: ClusterCounts) -> str:
        p = self.p(1)
        rows = self.sink.query(
            f"SELECT CAST(uuid AS TEXT), cluster_alias FROM {self.t('reporting_ocp_clusters')} "
            f"WHERE provider_id = CAST({p[0]} AS uuid) ORDER BY uuid",
            [provider],
        )
        if len(rows) > 1:
            # Django's exclude(cluster_alias=alias): a NULL alias on either side counts as different.
            doomed = [
                u for u, a in rows if alias is None and a is not None or alias is not None and a != alias
            ]
            for cluster_uuid in doomed:
                q = self.p(1)
                for child in ("reporting_ocp_nodes", "reporting_ocp_pvcs", "reporting_ocp_projects"):
                    self.sink.execute(
                        f"DELETE FROM {self.t(child)} WHERE cluster_id = CAST({q[0]} AS uuid)", [cluster_uuid]
                    )
                self.sink.execute(
                    f"DELETE FROM {self.t('reporting_ocp_clusters')} WHERE uuid = CAST({q[0]} AS uuid)",
                    [cluster_uuid],
                )
            counts.clusters_deleted = len(doomed)
            rows = [(u, a) for u, a in rows if u not in doomed]
        if not rows:
            new = str(uuid.uuid4())
            q = self.p(4)
            self.sink.execute(
                f"INSERT INTO {self.t('reporting_ocp_clusters')} "
                "(uuid, cluster_id, cluster_alias, provider_id) "
                f"VALUES (CAST({q[0]} AS uuid), {q[1]}, {q[2]}, CAST({q[3]} AS uuid))",
                [new, cluster_id, alias, provider],
            )
            counts.clusters_created = 1
            return new
        first, current = rows[0]
        if current != alias:
            q = self.p(2)
            self.sink.execute(
                f"UPDATE {self.t('reporting_ocp_clusters')} SET cluster_alias = {q[0]} "
                f"WHERE uuid = CAST({q[1]} AS uuid)",
                [alias, first],
            )
            counts.clusters_updated = 1
        return str(first)

    def nodes(self, cluster: str, info: ClusterInformation, counts: ClusterCounts) -> None:
        table = self.t("reporting_ocp_nodes")
        for row in info.nodes.to_pylist():
            capacity = (
                None if row["node_capacity_cpu_cores"] is None else repr(row["node_capacity_cpu_cores"])
            )
            p = self.p(4)
            found = self.sink.query(
                f"SELECT CAST(uuid AS TEXT), node_role, architecture FROM {table} "
                f"WHERE cluster_id = CAST({p[0]} AS uuid) AND node = {p[1]} "
                f"AND resource_id IS NOT DISTINCT FROM {p[2]} "
                "AND node_capacity_cpu_cores IS NOT DISTINCT FROM "
                f"CAST(CAST({p[3]} AS TEXT) AS numeric(18,2)) "
                "ORDER BY uuid LIMIT 1",
                [cluster, row["node"], row["resource_id"], capacity],
            )
            if not found:
                q = self.p(7)
                self.sink.execute(
                    f"INSERT INTO {table} (uuid, node, resource_id, node_capacity_cpu_cores, cluster_id, "
                    f"node_role, architecture) VALUES (CAST({q[0]} AS uuid), {q[1]}, {q[2]}, "
                    f"CAST(CAST({q[3]} AS TEXT) AS numeric(18,2)), CAST({q[4]} AS uuid), {q[5]}, {q[6]})",
                    [
                        str(uuid.uuid4()),
                        row["node"],
                        row["resource_id"],
                        capacity,
                        cluster,
                        row["node_role"],
                        row["architecture"],
                    ],
                )
                counts.nodes_created += 1
                continue
            node_uuid, role, arch = found[0]
            if not role or not arch:
                q = self.p(3)
                self.sink.execute(
                    f"UPDATE {table} SET node_role = {q[0]}, architecture = {q[1]} "
                    f"WHERE uuid = CAST({q[2]} AS uuid)",
                    [row["node_role"], row["architecture"], node_uuid],
                )
                counts.nodes_updated += 1

    def pvcs(self, cluster: str, info: ClusterInformation, counts: ClusterCounts) -> None:
        table = self.t("reporting_ocp_pvcs")
        candidates: dict[tuple[str, str], list[str | None]] = {}
        for row in info.pvcs.to_pylist():
            pv, pvc = row["persistentvolume"], row["persistentvolumeclaim"]
            if pv is None or pvc is None:
                counts.skipped.append(f"pvc {pv!r}/{pvc!r}: NULL volume or claim")
                LOG.warning("skipping PVC row with a NULL volume or claim: %r/%r", pv, pvc)
                continue
            candidates.setdefault((pv, pvc), []).append(row["csi_volume_handle"])
        p = self.p(1)
        existing: dict[tuple[str, str], tuple[str, str | None]] = {}
        for pvc_uuid, pv, pvc, handle in self.sink.query(
            f"SELECT CAST(uuid AS TEXT), persistent_volume, persistent_volume_claim, csi_volume_handle "
            f"FROM {table} WHERE cluster_id = CAST({p[0]} AS uuid) ORDER BY uuid",
            [cluster],
        ):
            existing.setdefault((pv, pvc), (pvc_uuid, handle))
        for (pv, pvc), handles in sorted(candidates.items()):
            best = best_handle(handles)
            if (pv, pvc) in existing:
                pvc_uuid, handle = existing[(pv, pvc)]
                if not handle:
                    q = self.p(2)
                    self.sink.execute(
                        f"UPDATE {table} SET csi_volume_handle = {q[0]} WHERE uuid = CAST({q[1]} AS uuid)",
                        [best, pvc_uuid],
                    )
                    counts.pvcs_updated += 1
                continue
            q = self.p(5)
            self.sink.execute(
                f"INSERT INTO {table} (uuid, persistent_volume, persistent_volume_claim, csi_volume_handle, "
                f"cluster_id) VALUES (CAST({q[0]} AS uuid), {q[1]}, {q[2]}, {q[3]}, CAST({q[4]} AS uuid))",
                [str(uuid.uuid4()), pv, pvc, best, cluster],
            )
            counts.pvcs_created += 1

    def projects(self, cluster: str, info: ClusterInformation, counts: ClusterCounts) -> None:
        table = self.t("reporting_ocp_projects")
        for namespace in info.projects.column("namespace").to_pylist():
            if namespace is None:
                counts.skipped.append("project NULL")
                continue
            p = self.p(5)
            counts.projects_created += max(
                self.sink.counted(
                    f"INSERT INTO {table} (uuid, project, cluster_id) "
                    f"SELECT CAST({p[0]} AS uuid), {p[1]}, CAST({p[2]} AS uuid) WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {table} WHERE project = {p[3]} AND cluster_id = CAST({p[4]} AS uuid))",
                    [str(uuid.uuid4()), namespace, cluster, namespace, cluster],
                ),
                0,
            )


def populate_cluster_information(
    sink: DatabaseSink,
    root: str,
    *,
    account: str,
    source_uuid: str,
    cluster_id: str,
    cluster_alias: str | None,
    start_date: dt.date,
    end_date: dt.date,
    allow_missing: bool = False,
    filesystem: Any = None,
) -> ClusterCounts:
    """koku's ``populate_openshift_cluster_information_tables`` from the Parquet trees; commits.

    Refuses (before any write) a provider missing from reporting_tenant_api_provider, a month with
    no daily pod_usage files (unless ``allow_missing``), and any bad input file.
    """
    fs, base = filesystem_for(root, filesystem)
    if not allow_missing:
        require_daily_files(fs, base, account, source_uuid, "pod_usage", start_date)
    info = cluster_information(
        root,
        account=account,
        source_uuid=source_uuid,
        start_date=start_date,
        end_date=end_date,
        filesystem=filesystem,
    )
    sink.check_idle()
    for name in CLUSTER_TABLES:
        if not sink.has_table(name):
            raise ConfigError(f"no table {sink.describe(name)}")
    counts = ClusterCounts()
    writer = _Writer(sink)
    try:
        p = sink.placeholders(1)
        if not sink.query(
            f"SELECT 1 FROM {sink.table('reporting_tenant_api_provider')} WHERE uuid = CAST({p[0]} AS uuid)",
            [str(source_uuid)],
        ):
            raise ConfigError(
                f"provider {source_uuid} is not in {sink.describe('reporting_tenant_api_provider')}"
            )
        _lock(sink, f"ocpagg-cluster:{source_uuid}")
        cluster = writer.cluster(str(source_uuid), cluster_id, cluster_alias, counts)
        counts.cluster_uuid = cluster
        writer.nodes(cluster, info, counts)
        writer.pvcs(cluster, info, counts)
        writer.projects(cluster, info, counts)
        sink.commit()
    except (ConfigError, InputError):
        sink.rollback()
        raise
    except Exception as exc:
        sink.rollback()
        raise WriteError(f"cluster information of {source_uuid}: {one_line(exc)}") from exc
    LOG.info("cluster information of %s written: %s", source_uuid, counts)
    return counts


def _lock(sink: DatabaseSink, key: str) -> None:
    """Serialise writers of the same provider on PostgreSQL (the lock ends with the transaction)."""
    schema: Any = getattr(sink, "schema", None)
    if schema is None:
        return
    sink.query("SELECT pg_advisory_xact_lock(hashtext($1))", [f"{key}:{schema}"])
