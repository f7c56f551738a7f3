"""Dataset-level label-quality summaries (``cleanlab.dataset``): per-class noise, overlapping classes,
an overall health score and a printed health report.

Every function works from ``labels`` + ``pred_probs``, from a ``confident_joint``, or from an
estimated ``joint`` + ``num_examples``; results and printed text equal cleanlab 2.9's. Two deliberate
improvements over cleanlab (GitHub #1329): ``rank_classes_by_label_quality`` and ``health_summary``
also work when only ``confident_joint`` is given (``num_examples = confident_joint.sum()``), and
``health_summary(joint=..., num_examples=...)`` works instead of crashing.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.core.sorting import nargsort

__all__ = [
    "find_overlapping_classes",
    "health_summary",
    "overall_label_health_score",
    "rank_classes_by_label_quality",
]

_NUM_EXAMPLES_MESSAGE = (
    "Error: num_examples is None. You must either provide confident_joint, or provide both "
    "num_example and joint as input parameters."
)
_IGNORED_CJ_MESSAGE = (
    "The supplied `confident_joint` is ignored as `confident_joint` is recomuputed internally using the "
    "supplied `labels` and `pred_probs`. If you still want to use custom `confident_joint` call function "
    "with `estimation_method='off_diagonal_custom'`."
)


def _check_multi_label(multi_label: bool) -> None:
    from labelsieve._validation import check_no_multi_label

    check_no_multi_label(multi_label)


def _labels(labels: Any) -> np.ndarray | None:
    if labels is None:
        return None
    from labelsieve._validation import labels_to_array

    return np.asarray(labels_to_array(labels))


def _num_examples(
    num_examples: int | None, labels: np.ndarray | None, confident_joint: np.ndarray | None
) -> int:
    """``num_examples`` if given, else ``len(labels)``, else the total of ``confident_joint``."""
    if num_examples is not None:
        return num_examples
    if labels is not None:
        return len(labels)
    if confident_joint is not None:
        return int(np.sum(confident_joint))
    raise ValueError(_NUM_EXAMPLES_MESSAGE)


def _joint(
    labels: np.ndarray | None,
    pred_probs: np.ndarray | None,
    joint: np.ndarray | None,
    confident_joint: np.ndarray | None,
) -> np.ndarray:
    if joint is not None:
        return np.asarray(joint)
    if confident_joint is None and (labels is None or pred_probs is None):
        raise ValueError(
            "Provide `labels` and `pred_probs`, or `confident_joint`, or `joint` (with `num_examples`); "
            f"found labels={'None' if labels is None else 'given'}, "
            f"pred_probs={'None' if pred_probs is None else 'given'}."
        )
    from labelsieve.count import estimate_joint

    return np.asarray(estimate_joint(labels, pred_probs, confident_joint=confident_joint))


def _checked_joint_and_issue_count(
    labels: np.ndarray, pred_probs: Any, calibrate: bool
) -> tuple[np.ndarray, int]:
    """The confident joint and ``num_label_issues(estimation_method="off_diagonal")`` in one go."""
    from labelsieve._validation import check_inputs
    from labelsieve.count import _joint_and_issue_count

    labs, probs = check_inputs(labels, pred_probs)
    return _joint_and_issue_count(labs, probs, calibrate=calibrate)


def _display(df: pd.DataFrame) -> None:
    try:
        from IPython.display import display
    except ImportError:
        print(df)
    else:
        display(df)


def _print_health_score(score: float, num_issues: int, num_examples: int) -> None:
    print(
        f" * Overall, about {1 - score:.0%} ({num_issues:,} of the {num_examples:,}) "
        "labels in your dataset have potential issues."
    )
    print(f" ** The overall label health score for this dataset is: {score:.2f}.")


def rank_classes_by_label_quality(
    labels: Any = None,
    pred_probs: np.ndarray | None = None,
    *,
    class_names: Any = None,
    num_examples: int | None = None,
    joint: np.ndarray | None = None,
    confident_joint: np.ndarray | None = None,
    multi_label: bool = False,
) -> pd.DataFrame:
    """Per-class label noise, ranked from the lowest-quality class to the highest.

    Parameters
    ----------
    labels, pred_probs : given labels (N,) and out-of-sample predicted probabilities (N, K)
    class_names : optional names; adds a first column ``Class Name``
    num_examples : N; defaults to ``len(labels)``, else ``confident_joint.sum()``
    joint : estimated joint ``P(label=i, true_label=j)`` (K, K); estimated when not given
    confident_joint : (K, K) counts used to estimate ``joint`` (calibrated against ``labels`` if given)
    multi_label : not supported (raises ``NotImplementedError``)

    Returns
    -------
    DataFrame with columns [``Class Name``], ``Class Index``, ``Label Issues`` (examples given label k
    that are likely wrong), ``Inverse Label Issues`` (examples truly k labelled otherwise), ``Label Noise``
    ``P(true != k | given = k)``, ``Inverse Label Noise`` ``P(given != k | true = k)`` and
    ``Label Quality Score`` (``1 - Label Noise``), sorted by ``Label Quality Score`` ascending.

    Unlike cleanlab 2.9 (GitHub #1329), this also works when only ``confident_joint`` is given:
    ``num_examples`` then defaults to ``confident_joint.sum()``.
    """
    _check_multi_label(multi_label)
    labels = _labels(labels)
    joint = _joint(labels, pred_probs, joint, confident_joint)
    num_examples = _num_examples(num_examples, labels, confident_joint)
    return _rank_classes(joint, num_examples, class_names)


def _rank_classes(joint: np.ndarray, num_examples: int, class_names: Any) -> pd.DataFrame:
    given_label_noise = joint.sum(axis=1) - joint.diagonal()
    true_label_noise = joint.sum(axis=0) - joint.diagonal()
    label_noise = given_label_noise / np.clip(joint.sum(axis=1), a_min=1e-6, a_max=None)
    inverse_label_noise = true_label_noise / np.clip(joint.sum(axis=0), a_min=1e-6, a_max=None)
    columns: dict[str, Any] = {
        "Class Index": np.arange(len(joint)),
        "Label Issues": np.round(num_examples * given_label_noise).astype(int),
        "Inverse Label Issues": np.round(num_examples * true_label_noise).astype(int),
        "Label Noise": label_noise,
        "Inverse Label Noise": inverse_label_noise,
        "Label Quality Score": 1 - label_noise,
    }
    if class_names is not None:
        columns = {"Class Name": [class_names[k] for k in range(len(joint))]} | columns
    return _sorted_frame(columns, by="Label Quality Score", ascending=True)


def _sorted_frame(columns: dict[str, Any], *, by: str, ascending: bool) -> pd.DataFrame:
    """``pd.DataFrame(columns).sort_values(by, ascending=...).reset_index(drop=True)``, with the
    rows put in order before the frame is built (the same order: pandas' own ``nargsort``, which
    ``sort_values`` uses for one key, ties included); the frame is built once, not sorted after."""
    order = nargsort(columns[by], kind="quicksort", ascending=ascending, na_position="last")
    return pd.DataFrame(
        {
            name: values[order] if isinstance(values, np.ndarray) else [values[i] for i in order]
            for name, values in columns.items()
        }
    )


def find_overlapping_classes(
    labels: Any = None,
    pred_probs: np.ndarray | None = None,
    *,
    asymmetric: bool = False,
    class_names: Any = None,
    num_examples: int | None = None,
    joint: np.ndarray | None = None,
    confident_joint: np.ndarray | None = None,
    multi_label: bool = False,
) -> pd.DataFrame:
    """Pairs of classes that the labels confuse, most overlapping first.

    Parameters as :func:`rank_classes_by_label_quality`, plus ``asymmetric``: if False (default) the
    overlap of classes A < B is ``joint[A, B] + joint[B, A]``; if True every ordered pair A != B is
    listed with ``joint[A, B]`` (given label A, true label B).

    Returns
    -------
    DataFrame with columns [``Class Name A``, ``Class Name B``], ``Class Index A``, ``Class Index B``,
    ``Num Overlapping Examples`` (``round(Joint Probability * num_examples)``) and ``Joint Probability``,
    sorted by ``Joint Probability`` descending.
    """
    _check_multi_label(multi_label)
    labels = _labels(labels)
    joint = _joint(labels, pred_probs, joint, confident_joint)
    num_examples = _num_examples(num_examples, labels, confident_joint)
    return _overlapping_classes(joint, num_examples, asymmetric, class_names)


def _overlapping_classes(
    joint: np.ndarray, num_examples: int, asymmetric: bool, class_names: Any
) -> pd.DataFrame:
    # K (K - 1) / 2 pairs: 499,500 at K = 1,000. The overlaps are taken in row-major pair order,
    # put in order, and only then are the pairs' class indices and rounded counts derived, into
    # one integer array whose rows become the frame's columns (no index arrays in pair order).
    num_classes = len(joint)
    pairs = _pair_mask(num_classes, asymmetric)
    joint_probability = joint[pairs]
    if not asymmetric:
        joint_probability += joint.T[pairs]  # triu(joint) + tril(joint).T at (A, B)
    del pairs
    order = nargsort(joint_probability, kind="quicksort", ascending=False, na_position="last")
    joint_probability = joint_probability[order]
    ints = np.empty((3, len(order)), dtype=np.int64)
    _pairs_at(order, num_classes, asymmetric, out=ints[:2])
    del order
    ints[2] = np.round(joint_probability * num_examples)
    columns: dict[str, Any] = {}
    if class_names is not None:
        columns["Class Name A"] = [class_names[a] for a in ints[0]]
        columns["Class Name B"] = [class_names[b] for b in ints[1]]
    columns["Class Index A"] = ints[0]
    columns["Class Index B"] = ints[1]
    columns["Num Overlapping Examples"] = ints[2]
    columns["Joint Probability"] = joint_probability
    return pd.DataFrame(columns, copy=False)  # the frame keeps these arrays: no copy


def _pair_mask(num_classes: int, asymmetric: bool) -> np.ndarray:
    """(K, K) mask whose row-major True cells are the class pairs (A, B) listed: A < B, or every
    A != B if ``asymmetric``."""
    if asymmetric:
        return ~np.eye(num_classes, dtype=bool)
    return np.triu(np.ones((num_classes, num_classes), dtype=bool), k=1)


def _pairs_at(positions: np.ndarray, num_classes: int, asymmetric: bool, out: np.ndarray) -> None:
    """Class indices A (``out[0]``) and B (``out[1]``) of the pairs at ``positions`` in the
    row-major listing of ``_pair_mask``."""
    a, b = out
    if asymmetric:
        np.floor_divide(positions, num_classes - 1, out=a)
        np.remainder(positions, num_classes - 1, out=b)
        b += b >= a  # skip the diagonal
        return
    # Row A lists K - 1 - A pairs; it starts at position starts[A].
    row_lengths = np.arange(num_classes - 1, -1, -1, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(row_lengths)[:-1]))
    a[:] = np.searchsorted(starts, positions, side="right") - 1
    np.subtract(positions, starts[a], out=b)
    b += a + 1


def overall_label_health_score(
    labels: Any = None,
    pred_probs: np.ndarray | None = None,
    *,
    num_examples: int | None = None,
    confident_joint: np.ndarray | None = None,
    joint: np.ndarray | None = None,
    multi_label: bool = False,
    verbose: bool = True,
) -> float:
    """Fraction of labels estimated to be correct (1.0 = no label issues).

    With ``labels`` and ``pred_probs``: ``1 - num_label_issues(labels, pred_probs) / num_examples``
    (a supplied ``confident_joint`` is ignored with a warning, as in cleanlab). Otherwise the trace of
    ``joint`` (estimated from ``confident_joint`` if not given). ``verbose`` prints two summary lines.
    """
    _check_multi_label(multi_label)
    labels = _labels(labels)
    if labels is not None and pred_probs is not None:
        if confident_joint is not None:
            warnings.warn(_IGNORED_CJ_MESSAGE, UserWarning, stacklevel=2)
        _, num_issues = _checked_joint_and_issue_count(labels, pred_probs, calibrate=False)
        return _health_score_from_issues(num_issues, _num_examples(num_examples, labels, None), verbose)
    joint = _joint(labels, pred_probs, joint, confident_joint)
    return _health_score_from_joint(joint, _num_examples(num_examples, labels, confident_joint), verbose)


def _health_score_from_issues(num_issues: int, num_examples: int, verbose: bool) -> float:
    score = 1 - np.int64(num_issues) / num_examples
    if verbose:
        _print_health_score(score, num_issues, num_examples)
    return score


def _health_score_from_joint(joint: np.ndarray, num_examples: int, verbose: bool) -> float:
    score = np.trace(joint)
    if verbose:
        _print_health_score(score, int(np.round(num_examples * (1 - score))), num_examples)
    return score


def health_summary(
    labels: Any = None,
    pred_probs: np.ndarray | None = None,
    *,
    asymmetric: bool = False,
    class_names: Any = None,
    num_examples: int | None = None,
    joint: np.ndarray | None = None,
    confident_joint: np.ndarray | None = None,
    multi_label: bool = False,
    verbose: bool = True,
) -> dict[str, Any]:
    """The three dataset summaries at once, optionally printed as a report.

    Returns a dict with keys ``overall_label_health_score`` (see :func:`overall_label_health_score`),
    ``joint``, ``classes_by_label_quality`` (see :func:`rank_classes_by_label_quality`) and
    ``overlapping_classes`` (see :func:`find_overlapping_classes`). The confident joint is computed
    once (with its off-diagonal indices, which give the issue count) and shared by all three.

    Unlike cleanlab 2.9 (GitHub #1329), this also works with only ``confident_joint``
    (``num_examples = confident_joint.sum()``) and with ``joint`` + ``num_examples``.
    """
    _check_multi_label(multi_label)
    labels = _labels(labels)
    have_data = labels is not None and pred_probs is not None
    num_issues: int | None = None
    if have_data:
        if confident_joint is not None:
            warnings.warn(_IGNORED_CJ_MESSAGE, UserWarning, stacklevel=2)
        computed_cj, num_issues = _checked_joint_and_issue_count(labels, pred_probs, calibrate=True)
        if joint is None and confident_joint is None:
            # Already calibrated against labels: estimate_joint only normalizes it.
            joint = _joint(None, None, None, computed_cj)
        del computed_cj  # K x K: 8 MB at K = 1,000
    joint = _joint(labels, pred_probs, joint, confident_joint)
    num_examples = _num_examples(num_examples, labels, confident_joint)
    return _health_summary_from(
        joint, num_examples, num_issues, asymmetric=asymmetric, class_names=class_names, verbose=verbose
    )


def _health_summary_from(
    joint: np.ndarray,
    num_examples: int,
    num_issues: int | None,
    *,
    asymmetric: bool,
    class_names: Any,
    verbose: bool,
) -> dict[str, Any]:
    """``health_summary`` once the joint, N and (with data) the issue count are known; shared with
    ``labelsieve.dask.health_summary``."""
    num_classes = len(joint)

    if verbose:
        middle = f"|   for your dataset with {num_examples:,} examples and {num_classes:,} classes.  |"
        width = len(middle)
        print("-" * width)
        print("|  Generating a Cleanlab Dataset Health Summary".ljust(width - 1) + "|")
        print(middle)
        print("|  Note, Cleanlab is not a medical doctor... yet.".ljust(width - 1) + "|")
        print("-" * width)
        print()

    classes = _rank_classes(joint, num_examples, class_names)
    if verbose:
        print("Overall Class Quality and Noise across your dataset (below)")
        print("-" * 60, "\n")
        _display(classes)
        print()

    overlapping = _overlapping_classes(joint, num_examples, asymmetric, class_names)
    if verbose:
        print("Class Overlap. In some cases, you may want to merge classes in the top rows (below)")
        print("-" * 83)
        print()
        _display(overlapping)
        print()

    if num_issues is not None:
        score = _health_score_from_issues(num_issues, num_examples, verbose)
    else:
        score = _health_score_from_joint(joint, num_examples, verbose)
    if verbose:
        print("\nGenerated with <3 from Cleanlab.\n")
    return {
        "overall_label_health_score": score,
        "joint": joint,
        "classes_by_label_quality": classes,
        "overlapping_classes": overlapping,
    }
