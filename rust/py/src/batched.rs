//! Bindings of `labelsieve_core::batched`: the mergeable, picklable accumulators.

use crate::arrays::{threads, NumpyArgsort};
use crate::errors::to_py;
use crate::{with_labels, with_probs};
use labelsieve_core::batched as core;
use labelsieve_core::filter::FilterBy;
use labelsieve_core::parallel;
use labelsieve_core::rank::Method;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Indices as the int64 array numpy code expects.
fn index_array(py: Python<'_>, v: Vec<usize>) -> Bound<'_, PyArray1<i64>> {
    v.into_iter()
        .map(|i| i as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py)
}

/// `__reduce__` as `(cls._from_bytes, (state,))`, so pickle and deepcopy need no `__init__` args.
fn reduce<'py>(
    slf: &Bound<'py, PyAny>,
    bytes: Vec<u8>,
) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
    let from = slf.get_type().getattr("_from_bytes")?;
    Ok((from, (PyBytes::new(slf.py(), &bytes),)))
}

/// Pass 1: validates every row and accumulates the per-class threshold sums and label counts.
#[pyclass(module = "labelsieve._native")]
pub struct ThresholdAccumulator {
    inner: core::ThresholdAccumulator,
}

#[pymethods]
impl ThresholdAccumulator {
    #[new]
    fn new(num_class: usize) -> PyResult<Self> {
        Ok(ThresholdAccumulator {
            inner: core::ThresholdAccumulator::new(num_class).map_err(to_py)?,
        })
    }

    #[getter]
    fn num_class(&self) -> usize {
        self.inner.num_class()
    }

    #[getter]
    fn n_rows(&self) -> u64 {
        self.inner.n_rows()
    }

    #[pyo3(signature = (labels, pred_probs, offset, row_sum_tol, n_jobs=None))]
    fn update(
        &mut self,
        py: Python<'_>,
        labels: &Bound<'_, PyAny>,
        pred_probs: &Bound<'_, PyAny>,
        offset: usize,
        row_sum_tol: f64,
        n_jobs: Option<usize>,
    ) -> PyResult<()> {
        let t = threads(n_jobs);
        let inner = &mut self.inner;
        with_probs!(pred_probs, |p| with_labels!(labels, |l| {
            py.detach(|| {
                parallel::install_sized(t, p.len(), || inner.update(l, p, offset, row_sum_tol))
            })
            .map_err(to_py)
        }))
    }

    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        // Cloned first so that `a.merge(a)` does not borrow `a` twice.
        let other = other.borrow().inner.clone();
        slf.borrow_mut().inner.merge(other).map_err(to_py)
    }

    fn thresholds<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.thresholds().into_pyarray(py)
    }

    fn label_counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.inner.label_counts().into_pyarray(py)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        reduce(slf.as_any(), slf.borrow().inner.to_bytes())
    }

    #[staticmethod]
    fn _from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(ThresholdAccumulator {
            inner: core::ThresholdAccumulator::from_bytes(data).map_err(to_py)?,
        })
    }
}

/// Pass 2: confident-joint counts for fixed thresholds, label counts and the issue count.
#[pyclass(module = "labelsieve._native")]
pub struct JointAccumulator {
    inner: core::JointAccumulator,
}

#[pymethods]
impl JointAccumulator {
    #[new]
    fn new(thresholds: PyReadonlyArray1<'_, f64>) -> PyResult<Self> {
        let t = thresholds.as_array().to_vec();
        Ok(JointAccumulator {
            inner: core::JointAccumulator::new(&t).map_err(to_py)?,
        })
    }

    #[getter]
    fn num_class(&self) -> usize {
        self.inner.num_class()
    }

    #[getter]
    fn num_issues(&self) -> u64 {
        self.inner.num_issues()
    }

    #[pyo3(signature = (labels, pred_probs, return_flags, n_jobs=None))]
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        labels: &Bound<'py, PyAny>,
        pred_probs: &Bound<'py, PyAny>,
        return_flags: bool,
        n_jobs: Option<usize>,
    ) -> PyResult<Option<Bound<'py, PyArray1<bool>>>> {
        let t = threads(n_jobs);
        let inner = &mut self.inner;
        let flags = with_probs!(pred_probs, |p| with_labels!(labels, |l| {
            py.detach(|| parallel::install_sized(t, p.len(), || inner.update(l, p, return_flags)))
                .map_err(to_py)
        }))?;
        Ok(flags.map(|f| f.into_pyarray(py)))
    }

    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        // Cloned first so that `a.merge(a)` does not borrow `a` twice.
        let other = other.borrow().inner.clone();
        slf.borrow_mut().inner.merge(other).map_err(to_py)
    }

    fn confident_joint<'py>(
        &self,
        py: Python<'py>,
        calibrate: bool,
    ) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let cj = self
            .inner
            .confident_joint(calibrate, &NumpyArgsort)
            .map_err(to_py)?;
        Ok(cj.into_pyarray(py))
    }

    fn label_counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.inner.label_counts().into_pyarray(py)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        reduce(slf.as_any(), slf.borrow().inner.to_bytes())
    }

    #[staticmethod]
    fn _from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(JointAccumulator {
            inner: core::JointAccumulator::from_bytes(data).map_err(to_py)?,
        })
    }
}

