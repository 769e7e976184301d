//! Reading the columns of one input batch: strings as interned ids, floats, and each row's day.

use arrow::array::{Array, AsArray, DictionaryArray, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Float64Type, Int32Type, TimestampMillisecondType,
};
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

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

/// interval_start as milliseconds.
pub fn timestamps<'a>(batch: &'a RecordBatch, name: &'static str) -> Result<Values<'a, i64>> {
    primitive::<TimestampMillisecondType>(batch, name, "timestamp[ms]")
}

/// A float64 column; NULLs (or a column of nulls, as old files without it read) are `None`.
pub type Floats<'a> = Values<'a, f64>;

pub fn floats<'a>(batch: &'a RecordBatch, name: &'static str) -> Result<Floats<'a>> {
    primitive::<Float64Type>(batch, name, "double")
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
