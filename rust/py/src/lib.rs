//! `labelsieve._native`: thin PyO3 bindings of `labelsieve-core`. Each file converts arguments
//! and results for one core module; no math lives here.

mod arrays;
mod batched;
mod count;
mod errors;
mod filter;
mod latent;
mod rank;
mod validate;

use pyo3::prelude::*;

/// Default thread count for kernels called with `n_jobs=None` (`None` = all cores).
#[pyfunction]
#[pyo3(signature = (n=None))]
fn set_num_threads_default(n: Option<usize>) {
    labelsieve_core::parallel::set_default_threads(n);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(set_num_threads_default, m)?)?;
    m.add_function(wrap_pyfunction!(validate::check_pred_probs, m)?)?;
    m.add_function(wrap_pyfunction!(validate::label_range, m)?)?;
    m.add_function(wrap_pyfunction!(count::confident_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(count::confident_joint, m)?)?;
    m.add_function(wrap_pyfunction!(count::confident_joint_and_issues, m)?)?;
    m.add_function(wrap_pyfunction!(count::calibrate_confident_joint, m)?)?;
    m.add_function(wrap_pyfunction!(count::argmax_confusion, m)?)?;
    m.add_function(wrap_pyfunction!(latent::estimate_latent, m)?)?;
    m.add_function(wrap_pyfunction!(latent::compute_py, m)?)?;
    m.add_function(wrap_pyfunction!(latent::compute_inv_noise_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(
        latent::compute_noise_matrix_from_inverse,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(latent::compute_py_inv_noise_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(latent::compute_pyx, m)?)?;
    m.add_function(wrap_pyfunction!(filter::label_issues, m)?)?;
    m.add_function(wrap_pyfunction!(filter::predicted_neq_given, m)?)?;
    m.add_function(wrap_pyfunction!(rank::label_quality_scores, m)?)?;
    m.add_function(wrap_pyfunction!(rank::order_label_issues, m)?)?;
    m.add_function(wrap_pyfunction!(rank::smallest_indices, m)?)?;
    m.add_class::<batched::ThresholdAccumulator>()?;
    m.add_class::<batched::JointAccumulator>()?;
    m.add_class::<batched::ScoreSelector>()?;
    m.add_class::<batched::PruneSelector>()?;
    Ok(())
}
