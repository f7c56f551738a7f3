//! Bindings of `labelsieve_core::rank`.

use crate::arrays::threads;
use crate::errors::to_py;
use crate::{with_labels, with_probs};
use labelsieve_core::parallel;
use labelsieve_core::rank::{self, Method};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

#[pyfunction]
#[pyo3(signature = (labels, pred_probs, method, thresholds, row_sum_tol, n_jobs=None))]
pub fn label_quality_scores<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    method: &str,
    thresholds: Option<PyReadonlyArray1<'py, f64>>,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let t = threads(n_jobs);
    let m = Method::parse(method).map_err(to_py)?;
    let th: Option<Vec<f64>> = thresholds.map(|a| a.as_array().to_vec());
    let out = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                rank::label_quality_scores(l, p, m, th.as_deref(), row_sum_tol)
            })
        })
        .map_err(to_py)
    }))?;
    Ok(out.into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (mask, labels, pred_probs, method, thresholds, row_sum_tol, n_jobs=None))]
#[allow(clippy::too_many_arguments)]
pub fn order_label_issues<'py>(
    py: Python<'py>,
    mask: PyReadonlyArray1<'py, bool>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    method: &str,
    thresholds: Option<PyReadonlyArray1<'py, f64>>,
    row_sum_tol: Option<f64>,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let t = threads(n_jobs);
    let m = Method::parse(method).map_err(to_py)?;
    let th: Option<Vec<f64>> = thresholds.map(|a| a.as_array().to_vec());
    let mk = mask.as_array();
    let out = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                rank::order_label_issues(mk, l, p, m, th.as_deref(), row_sum_tol)
            })
        })
        .map_err(to_py)
    }))?;
    Ok(out
        .into_iter()
        .map(|i| i as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}

#[pyfunction]
pub fn smallest_indices<'py>(
    py: Python<'py>,
    scores: PyReadonlyArray1<'py, f64>,
    top: usize,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let s = scores.as_array();
    let out = py
        .detach(|| rank::smallest_indices(s, top))
        .map_err(to_py)?;
    Ok(out
        .into_iter()
        .map(|i| i as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py))
}
