//! The summary rows as one Arrow record batch in koku's insert columns (plus csi_volume_handle).

use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::RecordBatch;
use arrow_array::{ArrayRef, StringArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema};

use crate::error::Result;
use crate::metrics::{Capacity, Measures, PodMeasures};

pub const INFRASTRUCTURE_USAGE_COST: &str =
    r#"{"cpu": 0.000000000, "memory": 0.000000000, "storage": 0.000000000}"#;

/// The constants every row of a run carries.
pub struct RunConstants {
    pub report_period_id: i64,
    pub cluster_id: String,
    pub cluster_alias: Option<String>,
    pub source_uuid: String,
}

/// One summary row; `None` is SQL NULL.
#[derive(Default)]
pub struct SummaryRow<'a> {
    pub data_source: &'static str,
    pub namespace: Option<&'a str>,
    pub node: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub pod_labels: Option<&'a str>,
    /// cpu core-hours and memory GiB-hours.
    pub pod: PodMeasures<Option<f64>>,
    pub capacity: Capacity<Option<f64>>,
    pub persistentvolumeclaim: Option<&'a str>,
    pub persistentvolume: Option<&'a str>,
    pub storageclass: Option<&'a str>,
    pub volume_labels: Option<&'a str>,
    pub all_labels: &'a str,
    pub storage: StorageColumns<Option<f64>>,
    pub infrastructure_usage_cost: bool,
    pub cost_category_id: Option<i64>,
    pub csi_volume_handle: Option<&'a str>,
}

/// The persistent volume claim columns of a summary row (GiB and GiB-months).
#[derive(Default)]
pub struct StorageColumns<T> {
    pub capacity_gigabyte: T,
    pub capacity_gigabyte_months: T,
    pub request_gigabyte_months: T,
    pub usage_gigabyte_months: T,
}

