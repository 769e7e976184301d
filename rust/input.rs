//! Reading the columns of one input batch: strings as interned ids, finite floats, and the
//! rows of the day.

use arrow_array::cast::AsArray;
use arrow_array::types::{ArrowPrimitiveType, Float64Type, Int32Type, TimestampMillisecondType};
use arrow_array::RecordBatch;
use arrow_array::{Array, DictionaryArray, StringArray};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use rustc_hash::FxHashMap;

use crate::calendar::MS_PER_DAY;
use crate::error::{KernelError, Result};
use crate::intern::{Interner, StrId, NULL};

fn column<'a>(batch: &'a RecordBatch, name: &'static str) -> Result<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or(KernelError::MissingColumn { column: name })
}

fn type_error(name: &'static str, actual: &DataType, expected: &'static str) -> KernelError {
    KernelError::ColumnType {
        column: name,
        actual: actual.to_string(),
        expected,
    }
}

/// A column of nullable primitive values read straight from its buffers.
pub struct Values<'a, T> {
    values: &'a [T],
    nulls: Option<&'a NullBuffer>,
    all_null: bool,
}

impl<'a, T: Copy> Values<'a, T> {
    /// Every value, when the column has no NULL.
    #[inline(always)]
    pub fn dense(&self) -> Option<&'a [T]> {
        (!self.all_null && self.nulls.is_none_or(|n| n.null_count() == 0)).then_some(self.values)
    }

    #[inline(always)]
    pub fn get(&self, row: usize) -> Option<T> {
        if self.all_null {
            return None;
        }
        match self.nulls {
            Some(n) if n.is_null(row) => None,
            _ => Some(self.values[row]),
        }
    }
}

/// A primitive column of type `T` (the `expected` name in errors); a column of nulls reads as all NULL.
fn primitive<'a, T: ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &'static str,
    expected: &'static str,
) -> Result<Values<'a, T::Native>> {
    let col = column(batch, name)?;
    if col.data_type() == &DataType::Null {
        return Ok(Values {
            values: &[],
            nulls: None,
            all_null: true,
        });
    }
    let arr = col
        .as_primitive_opt::<T>()
        .ok_or_else(|| type_error(name, col.data_type(), expected))?;
    Ok(Values {
        values: arr.values(),
        nulls: arr.nulls(),
        all_null: false,
    })
}

/// Whether `t` lies in the day starting at `start` (ms): `day_of_ms(t) == day` without a
/// division. The wrapped difference is below a day's length only for `start <= t < start + day`.
#[inline(always)]
fn in_day(start: i64, t: i64) -> bool {
    (t.wrapping_sub(start) as u64) < MS_PER_DAY as u64
}

/// Fill `rows` with the rows of the batch whose interval_start falls on `day`, with their
/// interval_start in milliseconds.
pub fn rows_of_day(batch: &RecordBatch, day: i32, rows: &mut Vec<(usize, i64)>) -> Result<()> {
    let ts = primitive::<TimestampMillisecondType>(batch, "interval_start", "timestamp[ms]")?;
    rows.clear();
    let start = day as i64 * MS_PER_DAY;
    let in_day = |t: i64| in_day(start, t);
    match ts.dense() {
        Some(values) => rows.extend(
            values
                .iter()
                .enumerate()
                .filter(|&(_, &t)| in_day(t))
                .map(|(i, &t)| (i, t)),
        ),
        None => rows.extend(
            (0..batch.num_rows()).filter_map(|i| ts.get(i).filter(|&t| in_day(t)).map(|t| (i, t))),
        ),
    }
    Ok(())
}

/// A float64 column; NULLs (or a column of nulls, as old files without it read) are `None`.
pub type Floats<'a> = Values<'a, f64>;

/// A float64 metric column, checked finite on the rows the kernel reads: `rows` holds each read
/// row with its interval_start, and a NaN or ±Infinity there is [`KernelError::NonFinite`] naming
/// the first such row's hour. NULL slots are not checked (their buffer values mean nothing).
pub fn finite_floats<'a>(
    batch: &'a RecordBatch,
    name: &'static str,
    rows: &[(usize, i64)],
) -> Result<Floats<'a>> {
    let values = primitive::<Float64Type>(batch, name, "double")?;
    if values.all_null || all_finite(values.values) {
        return Ok(values);
    }
    match rows
        .iter()
        .find_map(|&(i, t)| values.get(i).filter(|v| !v.is_finite()).map(|v| (v, t)))
    {
        Some((value, hour)) => Err(KernelError::NonFinite {
            column: name,
            value,
            hour,
        }),
        None => Ok(values),
    }
}

