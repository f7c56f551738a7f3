"""Boolean label-issue masks of ``filter.find_label_issues`` (single label) and their helpers."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve._reference.count import confident_joint as compute_confident_joint
from labelsieve._reference.count import round_preserving_row_totals
from labelsieve._reference.rank import scores_from_probs
from labelsieve._reference.validate import checked_pred_probs
from labelsieve.exceptions import InvalidInputError

FILTER_METHODS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
# The given label wins an argmax tie within this (cleanlab's _reduce_issues).
GIVEN_LABEL_BOOST = 1e-6


def given_label_is_top(labels: NDArray[Any], probs: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Rows whose argmax, after adding 1e-6 to the given label's probability, is the given label
    (cleanlab's _reduce_issues veto: such rows are never flagged by the pruning methods)."""
    rows = np.arange(len(labels))
    boosted = probs.copy()
    boosted[rows, labels] += GIVEN_LABEL_BOOST
    return np.argmax(boosted, axis=1) == labels


def predicted_neq_given(
    labels: NDArray[Any], pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None
) -> NDArray[np.bool_]:
    """``argmax(pred_probs, axis=1) != labels``."""
    probs = checked_pred_probs(pred_probs, row_sum_tol)
    return np.argmax(probs, axis=1) != np.asarray(labels)


def _reduce_prune_counts(matrix: NDArray[np.float64], frac_noise: float) -> NDArray[np.int64]:
    """Keep ``frac_noise`` of every off-diagonal count, add the rest to the diagonal, truncate to int."""
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0.0)
    kept = off_diagonal * frac_noise
    # cleanlab sums each column as a contiguous vector (its matrix is the Fortran-ordered cj.T), i.e.
    # pairwise; the truncation below can depend on that last bit.
    removed = np.array([np.sum(np.ascontiguousarray(column)) for column in (off_diagonal - kept).T])
    np.fill_diagonal(kept, np.diagonal(matrix) + removed)
    return kept.astype(np.int64)  # truncation toward zero, as cleanlab


def keep_at_least_n_per_class(matrix: NDArray[np.int64], n: int, frac_noise: float) -> NDArray[np.int64]:
    """Raise each diagonal entry of a prune-count matrix (column = given label) to at least ``n``,
    taking the increase evenly from the column's other non-zero entries, then apply ``frac_noise``."""
    diagonal = np.diagonal(matrix)
    new_diagonal = np.maximum(diagonal, n)
    increase = new_diagonal - diagonal
    # cleanlab assumes a non-zero diagonal: the other non-zero entries of the column share the increase.
    sharers = np.maximum(np.count_nonzero(matrix, axis=0) - 1, 1)
    reduced = np.maximum(matrix - increase / sharers, 0.0)
    np.fill_diagonal(reduced, new_diagonal)
    # cleanlab then rounds preserving row totals, a no-op on the integers returned here.
    return _reduce_prune_counts(reduced, frac_noise)


def counts_for_num_to_remove(
    matrix: NDArray[np.int64], label_counts: NDArray[np.int64], num_to_remove: NDArray[np.int64]
) -> NDArray[np.int64]:
    """cleanlab's prune-count matrix for ``num_to_remove_per_class`` (quirks included): diagonal
    ``n_k - r_k``; entry [i, j] is ``matrix[i, j] / rowsum(matrix)[j]`` (numpy broadcasting divides by
    the row sum of row j), times ``r_i / noise_i`` with ``noise_i`` that row's off-diagonal share."""
    m = matrix.astype(np.float64)
    r = num_to_remove.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = m / m.sum(axis=1)
        noise = shares.sum(axis=1) - np.diagonal(shares)
        np.fill_diagonal(shares, 0.0)
        scaled = shares * r[:, None] / noise[:, None]
    np.fill_diagonal(scaled, label_counts - num_to_remove)
    # A row without noise becomes 0/0 = NaN in cleanlab, whose rounding then leaves the row alone and
    # casts NaN to a negative integer: such entries never remove anything, which 0 expresses too.
    finite_rows = np.isfinite(scaled).all(axis=1)
    result = np.zeros(scaled.shape, dtype=np.int64)
    result[finite_rows] = round_preserving_row_totals(scaled[finite_rows])
    np.fill_diagonal(result, label_counts - num_to_remove)
    return result


