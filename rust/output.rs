//! The summary rows as one Arrow record batch in koku's insert columns (plus csi_volume_handle).

use std::sync::Arc;

use arrow_array::builder::{BooleanBufferBuilder, NullBufferBuilder};
use arrow_array::RecordBatch;
use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema};

use crate::error::Result;
use crate::metrics::{Capacity, PodMeasures};

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

/// Where summary rows go: [`RowSizes`] measures them, [`TextColumns`] and [`NumberColumns`]
/// write them. A day's rows are emitted once to measure them, so every output buffer is allocated
/// at its exact size (the returned batch holds no spare capacity, and nothing is copied while
/// growing), then once to each writer.
pub trait RowSink {
    fn push(&mut self, r: &SummaryRow);
}

/// A day's summary rows, which can be emitted (in the same order) any number of times, from any
/// thread.
pub trait RowSource: Sync {
    fn emit(&self, out: &mut impl RowSink);
}

/// The output batch of `rows`. The text columns are written on this thread while another
/// writes the number columns into buffers allocated here: the rows are cheap to emit again,
/// their column writes are not. Where no thread can be started (a process at its limit), this
/// thread writes both.
pub fn build_output(
    day: i32,
    rows: &(impl RowSource + ?Sized),
    run: &RunConstants,
) -> Result<RecordBatch> {
    let mut sizes = RowSizes::default();
    rows.emit(&mut sizes);
    let n = sizes.rows;
    let numbers = NumberColumns::with_capacity(n);
    let (texts, numbers) = std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("ocpagg-output".into())
            .spawn_scoped(scope, move || {
                let mut numbers = numbers;
                rows.emit(&mut numbers);
                numbers
            });
        let mut texts = TextColumns::new(&sizes);
        rows.emit(&mut texts);
        let numbers = match writer {
            Ok(writer) => writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => {
                let mut numbers = NumberColumns::with_capacity(n);
                rows.emit(&mut numbers);
                numbers
            }
        };
        (texts, numbers)
    });
    assemble(texts, numbers, RowFreeColumns::new(day, n, run)?)
}

/// The text columns a summary row writes (besides the run constants and uuid).
#[derive(Clone, Copy)]
enum Text {
    DataSource,
    Namespace,
    Node,
    ResourceId,
    PodLabels,
    Pvc,
    Pv,
    StorageClass,
    VolumeLabels,
    AllLabels,
    InfrastructureUsageCost,
    CsiVolumeHandle,
}

const TEXT_COLUMNS: usize = 12;

impl SummaryRow<'_> {
    /// Each text column's value.
    #[inline]
    fn texts(&self) -> [(Text, Option<&str>); TEXT_COLUMNS] {
        [
            (Text::DataSource, Some(self.data_source)),
            (Text::Namespace, self.namespace),
            (Text::Node, self.node),
            (Text::ResourceId, self.resource_id),
            (Text::PodLabels, self.pod_labels),
            (Text::Pvc, self.persistentvolumeclaim),
            (Text::Pv, self.persistentvolume),
            (Text::StorageClass, self.storageclass),
            (Text::VolumeLabels, self.volume_labels),
            (Text::AllLabels, Some(self.all_labels)),
            (
                Text::InfrastructureUsageCost,
                self.infrastructure_usage_cost
                    .then_some(INFRASTRUCTURE_USAGE_COST),
            ),
            (Text::CsiVolumeHandle, self.csi_volume_handle),
        ]
    }

    /// Each float column's value, in output order: pod hours, capacity, then volume columns.
    #[inline]
    fn floats(&self) -> [Option<f64>; FLOAT_COLUMNS] {
        let (cpu, memory, c, v) = (
            &self.pod.cpu,
            &self.pod.memory,
            &self.capacity,
            &self.storage,
        );
        [
            cpu.usage,
            cpu.request,
            cpu.effective,
            cpu.limit,
            memory.usage,
            memory.request,
            memory.effective,
            memory.limit,
            c.node_cpu_cores,
            c.node_cpu_core_hours,
            c.node_memory_gigabytes,
            c.node_memory_gigabyte_hours,
            c.cluster_cpu_core_hours,
            c.cluster_memory_gigabyte_hours,
            v.capacity_gigabyte,
            v.capacity_gigabyte_months,
            v.request_gigabyte_months,
            v.usage_gigabyte_months,
        ]
    }
}

