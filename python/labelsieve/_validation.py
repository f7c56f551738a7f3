"""Argument checks shared by every public function: coercion of labels (lists, pandas), dtype,
shape and range checks with messages naming the argument, and the row-sum tolerance.

The *contents* of ``pred_probs`` (finite, in [0, 1], rows summing to 1) are checked inside the
kernels, in the same pass that reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend
from labelsieve.exceptions import InvalidDtypeError, InvalidInputError, LabelsError, PredProbsError

#: Default tolerance on ``|row sum - 1|`` for float32/float64 pred_probs.
ROW_SUM_TOL = 1e-4
#: float16 cannot hold probabilities to 1e-4; its softmax rows commonly sum to 1 +- 1e-2.
ROW_SUM_TOL_FLOAT16 = 2e-2

_row_sum_tol_override: float | None = None


def set_row_sum_tolerance(tol: float | None) -> None:
    """Tolerance on ``|sum(pred_probs[i]) - 1|``; ``None`` restores the defaults (1e-4, 2e-2 for float16)."""
    global _row_sum_tol_override
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise InvalidInputError(f"tol must be a non-negative finite number, but it is {tol!r}")
    _row_sum_tol_override = None if tol is None else float(tol)


def row_sum_tol(pred_probs: NDArray[Any]) -> float:
    """The row-sum tolerance that applies to this array."""
    if _row_sum_tol_override is not None:
        return _row_sum_tol_override
    return ROW_SUM_TOL_FLOAT16 if pred_probs.dtype == np.float16 else ROW_SUM_TOL


def labels_to_array(labels: Any, name: str = "labels") -> NDArray[Any]:
    """Labels as a 1-D integer ndarray (no copy when already one); lists, Series and one-column
    DataFrames are accepted."""
    if labels is None:
        raise LabelsError(f"{name} is None; expected a 1-D array of integer class indices")
    if hasattr(labels, "to_numpy") and hasattr(labels, "columns"):
        if len(labels.columns) != 1:
            raise LabelsError(
                f"{name} must be one dimensional, but the DataFrame has {len(labels.columns)} columns"
            )
        labels = labels.to_numpy().ravel()
    elif hasattr(labels, "to_numpy"):
        labels = labels.to_numpy()
    elif isinstance(labels, tuple | set | dict | str | bytes):
        raise InvalidDtypeError(
            f"{name} should be a numpy array, list or pandas Series, but it is a {type(labels).__name__}"
        )
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise LabelsError(f"{name} must be a 1-D array, but it has shape {arr.shape}")
    if arr.dtype.kind in "iub":
        return arr
    if arr.dtype.kind in "USO" and any(isinstance(x, str | bytes) for x in arr.ravel()[:1000]):
        raise LabelsError(
            f"{name} cannot be strings; they must be zero-indexed integers corresponding to class indices "
            "(map them first, e.g. with np.unique(labels, return_inverse=True))"
        )
    try:
        as_float = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise LabelsError(
            f"{name} must be zero-indexed integers corresponding to class indices, but has dtype {arr.dtype}"
        ) from err
    if as_float.size and not (np.isfinite(as_float).all() and (as_float == np.round(as_float)).all()):
        bad = int(np.flatnonzero(~np.isfinite(as_float) | (as_float != np.round(as_float)))[0])
        raise LabelsError(
            f"{name} must be zero-indexed integers corresponding to class indices, but {name}[{bad}] = {arr[bad]!r}"
        )
    return as_float.astype(np.int64)


def check_pred_probs(pred_probs: Any) -> NDArray[Any]:
    """``pred_probs`` as a 2-D float ndarray with at least one row and two columns (never copied)."""
    if not isinstance(pred_probs, np.ndarray):
        if hasattr(pred_probs, "to_numpy"):
            pred_probs = pred_probs.to_numpy()
        else:
            raise InvalidDtypeError(
                f"pred_probs must be a numpy array, but it is a {type(pred_probs).__name__}"
            )
    if pred_probs.dtype.kind != "f" or pred_probs.dtype not in (np.float16, np.float32, np.float64):
        raise InvalidDtypeError(
            f"pred_probs must be a float16, float32 or float64 array of probabilities, but it has dtype {pred_probs.dtype}"
        )
    if pred_probs.ndim != 2:
        raise PredProbsError(
            f"pred_probs must be 2-D with shape (num_examples, num_classes), but it has shape {pred_probs.shape}"
        )
    if pred_probs.shape[0] == 0:
        raise PredProbsError("pred_probs is empty (0 rows); expected at least one example")
    if pred_probs.shape[1] < 2:
        raise PredProbsError(
            f"pred_probs must have at least 2 columns (classes), but it has shape {pred_probs.shape}"
        )
    return pred_probs


def label_bounds(labs: NDArray[Any], k: int) -> tuple[int, int]:
    """``(min, max)`` of non-empty labels in one pass (in parallel with the Rust kernels), exact
    from numpy when they fall outside ``0..k-1``, where they go into error messages."""
    rng = _backend.kernels().label_range(labs, None)
    lo, hi = rng if rng is not None else (0, 0)
    if lo < 0 or hi >= k:
        lo, hi = int(labs.min()), int(labs.max())
    return lo, hi


def check_inputs(
    labels: Any, pred_probs: Any, *, allow_one_class: bool = True
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Coerce and check (labels, pred_probs) together: equal lengths, labels in ``0..K-1``."""
    probs = check_pred_probs(pred_probs)
    labs = labels_to_array(labels)
    if labs.shape[0] != probs.shape[0]:
        raise InvalidInputError(
            f"pred_probs and labels must have the same length, but pred_probs has {probs.shape[0]} rows "
            f"and labels has {labs.shape[0]} entries"
        )
    k = probs.shape[1]
    lo, hi = label_bounds(labs, k)
    if lo < 0:
        raise LabelsError(
            f"labels must be non-negative class indices, but labels[{int(np.argmin(labs))}] = {lo}"
        )
    if hi >= k:
        raise LabelsError(
            f"pred_probs must have at least {hi + 1} columns, based on the largest class index which appears in "
            f"labels (labels[{int(np.argmax(labs))}] = {hi}), but it has {k}"
        )
    if not allow_one_class and lo == hi:
        raise LabelsError(f"Labels must contain at least 2 classes, but every label is {hi}.")
    return labs, probs


def check_n_jobs(n_jobs: Any) -> int | None:
    """``n_jobs`` as a positive int or None (all cores)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise InvalidInputError(f"n_jobs must be None or an integer >= 1, but it is {n_jobs!r}")
    return int(n_jobs)


def check_no_multi_label(multi_label: bool) -> None:
    """Multi-label support is a later release."""
    if multi_label:
        raise NotImplementedError(
            "multi_label=True is not supported by labelsieve yet; multi-label classification is planned "
            "for a later release (single-label functions work with multi_label=False)"
        )


def check_square(matrix: Any, name: str, k: int | None = None) -> NDArray[Any]:
    """A (K, K) numeric matrix."""
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or (k is not None and m.shape[0] != k):
        want = f"({k}, {k})" if k is not None else "(K, K)"
        raise InvalidInputError(f"{name} must have shape {want}, but it has shape {m.shape}")
    if m.dtype.kind not in "iufb":
        raise InvalidDtypeError(f"{name} must be numeric, but it has dtype {m.dtype}")
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        raise InvalidInputError(f"{name} contains NaN or inf")
    return m