/// The `num` lowest label quality scores and their global indices.
#[pyclass(module = "labelsieve._native")]
pub struct ScoreSelector {
    inner: core::ScoreSelector,
}

#[pymethods]
impl ScoreSelector {
    #[new]
    fn new(
        method: &str,
        thresholds: Option<PyReadonlyArray1<'_, f64>>,
        num_class: usize,
        num: usize,
    ) -> PyResult<Self> {
        let m = Method::parse(method).map_err(to_py)?;
        let t: Option<Vec<f64>> = thresholds.map(|a| a.as_array().to_vec());
        Ok(ScoreSelector {
            inner: core::ScoreSelector::new(m, t.as_deref(), num_class, num).map_err(to_py)?,
        })
    }

    #[pyo3(signature = (labels, pred_probs, offset, n_jobs=None))]
    fn update(
        &mut self,
        py: Python<'_>,
        labels: &Bound<'_, PyAny>,
        pred_probs: &Bound<'_, PyAny>,
        offset: usize,
        n_jobs: Option<usize>,
    ) -> PyResult<()> {
        let t = threads(n_jobs);
        let inner = &mut self.inner;
        with_probs!(pred_probs, |p| with_labels!(labels, |l| {
            py.detach(|| parallel::install_sized(t, p.len(), || inner.update(l, p, offset)))
                .map_err(to_py)
        }))
    }

    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        // Cloned first so that `a.merge(a)` does not borrow `a` twice.
        let other = other.borrow().inner.clone();
        slf.borrow_mut().inner.merge(other).map_err(to_py)
    }

    fn indices<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        index_array(py, self.inner.indices())
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        reduce(slf.as_any(), slf.borrow().inner.to_bytes())
    }

    #[staticmethod]
    fn _from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(ScoreSelector {
            inner: core::ScoreSelector::from_bytes(data).map_err(to_py)?,
        })
    }
}

/// Pass 3 of prune_by_noise_rate / prune_by_class / both, planned from a confident joint.
#[pyclass(module = "labelsieve._native")]
pub struct PruneSelector {
    inner: core::PruneSelector,
}

#[pymethods]
impl PruneSelector {
    #[new]
    fn new(
        confident_joint: PyReadonlyArray2<'_, i64>,
        label_counts: PyReadonlyArray1<'_, i64>,
        filter_by: &str,
        frac_noise: f64,
        num_to_remove_per_class: Option<PyReadonlyArray1<'_, i64>>,
        min_examples_per_class: i64,
    ) -> PyResult<Self> {
        let fb = FilterBy::parse(filter_by).map_err(to_py)?;
        let counts = label_counts.as_array().to_vec();
        let remove: Option<Vec<i64>> = num_to_remove_per_class.map(|a| a.as_array().to_vec());
        let inner = core::PruneSelector::new(
            confident_joint.as_array(),
            &counts,
            fb,
            frac_noise,
            remove.as_deref(),
            min_examples_per_class,
            &NumpyArgsort,
        )
        .map_err(to_py)?;
        Ok(PruneSelector { inner })
    }

    #[getter]
    fn too_few(&self) -> Vec<usize> {
        self.inner.too_few().to_vec()
    }

    #[pyo3(signature = (labels, pred_probs, offset, n_jobs=None))]
    fn update(
        &mut self,
        py: Python<'_>,
        labels: &Bound<'_, PyAny>,
        pred_probs: &Bound<'_, PyAny>,
        offset: usize,
        n_jobs: Option<usize>,
    ) -> PyResult<()> {
        let t = threads(n_jobs);
        let inner = &mut self.inner;
        with_probs!(pred_probs, |p| with_labels!(labels, |l| {
            py.detach(|| parallel::install_sized(t, p.len(), || inner.update(l, p, offset)))
                .map_err(to_py)
        }))
    }

    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        // Cloned first so that `a.merge(a)` does not borrow `a` twice.
        let other = other.borrow().inner.clone();
        slf.borrow_mut().inner.merge(other).map_err(to_py)
    }

    fn indices<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        index_array(py, self.inner.indices())
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        reduce(slf.as_any(), slf.borrow().inner.to_bytes())
    }

    #[staticmethod]
    fn _from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(PruneSelector {
            inner: core::PruneSelector::from_bytes(data).map_err(to_py)?,
        })
    }
}
