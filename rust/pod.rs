//! Pod rows: koku's daily pod rows (per namespace, node, pod and raw labels), then the summary
//! groups per (namespace, node, merged labels) with their sums and maxima.

use rustc_hash::FxHashMap;

use crate::capacity::{DayCapacity, Max, Sum};
use crate::intern::{Interner, StrId, NULL};
use crate::labels::{LabelSets, ObjectLabels, SetId};

pub const GIB: f64 = 1.0 / 1_073_741_824.0;

/// Input metric order within [`DailyPod::sums`].
pub const USAGE_CPU: usize = 0;
pub const REQUEST_CPU: usize = 1;
pub const LIMIT_CPU: usize = 2;
pub const USAGE_MEM: usize = 3;
pub const REQUEST_MEM: usize = 4;
pub const LIMIT_MEM: usize = 5;

/// NULL-aware sums packed densely: `present` marks which slots have seen a value.
#[derive(Clone, Copy, Debug)]
pub struct Sums<const N: usize> {
    values: [f64; N],
    present: u16,
}

impl<const N: usize> Default for Sums<N> {
    fn default() -> Self {
        Self {
            values: [0.0; N],
            present: 0,
        }
    }
}

impl<const N: usize> Sums<N> {
    pub fn get(&self, slot: usize) -> Option<f64> {
        (self.present & (1 << slot) != 0).then_some(self.values[slot])
    }
}

/// Slots of [`DailyPod::sums`] after the six input metrics: effective cpu, then memory at 7.
const EFFECTIVE_CPU: usize = 6;
/// Σ usage and Σ request of rows without effective usage: cpu usage, cpu request, memory usage, memory request.
const FALLBACK: usize = 8;

/// One row of koku's daily pod tree: the hourly rows of a (namespace, node, pod, raw labels).
pub struct DailyPod {
    pub namespace: StrId,
    pub node: StrId,
    pub pod: StrId,
    raw_labels: StrId,
    pub labels: SetId,
    pub resource_id: StrId,
    /// The six input metrics, Σ effective cpu and memory, then the four fallback sums.
    sums: Sums<12>,
    pub capacity_cores: Max,
    pub capacity_memory_bytes: Max,
}

/// One hourly pod row's values, in the order of the six input metrics then effective cpu/memory.
pub struct PodValues {
    pub metrics: [Option<f64>; 6],
    pub effective: [Option<f64>; 2],
    pub capacity_cores: Option<f64>,
    pub capacity_memory_bytes: Option<f64>,
}

fn greatest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    // Trino's greatest is NULL when an argument is NULL.
    Some(a?.max(b?))
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}

impl DailyPod {
    /// Σ of an input metric (USAGE_CPU … LIMIT_MEM).
    pub fn metric(&self, which: usize) -> Option<f64> {
        self.sums.get(which)
    }

    /// `coalesce(Σ effective, greatest(Σ usage, Σ request))` of this daily row, cpu (0) or memory (1).
    pub fn effective(&self, which: usize) -> Option<f64> {
        let fb = greatest(
            self.sums.get(FALLBACK + 2 * which),
            self.sums.get(FALLBACK + 2 * which + 1),
        );
        add(self.sums.get(EFFECTIVE_CPU + which), fb)
    }
}

/// koku's daily pod rows. Rows are found through a dense table indexed by the pod's string id
/// and a chain of the rows sharing that pod (usually one), so the hot path hashes nothing.
#[derive(Default)]
pub struct DailyPods {
    /// pod string id → first row of that pod, `NO_ROW` when none.
    first_by_pod: Vec<u32>,
    /// row → next row of the same pod.
    next: Vec<u32>,
    pub rows: Vec<DailyPod>,
}

const NO_ROW: u32 = u32::MAX;

impl DailyPods {
    #[inline]
    fn find_or_add(
        &mut self,
        namespace: StrId,
        node: StrId,
        pod: StrId,
        raw: StrId,
        labels: SetId,
    ) -> u32 {
        let p = pod as usize;
        if p >= self.first_by_pod.len() {
            self.first_by_pod
                .resize((p + 1).max(self.first_by_pod.len() * 2), NO_ROW);
        }
        let mut at = self.first_by_pod[p];
        while at != NO_ROW {
            let r = &self.rows[at as usize];
            if r.namespace == namespace && r.node == node && r.raw_labels == raw {
                return at;
            }
            at = self.next[at as usize];
        }
        let idx = self.rows.len() as u32;
        self.rows.push(DailyPod {
            namespace,
            node,
            pod,
            raw_labels: raw,
            labels,
            resource_id: NULL,
            sums: Sums::default(),
            capacity_cores: Max::default(),
            capacity_memory_bytes: Max::default(),
        });
        self.next.push(self.first_by_pod[p]);
        self.first_by_pod[p] = idx;
        idx
    }

