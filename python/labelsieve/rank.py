"""Label quality scores (higher = more likely correct) and the ordering of label issues
(cleanlab 2.9 ``cleanlab.rank``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend
from labelsieve._validation import check_inputs, labels_to_array, row_sum_tol
from labelsieve.exceptions import InvalidInputError, LabelsError

__all__ = [
    "find_top_issues",
    "get_confidence_weighted_entropy_for_each_label",
    "get_label_quality_ensemble_scores",
    "get_label_quality_scores",
    "get_normalized_margin_for_each_label",
    "get_self_confidence_for_each_label",
    "order_label_issues",
]

METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
"""Accepted scoring methods (``method`` / ``rank_by``); the first is the default."""


def _check_rank_by(method: str) -> None:
    if method not in METHODS:
        raise InvalidInputError(
            f"{method} is not a valid scoring method for rank_by! Please choose a valid rank_by: "
            "self_confidence, normalized_margin, confidence_weighted_entropy"
        )


def _thresholds_if_adjusted(
    labels: NDArray[Any], probs: NDArray[Any], method: str, adjust_pred_probs: bool
) -> NDArray[np.float64] | None:
    """The confident thresholds that ``adjust_pred_probs`` subtracts, or None when not adjusting."""
    if not adjust_pred_probs:
        return None
    if method == "confidence_weighted_entropy":
        raise InvalidInputError(
            "adjust_pred_probs is not currently supported for confidence_weighted_entropy."
        )
    return _backend.kernels().confident_thresholds(labels, probs, row_sum_tol(probs), None)


def _scores(
    labels: NDArray[Any], probs: NDArray[Any], method: str, adjust_pred_probs: bool
) -> NDArray[np.float64]:
    _check_rank_by(method)
    thresholds = _thresholds_if_adjusted(labels, probs, method, adjust_pred_probs)
    return _backend.kernels().label_quality_scores(
        labels, probs, method, thresholds, row_sum_tol(probs), None
    )


def get_label_quality_scores(
    labels: Any, pred_probs: Any, *, method: str = "self_confidence", adjust_pred_probs: bool = False
) -> NDArray[np.float64]:
    """Per-example label quality in [0, 1]; low scores are likely label errors.

    ``self_confidence`` is ``pred_probs[i, labels[i]]``; ``normalized_margin`` is
    ``(p_given - max_other + 1) / 2``; ``confidence_weighted_entropy`` is ``log(1 + x) / x`` with
    ``x`` the normalised entropy over self-confidence (0 for a one-hot correct row, as in cleanlab).
    ``adjust_pred_probs`` subtracts the per-class confident thresholds first.
    """
    labs, probs = check_inputs(labels, pred_probs)
    return _scores(labs, probs, method, adjust_pred_probs)


def get_self_confidence_for_each_label(labels: Any, pred_probs: Any) -> NDArray[np.float64]:
    """``pred_probs[i, labels[i]]`` for every example."""
    return get_label_quality_scores(labels, pred_probs, method="self_confidence")


def get_normalized_margin_for_each_label(labels: Any, pred_probs: Any) -> NDArray[np.float64]:
    """``(pred_probs[i, labels[i]] - max over other classes + 1) / 2`` for every example."""
    return get_label_quality_scores(labels, pred_probs, method="normalized_margin")


def get_confidence_weighted_entropy_for_each_label(labels: Any, pred_probs: Any) -> NDArray[np.float64]:
    """cleanlab's confidence-weighted entropy score for every example."""
    return get_label_quality_scores(labels, pred_probs, method="confidence_weighted_entropy")


def order_label_issues(
    label_issues_mask: Any,
    labels: Any,
    pred_probs: Any,
    *,
    rank_by: str = "self_confidence",
    rank_by_kwargs: dict[str, Any] | None = None,
) -> NDArray[np.int64]:
    """Indices of the flagged examples sorted by ascending label quality (scores computed on the
    whole dataset, so ``adjust_pred_probs`` thresholds use every example); ties by index."""
    _check_rank_by(rank_by)
    labs, probs = check_inputs(labels, pred_probs)
    if labs.min() == labs.max() != 0:
        # As cleanlab: one class is allowed only when every label is 0 (the one-vs-rest case).
        raise LabelsError("Labels must contain at least 2 classes.")
    mask = np.asarray(label_issues_mask)
    if mask.shape != labs.shape or mask.dtype != np.bool_:
        raise InvalidInputError(
            f"label_issues_mask must be a boolean array of shape {labs.shape}, but it has shape {mask.shape} "
            f"and dtype {mask.dtype}"
        )
    return ordered_issues(mask, labs, probs, rank_by, rank_by_kwargs, validated=False)


def ordered_issues(
    mask: NDArray[np.bool_],
    labs: NDArray[Any],
    probs: NDArray[Any],
    rank_by: str,
    rank_by_kwargs: dict[str, Any] | None,
    *,
    validated: bool,
) -> NDArray[np.int64]:
    """``order_label_issues`` on checked arguments; ``validated``: ``probs``' values were just
    validated by the caller (``find_label_issues``), so the kernel skips that pass."""
    adjust = rank_adjusts(rank_by, rank_by_kwargs)
    k = _backend.kernels()
    tol = row_sum_tol(probs)
    thresholds = k.confident_thresholds(labs, probs, tol, None) if adjust else None
    return k.order_label_issues(
        np.ascontiguousarray(mask), labs, probs, rank_by, thresholds, None if validated else tol, None
    )


