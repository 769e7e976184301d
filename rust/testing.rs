//! Test support: hourly input batches built row by row, a day to push them to, and the emitted
//! summary read back by column name. The day is 2026-08-03 (August: 31 days).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};

use crate::config::Config;
use crate::day::DayState;
use crate::output::RunConstants;

/// 2026-08-03 as days since 1970-01-01.
pub const DAY: i32 = 20_668;
/// 2³⁰ bytes.
pub const GIB_BYTES: f64 = 1_073_741_824.0;
pub const HOUR_SECONDS: f64 = 3600.0;
/// The eight pod-hour measures of a summary row, in koku's column order.
pub const POD_HOUR_COLUMNS: [&str; 8] = [
    "pod_usage_cpu_core_hours",
    "pod_request_cpu_core_hours",
    "pod_effective_usage_cpu_core_hours",
    "pod_limit_cpu_core_hours",
    "pod_usage_memory_gigabyte_hours",
    "pod_request_memory_gigabyte_hours",
    "pod_effective_usage_memory_gigabyte_hours",
    "pod_limit_memory_gigabyte_hours",
];

/// interval_start of an hour of [`DAY`], in milliseconds.
pub fn hour(h: i64) -> i64 {
    DAY as i64 * 86_400_000 + h * 3_600_000
}

/// One hourly pod_usage row; `None` metrics are NULL.
#[derive(Clone, Default)]
pub struct PodIn {
    pub hour: i64,
    pub namespace: &'static str,
    pub node: &'static str,
    pub pod: &'static str,
    pub resource_id: &'static str,
    pub labels: &'static str,
    pub usage_cpu: Option<f64>,
    pub request_cpu: Option<f64>,
    pub limit_cpu: Option<f64>,
    pub effective_cpu: Option<f64>,
    pub usage_memory: Option<f64>,
    pub request_memory: Option<f64>,
    pub limit_memory: Option<f64>,
    pub effective_memory: Option<f64>,
    pub capacity_cores: Option<f64>,
    pub capacity_core_seconds: Option<f64>,
    pub capacity_memory_bytes: Option<f64>,
    pub capacity_memory_byte_seconds: Option<f64>,
}

fn strings(values: impl Iterator<Item = &'static str>) -> ArrayRef {
    Arc::new(values.map(Some).collect::<StringArray>())
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

fn timestamps(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(values.collect::<Vec<_>>()))
}

/// A batch of named columns.
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// A pod_usage batch; `effective` says whether it has the effective-usage columns (old files lack them).
pub fn pod_batch(rows: &[PodIn], effective: bool) -> RecordBatch {
    let f = |get: fn(&PodIn) -> Option<f64>| floats(rows.iter().map(get));
    let s = |get: fn(&PodIn) -> &'static str| strings(rows.iter().map(get));
    let mut columns = vec![
        ("interval_start", timestamps(rows.iter().map(|r| r.hour))),
        ("namespace", s(|r| r.namespace)),
        ("node", s(|r| r.node)),
        ("pod", s(|r| r.pod)),
        ("resource_id", s(|r| r.resource_id)),
        (
            "pod_labels",
            s(|r| if r.labels.is_empty() { "{}" } else { r.labels }),
        ),
        ("pod_usage_cpu_core_seconds", f(|r| r.usage_cpu)),
        ("pod_request_cpu_core_seconds", f(|r| r.request_cpu)),
        ("pod_limit_cpu_core_seconds", f(|r| r.limit_cpu)),
        ("pod_usage_memory_byte_seconds", f(|r| r.usage_memory)),
        ("pod_request_memory_byte_seconds", f(|r| r.request_memory)),
        ("pod_limit_memory_byte_seconds", f(|r| r.limit_memory)),
        ("node_capacity_cpu_cores", f(|r| r.capacity_cores)),
        (
            "node_capacity_cpu_core_seconds",
            f(|r| r.capacity_core_seconds),
        ),
        ("node_capacity_memory_bytes", f(|r| r.capacity_memory_bytes)),
        (
            "node_capacity_memory_byte_seconds",
            f(|r| r.capacity_memory_byte_seconds),
        ),
    ];
    if effective {
        columns.push((
            "pod_effective_usage_cpu_core_seconds",
            f(|r| r.effective_cpu),
        ));
        columns.push((
            "pod_effective_usage_memory_byte_seconds",
            f(|r| r.effective_memory),
        ));
    } else {
        // As the Python reader passes a column a file lacks: all NULL.
        let nulls: ArrayRef = Arc::new(arrow_array::NullArray::new(rows.len()));
        columns.push(("pod_effective_usage_cpu_core_seconds", nulls.clone()));
        columns.push(("pod_effective_usage_memory_byte_seconds", nulls));
    }
    batch(columns)
}

/// One hourly storage_usage row.
#[derive(Clone, Default)]
pub struct StorageIn {
    pub hour: i64,
    pub namespace: &'static str,
    pub pod: &'static str,
    pub pvc: &'static str,
    pub pv: &'static str,
    pub storageclass: &'static str,
    pub csi_volume_handle: &'static str,
    pub pv_labels: &'static str,
    pub pvc_labels: &'static str,
    pub capacity_bytes: Option<f64>,
    pub capacity_byte_seconds: Option<f64>,
    pub request_byte_seconds: Option<f64>,
    pub usage_byte_seconds: Option<f64>,
}

