//! Pod rows: koku's daily pod rows (per namespace, node, pod and raw labels), then the summary
//! groups per (namespace, node, merged labels) with their sums and maxima, written as the
//! day's `Pod` rows.

use arrow_array::RecordBatch;
use rustc_hash::FxHashMap;

use crate::accumulators::{add_present, greatest, Max, Sum};
use crate::capacity::DailyCapacity;
use crate::error::Result;
use crate::input::{finite_floats, Floats};
use crate::intern::{Interner, StrId, NULL};
use crate::labels::{LabelSets, ObjectLabels, RenderedLabels, SetId, EMPTY_SET};
use crate::metrics::{pod_hours, Capacity, Measures, PodMeasures, Resources, GIB};
use crate::output::{RowSink, SummaryRow};

/// The pod_usage columns of each measure.
const MEASURE_COLUMNS: PodMeasures<&str> = Resources {
    cpu: Measures {
        usage: "pod_usage_cpu_core_seconds",
        request: "pod_request_cpu_core_seconds",
        effective: "pod_effective_usage_cpu_core_seconds",
        limit: "pod_limit_cpu_core_seconds",
    },
    memory: Measures {
        usage: "pod_usage_memory_byte_seconds",
        request: "pod_request_memory_byte_seconds",
        effective: "pod_effective_usage_memory_byte_seconds",
        limit: "pod_limit_memory_byte_seconds",
    },
};

/// The float columns of one pod_usage batch, checked finite on the rows of the day.
pub struct PodColumns<'a> {
    measures: PodMeasures<Floats<'a>>,
    capacity_cpu_cores: Floats<'a>,
    pub capacity_cpu_core_seconds: Floats<'a>,
    capacity_memory_bytes: Floats<'a>,
    pub capacity_memory_byte_seconds: Floats<'a>,
}

impl<'a> PodColumns<'a> {
    /// `rows`: the rows of the day with their interval_start.
    pub fn read(batch: &'a RecordBatch, rows: &[(usize, i64)]) -> Result<Self> {
        let read = |name| finite_floats(batch, name, rows);
        let measures = |m: Measures<&'static str>| -> Result<Measures<Floats<'a>>> {
            Ok(Measures {
                usage: read(m.usage)?,
                request: read(m.request)?,
                effective: read(m.effective)?,
                limit: read(m.limit)?,
            })
        };
        Ok(Self {
            measures: Resources {
                cpu: measures(MEASURE_COLUMNS.cpu)?,
                memory: measures(MEASURE_COLUMNS.memory)?,
            },
            capacity_cpu_cores: read("node_capacity_cpu_cores")?,
            capacity_cpu_core_seconds: read("node_capacity_cpu_core_seconds")?,
            capacity_memory_bytes: read("node_capacity_memory_bytes")?,
            capacity_memory_byte_seconds: read("node_capacity_memory_byte_seconds")?,
        })
    }
}

const USAGE: u8 = 1;
const REQUEST: u8 = 2;
const LIMIT: u8 = 4;
const EFFECTIVE: u8 = 8;
const FALLBACK: u8 = 16;

/// The four measures of a resource within [`Sums`].
const MEASURES: usize = 4;
const USAGE_AT: usize = 0;
const REQUEST_AT: usize = 1;
const LIMIT_AT: usize = 2;
const EFFECTIVE_AT: usize = 3;

/// A daily pod row's sums of the eight measures (cpu, then memory: usage, request, limit,
/// effective usage of the hours that have it), NULL read as 0: one cache line, the only one the
/// hot loop writes per row. Which sums have seen a value is `present`'s bits.
#[repr(align(64))]
#[derive(Clone, Copy, Debug, Default)]
struct Sums([f64; 2 * MEASURES]);

/// The bit of `present` of each sum (per resource).
const BITS: [u8; MEASURES] = [USAGE, REQUEST, LIMIT, EFFECTIVE];

/// Σ usage and Σ request of the hours without effective usage (NULL read as 0), per resource:
/// koku's fallback for files that lack the effective-usage columns.
#[derive(Clone, Copy, Debug, Default)]
struct Fallback([f64; 2]);

