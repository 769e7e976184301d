//! ocpagg's compiled kernel: koku's OpenShift daily usage summary from hourly Arrow batches.
//!
//! The pipeline per day: `input` reads columns (rejecting non-finite metrics), `labels` parses
//! and filters label JSON, `capacity` keeps hourly node maxima, `pod` builds koku's daily pod
//! rows and the pod summary rows, `storage` joins volumes to pods, `unallocated` derives node
//! capacity left over, `cost_category` matches namespaces, `output` writes the Arrow batch;
//! `metrics` names the values they pass each other and `accumulators` holds SQL's sum and max.
//! This file is the Python boundary only: errors become `InputDataError` or `InternalError`,
//! panics included.

mod accumulators;
mod calendar;
mod capacity;
mod config;
mod cost_category;
mod day;
mod error;
mod input;
mod intern;
mod labels;
mod metrics;
mod output;
mod pod;
mod storage;
#[cfg(test)]
mod testing;
mod unallocated;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_pyarrow::{FromPyArrowUnchecked, ToPyArrow};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

use crate::config::Config;
use crate::day::DayState;
use crate::error::{catch_panic, ErrorKind, KernelError};
use crate::output::RunConstants;

/// The kernel's exception classes. Python code, because `InputDataError` and `InternalError`
/// each have two bases (the kernel's and a builtin one), which pyo3's exception macros lack.
const EXCEPTIONS_SOURCE: &std::ffi::CStr = cr#"
class KernelError(Exception):
    """Base of every error the kernel raises."""


class InputDataError(KernelError, ValueError):
    """Bad input data: a missing column, a column of the wrong type, a label value that is not a
    JSON object, or a NaN or +-Infinity metric. ``column`` names the column (or None) and
    ``hour`` is the row's interval_start as ISO-8601 text (or None)."""

    def __init__(self, message, column=None, hour=None):
        super().__init__(message)
        self.column = column
        self.hour = hour


class InternalError(KernelError, RuntimeError):
    """A failure of the kernel itself: a bug (a panic), an Arrow error, or misuse such as pushing
    to a day whose rows were already emitted."""
"#;

struct Exceptions {
    base: Py<PyType>,
    input_data: Py<PyType>,
    internal: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

fn create_exceptions(py: Python<'_>) -> PyResult<Exceptions> {
    let namespace = PyDict::new(py);
    namespace.set_item("__name__", "ocpagg._kernel")?;
    py.run(EXCEPTIONS_SOURCE, Some(&namespace), None)?;
    let class = |name: &str| -> PyResult<Py<PyType>> {
        let value = namespace
            .get_item(name)?
            .ok_or_else(|| PyRuntimeError::new_err(format!("{name} was not defined")))?;
        Ok(value.cast_into::<PyType>()?.unbind())
    };
    Ok(Exceptions {
        base: class("KernelError")?,
        input_data: class("InputDataError")?,
        internal: class("InternalError")?,
    })
}

/// The Python exception of a kernel error.
fn to_py(py: Python<'_>, err: KernelError) -> PyErr {
    let message = err.to_string();
    let Some(classes) = EXCEPTIONS.get(py) else {
        return PyRuntimeError::new_err(message);
    };
    let raised = match err.kind() {
        ErrorKind::InputData => {
            classes
                .input_data
                .bind(py)
                .call1((message, err.column(), err.hour()))
        }
        ErrorKind::Internal => classes.internal.bind(py).call1((message,)),
    };
    match raised {
        Ok(value) => PyErr::from_value(value),
        Err(e) => e,
    }
}

const EPOCH_ORDINAL: i32 = 719_163; // date(1970, 1, 1).toordinal()

/// Reference data shared by every day of a run.
#[pyclass(frozen, module = "ocpagg._kernel")]
struct KernelConfig {
    inner: Arc<Config>,
}

#[pymethods]
impl KernelConfig {
    #[new]
    fn new(
        py: Python<'_>,
        enabled_keys: Vec<String>,
        cost_categories: Vec<(String, i64)>,
        node_roles: Vec<(String, String, String)>,
    ) -> PyResult<Self> {
        let config = catch_panic(|| Ok(Config::new(enabled_keys, cost_categories, node_roles)))
            .map_err(|e| to_py(py, e))?;
        Ok(Self {
            inner: Arc::new(config),
        })
    }

