"""Counting label noise: confident thresholds, the confident joint, its calibration, the joint
distribution of given and true labels, the latent prior and noise matrices, and the number of
label issues (cleanlab 2.9 ``cleanlab.count``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend
from labelsieve._cross_validation import (
    estimate_confident_joint_and_cv_pred_proba,
    estimate_cv_predicted_probabilities,
    estimate_noise_matrices,
    estimate_py_noise_matrices_and_cv_pred_proba,
)
from labelsieve._validation import (
    check_inputs,
    check_no_multi_label,
    check_square,
    labels_to_array,
    row_sum_tol,
)
from labelsieve.exceptions import InvalidInputError, LabelsError

__all__ = [
    "calibrate_confident_joint",
    "compute_confident_joint",
    "estimate_confident_joint_and_cv_pred_proba",
    "estimate_cv_predicted_probabilities",
    "estimate_joint",
    "estimate_latent",
    "estimate_noise_matrices",
    "estimate_py_and_noise_matrices_from_probabilities",
    "estimate_py_noise_matrices_and_cv_pred_proba",
    "get_confident_thresholds",
    "num_label_issues",
]

_ESTIMATION_METHODS = ["off_diagonal", "off_diagonal_calibrated", "off_diagonal_custom"]


def _thresholds_arg(thresholds: Any, k: int) -> NDArray[np.float64] | None:
    if thresholds is None:
        return None
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape not in ((k,), (k, 1)):
        raise InvalidInputError(f"thresholds must have shape ({k},) or ({k}, 1), but it has shape {t.shape}")
    if not np.isfinite(t).all():
        raise InvalidInputError("thresholds contains NaN or inf")
    return np.ascontiguousarray(t.ravel())


def _label_counts(labels: NDArray[Any], k: int) -> NDArray[np.int64]:
    return np.bincount(labels.astype(np.int64, copy=False), minlength=k).astype(np.int64)


def get_confident_thresholds(labels: Any, pred_probs: Any, multi_label: bool = False) -> NDArray[np.float64]:
    """Per-class threshold ``t_k``: the mean predicted probability of class k over the examples
    labelled k (2.0 for a class with no examples, so nothing reaches it), clipped below at 2e-6."""
    check_no_multi_label(multi_label)
    labs, probs = check_inputs(labels, pred_probs)
    return _backend.kernels().confident_thresholds(labs, probs, row_sum_tol(probs), None)


def compute_confident_joint(
    labels: Any,
    pred_probs: Any,
    *,
    thresholds: Any = None,
    calibrate: bool = True,
    multi_label: bool = False,
    return_indices_of_off_diagonals: bool = False,
) -> NDArray[np.int64] | tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The (K, K) confident joint: ``cj[i][j]`` counts examples labelled i whose confidently
    predicted class is j (rows = given label, columns = guessed true label).

    A row is counted when at least one class reaches its threshold (``p >= t - 1e-6``); with several
    confident classes the guessed label is the argmax over all classes, as in cleanlab. Diagonal
    entries are at least 1. With ``calibrate`` rows are rescaled to the label counts and rounded
    preserving row totals. ``return_indices_of_off_diagonals`` also returns the sorted indices of
    confidently counted examples whose guessed label differs from the given one.
    """
    check_no_multi_label(multi_label)
    labs, probs = check_inputs(labels, pred_probs)
    t = _thresholds_arg(thresholds, probs.shape[1])
    cj, idx = _backend.kernels().confident_joint(
        labs, probs, t, bool(calibrate), bool(return_indices_of_off_diagonals), row_sum_tol(probs), None
    )
    if not calibrate:
        # cleanlab returns the uncalibrated matrix in Fortran order; later calibrations sum it by columns.
        cj = np.asfortranarray(cj)
    if return_indices_of_off_diagonals:
        return cj, idx
    return cj


def _joint_and_issue_count(
    labs: NDArray[Any], probs: NDArray[Any], *, calibrate: bool
) -> tuple[NDArray[np.int64], int]:
    """The confident joint (C order) and the number of examples ``filter_by="confident_learning"``
    flags, from the same passes over checked inputs (no N-sized mask or index array)."""
    kernels = _backend.kernels()
    tol = row_sum_tol(probs)
    fused = getattr(kernels, "confident_joint_and_issues", None)
    if fused is not None:
        cj, issues = fused(labs, probs, calibrate, tol, None)
        return cj, int(issues)
    cj, _ = kernels.confident_joint(labs, probs, None, calibrate, False, tol, None)
    mask, _ = kernels.label_issues(labs, probs, "confident_learning", 1.0, None, 1, None, tol, None)
    return cj, int(mask.sum())


def calibrate_confident_joint(
    confident_joint: Any, labels: Any, *, multi_label: bool = False
) -> NDArray[np.int64]:
    """Rescale each row of a confident joint to the number of examples with that label, then round
    so that row totals are preserved exactly (the matrix then sums to N)."""
    check_no_multi_label(multi_label)
    cj = check_square(confident_joint, "confident_joint")
    labs = labels_to_array(labels)
    k = cj.shape[0]
    if labs.size and (labs.min() < 0 or labs.max() >= k):
        raise LabelsError(
            f"labels must be class indices in 0..{k - 1} to match confident_joint of shape {cj.shape}"
        )
    # The caller's memory order is kept: numpy (hence cleanlab) sums a Fortran-ordered matrix by columns.
    return _backend.kernels().calibrate_confident_joint(
        np.asarray(cj, dtype=np.int64, order="K"), _label_counts(labs, k)
    )


