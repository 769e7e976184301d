//! Storage rows: each storage row finds its pod's (node, resource_id) among the day's daily pod
//! rows, shared volumes divide usage by their node count, and rows group per volume and labels,
//! written as the day's `Storage` rows.

use arrow_array::RecordBatch;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::accumulators::{Max, Sum};
use crate::error::Result;
use crate::input::{finite_floats, Floats};
use crate::intern::{Interner, StrId, NULL};
use crate::labels::{LabelSets, ObjectLabels, RenderedLabels, SetId};
use crate::metrics::GIB;
use crate::output::{RowSink, StorageColumns, SummaryRow};
use crate::pod::DailyPods;

/// One hourly storage row's values (bytes, byte-seconds); also the float columns of a batch.
pub struct VolumeMeasures<T> {
    pub capacity_bytes: T,
    pub capacity_byte_seconds: T,
    pub request_byte_seconds: T,
    pub usage_byte_seconds: T,
}

pub type StorageHour = VolumeMeasures<Option<f64>>;

impl<'a> VolumeMeasures<Floats<'a>> {
    /// The float columns of a storage_usage batch, checked finite on `rows` (the rows of the
    /// day with their interval_start).
    pub fn read(batch: &'a RecordBatch, rows: &[(usize, i64)]) -> Result<Self> {
        let read = |name| finite_floats(batch, name, rows);
        Ok(Self {
            capacity_bytes: read("persistentvolumeclaim_capacity_bytes")?,
            capacity_byte_seconds: read("persistentvolumeclaim_capacity_byte_seconds")?,
            request_byte_seconds: read("volume_request_storage_byte_seconds")?,
            usage_byte_seconds: read("persistentvolumeclaim_usage_byte_seconds")?,
        })
    }

    #[inline(always)]
    pub fn hour(&self, row: usize) -> StorageHour {
        VolumeMeasures {
            capacity_bytes: self.capacity_bytes.get(row),
            capacity_byte_seconds: self.capacity_byte_seconds.get(row),
            request_byte_seconds: self.request_byte_seconds.get(row),
            usage_byte_seconds: self.usage_byte_seconds.get(row),
        }
    }
}

/// max capacity, Σ of the byte-seconds.
#[derive(Clone, Copy, Default)]
pub struct VolumeTotals {
    pub capacity_bytes: Max,
    pub capacity_byte_seconds: Sum,
    pub request_byte_seconds: Sum,
    pub usage_byte_seconds: Sum,
}

impl VolumeTotals {
    #[inline]
    fn add(&mut self, hour: &StorageHour) {
        self.capacity_bytes.add(hour.capacity_bytes);
        self.capacity_byte_seconds.add(hour.capacity_byte_seconds);
        self.request_byte_seconds.add(hour.request_byte_seconds);
        self.usage_byte_seconds.add(hour.usage_byte_seconds);
    }

    /// Merge a volume's day into a group, its sums `times` over (koku's joins repeat rows).
    fn merge_times(&mut self, v: &VolumeTotals, times: f64) {
        self.capacity_bytes.merge(v.capacity_bytes);
        let scaled = |s: Sum| s.get().map(|x| x * times);
        self.capacity_byte_seconds
            .add(scaled(v.capacity_byte_seconds));
        self.request_byte_seconds
            .add(scaled(v.request_byte_seconds));
        self.usage_byte_seconds.add(scaled(v.usage_byte_seconds));
    }
}

/// The columns that key a storage row before the pod join.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VolumeKey {
    pub namespace: StrId,
    pub pod: StrId,
    pub pvc: StrId,
    pub pv: StrId,
    pub storageclass: StrId,
    pub csi_volume_handle: StrId,
    pub pv_labels_raw: StrId,
    pub pvc_labels_raw: StrId,
}

pub struct VolumeDay {
    pub pv_labels: SetId,
    pub pvc_labels: SetId,
    pub totals: VolumeTotals,
}

#[derive(Default)]
pub struct StorageDay {
    pub volumes: FxHashMap<VolumeKey, VolumeDay>,
}

impl StorageDay {
    #[inline]
    pub fn observe(
        &mut self,
        key: VolumeKey,
        pv_labels: SetId,
        pvc_labels: SetId,
        hour: &StorageHour,
    ) {
        let e = self.volumes.entry(key).or_insert_with(|| VolumeDay {
            pv_labels,
            pvc_labels,
            totals: VolumeTotals::default(),
        });
        e.totals.add(hour);
    }
}

