"""Closed-form identities between the latent prior py, the observed label prior ps, the noise
matrix P(given | true) and the inverse noise matrix P(true | given) (cleanlab
``cleanlab.internal.latent_algebra``). All matrices are column-stochastic."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend
from labelsieve._validation import check_pred_probs, check_square, labels_to_array, row_sum_tol
from labelsieve.exceptions import InvalidInputError

__all__ = [
    "compute_inv_noise_matrix",
    "compute_noise_matrix_from_inverse",
    "compute_ps_py_inv_noise_matrix",
    "compute_py",
    "compute_py_inv_noise_matrix",
    "compute_pyx",
]


def _vec(x: Any, name: str, k: int) -> NDArray[np.float64]:
    v = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1))
    if v.shape != (k,):
        raise InvalidInputError(
            f"{name} must have {k} entries (one per class), but it has shape {np.shape(x)}"
        )
    return v


def _mat(m: Any, name: str) -> NDArray[np.float64]:
    return np.ascontiguousarray(check_square(m, name), dtype=np.float64)


def compute_ps_py_inv_noise_matrix(
    labels: Any, noise_matrix: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(ps, py, inverse_noise_matrix) from noisy labels and the noise matrix."""
    labs = labels_to_array(labels)
    nm = _mat(noise_matrix, "noise_matrix")
    ps = np.unique(labs, return_counts=True)[1] / float(labs.shape[0])
    py, inv = compute_py_inv_noise_matrix(ps, nm)
    return ps, py, inv


def compute_py_inv_noise_matrix(
    ps: Any, noise_matrix: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(py, inverse_noise_matrix) with py = inv(noise_matrix) @ ps, clipped into [1e-6, 1], summing to 1."""
    nm = _mat(noise_matrix, "noise_matrix")
    return _backend.kernels().compute_py_inv_noise_matrix(_vec(ps, "ps", nm.shape[0]), nm)


def compute_inv_noise_matrix(py: Any, noise_matrix: Any, *, ps: Any = None) -> NDArray[np.float64]:
    """P(true | given) from py and P(given | true)."""
    nm = _mat(noise_matrix, "noise_matrix")
    k = nm.shape[0]
    return _backend.kernels().compute_inv_noise_matrix(
        _vec(py, "py", k), nm, None if ps is None else _vec(ps, "ps", k)
    )


def compute_noise_matrix_from_inverse(
    ps: Any, inverse_noise_matrix: Any, *, py: Any = None
) -> NDArray[np.float64]:
    """P(given | true) from ps and P(true | given)."""
    inv = _mat(inverse_noise_matrix, "inverse_noise_matrix")
    k = inv.shape[0]
    return _backend.kernels().compute_noise_matrix_from_inverse(
        _vec(ps, "ps", k), inv, None if py is None else _vec(py, "py", k)
    )


def compute_py(
    ps: Any,
    noise_matrix: Any,
    inverse_noise_matrix: Any,
    *,
    py_method: str = "cnt",
    true_labels_class_counts: Any = None,
) -> NDArray[np.float64]:
    """The latent prior py by ``cnt`` (default), ``eqn``, ``marginal`` or ``marginal_ps``."""
    nm = _mat(noise_matrix, "noise_matrix")
    inv = _mat(inverse_noise_matrix, "inverse_noise_matrix")
    k = nm.shape[0]
    counts = (
        None
        if true_labels_class_counts is None
        else _vec(true_labels_class_counts, "true_labels_class_counts", k)
    )
    return _backend.kernels().compute_py(_vec(ps, "ps", k), nm, inv, py_method, counts)


def compute_pyx(pred_probs: Any, noise_matrix: Any, inverse_noise_matrix: Any) -> NDArray[np.float64]:
    """Estimated P(true label | x): pred_probs rescaled by inv[k,k] / nm[k,k], rows renormalised."""
    probs = check_pred_probs(pred_probs)
    k = probs.shape[1]
    nm = _mat(noise_matrix, "noise_matrix")
    inv = _mat(inverse_noise_matrix, "inverse_noise_matrix")
    if nm.shape[0] != k or inv.shape[0] != k:
        raise InvalidInputError(
            f"noise matrices must be ({k}, {k}) to match pred_probs of shape {probs.shape}"
        )
    _backend.kernels().check_pred_probs(probs, row_sum_tol(probs), None)
    return _backend.kernels().compute_pyx(probs, nm, inv, None)