def _smallest(keys: NDArray[np.float64], num: int) -> NDArray[np.intp]:
    """Positions of the ``num`` smallest keys; equal keys go to the lower position (cleanlab's own
    argsort is numpy's unstable default, so its tie order is unspecified)."""
    return np.argsort(keys, kind="stable")[:num]


def _prune_by_class(
    class_probs: NDArray[np.float64], k: int, prune_counts: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Among the rows labelled k, flag the n_k - PCM[k, k] with the smallest P[:, k]."""
    mask = np.zeros(len(class_probs), dtype=bool)
    num = len(class_probs) - int(prune_counts[k, k])
    if num >= 1:
        mask[_smallest(class_probs[:, k], num)] = True
    return mask


def _prune_by_noise_rate(
    class_probs: NDArray[np.float64], k: int, prune_counts: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Among the rows labelled k, for every other class j flag the PCM[j, k] rows with the largest
    margin P[:, j] - P[:, k] (flags from different j are OR-ed)."""
    mask = np.zeros(len(class_probs), dtype=bool)
    for j in range(class_probs.shape[1]):
        num = int(prune_counts[j, k])
        if j != k and num > 0:
            margin = class_probs[:, j] - class_probs[:, k]
            mask[_smallest(-margin, num)] = True
    return mask


def label_issues(
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    filter_by: str,
    frac_noise: float,
    num_to_remove_per_class: NDArray[np.int64] | None,
    min_examples_per_class: int,
    confident_joint: NDArray[np.int64] | None,
    row_sum_tol: float,
    n_jobs: int | None,
) -> tuple[NDArray[np.bool_], list[int]]:
    """Boolean issue mask of ``filter.find_label_issues`` (single label) and the classes that had
    too few examples to prune (the caller warns about them)."""
    if filter_by not in FILTER_METHODS:
        raise InvalidInputError(
            f"filter_by must be one of {', '.join(FILTER_METHODS)}, but it is {filter_by!r}"
        )
    labels = np.asarray(labels)
    probs = checked_pred_probs(pred_probs, row_sum_tol)
    n, k = probs.shape
    label_counts = np.bincount(labels, minlength=k).astype(np.int64)
    mask = np.zeros(n, dtype=bool)
    too_few: list[int] = []

    if filter_by == "predicted_neq_given":
        mask = np.argmax(probs, axis=1) != labels
    elif filter_by in ("confident_learning", "low_self_confidence", "low_normalized_margin"):
        # A supplied confident joint is ignored here, as in cleanlab.
        _, off_diagonal = compute_confident_joint(labels, probs, None, False, True, row_sum_tol, n_jobs)
        assert off_diagonal is not None
        mask[off_diagonal] = True
        if filter_by != "confident_learning":
            # Flag as many rows as confident learning does: the lowest scores, without the veto.
            num_issues = int(np.count_nonzero(mask & ~given_label_is_top(labels, probs)))
            method = "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"
            mask = np.zeros(n, dtype=bool)
            mask[_smallest(scores_from_probs(labels, probs, method), num_issues)] = True
            return mask, too_few
    else:
        if confident_joint is None:
            cj, _ = compute_confident_joint(labels, probs, None, True, False, row_sum_tol, n_jobs)
        else:
            cj = np.asarray(confident_joint)
        # Prune-count matrix: PCM[j, k] = count(given k, true j), so column k is given label k.
        prune_counts = keep_at_least_n_per_class(cj.T, min_examples_per_class, frac_noise)
        if num_to_remove_per_class is not None:
            prune_counts = counts_for_num_to_remove(
                prune_counts, label_counts, np.asarray(num_to_remove_per_class, dtype=np.int64)
            )
        methods = {
            "prune_by_class": (_prune_by_class,),
            "prune_by_noise_rate": (_prune_by_noise_rate,),
            "both": (_prune_by_class, _prune_by_noise_rate),
        }[filter_by]
        for c in range(k):
            if label_counts[c] <= min_examples_per_class:
                too_few.append(c)
                continue
            rows = np.flatnonzero(labels == c)
            if len(rows) <= 1:
                continue  # cleanlab never flags a singleton class
            class_probs = probs[rows]
            flags = np.ones(len(rows), dtype=bool)
            for method_fn in methods:
                flags &= method_fn(class_probs, c, prune_counts)
            mask[rows] = flags

    mask &= ~given_label_is_top(labels, probs)
    return mask, too_few
