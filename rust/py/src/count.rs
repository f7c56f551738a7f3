//! Bindings of `labelsieve_core::count`: argument conversion only.

use crate::arrays::{threads, NumpyArgsort};
use crate::errors::to_py;
use crate::{with_labels, with_probs};
use labelsieve_core::{count, parallel};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

#[pyfunction]
#[pyo3(signature = (labels, pred_probs, row_sum_tol, n_jobs=None))]
pub fn confident_thresholds<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let t = threads(n_jobs);
    let out = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                count::confident_thresholds(l, p, row_sum_tol)
            })
        })
        .map_err(to_py)
    }))?;
    Ok(out.into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (labels, pred_probs, thresholds, calibrate, return_indices, row_sum_tol, n_jobs=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn confident_joint<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    thresholds: Option<PyReadonlyArray1<'py, f64>>,
    calibrate: bool,
    return_indices: bool,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<(Bound<'py, PyArray2<i64>>, Option<Bound<'py, PyArray1<i64>>>)> {
    let t = threads(n_jobs);
    let th: Option<Vec<f64>> = thresholds.map(|a| a.as_array().to_vec());
    let (cj, idx) = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                count::confident_joint(
                    l,
                    p,
                    th.as_deref(),
                    calibrate,
                    return_indices,
                    row_sum_tol,
                    &NumpyArgsort,
                )
            })
        })
        .map_err(to_py)
    }))?;
    let idx = return_indices.then(|| {
        idx.into_iter()
            .map(|i| i as i64)
            .collect::<Vec<_>>()
            .into_pyarray(py)
    });
    Ok((cj.into_pyarray(py), idx))
}

/// The calibrated (or raw) confident joint and the `off_diagonal` issue count, in two passes.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, calibrate, row_sum_tol, n_jobs=None))]
pub fn confident_joint_and_issues<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    calibrate: bool,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<(Bound<'py, PyArray2<i64>>, u64)> {
    let t = threads(n_jobs);
    let (cj, issues) = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                count::confident_joint_and_issues(l, p, calibrate, row_sum_tol, &NumpyArgsort)
            })
        })
        .map_err(to_py)
    }))?;
    Ok((cj.into_pyarray(py), issues))
}

#[pyfunction]
pub fn calibrate_confident_joint<'py>(
    py: Python<'py>,
    confident_joint: PyReadonlyArray2<'py, i64>,
    label_counts: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let counts = label_counts.as_array().to_vec();
    let cj = confident_joint.as_array();
    // numpy sums a Fortran-ordered matrix column by column; keep the caller's order.
    let column_major = cj.ncols() > 1 && cj.strides()[0] == 1 && cj.strides()[1] != 1;
    let out = count::calibrate_confident_joint(cj, &counts, &NumpyArgsort, column_major)
        .map_err(to_py)?;
    Ok(out.into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (labels, pred_probs, row_sum_tol, n_jobs=None))]
pub fn argmax_confusion<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let t = threads(n_jobs);
    let out = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || count::argmax_confusion(l, p, row_sum_tol))
        })
        .map_err(to_py)
    }))?;
    Ok(out.into_pyarray(py))
}
