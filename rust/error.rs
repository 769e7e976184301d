//! Typed errors of the kernel. Each is either bad input data (Python's `InputDataError`, with
//! the column and the hour when known) or an internal failure (Python's `InternalError`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use thiserror::Error;

use crate::calendar::iso_datetime;

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
    #[error("column {column}: {reason} in label value {value:?}{}", at(*hour))]
    Label {
        column: &'static str,
        reason: String,
        value: String,
        /// interval_start (ms) of the row, when the caller knows it.
        hour: Option<i64>,
    },
    #[error("column {column}: {} at {}", non_finite_name(*value), iso_datetime(*hour))]
    NonFinite {
        column: &'static str,
        value: f64,
        /// interval_start (ms) of the first such row.
        hour: i64,
    },
    #[error("this day's rows were already emitted")]
    Finished,
    #[error("an earlier call failed inside the kernel; this day's state is lost")]
    Broken,
    #[error("internal error in the kernel: arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("internal error in the kernel: {0}")]
    Panic(String),
}

/// Which Python exception an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input data is at fault: `InputDataError`.
    InputData,
    /// A bug or misuse of the kernel: `InternalError`.
    Internal,
}

fn at(hour: Option<i64>) -> String {
    hour.map_or_else(String::new, |ms| format!(" at {}", iso_datetime(ms)))
}

fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

impl KernelError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingColumn { .. }
            | Self::ColumnType { .. }
            | Self::Label { .. }
            | Self::NonFinite { .. } => ErrorKind::InputData,
            Self::Finished | Self::Broken | Self::Arrow(_) | Self::Panic(_) => ErrorKind::Internal,
        }
    }

    /// The input column at fault, if any.
    pub fn column(&self) -> Option<&'static str> {
        match self {
            Self::MissingColumn { column }
            | Self::ColumnType { column, .. }
            | Self::Label { column, .. }
            | Self::NonFinite { column, .. } => Some(column),
            _ => None,
        }
    }

    /// interval_start of the row at fault as ISO-8601 text, if known.
    pub fn hour(&self) -> Option<String> {
        match self {
            Self::Label { hour, .. } => hour.map(iso_datetime),
            Self::NonFinite { hour, .. } => Some(iso_datetime(*hour)),
            _ => None,
        }
    }

    /// This error, naming the hour of its row when it did not already.
    pub fn at_hour(mut self, ms: i64) -> Self {
        if let Self::Label {
            hour: hour @ None, ..
        } = &mut self
        {
            *hour = Some(ms);
        }
        self
    }
}

pub type Result<T> = std::result::Result<T, KernelError>;

/// Run `work`, turning a panic into [`KernelError::Panic`] with the panic's message.
pub fn catch_panic<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        Err(KernelError::Panic(message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-08-03T04:00:00 = day 20_668 × 86_400_000 ms + 4 × 3_600_000 ms.
    const HOUR: i64 = 20_668 * 86_400_000 + 4 * 3_600_000;

    #[test]
    fn non_finite_names_column_value_and_hour() {
        for (value, name) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            let err = KernelError::NonFinite {
                column: "pod_usage_cpu_core_seconds",
                value,
                hour: HOUR,
            };
            assert_eq!(
                err.to_string(),
                format!("column pod_usage_cpu_core_seconds: {name} at 2026-08-03T04:00:00")
            );
            assert_eq!(err.kind(), ErrorKind::InputData);
            assert_eq!(err.column(), Some("pod_usage_cpu_core_seconds"));
            assert_eq!(err.hour().as_deref(), Some("2026-08-03T04:00:00"));
        }
    }

    #[test]
    fn label_errors_take_the_hour_of_their_row() {
        let err = KernelError::Label {
            column: "pod_labels",
            reason: "not a JSON object".into(),
            value: "[1]".into(),
            hour: None,
        };
        assert_eq!(err.hour(), None);
        let err = err.at_hour(HOUR);
        assert_eq!(
            err.to_string(),
            "column pod_labels: not a JSON object in label value \"[1]\" at 2026-08-03T04:00:00"
        );
        assert_eq!(err.hour().as_deref(), Some("2026-08-03T04:00:00"));
        assert_eq!(err.kind(), ErrorKind::InputData);
    }

    #[test]
    fn missing_column_is_input_data_without_hour() {
        let err = KernelError::MissingColumn { column: "node" };
        assert_eq!(err.to_string(), "column node is missing");
        assert_eq!(err.kind(), ErrorKind::InputData);
        assert_eq!(err.column(), Some("node"));
        assert_eq!(err.hour(), None);
    }

    #[test]
    fn misuse_arrow_and_panics_are_internal() {
        assert_eq!(KernelError::Finished.kind(), ErrorKind::Internal);
        assert_eq!(KernelError::Broken.kind(), ErrorKind::Internal);
        let arrow = KernelError::from(arrow_schema::ArrowError::ComputeError("x".into()));
        assert_eq!(arrow.kind(), ErrorKind::Internal);
        assert_eq!(arrow.column(), None);
    }

    #[test]
    fn panics_become_internal_errors_with_their_message() {
        let err = catch_panic::<()>(|| panic!("slot {} out of range", 7)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "internal error in the kernel: slot 7 out of range"
        );
        assert_eq!(err.kind(), ErrorKind::Internal);
        let err = catch_panic::<()>(|| panic!("plain")).unwrap_err();
        assert_eq!(err.to_string(), "internal error in the kernel: plain");
        assert_eq!(catch_panic(|| Ok(3)).unwrap(), 3);
        assert!(matches!(
            catch_panic::<()>(|| Err(KernelError::Finished)),
            Err(KernelError::Finished)
        ));
    }
}