/// The four measures of one resource, when none of them has a NULL.
struct DenseMeasures<'a>([&'a [f64]; MEASURES]);

impl<'a> DenseMeasures<'a> {
    fn of(m: &Measures<Floats<'a>>) -> Option<Self> {
        let mut columns = [&[][..]; MEASURES];
        for (at, column) in measure_columns(m) {
            columns[at] = column.dense()?;
        }
        Some(Self(columns))
    }
}

/// Each measure column of a resource with its place in [`Sums`].
fn measure_columns<'b, 'a>(m: &'b Measures<Floats<'a>>) -> [(usize, &'b Floats<'a>); MEASURES] {
    [
        (USAGE_AT, &m.usage),
        (REQUEST_AT, &m.request),
        (LIMIT_AT, &m.limit),
        (EFFECTIVE_AT, &m.effective),
    ]
}

/// What keys one row of koku's daily pod tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodKey {
    pub namespace: StrId,
    pub node: StrId,
    pub pod: StrId,
    pub raw_labels: StrId,
}

/// One row of koku's daily pod tree: the hourly rows of a (namespace, node, pod, raw labels).
pub struct DailyPod {
    pub key: PodKey,
    pub labels: SetId,
    pub resource_id: StrId,
}

/// koku's daily pod rows. Rows are found through a dense table indexed by the pod's string id
/// and a chain of the rows sharing that pod (usually one), so the hot path hashes nothing; their
/// sums and maxima are kept a column per measure and added a column at a time.
#[derive(Default)]
pub struct DailyPods {
    /// pod string id → first row of that pod, `NO_ROW` when none.
    first_by_pod: Vec<u32>,
    /// row → next row of the same pod.
    next: Vec<u32>,
    pub rows: Vec<DailyPod>,
    /// row → its sums, which of them have seen a value (a byte per resource), and its maxima
    /// of node_capacity_cpu_cores and node_capacity_memory_bytes.
    sums: Vec<Sums>,
    present: Vec<[u8; 2]>,
    maxima: Vec<[Max; 2]>,
    /// row → its fallback sums per resource; empty until an hour lacks effective usage.
    fallback: Vec<[Fallback; 2]>,
}

const NO_ROW: u32 = u32::MAX;

impl DailyPods {
    /// Room for `rows` daily rows, their pods' string ids below `strings`.
    pub fn with_capacity(rows: usize, strings: usize) -> Self {
        Self {
            first_by_pod: vec![NO_ROW; strings],
            next: Vec::with_capacity(rows),
            rows: Vec::with_capacity(rows),
            sums: Vec::with_capacity(rows),
            present: Vec::with_capacity(rows),
            maxima: Vec::with_capacity(rows),
            fallback: Vec::new(),
        }
    }

    /// The daily row of `key`, and whether it is new.
    #[inline]
    pub fn find_or_add(&mut self, key: PodKey) -> (u32, bool) {
        let p = key.pod as usize;
        if p >= self.first_by_pod.len() {
            self.first_by_pod
                .resize((p + 1).max(self.first_by_pod.len() * 2), NO_ROW);
        }
        let mut at = self.first_by_pod[p];
        while at != NO_ROW {
            if self.rows[at as usize].key == key {
                return (at, false);
            }
            at = self.next[at as usize];
        }
        let idx = self.rows.len() as u32;
        self.rows.push(DailyPod {
            key,
            labels: EMPTY_SET,
            resource_id: NULL,
        });
        self.sums.push(Sums::default());
        self.present.push([0; 2]);
        self.maxima.push([Max::default(); 2]);
        self.next.push(self.first_by_pod[p]);
        self.first_by_pod[p] = idx;
        (idx, true)
    }

    /// Set a new row's filtered label set (that of its raw labels).
    pub fn set_labels(&mut self, row: u32, labels: SetId) {
        self.rows[row as usize].labels = labels;
    }

    /// `max(resource_id)` of a row with one more value.
    #[inline]
    pub fn observe_resource_id(&mut self, strings: &Interner, row: u32, resource_id: StrId) {
        let row = &mut self.rows[row as usize];
        if row.resource_id != resource_id {
            row.resource_id = strings.max(row.resource_id, resource_id);
        }
    }

