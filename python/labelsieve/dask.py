"""Confident Learning on Dask arrays: the answers of ``filter``, ``count``, ``rank`` and
``dataset`` for ``pred_probs`` and ``labels`` spread over a cluster, exactly equal to the in-memory
functions' on the same values.

``pred_probs`` is a dask array of shape (N, K) chunked by rows (it is rechunked to one column
chunk); ``labels`` a dask array of shape (N,) or an in-memory array (numpy, list, pandas), chunked
like ``pred_probs``' rows. Each function runs its passes (see ``labelsieve._streaming``) on the
current Dask scheduler: one task per chunk builds a small mergeable accumulator (O(K^2), or the
selected candidates), then a fixed pairwise tree of merge tasks combines them, so the graph and
the answer never depend on which worker ran what. Only accumulators and flagged indices travel to
the client, never a copy of ``pred_probs``.

On a real cluster::

    from dask.distributed import Client
    import dask.array as da
    import labelsieve.dask as lsd

    client = Client("tcp://scheduler:8786")  # becomes the default scheduler
    pred_probs = da.from_zarr("s3://bucket/pred_probs.zarr")  # (N, K), e.g. 1e6 rows per chunk
    labels = da.from_zarr("s3://bucket/labels.zarr")  # (N,)
    pred_probs, labels = client.persist([pred_probs, labels])  # each pass reads the data again
    mask = lsd.find_label_issues(labels, pred_probs)  # lazy boolean dask array
    ranked = lsd.find_label_issues(labels, pred_probs, return_indices_ranked_by="self_confidence")
    scores = lsd.get_label_quality_scores(labels, pred_probs)  # lazy dask array
    report = lsd.health_summary(labels, pred_probs)

Every worker needs the same labelsieve version; tasks use the kernel set (``set_backend``) chosen
on the client. ``n_jobs`` is the number of threads each task's kernels use (default 1, since Dask
already runs one task per worker thread). ``find_label_issues`` returns a lazy mask (its passes
run when called; the mask is built from the flagged indices), ``get_label_quality_scores`` a lazy
array (thresholds are computed first only with ``adjust_pred_probs``); the other functions return
numpy results. Chunks of unknown size must be measured first with ``compute_chunk_sizes()``.
For the pruning rules of ``find_label_issues`` (the default among them) each chunk's selector may
hold as many candidates as the whole answer flags, so fewer, larger chunks (1e6 rows or more) merge
faster. Requires the ``dask`` extra: ``pip install "labelsieve[dask]"``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend, _streaming
from labelsieve._validation import (
    check_n_jobs,
    check_no_multi_label,
    check_square,
    labels_to_array,
    row_sum_tol,
)
from labelsieve.count import _thresholds_arg, check_estimation_method
from labelsieve.exceptions import InvalidDtypeError, InvalidInputError, LabelsError, PredProbsError
from labelsieve.filter import check_issue_args
from labelsieve.rank import _check_rank_by, rank_adjusts

if TYPE_CHECKING:
    import dask.array

__all__ = [
    "DaskSource",
    "compute_confident_joint",
    "find_label_issues",
    "get_confident_thresholds",
    "get_label_quality_scores",
    "health_summary",
    "num_label_issues",
]

A = TypeVar("A")
R = TypeVar("R")

_INSTALL = 'labelsieve.dask needs Dask: pip install "labelsieve[dask]"'


def _dask() -> Any:
    try:
        import dask
        import dask.array
    except ImportError as err:
        raise ImportError(_INSTALL) from err
    return dask


def _check_chunks(arr: Any, name: str) -> None:
    if any(np.isnan(c) for dim in arr.chunks for c in dim):
        raise InvalidInputError(
            f"{name} has unknown chunk sizes (shape {arr.shape}); call {name}.compute_chunk_sizes() first "
            "so that rows can be numbered"
        )


def _inputs(labels: Any, pred_probs: Any) -> tuple[dask.array.Array, dask.array.Array, Any]:
    """(labels, pred_probs) as dask arrays with the same row chunks and one column chunk, plus the
    chunks a mask of labels has (those of dask ``labels``, else ``pred_probs``' rows)."""
    da = _dask().array
    if not isinstance(pred_probs, da.Array):
        raise InvalidDtypeError(
            f"pred_probs must be a dask array (use dask.array.from_array, or labelsieve.filter for in-memory "
            f"arrays), but it is a {type(pred_probs).__name__}"
        )
    if pred_probs.ndim != 2:
        raise PredProbsError(
            f"pred_probs must be 2-D with shape (num_examples, num_classes), but it has shape {pred_probs.shape}"
        )
    _check_chunks(pred_probs, "pred_probs")
    if pred_probs.dtype not in (np.float16, np.float32, np.float64):
        raise InvalidDtypeError(
            f"pred_probs must be a float16, float32 or float64 array of probabilities, but it has dtype "
            f"{pred_probs.dtype}"
        )
    n, k = (int(s) for s in pred_probs.shape)
    if n == 0:
        raise PredProbsError("pred_probs is empty (0 rows); expected at least one example")
    if k < 2:
        raise PredProbsError(
            f"pred_probs must have at least 2 columns (classes), but it has shape {pred_probs.shape}"
        )
    if len(pred_probs.chunks[1]) > 1:
        pred_probs = pred_probs.rechunk({1: -1})
    rows = pred_probs.chunks[0]
    if isinstance(labels, da.Array):
        if labels.ndim != 1:
            raise LabelsError(f"labels must be a 1-D array, but it has shape {labels.shape}")
        _check_chunks(labels, "labels")
        mask_chunks = labels.chunks
        if labels.shape[0] != n:
            raise InvalidInputError(
                f"pred_probs and labels must have the same length, but pred_probs has {n} rows and labels "
                f"has {labels.shape[0]} entries"
            )
        if labels.chunks[0] != rows:
            # Labels are small next to pred_probs: moving their boundaries is the cheap alignment.
            labels = labels.rechunk((rows,))
    else:
        labs = labels_to_array(labels)
        if labs.shape[0] != n:
            raise InvalidInputError(
                f"pred_probs and labels must have the same length, but pred_probs has {n} rows and labels "
                f"has {labs.shape[0]} entries"
            )
        labels = da.from_array(labs, chunks=(rows,))
        mask_chunks = (rows,)
    return labels, pred_probs, mask_chunks


class DaskSource:
    """Row chunks of aligned dask arrays; ``fold`` and ``map`` each compute one graph on the current
    Dask scheduler (threads, processes or a ``dask.distributed`` client)."""

    def __init__(self, labels: dask.array.Array, pred_probs: dask.array.Array) -> None:
        # The arrays hold the futures of persisted data, which their delayed blocks do not.
        self._arrays = (labels, pred_probs)
        self._labels = labels.to_delayed().ravel().tolist()
        self._probs = pred_probs.to_delayed().ravel().tolist()
        rows = pred_probs.chunks[0]
        self._offsets = [0, *np.cumsum(rows[:-1], dtype=np.int64).tolist()]
        self._num_rows, self._num_class = int(pred_probs.shape[0]), int(pred_probs.shape[1])
        self._tol = row_sum_tol(np.empty((0, 2), dtype=pred_probs.dtype))

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def num_class(self) -> int:
        return self._num_class

    @property
    def row_sum_tol(self) -> float:
        return self._tol

    def fold(
        self, start: Callable[[], A], step: Callable[[A, Any, Any, int], None], merge: Callable[[A, A], None]
    ) -> A:
        dk = _dask()
        tag = uuid.uuid4().hex
        level = [
            dk.delayed(_leaf)(start, step, lab, prob, off, dask_key_name=f"labelsieve-accumulate-{tag}-{i}")
            for i, (lab, prob, off) in enumerate(zip(self._labels, self._probs, self._offsets))
        ]
        depth = 0
        while len(level) > 1:
            depth += 1
            # A fixed pairwise tree: the merge order, hence the graph, is the same on every scheduler.
            level = [
                dk.delayed(_join)(
                    start, merge, level[i], level[i + 1], dask_key_name=f"labelsieve-merge-{tag}-{depth}-{i}"
                )
                if i + 1 < len(level)
                else level[i]
                for i in range(0, len(level), 2)
            ]
        (acc,) = dk.compute(level[0])
        return acc

    def map(self, fn: Callable[[Any, Any, int], R]) -> list[R]:
        dk = _dask()
        tag = uuid.uuid4().hex
        tasks = [
            dk.delayed(fn)(lab, prob, off, dask_key_name=f"labelsieve-map-{tag}-{i}")
            for i, (lab, prob, off) in enumerate(zip(self._labels, self._probs, self._offsets))
        ]
        return list(dk.compute(*tasks))


def _leaf(
    start: Callable[[], A], step: Callable[[A, Any, Any, int], None], labels: Any, probs: Any, offset: int
) -> A:
    acc = start()
    step(acc, labels, probs, offset)
    return acc


def _join(start: Callable[[], A], merge: Callable[[A, A], None], a: A, b: A) -> A:
    # Into a fresh accumulator: task inputs stay unmodified, so a retried task gives the same result.
    acc = start()
    merge(acc, a)
    merge(acc, b)
    return acc


def _source(labels: Any, pred_probs: Any) -> tuple[DaskSource, Any]:
    labs, probs, mask_chunks = _inputs(labels, pred_probs)
    if not isinstance(labels, _dask().array.Array):
        # Ship in-memory labels to the cluster once, not inside the graph of every pass.
        labs = labs.persist()
    return DaskSource(labs, probs), mask_chunks


def _mask_block(data: NDArray[Any], size: int, packed: bool) -> NDArray[np.bool_]:
    if packed:
        return np.unpackbits(data, count=size).astype(bool)
    mask = np.zeros(size, dtype=bool)
    mask[data] = True
    return mask


def _lazy_mask(indices: NDArray[np.int64], chunks: Any) -> dask.array.Array:
    """A boolean dask array with ``chunks`` that is True at the sorted global ``indices``; each
    task holds only its own chunk's flags, as local indices or packed bits, whichever is smaller."""
    dk = _dask()
    from dask.highlevelgraph import HighLevelGraph

    sizes = [int(c) for c in chunks[0]]
    bounds = np.cumsum([0, *sizes])
    cut = np.searchsorted(indices, bounds)
    name = "labelsieve-issue-mask-" + dk.base.tokenize(indices, sizes)
    graph: dict[Any, Any] = {}
    for i, size in enumerate(sizes):
        local = (indices[cut[i] : cut[i + 1]] - bounds[i]).astype(np.int32 if size < 2**31 else np.int64)
        packed = local.nbytes > (size + 7) // 8
        data = np.packbits(_mask_block(local, size, False)) if packed else local
        graph[(name, i)] = (_mask_block, data, size, packed)
    # A graph of our own keeps empty chunks, which da.concatenate would drop.
    return dk.array.Array(
        HighLevelGraph.from_collections(name, graph, dependencies=()),
        name,
        (tuple(sizes),),
        meta=np.zeros(0, dtype=bool),
    )


def find_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    return_indices_ranked_by: str | None = None,
    rank_by_kwargs: dict[str, Any] | None = None,
    filter_by: str = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Any = None,
    min_examples_per_class: int = 1,
    confident_joint: Any = None,
    n_jobs: int | None = 1,
    verbose: bool = False,
    multi_label: bool = False,
) -> Any:
    """``filter.find_label_issues`` on dask arrays, with the same options and answer.

    Returns a lazy boolean dask array chunked like ``labels`` (like ``pred_probs``' rows when
    ``labels`` is in memory), or, with ``return_indices_ranked_by``, a numpy array of the flagged
    indices ranked as in memory. The passes (thresholds, confident joint, selection, and ranking
    when asked) run before returning; ``n_jobs`` threads per task.
    """
    check_no_multi_label(multi_label)
    threads = check_n_jobs(n_jobs)
    source, mask_chunks = _source(labels, pred_probs)
    remove, cj = check_issue_args(
        source.num_class,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
        confident_joint=confident_joint,
        return_indices_ranked_by=return_indices_ranked_by,
    )
    adjust = rank_adjusts(return_indices_ranked_by, rank_by_kwargs) if return_indices_ranked_by else False
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
    if return_indices_ranked_by is None:
        return _lazy_mask(indices, mask_chunks)
    return _streaming.rank_indices(
        source,
        indices,
        rank_by=return_indices_ranked_by,
        thresholds=t_acc.thresholds() if adjust else None,
        n_jobs=threads,
    )