/// A summary storage row before unit conversion.
pub struct StorageGroup {
    pub key: VolumeGroupKey,
    pub labels: SetId,
    pub totals: VolumeTotals,
    /// max(node_count) of the volume; `None` when it never met a pod (Trino's NULL).
    pub node_count: Option<f64>,
    pub cost_category_id: Option<i64>,
}

/// koku's storage query: `cte_volume_nodes` joins storage to daily pod rows on (namespace, pod);
/// each storage row then joins the volume-node rows of its (namespace, pod, pvc), whatever their pv.
pub fn storage_groups(
    storage: &StorageDay,
    pods: &DailyPods,
    labels: &mut LabelSets,
    node_labels: &ObjectLabels,
    namespace_labels: &ObjectLabels,
    mut category: impl FnMut(StrId) -> (Option<i64>, f64),
) -> Vec<StorageGroup> {
    // (namespace, pod) → distinct (node, resource_id) of the daily pod rows, kept only for the
    // (namespace, pod) of storage rows with a claim (the only ones looked up): the table is the
    // size of the day's volumes, not of its pods.
    let mut pod_nodes: FxHashMap<(StrId, StrId), Vec<(StrId, StrId)>> = FxHashMap::default();
    for k in storage.volumes.keys() {
        if k.pvc != NULL && k.namespace != NULL && k.pod != NULL {
            pod_nodes.entry((k.namespace, k.pod)).or_default();
        }
    }
    if !pod_nodes.is_empty() {
        for d in &pods.rows {
            let Some(v) = pod_nodes.get_mut(&(d.key.namespace, d.key.pod)) else {
                continue;
            };
            if !v.contains(&(d.key.node, d.resource_id)) {
                v.push((d.key.node, d.resource_id));
            }
        }
    }
    // A (namespace, pod) without daily pod rows joins nothing.
    pod_nodes.retain(|_, v| !v.is_empty());
    // cte_volume_nodes: distinct pvs per (namespace, pod, pvc) among storage rows with a pod,
    // and the distinct nodes of each pv (cte_shared_volume_node_count).
    let mut pvs: FxHashMap<(StrId, StrId, StrId), Vec<StrId>> = FxHashMap::default();
    let mut pv_nodes: FxHashMap<StrId, FxHashSet<StrId>> = FxHashMap::default();
    for k in storage.volumes.keys() {
        if k.pvc == NULL {
            continue;
        }
        let Some(nodes) = pod_nodes.get(&(k.namespace, k.pod)) else {
            continue;
        };
        let v = pvs.entry((k.namespace, k.pod, k.pvc)).or_default();
        if !v.contains(&k.pv) {
            v.push(k.pv);
        }
        if k.pv != NULL {
            let set = pv_nodes.entry(k.pv).or_default();
            set.extend(nodes.iter().map(|&(n, _)| n).filter(|&n| n != NULL));
        }
    }

    let n = storage.volumes.len();
    let mut index: FxHashMap<(VolumeGroupKey, SetId), usize> =
        FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut groups: Vec<StorageGroup> = Vec::with_capacity(n);
    const NO_POD: &[(StrId, StrId)] = &[(NULL, NULL)];
    for (k, v) in &storage.volumes {
        let matched_pvs = pvs.get(&(k.namespace, k.pod, k.pvc)).map_or(0, |p| p.len());
        let joined: &[(StrId, StrId)] = if matched_pvs == 0 {
            NO_POD
        } else {
            &pod_nodes[&(k.namespace, k.pod)]
        };
        // Each volume-node row joins once per distinct pv of the same (namespace, pod, pvc).
        let repeat = matched_pvs.max(1) as f64;
        let node_count = pv_nodes
            .get(&k.pv)
            .map(|s| s.len() as f64)
            .filter(|&n| n > 0.0);
        let (category_id, times) = category(k.namespace);
        let times = times * repeat;
        for &(node, resource_id) in joined {
            for &node_set in node_labels.sets_of(node) {
                for &ns_set in namespace_labels.sets_of(k.namespace) {
                    let a = labels.merge(node_set, ns_set);
                    let b = labels.merge(a, v.pv_labels);
                    let merged = labels.merge(b, v.pvc_labels);
                    let key = VolumeGroupKey {
                        namespace: k.namespace,
                        node,
                        resource_id,
                        pvc: k.pvc,
                        pv: k.pv,
                        storageclass: k.storageclass,
                        csi_volume_handle: k.csi_volume_handle,
                    };
                    let gi = *index.entry((key, merged)).or_insert_with(|| {
                        groups.push(StorageGroup {
                            key,
                            labels: merged,
                            totals: VolumeTotals::default(),
                            node_count,
                            cost_category_id: category_id,
                        });
                        groups.len() - 1
                    });
                    groups[gi].totals.merge_times(&v.totals, times);
                }
            }
        }
    }
    groups
}

