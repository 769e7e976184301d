//! Storage rows: each storage row finds its pod's (node, resource_id) among the day's daily pod
//! rows, shared volumes divide usage by their node count, and rows group per volume and labels.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::capacity::{Max, Sum};
use crate::intern::{StrId, NULL};
use crate::labels::{LabelSets, ObjectLabels, SetId};
use crate::pod::DailyPods;

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
    pub capacity_bytes: Max,
    /// Σ capacity byte-seconds, Σ request byte-seconds, Σ usage byte-seconds.
    pub sums: [Sum; 3],
}

#[derive(Default)]
pub struct StorageDay {
    pub volumes: FxHashMap<VolumeKey, VolumeDay>,
}

/// One hourly storage row's values.
pub struct StorageValues {
    pub capacity_bytes: Option<f64>,
    pub sums: [Option<f64>; 3],
}

impl StorageDay {
    #[inline]
    pub fn observe(
        &mut self,
        key: VolumeKey,
        pv_labels: SetId,
        pvc_labels: SetId,
        v: &StorageValues,
    ) {
        let e = self.volumes.entry(key).or_insert_with(|| VolumeDay {
            pv_labels,
            pvc_labels,
            capacity_bytes: Max::default(),
            sums: Default::default(),
        });
        e.capacity_bytes.add(v.capacity_bytes);
        for (s, x) in e.sums.iter_mut().zip(v.sums) {
            s.add(x);
        }
    }
}

/// A summary storage row before unit conversion.
pub struct StorageGroup {
    pub key: VolumeGroupKey,
    pub labels: SetId,
    pub capacity_bytes: Max,
    pub sums: [Sum; 3],
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
    // (namespace, pod) → distinct (node, resource_id) of the daily pod rows.
    let mut pod_nodes: FxHashMap<(StrId, StrId), Vec<(StrId, StrId)>> =
        FxHashMap::with_capacity_and_hasher(pods.rows.len(), Default::default());
    for d in &pods.rows {
        if d.namespace == NULL || d.pod == NULL {
            continue;
        }
        let v = pod_nodes.entry((d.namespace, d.pod)).or_default();
        if !v.contains(&(d.node, d.resource_id)) {
            v.push((d.node, d.resource_id));
        }
    }
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
                            capacity_bytes: Max::default(),
                            sums: Default::default(),
                            node_count,
                            cost_category_id: category_id,
                        });
                        groups.len() - 1
                    });
                    let g = &mut groups[gi];
                    g.capacity_bytes.merge(v.capacity_bytes);
                    for (s, x) in g.sums.iter_mut().zip(v.sums) {
                        s.add(x.get().map(|x| x * times));
                    }
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