pub fn storage_batch(rows: &[StorageIn]) -> RecordBatch {
    let f = |get: fn(&StorageIn) -> Option<f64>| floats(rows.iter().map(get));
    let s = |get: fn(&StorageIn) -> &'static str| strings(rows.iter().map(get));
    let or_empty = |v: &'static str| if v.is_empty() { "{}" } else { v };
    batch(vec![
        ("interval_start", timestamps(rows.iter().map(|r| r.hour))),
        ("namespace", s(|r| r.namespace)),
        ("pod", s(|r| r.pod)),
        ("persistentvolumeclaim", s(|r| r.pvc)),
        ("persistentvolume", s(|r| r.pv)),
        ("storageclass", s(|r| r.storageclass)),
        ("csi_volume_handle", s(|r| r.csi_volume_handle)),
        (
            "persistentvolume_labels",
            strings(rows.iter().map(|r| or_empty(r.pv_labels))),
        ),
        (
            "persistentvolumeclaim_labels",
            strings(rows.iter().map(|r| or_empty(r.pvc_labels))),
        ),
        (
            "persistentvolumeclaim_capacity_bytes",
            f(|r| r.capacity_bytes),
        ),
        (
            "persistentvolumeclaim_capacity_byte_seconds",
            f(|r| r.capacity_byte_seconds),
        ),
        (
            "volume_request_storage_byte_seconds",
            f(|r| r.request_byte_seconds),
        ),
        (
            "persistentvolumeclaim_usage_byte_seconds",
            f(|r| r.usage_byte_seconds),
        ),
    ])
}

/// A node_labels or namespace_labels batch of (hour, object, labels JSON) rows.
pub fn labels_batch(
    object_column: &str,
    labels_column: &str,
    rows: &[(i64, &'static str, &'static str)],
) -> RecordBatch {
    batch(vec![
        ("interval_start", timestamps(rows.iter().map(|r| r.0))),
        (object_column, strings(rows.iter().map(|r| r.1))),
        (labels_column, strings(rows.iter().map(|r| r.2))),
    ])
}

/// A day with the given enabled keys, cost categories and node roles.
pub fn day_with(
    keys: &[&str],
    categories: &[(&str, i64)],
    roles: &[(&str, &str, &str)],
) -> DayState {
    let config = Config::new(
        keys.iter().map(|k| k.to_string()).collect(),
        categories
            .iter()
            .map(|(p, i)| (p.to_string(), *i))
            .collect(),
        roles
            .iter()
            .map(|(n, r, role)| (n.to_string(), r.to_string(), role.to_string()))
            .collect(),
    );
    DayState::new(Arc::new(config), DAY)
}

/// A day with no enabled key, cost category or node role.
pub fn day() -> DayState {
    day_with(&[], &[], &[])
}

/// The emitted summary, read by column name.
pub struct Summary(pub RecordBatch);

pub fn finish(mut state: DayState) -> Summary {
    let run = RunConstants {
        report_period_id: 7,
        cluster_id: "c1".into(),
        cluster_alias: None,
        source_uuid: "s1".into(),
    };
    Summary(state.finish(&run).unwrap())
}

impl Summary {
    pub fn len(&self) -> usize {
        self.0.num_rows()
    }

    fn column(&self, name: &str) -> &dyn Array {
        self.0
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no output column {name}"))
            .as_ref()
    }

    pub fn text(&self, row: usize, name: &str) -> Option<&str> {
        let c = self.column(name).as_string::<i32>();
        c.is_valid(row).then(|| c.value(row))
    }

    pub fn float(&self, row: usize, name: &str) -> Option<f64> {
        let c = self.column(name).as_primitive::<Float64Type>();
        c.is_valid(row).then(|| c.value(row))
    }

    pub fn int(&self, row: usize, name: &str) -> Option<i64> {
        let c: &Int64Array = self.column(name).as_primitive::<Int64Type>();
        c.is_valid(row).then(|| c.value(row))
    }

    /// The rows whose text columns hold the given values (`None`: NULL).
    pub fn rows_where(&self, wanted: &[(&str, Option<&str>)]) -> Vec<usize> {
        (0..self.len())
            .filter(|&r| wanted.iter().all(|(c, v)| self.text(r, c) == *v))
            .collect()
    }

    /// The one row whose text columns hold the given values.
    pub fn row(&self, wanted: &[(&str, Option<&str>)]) -> usize {
        let rows = self.rows_where(wanted);
        assert_eq!(rows.len(), 1, "rows matching {wanted:?}: {rows:?}");
        rows[0]
    }

    /// Several float columns of a row.
    pub fn floats<const N: usize>(&self, row: usize, names: [&str; N]) -> [Option<f64>; N] {
        names.map(|n| self.float(row, n))
    }
}

/// `base` with column `name` replaced by `column`, or dropped when `column` is `None`.
pub fn with_column(base: &RecordBatch, name: &str, column: Option<ArrayRef>) -> RecordBatch {
    let schema = base.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(base.columns())
        .filter_map(|(f, c)| {
            let c = if f.name() == name {
                column.clone()?
            } else {
                c.clone()
            };
            Some((f.name().as_str(), c))
        })
        .collect();
    batch(columns)
}