    /// Add the listed hourly rows (`rows`, each with its daily row in `daily`) to their daily
    /// rows: all measures in one pass when no measure column has a NULL (koku's files), else a
    /// column at a time. Either way each sum takes its values in row order.
    pub fn observe(&mut self, columns: &PodColumns, rows: &[(usize, i64)], daily: &[u32]) {
        let m = &columns.measures;
        match (DenseMeasures::of(&m.cpu), DenseMeasures::of(&m.memory)) {
            (Some(cpu), Some(memory)) => {
                let [cu, cq, cl, ce] = cpu.0;
                let [mu, mq, ml, me] = memory.0;
                for (&(i, _), &d) in rows.iter().zip(daily) {
                    let s = &mut self.sums[d as usize].0;
                    s[0] += cu[i];
                    s[1] += cq[i];
                    s[2] += cl[i];
                    s[3] += ce[i];
                    s[4] += mu[i];
                    s[5] += mq[i];
                    s[6] += ml[i];
                    s[7] += me[i];
                }
                let all = USAGE | REQUEST | LIMIT | EFFECTIVE;
                for &d in daily {
                    let p = &mut self.present[d as usize];
                    p[0] |= all;
                    p[1] |= all;
                }
            }
            _ => {
                self.add_resource(0, &m.cpu, rows, daily);
                self.add_resource(1, &m.memory, rows, daily);
            }
        }
        let (cores, memory) = (&columns.capacity_cpu_cores, &columns.capacity_memory_bytes);
        for (&(i, _), &d) in rows.iter().zip(daily) {
            let max = &mut self.maxima[d as usize];
            max[0].add(cores.get(i));
            max[1].add(memory.get(i));
        }
    }

    /// Add resource `r`'s measures of the listed rows a column at a time (some have NULLs).
    fn add_resource(
        &mut self,
        r: usize,
        m: &Measures<Floats>,
        rows: &[(usize, i64)],
        daily: &[u32],
    ) {
        for (at, column) in measure_columns(m).into_iter().take(LIMIT_AT + 1) {
            for (&(i, _), &d) in rows.iter().zip(daily) {
                if let Some(v) = column.get(i) {
                    self.sums[d as usize].0[r * MEASURES + at] += v;
                    self.present[d as usize][r] |= BITS[at];
                }
            }
        }
        for (&(i, _), &d) in rows.iter().zip(daily) {
            let d = d as usize;
            match m.effective.get(i) {
                Some(v) => {
                    self.sums[d].0[r * MEASURES + EFFECTIVE_AT] += v;
                    self.present[d][r] |= EFFECTIVE;
                }
                None => {
                    if self.fallback.len() <= d {
                        self.fallback.resize(self.sums.len(), Default::default());
                    }
                    let f = &mut self.fallback[d][r].0;
                    f[0] += m.usage.get(i).unwrap_or(0.0);
                    f[1] += m.request.get(i).unwrap_or(0.0);
                    self.present[d][r] |= FALLBACK;
                }
            }
        }
    }

    /// Row `d`'s sums of resource `r`; effective is Σ effective of the hours that have it plus
    /// `greatest(Σ usage, Σ request)` of those that lack it (koku's fallback for old files).
    fn resource_sums(&self, d: usize, r: usize) -> Measures<Option<f64>> {
        let present = self.present[d][r];
        let sums = &self.sums[d].0[r * MEASURES..(r + 1) * MEASURES];
        let sum = |at: usize| (present & BITS[at] != 0).then_some(sums[at]);
        let fallback = match self.fallback.get(d) {
            Some(f) if present & FALLBACK != 0 => greatest(Some(f[r].0[0]), Some(f[r].0[1])),
            _ => None,
        };
        Measures {
            usage: sum(USAGE_AT),
            request: sum(REQUEST_AT),
            effective: add_present(sum(EFFECTIVE_AT), fallback),
            limit: sum(LIMIT_AT),
        }
    }