def get_confident_thresholds(
    labels: Any, pred_probs: Any, multi_label: bool = False, *, n_jobs: int | None = 1
) -> NDArray[np.float64]:
    """``count.get_confident_thresholds`` on dask arrays (one pass; validates every row)."""
    check_no_multi_label(multi_label)
    source, _ = _source(labels, pred_probs)
    thresholds: NDArray[np.float64] = _streaming.thresholds_pass(source, check_n_jobs(n_jobs)).thresholds()
    return thresholds


def compute_confident_joint(
    labels: Any,
    pred_probs: Any,
    *,
    thresholds: Any = None,
    calibrate: bool = True,
    multi_label: bool = False,
    return_indices_of_off_diagonals: bool = False,
    n_jobs: int | None = 1,
) -> NDArray[np.int64] | tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``count.compute_confident_joint`` on dask arrays: the same (K, K) numpy matrix (and, when
    asked, the sorted off-diagonal indices, found in one more pass)."""
    check_no_multi_label(multi_label)
    threads = check_n_jobs(n_jobs)
    source, _ = _source(labels, pred_probs)
    t = _thresholds_arg(thresholds, source.num_class)
    if not return_indices_of_off_diagonals:
        return _streaming.confident_joint(source, thresholds=t, calibrate=bool(calibrate), n_jobs=threads)
    t_acc = _streaming.thresholds_pass(source, threads)
    t = t_acc.thresholds() if t is None else t
    cj = _streaming.joint_pass(source, t, threads).confident_joint(bool(calibrate))
    kern, k, tol = _backend.kernels(), source.num_class, source.row_sum_tol

    def off_diagonal(labels: Any, pred_probs: Any, offset: int) -> NDArray[np.int64]:
        labs, probs = _streaming.check_batch(labels, pred_probs, k, offset)
        _, idx = kern.confident_joint(labs, probs, t, False, True, tol, threads)
        return np.asarray(idx, dtype=np.int64) + offset

    parts = source.map(off_diagonal)
    idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    # cleanlab returns the uncalibrated matrix in Fortran order; later calibrations sum it by columns.
    return (cj if calibrate else np.asfortranarray(cj)), idx


def _calibrated_joint(cj: NDArray[Any], label_counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """``count.estimate_joint(labels, ..., confident_joint=cj)`` from the label counts."""
    cal = _backend.kernels().calibrate_confident_joint(
        np.asarray(cj, dtype=np.int64, order="K"), label_counts
    )
    joint: NDArray[np.float64] = cal / np.clip(cal.sum(), 1e-100, None)
    return joint


def num_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    confident_joint: Any = None,
    estimation_method: str = "off_diagonal",
    multi_label: bool = False,
    n_jobs: int | None = 1,
) -> np.int64:
    """``count.num_label_issues`` on dask arrays (two passes; one for ``off_diagonal_custom``)."""
    check_no_multi_label(multi_label)
    check_estimation_method(estimation_method, confident_joint)
    threads = check_n_jobs(n_jobs)
    source, _ = _source(labels, pred_probs)
    if estimation_method == "off_diagonal_custom" and confident_joint is None:
        raise InvalidInputError(
            "No `confident_joint` provided. For 'estimation_method' = off_diagonal_custom you need to provide "
            "pre-calculated `confident_joint` matrix. Use a different `estimation_method` if you want the "
            "`confident_joint` matrix to be calculated for you."
        )
    custom = None
    if estimation_method == "off_diagonal_custom":
        custom = check_square(confident_joint, "confident_joint", source.num_class)
    t_acc = _streaming.thresholds_pass(source, threads)
    counts = t_acc.label_counts()
    present = np.flatnonzero(counts)
    if present.size < 2:
        raise LabelsError(f"Labels must contain at least 2 classes, but every label is {int(present[-1])}.")
    if custom is not None:
        joint = _calibrated_joint(custom, counts)
    else:
        j_acc = _streaming.joint_pass(source, t_acc.thresholds(), threads)
        if estimation_method == "off_diagonal":
            return np.int64(j_acc.num_issues)
        joint = _calibrated_joint(j_acc.confident_joint(True), counts)
    return np.int64(np.rint((1.0 - np.trace(joint)) * source.num_rows))


def _scores_block(
    labels: Any,
    pred_probs: Any,
    *,
    kern: Any,
    method: str,
    thresholds: NDArray[np.float64] | None,
    tol: float,
    n_jobs: int | None,
    block_info: dict[Any, Any] | None = None,
) -> NDArray[np.float64]:
    offset = int(block_info[None]["array-location"][0][0]) if block_info else 0
    labs, probs = _streaming.check_batch(labels[:, 0], pred_probs, pred_probs.shape[1], offset)
    try:
        scores: NDArray[np.float64] = kern.label_quality_scores(labs, probs, method, thresholds, tol, n_jobs)
    except PredProbsError:
        # Re-check with the client's kernel set (not the worker's default) to name the global row.
        kern.ThresholdAccumulator(probs.shape[1]).update(labs, probs, offset, tol, 1)
        raise
    return scores


def get_label_quality_scores(
    labels: Any,
    pred_probs: Any,
    *,
    method: str = "self_confidence",
    adjust_pred_probs: bool = False,
    n_jobs: int | None = 1,
) -> dask.array.Array:
    """``rank.get_label_quality_scores`` as a lazy float64 dask array chunked like ``pred_probs``'
    rows. With ``adjust_pred_probs`` the confident thresholds are computed first (one pass)."""
    dk = _dask()
    _check_rank_by(method)
    if adjust_pred_probs and method == "confidence_weighted_entropy":
        raise InvalidInputError(
            "adjust_pred_probs is not currently supported for confidence_weighted_entropy."
        )
    threads = check_n_jobs(n_jobs)
    labs, probs, _ = _inputs(labels, pred_probs)
    tol = row_sum_tol(np.empty((0, 2), dtype=probs.dtype))
    thresholds = None
    if adjust_pred_probs:
        thresholds = _streaming.thresholds_pass(DaskSource(labs, probs), threads).thresholds()
    name = "labelsieve-label-quality-scores-" + dk.base.tokenize(
        labs.name, probs.name, method, thresholds, tol, threads, _backend.get_backend()
    )
    return dk.array.map_blocks(
        _scores_block,
        labs[:, None],
        probs,
        drop_axis=1,
        chunks=(probs.chunks[0],),
        dtype=np.float64,
        meta=np.zeros(0, dtype=np.float64),
        name=name,
        kern=_backend.kernels(),
        method=method,
        thresholds=thresholds,
        tol=tol,
        n_jobs=threads,
    )


def health_summary(
    labels: Any,
    pred_probs: Any,
    *,
    asymmetric: bool = False,
    class_names: Any = None,
    num_examples: int | None = None,
    joint: Any = None,
    confident_joint: Any = None,
    multi_label: bool = False,
    verbose: bool = True,
    n_jobs: int | None = 1,
) -> dict[str, Any]:
    """``dataset.health_summary(labels, pred_probs, ...)`` on dask arrays: the same dict (joint,
    class and overlap tables, health score) and the same printed report, from two passes."""
    import warnings

    from labelsieve import dataset

    check_no_multi_label(multi_label)
    threads = check_n_jobs(n_jobs)
    source, _ = _source(labels, pred_probs)
    if confident_joint is not None:
        warnings.warn(dataset._IGNORED_CJ_MESSAGE, UserWarning, stacklevel=2)
    t_acc = _streaming.thresholds_pass(source, threads)
    j_acc = _streaming.joint_pass(source, t_acc.thresholds(), threads)
    num_issues = int(j_acc.num_issues)
    if joint is not None:
        joint = np.asarray(joint)
    elif confident_joint is not None:
        # As in memory: a supplied confident_joint still gives the joint, calibrated against labels.
        cj = check_square(confident_joint, "confident_joint")
        counts = t_acc.label_counts()
        if counts[cj.shape[0] :].any():
            raise LabelsError(
                f"labels must be class indices in 0..{cj.shape[0] - 1} to match confident_joint of shape {cj.shape}"
            )
        padded = np.zeros(cj.shape[0], dtype=np.int64)
        padded[: min(cj.shape[0], counts.shape[0])] = counts[: cj.shape[0]]
        joint = _calibrated_joint(cj, padded)
    else:
        joint = dataset._joint(None, None, None, j_acc.confident_joint(True))
    return dataset._health_summary_from(
        joint,
        source.num_rows if num_examples is None else num_examples,
        num_issues,
        asymmetric=asymmetric,
        class_names=class_names,
        verbose=verbose,
    )