/// Each pod measure's builder with its output column, in output order.
fn pod_columns(b: &mut PodMeasures<Float64Builder>) -> [(&'static str, &mut Float64Builder); 8] {
    let (cpu, memory) = (&mut b.cpu, &mut b.memory);
    [
        ("pod_usage_cpu_core_hours", &mut cpu.usage),
        ("pod_request_cpu_core_hours", &mut cpu.request),
        ("pod_effective_usage_cpu_core_hours", &mut cpu.effective),
        ("pod_limit_cpu_core_hours", &mut cpu.limit),
        ("pod_usage_memory_gigabyte_hours", &mut memory.usage),
        ("pod_request_memory_gigabyte_hours", &mut memory.request),
        (
            "pod_effective_usage_memory_gigabyte_hours",
            &mut memory.effective,
        ),
        ("pod_limit_memory_gigabyte_hours", &mut memory.limit),
    ]
}

/// Each capacity builder with its output column, in output order.
fn capacity_columns(b: &mut Capacity<Float64Builder>) -> [(&'static str, &mut Float64Builder); 6] {
    [
        ("node_capacity_cpu_cores", &mut b.node_cpu_cores),
        ("node_capacity_cpu_core_hours", &mut b.node_cpu_core_hours),
        (
            "node_capacity_memory_gigabytes",
            &mut b.node_memory_gigabytes,
        ),
        (
            "node_capacity_memory_gigabyte_hours",
            &mut b.node_memory_gigabyte_hours,
        ),
        (
            "cluster_capacity_cpu_core_hours",
            &mut b.cluster_cpu_core_hours,
        ),
        (
            "cluster_capacity_memory_gigabyte_hours",
            &mut b.cluster_memory_gigabyte_hours,
        ),
    ]
}

/// Each volume builder with its output column, in output order.
fn storage_columns(
    b: &mut StorageColumns<Float64Builder>,
) -> [(&'static str, &mut Float64Builder); 4] {
    [
        (
            "persistentvolumeclaim_capacity_gigabyte",
            &mut b.capacity_gigabyte,
        ),
        (
            "persistentvolumeclaim_capacity_gigabyte_months",
            &mut b.capacity_gigabyte_months,
        ),
        (
            "volume_request_storage_gigabyte_months",
            &mut b.request_gigabyte_months,
        ),
        (
            "persistentvolumeclaim_usage_gigabyte_months",
            &mut b.usage_gigabyte_months,
        ),
    ]
}

fn append(b: &mut Measures<Float64Builder>, v: &Measures<Option<f64>>) {
    b.usage.append_option(v.usage);
    b.request.append_option(v.request);
    b.effective.append_option(v.effective);
    b.limit.append_option(v.limit);
}

/// `n` random (version 4) uuids as text, written straight into one fixed-width string buffer.
fn new_uuids(n: usize) -> StringArray {
    const WIDTH: usize = uuid::fmt::Hyphenated::LENGTH;
    let mut values = vec![0u8; n * WIDTH];
    for chunk in values.chunks_exact_mut(WIDTH) {
        uuid::Uuid::new_v4().hyphenated().encode_lower(chunk);
    }
    let offsets = OffsetBuffer::new(ScalarBuffer::from_iter((0..=n).map(|i| (i * WIDTH) as i32)));
    StringArray::new(offsets, Buffer::from_vec(values), None)
}

pub struct OutputBuilder {
    day: i32,
    data_source: StringBuilder,
    namespace: StringBuilder,
    node: StringBuilder,
    resource_id: StringBuilder,
    pod_labels: StringBuilder,
    pod: PodMeasures<Float64Builder>,
    capacity: Capacity<Float64Builder>,
    pvc: StringBuilder,
    pv: StringBuilder,
    storageclass: StringBuilder,
    volume_labels: StringBuilder,
    all_labels: StringBuilder,
    storage: StorageColumns<Float64Builder>,
    infrastructure_usage_cost: StringBuilder,
    cost_category_id: Int64Builder,
    csi_volume_handle: StringBuilder,
    rows: usize,
}

impl OutputBuilder {
    pub fn new(day: i32) -> Self {
        Self {
            day,
            data_source: StringBuilder::new(),
            namespace: StringBuilder::new(),
            node: StringBuilder::new(),
            resource_id: StringBuilder::new(),
            pod_labels: StringBuilder::new(),
            pod: Default::default(),
            capacity: Default::default(),
            pvc: StringBuilder::new(),
            pv: StringBuilder::new(),
            storageclass: StringBuilder::new(),
            volume_labels: StringBuilder::new(),
            all_labels: StringBuilder::new(),
            storage: Default::default(),
            infrastructure_usage_cost: StringBuilder::new(),
            cost_category_id: Int64Builder::new(),
            csi_volume_handle: StringBuilder::new(),
            rows: 0,
        }
    }

    pub fn push(&mut self, r: &SummaryRow) {
        self.data_source.append_value(r.data_source);
        self.namespace.append_option(r.namespace);
        self.node.append_option(r.node);
        self.resource_id.append_option(r.resource_id);
        self.pod_labels.append_option(r.pod_labels);
        append(&mut self.pod.cpu, &r.pod.cpu);
        append(&mut self.pod.memory, &r.pod.memory);
        let (b, c) = (&mut self.capacity, &r.capacity);
        b.node_cpu_cores.append_option(c.node_cpu_cores);
        b.node_cpu_core_hours.append_option(c.node_cpu_core_hours);
        b.node_memory_gigabytes
            .append_option(c.node_memory_gigabytes);
        b.node_memory_gigabyte_hours
            .append_option(c.node_memory_gigabyte_hours);
        b.cluster_cpu_core_hours
            .append_option(c.cluster_cpu_core_hours);
        b.cluster_memory_gigabyte_hours
            .append_option(c.cluster_memory_gigabyte_hours);
        self.pvc.append_option(r.persistentvolumeclaim);
        self.pv.append_option(r.persistentvolume);
        self.storageclass.append_option(r.storageclass);
        self.volume_labels.append_option(r.volume_labels);
        self.all_labels.append_value(r.all_labels);
        let (b, v) = (&mut self.storage, &r.storage);
        b.capacity_gigabyte.append_option(v.capacity_gigabyte);
        b.capacity_gigabyte_months
            .append_option(v.capacity_gigabyte_months);
        b.request_gigabyte_months
            .append_option(v.request_gigabyte_months);
        b.usage_gigabyte_months
            .append_option(v.usage_gigabyte_months);
        self.infrastructure_usage_cost.append_option(
            r.infrastructure_usage_cost
                .then_some(INFRASTRUCTURE_USAGE_COST),
        );
        self.cost_category_id.append_option(r.cost_category_id);
        self.csi_volume_handle.append_option(r.csi_volume_handle);
        self.rows += 1;
    }

    pub fn finish(mut self, run: &RunConstants) -> Result<RecordBatch> {
        let n = self.rows;
        let s = |name: &str| Field::new(name, DataType::Utf8, true);
        let f = |name: &str| Field::new(name, DataType::Float64, true);
        let mut fields: Vec<Field> = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        let constant_str = |v: Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::with_capacity(n, n * v.map_or(0, str::len));
            for _ in 0..n {
                b.append_option(v);
            }
            Arc::new(b.finish())
        };
        let cluster_id = constant_str(Some(&run.cluster_id));
        let cluster_alias = constant_str(run.cluster_alias.as_deref());
        let source_uuid = constant_str(Some(&run.source_uuid));
        let mut dates = Date32Builder::with_capacity(n);
        dates.append_value_n(self.day, n);
        let dates: ArrayRef = Arc::new(dates.finish());
        let mut period = Int64Builder::with_capacity(n);
        period.append_value_n(run.report_period_id, n);

        let mut add = |field: Field, array: ArrayRef| {
            fields.push(field);
            columns.push(array);
        };
        add(s("uuid"), Arc::new(new_uuids(n)));
        add(
            Field::new("report_period_id", DataType::Int64, true),
            Arc::new(period.finish()),
        );
        add(s("cluster_id"), cluster_id);
        add(s("cluster_alias"), cluster_alias);
        add(s("data_source"), Arc::new(self.data_source.finish()));
        add(
            Field::new("usage_start", DataType::Date32, true),
            dates.clone(),
        );
        add(Field::new("usage_end", DataType::Date32, true), dates);
        add(s("namespace"), Arc::new(self.namespace.finish()));
        add(s("node"), Arc::new(self.node.finish()));
        add(s("resource_id"), Arc::new(self.resource_id.finish()));
        add(s("pod_labels"), Arc::new(self.pod_labels.finish()));
        for (name, b) in pod_columns(&mut self.pod) {
            add(f(name), Arc::new(b.finish()));
        }
        for (name, b) in capacity_columns(&mut self.capacity) {
            add(f(name), Arc::new(b.finish()));
        }
        add(s("persistentvolumeclaim"), Arc::new(self.pvc.finish()));
        add(s("persistentvolume"), Arc::new(self.pv.finish()));
        add(s("storageclass"), Arc::new(self.storageclass.finish()));
        add(s("volume_labels"), Arc::new(self.volume_labels.finish()));
        add(s("all_labels"), Arc::new(self.all_labels.finish()));
        for (name, b) in storage_columns(&mut self.storage) {
            add(f(name), Arc::new(b.finish()));
        }
        add(s("source_uuid"), source_uuid);
        add(
            s("infrastructure_usage_cost"),
            Arc::new(self.infrastructure_usage_cost.finish()),
        );
        add(
            Field::new("cost_category_id", DataType::Int64, true),
            Arc::new(self.cost_category_id.finish()),
        );
        add(
            s("csi_volume_handle"),
            Arc::new(self.csi_volume_handle.finish()),
        );
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }
}
