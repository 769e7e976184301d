//! Node and cluster capacity: per hour and node the max over pod rows, summed over the day's hours.

use rustc_hash::FxHashMap;

use crate::accumulators::{Max, Sum};
use crate::input::Floats;
use crate::intern::StrId;
use crate::metrics::{core_hours, gibibyte_hours, Resources};

const HOUR_MS: i64 = 3_600_000;
const HOURS: usize = 24;

/// Hourly maxima of node_capacity_cpu_core_seconds and node_capacity_memory_byte_seconds per
/// (interval_start, node). Interval starts on the hour (koku's) index a dense node × hour table
/// (nodes numbered in order of appearance, so its size is the day's nodes × 24 whatever the
/// string ids); any other interval start falls back to a hash map.
pub struct HourlyCapacity {
    day_start_ms: i64,
    /// node string id → its number in `on_the_hour`, `NO_NODE` until seen.
    node_index: Vec<u32>,
    /// node number → its string id.
    nodes: Vec<StrId>,
    /// hour → node number → the maxima: the rows of one hour (which come together) touch one
    /// small table.
    on_the_hour: [Vec<Resources<Max>>; HOURS],
    other: FxHashMap<(i64, StrId), Resources<Max>>,
}

const NO_NODE: u32 = u32::MAX;

/// A node's (or the cluster's) capacity of the day, in core-seconds and byte-seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct DayCapacity {
    pub cpu_core_seconds: Option<f64>,
    pub memory_byte_seconds: Option<f64>,
}

impl DayCapacity {
    /// The capacity in core-hours and GiB-hours.
    pub fn hours(&self) -> Resources<Option<f64>> {
        Resources {
            cpu: self.cpu_core_seconds.map(core_hours),
            memory: self.memory_byte_seconds.map(gibibyte_hours),
        }
    }
}

/// The day's capacity of each node and of the cluster.
pub struct DailyCapacity {
    pub nodes: FxHashMap<StrId, DayCapacity>,
    pub cluster: DayCapacity,
}

impl DailyCapacity {
    /// A node's capacity; a node that never reported any is all NULL.
    pub fn of_node(&self, node: StrId) -> DayCapacity {
        self.nodes.get(&node).copied().unwrap_or_default()
    }
}

impl HourlyCapacity {
    pub fn new(day: i32) -> Self {
        Self {
            day_start_ms: day as i64 * 24 * HOUR_MS,
            node_index: Vec::new(),
            nodes: Vec::new(),
            on_the_hour: Default::default(),
            other: FxHashMap::default(),
        }
    }

    /// The number of a node (given on first sight).
    #[inline]
    fn node_number(&mut self, node: StrId) -> usize {
        let n = node as usize;
        if n >= self.node_index.len() {
            self.node_index
                .resize((n + 1).max(self.node_index.len() * 2), NO_NODE);
        }
        if self.node_index[n] == NO_NODE {
            self.node_index[n] = self.nodes.len() as u32;
            self.nodes.push(node);
        }
        self.node_index[n] as usize
    }

    /// The hour of the day of an interval start on the hour, `None` for any other.
    #[inline]
    fn hour_of(&self, interval_start: i64) -> Option<usize> {
        let offset = interval_start - self.day_start_ms;
        ((0..HOURS as i64 * HOUR_MS).contains(&offset) && offset % HOUR_MS == 0)
            .then_some((offset / HOUR_MS) as usize)
    }

    #[cfg(test)]
    pub fn observe(
        &mut self,
        interval_start: i64,
        node: StrId,
        cpu: Option<f64>,
        memory: Option<f64>,
    ) {
        let hour = self.hour_of(interval_start);
        self.observe_at(interval_start, hour, node, cpu, memory);
    }

    #[inline]
    fn observe_at(
        &mut self,
        interval_start: i64,
        hour: Option<usize>,
        node: StrId,
        cpu: Option<f64>,
        memory: Option<f64>,
    ) {
        let m = match hour {
            Some(hour) => {
                let at = self.node_number(node);
                let table = &mut self.on_the_hour[hour];
                if at >= table.len() {
                    table.resize(self.nodes.len(), Resources::default());
                }
                &mut table[at]
            }
            None => self.other.entry((interval_start, node)).or_default(),
        };
        m.cpu.add(cpu);
        m.memory.add(memory);
    }

