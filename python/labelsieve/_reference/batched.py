"""Mergeable accumulators of the batched Confident Learning passes (streaming, Dask, memory maps).

Pure-NumPy twins of ``_native``'s ThresholdAccumulator, JointAccumulator, ScoreSelector and
PruneSelector (contract in ``_native.pyi``). Each is a thin shell around the very functions the
in-memory kernels use (exact fixed-point sums, joint counts, prune plan, ``Smallest`` selections),
so its result on any split of the rows equals the in-memory kernel's on all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve._reference.count import (
    count_labels,
    finish_confident_joint,
    self_confidence_sums,
    thresholds_from_sums,
)
from labelsieve._reference.filter import (
    PRUNE_METHODS,
    PruneSelection,
    confident_learning_pass,
    plan_pruning,
)
from labelsieve._reference.rank import check_score_method, scores_of
from labelsieve._reference.select import Smallest
from labelsieve._reference.validate import as_float64, checked_pred_probs
from labelsieve.exceptions import InvalidInputError, LabelsError


def _batch(
    labels: NDArray[Any], pred_probs: NDArray[Any], k: int
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """A batch's labels and float64 pred_probs, checked to have ``k`` columns and matching lengths."""
    probs = as_float64(pred_probs)
    if probs.ndim != 2 or probs.shape[1] != k:
        raise InvalidInputError(
            f"pred_probs must have shape (N, {k}) to match num_class = {k}, but it has shape {probs.shape}"
        )
    labels = np.asarray(labels)
    if labels.shape != (probs.shape[0],):
        raise LabelsError(
            f"labels must have shape ({probs.shape[0]},) to match pred_probs, but it has shape {labels.shape}"
        )
    outside = (labels < 0) | (labels >= k)
    if outside.any():
        raise LabelsError(
            f"labels[{int(np.argmax(outside))}] is outside 0..{k - 1}; expected class indices below "
            f"pred_probs.shape[1] = {k}"
        )
    return labels, probs


def _vector(values: Any, name: str, k: int | None, dtype: type) -> NDArray[Any]:
    """``values`` as a fresh 1-D array (of length ``k`` when given), else InvalidInputError naming it."""
    array: NDArray[Any] = np.array(values, dtype=dtype)
    if array.ndim != 1 or (k is not None and array.shape[0] != k) or array.shape[0] == 0:
        expected = f"({k},)" if k is not None else "(K,) with K >= 1"
        raise InvalidInputError(f"{name} must have shape {expected}, but it has shape {array.shape}")
    return array


def _mergeable(this: Any, other: Any) -> None:
    """TypeError unless ``other`` is of this class."""
    if not isinstance(other, type(this)):
        raise TypeError(f"other must be a {type(this).__name__}, but it is a {type(other).__name__}")


def _check_num_class(num_class: int) -> None:
    if int(num_class) < 1:
        raise InvalidInputError(f"num_class must be at least 1, but it is {num_class}")


def _incompatible(what: str, ours: Any, theirs: Any) -> InvalidInputError:
    return InvalidInputError(f"other must have the same {what} ({ours}), but it has {theirs}")