/// The non-label columns of koku's storage GROUP BY.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VolumeGroupKey {
    pub namespace: StrId,
    pub node: StrId,
    pub resource_id: StrId,
    pub pvc: StrId,
    pub pv: StrId,
    pub storageclass: StrId,
    pub csi_volume_handle: StrId,
}

/// Write the groups as the day's `Storage` rows: GiB, and GiB-months of the month of `day`
/// (request and usage shared out over the volume's nodes).
pub fn write_storage_rows(
    groups: &[StorageGroup],
    days_in_month: u32,
    strings: &Interner,
    labels: &RenderedLabels,
    out: &mut impl RowSink,
) {
    let month_seconds = 86400.0 * days_in_month as f64;
    let months = |v: Option<f64>| v.map(|v| v / month_seconds * GIB);
    for g in groups {
        // Trino: NULL when the volume met no node.
        let shared = |s: Sum| match (s.get(), g.node_count) {
            (Some(v), Some(n)) => Some(v / n),
            _ => None,
        };
        let json = labels.get(g.labels);
        out.push(&SummaryRow {
            data_source: "Storage",
            namespace: strings.get(g.key.namespace),
            node: strings.get(g.key.node),
            resource_id: strings.get(g.key.resource_id),
            persistentvolumeclaim: strings.get(g.key.pvc),
            persistentvolume: strings.get(g.key.pv),
            storageclass: strings.get(g.key.storageclass),
            volume_labels: Some(json),
            all_labels: json,
            storage: StorageColumns {
                capacity_gigabyte: g.totals.capacity_bytes.get().map(|v| v * GIB),
                capacity_gigabyte_months: months(g.totals.capacity_byte_seconds.get()),
                request_gigabyte_months: months(shared(g.totals.request_byte_seconds)),
                usage_gigabyte_months: months(shared(g.totals.usage_byte_seconds)),
            },
            infrastructure_usage_cost: true,
            cost_category_id: g.cost_category_id,
            csi_volume_handle: strings.get(g.key.csi_volume_handle),
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    /// Seconds in August (31 days): the GiB-month divisor of the test day.
    const MONTH_SECONDS: f64 = 86_400.0 * 31.0;
    const VOLUME: [&str; 4] = [
        "persistentvolumeclaim_capacity_gigabyte",
        "persistentvolumeclaim_capacity_gigabyte_months",
        "volume_request_storage_gigabyte_months",
        "persistentvolumeclaim_usage_gigabyte_months",
    ];

    fn pod(name: &'static str, node: &'static str, resource_id: &'static str) -> PodIn {
        PodIn {
            hour: hour(0),
            namespace: "data",
            node,
            pod: name,
            resource_id,
            usage_cpu: Some(3600.0),
            ..Default::default()
        }
    }

    /// Claim `c` of volume `v` mounted by `pod` at hour 0.
    fn mount(pod: &'static str) -> StorageIn {
        StorageIn {
            hour: hour(0),
            namespace: "data",
            pod,
            pvc: "c",
            pv: "v",
            storageclass: "gp3",
            csi_volume_handle: "vol-0abc",
            pv_labels: r#"{"app":"db","x":"1"}"#,
            pvc_labels: r#"{"app":"claim"}"#,
            capacity_bytes: Some(2.0 * GIB_BYTES),
            capacity_byte_seconds: Some(GIB_BYTES * MONTH_SECONDS),
            request_byte_seconds: Some(2.0 * GIB_BYTES * MONTH_SECONDS),
            usage_byte_seconds: Some(GIB_BYTES * MONTH_SECONDS),
        }
    }

    #[test]
    fn shared_volume_divides_request_and_usage_by_its_node_count() {
        let mut state = day_with(&["app"], &[], &[]);
        let pods = [pod("p1", "n1", "i-1"), pod("p2", "n2", "i-2")];
        state.push_pod_usage(&pod_batch(&pods, true)).unwrap();
        state
            .push_storage_usage(&storage_batch(&[mount("p1"), mount("p2")]))
            .unwrap();
        let out = finish(state);
        // Volume v met pods on n1 and n2: node_count 2. Each mount joins its own pod's node.
        for (node, resource_id) in [("n1", "i-1"), ("n2", "i-2")] {
            let r = out.row(&[("data_source", Some("Storage")), ("node", Some(node))]);
            assert_eq!(
                out.floats(r, VOLUME),
                [
                    Some(2.0), // max capacity 2 GiB
                    Some(1.0), // 2³⁰ × month seconds / month seconds × 2⁻³⁰
                    Some(1.0), // 2 GiB-months shared by 2 nodes
                    Some(0.5), // 1 GiB-month shared by 2 nodes
                ]
            );
            assert_eq!(out.text(r, "resource_id"), Some(resource_id));
            assert_eq!(out.text(r, "namespace"), Some("data"));
            assert_eq!(out.text(r, "persistentvolumeclaim"), Some("c"));
            assert_eq!(out.text(r, "persistentvolume"), Some("v"));
            assert_eq!(out.text(r, "storageclass"), Some("gp3"));
            assert_eq!(out.text(r, "csi_volume_handle"), Some("vol-0abc"));
            // PV labels then PVC labels, the later winning: {app: db} ⊕ {app: claim}.
            assert_eq!(out.text(r, "volume_labels"), Some(r#"{"app":"claim"}"#));
            assert_eq!(out.text(r, "all_labels"), Some(r#"{"app":"claim"}"#));
            assert_eq!(out.text(r, "pod_labels"), None);
            assert_eq!(out.float(r, "pod_usage_cpu_core_hours"), None);
        }
    }

    #[test]
    fn a_pod_on_two_nodes_joins_its_volume_to_both_and_other_pods_to_none() {
        let mut state = day();
        let moved = PodIn {
            hour: hour(1),
            ..pod("p1", "n2", "i-2")
        };
        let pods = [pod("p1", "n1", "i-1"), moved, pod("p9", "n3", "i-3")];
        state.push_pod_usage(&pod_batch(&pods, true)).unwrap();
        state
            .push_storage_usage(&storage_batch(&[mount("p1")]))
            .unwrap();
        let out = finish(state);
        for (node, resource_id) in [("n1", "i-1"), ("n2", "i-2")] {
            let r = out.row(&[("data_source", Some("Storage")), ("node", Some(node))]);
            assert_eq!(out.text(r, "resource_id"), Some(resource_id));
            // One mount, its pod on two nodes: node_count 2.
            assert_eq!(
                out.floats(r, VOLUME),
                [Some(2.0), Some(1.0), Some(1.0), Some(0.5)]
            );
        }
        let storage = out.rows_where(&[("data_source", Some("Storage"))]);
        assert_eq!(storage.len(), 2, "p9 mounts nothing");
    }

    #[test]
    fn volume_without_its_pod_has_no_node_and_no_shared_values() {
        let mut state = day();
        state
            .push_pod_usage(&pod_batch(&[pod("p1", "n1", "i-1")], true))
            .unwrap();
        let hours = [
            mount("gone"),
            StorageIn {
                hour: hour(1),
                capacity_bytes: Some(GIB_BYTES),
                ..mount("gone")
            },
        ];
        state.push_storage_usage(&storage_batch(&hours)).unwrap();
        let out = finish(state);
        let r = out.row(&[("data_source", Some("Storage"))]);
        assert_eq!(out.text(r, "node"), None);
        assert_eq!(out.text(r, "resource_id"), None);
        assert_eq!(
            out.floats(r, VOLUME),
            [
                Some(2.0), // max(2 GiB, 1 GiB)
                Some(2.0), // two hours of 2³⁰ × month seconds
                None,      // no node_count: Trino's NULL
                None,
            ]
        );
        assert_eq!(out.text(r, "volume_labels"), Some("{}"), "no key enabled");
    }
}