    /// Row `d`'s sums of each measure (seconds, byte-seconds).
    pub fn sums(&self, d: usize) -> PodMeasures<Option<f64>> {
        Resources {
            cpu: self.resource_sums(d, 0),
            memory: self.resource_sums(d, 1),
        }
    }

    pub fn capacity_cpu_cores(&self, d: usize) -> Max {
        self.maxima[d][0]
    }

    pub fn capacity_memory_bytes(&self, d: usize) -> Max {
        self.maxima[d][1]
    }
}

/// A summary pod row before unit conversion.
pub struct PodGroup {
    pub namespace: StrId,
    pub node: StrId,
    pub labels: SetId,
    pub resource_id: StrId,
    /// Σ core-seconds and byte-seconds.
    pub sums: PodMeasures<Sum>,
    pub capacity_cpu_cores: Max,
    pub capacity_memory_bytes: Max,
    pub cost_category_id: Option<i64>,
}

/// Join each daily row (node != '') to its node's and namespace's label sets and group by
/// (namespace, node, merged labels). `category(ns)` gives the max matching cost-category id and
/// how many patterns match: koku's LEFT JOIN repeats a row once per matching pattern.
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
    for (i, d) in daily.rows.iter().enumerate() {
        let PodKey {
            namespace, node, ..
        } = d.key;
        if node == NULL || strings.get(node) == Some("") {
            continue;
        }
        let (category_id, times) = category(namespace);
        let sums = daily.sums(i);
        let (cores, memory_bytes) = (daily.capacity_cpu_cores(i), daily.capacity_memory_bytes(i));
        for &node_set in node_labels.sets_of(node) {
            for &ns_set in namespace_labels.sets_of(namespace) {
                let node_ns = labels.merge(node_set, ns_set);
                let merged = labels.merge(node_ns, d.labels);
                let gi = *index.entry((namespace, node, merged)).or_insert_with(|| {
                    groups.push(PodGroup {
                        namespace,
                        node,
                        labels: merged,
                        resource_id: NULL,
                        sums: Default::default(),
                        capacity_cpu_cores: Max::default(),
                        capacity_memory_bytes: Max::default(),
                        cost_category_id: category_id,
                    });
                    groups.len() - 1
                });
                let g = &mut groups[gi];
                g.resource_id = strings.max(g.resource_id, d.resource_id);
                g.sums.cpu.add_times(sums.cpu, times);
                g.sums.memory.add_times(sums.memory, times);
                g.capacity_cpu_cores.merge(cores);
                g.capacity_memory_bytes.merge(memory_bytes);
            }
        }
    }
    groups
}

/// A written pod row as the unallocated step reads it.
pub struct PodRow {
    pub namespace: StrId,
    pub node: StrId,
    pub resource_id: StrId,
    /// Core-hours and GiB-hours.
    pub hours: PodMeasures<Option<f64>>,
    pub capacity: Capacity<Option<f64>>,
}

/// A group's hours, GiB-hours and capacity (the node's and the cluster's), as its `Pod` row
/// carries them and the unallocated step reads them.
pub fn pod_row(g: &PodGroup, capacity: &DailyCapacity) -> PodRow {
    let cluster = capacity.cluster.hours();
    let node = capacity.of_node(g.node).hours();
    PodRow {
        namespace: g.namespace,
        node: g.node,
        resource_id: g.resource_id,
        hours: pod_hours(g.sums),
        capacity: Capacity {
            node_cpu_cores: g.capacity_cpu_cores.get(),
            node_cpu_core_hours: node.cpu,
            node_memory_gigabytes: g.capacity_memory_bytes.get().map(|v| v * GIB),
            node_memory_gigabyte_hours: node.memory,
            cluster_cpu_core_hours: cluster.cpu,
            cluster_memory_gigabyte_hours: cluster.memory,
        },
    }
}