const FLOAT_COLUMNS: usize = 18;
const FLOAT_NAMES: [&str; FLOAT_COLUMNS] = [
    "pod_usage_cpu_core_hours",
    "pod_request_cpu_core_hours",
    "pod_effective_usage_cpu_core_hours",
    "pod_limit_cpu_core_hours",
    "pod_usage_memory_gigabyte_hours",
    "pod_request_memory_gigabyte_hours",
    "pod_effective_usage_memory_gigabyte_hours",
    "pod_limit_memory_gigabyte_hours",
    "node_capacity_cpu_cores",
    "node_capacity_cpu_core_hours",
    "node_capacity_memory_gigabytes",
    "node_capacity_memory_gigabyte_hours",
    "cluster_capacity_cpu_core_hours",
    "cluster_capacity_memory_gigabyte_hours",
    "persistentvolumeclaim_capacity_gigabyte",
    "persistentvolumeclaim_capacity_gigabyte_months",
    "volume_request_storage_gigabyte_months",
    "persistentvolumeclaim_usage_gigabyte_months",
];

/// The rows and each text column's bytes of a day's output.
#[derive(Default)]
pub struct RowSizes {
    rows: usize,
    bytes: [usize; TEXT_COLUMNS],
}

impl RowSink for RowSizes {
    #[inline]
    fn push(&mut self, r: &SummaryRow) {
        self.rows += 1;
        for (column, value) in r.texts() {
            if !matches!(column, Text::PodLabels | Text::VolumeLabels) {
                self.bytes[column as usize] += value.map_or(0, str::len);
            }
        }
    }
}

/// pod_labels or volume_labels: the same JSON as the row's all_labels when not NULL, so its
/// offsets point into all_labels' bytes instead of copying them. The day's rows come in runs
/// (pod rows, then storage rows, then unallocated rows), so each of these columns has its
/// values in one run of rows, between zero-length NULLs. A value that is not its row's
/// all_labels, or a second run, turns the column into a copy of its own ([`TextColumn`]).
struct LabelView {
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    seen_value: bool,
    copied: Option<TextColumn>,
}

impl LabelView {
    fn with_capacity(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            offsets,
            nulls: NullBufferBuilder::new(rows),
            seen_value: false,
            copied: None,
        }
    }

    /// Append `v`; `all` is the all_labels column, its last value being this row's
    /// `all_labels`.
    #[inline]
    fn push(&mut self, v: Option<&str>, all_labels: &str, all: &TextColumn) {
        if let Some(copied) = &mut self.copied {
            copied.push(v);
            return;
        }
        let end = *all.offsets.last().expect("offsets start with 0");
        let start = all.offsets[all.offsets.len() - 2];
        let last = *self.offsets.last().expect("offsets start with 0");
        match v {
            None => {
                self.offsets.push(last);
                self.nulls.append_null();
            }
            Some(v) if same_text(v, all_labels) => {
                if last != start {
                    if self.seen_value {
                        self.copy(all).push(Some(v));
                        return;
                    }
                    // Only zero-length NULLs so far: they may as well sit at `start`.
                    self.offsets.fill(start);
                }
                self.offsets.push(end);
                self.nulls.append_non_null();
                self.seen_value = true;
            }
            Some(v) => self.copy(all).push(Some(v)),
        }
    }

    /// Turn the view into a column of its own (its values so far copied from `all`).
    #[cold]
    fn copy(&mut self, all: &TextColumn) -> &mut TextColumn {
        let rows = self.offsets.capacity() - 1;
        let mut copied = TextColumn::with_capacity(rows, 0);
        let nulls = self.nulls.finish_cloned();
        for (i, w) in self.offsets.windows(2).enumerate() {
            let valid = nulls.as_ref().is_none_or(|n| n.is_valid(i));
            let text = std::str::from_utf8(&all.values[w[0] as usize..w[1] as usize])
                .expect("whole strings of all_labels");
            copied.push(valid.then_some(text));
        }
        self.copied.insert(copied)
    }

    /// The column, sharing `all_values` (all_labels' bytes) unless it was copied.
    fn finish(mut self, all_values: &Buffer) -> Result<ArrayRef> {
        if let Some(copied) = self.copied {
            return copied.finish();
        }
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        // SAFETY: the offsets never decrease and lie within `all_values`; each range between
        // them is empty (a NULL) or exactly one whole string of all_labels (checked in `push`).
        let array =
            unsafe { StringArray::new_unchecked(offsets, all_values.clone(), self.nulls.finish()) };
        Ok(Arc::new(array))
    }
}

