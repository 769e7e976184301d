//! ocpagg's compiled kernel: koku's OpenShift daily usage summary from hourly Arrow batches.
//!
//! The pipeline per day: `input` reads columns, `labels` parses and filters label JSON,
//! `capacity` keeps hourly node maxima, `pod` builds koku's daily pod rows and the pod summary
//! groups, `storage` joins volumes to pods, `unallocated` derives node capacity left over,
//! `cost_category` matches namespaces, `output` writes the Arrow batch. This file is the
//! Python boundary only.

mod capacity;
mod config;
mod cost_category;
mod day;
mod error;
mod input;
mod intern;
mod labels;
mod output;
mod pod;
mod storage;
mod unallocated;

use std::sync::Arc;

use arrow::pyarrow::{FromPyArrow, ToPyArrow};
use arrow::record_batch::RecordBatch;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::config::Config;
use crate::day::DayState;
use crate::output::RunConstants;

create_exception!(_kernel, KernelError, PyValueError);

fn to_py(err: error::KernelError) -> PyErr {
    KernelError::new_err(err.to_string())
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
        enabled_keys: Vec<String>,
        cost_categories: Vec<(String, i64)>,
        node_roles: Vec<(String, String, String)>,
    ) -> Self {
        Self {
            inner: Arc::new(Config::new(enabled_keys, cost_categories, node_roles)),
        }
    }
}

/// The state of one day: fed hourly record batches, it emits the day's summary rows.
#[pyclass(module = "ocpagg._kernel")]
struct DayAggregator {
    state: DayState,
}

fn batch(obj: &Bound<'_, PyAny>) -> PyResult<RecordBatch> {
    RecordBatch::from_pyarrow_bound(obj)
}

#[pymethods]
impl DayAggregator {
    #[new]
    fn new(config: &KernelConfig, day: &Bound<'_, PyAny>) -> PyResult<Self> {
        let ordinal: i32 = day.call_method0("toordinal")?.extract()?;
        Ok(Self {
            state: DayState::new(Arc::clone(&config.inner), ordinal - EPOCH_ORDINAL),
        })
    }

    fn push_pod_usage(&mut self, py: Python<'_>, batch_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = batch(batch_obj)?;
        let state = &mut self.state;
        py.detach(|| state.push_pod_usage(&b)).map_err(to_py)
    }

    fn push_storage_usage(&mut self, py: Python<'_>, batch_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = batch(batch_obj)?;
        let state = &mut self.state;
        py.detach(|| state.push_storage_usage(&b)).map_err(to_py)
    }

    fn push_node_labels(&mut self, py: Python<'_>, batch_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = batch(batch_obj)?;
        let state = &mut self.state;
        py.detach(|| state.push_node_labels(&b)).map_err(to_py)
    }

    fn push_namespace_labels(
        &mut self,
        py: Python<'_>,
        batch_obj: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let b = batch(batch_obj)?;
        let state = &mut self.state;
        py.detach(|| state.push_namespace_labels(&b)).map_err(to_py)
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
        let state = &mut self.state;
        let out = py.detach(|| state.finish(&run)).map_err(to_py)?;
        out.to_pyarrow(py)
    }
}

#[pymodule]
fn _kernel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KernelConfig>()?;
    m.add_class::<DayAggregator>()?;
    m.add("KernelError", m.py().get_type::<KernelError>())?;
    Ok(())
}
