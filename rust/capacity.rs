//! Node and cluster capacity: per hour and node the max over pod rows, summed over the day's hours.

use rustc_hash::FxHashMap;

use crate::intern::StrId;

/// SQL `max` accumulator that ignores NULLs.
#[derive(Clone, Copy, Debug)]
pub struct Max(f64);

impl Default for Max {
    fn default() -> Self {
        Max(f64::NEG_INFINITY)
    }
}

impl Max {
    #[inline]
    pub fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            if v > self.0 || self.0 == f64::NEG_INFINITY {
                self.0 = v;
            }
        }
    }

    pub fn merge(&mut self, other: Max) {
        self.add(other.get());
    }

    pub fn get(self) -> Option<f64> {
        (self.0 != f64::NEG_INFINITY).then_some(self.0)
    }
}

/// SQL `sum` accumulator: NULL when every input was NULL.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum(Option<f64>);

impl Sum {
    #[inline]
    pub fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.0 = Some(self.0.unwrap_or(0.0) + v);
        }
    }

    pub fn get(self) -> Option<f64> {
        self.0
    }
}

const HOUR_MS: i64 = 3_600_000;
const HOURS: usize = 24;

/// Hourly maxima of node_capacity_cpu_core_seconds and node_capacity_memory_byte_seconds per
/// (interval_start, node). Interval starts on the hour (koku's) index a dense node × hour table;
/// any other interval start falls back to a hash map.
pub struct HourlyCapacity {
    day_start_ms: i64,
    on_the_hour: Vec<[Max; 2]>,
    other: FxHashMap<(i64, StrId), [Max; 2]>,
}

/// A node's capacity of the day, in core-seconds and byte-seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct DayCapacity {
    pub cpu_core_seconds: Option<f64>,
    pub memory_byte_seconds: Option<f64>,
}

impl HourlyCapacity {
    pub fn new(day: i32) -> Self {
        Self {
            day_start_ms: day as i64 * 24 * HOUR_MS,
            on_the_hour: Vec::new(),
            other: FxHashMap::default(),
        }
    }

    #[inline]
    pub fn observe(
        &mut self,
        interval_start: i64,
        node: StrId,
        cpu: Option<f64>,
        memory: Option<f64>,
    ) {
        let offset = interval_start - self.day_start_ms;
        let m = if (0..HOURS as i64 * HOUR_MS).contains(&offset) && offset % HOUR_MS == 0 {
            let slot = node as usize * HOURS + (offset / HOUR_MS) as usize;
            if slot >= self.on_the_hour.len() {
                let len = (slot + 1).max(self.on_the_hour.len() * 2);
                self.on_the_hour.resize(len, [Max::default(); 2]);
            }
            &mut self.on_the_hour[slot]
        } else {
            self.other.entry((interval_start, node)).or_default()
        };
        m[0].add(cpu);
        m[1].add(memory);
    }

    /// Per node the sum of its hourly maxima, and the cluster's sum over nodes.
    pub fn daily(&self) -> (FxHashMap<StrId, DayCapacity>, DayCapacity) {
        let mut nodes: FxHashMap<StrId, (Sum, Sum)> = FxHashMap::default();
        for (node, hours) in self.on_the_hour.chunks(HOURS).enumerate() {
            for m in hours {
                if m[0].get().is_some() || m[1].get().is_some() {
                    let e = nodes.entry(node as StrId).or_default();
                    e.0.add(m[0].get());
                    e.1.add(m[1].get());
                }
            }
        }
        for (&(_, node), m) in &self.other {
            let e = nodes.entry(node).or_default();
            e.0.add(m[0].get());
            e.1.add(m[1].get());
        }
        let (mut cpu, mut mem) = (Sum::default(), Sum::default());
        let per_node = nodes
            .into_iter()
            .map(|(node, (c, m))| {
                cpu.add(c.get());
                mem.add(m.get());
                (
                    node,
                    DayCapacity {
                        cpu_core_seconds: c.get(),
                        memory_byte_seconds: m.get(),
                    },
                )
            })
            .collect();
        (
            per_node,
            DayCapacity {
                cpu_core_seconds: cpu.get(),
                memory_byte_seconds: mem.get(),
            },
        )
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
        let (nodes, cluster) = c.daily();
        assert_eq!(nodes[&1].cpu_core_seconds, Some(11.0));
        assert_eq!(nodes[&1].memory_byte_seconds, Some(30.0));
        assert_eq!(nodes[&2].cpu_core_seconds, Some(8.0));
        assert_eq!(nodes[&2].memory_byte_seconds, None);
        assert!(nodes.get(&3).is_none_or(|n| n.cpu_core_seconds.is_none()));
        assert_eq!(cluster.cpu_core_seconds, Some(19.0));
        assert_eq!(cluster.memory_byte_seconds, Some(30.0));
    }
}
