//! Binding of `labelsieve_core::validate`.

use crate::arrays::threads;
use crate::errors::to_py;
use crate::{with_labels, with_probs};
use labelsieve_core::{parallel, validate};
use pyo3::prelude::*;

#[pyfunction]
#[pyo3(signature = (pred_probs, row_sum_tol, n_jobs=None))]
pub fn check_pred_probs(
    py: Python<'_>,
    pred_probs: &Bound<'_, PyAny>,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<()> {
    let t = threads(n_jobs);
    with_probs!(pred_probs, |p| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || validate::check_pred_probs(p, row_sum_tol))
        })
        .map_err(to_py)
    })
}

/// `(min, max)` of the labels (saturated to the int64 range; `None` when empty), in one pass.
#[pyfunction]
#[pyo3(signature = (labels, n_jobs=None))]
pub fn label_range(
    py: Python<'_>,
    labels: &Bound<'_, PyAny>,
    n_jobs: Option<usize>,
) -> PyResult<Option<(i64, i64)>> {
    let t = threads(n_jobs);
    with_labels!(labels, |l| {
        Ok(py.detach(|| parallel::install_sized(t, l.len(), || validate::label_range(l))))
    })
}
