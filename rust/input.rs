//! Reading the columns of one input batch: strings as interned ids, finite floats, and the
//! rows of the day.

use arrow_array::cast::AsArray;
use arrow_array::types::{ArrowPrimitiveType, Float64Type, Int32Type, TimestampMillisecondType};
use arrow_array::RecordBatch;
use arrow_array::{Array, DictionaryArray, StringArray};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use rustc_hash::FxHashMap;

use crate::calendar::day_of_ms;
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

impl<T: Copy> Values<'_, T> {
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

/// Fill `rows` with the rows of the batch whose interval_start falls on `day`, with their
/// interval_start in milliseconds.
pub fn rows_of_day(batch: &RecordBatch, day: i32, rows: &mut Vec<(usize, i64)>) -> Result<()> {
    let ts = primitive::<TimestampMillisecondType>(batch, "interval_start", "timestamp[ms]")?;
    rows.clear();
    rows.extend(
        (0..batch.num_rows())
            .filter_map(|i| ts.get(i).filter(|&t| day_of_ms(t) == day).map(|t| (i, t))),
    );
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

/// Reads string columns as interned ids into reused buffers. A dictionary column's mapping is
/// kept per column and reused while the next batch's dictionary holds the same strings (pyarrow
/// gives each batch of a Parquet column chunk its own copy of the chunk's dictionary): comparing
/// bytes is far cheaper than interning every value again.
#[derive(Default)]
pub struct StringReader {
    dictionaries: FxHashMap<&'static str, (StringArray, Vec<StrId>)>,
}

/// Whether two string arrays without nulls hold the same strings in the same order.
fn same_strings(a: &StringArray, b: &StringArray) -> bool {
    if a.len() != b.len() || a.null_count() != 0 || b.null_count() != 0 {
        return false;
    }
    let (oa, ob) = (a.value_offsets(), b.value_offsets());
    let (ba, bb) = (oa[0], ob[0]);
    oa.iter().zip(ob).all(|(x, y)| x - ba == y - bb)
        && a.value_data()[ba as usize..oa[oa.len() - 1] as usize]
            == b.value_data()[bb as usize..ob[ob.len() - 1] as usize]
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
                let hit =
                    matches!(self.dictionaries.get(name), Some((d, _)) if same_strings(d, values));
                if !hit {
                    let ids = values
                        .iter()
                        .map(|v| v.map_or(NULL, |s| interner.intern(s)))
                        .collect();
                    self.dictionaries.insert(name, (values.clone(), ids));
                }
                let dict_ids = &self.dictionaries[name].1;
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
    use super::all_finite;

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
