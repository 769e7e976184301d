//! Typed errors of the kernel; Python sees them as `ocpagg._kernel.KernelError`.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum KernelError {
    #[error("column {column} is missing")]
    MissingColumn { column: &'static str },
    #[error("column {column} has type {actual}, expected {expected}")]
    ColumnType {
        column: &'static str,
        actual: String,
        expected: &'static str,
    },
    #[error("column {column}: {reason} in label value {value:?}")]
    Label {
        column: &'static str,
        reason: String,
        value: String,
    },
    #[error("this day's rows were already emitted")]
    Finished,
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

pub type Result<T> = std::result::Result<T, KernelError>;
