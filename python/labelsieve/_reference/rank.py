"""Per-example label quality scores and orderings by them (lower score = more likely mislabelled)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve._reference.select import smallest_positions
from labelsieve._reference.validate import as_float64, checked_pred_probs
from labelsieve.exceptions import InvalidInputError

SCORE_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
# Floors used by confidence_weighted_entropy (cleanlab's CLIPPING_LOWER_BOUND / EPSILON).
MIN_SELF_CONFIDENCE = 1e-6
MIN_ENTROPY_RATIO = 1e-6


def adjust_pred_probs(probs: NDArray[np.float64], thresholds: NDArray[np.float64]) -> NDArray[np.float64]:
    """cleanlab's adjust_pred_probs: subtract the thresholds, add back their max, renormalise rows."""
    t = np.asarray(thresholds, dtype=np.float64).ravel()
    shifted = probs - t + t.max()
    return shifted / shifted.sum(axis=1, keepdims=True)


def _normalized_entropy(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    # x * log(x) with 0 * log(0) = 0, like scipy's xlogy.
    safe = np.where(probs > 0, probs, 1.0)
    return -np.sum(probs * np.log(safe), axis=1) / np.log(probs.shape[1])


def scores_from_probs(labels: NDArray[Any], probs: NDArray[np.float64], method: str) -> NDArray[np.float64]:
    """Scores of already validated float64 probabilities (no adjustment)."""
    rows = np.arange(len(labels))
    self_confidence = probs[rows, labels]
    if method == "self_confidence":
        return self_confidence.copy()
    if method == "normalized_margin":
        # Largest probability among the other classes, without an N x (K-1) copy.
        others = probs.copy()
        others[rows, labels] = -np.inf
        return (self_confidence - others.max(axis=1) + 1) / 2
    if method == "confidence_weighted_entropy":
        ratio = _normalized_entropy(probs) / np.maximum(self_confidence, MIN_SELF_CONFIDENCE)
        # A one-hot correct row has ratio 0 and therefore score log(1) / 1e-6 = 0 (cleanlab's quirk).
        return np.log(ratio + 1) / np.maximum(ratio, MIN_ENTROPY_RATIO)
    raise _unknown_method(method)


def _unknown_method(method: str) -> InvalidInputError:
    return InvalidInputError(
        f"{method} is not a valid scoring method for rank_by! Please choose a valid rank_by: "
        "self_confidence, normalized_margin, confidence_weighted_entropy"
    )


def check_score_method(method: str, thresholds: NDArray[np.float64] | None) -> None:
    """Reject an unknown ``method`` and adjusted confidence_weighted_entropy, as cleanlab does."""
    if method not in SCORE_METHODS:
        raise _unknown_method(method)
    if thresholds is not None and method == "confidence_weighted_entropy":
        raise InvalidInputError(
            "adjust_pred_probs is not currently supported for confidence_weighted_entropy."
        )


def scores_of(
    labels: NDArray[Any], probs: NDArray[np.float64], method: str, thresholds: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """Scores of already validated float64 probabilities, adjusted by ``thresholds`` when given."""
    check_score_method(method, thresholds)
    if thresholds is not None:
        probs = adjust_pred_probs(probs, thresholds)
    return scores_from_probs(labels, probs, method)


def label_quality_scores(
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    method: str,
    thresholds: NDArray[np.float64] | None,
    row_sum_tol: float,
    n_jobs: int | None,
) -> NDArray[np.float64]:
    """Per-example scores; ``thresholds`` given means adjust_pred_probs with those thresholds."""
    return scores_of(np.asarray(labels), checked_pred_probs(pred_probs, row_sum_tol), method, thresholds)


def smallest_indices(scores: NDArray[np.float64], top: int) -> NDArray[np.int64]:
    """Indices of the ``top`` smallest scores in ascending order, ties by index."""
    return smallest_positions(np.asarray(scores, dtype=np.float64), top)


def order_label_issues(
    mask: NDArray[np.bool_],
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    method: str,
    thresholds: NDArray[np.float64] | None,
    row_sum_tol: float | None,
    n_jobs: int | None,
) -> NDArray[np.int64]:
    """Indices of ``mask`` sorted by ascending score, ties by index; ``row_sum_tol`` None: the
    caller has just validated ``pred_probs``."""
    if row_sum_tol is None:
        scores = scores_of(np.asarray(labels), as_float64(pred_probs), method, thresholds)
    else:
        scores = label_quality_scores(labels, pred_probs, method, thresholds, row_sum_tol, n_jobs)
    flagged = np.flatnonzero(np.asarray(mask))
    return flagged[np.argsort(scores[flagged], kind="stable")].astype(np.int64)