    /// How the run's label cache served so far: hits, misses (parses), evicted, refused
    /// (parsed but not kept: the cache was full), entries and bytes held.
    fn label_cache_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.filter.stats();
        let out = PyDict::new(py);
        out.set_item("hits", s.hits)?;
        out.set_item("misses", s.misses)?;
        out.set_item("evicted", s.evicted)?;
        out.set_item("refused", s.refused)?;
        out.set_item("entries", s.entries)?;
        out.set_item("bytes", s.bytes)?;
        out.set_item("budget_bytes", crate::labels::LABEL_CACHE_BYTES)?;
        Ok(out)
    }
}

/// The state of one day: fed hourly record batches, it emits the day's summary rows.
#[pyclass(module = "ocpagg._kernel")]
struct DayAggregator {
    state: DayState,
    /// A call panicked: the state may be half updated, so every later call fails.
    broken: bool,
}

impl DayAggregator {
    /// Run `work` on the state without the GIL; a panic becomes `InternalError`.
    fn run<T: Send>(
        &mut self,
        py: Python<'_>,
        work: impl FnOnce(&mut DayState) -> error::Result<T> + Send,
    ) -> PyResult<T> {
        if self.broken {
            return Err(to_py(py, KernelError::Broken));
        }
        let state = &mut self.state;
        let result = py.detach(|| catch_panic(|| work(state)));
        if let Err(KernelError::Panic(_)) = result {
            self.broken = true;
        }
        result.map_err(|e| to_py(py, e))
    }

    fn push(
        &mut self,
        py: Python<'_>,
        batch: &Bound<'_, PyAny>,
        push: fn(&mut DayState, &RecordBatch) -> error::Result<()>,
    ) -> PyResult<()> {
        // SAFETY: no value of the batch is read before `check_batch` has checked its column:
        // fully (offsets, UTF-8, bounds), except a dictionary's keys, bounds-checked where they
        // are read, and its values, which `StringReader` checks fully unless they are, byte for
        // byte, a dictionary it checked before (so each Parquet column chunk's dictionary, which
        // pyarrow copies into every batch, is checked once, not once per batch).
        let batch = unsafe { RecordBatch::from_pyarrow_bound_unchecked(batch)? };
        self.run(py, |state| {
            input::check_batch(&batch)?;
            push(state, &batch)
        })
    }
}

#[pymethods]
impl DayAggregator {
    #[new]
    fn new(py: Python<'_>, config: &KernelConfig, day: &Bound<'_, PyAny>) -> PyResult<Self> {
        let ordinal: i32 = day.call_method0("toordinal")?.extract()?;
        let state = catch_panic(|| {
            Ok(DayState::new(
                Arc::clone(&config.inner),
                ordinal - EPOCH_ORDINAL,
            ))
        })
        .map_err(|e| to_py(py, e))?;
        Ok(Self {
            state,
            broken: false,
        })
    }

    fn push_pod_usage(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        self.push(py, batch, DayState::push_pod_usage)
    }

    fn push_storage_usage(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        self.push(py, batch, DayState::push_storage_usage)
    }

    fn push_node_labels(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        self.push(py, batch, DayState::push_node_labels)
    }

    fn push_namespace_labels(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        self.push(py, batch, DayState::push_namespace_labels)
    }

    #[pyo3(signature = (*, report_period_id, cluster_id, cluster_alias, source_uuid))]
    fn finish<'py>(
        &mut self,
        py: Python<'py>,
        report_period_id: i64,
        cluster_id: String,
        cluster_alias: Option<String>,
        source_uuid: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let run = RunConstants {
            report_period_id,
            cluster_id,
            cluster_alias,
            source_uuid,
        };
        let out = self.run(py, |state| state.finish(&run))?;
        out.to_pyarrow(py)
    }
}

#[pymodule]
fn _kernel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<KernelConfig>()?;
    m.add_class::<DayAggregator>()?;
    let classes = EXCEPTIONS.get_or_try_init(py, || create_exceptions(py))?;
    m.add("KernelError", classes.base.bind(py))?;
    m.add("InputDataError", classes.input_data.bind(py))?;
    m.add("InternalError", classes.internal.bind(py))?;
    Ok(())
}
