"""Content checks of ``pred_probs`` shared by every kernel, and the float64 view kernels compute on."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve.exceptions import PredProbsError

# A value may exceed 1 by this much (cleanlab's FLOATING_POINT_COMPARISON) before it is rejected.
VALUE_TOLERANCE = 1e-6


def as_float64(pred_probs: NDArray[Any]) -> NDArray[np.float64]:
    """``pred_probs`` as float64 (exact for float16/float32; no copy for float64)."""
    return np.asarray(pred_probs, dtype=np.float64)


def checked_pred_probs(pred_probs: NDArray[Any], row_sum_tol: float, offset: int = 0) -> NDArray[np.float64]:
    """Validate the contents of ``pred_probs`` and return it as float64; errors name row ``offset + i``
    (``offset`` is the global index of the first row when ``pred_probs`` is one batch of many)."""
    probs = as_float64(pred_probs)
    _check(probs, row_sum_tol, offset)
    return probs


def check_pred_probs(pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None) -> None:
    """Raise PredProbsError on the first row with a non-finite, negative, > 1 + 1e-6 value or a sum
    further than ``row_sum_tol`` from 1."""
    _check(as_float64(pred_probs), row_sum_tol)


def label_range(labels: NDArray[Any], n_jobs: int | None) -> tuple[int, int] | None:
    """``(min, max)`` of the labels, ``None`` when there are none."""
    if labels.size == 0:
        return None
    return int(labels.min()), int(labels.max())


def _check(probs: NDArray[np.float64], row_sum_tol: float, offset: int = 0) -> None:
    # One boolean matrix per problem kind; the first bad row decides, and within it the kinds are
    # reported in this order, each naming its first offending column.
    problems = [
        (
            ~np.isfinite(probs),
            "pred_probs row {i} contains a non-finite value (NaN or inf) at column {j}",
        ),
        (
            probs < 0,  # -0.0 < 0 is False, so negative zero is accepted
            "pred_probs row {i} has a negative value at column {j}; expected probabilities in [0, 1]",
        ),
        (
            probs > 1 + VALUE_TOLERANCE,
            "pred_probs row {i} has a value greater than 1 at column {j}; expected probabilities in [0, 1]",
        ),
    ]
    row_sums = probs.sum(axis=1)
    # NaN row sums compare False here; those rows are already caught as non-finite.
    bad_sum = np.abs(row_sums - 1.0) > row_sum_tol
    bad_row = bad_sum.copy()
    for bad, _ in problems:
        bad_row |= bad.any(axis=1)
    if not bad_row.any():
        return
    i = int(np.argmax(bad_row))
    for bad, message in problems:
        if bad[i].any():
            raise PredProbsError(message.format(i=offset + i, j=int(np.argmax(bad[i]))))
    raise PredProbsError(
        f"pred_probs row {offset + i} sums to {row_sums[i]:.6f}, expected 1 within {row_sum_tol:g}; "
        "pass probabilities (softmax outputs), not logits or scores"
    )
