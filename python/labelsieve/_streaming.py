"""Confident Learning as passes over row batches: the exact out-of-core and distributed form of
``count`` / ``filter`` / ``rank``, shared by ``experimental.label_issues_batched`` (arrays,
memory-mapped ``.npy`` files, zarr) and ``labelsieve.dask`` (Dask chunks on any scheduler).

Every quantity is a mergeable reduction computed by the kernels' accumulators
(``ThresholdAccumulator``, ``JointAccumulator``, ``ScoreSelector``, ``PruneSelector``); this module
only decides which passes run, in which order, and turns their results into the public answers.
A ``BatchSource`` says how batches are read and where the work runs. Answers equal the in-memory
functions' for any batch split, merge order or scheduler.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend
from labelsieve._validation import label_bounds, labels_to_array
from labelsieve.exceptions import InvalidDtypeError, InvalidInputError, LabelsError, PredProbsError

A = TypeVar("A")
R = TypeVar("R")

#: (labels batch, pred_probs batch, global index of the batch's first row)
Step = Callable[[A, Any, Any, int], None]


class BatchSource(Protocol):
    """Rows of (labels, pred_probs) in batches, and a place to run work on them."""

    @property
    def num_rows(self) -> int: ...

    @property
    def num_class(self) -> int: ...

    @property
    def row_sum_tol(self) -> float: ...

    def fold(self, start: Callable[[], A], step: Step[A], merge: Callable[[A, A], None]) -> A:
        """Run ``step`` over every batch on accumulators made by ``start``; merge them all into one
        (``merge(a, b)`` adds ``b`` into ``a``)."""
        ...

    def map(self, fn: Callable[[Any, Any, int], R]) -> list[R]:
        """``fn(labels, pred_probs, offset)`` for every batch, results in row order."""
        ...


def check_batch(
    labels: Any, pred_probs: Any, num_class: int, offset: int
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Types, shapes and label range of one batch; errors name global row indices."""
    probs = np.asarray(pred_probs)
    if probs.dtype not in (np.float16, np.float32, np.float64):
        raise InvalidDtypeError(
            f"pred_probs must be a float16, float32 or float64 array of probabilities, but it has dtype {probs.dtype}"
        )
    if probs.ndim != 2 or probs.shape[1] != num_class:
        raise PredProbsError(
            f"pred_probs must have shape (num_examples, {num_class}), but rows {offset}.. have shape {probs.shape}"
        )
    labs = labels_to_array(labels)
    if labs.shape[0] != probs.shape[0]:
        raise InvalidInputError(
            f"labels and pred_probs must have the same length, but at row {offset} a batch has "
            f"{labs.shape[0]} labels and {probs.shape[0]} pred_probs rows"
        )
    if labs.size:
        lo, hi = label_bounds(labs, num_class)
        if lo < 0:
            raise LabelsError(
                f"labels must be non-negative class indices, but labels[{offset + int(np.argmin(labs))}] = {lo}"
            )
        if hi >= num_class:
            raise LabelsError(
                f"pred_probs must have at least {hi + 1} columns, based on the largest class index which appears "
                f"in labels (labels[{offset + int(np.argmax(labs))}] = {hi}), but it has {num_class}"
            )
    return labs, probs


def _merge(a: Any, b: Any) -> None:
    a.merge(b)


def _located(
    fn: Callable[[], R], kern: Any, labs: NDArray[Any], probs: NDArray[Any], offset: int, tol: float
) -> R:
    """Run a per-batch kernel of kernel set ``kern`` (the caller's, also on a remote worker); if it
    rejects a row, raise the error naming the global row index."""
    try:
        return fn()
    except PredProbsError:
        kern.ThresholdAccumulator(probs.shape[1]).update(labs, probs, offset, tol, 1)
        raise


def thresholds_pass(source: BatchSource, n_jobs: int | None) -> Any:
    """Pass 1: validate every row; exact per-class threshold sums and label counts."""
    kern = _backend.kernels()
    k, tol = source.num_class, source.row_sum_tol
    if source.num_rows == 0:
        raise PredProbsError("pred_probs is empty (0 rows); expected at least one example")

    def step(acc: Any, labels: Any, pred_probs: Any, offset: int) -> None:
        labs, probs = check_batch(labels, pred_probs, k, offset)
        acc.update(labs, probs, offset, tol, n_jobs)

    return source.fold(lambda: kern.ThresholdAccumulator(k), step, _merge)


def joint_pass(source: BatchSource, thresholds: NDArray[np.float64], n_jobs: int | None) -> Any:
    """Pass 2: confident-joint counts, label counts and the ``off_diagonal`` issue count."""
    kern = _backend.kernels()
    k = source.num_class

    def step(acc: Any, labels: Any, pred_probs: Any, offset: int) -> None:
        labs, probs = check_batch(labels, pred_probs, k, offset)
        acc.update(labs, probs, False, n_jobs)

    return source.fold(lambda: kern.JointAccumulator(thresholds), step, _merge)


def check_two_classes(label_counts: NDArray[np.int64]) -> None:
    """As ``find_label_issues``: one class is allowed only when every label is 0."""
    present = np.flatnonzero(label_counts)
    if present.size < 2 and present.size and present[-1] != 0:
        raise LabelsError("Labels must contain at least 2 classes.")


def confident_joint(
    source: BatchSource, *, thresholds: NDArray[np.float64] | None, calibrate: bool, n_jobs: int | None
) -> NDArray[np.int64]:
    """``count.compute_confident_joint`` (thresholds given or computed in pass 1)."""
    t_acc = thresholds_pass(source, n_jobs)
    t = t_acc.thresholds() if thresholds is None else thresholds
    cj = joint_pass(source, t, n_jobs).confident_joint(calibrate)
    # cleanlab returns the uncalibrated matrix in Fortran order; later calibrations sum it by columns.
    return cj if calibrate else np.asfortranarray(cj)


