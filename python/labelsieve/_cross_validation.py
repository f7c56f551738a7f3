"""Cross-validated out-of-sample ``pred_probs`` and the noise estimates built on them.

These are the four cross-validation helpers of ``cleanlab.count`` (re-exported from
``labelsieve.count``): any scikit-learn-style classifier is cloned per fold of a
``StratifiedKFold(shuffle=True, random_state=seed)`` split, fitted on the training part and asked for
``predict_proba`` on the held-out part; the pooled out-of-fold probabilities then feed one confident
joint and the latent estimates. Results equal cleanlab 2.9's for the same ``seed``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from labelsieve.exceptions import InvalidDtypeError, InvalidInputError, LabelsError

__all__ = [
    "estimate_confident_joint_and_cv_pred_proba",
    "estimate_cv_predicted_probabilities",
    "estimate_noise_matrices",
    "estimate_py_noise_matrices_and_cv_pred_proba",
]

_CLONE_MESSAGE = (
    "`clf` must be clonable via: sklearn.base.clone(clf). You can either implement instance method "
    "`clf.get_params()` to produce a fresh untrained copy of this model, or you can implement the "
    "cross-validation outside of cleanlab and pass in the obtained `pred_probs` to skip cleanlab's "
    "internal cross-validation"
)


def _is_torch_dataset(X: Any) -> bool:
    # Only look at torch if the caller already imported it: never import it ourselves.
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(X, torch.utils.data.Dataset)


def _subset(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of ``X``: ``.iloc`` for pandas, ``Subset`` for torch datasets, ``X[idx]`` otherwise."""
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if _is_torch_dataset(X):
        return sys.modules["torch"].utils.data.Subset(X, idx)
    try:
        return X[idx]
    except Exception as err:
        if hasattr(X, "tocsr"):  # scipy.sparse formats without row indexing (coo, dia, ...)
            return X.tocsr()[idx]
        if isinstance(X, list):
            return [X[i] for i in idx]
        raise ValueError(
            "Cleanlab cannot split this form of dataset (required for cross-validation). Try a "
            "different data format, or implement the cross-validation yourself and instead provide "
            f"out-of-sample `pred_probs`. Type of X: {type(X).__name__}."
        ) from err


def _labels_array(labels: Any) -> np.ndarray:
    from labelsieve._validation import labels_to_array

    return np.asarray(labels_to_array(labels))


def check_features_and_labels(X: Any, labels: Any, pred_probs: Any = None) -> np.ndarray:
    """Check ``X`` (and ``pred_probs``) against the labels; returns the labels as an integer array.

    ``X`` may be None only when ``pred_probs`` is given; it must have ``len`` or ``shape[0]`` equal to
    the number of labels. Labels must be non-negative integers with at least 2 distinct classes.
    """
    from labelsieve._validation import check_inputs

    labels = _labels_array(labels)
    if labels.size and labels.min() < 0:
        raise LabelsError(
            f"Labels must be non-negative integers corresponding to class indices, but labels[{int(labels.argmin())}] "
            f"= {labels.min()}"
        )
    if len(np.unique(labels)) < 2:
        raise LabelsError(f"Labels must contain at least 2 classes, but found {np.unique(labels).tolist()}.")
    if pred_probs is not None:
        check_inputs(labels, pred_probs)
    elif X is None:
        raise InvalidInputError("Data features X cannot be None. Currently X is None.")
    if X is not None:
        try:
            num_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        except TypeError as err:
            raise InvalidDtypeError("Data features X must support either: len(X) or X.shape[0]") from err
        if num_rows != len(labels):
            raise InvalidInputError(
                f"X and labels must be same length, but X is length {num_rows} and labels is length {len(labels)}."
            )
    return labels


