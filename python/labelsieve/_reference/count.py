"""Confident thresholds, the confident joint, its calibration and the latent estimates built on it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve._reference.latent import clip_noise_rates, clip_values, compute_py, converge_estimates
from labelsieve._reference.validate import checked_pred_probs

# P[i, k] counts as confident for class k when P[i, k] >= t_k - this (cleanlab's FLOATING_POINT_COMPARISON).
CONFIDENCE_TOLERANCE = 1e-6
# Threshold of a class absent from labels: above any probability, so the class is never confident.
ABSENT_CLASS_THRESHOLD = 2.0
# Thresholds are clipped below at this value (cleanlab's CONFIDENT_THRESHOLDS_LOWER_BOUND).
THRESHOLD_LOWER_BOUND = 2e-6
TINY_VALUE = 1e-100

# Exact sums: each value in [0, 1 + 1e-6] becomes the integer trunc(v * 2**87) < 2**88, split into
# three limbs of at most 30 bits so per-class int64 sums cannot overflow below 2**33 rows.
_FIXED_POINT_BITS = 87
_LIMB_BITS = 29


def exact_sums_per_class(values: NDArray[np.float64], labels: NDArray[Any], k: int) -> list[int]:
    """For each class c, the exact sum over rows labelled c of trunc(value * 2**87), as a Python int."""
    q = np.trunc(values * 2.0**_FIXED_POINT_BITS)  # exact: scaling by a power of two
    hi = np.floor(q * 2.0 ** (-2 * _LIMB_BITS))
    rest = q - hi * 2.0 ** (2 * _LIMB_BITS)  # exact: the low bits of q
    mid = np.floor(rest * 2.0**-_LIMB_BITS)
    lo = rest - mid * 2.0**_LIMB_BITS
    sums = []
    for limb in (hi, mid, lo):
        acc = np.zeros(k, dtype=np.int64)
        np.add.at(acc, labels, limb.astype(np.int64))
        sums.append(acc)
    return [
        (int(sums[0][c]) << (2 * _LIMB_BITS)) + (int(sums[1][c]) << _LIMB_BITS) + int(sums[2][c])
        for c in range(k)
    ]


def count_labels(labels: NDArray[Any], k: int) -> NDArray[np.int64]:
    """``np.bincount(labels, minlength=k)`` as int64."""
    return np.bincount(labels, minlength=k).astype(np.int64)


def self_confidence_sums(labels: NDArray[Any], probs: NDArray[np.float64]) -> list[int]:
    """Per-class exact fixed-point sums of the given-label probability (the thresholds' numerators)."""
    self_confidence = probs[np.arange(probs.shape[0]), labels]
    return exact_sums_per_class(self_confidence, labels, probs.shape[1])


def thresholds_from_sums(totals: list[int], counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Thresholds from per-class fixed-point sums and label counts: mean, 2.0 if absent, >= 2e-6."""
    thresholds = np.full(len(totals), ABSENT_CLASS_THRESHOLD)
    for c, total in enumerate(totals):
        if counts[c] > 0:
            # int -> float rounds to nearest even; the power-of-two scaling is exact.
            thresholds[c] = float(total) * 2.0**-_FIXED_POINT_BITS / float(counts[c])
    return np.maximum(thresholds, THRESHOLD_LOWER_BOUND)


def thresholds_of(labels: NDArray[Any], probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Confident thresholds of already validated float64 probabilities."""
    return thresholds_from_sums(self_confidence_sums(labels, probs), count_labels(labels, probs.shape[1]))


def confident_thresholds(
    labels: NDArray[Any], pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None
) -> NDArray[np.float64]:
    """Per-class confident thresholds, shape (K,): exact mean self-confidence, 2.0 if absent, >= 2e-6."""
    return thresholds_of(np.asarray(labels), checked_pred_probs(pred_probs, row_sum_tol))


def joint_counts(
    labels: NDArray[Any], probs: NDArray[np.float64], thresholds: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Raw (K, K) counts of (given label, guessed true label) of validated rows, before the diagonal
    floor and calibration, and the rows counted off the diagonal."""
    k = probs.shape[1]
    confident = probs >= thresholds - CONFIDENCE_TOLERANCE
    num_confident = confident.sum(axis=1)
    # One confident class: that class. Several: the argmax over *all* classes (cleanlab's behaviour,
    # which may pick a class below its own threshold).
    guess = np.where(num_confident == 1, np.argmax(confident, axis=1), np.argmax(probs, axis=1))
    counted = num_confident >= 1
    cells = labels[counted].astype(np.int64) * k + guess[counted]
    counts = np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.int64)
    return counts, counted & (guess != labels)


def finish_confident_joint(
    counts: NDArray[np.int64], label_counts: NDArray[np.int64], calibrate: bool
) -> NDArray[np.int64]:
    """The confident joint from raw ``joint_counts``: diagonal at least 1, optionally calibrated."""
    cj = counts.copy()
    np.fill_diagonal(cj, np.maximum(np.diagonal(cj), 1))
    if calibrate:
        # cleanlab calibrates a Fortran-ordered matrix here (a transposed confusion matrix).
        cj = calibrate_confident_joint(np.asfortranarray(cj), label_counts)
    return cj


def confident_joint(
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    thresholds: NDArray[np.float64] | None,
    calibrate: bool,
    return_indices: bool,
    row_sum_tol: float,
    n_jobs: int | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64] | None]:
    """cleanlab's confident joint (rows = given label, columns = guessed true label) and, when
    ``return_indices``, the sorted indices of the off-diagonal rows of the uncalibrated assignment."""
    labels = np.asarray(labels)
    probs = checked_pred_probs(pred_probs, row_sum_tol)
    t = thresholds_of(labels, probs) if thresholds is None else np.asarray(thresholds, np.float64).ravel()
    counts, off_diagonal = joint_counts(labels, probs, t)
    cj = finish_confident_joint(counts, count_labels(labels, probs.shape[1]), calibrate)
    indices = np.flatnonzero(off_diagonal).astype(np.int64) if return_indices else None
    return cj, indices


def round_preserving_sum(values: NDArray[np.float64]) -> NDArray[np.int64]:
    """Round to integers whose sum is round(sum(values)), moving the fewest entries by one."""
    ints = np.round(values).astype(np.int64)  # round half to even, like np.round
    target = int(np.round(values.sum()))
    while (diff := target - int(ints.sum())) != 0:
        step = min(abs(diff), len(values))
        # cleanlab orders residuals with numpy's default (unstable) argsort; ties therefore follow
        # numpy's sorting network, which we reproduce by calling the same sort.
        order = np.argsort(values - ints)
        if diff > 0:
            ints[order[-step:]] += 1  # largest residuals go up
        else:
            ints[order[:step]] -= 1  # most negative residuals go down
    return ints


def round_preserving_row_totals(matrix: NDArray[np.float64]) -> NDArray[np.int64]:
    """Row-wise ``round_preserving_sum``: every row total is preserved, column totals are not."""
    return np.array([round_preserving_sum(row) for row in matrix], dtype=np.int64).reshape(matrix.shape)


def calibrate_confident_joint(
    confident_joint: NDArray[np.int64], label_counts: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Rescale rows to the label counts and round preserving row totals (cleanlab 2.3)."""
    cj = np.asarray(confident_joint)
    counts = np.asarray(label_counts)
    row_sums = cj.sum(axis=1)
    # Divide by the row sum first, then multiply by the label count (this order decides roundings).
    scaled = cj / np.maximum(row_sums, TINY_VALUE)[:, None] * counts[:, None]
    # Global rescale to the total count. cleanlab's total is numpy's pairwise sum in the *memory order*
    # of the cj it is given: row-major for a C-ordered cj, column-major for a Fortran-ordered one
    # (compute_confident_joint builds a Fortran-ordered cj). The last bit of the total decides ties.
    column_major = cj.flags.f_contiguous and not cj.flags.c_contiguous
    total = np.ascontiguousarray(scaled.T if column_major else scaled).sum()
    scaled = scaled / total * counts.sum()
    return round_preserving_row_totals(scaled)


def estimate_latent(
    confident_joint: NDArray[np.int64], label_counts: NDArray[np.int64], py_method: str, converge: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(py, noise_matrix, inverse_noise_matrix) from a confident joint (cleanlab 2.6, 2.7)."""
    cj = np.asarray(confident_joint)
    counts = np.asarray(label_counts)
    ps = counts / float(counts.sum())
    given_totals = cj.sum(axis=1)
    true_totals = cj.sum(axis=0)
    noise_matrix = cj / np.maximum(true_totals, TINY_VALUE)  # P(s=i | y=j), columns sum to 1
    inverse = cj.T / np.maximum(given_totals, TINY_VALUE)  # P(y=j | s=i) stored as [j, i]
    py = compute_py(ps, noise_matrix, inverse, py_method, true_totals.astype(np.float64))
    noise_matrix = clip_noise_rates(noise_matrix)
    inverse = clip_noise_rates(inverse)
    if converge:
        py, noise_matrix, inverse = converge_estimates(ps, py, noise_matrix, inverse)
        py = clip_values(py, 1e-5, 1.0, 1.0)
        noise_matrix = clip_noise_rates(noise_matrix)
        inverse = clip_noise_rates(inverse)
    return py, noise_matrix, inverse


def argmax_confusion(
    labels: NDArray[Any], pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None
) -> NDArray[np.int64]:
    """(K, K) counts of (given label, argmax of pred_probs)."""
    probs = checked_pred_probs(pred_probs, row_sum_tol)
    k = probs.shape[1]
    cells = np.asarray(labels).astype(np.int64) * k + np.argmax(probs, axis=1)
    return np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.int64)
