//! The named measures that travel between the rule modules, so that no value is known by its
//! position: a pod's usage, request, effective usage and limit per resource, and the capacity
//! columns of a summary row. Also the units of the summary (hours, GiB).

use crate::accumulators::{Max, Sum};

/// 2⁻³⁰: bytes to GiB.
pub const GIB: f64 = 1.0 / 1_073_741_824.0;

/// Core-seconds as core-hours.
#[inline]
pub fn core_hours(core_seconds: f64) -> f64 {
    core_seconds / 3600.0
}

/// Byte-seconds as GiB-hours.
#[inline]
pub fn gibibyte_hours(byte_seconds: f64) -> f64 {
    byte_seconds / 3600.0 * GIB
}

/// A pod's four measures of one resource, in whatever unit or accumulator `T` holds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measures<T> {
    pub usage: T,
    pub request: T,
    pub effective: T,
    pub limit: T,
}

impl<T> Measures<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Measures<U> {
        Measures {
            usage: f(self.usage),
            request: f(self.request),
            effective: f(self.effective),
            limit: f(self.limit),
        }
    }
}

impl Measures<Sum> {
    /// Add each measure `times` over (koku's joins repeat a row once per match).
    #[inline]
    pub fn add_times(&mut self, v: Measures<Option<f64>>, times: f64) {
        self.usage.add(v.usage.map(|v| v * times));
        self.request.add(v.request.map(|v| v * times));
        self.effective.add(v.effective.map(|v| v * times));
        self.limit.add(v.limit.map(|v| v * times));
    }

    /// Add each measure once.
    pub fn add(&mut self, v: Measures<Option<f64>>) {
        self.usage.add(v.usage);
        self.request.add(v.request);
        self.effective.add(v.effective);
        self.limit.add(v.limit);
    }
}

/// One `T` per resource.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Resources<T> {
    pub cpu: T,
    pub memory: T,
}

/// A pod's measures of both resources.
pub type PodMeasures<T> = Resources<Measures<T>>;

/// Σ core-seconds and byte-seconds as the summary's core-hours and GiB-hours.
pub fn pod_hours(sums: PodMeasures<Sum>) -> PodMeasures<Option<f64>> {
    Resources {
        cpu: sums.cpu.map(|s| s.get().map(core_hours)),
        memory: sums.memory.map(|s| s.get().map(gibibyte_hours)),
    }
}

/// The capacity columns of a summary row (cores, GiB, core-hours and GiB-hours).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Capacity<T> {
    pub node_cpu_cores: T,
    pub node_cpu_core_hours: T,
    pub node_memory_gigabytes: T,
    pub node_memory_gigabyte_hours: T,
    pub cluster_cpu_core_hours: T,
    pub cluster_memory_gigabyte_hours: T,
}

impl<T> Capacity<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Capacity<U> {
        Capacity {
            node_cpu_cores: f(self.node_cpu_cores),
            node_cpu_core_hours: f(self.node_cpu_core_hours),
            node_memory_gigabytes: f(self.node_memory_gigabytes),
            node_memory_gigabyte_hours: f(self.node_memory_gigabyte_hours),
            cluster_cpu_core_hours: f(self.cluster_cpu_core_hours),
            cluster_memory_gigabyte_hours: f(self.cluster_memory_gigabyte_hours),
        }
    }
}

impl Capacity<Max> {
    /// Take the max of each column.
    pub fn add(&mut self, v: &Capacity<Option<f64>>) {
        self.node_cpu_cores.add(v.node_cpu_cores);
        self.node_cpu_core_hours.add(v.node_cpu_core_hours);
        self.node_memory_gigabytes.add(v.node_memory_gigabytes);
        self.node_memory_gigabyte_hours
            .add(v.node_memory_gigabyte_hours);
        self.cluster_cpu_core_hours.add(v.cluster_cpu_core_hours);
        self.cluster_memory_gigabyte_hours
            .add(v.cluster_memory_gigabyte_hours);
    }
}