def estimate_confident_joint_and_cv_pred_proba(
    X: Any,
    labels: Any,
    clf: Any = None,
    *,
    cv_n_folds: int = 5,
    thresholds: np.ndarray | None = None,
    seed: int | None = None,
    calibrate: bool = True,
    clf_kwargs: Mapping[str, Any] | None = None,
    validation_func: Callable[[Any, Any], Mapping[str, Any]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validated out-of-sample ``pred_probs`` and the confident joint computed from them.

    Parameters
    ----------
    X : array-like, sparse matrix, pandas DataFrame or torch Dataset of N examples
    labels : (N,) integer labels in ``0..K-1``; every class must be present
    clf : scikit-learn-style classifier with ``fit``/``predict_proba``, cloned per fold
        (default ``LogisticRegression()``)
    cv_n_folds : number of ``StratifiedKFold`` folds
    thresholds : optional per-class thresholds passed to ``compute_confident_joint``
    seed : ``random_state`` of the fold shuffle
    calibrate : calibrate the confident joint (see ``compute_confident_joint``)
    clf_kwargs : extra keyword arguments for every ``clf.fit`` call
    validation_func : ``f(X_holdout, y_holdout) -> dict`` of extra ``fit`` keyword arguments per fold

    Returns
    -------
    (confident_joint (K, K), pred_probs (N, K))

    Notes
    -----
    If a class is absent from a training fold (a class with fewer examples than folds), its first
    held-out example is also put into the training fold (with a warning) and, after prediction, that
    example's out-of-fold probabilities are overwritten by a one-hot vector on its given label. The
    confident joint is computed once from the pooled out-of-fold ``pred_probs``.
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from labelsieve.count import compute_confident_joint

    if clf is None:
        clf = LogisticRegression()
    clf_kwargs = dict(clf_kwargs or {})
    labels = check_features_and_labels(X, labels)
    num_classes = len(np.unique(labels))
    num_examples = len(labels)

    skf = StratifiedKFold(n_splits=cv_n_folds, shuffle=True, random_state=seed)
    pred_probs = np.zeros((num_examples, num_classes))
    is_torch = _is_torch_dataset(X)
    for train_idx, holdout_idx in skf.split(X=labels, y=labels):
        try:
            clf_copy = clone(clf)
        except Exception as err:
            raise ValueError(_CLONE_MESSAGE) from err

        missing = sorted(set(range(num_classes)) - set(labels[train_idx].tolist()))
        duplicated: list[int] = []
        if missing and not is_torch:
            warnings.warn(
                "Duplicated some data across multiple folds to ensure training does not fail because "
                "these classes do not have enough data for proper cross-validation: "
                f"{set(missing)}.",
                stacklevel=2,
            )
            holdout_labels = labels[holdout_idx]
            for k in missing:
                hits = np.flatnonzero(holdout_labels == k)
                if len(hits):
                    duplicated.append(int(holdout_idx[hits[0]]))
            train_idx = np.concatenate([train_idx, np.asarray(duplicated, dtype=train_idx.dtype)])

        X_train, y_train = _subset(X, train_idx), labels[train_idx]
        X_holdout, y_holdout = _subset(X, holdout_idx), labels[holdout_idx]

        validation_kwargs: Mapping[str, Any] = {}
        if validation_func is not None:
            if not callable(validation_func):
                raise TypeError("validation_func must be callable function with args: X_val, y_val")
            validation_kwargs = validation_func(X_holdout, y_holdout)

        clf_copy.fit(X_train, y_train, **clf_kwargs, **validation_kwargs)
        pred_probs[holdout_idx] = clf_copy.predict_proba(X_holdout)
        for i in duplicated:
            pred_probs[i] = 0.0
            pred_probs[i, labels[i]] = 1.0

    confident_joint = compute_confident_joint(
        labels=labels, pred_probs=pred_probs, thresholds=thresholds, calibrate=calibrate
    )
    return np.asarray(confident_joint), pred_probs


def estimate_py_noise_matrices_and_cv_pred_proba(
    X: Any,
    labels: Any,
    clf: Any = None,
    *,
    cv_n_folds: int = 5,
    thresholds: np.ndarray | None = None,
    converge_latent_estimates: bool = False,
    py_method: str = "cnt",
    seed: int | None = None,
    clf_kwargs: Mapping[str, Any] | None = None,
    validation_func: Callable[[Any, Any], Mapping[str, Any]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cross-validated ``pred_probs`` plus ``py``, the noise matrix, its inverse and the confident joint.

    Same arguments as :func:`estimate_confident_joint_and_cv_pred_proba`, plus ``py_method`` and
    ``converge_latent_estimates`` (default ``False``, as in cleanlab) for ``estimate_latent``.

    Returns
    -------
    (py (K,), noise_matrix (K, K), inverse_noise_matrix (K, K), confident_joint (K, K), pred_probs (N, K))
    """
    from labelsieve.count import estimate_latent

    confident_joint, pred_probs = estimate_confident_joint_and_cv_pred_proba(
        X,
        labels,
        clf,
        cv_n_folds=cv_n_folds,
        thresholds=thresholds,
        seed=seed,
        clf_kwargs=clf_kwargs,
        validation_func=validation_func,
    )
    py, noise_matrix, inv_noise_matrix = estimate_latent(
        confident_joint,
        _labels_array(labels),
        py_method=py_method,
        converge_latent_estimates=converge_latent_estimates,
    )
    return py, noise_matrix, inv_noise_matrix, confident_joint, pred_probs


def estimate_cv_predicted_probabilities(
    X: Any,
    labels: Any,
    clf: Any = None,
    *,
    cv_n_folds: int = 5,
    seed: int | None = None,
    clf_kwargs: Mapping[str, Any] | None = None,
    validation_func: Callable[[Any, Any], Mapping[str, Any]] | None = None,
) -> np.ndarray:
    """Out-of-sample ``pred_probs`` (N, K) from ``cv_n_folds``-fold cross-validation of ``clf``.

    Same arguments as :func:`estimate_confident_joint_and_cv_pred_proba`.
    """
    return estimate_py_noise_matrices_and_cv_pred_proba(
        X,
        labels,
        clf,
        cv_n_folds=cv_n_folds,
        seed=seed,
        clf_kwargs=clf_kwargs,
        validation_func=validation_func,
    )[-1]


def estimate_noise_matrices(
    X: Any,
    labels: Any,
    clf: Any = None,
    *,
    cv_n_folds: int = 5,
    thresholds: np.ndarray | None = None,
    converge_latent_estimates: bool = True,
    seed: int | None = None,
    clf_kwargs: Mapping[str, Any] | None = None,
    validation_func: Callable[[Any, Any], Mapping[str, Any]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(noise_matrix, inverse_noise_matrix)`` estimated by cross-validation of ``clf``.

    Same arguments as :func:`estimate_py_noise_matrices_and_cv_pred_proba`, except that
    ``converge_latent_estimates`` defaults to ``True`` here (as in cleanlab).
    """
    return estimate_py_noise_matrices_and_cv_pred_proba(
        X,
        labels,
        clf,
        cv_n_folds=cv_n_folds,
        thresholds=thresholds,
        converge_latent_estimates=converge_latent_estimates,
        seed=seed,
        clf_kwargs=clf_kwargs,
        validation_func=validation_func,
    )[1:3]
