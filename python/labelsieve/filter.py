"""Finding label issues: boolean masks or ranked indices of examples whose given label is likely
wrong (cleanlab 2.9 ``cleanlab.filter``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelsieve import _backend
from labelsieve._validation import (
    check_inputs,
    check_n_jobs,
    check_no_multi_label,
    check_square,
    row_sum_tol,
)
from labelsieve.count import _label_counts
from labelsieve.exceptions import InvalidInputError, LabelsError
from labelsieve.rank import _check_rank_by, ordered_issues

__all__ = ["find_label_issues", "find_label_issues_using_argmax_confusion_matrix", "find_predicted_neq_given"]

FILTER_BY = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
"""Accepted ``filter_by`` values; the first is the default."""
_NO_PRUNE_COUNTS = (
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
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
    n_jobs: int | None = None,
    verbose: bool = False,
    multi_label: bool = False,
) -> NDArray[Any]:
    """Flag examples whose given label is likely wrong, with Confident Learning.

    Returns a boolean mask of shape (N,), or, with ``return_indices_ranked_by`` (one of
    ``self_confidence``, ``normalized_margin``, ``confidence_weighted_entropy``), the flagged indices
    sorted from most to least likely mislabeled.

    ``filter_by`` selects the rule: ``prune_by_noise_rate`` (default; per (given, true) cell of the
    calibrated confident joint, the examples with the largest margin), ``prune_by_class`` (per given
    class, the examples with the lowest self-confidence), ``both`` (flagged by both),
    ``confident_learning`` (off-diagonal of the confident joint), ``predicted_neq_given`` (argmax !=
    label), ``low_self_confidence`` / ``low_normalized_margin`` (the lowest-scoring examples, as many
    as ``confident_learning`` flags). Except for the two ``low_*`` rules, an example whose given label
    is (within 1e-6) its top prediction is never flagged. Ties in scores and margins go to the lower
    index (cleanlab's own tie order depends on numpy's unstable sort). ``n_jobs`` threads (None = all
    cores); the result is the same for any value.
    """
    check_no_multi_label(multi_label)
    threads = check_n_jobs(n_jobs)
    labs, probs = check_inputs(labels, pred_probs)
    # Fewer than 2 distinct labels (unless all are 0): min == max, without np.unique's hashing.
    if labs.min() == labs.max() != 0:
        raise LabelsError("Labels must contain at least 2 classes.")
    remove, cj = check_issue_args(
        probs.shape[1],
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
        confident_joint=confident_joint,
        return_indices_ranked_by=return_indices_ranked_by,
    )
    mask, too_few = _backend.kernels().label_issues(
        labs,
        probs,
        filter_by,
        float(frac_noise),
        remove,
        int(min_examples_per_class),
        cj,
        row_sum_tol(probs),
        threads,
    )
    for c in too_few:
        warnings.warn(
            f"May not flag all label issues in class: {c}, it has too few examples (see argument: "
            "`min_examples_per_class`)",
            UserWarning,
            stacklevel=2,
        )
    if verbose:
        print(f"Number of label issues found: {int(mask.sum())}")
    if return_indices_ranked_by is None:
        return mask
    # The kernel above validated probs: the ordering skips that pass.
    return ordered_issues(mask, labs, probs, return_indices_ranked_by, rank_by_kwargs, validated=True)


def find_predicted_neq_given(labels: Any, pred_probs: Any, *, multi_label: bool = False) -> NDArray[np.bool_]:
    """Boolean mask of examples whose argmax prediction differs from the given label."""
    check_no_multi_label(multi_label)
    labs, probs = check_inputs(labels, pred_probs, allow_one_class=False)
    return _backend.kernels().predicted_neq_given(labs, probs, row_sum_tol(probs), None)


def find_label_issues_using_argmax_confusion_matrix(
    labels: Any, pred_probs: Any, *, calibrate: bool = True, filter_by: str = "prune_by_noise_rate"
) -> NDArray[np.bool_]:
    """``find_label_issues`` with the confusion matrix of (given label, argmax prediction) in place
    of the confident joint (the CL paper's C_confusion baseline); optionally calibrated."""
    labs, probs = check_inputs(labels, pred_probs)
    cj = _backend.kernels().argmax_confusion(labs, probs, row_sum_tol(probs), None)
    if calibrate:
        # Fortran order, as cleanlab's transposed confusion matrix (numpy then sums it by columns).
        cj = _backend.kernels().calibrate_confident_joint(
            np.asfortranarray(cj),
            _label_counts(labs, probs.shape[1]),
        )
    return find_label_issues(labs, probs, confident_joint=cj, filter_by=filter_by)


def check_issue_args(
    k: int,
    *,
    filter_by: str,
    frac_noise: float,
    num_to_remove_per_class: Any,
    min_examples_per_class: int,
    confident_joint: Any,
    return_indices_ranked_by: str | None,
) -> tuple[NDArray[np.int64] | None, NDArray[np.int64] | None]:
    """Check the options of ``find_label_issues`` (in memory or streamed) for ``k`` classes and
    warn as cleanlab does; returns ``num_to_remove_per_class`` and ``confident_joint`` as int64
    arrays (``None`` when not given or not used)."""
    if filter_by not in FILTER_BY:
        raise InvalidInputError(f"filter_by must be one of {list(FILTER_BY)}, but it is {filter_by!r}")
    if filter_by in _NO_PRUNE_COUNTS and (frac_noise != 1.0 or num_to_remove_per_class is not None):
        warnings.warn(
            "frac_noise and num_to_remove_per_class parameters are only supported for filter_by "
            "'prune_by_noise_rate', 'prune_by_class', and 'both'. They are not used for filter_by "
            f"'{filter_by}'.",
            UserWarning,
            stacklevel=3,
        )
        if num_to_remove_per_class is not None:
            raise InvalidInputError(
                "filter_by 'confident_learning', 'predicted_neq_given', 'low_normalized_margin' or "
                "'low_self_confidence' is not supported (yet) when setting 'num_to_remove_per_class'"
            )
    if filter_by == "confident_learning" and confident_joint is not None:
        warnings.warn(
            "The supplied `confident_joint` is ignored as `confident_joint` is recomputed internally using the "
            "supplied `labels` and `pred_probs`. If you still want to use custom `confident_joint` call function "
            "with `filter_by='both'`.",
            UserWarning,
            stacklevel=3,
        )
    if not (isinstance(frac_noise, int | float | np.floating) and 0.0 <= float(frac_noise) <= 1.0):
        raise InvalidInputError(f"frac_noise must be a number in [0, 1], but it is {frac_noise!r}")
    remove = None
    if num_to_remove_per_class is not None:
        remove = np.asarray(num_to_remove_per_class)
        if remove.shape != (k,) or remove.dtype.kind not in "iu":
            raise InvalidInputError(
                f"num_to_remove_per_class must be {k} integers (one per class), but it has shape {remove.shape} "
                f"and dtype {remove.dtype}"
            )
        remove = np.ascontiguousarray(remove, dtype=np.int64)
    cj = None
    if confident_joint is not None and filter_by != "confident_learning":
        cj = np.ascontiguousarray(check_square(confident_joint, "confident_joint", k), dtype=np.int64)
    if isinstance(min_examples_per_class, bool) or not isinstance(min_examples_per_class, int | np.integer):
        raise InvalidInputError(
            f"min_examples_per_class must be an integer, but it is {min_examples_per_class!r}"
        )
    if return_indices_ranked_by is not None:
        _check_rank_by(return_indices_ranked_by)
    return remove, cj