def estimate_joint(
    labels: Any, pred_probs: Any, *, confident_joint: Any = None, multi_label: bool = False
) -> NDArray[np.float64]:
    """The joint distribution P(given label = i, true label = j) as a (K, K) matrix summing to 1.

    Without ``confident_joint`` it is computed (calibrated); a supplied one is calibrated against
    ``labels`` when labels are given, else used as-is.
    """
    check_no_multi_label(multi_label)
    if confident_joint is None:
        cj = compute_confident_joint(labels, pred_probs, calibrate=True)
    elif labels is not None:
        cj = calibrate_confident_joint(confident_joint, labels)
    else:
        cj = check_square(confident_joint, "confident_joint")
    cj = np.asarray(cj)
    return cj / np.clip(cj.sum(), 1e-100, None)


def check_estimation_method(estimation_method: str, confident_joint: Any) -> None:
    """Check ``num_label_issues``' method (in memory or on Dask); warn, as cleanlab, when a given
    ``confident_joint`` will be ignored."""
    if estimation_method not in _ESTIMATION_METHODS:
        raise InvalidInputError(
            f"{estimation_method} is not a valid estimation method! Please choose a valid estimation method: "
            f"{_ESTIMATION_METHODS}"
        )
    if confident_joint is not None and estimation_method != "off_diagonal_custom":
        warnings.warn(
            "The supplied `confident_joint` is ignored as `confident_joint` is recomputed internally using the "
            f"supplied `labels` and `pred_probs`. If you still want to use custom `confident_joint` call function "
            f"with `estimation_method='off_diagonal_custom'`. (estimation_method={estimation_method!r})",
            UserWarning,
            stacklevel=3,
        )


def num_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    confident_joint: Any = None,
    estimation_method: str = "off_diagonal",
    multi_label: bool = False,
) -> np.int64:
    """Estimated number of label issues.

    ``off_diagonal`` (default) counts the examples ``filter_by="confident_learning"`` flags;
    ``off_diagonal_calibrated`` is ``round(N * (1 - trace(joint)))`` from the calibrated joint;
    ``off_diagonal_custom`` does the same from a supplied ``confident_joint``.
    """
    check_no_multi_label(multi_label)
    check_estimation_method(estimation_method, confident_joint)
    labs, probs = check_inputs(labels, pred_probs, allow_one_class=False)
    n = labs.shape[0]
    if estimation_method == "off_diagonal":
        return np.int64(_joint_and_issue_count(labs, probs, calibrate=False)[1])
    if estimation_method == "off_diagonal_calibrated":
        cj = compute_confident_joint(labs, probs, calibrate=True)
    else:
        if confident_joint is None:
            raise InvalidInputError(
                "No `confident_joint` provided. For 'estimation_method' = off_diagonal_custom you need to provide "
                "pre-calculated `confident_joint` matrix. Use a different `estimation_method` if you want the "
                "`confident_joint` matrix to be calculated for you."
            )
        cj = check_square(confident_joint, "confident_joint", probs.shape[1])
    joint = estimate_joint(labs, probs, confident_joint=cj)
    return np.int64(np.rint((1.0 - np.trace(joint)) * n))


def estimate_latent(
    confident_joint: Any,
    labels: Any,
    *,
    py_method: str = "cnt",
    converge_latent_estimates: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(py, noise_matrix, inverse_noise_matrix) from a confident joint: the latent prior of true
    labels, P(given | true) and P(true | given), both column-stochastic."""
    cj = check_square(confident_joint, "confident_joint")
    labs = labels_to_array(labels)
    k = cj.shape[0]
    if labs.size == 0:
        raise LabelsError("labels is empty; expected at least one example")
    if labs.min() < 0 or labs.max() >= k:
        raise LabelsError(
            f"labels must be class indices in 0..{k - 1} to match confident_joint of shape {cj.shape}"
        )
    return _backend.kernels().estimate_latent(
        np.ascontiguousarray(cj, dtype=np.int64),
        _label_counts(labs, k),
        py_method,
        bool(converge_latent_estimates),
    )


def estimate_py_and_noise_matrices_from_probabilities(
    labels: Any,
    pred_probs: Any,
    *,
    thresholds: Any = None,
    converge_latent_estimates: bool = True,
    py_method: str = "cnt",
    calibrate: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """(py, noise_matrix, inverse_noise_matrix, confident_joint) from labels and out-of-sample
    pred_probs. Note the default ``converge_latent_estimates=True`` (as in cleanlab)."""
    labs, probs = check_inputs(labels, pred_probs)
    cj = compute_confident_joint(labs, probs, thresholds=thresholds, calibrate=calibrate)
    assert isinstance(cj, np.ndarray)
    py, nm, inv = estimate_latent(
        cj, labs, py_method=py_method, converge_latent_estimates=converge_latent_estimates
    )
    return py, nm, inv, cj