def rank_adjusts(rank_by: str, rank_by_kwargs: dict[str, Any] | None) -> bool:
    """Check ``rank_by_kwargs`` of an ordering by ``rank_by``; True when scores use adjusted pred_probs."""
    kwargs = dict(rank_by_kwargs or {})
    adjust = bool(kwargs.pop("adjust_pred_probs", False))
    if kwargs:
        raise InvalidInputError(f"rank_by_kwargs accepts only 'adjust_pred_probs', but got {sorted(kwargs)}")
    if adjust and rank_by == "confidence_weighted_entropy":
        raise InvalidInputError(
            "adjust_pred_probs is not currently supported for confidence_weighted_entropy."
        )
    return adjust


def find_top_issues(quality_scores: Any, *, top: int | None = 10) -> NDArray[np.int64]:
    """Indices of the ``top`` lowest quality scores, lowest first (all of them when ``top`` is None
    or larger than N); ties by index."""
    scores = np.ascontiguousarray(np.asarray(quality_scores, dtype=np.float64))
    if scores.ndim != 1:
        raise InvalidInputError(f"quality_scores must be 1-D, but it has shape {scores.shape}")
    n = scores.shape[0]
    if top is None or top > n:
        top = n
    if top < 0:
        raise InvalidInputError(f"top must be >= 0 or None, but it is {top}")
    return _backend.kernels().smallest_indices(scores, int(top))


def _log_loss(labels: NDArray[Any], probs: NDArray[Any]) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(labels, probs, labels=np.arange(probs.shape[1])))


def get_label_quality_ensemble_scores(
    labels: Any,
    pred_probs_list: list[Any],
    *,
    method: str = "self_confidence",
    adjust_pred_probs: bool = False,
    weight_ensemble_members_by: str = "accuracy",
    custom_weights: Any = None,
    log_loss_search_T_values: list[float] | None = None,
    verbose: bool = True,
) -> NDArray[np.float64]:
    """Label quality from an ensemble of models: a weighted sum of each member's scores, weighted
    ``uniform``, by ``accuracy`` (default), by ``log_loss_search`` over temperatures, or by
    ``custom`` weights (not normalised, as in cleanlab)."""
    if not isinstance(pred_probs_list, list):
        raise InvalidInputError(
            "pred_probs_list needs to be a list. Provide a list of pred_probs arrays, one per ensemble member."
        )
    if len(pred_probs_list) == 0:
        raise InvalidInputError("pred_probs_list is empty.")
    if len(pred_probs_list) == 1:
        warnings.warn(
            "pred_probs_list only has one element. Consider using get_label_quality_scores() if you only have a "
            "single array of pred_probs.",
            UserWarning,
            stacklevel=2,
        )
    if custom_weights is not None and weight_ensemble_members_by != "custom":
        raise InvalidInputError('custom_weights provided but weight_ensemble_members_by is not "custom"!')
    t_values = (
        [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 200]
        if log_loss_search_T_values is None
        else log_loss_search_T_values
    )
    labs = labels_to_array(labels)
    members = [check_inputs(labs, p)[1] for p in pred_probs_list]
    scores = np.stack([_scores(labs, p, method, adjust_pred_probs) for p in members])
    if weight_ensemble_members_by == "uniform":
        weights = np.full(len(members), 1.0 / len(members))
    elif weight_ensemble_members_by == "accuracy":
        acc = np.array([np.mean(p.argmax(axis=1) == labs) for p in members])
        weights = acc / acc.sum()
    elif weight_ensemble_members_by == "log_loss_search":
        clipped = [np.clip(p.astype(np.float64), 1e-6, None) for p in members]
        losses = np.array([_log_loss(labs, c / c.sum(axis=1, keepdims=True)) for c in clipped])
        best, weights = np.inf, np.full(len(members), 1.0 / len(members))
        for t in t_values:
            w = np.exp(-t * losses)
            w = w / w.sum()
            loss = _log_loss(labs, sum(wi * p.astype(np.float64) for wi, p in zip(w, members, strict=True)))
            if loss < best:
                best, weights = loss, w
    elif weight_ensemble_members_by == "custom":
        weights = np.asarray(custom_weights, dtype=np.float64)
        if weights.shape != (len(members),):
            raise InvalidInputError(
                f"custom_weights must have one weight per ensemble member ({len(members)}), but has shape {weights.shape}"
            )
    else:
        raise InvalidInputError(
            f"{weight_ensemble_members_by} is not a valid weighting method for weight_ensemble_members_by! Please "
            "choose a valid weight_ensemble_members_by: uniform, accuracy, custom"
        )
    if verbose:
        print(f"Weighting scheme for ensemble: {weight_ensemble_members_by}")
        if weight_ensemble_members_by in ("accuracy", "log_loss_search", "custom"):
            print("Ensemble members will be weighted by: ", weights)
    return np.asarray(weights @ scores, dtype=np.float64)
