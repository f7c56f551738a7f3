//! Bindings of `labelsieve_core::filter`.

use crate::arrays::{threads, NumpyArgsort};
use crate::errors::to_py;
use crate::{with_labels, with_probs};
use labelsieve_core::filter::{self, FilterBy, IssueOptions};
use labelsieve_core::parallel;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

#[pyfunction]
#[pyo3(signature = (labels, pred_probs, filter_by, frac_noise, num_to_remove_per_class, min_examples_per_class, confident_joint, row_sum_tol, n_jobs=None))]
#[allow(clippy::too_many_arguments)]
pub fn label_issues<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    filter_by: &str,
    frac_noise: f64,
    num_to_remove_per_class: Option<PyReadonlyArray1<'py, i64>>,
    min_examples_per_class: i64,
    confident_joint: Option<PyReadonlyArray2<'py, i64>>,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<(Bound<'py, PyArray1<bool>>, Vec<usize>)> {
    let t = threads(n_jobs);
    let remove: Option<Vec<i64>> = num_to_remove_per_class.map(|a| a.as_array().to_vec());
    let cj = confident_joint.as_ref().map(|a| a.as_array());
    let opts = IssueOptions {
        filter_by: FilterBy::parse(filter_by).map_err(to_py)?,
        frac_noise,
        num_to_remove_per_class: remove.as_deref(),
        min_examples_per_class,
        confident_joint: cj,
    };
    let issues = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                filter::label_issues(l, p, &opts, row_sum_tol, &NumpyArgsort)
            })
        })
        .map_err(to_py)
    }))?;
    Ok((issues.mask.into_pyarray(py), issues.too_few))
}

#[pyfunction]
#[pyo3(signature = (labels, pred_probs, row_sum_tol, n_jobs=None))]
pub fn predicted_neq_given<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    row_sum_tol: f64,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let t = threads(n_jobs);
    let cm = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
        py.detach(|| {
            parallel::install_sized(t, p.len(), || {
                filter::predicted_neq_given(l, p, row_sum_tol)
            })
        })
        .map_err(to_py)
    }))?;
    Ok(cm.into_pyarray(py))
}
