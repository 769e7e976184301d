//! Reading the columns of one input batch: strings as interned ids, floats, and each row's day.

use arrow::array::{Array, AsArray, DictionaryArray, Float64Array, StringArray};
use arrow::datatypes::{DataType, Int32Type, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;

use crate::error::{KernelError, Result};
use crate::intern::{Interner, StrId, NULL};

const MS_PER_DAY: i64 = 86_400_000;

/// The day (days since 1970-01-01) of a timestamp in milliseconds.
pub fn day_of_ms(ms: i64) -> i32 {
    ms.div_euclid(MS_PER_DAY) as i32
}

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

/// interval_start as milliseconds, `None` for NULL.
pub fn timestamps(batch: &RecordBatch, name: &'static str) -> Result<Vec<Option<i64>>> {
    let col = column(batch, name)?;
    match col.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let arr = col.as_primitive::<TimestampMillisecondType>();
            Ok(arr.iter().collect())
        }
        DataType::Null => Ok(vec![None; col.len()]),
        other => Err(type_error(name, other, "timestamp[ms]")),
    }
}

/// A float64 column; absent values (NULL, or a column of nulls) are `None`.
pub enum Floats<'a> {
    Values(&'a Float64Array),
    AllNull,
}

impl Floats<'_> {
    #[inline]
    pub fn get(&self, row: usize) -> Option<f64> {
        match self {
            Floats::Values(a) => {
                if a.is_null(row) {
                    None
                } else {
                    Some(a.value(row))
                }
            }
            Floats::AllNull => None,
        }
    }
}

pub fn floats<'a>(batch: &'a RecordBatch, name: &'static str) -> Result<Floats<'a>> {
    let col = column(batch, name)?;
    match col.data_type() {
        DataType::Float64 => Ok(Floats::Values(col.as_primitive())),
        DataType::Null => Ok(Floats::AllNull),
        other => Err(type_error(name, other, "double")),
    }
}

/// A string column as interned ids per row. Dictionary columns intern each distinct value once.
pub fn string_ids(
    batch: &RecordBatch,
    name: &'static str,
    interner: &mut Interner,
) -> Result<Vec<StrId>> {
    let col = column(batch, name)?;
    match col.data_type() {
        DataType::Utf8 => {
            let arr: &StringArray = col.as_string::<i32>();
            let mut out = Vec::with_capacity(arr.len());
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
            Ok(out)
        }
        DataType::Dictionary(key, value)
            if **key == DataType::Int32 && **value == DataType::Utf8 =>
        {
            let arr: &DictionaryArray<Int32Type> = col.as_dictionary();
            let values: &StringArray = arr.values().as_string::<i32>();
            let dict_ids: Vec<StrId> = values
                .iter()
                .map(|v| v.map_or(NULL, |s| interner.intern(s)))
                .collect();
            let keys = arr.keys();
            let mut out = Vec::with_capacity(arr.len());
            if keys.null_count() == 0 {
                out.extend(keys.values().iter().map(|&k| dict_ids[k as usize]));
            } else {
                out.extend(
                    keys.iter()
                        .map(|k| k.map_or(NULL, |k| dict_ids[k as usize])),
                );
            }
            Ok(out)
        }
        DataType::Null => Ok(vec![NULL; col.len()]),
        other => Err(type_error(name, other, "string")),
    }
}
