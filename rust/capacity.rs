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

/// Hourly maxima of node_capacity_cpu_core_seconds and node_capacity_memory_byte_seconds,
/// per node (dense by string id) a short list of (interval_start, maxima) with a last-hit hint.
#[derive(Default)]
pub struct HourlyCapacity {
    nodes: Vec<NodeHours>,
}

#[derive(Default, Clone)]
struct NodeHours {
    last: usize,
    hours: Vec<(i64, [Max; 2])>,
}

/// A node's capacity of the day, in core-seconds and byte-seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct DayCapacity {
    pub cpu_core_seconds: Option<f64>,
    pub memory_byte_seconds: Option<f64>,
}

impl HourlyCapacity {
    #[inline]
    pub fn observe(
        &mut self,
        interval_start: i64,
        node: StrId,
        cpu: Option<f64>,
        memory: Option<f64>,
    ) {
        let n = node as usize;
        if n >= self.nodes.len() {
            self.nodes.resize(n + 1, NodeHours::default());
        }
        let h = &mut self.nodes[n];
        let at = match h.hours.get(h.last) {
            Some((t, _)) if *t == interval_start => h.last,
            _ => match h.hours.iter().position(|(t, _)| *t == interval_start) {
                Some(at) => at,
                None => {
                    h.hours.push((interval_start, [Max::default(); 2]));
                    h.hours.len() - 1
                }
            },
        };
        h.last = at;
        let m = &mut h.hours[at].1;
        m[0].add(cpu);
        m[1].add(memory);
    }

    /// Per node the sum of its hourly maxima, and the cluster's sum over nodes.
    pub fn daily(&self) -> (FxHashMap<StrId, DayCapacity>, DayCapacity) {
        let mut nodes: FxHashMap<StrId, (Sum, Sum)> = FxHashMap::default();
        for (node, h) in self.nodes.iter().enumerate() {
            for (_, m) in &h.hours {
                let e = nodes.entry(node as StrId).or_default();
                e.0.add(m[0].get());
                e.1.add(m[1].get());
            }
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
