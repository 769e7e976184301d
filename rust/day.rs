//! One day's aggregation: push hourly batches of each report type, then emit the day's rows.

use std::sync::Arc;

use arrow_array::RecordBatch;

use crate::calendar::days_in_month;
use crate::capacity::{DailyCapacity, HourlyCapacity};
use crate::config::{Config, DaySize};
use crate::cost_category::NamespaceCategories;
use crate::error::{KernelError, Result};
use crate::input::{rows_of_day, StringReader};
use crate::intern::{Interner, StrId};
use crate::labels::{LabelSets, ObjectLabels, RenderedLabels, EMPTY_SET};
use crate::output::{build_output, RowSink, RowSource, RunConstants};
use crate::pod::{pod_groups, pod_row, write_pod_rows, DailyPods, PodColumns, PodGroup, PodKey};
use crate::storage::{
    storage_groups, write_storage_rows, StorageDay, StorageGroup, VolumeKey, VolumeMeasures,
};
use crate::unallocated::{unallocated_rows, write_unallocated_rows, UnallocatedRow};

/// The state of one day D.
///
/// Every id and table here belongs to D alone: a new `DayState` starts from empty tables, so
/// nothing grows with the run (its days, or the pods and label strings of other days). The only
/// state shared between days is the run's [`Config`], whose label cache is bounded by bytes
/// ([`crate::labels::LABEL_CACHE_BYTES`]) whatever the cluster, and which tells a new day how
/// large the last day's main tables grew ([`crate::config::DaySizes`]): D's tables are allocated
/// at that size (and 1/16 more) before D's first row, not doubled from empty.
///
/// Memory while D's batches are pushed, with P = D's distinct daily pod rows (namespace, node,
/// pod, raw labels), S = D's distinct strings (pod names, label JSON, ...) of total length T
/// bytes, V = D's distinct volume rows, N = D's nodes, L = D's distinct filtered label sets,
/// and B = the rows of the largest batch pushed:
/// - strings: T + 16·S bytes (each string stored once, its end and hash) plus the hash table;
/// - daily pod rows: ~110·P bytes (key and chain 28, the eight sums in one 64-byte line,
///   maxima 16, presence 2; 32 more when a file lacks effective usage) plus 4·S for the pod
///   index;
/// - hourly capacity: 24·16·N bytes plus 4·S for the node index; storage: ~100·V bytes; label
///   sets: their pairs, ~8 bytes per label of each of the L sets, plus 4·S for the
///   parsed-string index;
/// - per batch: ~40·B bytes of scratch (reused by the next day of the thread), and a copy of
///   each dictionary column's current dictionary (its bytes, 8 bytes a value).
///
/// `finish` frees the push-only parts, then builds the summary groups (~200 bytes per group,
/// about one per daily pod row and volume row) and the rendered JSON of the label sets used,
/// and writes the output batch at its exact size (the day's result, which the caller keeps; its
/// text and number columns on two threads).
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
    /// Each row's daily pod row.
    daily: Vec<u32>,
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
        if !self.finished {
            // (`finish` released it already.)
            std::mem::take(&mut self.scratch).release();
        }
    }
}

