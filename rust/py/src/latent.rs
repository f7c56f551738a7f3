//! Bindings of `labelsieve_core::latent`.

use crate::arrays::threads;
use crate::errors::to_py;
use crate::with_probs;
use labelsieve_core::latent::{self, PyMethod};
use labelsieve_core::parallel;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

type Latent<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
);
type PyInv<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray2<f64>>);

#[pyfunction]
pub fn estimate_latent<'py>(
    py: Python<'py>,
    confident_joint: PyReadonlyArray2<'py, i64>,
    label_counts: PyReadonlyArray1<'py, i64>,
    py_method: &str,
    converge: bool,
) -> PyResult<Latent<'py>> {
    let m = PyMethod::parse(py_method).map_err(to_py)?;
    let counts = label_counts.as_array().to_vec();
    let (p, nm, inv) =
        latent::estimate_latent(confident_joint.as_array(), &counts, m, converge).map_err(to_py)?;
    Ok((
        p.into_pyarray(py),
        nm.into_pyarray(py),
        inv.into_pyarray(py),
    ))
}

#[pyfunction]
pub fn compute_py<'py>(
    py: Python<'py>,
    ps: PyReadonlyArray1<'py, f64>,
    noise_matrix: PyReadonlyArray2<'py, f64>,
    inverse_noise_matrix: PyReadonlyArray2<'py, f64>,
    py_method: &str,
    true_labels_class_counts: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let m = PyMethod::parse(py_method).map_err(to_py)?;
    let counts = true_labels_class_counts.as_ref().map(|a| a.as_array());
    let out = latent::compute_py(
        ps.as_array(),
        noise_matrix.as_array(),
        inverse_noise_matrix.as_array(),
        m,
        counts,
    )
    .map_err(to_py)?;
    Ok(out.into_pyarray(py))
}

#[pyfunction]
pub fn compute_inv_noise_matrix<'py>(
    py: Python<'py>,
    py_: PyReadonlyArray1<'py, f64>,
    noise_matrix: PyReadonlyArray2<'py, f64>,
    ps: Option<PyReadonlyArray1<'py, f64>>,
) -> Bound<'py, PyArray2<f64>> {
    let ps = ps.as_ref().map(|a| a.as_array());
    latent::compute_inv_noise_matrix(py_.as_array(), noise_matrix.as_array(), ps).into_pyarray(py)
}

#[pyfunction]
pub fn compute_noise_matrix_from_inverse<'py>(
    py: Python<'py>,
    ps: PyReadonlyArray1<'py, f64>,
    inverse_noise_matrix: PyReadonlyArray2<'py, f64>,
    py_: Option<PyReadonlyArray1<'py, f64>>,
) -> Bound<'py, PyArray2<f64>> {
    let p = py_.as_ref().map(|a| a.as_array());
    latent::compute_noise_matrix_from_inverse(ps.as_array(), inverse_noise_matrix.as_array(), p)
        .into_pyarray(py)
}

#[pyfunction]
pub fn compute_py_inv_noise_matrix<'py>(
    py: Python<'py>,
    ps: PyReadonlyArray1<'py, f64>,
    noise_matrix: PyReadonlyArray2<'py, f64>,
) -> PyResult<PyInv<'py>> {
    let (p, inv) = latent::compute_py_inv_noise_matrix(ps.as_array(), noise_matrix.as_array())
        .map_err(to_py)?;
    Ok((p.into_pyarray(py), inv.into_pyarray(py)))
}

#[pyfunction]
#[pyo3(signature = (pred_probs, noise_matrix, inverse_noise_matrix, n_jobs=None))]
pub fn compute_pyx<'py>(
    py: Python<'py>,
    pred_probs: &Bound<'py, PyAny>,
    noise_matrix: PyReadonlyArray2<'py, f64>,
    inverse_noise_matrix: PyReadonlyArray2<'py, f64>,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let t = threads(n_jobs);
    let (nm, inv) = (noise_matrix.as_array(), inverse_noise_matrix.as_array());
    let out = with_probs!(pred_probs, |p| {
        Ok::<_, PyErr>(
            py.detach(|| parallel::install_sized(t, p.len(), || latent::compute_pyx(p, nm, inv))),
        )
    })?;
    Ok(out.into_pyarray(py))
}
