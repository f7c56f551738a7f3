//! numpy <-> ndarray: borrow float16/32/64 probabilities and any integer labels in place (no copy,
//! any strides), the thread count of a call, and numpy's argsort for calibration ties.

use labelsieve_core::count::{Argsort, StableArgsort};
use labelsieve_core::parallel;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;

/// Dispatch `$body` over the dtype of `pred_probs` (f64, f32, f16) and of `labels` (any integer
/// or bool); inside, `$l` is an `ArrayView1` of labels and `$p` an `ArrayView2` of probabilities.
#[macro_export]
macro_rules! with_probs {
    ($probs:expr, |$p:ident| $body:expr) => {{
        let probs: &pyo3::Bound<'_, pyo3::PyAny> = $probs;
        if let Ok(a) = probs.extract::<numpy::PyReadonlyArray2<'_, f64>>() {
            let $p = a.as_array();
            $body
        } else if let Ok(a) = probs.extract::<numpy::PyReadonlyArray2<'_, f32>>() {
            let $p = a.as_array();
            $body
        } else if let Ok(a) = probs.extract::<numpy::PyReadonlyArray2<'_, half::f16>>() {
            let $p = a.as_array();
            $body
        } else {
            Err($crate::errors::dtype_error(
                "pred_probs",
                "a 2-D float16, float32 or float64 array",
                probs,
            ))
        }
    }};
}

#[macro_export]
macro_rules! with_labels {
    ($labels:expr, |$l:ident| $body:expr) => {{
        let labels: &pyo3::Bound<'_, pyo3::PyAny> = $labels;
        $crate::with_labels!(@try labels, $l, $body, i64, i32, u8, u16, u32, u64, i8, i16, bool)
    }};
    (@try $labels:ident, $l:ident, $body:expr, $t:ty $(, $rest:ty)*) => {
        if let Ok(a) = $labels.extract::<numpy::PyReadonlyArray1<'_, $t>>() {
            let $l = a.as_array();
            $body
        } else {
            $crate::with_labels!(@try $labels, $l, $body $(, $rest)*)
        }
    };
    (@try $labels:ident, $l:ident, $body:expr) => {
        Err($crate::errors::dtype_error("labels", "a 1-D integer array", $labels))
    };
}

/// Threads for a call: `n_jobs` if given, else the module default.
pub fn threads(n_jobs: Option<usize>) -> usize {
    parallel::resolve_threads(n_jobs)
}

/// Ascending argsort done by numpy itself, so ties resolve exactly as they do in cleanlab (whose
/// calibrated counts depend on numpy's unstable sort for equal residuals).
pub struct NumpyArgsort;

impl Argsort for NumpyArgsort {
    fn argsort(&self, v: &[f64]) -> Vec<usize> {
        self.argsort_rows(v, v.len())
    }

    /// One `np.argsort(m, axis=-1)` for all rows: numpy sorts each row of a C-ordered matrix
    /// with the same kernel as a single vector, so the order among ties is the same as row by row.
    fn argsort_rows(&self, flat: &[f64], len: usize) -> Vec<usize> {
        let numpy = Python::attach(|py| -> PyResult<Vec<usize>> {
            let rows = flat.len() / len.max(1);
            let arr = PyArray1::from_slice(py, flat).reshape([rows, len])?;
            let idx = py.import("numpy")?.call_method1("argsort", (arr, -1))?;
            let idx: PyReadonlyArray2<'_, i64> = idx.extract()?;
            Ok(idx
                .as_array()
                .iter()
                .map(|&i| usize::try_from(i).unwrap_or(0))
                .collect())
        });
        numpy.unwrap_or_else(|_| StableArgsort.argsort_rows(flat, len))
    }
}