def num_label_issues_from(j_acc: Any, estimation_method: str) -> int:
    """``count.num_label_issues`` from a finished joint pass."""
    if estimation_method == "off_diagonal":
        return int(j_acc.num_issues)
    cj = j_acc.confident_joint(True)
    joint = cj / np.clip(cj.sum(), 1e-100, None)
    return int(np.rint((1.0 - np.trace(joint)) * int(j_acc.label_counts().sum())))


def quality_scores(
    source: BatchSource, *, method: str, adjust_pred_probs: bool, n_jobs: int | None
) -> NDArray[np.float64]:
    """``rank.get_label_quality_scores`` batch by batch (thresholds from pass 1 when adjusting)."""
    kern = _backend.kernels()
    k, tol = source.num_class, source.row_sum_tol
    t = thresholds_pass(source, n_jobs).thresholds() if adjust_pred_probs else None

    def scores(labels: Any, pred_probs: Any, offset: int) -> NDArray[np.float64]:
        labs, probs = check_batch(labels, pred_probs, k, offset)
        return _located(
            lambda: kern.label_quality_scores(labs, probs, method, t, tol, n_jobs),
            kern,
            labs,
            probs,
            offset,
            tol,
        )

    parts = source.map(scores)
    return np.concatenate(parts) if parts else np.zeros(0)


def label_issue_indices(
    source: BatchSource,
    *,
    filter_by: str,
    frac_noise: float,
    num_to_remove_per_class: NDArray[np.int64] | None,
    min_examples_per_class: int,
    confident_joint: NDArray[np.int64] | None,
    n_jobs: int | None,
) -> tuple[NDArray[np.int64], Any]:
    """``filter.find_label_issues`` as sorted flagged indices, plus the threshold accumulator of
    pass 1 (its thresholds serve ranking). Arguments are already checked by the caller."""
    kern = _backend.kernels()
    k, tol = source.num_class, source.row_sum_tol
    t_acc = thresholds_pass(source, n_jobs)
    counts = t_acc.label_counts()
    check_two_classes(counts)
    thresholds = t_acc.thresholds()

    if filter_by in ("predicted_neq_given", "confident_learning"):

        def flagged(labels: Any, pred_probs: Any, offset: int) -> NDArray[np.int64]:
            labs, probs = check_batch(labels, pred_probs, k, offset)
            if filter_by == "confident_learning":
                mask = kern.JointAccumulator(thresholds).update(labs, probs, True, n_jobs)
            else:
                mask, _ = kern.label_issues(labs, probs, filter_by, 1.0, None, 1, None, tol, n_jobs)
            return np.flatnonzero(mask).astype(np.int64) + offset

        parts = source.map(flagged)
        return (np.concatenate(parts) if parts else np.zeros(0, np.int64)), t_acc

    if filter_by in ("low_self_confidence", "low_normalized_margin"):
        num = int(joint_pass(source, thresholds, n_jobs).num_issues)
        method = "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"

        def offer(acc: Any, labels: Any, pred_probs: Any, offset: int) -> None:
            labs, probs = check_batch(labels, pred_probs, k, offset)
            acc.update(labs, probs, offset, n_jobs)

        sel = source.fold(lambda: kern.ScoreSelector(method, None, k, num), offer, _merge)
        return np.sort(sel.indices()), t_acc

    cj = confident_joint
    if cj is None:
        cj = joint_pass(source, thresholds, n_jobs).confident_joint(True)

    def prune(acc: Any, labels: Any, pred_probs: Any, offset: int) -> None:
        labs, probs = check_batch(labels, pred_probs, k, offset)
        acc.update(labs, probs, offset, n_jobs)

    def start() -> Any:
        return kern.PruneSelector(
            cj, counts, filter_by, float(frac_noise), num_to_remove_per_class, int(min_examples_per_class)
        )

    sel = source.fold(start, prune, _merge)
    for c in sel.too_few:
        warnings.warn(
            f"May not flag all label issues in class: {c}, it has too few examples (see argument: "
            "`min_examples_per_class`)",
            UserWarning,
            stacklevel=3,
        )
    return sel.indices(), t_acc


def rank_indices(
    source: BatchSource,
    indices: NDArray[np.int64],
    *,
    rank_by: str,
    thresholds: NDArray[np.float64] | None,
    n_jobs: int | None,
) -> NDArray[np.int64]:
    """``rank.order_label_issues`` for sorted flagged ``indices``: scores of those rows only, then
    ascending score, ties by index."""
    kern = _backend.kernels()
    k, tol = source.num_class, source.row_sum_tol
    idx = np.asarray(indices, dtype=np.int64)

    def scores(labels: Any, pred_probs: Any, offset: int) -> NDArray[np.float64]:
        labs, probs = check_batch(labels, pred_probs, k, offset)
        lo, hi = np.searchsorted(idx, [offset, offset + labs.shape[0]])
        rows = idx[lo:hi] - offset
        if rows.size == 0:
            return np.zeros(0)
        sub_l, sub_p = np.ascontiguousarray(labs[rows]), np.ascontiguousarray(probs[rows])
        return kern.label_quality_scores(sub_l, sub_p, rank_by, thresholds, tol, n_jobs)

    parts = source.map(scores)
    s = np.concatenate(parts) if parts else np.zeros(0)
    return idx[np.argsort(s, kind="stable")]


def mask_from_indices(indices: NDArray[np.int64], n: int) -> NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    mask[indices] = True
    return mask
