"""Boolean label-issue masks of ``filter.find_label_issues`` (single label) and their helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve._reference.count import confident_joint as compute_confident_joint
from labelsieve._reference.count import count_labels, joint_counts, round_preserving_row_totals, thresholds_of
from labelsieve._reference.rank import scores_from_probs
from labelsieve._reference.select import Smallest, smallest_positions
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
# The methods that select rows by a prune-count matrix (pass 3 of the batched pipeline).
PRUNE_METHODS = ("prune_by_noise_rate", "prune_by_class", "both")
# The given label wins an argmax tie within this (cleanlab's _reduce_issues).
GIVEN_LABEL_BOOST = 1e-6


def given_label_is_top(labels: NDArray[Any], probs: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Rows whose argmax, after adding 1e-6 to the given label's probability, is the given label
    (cleanlab's _reduce_issues veto: such rows are never flagged by the pruning methods)."""
    rows = np.arange(len(labels))
    boosted = probs.copy()
    boosted[rows, labels] += GIVEN_LABEL_BOOST
    return np.argmax(boosted, axis=1) == labels


def confident_learning_pass(
    labels: NDArray[Any], probs: NDArray[np.float64], thresholds: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Raw confident-joint counts of validated rows and the ``confident_learning`` flags: rows counted
    off the diagonal that the argmax veto keeps."""
    counts, off_diagonal = joint_counts(labels, probs, thresholds)
    return counts, off_diagonal & ~given_label_is_top(labels, probs)


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


@dataclass
class PrunePlan:
    """How many rows each pass-3 selection flags, planned from a (calibrated) confident joint."""

    filter_by: str
    # class_num[c]: rows labelled c with the smallest P[:, c] to flag (prune_by_class; 0 = none).
    class_num: NDArray[np.int64]
    # cell_num[c, j]: rows labelled c with the largest P[:, j] - P[:, c] to flag (prune_by_noise_rate).
    cell_num: NDArray[np.int64]
    too_few: list[int] = field(default_factory=list)


def plan_pruning(
    confident_joint: NDArray[np.int64],
    label_counts: NDArray[np.int64],
    filter_by: str,
    frac_noise: float,
    num_to_remove_per_class: NDArray[np.int64] | None,
    min_examples_per_class: int,
) -> PrunePlan:
    """The selections of ``prune_by_noise_rate`` / ``prune_by_class`` / ``both`` (cleanlab's rules)."""
    counts = np.asarray(label_counts, dtype=np.int64)
    k = len(counts)
    # Prune-count matrix: PCM[j, k] = count(given k, true j), so column k is given label k.
    prune_counts = keep_at_least_n_per_class(
        np.asarray(confident_joint).T, min_examples_per_class, frac_noise
    )
    if num_to_remove_per_class is not None:
        prune_counts = counts_for_num_to_remove(
            prune_counts, counts, np.asarray(num_to_remove_per_class, dtype=np.int64)
        )
    plan = PrunePlan(filter_by, np.zeros(k, dtype=np.int64), np.zeros((k, k), dtype=np.int64))
    for c in range(k):
        if counts[c] <= min_examples_per_class:
            # Once per pruning rule ("both" runs two), as cleanlab warns once per rule.
            plan.too_few.extend([c] * (2 if filter_by == "both" else 1))
            continue
        if counts[c] <= 1:
            continue  # cleanlab never flags a singleton class
        if filter_by in ("prune_by_class", "both"):
            plan.class_num[c] = max(int(counts[c] - prune_counts[c, c]), 0)
        if filter_by in ("prune_by_noise_rate", "both"):
            plan.cell_num[c] = np.maximum(prune_counts[:, c], 0)
            plan.cell_num[c, c] = 0
    return plan


class PruneSelection:
    """The selections of a ``PrunePlan`` over the rows offered so far, in any batches; each candidate
    carries its argmax veto, applied only after selection (vetoed rows still take their place)."""

    def __init__(self, plan: PrunePlan) -> None:
        self.plan = plan
        self.by_class = {c: Smallest(int(n)) for c, n in enumerate(plan.class_num) if n > 0}
        self.by_cell = {
            (int(c), int(j)): Smallest(int(plan.cell_num[c, j])) for c, j in zip(*np.nonzero(plan.cell_num))
        }

    def offer(self, labels: NDArray[Any], probs: NDArray[np.float64], offset: int) -> None:
        """Offer validated rows whose first row has global index ``offset``."""
        vetoed = given_label_is_top(labels, probs)
        for c in sorted({*self.by_class, *(c for c, _ in self.by_cell)}):
            rows = np.flatnonzero(labels == c)
            class_probs = probs[rows]
            if c in self.by_class:
                self.by_class[c].offer(class_probs[:, c], rows + offset, vetoed[rows])
            for j in range(probs.shape[1]):
                if (c, j) in self.by_cell:
                    # Largest margin first: the smallest negated margin.
                    margin = class_probs[:, j] - class_probs[:, c]
                    self.by_cell[c, j].offer(-margin, rows + offset, vetoed[rows])

    def merge(self, other: PruneSelection) -> None:
        for c, selection in self.by_class.items():
            selection.merge(other.by_class[c])
        for cell, selection in self.by_cell.items():
            selection.merge(other.by_cell[cell])

    def flagged(self) -> NDArray[np.int64]:
        """Ascending global indices flagged by the plan's ``filter_by``, after the veto."""
        by_class = _union(self.by_class.values())
        by_noise_rate = _union(self.by_cell.values())
        if self.plan.filter_by == "prune_by_class":
            return by_class
        if self.plan.filter_by == "prune_by_noise_rate":
            return by_noise_rate
        return np.intersect1d(by_class, by_noise_rate).astype(np.int64)


def _union(selections: Any) -> NDArray[np.int64]:
    picked = [selection.untagged() for selection in selections]
    return np.unique(np.concatenate([np.empty(0, dtype=np.int64), *picked])).astype(np.int64)


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
    mask = np.zeros(n, dtype=bool)

    if filter_by == "predicted_neq_given":
        return (np.argmax(probs, axis=1) != labels) & ~given_label_is_top(labels, probs), []
    if filter_by in ("confident_learning", "low_self_confidence", "low_normalized_margin"):
        # A supplied confident joint is ignored here, as in cleanlab.
        _, flags = confident_learning_pass(labels, probs, thresholds_of(labels, probs))
        if filter_by == "confident_learning":
            return flags, []
        # Flag as many rows as confident learning does: the lowest scores, without the veto.
        method = "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"
        scores = scores_from_probs(labels, probs, method)
        mask[smallest_positions(scores, int(np.count_nonzero(flags)))] = True
        return mask, []
    if confident_joint is None:
        cj, _ = compute_confident_joint(labels, probs, None, True, False, row_sum_tol, n_jobs)
    else:
        cj = np.asarray(confident_joint)
    plan = plan_pruning(
        cj, count_labels(labels, k), filter_by, frac_noise, num_to_remove_per_class, min_examples_per_class
    )
    selection = PruneSelection(plan)
    selection.offer(labels, probs, 0)
    mask[selection.flagged()] = True
    return mask, plan.too_few