class ThresholdAccumulator:
    """Pass 1: validates every row and sums, per class, the given-label probability exactly (Python
    ints of fixed-point values), and counts the labels."""

    def __init__(self, num_class: int) -> None:
        _check_num_class(num_class)
        self._k = int(num_class)
        self._sums = [0] * self._k
        self._counts = np.zeros(self._k, dtype=np.int64)

    @property
    def num_class(self) -> int:
        return self._k

    @property
    def n_rows(self) -> int:
        """Rows accumulated so far."""
        return int(self._counts.sum())

    def update(
        self,
        labels: NDArray[Any],
        pred_probs: NDArray[Any],
        offset: int,
        row_sum_tol: float,
        n_jobs: int | None,
    ) -> None:
        labels, probs = _batch(labels, pred_probs, self._k)
        # Validate the whole batch before adding anything: a rejected batch leaves the state unchanged.
        probs = checked_pred_probs(probs, row_sum_tol, offset)
        self._sums = [a + b for a, b in zip(self._sums, self_confidence_sums(labels, probs))]
        self._counts += count_labels(labels, self._k)

    def merge(self, other: ThresholdAccumulator) -> None:
        """Add ``other``'s rows to this accumulator (in place)."""
        _mergeable(self, other)
        if other._k != self._k:
            raise _incompatible("num_class", self._k, other._k)
        self._sums = [a + b for a, b in zip(self._sums, other._sums)]
        self._counts += other._counts

    def thresholds(self) -> NDArray[np.float64]:
        """Equal to ``confident_thresholds`` on all accumulated rows."""
        return thresholds_from_sums(self._sums, self._counts)

    def label_counts(self) -> NDArray[np.int64]:
        """``np.bincount(labels, minlength=K)`` over all accumulated rows."""
        return self._counts.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self._k,), (list(self._sums), self._counts.copy())

    def __setstate__(self, state: tuple[list[int], NDArray[np.int64]]) -> None:
        self._sums, self._counts = list(state[0]), np.array(state[1], dtype=np.int64)


class JointAccumulator:
    """Pass 2: counts of (given label, guessed true label) for fixed ``thresholds``, the label
    counts and the number of rows ``confident_learning`` flags."""

    def __init__(self, thresholds: NDArray[np.float64]) -> None:
        self._thresholds = _vector(thresholds, "thresholds", None, np.float64)
        k = self._thresholds.shape[0]
        self._counts = np.zeros((k, k), dtype=np.int64)
        self._label_counts = np.zeros(k, dtype=np.int64)
        self._num_issues = 0

    @property
    def num_class(self) -> int:
        return int(self._thresholds.shape[0])

    @property
    def num_issues(self) -> int:
        """Rows flagged by ``filter_by="confident_learning"`` so far."""
        return self._num_issues

    def update(
        self, labels: NDArray[Any], pred_probs: NDArray[Any], return_flags: bool, n_jobs: int | None
    ) -> NDArray[np.bool_] | None:
        """Accumulate a batch (rows not re-validated); with ``return_flags``, also return the batch's
        ``confident_learning`` mask."""
        labels, probs = _batch(labels, pred_probs, self.num_class)
        counts, flags = confident_learning_pass(labels, probs, self._thresholds)
        self._counts += counts
        self._label_counts += count_labels(labels, self.num_class)
        self._num_issues += int(np.count_nonzero(flags))
        return flags if return_flags else None

    def merge(self, other: JointAccumulator) -> None:
        _mergeable(self, other)
        if not np.array_equal(other._thresholds, self._thresholds):
            raise _incompatible("thresholds", self._thresholds.tolist(), other._thresholds.tolist())
        self._counts += other._counts
        self._label_counts += other._label_counts
        self._num_issues += other._num_issues

    def confident_joint(self, calibrate: bool) -> NDArray[np.int64]:
        """Equal to ``confident_joint(labels, pred_probs, thresholds, calibrate, ...)[0]`` on all rows."""
        return finish_confident_joint(self._counts, self._label_counts, calibrate)

    def label_counts(self) -> NDArray[np.int64]:
        return self._label_counts.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self._thresholds.copy(),),
            (self._counts.copy(), self._label_counts.copy(), self._num_issues),
        )

    def __setstate__(self, state: tuple[NDArray[np.int64], NDArray[np.int64], int]) -> None:
        self._counts = np.array(state[0], dtype=np.int64)
        self._label_counts = np.array(state[1], dtype=np.int64)
        self._num_issues = int(state[2])