    /// Observe the listed rows (row, interval_start) of a batch: `node` holds each row's node,
    /// `cpu` and `memory` the capacity columns. Rows of one hour come together, so the hour of
    /// the previous row is reused.
    pub fn observe_rows(
        &mut self,
        rows: &[(usize, i64)],
        node: &[StrId],
        cpu: &Floats,
        memory: &Floats,
    ) {
        let mut last: Option<(i64, Option<usize>)> = None;
        for &(i, t) in rows {
            let hour = match last {
                Some((at, hour)) if at == t => hour,
                _ => {
                    let hour = self.hour_of(t);
                    last = Some((t, hour));
                    hour
                }
            };
            self.observe_at(t, hour, node[i], cpu.get(i), memory.get(i));
        }
    }

    /// Per node the sum of its hourly maxima, and the cluster's sum over nodes.
    pub fn daily(&self) -> DailyCapacity {
        let mut nodes: FxHashMap<StrId, Resources<Sum>> = FxHashMap::default();
        // By node string id, then hour, as a table indexed by string id would be walked: the
        // sums (and the map's order, which the cluster sum follows) do not depend on the order
        // in which nodes appeared.
        let mut order: Vec<(StrId, usize)> = self.nodes.iter().copied().zip(0..).collect();
        order.sort_unstable();
        for (node, at) in order {
            for m in self.on_the_hour.iter().filter_map(|hour| hour.get(at)) {
                if m.cpu.get().is_some() || m.memory.get().is_some() {
                    let e = nodes.entry(node).or_default();
                    e.cpu.add(m.cpu.get());
                    e.memory.add(m.memory.get());
                }
            }
        }
        for (&(_, node), m) in &self.other {
            let e = nodes.entry(node).or_default();
            e.cpu.add(m.cpu.get());
            e.memory.add(m.memory.get());
        }
        let (mut cpu, mut mem) = (Sum::default(), Sum::default());
        let nodes = nodes
            .into_iter()
            .map(|(node, sums)| {
                cpu.add(sums.cpu.get());
                mem.add(sums.memory.get());
                (
                    node,
                    DayCapacity {
                        cpu_core_seconds: sums.cpu.get(),
                        memory_byte_seconds: sums.memory.get(),
                    },
                )
            })
            .collect();
        DailyCapacity {
            nodes,
            cluster: DayCapacity {
                cpu_core_seconds: cpu.get(),
                memory_byte_seconds: mem.get(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_maxima_summed_per_node_and_cluster() {
        let day = 20_000;
        let start = day as i64 * 86_400_000;
        let mut c = HourlyCapacity::new(day);
        // node 1: hour 0 max 4, hour 1 max 6, an off-the-hour interval 1; node 2: hour 0 only 8.
        c.observe(start, 1, Some(2.0), Some(10.0));
        c.observe(start, 1, Some(4.0), None);
        c.observe(start + HOUR_MS, 1, Some(6.0), Some(20.0));
        c.observe(start + 90_000, 1, Some(1.0), None);
        c.observe(start, 2, Some(8.0), None);
        c.observe(start + HOUR_MS, 3, None, None);
        let DailyCapacity { nodes, cluster } = c.daily();
        assert_eq!(nodes[&1].cpu_core_seconds, Some(11.0));
        assert_eq!(nodes[&1].memory_byte_seconds, Some(30.0));
        assert_eq!(nodes[&2].cpu_core_seconds, Some(8.0));
        assert_eq!(nodes[&2].memory_byte_seconds, None);
        assert!(nodes.get(&3).is_none_or(|n| n.cpu_core_seconds.is_none()));
        assert_eq!(cluster.cpu_core_seconds, Some(19.0));
        assert_eq!(cluster.memory_byte_seconds, Some(30.0));
    }

    #[test]
    fn node_capacity_is_the_hourly_max_over_pods_not_their_sum() {
        use crate::testing::*;
        let mut state = day();
        let pod = |name, h, core_seconds: f64| PodIn {
            hour: hour(h),
            namespace: "ns",
            node: "n1",
            pod: name,
            capacity_core_seconds: Some(core_seconds),
            capacity_memory_byte_seconds: Some(core_seconds * GIB_BYTES),
            ..Default::default()
        };
        // Hour 0: two pods report 14400 and 10800 (max 14400); hour 1: 7200.
        let rows = [
            pod("a", 0, 14_400.0),
            pod("b", 0, 10_800.0),
            pod("a", 1, 7200.0),
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);
        let r = out.row(&[("namespace", Some("ns"))]);
        // (14400 + 7200) / 3600 = 6 core-hours; the same in GiB-hours.
        assert_eq!(out.float(r, "node_capacity_cpu_core_hours"), Some(6.0));
        assert_eq!(
            out.float(r, "node_capacity_memory_gigabyte_hours"),
            Some(6.0)
        );
        assert_eq!(out.float(r, "cluster_capacity_cpu_core_hours"), Some(6.0));
    }
}
