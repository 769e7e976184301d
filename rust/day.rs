//! One day's aggregation: push hourly batches of each report type, then emit the day's rows.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use crate::capacity::HourlyCapacity;
use crate::config::Config;
use crate::cost_category::CategoryMatch;
use crate::error::{KernelError, Result};
use crate::input::{day_of_ms, floats, timestamps, StringReader};
use crate::intern::{Interner, StrId};
use crate::labels::{LabelSets, ObjectLabels, EMPTY_SET};
use crate::output::{OutputBuilder, RunConstants, SummaryRow};
use crate::pod::{capacity_hours, pod_groups, DailyPods, PodValues, GIB};
use crate::storage::{storage_groups, StorageDay, StorageValues, VolumeKey};
use crate::unallocated::{unallocated_rows, PodRowValues};

pub struct DayState {
    config: Arc<Config>,
    day: i32,
    strings: Interner,
    labels: LabelSets,
    node_labels: ObjectLabels,
    namespace_labels: ObjectLabels,
    capacity: HourlyCapacity,
    pods: DailyPods,
    storage: StorageDay,
    reader: StringReader,
    scratch: Scratch,
    finished: bool,
}

/// Buffers reused from batch to batch: the rows of the day and each string column's ids.
/// A finished day hands them to the next day of the same thread, so they are allocated once.
#[derive(Default)]
struct Scratch {
    rows: Vec<(usize, i64)>,
    ids: [Vec<StrId>; 8],
}

thread_local! {
    static SCRATCH_POOL: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    fn pooled() -> Self {
        SCRATCH_POOL.with(|p| p.take()).unwrap_or_default()
    }

    fn release(self) {
        SCRATCH_POOL.with(|p| p.set(Some(self)));
    }
}

impl Drop for DayState {
    fn drop(&mut self) {
        std::mem::take(&mut self.scratch).release();
    }
}

/// Fill `rows` with the rows of the batch whose interval_start falls on `day`, with their timestamps.
fn rows_of_day(batch: &RecordBatch, day: i32, rows: &mut Vec<(usize, i64)>) -> Result<()> {
    let ts = timestamps(batch, "interval_start")?;
    rows.clear();
    rows.extend(
        (0..batch.num_rows())
            .filter_map(|i| ts.get(i).filter(|&t| day_of_ms(t) == day).map(|t| (i, t))),
    );
    Ok(())
}

