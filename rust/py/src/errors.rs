//! The one mapping from core errors to the Python exception classes of `labelsieve.exceptions`.

use labelsieve_core::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Convert a core error into the matching `labelsieve.exceptions` class.
pub fn to_py(err: Error) -> PyErr {
    let (class, msg) = match err {
        Error::PredProbs(m) => ("PredProbsError", m),
        Error::Labels(m) => ("LabelsError", m),
        Error::InvalidInput(m) => ("InvalidInputError", m),
        Error::Singular(m) => ("SingularMatrixError", m),
    };
    Python::attach(|py| {
        let found = py
            .import("labelsieve.exceptions")
            .and_then(|m| m.getattr(class))
            .and_then(|c| Ok(c.cast_into::<PyType>()?));
        match found {
            Ok(ty) => PyErr::from_type(ty, msg),
            Err(_) => PyValueError::new_err(msg),
        }
    })
}

/// Error for an argument whose dtype no kernel accepts.
pub fn dtype_error(arg: &str, expected: &str, found: &Bound<'_, PyAny>) -> PyErr {
    let dtype = found
        .getattr("dtype")
        .map(|d| d.to_string())
        .unwrap_or_else(|_| {
            found
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        });
    Python::attach(|py| {
        let found_ty = py
            .import("labelsieve.exceptions")
            .and_then(|m| m.getattr("InvalidDtypeError"))
            .and_then(|c| Ok(c.cast_into::<PyType>()?));
        let msg = format!("{arg} must be {expected}, but it has dtype {dtype}");
        match found_ty {
            Ok(ty) => PyErr::from_type(ty, msg),
            Err(_) => pyo3::exceptions::PyTypeError::new_err(msg),
        }
    })
}