class ScoreSelector:
    """Keeps the ``num`` lowest label quality scores and their global indices, ties to the lower index."""

    def __init__(self, method: str, thresholds: NDArray[np.float64] | None, num_class: int, num: int) -> None:
        check_score_method(method, None)
        _check_num_class(num_class)
        self._thresholds = (
            None if thresholds is None else _vector(thresholds, "thresholds", num_class, np.float64)
        )
        check_score_method(method, self._thresholds)
        self._method = method
        self._k = int(num_class)
        self._selection = Smallest(num)

    def update(self, labels: NDArray[Any], pred_probs: NDArray[Any], offset: int, n_jobs: int | None) -> None:
        labels, probs = _batch(labels, pred_probs, self._k)
        scores = scores_of(labels, probs, self._method, self._thresholds)
        self._selection.offer(scores, offset + np.arange(labels.shape[0]))

    def merge(self, other: ScoreSelector) -> None:
        _mergeable(self, other)
        for what, ours, theirs in (
            ("method", self._method, other._method),
            ("num_class", self._k, other._k),
            ("num", self._selection.num, other._selection.num),
        ):
            if ours != theirs:
                raise _incompatible(what, ours, theirs)
        t, u = self._thresholds, other._thresholds
        if (t is None) != (u is None) or (t is not None and u is not None and not np.array_equal(t, u)):
            raise _incompatible("thresholds", t, u)
        self._selection.merge(other._selection)

    def indices(self) -> NDArray[np.int64]:
        """Selected global indices by ascending (score, index)."""
        return self._selection.indices.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self._method, self._thresholds, self._k, self._selection.num)
        return type(self), args, self._selection.__getstate__()

    def __setstate__(self, state: Any) -> None:
        self._selection.__setstate__(state)


class PruneSelector:
    """Pass 3 of ``prune_by_noise_rate`` / ``prune_by_class`` / ``both``: the per-class and per-cell
    top-n selections planned from a (calibrated) confident joint, exactly as ``label_issues``."""

    def __init__(
        self,
        confident_joint: NDArray[np.int64],
        label_counts: NDArray[np.int64],
        filter_by: str,
        frac_noise: float,
        num_to_remove_per_class: NDArray[np.int64] | None,
        min_examples_per_class: int,
    ) -> None:
        if filter_by not in PRUNE_METHODS:
            raise InvalidInputError(
                f"filter_by must be one of {', '.join(PRUNE_METHODS)}, but it is {filter_by!r}"
            )
        counts = _vector(label_counts, "label_counts", None, np.int64)
        k = counts.shape[0]
        cj = np.array(confident_joint, dtype=np.int64)
        if cj.shape != (k, k):
            raise InvalidInputError(
                f"confident_joint must have shape ({k}, {k}) to match label_counts, but it has shape {cj.shape}"
            )
        remove = None
        if num_to_remove_per_class is not None:
            remove = _vector(num_to_remove_per_class, "num_to_remove_per_class", k, np.int64)
        self._args = (cj, counts, filter_by, float(frac_noise), remove, int(min_examples_per_class))
        self._selection = PruneSelection(plan_pruning(*self._args))

    @property
    def too_few(self) -> list[int]:
        """Classes skipped for having too few examples (as ``label_issues`` returns them)."""
        return list(self._selection.plan.too_few)

    def update(self, labels: NDArray[Any], pred_probs: NDArray[Any], offset: int, n_jobs: int | None) -> None:
        labels, probs = _batch(labels, pred_probs, self._args[1].shape[0])
        self._selection.offer(labels, probs, offset)

    def merge(self, other: PruneSelector) -> None:
        _mergeable(self, other)
        ours, theirs = self._selection.plan, other._selection.plan
        if ours.filter_by != theirs.filter_by:
            raise _incompatible("filter_by", ours.filter_by, theirs.filter_by)
        if not (
            np.array_equal(ours.class_num, theirs.class_num)
            and np.array_equal(ours.cell_num, theirs.cell_num)
        ):
            raise InvalidInputError(
                "other must prune by the same plan, but its confident joint or options differ"
            )
        self._selection.merge(other._selection)

    def indices(self) -> NDArray[np.int64]:
        """Flagged global indices, ascending, after the argmax veto."""
        return self._selection.flagged()

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), self._args, self._selection

    def __setstate__(self, state: PruneSelection) -> None:
        self._selection = state