impl DayState {
    pub fn new(config: Arc<Config>, day: i32) -> Self {
        Self {
            config,
            day,
            strings: Interner::new(),
            labels: LabelSets::new(),
            node_labels: ObjectLabels::default(),
            namespace_labels: ObjectLabels::default(),
            capacity: HourlyCapacity::new(day),
            pods: DailyPods::default(),
            storage: StorageDay::default(),
            reader: StringReader::default(),
            scratch: Scratch::pooled(),
            finished: false,
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.finished {
            Err(KernelError::Finished)
        } else {
            Ok(())
        }
    }

    pub fn push_pod_usage(&mut self, batch: &RecordBatch) -> Result<()> {
        self.check_open()?;
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.push_pod_rows(batch, &mut scratch);
        self.scratch = scratch;
        result
    }

    fn push_pod_rows(&mut self, batch: &RecordBatch, scratch: &mut Scratch) -> Result<()> {
        rows_of_day(batch, self.day, &mut scratch.rows)?;
        let [namespace, node, pod, resource_id, raw_labels, ..] = &mut scratch.ids;
        for (name, out) in [
            ("namespace", &mut *namespace),
            ("node", &mut *node),
            ("pod", &mut *pod),
            ("resource_id", &mut *resource_id),
            ("pod_labels", &mut *raw_labels),
        ] {
            self.reader.read(batch, name, &mut self.strings, out)?;
        }
        let rows = &scratch.rows;
        let metric_names = [
            "pod_usage_cpu_core_seconds",
            "pod_request_cpu_core_seconds",
            "pod_limit_cpu_core_seconds",
            "pod_usage_memory_byte_seconds",
            "pod_request_memory_byte_seconds",
            "pod_limit_memory_byte_seconds",
        ];
        let metrics = metric_names
            .iter()
            .map(|n| floats(batch, n))
            .collect::<Result<Vec<_>>>()?;
        let eff_cpu = floats(batch, "pod_effective_usage_cpu_core_seconds")?;
        let eff_mem = floats(batch, "pod_effective_usage_memory_byte_seconds")?;
        let cap_cores = floats(batch, "node_capacity_cpu_cores")?;
        let cap_cpu_s = floats(batch, "node_capacity_cpu_core_seconds")?;
        let cap_mem = floats(batch, "node_capacity_memory_bytes")?;
        let cap_mem_s = floats(batch, "node_capacity_memory_byte_seconds")?;
        for &(i, t) in rows {
            let set = self.labels.filtered(
                raw_labels[i],
                &self.strings,
                &self.config.filter,
                "pod_labels",
            )?;
            self.capacity
                .observe(t, node[i], cap_cpu_s.get(i), cap_mem_s.get(i));
            let values = PodValues {
                metrics: [
                    metrics[0].get(i),
                    metrics[1].get(i),
                    metrics[2].get(i),
                    metrics[3].get(i),
                    metrics[4].get(i),
                    metrics[5].get(i),
                ],
                effective: [eff_cpu.get(i), eff_mem.get(i)],
                capacity_cores: cap_cores.get(i),
                capacity_memory_bytes: cap_mem.get(i),
            };
            self.pods.observe(
                &self.strings,
                namespace[i],
                node[i],
                pod[i],
                raw_labels[i],
                set,
                resource_id[i],
                &values,
            );
        }
        Ok(())
    }

    pub fn push_storage_usage(&mut self, batch: &RecordBatch) -> Result<()> {
        self.check_open()?;
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.push_storage_rows(batch, &mut scratch);
        self.scratch = scratch;
        result
    }

    fn push_storage_rows(&mut self, batch: &RecordBatch, scratch: &mut Scratch) -> Result<()> {
        rows_of_day(batch, self.day, &mut scratch.rows)?;
        let [namespace, pod, pvc, pv, storageclass, csi, pv_labels, pvc_labels] = &mut scratch.ids;
        for (name, out) in [
            ("namespace", &mut *namespace),
            ("pod", &mut *pod),
            ("persistentvolumeclaim", &mut *pvc),
            ("persistentvolume", &mut *pv),
            ("storageclass", &mut *storageclass),
            ("csi_volume_handle", &mut *csi),
            ("persistentvolume_labels", &mut *pv_labels),
            ("persistentvolumeclaim_labels", &mut *pvc_labels),
        ] {
            self.reader.read(batch, name, &mut self.strings, out)?;
        }
        let rows = &scratch.rows;
        let capacity = floats(batch, "persistentvolumeclaim_capacity_bytes")?;
        let cap_s = floats(batch, "persistentvolumeclaim_capacity_byte_seconds")?;
        let request_s = floats(batch, "volume_request_storage_byte_seconds")?;
        let usage_s = floats(batch, "persistentvolumeclaim_usage_byte_seconds")?;
        let filter = &self.config.filter;
        for &(i, _) in rows {
            let pv_set = self.labels.filtered(
                pv_labels[i],
                &self.strings,
                filter,
                "persistentvolume_labels",
            )?;
            let pvc_set = self.labels.filtered(
                pvc_labels[i],
                &self.strings,
                filter,
                "persistentvolumeclaim_labels",
            )?;
            let key = VolumeKey {
                namespace: namespace[i],
                pod: pod[i],
                pvc: pvc[i],
                pv: pv[i],
                storageclass: storageclass[i],
                csi_volume_handle: csi[i],
                pv_labels_raw: pv_labels[i],
                pvc_labels_raw: pvc_labels[i],
            };
            let values = StorageValues {
                capacity_bytes: capacity.get(i),
                sums: [cap_s.get(i), request_s.get(i), usage_s.get(i)],
            };
            self.storage.observe(key, pv_set, pvc_set, &values);
        }
        Ok(())
    }

    fn push_object_labels(
        &mut self,
        batch: &RecordBatch,
        object_column: &'static str,
        labels_column: &'static str,
        node: bool,
    ) -> Result<()> {
        self.check_open()?;
        let mut scratch = std::mem::take(&mut self.scratch);
        rows_of_day(batch, self.day, &mut scratch.rows)?;
        let [objects, raw, ..] = &mut scratch.ids;
        self.reader
            .read(batch, object_column, &mut self.strings, objects)?;
        self.reader
            .read(batch, labels_column, &mut self.strings, raw)?;
        let result = self.observe_object_labels(&scratch, labels_column, node);
        self.scratch = scratch;
        result
    }

    fn observe_object_labels(
        &mut self,
        scratch: &Scratch,
        labels_column: &'static str,
        node: bool,
    ) -> Result<()> {
        let [objects, raw, ..] = &scratch.ids;
        for &(i, _) in &scratch.rows {
            let target = if node {
                &mut self.node_labels
            } else {
                &mut self.namespace_labels
            };
            if !target.observe_raw(objects[i], raw[i]) {
                continue;
            }
            let set =
                self.labels
                    .filtered(raw[i], &self.strings, &self.config.filter, labels_column)?;
            target.add_set(objects[i], set);
        }
        Ok(())
    }

    pub fn push_node_labels(&mut self, batch: &RecordBatch) -> Result<()> {
        self.push_object_labels(batch, "node", "node_labels", true)
    }

    pub fn push_namespace_labels(&mut self, batch: &RecordBatch) -> Result<()> {
        self.push_object_labels(batch, "namespace", "namespace_labels", false)
    }

    /// Emit the day's pod, storage and unallocated rows.
    pub fn finish(&mut self, run: &RunConstants) -> Result<RecordBatch> {
        self.check_open()?;
        self.finished = true;
        let (node_capacity, cluster) = self.capacity.daily();
        let cluster_hours = capacity_hours(&cluster);

        // Each namespace's cost-category match, computed once a day.
        let mut categories: FxHashMap<StrId, CategoryMatch> = FxHashMap::default();
        let strings = &self.strings;
        let config = Arc::clone(&self.config);
        let mut category = |ns: StrId| {
            let m = categories
                .entry(ns)
                .or_insert_with(|| config.categories.matching(strings.get(ns)));
            (m.max_id(), m.multiplicity())
        };
        let pods = pod_groups(
            &self.pods,
            strings,
            &mut self.labels,
            &self.node_labels,
            &self.namespace_labels,
            &mut category,
        );
        let volumes = storage_groups(
            &self.storage,
            &self.pods,
            &mut self.labels,
            &self.node_labels,
            &self.namespace_labels,
            &mut category,
        );

        let mut out = OutputBuilder::new(self.day);
        // Each label set used by a row, rendered once.
        let labels = &self.labels;
        let mut json_of: Vec<Option<String>> = vec![None; labels.len()];
        for id in pods
            .iter()
            .map(|g| g.labels)
            .chain(volumes.iter().map(|g| g.labels))
            .chain([EMPTY_SET])
        {
            json_of[id as usize].get_or_insert_with(|| labels.to_json(id));
        }
        let json = |id: u32| -> &str { json_of[id as usize].as_deref().unwrap_or("{}") };

        let mut pod_values: Vec<PodRowValues> = Vec::with_capacity(pods.len());
        for g in &pods {
            let cap = node_capacity.get(&g.node).copied().unwrap_or_default();
            let (node_cpu_h, node_mem_h) = capacity_hours(&cap);
            let s = |i: usize, mem: bool| {
                g.sums[i]
                    .get()
                    .map(|v| if mem { v / 3600.0 * GIB } else { v / 3600.0 })
            };
            let pod = [
                s(0, false),
                s(1, false),
                s(2, false),
                s(3, false),
                s(4, true),
                s(5, true),
                s(6, true),
                s(7, true),
            ];
            let capacity = [
                g.capacity_cores.get(),
                node_cpu_h,
                g.capacity_memory_bytes.get().map(|v| v * GIB),
                node_mem_h,
                cluster_hours.0,
                cluster_hours.1,
            ];
            let labels_json = json(g.labels);
            out.push(&SummaryRow {
                data_source: "Pod",
                namespace: strings.get(g.namespace),
                node: strings.get(g.node),
                resource_id: strings.get(g.resource_id),
                pod_labels: Some(labels_json),
                pod,
                capacity,
                all_labels: labels_json,
                infrastructure_usage_cost: true,
                cost_category_id: g.cost_category_id,
                ..Default::default()
            });
            pod_values.push(PodRowValues {
                namespace: g.namespace,
                node: g.node,
                resource_id: g.resource_id,
                used: [pod[0], pod[1], pod[2], pod[4], pod[5], pod[6]],
                capacity,
            });
        }

        let days_in_month = days_in_month(self.day) as f64;
        let month_seconds = 86400.0 * days_in_month;
        for g in &volumes {
            let months = |v: Option<f64>| v.map(|v| v / month_seconds * GIB);
            let shared = |v: Option<f64>| match (v, g.node_count) {
                (Some(v), Some(n)) => Some(v / n),
                _ => None,
            };
            let labels_json = json(g.labels);
            out.push(&SummaryRow {
                data_source: "Storage",
                namespace: strings.get(g.key.namespace),
                node: strings.get(g.key.node),
                resource_id: strings.get(g.key.resource_id),
                persistentvolumeclaim: strings.get(g.key.pvc),
                persistentvolume: strings.get(g.key.pv),
                storageclass: strings.get(g.key.storageclass),
                volume_labels: Some(labels_json),
                all_labels: labels_json,
                storage: [
                    g.capacity_bytes.get().map(|v| v * GIB),
                    months(g.sums[0].get()),
                    months(shared(g.sums[1].get())),
                    months(shared(g.sums[2].get())),
                ],
                infrastructure_usage_cost: true,
                cost_category_id: g.cost_category_id,
                csi_volume_handle: strings.get(g.key.csi_volume_handle),
                ..Default::default()
            });
        }

        let empty = json(EMPTY_SET);
        for u in unallocated_rows(&pod_values, strings, |n, r| config.role_of(n, r)) {
            let matched = config.categories.matching(u.namespace);
            let ids: Vec<Option<i64>> = if matched.ids.is_empty() {
                vec![None]
            } else {
                matched.ids.iter().map(|&i| Some(i)).collect()
            };
            for id in ids {
                out.push(&SummaryRow {
                    data_source: "Pod",
                    namespace: u.namespace,
                    node: strings.get(u.node),
                    resource_id: strings.get(u.resource_id),
                    pod: [
                        u.values[0],
                        u.values[1],
                        u.values[2],
                        None,
                        u.values[3],
                        u.values[4],
                        u.values[5],
                        None,
                    ],
                    capacity: u.capacity,
                    all_labels: empty,
                    cost_category_id: id,
                    ..Default::default()
                });
            }
        }
        out.finish(run)
    }
}

/// Days in the month of a day number (days since 1970-01-01).
pub fn days_in_month(day: i32) -> u32 {
    // Civil-from-days (Howard Hinnant's algorithm) for the year and month.
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::days_in_month;

    #[test]
    fn month_lengths() {
        // 2027-02-10 is day 20_859; 2027-01-31 is 20_849; 2024-02-29 is 19_782.
        assert_eq!(days_in_month(20_859), 28);
        assert_eq!(days_in_month(20_849), 31);
        assert_eq!(days_in_month(19_782), 29);
        assert_eq!(days_in_month(0), 31);
    }
}