impl DayState {
    pub fn new(config: Arc<Config>, day: i32) -> Self {
        config.filter.begin_day();
        let size = config.day_sizes.get().with_headroom();
        Self {
            config,
            day,
            strings: Interner::with_capacity(size.strings, size.text_bytes),
            labels: LabelSets::new(),
            node_labels: ObjectLabels::default(),
            namespace_labels: ObjectLabels::default(),
            capacity: HourlyCapacity::new(day),
            pods: DailyPods::with_capacity(size.pods, size.strings),
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
        let columns = PodColumns::read(batch, rows)?;
        // Each row's daily row (a new one takes the filtered set of its raw labels, which
        // parses a raw label string at its first row of the day) and max(resource_id).
        let daily = &mut scratch.daily;
        daily.clear();
        for &(i, t) in rows {
            let key = PodKey {
                namespace: namespace[i],
                node: node[i],
                pod: pod[i],
                raw_labels: raw_labels[i],
            };
            let (d, new) = self.pods.find_or_add(key);
            if new {
                let set = self
                    .labels
                    .filtered(
                        raw_labels[i],
                        &self.strings,
                        &self.config.filter,
                        "pod_labels",
                    )
                    .map_err(|e| e.at_hour(t))?;
                self.pods.set_labels(d, set);
            }
            self.pods
                .observe_resource_id(&self.strings, d, resource_id[i]);
            daily.push(d);
        }
        let (cpu, memory) = (
            &columns.capacity_cpu_core_seconds,
            &columns.capacity_memory_byte_seconds,
        );
        self.capacity.observe_rows(rows, node, cpu, memory);
        self.pods.observe(&columns, rows, daily);
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
        let columns = VolumeMeasures::read(batch, rows)?;
        let filter = &self.config.filter;
        for &(i, t) in rows {
            let pv_set = self
                .labels
                .filtered(
                    pv_labels[i],
                    &self.strings,
                    filter,
                    "persistentvolume_labels",
                )
                .map_err(|e| e.at_hour(t))?;
            let pvc_set = self
                .labels
                .filtered(
                    pvc_labels[i],
                    &self.strings,
                    filter,
                    "persistentvolumeclaim_labels",
                )
                .map_err(|e| e.at_hour(t))?;
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
            self.storage.observe(key, pv_set, pvc_set, &columns.hour(i));
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
        for &(i, t) in &scratch.rows {
            let target = if node {
                &mut self.node_labels
            } else {
                &mut self.namespace_labels
            };
            if !target.observe_raw(objects[i], raw[i]) {
                continue;
            }
            let set = self
                .labels
                .filtered(raw[i], &self.strings, &self.config.filter, labels_column)
                .map_err(|e| e.at_hour(t))?;
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
        self.config.day_sizes.set(DaySize {
            pods: self.pods.rows.len(),
            strings: self.strings.len(),
            text_bytes: self.strings.text_bytes(),
        });
        // What only the pushes needed goes before the rows are built.
        self.reader = StringReader::default();
        std::mem::take(&mut self.scratch).release();
        let capacity = std::mem::replace(&mut self.capacity, HourlyCapacity::new(self.day)).daily();
        let daily = std::mem::take(&mut self.pods);
        let storage = std::mem::take(&mut self.storage);
        let strings = &self.strings;
        let config = &*self.config;
        let mut categories = NamespaceCategories::new(&config.categories, strings);
        let pods = pod_groups(
            &daily,
            strings,
            &mut self.labels,
            &self.node_labels,
            &self.namespace_labels,
            |ns| categories.join(ns),
        );
        let volumes = storage_groups(
            &storage,
            &daily,
            &mut self.labels,
            &self.node_labels,
            &self.namespace_labels,
            |ns| categories.join(ns),
        );
        drop((daily, storage));
        let labels = RenderedLabels::new(
            &self.labels,
            pods.iter()
                .map(|g| g.labels)
                .chain(volumes.iter().map(|g| g.labels)),
        );
        self.labels = LabelSets::new();
        let unallocated = unallocated_rows(
            pods.iter().map(|g| pod_row(g, &capacity)),
            strings,
            |n, r| config.role_of(n, r),
        );
        let rows = DayRows {
            pods: &pods,
            capacity: &capacity,
            volumes: &volumes,
            unallocated: &unallocated,
            days_in_month: days_in_month(self.day),
            strings,
            labels: &labels,
            config,
        };
        build_output(self.day, &rows, run)
    }
}

/// A day's summary rows, ready to be written.
struct DayRows<'a> {
    pods: &'a [PodGroup],
    capacity: &'a DailyCapacity,
    volumes: &'a [StorageGroup],
    unallocated: &'a [UnallocatedRow],
    days_in_month: u32,
    strings: &'a Interner,
    labels: &'a RenderedLabels,
    config: &'a Config,
}

impl RowSource for DayRows<'_> {
    /// Push the pod, storage and unallocated rows, in that order.
    fn emit(&self, out: &mut impl RowSink) {
        let (strings, labels) = (self.strings, self.labels);
        write_pod_rows(self.pods, self.capacity, strings, labels, out);
        write_storage_rows(self.volumes, self.days_in_month, strings, labels, out);
        let empty = labels.get(EMPTY_SET);
        write_unallocated_rows(self.unallocated, strings, self.config, empty, out);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array};
    use arrow_buffer::{NullBuffer, ScalarBuffer};

    use crate::error::{ErrorKind, KernelError};
    use crate::testing::*;

    fn pod_at(h: i64) -> PodIn {
        PodIn {
            hour: hour(h),
            namespace: "ns",
            node: "n1",
            pod: "p",
            usage_cpu: Some(3600.0),
            capacity_memory_bytes: Some(GIB_BYTES),
            ..Default::default()
        }
    }

    fn expect_non_finite(err: KernelError, column: &str, value: &str, at: &str) {
        assert_eq!(err.kind(), ErrorKind::InputData);
        assert_eq!(err.column(), Some(column));
        assert_eq!(err.hour().as_deref(), Some(at));
        assert_eq!(err.to_string(), format!("column {column}: {value} at {at}"));
    }

    #[test]
    fn nan_usage_names_the_column_and_the_first_such_hour() {
        let rows = [
            pod_at(2),
            PodIn {
                usage_cpu: Some(f64::NAN),
                ..pod_at(4)
            },
            PodIn {
                usage_cpu: Some(f64::NAN),
                ..pod_at(5)
            },
        ];
        let err = day().push_pod_usage(&pod_batch(&rows, true)).unwrap_err();
        expect_non_finite(
            err,
            "pod_usage_cpu_core_seconds",
            "NaN",
            "2026-08-03T04:00:00",
        );
    }

    #[test]
    fn infinite_capacity_is_an_error() {
        let rows = [PodIn {
            capacity_memory_bytes: Some(f64::INFINITY),
            ..pod_at(7)
        }];
        let err = day().push_pod_usage(&pod_batch(&rows, true)).unwrap_err();
        expect_non_finite(
            err,
            "node_capacity_memory_bytes",
            "Infinity",
            "2026-08-03T07:00:00",
        );
    }

    #[test]
    fn negative_infinite_storage_capacity_is_an_error_not_a_null() {
        let rows = [StorageIn {
            hour: hour(23),
            namespace: "ns",
            pod: "p",
            pvc: "c",
            pv: "v",
            capacity_bytes: Some(f64::NEG_INFINITY),
            ..Default::default()
        }];
        let err = day().push_storage_usage(&storage_batch(&rows)).unwrap_err();
        expect_non_finite(
            err,
            "persistentvolumeclaim_capacity_bytes",
            "-Infinity",
            "2026-08-03T23:00:00",
        );
    }

    #[test]
    fn effective_usage_is_checked_too() {
        let rows = [PodIn {
            effective_memory: Some(f64::NEG_INFINITY),
            ..pod_at(0)
        }];
        let err = day().push_pod_usage(&pod_batch(&rows, true)).unwrap_err();
        expect_non_finite(
            err,
            "pod_effective_usage_memory_byte_seconds",
            "-Infinity",
            "2026-08-03T00:00:00",
        );
    }

    #[test]
    fn nulls_and_other_days_rows_are_not_checked() {
        let mut state = day();
        // A row of the next day with NaN: not this day's concern (its own day reports it).
        let rows = [
            pod_at(1),
            PodIn {
                usage_cpu: Some(f64::NAN),
                ..pod_at(24)
            },
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        // A NULL slot whose buffer value happens to be NaN is NULL, not NaN.
        let base = pod_batch(&[pod_at(2), pod_at(3)], true);
        let nan_under_null: ArrayRef = Arc::new(Float64Array::new(
            ScalarBuffer::from(vec![1800.0, f64::NAN]),
            Some(NullBuffer::from(vec![true, false])),
        ));
        state
            .push_pod_usage(&with_column(
                &base,
                "pod_usage_cpu_core_seconds",
                Some(nan_under_null),
            ))
            .unwrap();
        let out = finish(state);
        let r = out.row(&[("namespace", Some("ns"))]);
        // Hour 1: 3600; hour 2: 1800; hour 3: NULL → 5400 / 3600.
        assert_eq!(out.float(r, "pod_usage_cpu_core_hours"), Some(1.5));
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let base = pod_batch(&[pod_at(0)], true);
        let without = with_column(&base, "node_capacity_cpu_cores", None);
        let err = day().push_pod_usage(&without).unwrap_err();
        assert!(matches!(err, KernelError::MissingColumn { .. }));
        assert_eq!(err.kind(), ErrorKind::InputData);
        assert_eq!(err.column(), Some("node_capacity_cpu_cores"));
        assert_eq!(err.hour(), None);
        assert_eq!(err.to_string(), "column node_capacity_cpu_cores is missing");
    }

    #[test]
    fn a_column_of_the_wrong_type_is_input_data() {
        let base = pod_batch(&[pod_at(0)], true);
        let ints: ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![1]));
        let wrong = with_column(&base, "pod_limit_cpu_core_seconds", Some(ints));
        let err = day().push_pod_usage(&wrong).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InputData);
        assert_eq!(
            err.to_string(),
            "column pod_limit_cpu_core_seconds has type Int64, expected double"
        );
    }

    #[test]
    fn pushing_after_finish_is_internal_misuse() {
        let mut state = day();
        state
            .push_pod_usage(&pod_batch(&[pod_at(0)], true))
            .unwrap();
        let run = crate::output::RunConstants {
            report_period_id: 1,
            cluster_id: "c".into(),
            cluster_alias: None,
            source_uuid: "s".into(),
        };
        state.finish(&run).unwrap();
        let err = state
            .push_pod_usage(&pod_batch(&[pod_at(1)], true))
            .unwrap_err();
        assert!(matches!(err, KernelError::Finished));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(matches!(state.finish(&run), Err(KernelError::Finished)));
    }

    #[test]
    fn a_day_starts_with_room_for_the_last_days_tables_and_the_same_rows() {
        let mut first = day();
        let config = Arc::clone(&first.config);
        let rows: Vec<PodIn> = (0..300)
            .map(|i| PodIn {
                pod: Box::leak(format!("p{i}").into_boxed_str()),
                ..pod_at(i % 24)
            })
            .collect();
        let batch = pod_batch(&rows, true);
        first.push_pod_usage(&batch).unwrap();
        let pods = first.pods.rows.len();
        let expected = finish(first);
        let size = config.day_sizes.get();
        assert_eq!(size.pods, 300);
        assert!(size.strings > 300 && size.text_bytes > 0);
        let mut second = super::DayState::new(Arc::clone(&config), DAY);
        assert!(second.pods.rows.capacity() >= pods + pods / 16);
        second.push_pod_usage(&batch).unwrap();
        let again = finish(second).0;
        for (field, column) in expected
            .0
            .schema()
            .fields()
            .iter()
            .zip(expected.0.columns())
        {
            if field.name() != "uuid" {
                let other = again.column_by_name(field.name()).unwrap();
                assert_eq!(
                    column,
                    other,
                    "{}: the same whatever the tables' start",
                    field.name()
                );
            }
        }
    }
}