/// Write the groups as the day's `Pod` rows.
pub fn write_pod_rows(
    groups: &[PodGroup],
    capacity: &DailyCapacity,
    strings: &Interner,
    labels: &RenderedLabels,
    out: &mut impl RowSink,
) {
    for g in groups {
        let row = pod_row(g, capacity);
        let json = labels.get(g.labels);
        out.push(&SummaryRow {
            data_source: "Pod",
            namespace: strings.get(g.namespace),
            node: strings.get(g.node),
            resource_id: strings.get(g.resource_id),
            pod_labels: Some(json),
            pod: row.hours,
            capacity: row.capacity,
            all_labels: json,
            infrastructure_usage_cost: true,
            cost_category_id: g.cost_category_id,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    const CAPACITY: [&str; 6] = [
        "node_capacity_cpu_cores",
        "node_capacity_cpu_core_hours",
        "node_capacity_memory_gigabytes",
        "node_capacity_memory_gigabyte_hours",
        "cluster_capacity_cpu_core_hours",
        "cluster_capacity_memory_gigabyte_hours",
    ];

    /// A pod on node n1 (4 cores, 16 GiB) at hour `h`.
    fn on_n1(h: i64) -> PodIn {
        PodIn {
            hour: hour(h),
            namespace: "shop",
            node: "n1",
            pod: "web-1",
            resource_id: "i-1",
            capacity_cores: Some(4.0),
            capacity_core_seconds: Some(4.0 * HOUR_SECONDS),
            capacity_memory_bytes: Some(16.0 * GIB_BYTES),
            capacity_memory_byte_seconds: Some(16.0 * GIB_BYTES * HOUR_SECONDS),
            ..Default::default()
        }
    }

    #[test]
    fn sums_become_hours_and_gib_hours_with_node_and_cluster_capacity() {
        let mut state = day_with(&["app"], &[], &[]);
        let rows = [
            PodIn {
                labels: r#"{"app":"web","drop":"x"}"#,
                usage_cpu: Some(3600.0),
                request_cpu: Some(3600.0),
                limit_cpu: Some(7200.0),
                effective_cpu: Some(3600.0),
                usage_memory: Some(GIB_BYTES * 3600.0),
                request_memory: Some(2.0 * GIB_BYTES * 3600.0),
                effective_memory: Some(2.0 * GIB_BYTES * 3600.0),
                ..on_n1(0)
            },
            PodIn {
                resource_id: "i-2",
                labels: r#"{"drop":"y","app":"web"}"#,
                usage_cpu: Some(1800.0),
                request_cpu: Some(3600.0),
                limit_cpu: Some(7200.0),
                effective_cpu: Some(3600.0),
                usage_memory: Some(GIB_BYTES * 1800.0),
                request_memory: Some(2.0 * GIB_BYTES * 3600.0),
                effective_memory: Some(GIB_BYTES * 3600.0),
                ..on_n1(1)
            },
            // A blank node: no Pod row, but its capacity counts for the cluster.
            PodIn {
                node: "",
                pod: "lost",
                usage_cpu: Some(3600.0),
                capacity_core_seconds: Some(3600.0),
                capacity_memory_byte_seconds: Some(GIB_BYTES * 3600.0),
                ..on_n1(0)
            },
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);
        let r = out.row(&[("data_source", Some("Pod")), ("namespace", Some("shop"))]);
        assert_eq!(
            out.floats(r, POD_HOUR_COLUMNS),
            [
                Some(1.5), // cpu usage (3600 + 1800) / 3600
                Some(2.0), // cpu request (3600 + 3600) / 3600
                Some(2.0), // cpu effective (3600 + 3600) / 3600
                Some(4.0), // cpu limit (7200 + 7200) / 3600
                Some(1.5), // memory usage 2³⁰ × (3600 + 1800) / 3600 × 2⁻³⁰
                Some(4.0), // memory request 2 GiB × 2 hours
                Some(3.0), // memory effective 2 GiB × 1 hour + 1 GiB × 1 hour
                None,      // memory limit: NULL in every hour
            ]
        );
        assert_eq!(
            out.floats(r, CAPACITY),
            [
                Some(4.0),  // max cores
                Some(8.0),  // 4 cores × 2 hours of n1
                Some(16.0), // max 16 GiB
                Some(32.0), // 16 GiB × 2 hours
                Some(9.0),  // cluster: n1's 8 + the blank node's 1 core-hour
                Some(33.0), // cluster: n1's 32 + the blank node's 1 GiB-hour
            ]
        );
        assert_eq!(out.text(r, "node"), Some("n1"));
        assert_eq!(out.text(r, "resource_id"), Some("i-2"), "max(resource_id)");
        assert_eq!(out.text(r, "pod_labels"), Some(r#"{"app":"web"}"#));
        assert_eq!(out.text(r, "all_labels"), Some(r#"{"app":"web"}"#));
        assert_eq!(out.text(r, "volume_labels"), None);
        assert_eq!(
            out.text(r, "infrastructure_usage_cost"),
            Some(r#"{"cpu": 0.000000000, "memory": 0.000000000, "storage": 0.000000000}"#)
        );
        assert_eq!(out.int(r, "cost_category_id"), None);
        assert_eq!(out.int(r, "report_period_id"), Some(7));
        // The Pod row and n1's unallocated row; nothing for the blank node.
        assert_eq!(out.len(), 2);
        assert!(out.rows_where(&[("node", Some(""))]).is_empty());
    }

    #[test]
    fn effective_falls_back_to_greatest_of_daily_sums_where_a_file_lacks_it() {
        let mut state = day();
        // An old file without effective usage: hours 0 and 1.
        let old = [
            PodIn {
                usage_cpu: Some(7200.0),
                request_cpu: Some(1800.0),
                request_memory: Some(GIB_BYTES * 3600.0),
                ..on_n1(0)
            },
            PodIn {
                usage_cpu: Some(0.0),
                request_cpu: Some(1800.0),
                request_memory: Some(GIB_BYTES * 3600.0),
                ..on_n1(1)
            },
        ];
        // A newer file with effective usage: hour 2.
        let new = [PodIn {
            usage_cpu: Some(0.0),
            request_cpu: Some(0.0),
            effective_cpu: Some(3600.0),
            ..on_n1(2)
        }];
        state.push_pod_usage(&pod_batch(&old, false)).unwrap();
        state.push_pod_usage(&pod_batch(&new, true)).unwrap();
        let out = finish(state);
        let r = out.row(&[("namespace", Some("shop"))]);
        assert_eq!(
            out.floats(r, POD_HOUR_COLUMNS),
            [
                Some(2.0), // cpu usage (7200 + 0 + 0) / 3600
                Some(1.0), // cpu request (1800 + 1800 + 0) / 3600
                // cpu effective: 3600 (hour 2) + greatest(Σ usage 7200, Σ request 3600) of the
                // hours without it = 10800 / 3600 (hour by hour it would be 7200 + 1800 + 3600).
                Some(3.0),
                None,      // no limits
                None,      // memory usage NULL in every hour
                Some(2.0), // memory request 1 GiB × 2 hours
                // memory effective: greatest(Σ usage (NULL as 0) = 0, Σ request 2 GiB-hours);
                // hour 2 has a NULL effective memory, so it falls back to greatest(0, 0).
                Some(2.0),
                None,
            ]
        );
    }

    #[test]
    fn rows_group_per_namespace_node_and_labels() {
        let mut state = day_with(&["app"], &[], &[]);
        let rows = [
            // Same labels after filtering: one group with the two pods' sums.
            PodIn {
                pod: "a",
                labels: r#"{"app":"x","z":"1"}"#,
                usage_cpu: Some(3600.0),
                ..on_n1(0)
            },
            PodIn {
                pod: "b",
                labels: r#"{"z":"2","app":"x"}"#,
                usage_cpu: Some(1800.0),
                ..on_n1(0)
            },
            // Other labels: a group of its own.
            PodIn {
                pod: "c",
                labels: r#"{"app":"y"}"#,
                usage_cpu: Some(900.0),
                ..on_n1(0)
            },
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);
        let x = out.row(&[("pod_labels", Some(r#"{"app":"x"}"#))]);
        let y = out.row(&[("pod_labels", Some(r#"{"app":"y"}"#))]);
        assert_eq!(out.float(x, "pod_usage_cpu_core_hours"), Some(1.5)); // (3600 + 1800) / 3600
        assert_eq!(out.float(y, "pod_usage_cpu_core_hours"), Some(0.25)); // 900 / 3600
    }
}