/// A text column written into buffers of its exact final size.
struct TextColumn {
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl TextColumn {
    fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            offsets,
            values: Vec::with_capacity(bytes),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    #[inline]
    fn push(&mut self, v: Option<&str>) {
        match v {
            Some(v) => {
                self.values.extend_from_slice(v.as_bytes());
                self.nulls.append_non_null();
            }
            None => self.nulls.append_null(),
        }
        self.offsets.push(self.values.len() as i32);
    }

    /// `n` copies of `v`.
    fn constant(n: usize, v: Option<&str>) -> Self {
        let mut c = Self::with_capacity(n, n * v.map_or(0, str::len));
        for _ in 0..n {
            c.push(v);
        }
        c
    }

    fn finish(self) -> Result<ArrayRef> {
        Ok(Arc::new(self.finish_array()?))
    }

    fn finish_array(mut self) -> Result<StringArray> {
        let values = i32::try_from(self.values.len())
            .map(|_| Buffer::from_vec(self.values))
            .map_err(|_| arrow_schema::ArrowError::ComputeError("over 2 GiB of text".into()))?;
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        // SAFETY: offsets start at 0 and never decrease, end at the values' length, and every
        // range between them is a whole `&str` appended by `push`.
        Ok(unsafe { StringArray::new_unchecked(offsets, values, self.nulls.finish()) })
    }
}

/// A validity bitmap allocated whole up front (unlike `NullBufferBuilder`, which allocates at
/// its first NULL): the number columns are filled on another thread, which then allocates
/// nothing, so their memory stays in the calling thread's heap, reused by its next day.
struct Validity(BooleanBufferBuilder);

impl Validity {
    fn with_capacity(rows: usize) -> Self {
        Self(BooleanBufferBuilder::new(rows))
    }

    #[inline]
    fn append(&mut self, valid: bool) {
        self.0.append(valid);
    }

    /// The bitmap, or none when every value is valid.
    fn finish(mut self) -> Option<NullBuffer> {
        Some(NullBuffer::new(self.0.finish())).filter(|n| n.null_count() > 0)
    }
}

/// A float64 column written into buffers of its exact final size.
struct FloatColumn {
    values: Vec<f64>,
    nulls: Validity,
}

impl FloatColumn {
    fn with_capacity(rows: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            nulls: Validity::with_capacity(rows),
        }
    }

    #[inline]
    fn push(&mut self, v: Option<f64>) {
        self.values.push(v.unwrap_or(0.0));
        self.nulls.append(v.is_some());
    }

    fn finish(self) -> ArrayRef {
        Arc::new(Float64Array::new(
            ScalarBuffer::from(self.values),
            self.nulls.finish(),
        ))
    }
}

/// Whether `v` is `all_labels`: the same bytes (usually the same rendered string).
#[inline]
fn same_text(v: &str, all_labels: &str) -> bool {
    std::ptr::eq(v, all_labels) || v == all_labels
}

/// The text columns of a day's rows (pod_labels and volume_labels as views of all_labels).
pub struct TextColumns {
    /// Every text column but pod_labels and volume_labels, which are `labels`.
    texts: [TextColumn; TEXT_COLUMNS],
    labels: [LabelView; 2],
}

impl RowSink for TextColumns {
    #[inline]
    fn push(&mut self, r: &SummaryRow) {
        for (column, value) in r.texts() {
            if !matches!(column, Text::PodLabels | Text::VolumeLabels) {
                self.texts[column as usize].push(value);
            }
        }
        let all = &self.texts[Text::AllLabels as usize];
        let [pod, volume] = &mut self.labels;
        pod.push(r.pod_labels, r.all_labels, all);
        volume.push(r.volume_labels, r.all_labels, all);
    }
}

