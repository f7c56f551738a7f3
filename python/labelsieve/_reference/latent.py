"""Closed-form identities between p(s), p(y), the noise matrix P(s|y) and its inverse P(y|s)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve._reference.validate import as_float64
from labelsieve.exceptions import InvalidInputError, SingularMatrixError

TINY_VALUE = 1e-100
# Off-diagonal noise rates are clipped to at most this before columns are renormalised.
MAX_NOISE_RATE = 0.9999
PY_METHODS = ("cnt", "eqn", "marginal", "marginal_ps")


def clip_noise_rates(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Clip off-diagonal entries into [0, 0.9999] (diagonal untouched), then make columns sum to 1."""
    clipped = np.clip(matrix, 0.0, MAX_NOISE_RATE)
    np.fill_diagonal(clipped, np.diagonal(matrix))
    return clipped / np.maximum(clipped.sum(axis=0), TINY_VALUE)


def clip_values(
    values: NDArray[np.float64], low: float, high: float, new_sum: float | None
) -> NDArray[np.float64]:
    """Clip a vector (or each row of a matrix) into [low, high], then rescale once to ``new_sum``
    (default: the sum before clipping). Values may leave [low, high] again after rescaling."""
    target = values.sum(axis=-1, keepdims=True) if new_sum is None else new_sum
    clipped = np.clip(values, low, high)
    return clipped * target / np.maximum(clipped.sum(axis=-1, keepdims=True), TINY_VALUE)


def _inverse(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    try:
        return np.asarray(np.linalg.inv(matrix), dtype=np.float64)
    except np.linalg.LinAlgError as err:
        raise SingularMatrixError(
            f"noise_matrix must be invertible, but it is singular: {matrix.tolist()}"
        ) from err


def compute_py(
    ps: NDArray[np.float64],
    noise_matrix: NDArray[np.float64],
    inverse_noise_matrix: NDArray[np.float64],
    py_method: str,
    true_labels_class_counts: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """p(y) from p(s) and the noise matrices by ``py_method``, clipped into [1e-6, 1] summing to 1."""
    ps = np.asarray(ps, dtype=np.float64).ravel()
    nm = np.asarray(noise_matrix, dtype=np.float64)
    inv = np.asarray(inverse_noise_matrix, dtype=np.float64)
    if py_method == "cnt":
        py = np.diagonal(inv) / np.maximum(np.diagonal(nm), TINY_VALUE) * ps
    elif py_method == "eqn":
        py = _inverse(nm).dot(ps)
    elif py_method == "marginal":
        if true_labels_class_counts is None:
            raise InvalidInputError(
                'py_method == "marginal" requires true_labels_class_counts, but '
                "true_labels_class_counts is None.  Provide parameter true_labels_class_counts."
            )
        counts = np.asarray(true_labels_class_counts, dtype=np.float64)
        py = counts / np.maximum(counts.sum(), TINY_VALUE)
    elif py_method == "marginal_ps":
        py = inv.dot(ps)
    else:
        raise InvalidInputError(f"py_method {py_method} should be in [cnt, eqn, marginal, marginal_ps]")
    return clip_values(py, 1e-6, 1.0, 1.0)


def compute_inv_noise_matrix(
    py: NDArray[np.float64], noise_matrix: NDArray[np.float64], ps: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """P(y|s) stored as [y, s] from p(y) and P(s|y); ``ps`` defaults to the joint's row sums."""
    joint = np.asarray(noise_matrix, dtype=np.float64) * np.asarray(py, dtype=np.float64)
    ps = joint.sum(axis=1) if ps is None else np.asarray(ps, dtype=np.float64)
    return clip_noise_rates(joint.T / np.maximum(ps, TINY_VALUE))


def compute_noise_matrix_from_inverse(
    ps: NDArray[np.float64], inverse_noise_matrix: NDArray[np.float64], py: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """P(s|y) from p(s) and P(y|s); ``py`` defaults to the joint's column sums."""
    joint = (np.asarray(inverse_noise_matrix, dtype=np.float64) * np.asarray(ps, dtype=np.float64)).T
    py = joint.sum(axis=0) if py is None else np.asarray(py, dtype=np.float64)
    return clip_noise_rates(joint / np.maximum(py, TINY_VALUE))


def compute_py_inv_noise_matrix(
    ps: NDArray[np.float64], noise_matrix: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(p(y), P(y|s)) from p(s) and P(s|y) through the true matrix inverse."""
    ps = np.asarray(ps, dtype=np.float64)
    nm = np.asarray(noise_matrix, dtype=np.float64)
    py = clip_values(_inverse(nm).dot(ps), 1e-6, 1.0, 1.0)
    return py, compute_inv_noise_matrix(py, nm, ps)


def converge_estimates(
    ps: NDArray[np.float64],
    py: NDArray[np.float64],
    noise_matrix: NDArray[np.float64],
    inverse_noise_matrix: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """cleanlab's fixed-point refinement: 3 outer rounds of (5 x (inverse, py), then noise matrix)."""
    for _ in range(3):
        for _ in range(5):
            inverse_noise_matrix = compute_inv_noise_matrix(py, noise_matrix, ps)
            py = compute_py(ps, noise_matrix, inverse_noise_matrix, "cnt", None)
        noise_matrix = compute_noise_matrix_from_inverse(ps, inverse_noise_matrix, py)
    return py, noise_matrix, inverse_noise_matrix


def compute_pyx(
    pred_probs: NDArray[Any],
    noise_matrix: NDArray[np.float64],
    inverse_noise_matrix: NDArray[np.float64],
    n_jobs: int | None,
) -> NDArray[np.float64]:
    """p(y|x) = p(s|x) * P(y=k|s=k) / P(s=k|y=k), each row clipped into [0, 1] and rescaled to sum 1."""
    probs = as_float64(pred_probs)
    if probs.ndim != 2:
        raise InvalidInputError(
            f"Input parameter np.ndarray 'pred_probs' has shape {probs.shape}, but shape should be (N, K)"
        )
    nm = np.asarray(noise_matrix, dtype=np.float64)
    inv = np.asarray(inverse_noise_matrix, dtype=np.float64)
    pyx = probs * np.diagonal(inv) / np.maximum(np.diagonal(nm), TINY_VALUE)
    return clip_values(pyx, 0.0, 1.0, 1.0)