    /// Add one hourly row to its daily row. `raw_labels` keys the row; `labels` is its filtered set.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        strings: &Interner,
        namespace: StrId,
        node: StrId,
        pod: StrId,
        raw_labels: StrId,
        labels: SetId,
        resource_id: StrId,
        v: &PodValues,
    ) {
        let idx = self.find_or_add(namespace, node, pod, raw_labels, labels);
        let row = &mut self.rows[idx as usize];
        if row.resource_id != resource_id {
            row.resource_id = strings.max(row.resource_id, resource_id);
        }
        // Add into the values and build the presence mask in a register; one store of the mask
        // (byte-wise read-modify-writes of it stall on store forwarding).
        let mut mask = 0u16;
        let values = &mut row.sums.values;
        let mut add = |slot: usize, v: Option<f64>| {
            if let Some(v) = v {
                values[slot] += v;
                mask |= 1 << slot;
            }
        };
        for (slot, m) in v.metrics.into_iter().enumerate() {
            add(slot, m);
        }
        for (which, (u, r)) in [(USAGE_CPU, REQUEST_CPU), (USAGE_MEM, REQUEST_MEM)]
            .into_iter()
            .enumerate()
        {
            match v.effective[which] {
                Some(e) => add(EFFECTIVE_CPU + which, Some(e)),
                None => {
                    add(FALLBACK + 2 * which, Some(v.metrics[u].unwrap_or(0.0)));
                    add(FALLBACK + 2 * which + 1, Some(v.metrics[r].unwrap_or(0.0)));
                }
            }
        }
        row.sums.present |= mask;
        row.capacity_cores.add(v.capacity_cores);
        row.capacity_memory_bytes.add(v.capacity_memory_bytes);
    }
}

/// A summary pod row before unit conversion.
pub struct PodGroup {
    pub namespace: StrId,
    pub node: StrId,
    pub labels: SetId,
    pub resource_id: StrId,
    /// usage, request, effective, limit for cpu then memory (core-seconds, byte-seconds).
    pub sums: [Sum; 8],
    pub capacity_cores: Max,
    pub capacity_memory_bytes: Max,
    pub cost_category_id: Option<i64>,
}

/// Join each daily row (node != '') to its node's and namespace's label sets and group by
/// (namespace, node, merged labels). `multiplicity(ns)` repeats a row once per matching cost
/// pattern, as koku's LEFT JOIN does; `category(ns)` is the max matching id.
pub fn pod_groups(
    daily: &DailyPods,
    strings: &Interner,
    labels: &mut LabelSets,
    node_labels: &ObjectLabels,
    namespace_labels: &ObjectLabels,
    mut category: impl FnMut(StrId) -> (Option<i64>, f64),
) -> Vec<PodGroup> {
    let n = daily.rows.len();
    let mut index: FxHashMap<(StrId, StrId, SetId), usize> =
        FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut groups: Vec<PodGroup> = Vec::with_capacity(n);
    for d in &daily.rows {
        if d.node == NULL || strings.get(d.node) == Some("") {
            continue;
        }
        let (category_id, times) = category(d.namespace);
        let values: [Option<f64>; 8] = [
            d.metric(USAGE_CPU),
            d.metric(REQUEST_CPU),
            d.effective(0),
            d.metric(LIMIT_CPU),
            d.metric(USAGE_MEM),
            d.metric(REQUEST_MEM),
            d.effective(1),
            d.metric(LIMIT_MEM),
        ];
        for &node_set in node_labels.sets_of(d.node) {
            for &ns_set in namespace_labels.sets_of(d.namespace) {
                let node_ns = labels.merge(node_set, ns_set);
                let merged = labels.merge(node_ns, d.labels);
                let gi = *index
                    .entry((d.namespace, d.node, merged))
                    .or_insert_with(|| {
                        groups.push(PodGroup {
                            namespace: d.namespace,
                            node: d.node,
                            labels: merged,
                            resource_id: NULL,
                            sums: Default::default(),
                            capacity_cores: Max::default(),
                            capacity_memory_bytes: Max::default(),
                            cost_category_id: category_id,
                        });
                        groups.len() - 1
                    });
                let g = &mut groups[gi];
                g.resource_id = strings.max(g.resource_id, d.resource_id);
                for (s, v) in g.sums.iter_mut().zip(values) {
                    s.add(v.map(|v| v * times));
                }
                g.capacity_cores.merge(d.capacity_cores);
                g.capacity_memory_bytes.merge(d.capacity_memory_bytes);
            }
        }
    }
    groups
}

/// The node's day capacity in hours and GiB-hours: (cpu core-hours, memory GiB-hours).
pub fn capacity_hours(c: &DayCapacity) -> (Option<f64>, Option<f64>) {
    (
        c.cpu_core_seconds.map(|v| v / 3600.0),
        c.memory_byte_seconds.map(|v| v / 3600.0 * GIB),
    )
}