impl TextColumns {
    /// Room for exactly the rows and text bytes `sizes` measured.
    pub fn new(sizes: &RowSizes) -> Self {
        let n = sizes.rows;
        Self {
            texts: std::array::from_fn(|i| TextColumn::with_capacity(n, sizes.bytes[i])),
            labels: std::array::from_fn(|_| LabelView::with_capacity(n)),
        }
    }
}

/// The float and integer columns of a day's rows.
pub struct NumberColumns {
    floats: [FloatColumn; FLOAT_COLUMNS],
    cost_category_id: Vec<i64>,
    cost_category_nulls: Validity,
}

impl RowSink for NumberColumns {
    #[inline]
    fn push(&mut self, r: &SummaryRow) {
        for (column, value) in self.floats.iter_mut().zip(r.floats()) {
            column.push(value);
        }
        self.cost_category_id.push(r.cost_category_id.unwrap_or(0));
        self.cost_category_nulls
            .append(r.cost_category_id.is_some());
    }
}

impl NumberColumns {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            floats: std::array::from_fn(|_| FloatColumn::with_capacity(rows)),
            cost_category_id: Vec::with_capacity(rows),
            cost_category_nulls: Validity::with_capacity(rows),
        }
    }
}

/// The columns that need no row, only the day, the number of rows and the run: a new uuid per
/// row, the run's constants and the usage dates.
struct RowFreeColumns {
    uuid: ArrayRef,
    report_period_id: ArrayRef,
    cluster_id: ArrayRef,
    cluster_alias: ArrayRef,
    dates: ArrayRef,
    source_uuid: ArrayRef,
}

impl RowFreeColumns {
    fn new(day: i32, n: usize, run: &RunConstants) -> Result<Self> {
        Ok(Self {
            uuid: Arc::new(new_uuids(n)),
            report_period_id: Arc::new(Int64Array::new(
                ScalarBuffer::from(vec![run.report_period_id; n]),
                None,
            )),
            cluster_id: TextColumn::constant(n, Some(&run.cluster_id)).finish()?,
            cluster_alias: TextColumn::constant(n, run.cluster_alias.as_deref()).finish()?,
            dates: Arc::new(Date32Array::new(ScalarBuffer::from(vec![day; n]), None)),
            source_uuid: TextColumn::constant(n, Some(&run.source_uuid)).finish()?,
        })
    }
}

