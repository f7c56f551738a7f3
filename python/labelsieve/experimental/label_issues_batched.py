"""Exact Confident Learning over data larger than memory (cleanlab 2.9
``cleanlab.experimental.label_issues_batched``): ``find_label_issues_batched`` and ``LabelInspector``.

Rows are read in batches from in-memory arrays, memory-mapped ``.npy`` files or zarr arrays, and
every pass keeps only mergeable per-class state (see ``labelsieve._streaming``), so peak memory is
one batch plus O(K^2) plus the answer, never a copy of ``pred_probs``. Unlike cleanlab's batched
mode, which approximates, the answers equal the in-memory functions' exactly:
``find_label_issues_batched(labels, pred_probs)`` returns
``np.flatnonzero(filter.find_label_issues(labels, pred_probs, filter_by="low_self_confidence"))``,
and ``filter_by=`` runs any rule of ``filter.find_label_issues`` in streaming form.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend, _streaming
from labelsieve._validation import check_n_jobs, row_sum_tol
from labelsieve.count import _ESTIMATION_METHODS
from labelsieve.exceptions import InvalidInputError, PredProbsError
from labelsieve.filter import check_issue_args
from labelsieve.rank import _check_rank_by, find_top_issues, rank_adjusts

__all__ = ["LabelInspector", "find_label_issues_batched", "split_arr"]

A = TypeVar("A")
R = TypeVar("R")


def split_arr(arr: Any, chunksize: int) -> list[Any]:
    """Consecutive slices of ``arr`` with ``chunksize`` rows each (the last may be shorter)."""
    if isinstance(chunksize, bool) or not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise InvalidInputError(f"chunksize must be a positive integer, but it is {chunksize!r}")
    return [arr[i : i + chunksize] for i in range(0, len(arr), int(chunksize))]


def _release(arr: Any, start: int, stop: int) -> None:
    """Drop the pages of rows ``start:stop`` of a memory-mapped array from this process's resident
    set once a batch is done (they stay in the page cache), so RSS stays at one batch."""
    mm = getattr(arr, "_mmap", None)
    if not isinstance(mm, mmap.mmap) or stop <= start or not hasattr(mm, "madvise"):
        return
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    lo = arr.ctypes.data + start * arr.strides[0] - base
    hi = min(arr.ctypes.data + stop * arr.strides[0] - base, len(mm))
    lo -= lo % mmap.PAGESIZE
    if 0 <= lo < hi:
        mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


class ArraySource:
    """Batches of ``batch_size`` rows from sliceable arrays (numpy, ``np.memmap``, zarr, h5py),
    read one after another on this machine; kernels use ``n_jobs`` threads per batch."""

    def __init__(self, labels: Any, pred_probs: Any, batch_size: int, verbose: bool) -> None:
        shape = getattr(pred_probs, "shape", None)
        if shape is None or len(shape) != 2:
            raise PredProbsError(
                f"pred_probs must be a 2-D array of shape (num_examples, num_classes), but it has shape {shape}"
            )
        if getattr(labels, "ndim", 1) != 1:
            raise InvalidInputError(f"labels must be 1-D, but it has shape {labels.shape}")
        n_labels = labels.shape[0] if hasattr(labels, "shape") else len(labels)
        if n_labels != shape[0]:
            raise InvalidInputError(
                f"len(labels)={n_labels} does not match len(pred_probs)={shape[0]}. Perhaps an issue "
                "loading mmap numpy arrays from file."
            )
        if shape[1] < 2:
            raise PredProbsError(
                f"pred_probs must have at least 2 columns (classes), but it has shape {shape}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive integer, but it is {batch_size!r}")
        self.labels, self.pred_probs = labels, pred_probs
        self.batch_size, self.verbose = int(batch_size), verbose
        self._num_rows, self._num_class = int(shape[0]), int(shape[1])
        dtype = np.dtype(getattr(pred_probs, "dtype", np.float64))
        self._tol = row_sum_tol(np.empty((0, 2), dtype=dtype if dtype.kind == "f" else np.float64))
        self._passes = 0

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def num_class(self) -> int:
        return self._num_class

    @property
    def row_sum_tol(self) -> float:
        return self._tol

    def _batches(self) -> Iterator[tuple[Any, Any, int]]:
        self._passes += 1
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self._num_rows, desc=f"labelsieve pass {self._passes}", unit="rows")
        try:
            for start in range(0, self._num_rows, self.batch_size):
                stop = min(start + self.batch_size, self._num_rows)
                yield np.asarray(self.labels[start:stop]), np.asarray(self.pred_probs[start:stop]), start
                _release(self.labels, start, stop)
                _release(self.pred_probs, start, stop)
                if bar is not None:
                    bar.update(stop - start)
        finally:
            if bar is not None:
                bar.close()

    def fold(self, start: Callable[[], A], step: Callable[[A, Any, Any, int], None], merge: Any) -> A:
        acc = start()
        for labels, probs, offset in self._batches():
            step(acc, labels, probs, offset)
        return acc

    def map(self, fn: Callable[[Any, Any, int], R]) -> list[R]:
        return [fn(labels, probs, offset) for labels, probs, offset in self._batches()]


def _load(array: Any, path: Any, name: str) -> Any:
    if array is not None and path is not None:
        raise InvalidInputError(f"only specify one of: `{name}` or `{name}_file`")
    if path is not None:
        if not isinstance(path, str) or not path.endswith(".npy"):
            raise InvalidInputError(
                f"{name}_file must be str specifying path to .npy file containing the array of {name}, "
                f"but it is {path!r}"
            )
        return np.load(path, mmap_mode="r")
    if array is None:
        raise InvalidInputError(f"must provide one of: `{name}` or `{name}_file`")
    if isinstance(array, list | tuple):
        return np.asarray(array)
    return array


def _quality_kwargs(quality_score_kwargs: dict[str, Any] | None) -> tuple[str, bool]:
    kwargs = dict(quality_score_kwargs or {})
    method = kwargs.pop("method", "self_confidence")
    adjust = bool(kwargs.pop("adjust_pred_probs", False))
    if kwargs:
        raise InvalidInputError(
            f"quality_score_kwargs accepts 'method' and 'adjust_pred_probs', but got {sorted(kwargs)}"
        )
    _check_rank_by(method)
    if adjust and method == "confidence_weighted_entropy":
        raise InvalidInputError(
            "adjust_pred_probs is not currently supported for confidence_weighted_entropy."
        )
    return method, adjust


def _estimation_method(num_issue_kwargs: dict[str, Any] | None) -> str:
    kwargs = dict(num_issue_kwargs or {})
    method = kwargs.pop("estimation_method", "off_diagonal")
    if kwargs:
        raise InvalidInputError(
            f"num_issue_kwargs accepts only 'estimation_method', but got {sorted(kwargs)}"
        )
    allowed = [m for m in _ESTIMATION_METHODS if m != "off_diagonal_custom"]
    if method not in allowed:
        raise InvalidInputError(
            f"{method} is not a valid estimation method for batched label issues! Please choose one of: {allowed}"
        )
    return str(method)


def find_label_issues_batched(
    labels: Any = None,
    pred_probs: Any = None,
    *,
    labels_file: str | None = None,
    pred_probs_file: str | None = None,
    batch_size: int = 10000,
    n_jobs: int | None = 1,
    verbose: bool = True,
    quality_score_kwargs: dict[str, Any] | None = None,
    num_issue_kwargs: dict[str, Any] | None = None,
    return_mask: bool = False,
    filter_by: str | None = None,
    frac_noise: float = 1.0,
    num_to_remove_per_class: Any = None,
    min_examples_per_class: int = 1,
    confident_joint: Any = None,
    return_indices_ranked_by: str | None = None,
    rank_by_kwargs: dict[str, Any] | None = None,
) -> NDArray[Any]:
    """Label issues of a dataset read in batches of ``batch_size`` rows, exactly as in memory.

    Inputs are arrays (numpy, ``np.memmap``, zarr, anything sliceable with ``shape`` and ``dtype``)
    or ``.npy`` paths (``labels_file`` / ``pred_probs_file``, memory-mapped; pages are released after
    each batch). Returns the flagged indices in ascending order, or a boolean mask with
    ``return_mask=True``, or the indices ranked like ``filter.find_label_issues`` with
    ``return_indices_ranked_by``.

    Without ``filter_by`` (cleanlab's batched rule): the ``num_label_issues`` lowest label quality
    scores, where the count uses ``num_issue_kwargs["estimation_method"]`` (``off_diagonal`` default,
    or ``off_diagonal_calibrated``) and the scores ``quality_score_kwargs`` (``method``,
    ``adjust_pred_probs``). With the defaults this is ``filter_by="low_self_confidence"``, and with
    ``{"method": "normalized_margin"}`` it is ``"low_normalized_margin"`` — exactly, where cleanlab
    approximates. With ``filter_by`` (any rule of ``filter.find_label_issues``, with its
    ``frac_noise``, ``num_to_remove_per_class``, ``min_examples_per_class`` and ``confident_joint``):
    that rule's answer. ``n_jobs`` threads per batch (None = all cores); answers never depend on it
    or on ``batch_size``. Two to four sequential passes read the data (thresholds, confident joint,
    selection, ranking).
    """
    threads = check_n_jobs(n_jobs)
    source = ArraySource(
        _load(labels, labels_file, "labels"),
        _load(pred_probs, pred_probs_file, "pred_probs"),
        batch_size,
        verbose,
    )
    if return_mask and return_indices_ranked_by is not None:
        raise InvalidInputError(
            "return_mask=True returns a mask; it cannot be combined with return_indices_ranked_by"
        )
    k = source.num_class
    if filter_by is None:
        if any(v is not None for v in (num_to_remove_per_class, confident_joint)) or frac_noise != 1.0:
            raise InvalidInputError(
                "frac_noise, num_to_remove_per_class and confident_joint apply to a filter_by rule; pass filter_by"
            )
        if return_indices_ranked_by is not None:
            _check_rank_by(return_indices_ranked_by)
        method, adjust = _quality_kwargs(quality_score_kwargs)
        estimation = _estimation_method(num_issue_kwargs)
        t_acc = _streaming.thresholds_pass(source, threads)
        _streaming.check_two_classes(t_acc.label_counts())
        thresholds = t_acc.thresholds()
        num = _streaming.num_label_issues_from(_streaming.joint_pass(source, thresholds, threads), estimation)
        kern = _backend.kernels()

        def offer(acc: Any, labs: Any, probs: Any, offset: int) -> None:
            labs, probs = _streaming.check_batch(labs, probs, k, offset)
            acc.update(labs, probs, offset, threads)

        sel = source.fold(
            lambda: kern.ScoreSelector(method, thresholds if adjust else None, k, num),
            offer,
            _streaming._merge,
        )
        indices = np.sort(sel.indices())
    else:
        if quality_score_kwargs or num_issue_kwargs:
            raise InvalidInputError(
                "quality_score_kwargs and num_issue_kwargs define the rule used without filter_by; "
                "with filter_by use return_indices_ranked_by / rank_by_kwargs"
            )
        remove, cj = check_issue_args(
            k,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=num_to_remove_per_class,
            min_examples_per_class=min_examples_per_class,
            confident_joint=confident_joint,
            return_indices_ranked_by=return_indices_ranked_by,
        )
        indices, t_acc = _streaming.label_issue_indices(
            source,
            filter_by=filter_by,
            frac_noise=frac_noise,
            num_to_remove_per_class=remove,
            min_examples_per_class=min_examples_per_class,
            confident_joint=cj,
            n_jobs=threads,
        )
    if verbose:
        print(f"Number of label issues found: {indices.size}")
    if return_mask:
        return _streaming.mask_from_indices(indices, source.num_rows)
    if return_indices_ranked_by is not None:
        adjust_rank = rank_adjusts(return_indices_ranked_by, rank_by_kwargs)
        return _streaming.rank_indices(
            source,
            indices,
            rank_by=return_indices_ranked_by,
            thresholds=t_acc.thresholds() if adjust_rank else None,
            n_jobs=threads,
        )
    return indices


_NO_THRESHOLDS = "Have not computed any confident_thresholds yet. Call `update_confident_thresholds()` first."
_NO_SCORES = "Have not evaluated any labels yet. Call `score_label_quality()` first."
_NO_STORE = (
    "Must initialize the LabelInspector with `store_results` == True. Otherwise you can assemble the label "
    "quality scores yourself based on the scores returned by the `score_label_quality()` method."
)


class LabelInspector:
    """Confident Learning fed batch by batch (cleanlab 2.9's ``LabelInspector``), exactly.

    First call ``update_confident_thresholds(labels, pred_probs)`` on every batch, then
    ``score_label_quality(labels, pred_probs)`` on every batch in the same order. Then
    ``get_num_issues()`` equals ``count.num_label_issues`` on the whole data (``estimation_method``
    from ``num_issue_kwargs``), ``get_quality_scores()`` equals ``rank.get_label_quality_scores``
    (``quality_score_kwargs``; ``adjust_pred_probs`` uses the thresholds of all rows), and
    ``get_label_issues()`` gives the indices of the ``get_num_issues()`` lowest scores, lowest first.
    The accumulated state (thresholds sums, confident-joint counts) is O(K^2); with
    ``store_results=False`` scores are returned per batch and not kept.
    """

    def __init__(
        self,
        *,
        num_class: int,
        store_results: bool = True,
        verbose: bool = True,
        quality_score_kwargs: dict[str, Any] | None = None,
        num_issue_kwargs: dict[str, Any] | None = None,
        n_jobs: int | None = 1,
    ) -> None:
        if isinstance(num_class, bool) or not isinstance(num_class, int | np.integer) or num_class < 2:
            raise InvalidInputError(f"num_class must be an integer >= 2, but it is {num_class!r}")
        self.num_class = int(num_class)
        self.store_results = store_results
        self.verbose = verbose
        self.quality_score_kwargs = quality_score_kwargs
        self.num_issue_kwargs = num_issue_kwargs
        self.n_jobs = check_n_jobs(n_jobs)
        self._method, self._adjust = _quality_kwargs(quality_score_kwargs)
        self._estimation = _estimation_method(num_issue_kwargs)
        self._kern = _backend.kernels()
        self._thresholds_acc = self._kern.ThresholdAccumulator(self.num_class)
        self._thresholds: NDArray[np.float64] | None = None
        self._joint: Any = None
        self._scored = 0
        self._scores: list[NDArray[np.float64]] = []

    def _batch(self, labels: Any, pred_probs: Any, offset: int) -> tuple[NDArray[Any], NDArray[Any]]:
        probs = np.asarray(pred_probs)
        labs = np.asarray(labels)
        if probs.ndim != 2 or labs.ndim != 1 or labs.shape[0] != probs.shape[0]:
            raise InvalidInputError(
                f"labels and pred_probs must have same length, but labels has shape {labs.shape} and pred_probs "
                f"has shape {probs.shape}"
            )
        if probs.shape[1] != self.num_class:
            raise InvalidInputError(
                f"num_class must equal pred_probs.shape[1], but num_class is {self.num_class} and pred_probs "
                f"has shape {probs.shape}"
            )
        return _streaming.check_batch(labs, probs, self.num_class, offset)

    def update_confident_thresholds(self, labels: Any, pred_probs: Any) -> None:
        """Pass 1 over one batch: validates it and adds it to the per-class threshold sums."""
        if self._joint is not None:
            raise InvalidInputError(
                "update_confident_thresholds() must see every batch before score_label_quality() is called"
            )
        offset = int(self._thresholds_acc.n_rows)
        labs, probs = self._batch(labels, pred_probs, offset)
        self._thresholds_acc.update(labs, probs, offset, row_sum_tol(probs), self.n_jobs)
        self._thresholds = None

    def get_confident_thresholds(self, silent: bool = False) -> NDArray[np.float64]:
        """Per-class confident thresholds of every row seen by ``update_confident_thresholds``."""
        if self._thresholds_acc.n_rows == 0:
            raise ValueError(_NO_THRESHOLDS)
        if self._thresholds is None:
            self._thresholds = self._thresholds_acc.thresholds()
        if not silent and self.verbose:
            print(
                f"Total number of examples used to estimate confident thresholds: {self._thresholds_acc.n_rows}"
            )
        return self._thresholds

    def score_label_quality(
        self, labels: Any, pred_probs: Any, *, update_num_issues: bool = True
    ) -> NDArray[np.float64]:
        """Pass 2 over one batch: its label quality scores (kept when ``store_results``) and, with
        ``update_num_issues``, its contribution to the issue count."""
        thresholds = self.get_confident_thresholds(silent=True)
        labs, probs = self._batch(labels, pred_probs, self._scored)
        tol = row_sum_tol(probs)
        scores = _streaming._located(
            lambda: self._kern.label_quality_scores(
                labs, probs, self._method, thresholds if self._adjust else None, tol, self.n_jobs
            ),
            self._kern,
            labs,
            probs,
            self._scored,
            tol,
        )
        if update_num_issues:
            if self._joint is None:
                self._joint = self._kern.JointAccumulator(thresholds)
            self._joint.update(labs, probs, False, self.n_jobs)
        self._scored += labs.shape[0]
        if self.store_results:
            self._scores.append(scores)
        return scores

    def get_num_issues(self, silent: bool = False) -> int:
        """Estimated number of label issues among the rows scored with ``update_num_issues``."""
        if self._joint is None:
            raise ValueError(_NO_SCORES)
        num = _streaming.num_label_issues_from(self._joint, self._estimation)
        if not silent and self.verbose:
            print(f"Total number of examples whose labels have been evaluated: {self._scored}")
        return num

    def get_quality_scores(self) -> NDArray[np.float64]:
        """Label quality scores of every scored row, in order."""
        if not self.store_results:
            raise ValueError(_NO_STORE)
        if not self._scores:
            raise ValueError(_NO_SCORES)
        if len(self._scores) > 1:
            self._scores = [np.concatenate(self._scores)]
        return self._scores[0]

    def get_label_issues(self) -> NDArray[np.int64]:
        """Indices of the ``get_num_issues()`` lowest quality scores, lowest first (ties by index)."""
        scores = self.get_quality_scores()
        return find_top_issues(scores, top=self.get_num_issues(silent=True))