/// Whether every value of a buffer is finite; with AVX2 where the CPU has it.
fn all_finite(values: &[f64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { all_finite_avx2(values) };
    }
    zero_products_sum_to_zero(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn all_finite_avx2(values: &[f64]) -> bool {
    zero_products_sum_to_zero(values)
}

/// `v × 0` is 0 for a finite `v` and NaN for NaN or ±Infinity, so the sum of those products is 0
/// exactly when every value is finite; sixteen independent lanes let the compiler vectorize it.
#[inline(always)]
fn zero_products_sum_to_zero(values: &[f64]) -> bool {
    let mut lanes = [0.0f64; 16];
    let mut blocks = values.chunks_exact(16);
    for block in &mut blocks {
        for (lane, v) in lanes.iter_mut().zip(block) {
            *lane += v * 0.0;
        }
    }
    let tail: f64 = blocks.remainder().iter().map(|v| v * 0.0).sum();
    lanes.iter().sum::<f64>() + tail == 0.0
}

/// Check a batch imported without validation (see `DayAggregator::push`): every column fully,
/// except dictionary columns, whose keys and values are checked for structure (buffer sizes)
/// only: [`StringReader`] checks the values and bounds-checks the keys where it reads them.
pub fn check_batch(batch: &RecordBatch) -> Result<()> {
    for column in batch.columns() {
        let data = column.to_data();
        if let DataType::Dictionary(..) = data.data_type() {
            data.validate()?;
            for child in data.child_data() {
                child.validate()?;
            }
        } else {
            data.validate_full()?;
        }
    }
    Ok(())
}

/// Reads string columns as interned ids into reused buffers. A dictionary column's mapping is
/// kept per column and reused while the next batch's dictionary holds the same strings (pyarrow
/// gives each batch of a Parquet column chunk its own copy of the chunk's dictionary): comparing
/// bytes is far cheaper than interning every value again. The kept dictionary is a copy, so no
/// input batch outlives its push.
#[derive(Default)]
pub struct StringReader {
    dictionaries: FxHashMap<&'static str, Dictionary>,
}

/// A dictionary seen before: its offsets (from 0) and bytes, and each value's id.
#[derive(Default)]
struct Dictionary {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    ids: Vec<StrId>,
}

impl Dictionary {
    /// Whether `values` (without nulls) holds the same strings in the same order.
    fn holds(&self, values: &StringArray) -> bool {
        if values.null_count() != 0 || values.len() + 1 != self.offsets.len() {
            return false;
        }
        let offsets = values.value_offsets();
        let base = offsets[0];
        offsets
            .iter()
            .zip(&self.offsets)
            .all(|(&x, &y)| x.wrapping_sub(base) == y)
            && values
                .value_data()
                .get(base as usize..offsets[offsets.len() - 1] as usize)
                == Some(self.bytes.as_slice())
    }

    /// Keep `values` (checked) and their ids.
    fn replace(&mut self, values: &StringArray, ids: impl Iterator<Item = StrId>) {
        self.offsets.clear();
        self.bytes.clear();
        self.ids.clear();
        if values.null_count() == 0 {
            let offsets = values.value_offsets();
            let base = offsets[0];
            self.offsets.extend(offsets.iter().map(|&x| x - base));
            self.bytes.extend_from_slice(
                &values.value_data()[base as usize..offsets[offsets.len() - 1] as usize],
            );
        }
        self.ids.extend(ids);
    }
}

impl StringReader {
    pub fn read(
        &mut self,
        batch: &RecordBatch,
        name: &'static str,
        interner: &mut Interner,
        out: &mut Vec<StrId>,
    ) -> Result<()> {
        out.clear();
        let col = column(batch, name)?;
        match col.data_type() {
            DataType::Utf8 => {
                let arr: &StringArray = col.as_string::<i32>();
                out.reserve(arr.len());
                let mut last: Option<(&str, StrId)> = None;
                for v in arr.iter() {
                    let id = match v {
                        None => NULL,
                        Some(s) => match last {
                            Some((prev, id)) if prev == s => id,
                            _ => {
                                let id = interner.intern(s);
                                last = Some((s, id));
                                id
                            }
                        },
                    };
                    out.push(id);
                }
            }
            DataType::Dictionary(key, value)
                if **key == DataType::Int32 && **value == DataType::Utf8 =>
            {
                let arr: &DictionaryArray<Int32Type> = col.as_dictionary();
                let values: &StringArray = arr.values().as_string::<i32>();
                let dictionary = self.dictionaries.entry(name).or_default();
                if !dictionary.holds(values) {
                    // Not the bytes of a dictionary checked before: check these fully.
                    values.to_data().validate_full()?;
                    let ids = values
                        .iter()
                        .map(|v| v.map_or(NULL, |s| interner.intern(s)));
                    dictionary.replace(values, ids);
                }
                let dict_ids = &dictionary.ids;
                let keys = arr.keys();
                out.reserve(arr.len());
                if keys.null_count() == 0 {
                    out.extend(keys.values().iter().map(|&k| dict_ids[k as usize]));
                } else {
                    out.extend(
                        keys.iter()
                            .map(|k| k.map_or(NULL, |k| dict_ids[k as usize])),
                    );
                }
            }
            DataType::Null => out.resize(col.len(), NULL),
            other => return Err(type_error(name, other, "string")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{all_finite, in_day, MS_PER_DAY};
    use crate::calendar::day_of_ms;

    #[test]
    fn in_day_is_day_of_ms() {
        for day in [-25_000, -1, 0, 1, 20_668, i32::MAX, i32::MIN] {
            let start = day as i64 * MS_PER_DAY;
            let near = [
                start - 1,
                start,
                start + 1,
                start + MS_PER_DAY - 1,
                start + MS_PER_DAY,
            ];
            for t in near.into_iter().chain([i64::MIN, i64::MAX, 0, -1]) {
                assert_eq!(in_day(start, t), day_of_ms(t) == day, "day {day} t {t}");
            }
        }
    }

    #[test]
    fn finite_scan_finds_any_nan_or_infinity() {
        let mut values: Vec<f64> = (0..1000).map(|i| i as f64 * -1.5e300).collect();
        assert!(all_finite(&values));
        assert!(all_finite(&[]));
        // In the vectorized blocks and in the tail of fewer than eight values.
        for at in [0, 7, 8, 500, 995, 999] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let kept = values[at];
                values[at] = bad;
                assert!(!all_finite(&values), "{bad} at {at}");
                values[at] = kept;
            }
        }
        // Huge finite values do not overflow: each is multiplied by 0 before the sum.
        assert!(all_finite(&[
            f64::MAX,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE
        ]));
    }
}