/// The day's batch in koku's insert column order.
fn assemble(
    texts: TextColumns,
    numbers: NumberColumns,
    row_free: RowFreeColumns,
) -> Result<RecordBatch> {
    let TextColumns {
        texts,
        labels: [pod_labels, volume_labels],
    } = texts;
    let NumberColumns {
        floats,
        cost_category_id,
        cost_category_nulls,
    } = numbers;
    let mut texts = texts.map(Some);
    let all_labels = texts[Text::AllLabels as usize]
        .take()
        .expect("all_labels")
        .finish_array()?;
    let all_values = all_labels.values().clone();
    let all_labels: ArrayRef = Arc::new(all_labels);
    let mut text = |c: Text| texts[c as usize].take().expect("each column once").finish();
    let s = |name: &str| Field::new(name, DataType::Utf8, true);
    let f = |name: &str| Field::new(name, DataType::Float64, true);
    let mut fields: Vec<Field> = Vec::with_capacity(40);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(40);
    let mut add = |field: Field, array: ArrayRef| {
        fields.push(field);
        columns.push(array);
    };
    add(s("uuid"), row_free.uuid);
    add(
        Field::new("report_period_id", DataType::Int64, true),
        row_free.report_period_id,
    );
    add(s("cluster_id"), row_free.cluster_id);
    add(s("cluster_alias"), row_free.cluster_alias);
    add(s("data_source"), text(Text::DataSource)?);
    add(
        Field::new("usage_start", DataType::Date32, true),
        row_free.dates.clone(),
    );
    add(
        Field::new("usage_end", DataType::Date32, true),
        row_free.dates,
    );
    add(s("namespace"), text(Text::Namespace)?);
    add(s("node"), text(Text::Node)?);
    add(s("resource_id"), text(Text::ResourceId)?);
    add(s("pod_labels"), pod_labels.finish(&all_values)?);
    let mut floats = floats.into_iter().zip(FLOAT_NAMES);
    for (column, name) in floats.by_ref().take(14) {
        add(f(name), column.finish());
    }
    add(s("persistentvolumeclaim"), text(Text::Pvc)?);
    add(s("persistentvolume"), text(Text::Pv)?);
    add(s("storageclass"), text(Text::StorageClass)?);
    add(s("volume_labels"), volume_labels.finish(&all_values)?);
    add(s("all_labels"), all_labels);
    for (column, name) in floats {
        add(f(name), column.finish());
    }
    add(s("source_uuid"), row_free.source_uuid);
    add(
        s("infrastructure_usage_cost"),
        text(Text::InfrastructureUsageCost)?,
    );
    add(
        Field::new("cost_category_id", DataType::Int64, true),
        Arc::new(Int64Array::new(
            ScalarBuffer::from(cost_category_id),
            cost_category_nulls.finish(),
        )),
    );
    add(s("csi_volume_handle"), text(Text::CsiVolumeHandle)?);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

impl RowSource for [SummaryRow<'_>] {
    fn emit(&self, out: &mut impl RowSink) {
        self.iter().for_each(|r| out.push(r));
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;

    use super::*;

    fn labels(
        pod: Option<&'static str>,
        volume: Option<&'static str>,
        all: &'static str,
    ) -> SummaryRow<'static> {
        SummaryRow {
            data_source: "Pod",
            pod_labels: pod,
            volume_labels: volume,
            all_labels: all,
            ..Default::default()
        }
    }

    fn write(rows: &[SummaryRow]) -> RecordBatch {
        let run = RunConstants {
            report_period_id: 1,
            cluster_id: "c".into(),
            cluster_alias: None,
            source_uuid: "s".into(),
        };
        build_output(0, rows, &run).unwrap()
    }

    fn texts(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let c = batch.column_by_name(name).unwrap().as_string::<i32>();
        c.to_data().validate_full().unwrap();
        c.iter().map(|v| v.map(str::to_string)).collect()
    }

    fn owned(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(str::to_string)).collect()
    }

    #[test]
    fn label_columns_share_all_labels_bytes_in_the_usual_order() {
        // Pod rows, storage rows, unallocated rows.
        let rows = [
            labels(Some(r#"{"a":"1"}"#), None, r#"{"a":"1"}"#),
            labels(Some("{}"), None, "{}"),
            labels(None, Some(r#"{"v":"x"}"#), r#"{"v":"x"}"#),
            labels(None, None, "{}"),
        ];
        let batch = write(&rows);
        assert_eq!(
            texts(&batch, "pod_labels"),
            owned(&[Some(r#"{"a":"1"}"#), Some("{}"), None, None])
        );
        assert_eq!(
            texts(&batch, "volume_labels"),
            owned(&[None, None, Some(r#"{"v":"x"}"#), None])
        );
        let all = batch
            .column_by_name("all_labels")
            .unwrap()
            .as_string::<i32>();
        for name in ["pod_labels", "volume_labels"] {
            let view = batch.column_by_name(name).unwrap().as_string::<i32>();
            assert_eq!(
                view.values().as_ptr(),
                all.values().as_ptr(),
                "{name} shares the bytes"
            );
        }
    }

    #[test]
    fn label_columns_are_copied_when_they_cannot_share() {
        // Two runs of pod_labels, and a volume label that is not the row's all_labels.
        let rows = [
            labels(Some("{}"), None, "{}"),
            labels(None, Some(r#"{"v":"x"}"#), r#"{"other":"y"}"#),
            labels(Some(r#"{"a":"1"}"#), None, r#"{"a":"1"}"#),
        ];
        let batch = write(&rows);
        assert_eq!(
            texts(&batch, "pod_labels"),
            owned(&[Some("{}"), None, Some(r#"{"a":"1"}"#)])
        );
        assert_eq!(
            texts(&batch, "volume_labels"),
            owned(&[None, Some(r#"{"v":"x"}"#), None])
        );
        assert_eq!(
            texts(&batch, "all_labels"),
            owned(&[Some("{}"), Some(r#"{"other":"y"}"#), Some(r#"{"a":"1"}"#)])
        );
    }
}
