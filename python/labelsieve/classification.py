"""``CleanLearning``: wrap any scikit-learn classifier so that it finds label issues and trains on clean data.

The cleanlab 2.9 ``cleanlab.classification.CleanLearning`` workflow (cross-validated ``pred_probs`` ->
confident learning -> prune -> reweight -> refit) as a conforming scikit-learn estimator: ``__init__``
only stores its arguments, fitted state lives in attributes ending in ``_`` (cleanlab's attribute names
are read-only aliases), and ``clone``/``get_params``/``set_params``/``GridSearchCV`` work.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _sk_validate_data = None

from labelsieve._cross_validation import (
    _subset,
    check_features_and_labels,
    estimate_cv_predicted_probabilities,
    estimate_py_noise_matrices_and_cv_pred_proba,
)

__all__ = ["CleanLearning"]

_UNSUPPORTED_KWARGS = ["return_indices_ranked_by", "multi_label"]


def _fit_accepts(clf: Any, name: str) -> bool:
    try:
        params = inspect.signature(clf.fit).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _compress_int(values: np.ndarray, num_possible_values: int) -> np.ndarray:
    """int16 when the values fit (as cleanlab's DataFrame columns), else int32, else unchanged."""
    if num_possible_values < np.iinfo(np.int16).max:
        return values.astype(np.int16)
    if num_possible_values < np.iinfo(np.int32).max:
        return values.astype(np.int32)
    return values


def _read_only(name: str, doc: str) -> property:
    def getter(self: CleanLearning) -> Any:
        return getattr(self, name, None)

    return property(getter, doc=f"{doc} (cleanlab name; read-only alias of ``{name}``).")


class CleanLearning(ClassifierMixin, BaseEstimator):
    """Train any classifier on data with noisy labels: find the label issues, then fit on the rest.

    Parameters
    ----------
    clf : scikit-learn-style classifier with ``fit``, ``predict`` and ``predict_proba``; cloned, never
        modified. Default ``LogisticRegression()``, with X validated as numeric and flattened to 2-D.
    seed : ``random_state`` of the cross-validation shuffle (``StratifiedKFold``). Unlike cleanlab, the
        global numpy random state is never touched.
    cv_n_folds : folds used to compute out-of-sample ``pred_probs`` when they are not supplied.
    converge_latent_estimates : refine ``py`` and the noise matrices iteratively (``estimate_latent``).
    pulearning : 0 or 1 for binary positive-unlabeled learning: the class with no label errors.
    find_label_issues_kwargs : keyword arguments for ``filter.find_label_issues``;
        ``min_examples_per_class`` defaults to 10 here (1 in ``filter.find_label_issues``).
    label_quality_scores_kwargs : keyword arguments for ``rank.get_label_quality_scores``.
    verbose : print progress.
    low_memory : use the low-memory approximation of cleanlab's ``find_label_issues_batched``: the
        number of issues is counted per example (argmax confident and different from the given label)
        and that many lowest label-quality examples are flagged, except those whose given label is the
        model's top class. No confident joint or noise matrices are estimated (so no automatic sample
        weights); ``find_label_issues_kwargs``, ``thresholds`` and the noise matrices are unused.
    n_jobs : threads for ``filter.find_label_issues`` (``None``: all cores, ``1``: serial).

    Attributes
    ----------
    clf_ : the classifier fitted on the examples without label issues.
    classes_ : the distinct labels; the wrapped classifier is trained on their indices ``0..K-1``.
    label_issues_df_, label_issues_mask_ : the issues found (DataFrame with ``is_label_issue``,
        ``label_quality``, ``given_label``, ``predicted_label`` [, ``sample_weight``]) and its mask.
    confident_joint_, py_, ps_, noise_matrix_, inverse_noise_matrix_, num_classes_, sample_weight_,
    clf_kwargs_, clf_final_kwargs_, n_features_in_ : as in cleanlab, whose names (without ``_``) are
        read-only aliases.

    Notes
    -----
    Labels may be any hashable values (strings included): they are mapped to ``0..K-1`` by sorted order
    and ``predict`` returns the original values. When ``pred_probs`` are supplied with integer labels, the
    labels must be class indices ``0..K-1`` with ``K = pred_probs.shape[1]`` (as in cleanlab). ``self.clf``
    stays the unfitted template; the fitted model is ``self.clf_``.
    """

    def __init__(
        self,
        clf: Any = None,
        *,
        seed: int | None = None,
        cv_n_folds: int = 5,
        converge_latent_estimates: bool = False,
        pulearning: int | None = None,
        find_label_issues_kwargs: Mapping[str, Any] | None = None,
        label_quality_scores_kwargs: Mapping[str, Any] | None = None,
        verbose: bool = False,
        low_memory: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.clf = clf
        self.seed = seed
        self.cv_n_folds = cv_n_folds
        self.converge_latent_estimates = converge_latent_estimates
        self.pulearning = pulearning
        self.find_label_issues_kwargs = find_label_issues_kwargs
        self.label_quality_scores_kwargs = label_quality_scores_kwargs
        self.verbose = verbose
        self.low_memory = low_memory
        self.n_jobs = n_jobs

    label_issues_df = _read_only("label_issues_df_", "DataFrame of label issues")
    label_issues_mask = _read_only("label_issues_mask_", "Boolean mask of label issues")
    sample_weight = _read_only("sample_weight_", "Automatic sample weights of the final fit")
    confident_joint = _read_only("confident_joint_", "Confident joint")
    py = _read_only("py_", "Estimated prior of the true labels")
    ps = _read_only("ps_", "Prior of the given labels")
    num_classes = _read_only("num_classes_", "Number of classes")
    noise_matrix = _read_only("noise_matrix_", "Estimated noise matrix P(label=i | true_label=j)")
    inverse_noise_matrix = _read_only("inverse_noise_matrix_", "Estimated inverse noise matrix")
    clf_kwargs = _read_only("clf_kwargs_", "Keyword arguments of the cross-validation fits")
    clf_final_kwargs = _read_only("clf_final_kwargs_", "Keyword arguments of the final fit")

    # ------------------------------------------------------------------ helpers

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "clf_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _template(self) -> Any:
        clf = LogisticRegression() if self.clf is None else self.clf
        for method in ("fit", "predict_proba", "predict"):
            if not callable(getattr(clf, method, None)):
                raise ValueError(f"The classifier (clf) must define a .{method}() method.")
        return clf

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message)

    def _check_X(self, X: Any, *, reset: bool, allow_none: bool = False) -> Any:
        """Validate X for the default classifier (numeric, finite, >= 2-D flattened); pass others through."""
        if X is None and allow_none:
            return None
        if self.clf is not None:
            if reset and hasattr(X, "shape") and len(X.shape) == 2:
                self.n_features_in_ = int(X.shape[1])
            return X
        kwargs: dict[str, Any] = {"accept_sparse": "csr", "allow_nd": True, "reset": reset}
        if _sk_validate_data is not None:
            X = _sk_validate_data(self, X, **kwargs)
        else:  # pragma: no cover - older scikit-learn
            X = self._validate_data(X, **kwargs)
        if X.ndim > 2:
            X = X.reshape(X.shape[0], -1)
        return X

    def _encode_labels(self, labels: Any, pred_probs: Any, num_classes: int | None) -> tuple[Any, np.ndarray]:
        """Original labels as an array, their indices ``0..K-1``; sets ``classes_`` and ``num_classes_``."""
        if isinstance(labels, pd.DataFrame):
            if labels.shape[1] != 1:
                raise ValueError("labels must be one dimensional.")
            labels = labels.iloc[:, 0]
        original = column_or_1d(np.asarray(labels), warn=True)
        check_classification_targets(original)
        classes, encoded = np.unique(original, return_inverse=True)
        if pred_probs is not None and np.issubdtype(original.dtype, np.integer):
            num_classes = np.shape(pred_probs)[1] if np.ndim(pred_probs) == 2 else len(classes)
            classes, encoded = np.arange(num_classes), original.astype(np.int64)
        elif len(classes) < 2:
            raise ValueError(
                "CleanLearning needs labels with at least 2 classes, but found only one class: "
                f"{classes.tolist()}."
            )
        elif pred_probs is not None and np.ndim(pred_probs) == 2 and np.shape(pred_probs)[1] != len(classes):
            raise ValueError(
                f"pred_probs has {np.shape(pred_probs)[1]} columns, but labels have {len(classes)} distinct "
                "non-integer values; columns must correspond to the sorted distinct labels."
            )
        self.classes_ = classes
        self.num_classes_ = max(len(classes), num_classes or 0)
        self._identity_labels_ = bool(
            np.issubdtype(classes.dtype, np.integer) and np.array_equal(classes, np.arange(len(classes)))
        )
        return original, np.asarray(encoded, dtype=np.int64)

    def _label_column(self, encoded: np.ndarray) -> Any:
        if self._identity_labels_:
            return _compress_int(encoded, self.num_classes_)
        return self.classes_[encoded]

    # ------------------------------------------------------------------ find_label_issues

    def find_label_issues(
        self,
        X: Any = None,
        labels: Any = None,
        *,
        pred_probs: np.ndarray | None = None,
        thresholds: np.ndarray | None = None,
        noise_matrix: np.ndarray | None = None,
        inverse_noise_matrix: np.ndarray | None = None,
        save_space: bool = False,
        clf_kwargs: Mapping[str, Any] | None = None,
        validation_func: Callable[[Any, Any], Mapping[str, Any]] | None = None,
    ) -> pd.DataFrame:
        """Find label issues in ``(X, labels)`` without training the final classifier.

        Out-of-sample ``pred_probs`` are computed by cross-validation of ``clf`` unless supplied (then
        ``X`` may be None). ``thresholds``, ``noise_matrix`` and ``inverse_noise_matrix`` (traces must
        exceed 1) replace the corresponding estimates. Returns a DataFrame with one row per example:
        ``is_label_issue``, ``label_quality``, ``given_label``, ``predicted_label``; unless
        ``save_space``, it is also stored as ``label_issues_df_`` (mask in ``label_issues_mask_``).
        """
        from labelsieve import count, filter, rank
        from labelsieve.internal.latent_algebra import (
            compute_noise_matrix_from_inverse,
            compute_py_inv_noise_matrix,
        )

        if labels is None:
            raise ValueError("You must specify `labels`.")
        if noise_matrix is not None and np.trace(noise_matrix) <= 1:
            raise ValueError(f"Trace(noise_matrix) is {np.trace(noise_matrix)}, but must exceed 1.")
        if inverse_noise_matrix is not None and np.trace(inverse_noise_matrix) <= 1:
            raise ValueError(
                f"Trace(inverse_noise_matrix) is {np.trace(inverse_noise_matrix)}. Must exceed 1."
            )
        given_matrix = noise_matrix if noise_matrix is not None else inverse_noise_matrix
        _, labels = self._encode_labels(
            labels, pred_probs, None if given_matrix is None else len(given_matrix)
        )
        X = self._check_X(X, reset=True, allow_none=pred_probs is not None)
        check_features_and_labels(X, labels, pred_probs)
        clf = self._template()
        clf_kwargs = dict(clf_kwargs or {})
        num_classes = self.num_classes_
        num_examples = len(labels)
        if pred_probs is None and num_examples / num_classes < self.cv_n_folds:
            raise ValueError(
                "Need more data from each class for cross-validation. "
                "Try decreasing cv_n_folds (eg. to 2 or 3) in CleanLearning()"
            )
        ps = np.bincount(labels, minlength=num_classes) / num_examples
        cv_args: dict[str, Any] = {
            "cv_n_folds": self.cv_n_folds,
            "seed": self.seed,
            "clf_kwargs": clf_kwargs,
            "validation_func": validation_func,
        }
        confident_joint = py = None
        if self.low_memory:
            if pred_probs is None:
                self._say(
                    f"Computing out of sample predicted probabilities via {self.cv_n_folds}-fold cross "
                    "validation. May take a while ..."
                )
                pred_probs = estimate_cv_predicted_probabilities(X, labels, clf, **cv_args)
            unused = {
                "find_label_issues_kwargs": self.find_label_issues_kwargs,
                "thresholds": thresholds,
                "noise_matrix": noise_matrix,
                "inverse_noise_matrix": inverse_noise_matrix,
            }
            if any(value is not None and len(value) > 0 for value in unused.values()):
                warnings.warn(
                    "low_memory=True: these arguments are not used: "
                    f"{[k for k, v in unused.items() if v is not None and len(v) > 0]}",
                    stacklevel=2,
                )
            self._say("Using predicted probabilities to identify label issues ...")
            pred_probs = np.asarray(pred_probs)
            label_issues_mask = self._low_memory_issues(labels, pred_probs)
            noise_matrix = inverse_noise_matrix = None
        else:
            kwargs = {"min_examples_per_class": 10, **(self.find_label_issues_kwargs or {})}
            if any(k in kwargs for k in _UNSUPPORTED_KWARGS):
                raise ValueError(
                    f"These kwargs of `find_label_issues()` are not supported for `CleanLearning`: "
                    f"{_UNSUPPORTED_KWARGS}"
                )
            if self.n_jobs is not None:
                kwargs.setdefault("n_jobs", self.n_jobs)
            if kwargs.get("confident_joint") is not None:
                confident_joint = np.asarray(kwargs["confident_joint"])
                py, noise_matrix, inverse_noise_matrix = count.estimate_latent(confident_joint, labels)
            if noise_matrix is not None and inverse_noise_matrix is None:
                self._say("Computing label noise estimates from provided noise matrix ...")
                py, inverse_noise_matrix = compute_py_inv_noise_matrix(ps, noise_matrix)
            if inverse_noise_matrix is not None and noise_matrix is None:
                noise_matrix = compute_noise_matrix_from_inverse(ps, inverse_noise_matrix)
            if noise_matrix is None and inverse_noise_matrix is None:
                if pred_probs is None:
                    self._say(
                        f"Computing out of sample predicted probabilities via {self.cv_n_folds}-fold cross "
                        "validation. May take a while ..."
                    )
                    py, noise_matrix, inverse_noise_matrix, confident_joint, pred_probs = (
                        estimate_py_noise_matrices_and_cv_pred_proba(
                            X,
                            labels,
                            clf,
                            thresholds=thresholds,
                            converge_latent_estimates=self.converge_latent_estimates,
                            **cv_args,
                        )
                    )
                else:
                    self._say("Computing label noise estimates from provided pred_probs ...")
                    py, noise_matrix, inverse_noise_matrix, confident_joint = (
                        count.estimate_py_and_noise_matrices_from_probabilities(
                            labels,
                            pred_probs,
                            thresholds=thresholds,
                            converge_latent_estimates=self.converge_latent_estimates,
                        )
                    )
            if pred_probs is None:
                self._say(
                    f"Computing out of sample predicted probabilities via {self.cv_n_folds}-fold cross "
                    "validation. May take a while ..."
                )
                pred_probs = estimate_cv_predicted_probabilities(X, labels, clf, **cv_args)
            pred_probs = np.asarray(pred_probs)
            if confident_joint is None:
                confident_joint = np.asarray(
                    count.compute_confident_joint(labels, pred_probs, thresholds=thresholds)
                )
            confident_joint = np.array(confident_joint)
            noise_matrix = np.array(noise_matrix, dtype=float)
            inverse_noise_matrix = np.array(inverse_noise_matrix, dtype=float)
            if num_classes == 2 and self.pulearning is not None:
                self._apply_pulearning(noise_matrix, inverse_noise_matrix, confident_joint)
            if "confident_joint" not in kwargs and kwargs.get("filter_by") != "confident_learning":
                kwargs["confident_joint"] = confident_joint
            self._say("Using predicted probabilities to identify label issues ...")
            label_issues_mask = np.asarray(filter.find_label_issues(labels, pred_probs, **kwargs), dtype=bool)

        label_quality = rank.get_label_quality_scores(
            labels, pred_probs, **(self.label_quality_scores_kwargs or {})
        )
        label_issues_df = pd.DataFrame({"is_label_issue": label_issues_mask, "label_quality": label_quality})
        label_issues_df["given_label"] = self._label_column(labels)
        label_issues_df["predicted_label"] = self._label_column(pred_probs.argmax(axis=1))
        self._say(f"Identified {int(label_issues_mask.sum())} examples with label issues.")

        self.ps_ = ps
        self.py_ = py
        self.confident_joint_ = confident_joint
        self.noise_matrix_ = noise_matrix
        self.inverse_noise_matrix_ = inverse_noise_matrix
        self.clf_kwargs_ = clf_kwargs
        if not save_space:
            if self.verbose and getattr(self, "label_issues_df_", None) is not None:
                print(
                    "Overwriting previously identified label issues stored at self.label_issues_df. "
                    "self.get_label_issues() will now return the newly identified label issues. "
                )
            self.label_issues_df_ = label_issues_df
            self.label_issues_mask_ = label_issues_mask
        return label_issues_df

    def _apply_pulearning(
        self, noise_matrix: np.ndarray, inverse: np.ndarray, confident_joint: np.ndarray
    ) -> None:
        """Binary PU learning: class ``pulearning`` has no label errors (edits the arrays in place)."""
        p = int(self.pulearning)  # type: ignore[arg-type]
        if p not in (0, 1):
            return
        q = 1 - p
        noise_matrix[p][q], noise_matrix[q][q] = 0, 1
        inverse[q][p], inverse[p][p] = 0, 1
        confident_joint[p][q], confident_joint[q][q] = 0, 1

    def _low_memory_issues(self, labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
        """In-memory equivalent of cleanlab's ``find_label_issues_batched(..., return_mask=True)``."""
        from labelsieve import count, rank

        thresholds = np.asarray(count.get_confident_thresholds(labels, pred_probs))
        predicted = pred_probs.argmax(axis=1)
        rows = np.arange(len(labels))
        confident = pred_probs[rows, predicted] >= thresholds[predicted] - 1e-6
        num_issues = int(np.count_nonzero(confident & (predicted != labels)))
        scores = rank.get_label_quality_scores(labels, pred_probs, **(self.label_quality_scores_kwargs or {}))
        mask = np.zeros(len(labels), dtype=bool)
        mask[np.argsort(scores, kind="stable")[:num_issues]] = True
        boosted = np.array(pred_probs, dtype=np.float64)
        boosted[rows, labels] += 1e-6
        mask[boosted.argmax(axis=1) == labels] = False
        return mask

    # ------------------------------------------------------------------ fit

    def _process_label_issues_arg(self, label_issues: Any, original: Any, labels: np.ndarray) -> pd.DataFrame:
        if isinstance(label_issues, pd.DataFrame):
            if "is_label_issue" not in label_issues.columns:
                raise ValueError(
                    "DataFrame label_issues must contain column: 'is_label_issue'. "
                    "See CleanLearning.fit() documentation for label_issues column descriptions."
                )
            if len(label_issues) != len(labels):
                raise ValueError("label_issues and labels must have same length")
            if "given_label" in label_issues.columns and not np.array_equal(
                label_issues["given_label"].to_numpy(), original
            ):
                raise ValueError("labels must match label_issues['given_label']")
            return label_issues.copy()
        if isinstance(label_issues, np.ndarray):
            if label_issues.dtype == bool:
                if label_issues.shape != labels.shape:
                    raise ValueError("If label_issues is boolean numpy.array, must have same shape as labels")
                mask = label_issues.copy()
            elif np.issubdtype(label_issues.dtype, np.integer):
                if len(np.unique(label_issues)) != len(label_issues) or (
                    len(label_issues)
                    and (label_issues.min() < -len(labels) or label_issues.max() >= len(labels))
                ):
                    raise ValueError(
                        "If label_issues.dtype is 'int', must contain unique integer indices corresponding "
                        "to examples with label issues such as output by: "
                        "filter.find_label_issues(..., return_indices_ranked_by=...)"
                    )
                mask = np.zeros(len(labels), dtype=bool)
                mask[label_issues] = True
            else:
                raise ValueError("If label_issues is numpy.array, dtype must be 'bool' or 'int'.")
            return pd.DataFrame({"is_label_issue": mask})
        raise ValueError("label_issues must be either pandas.DataFrame or numpy.array")

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        pred_probs: np.ndarray | None = None,
        thresholds: np.ndarray | None = None,
        noise_matrix: np.ndarray | None = None,
        inverse_noise_matrix: np.ndarray | None = None,
        label_issues: Any = None,
        sample_weight: Any = None,
        clf_kwargs: Mapping[str, Any] | None = None,
        clf_final_kwargs: Mapping[str, Any] | None = None,
        validation_func: Callable[[Any, Any], Mapping[str, Any]] | None = None,
    ) -> CleanLearning:
        """Find label issues (unless ``label_issues`` is given), then fit ``clf_`` on the other examples.

        ``y`` (or its alias ``labels``, not both; cleanlab's second positional parameter is named
        ``labels``, scikit-learn's ``y``) may be any hashable values. ``label_issues`` may be a
        DataFrame with an ``is_label_issue`` column (e.g. from ``find_label_issues``), a boolean mask or
        unique integer indices. Unless ``sample_weight`` is given (or in ``clf_final_kwargs``), each kept
        example with label k is weighted ``1 / max(noise_matrix[k][k], 0.001)`` when the noise matrix is
        known and ``clf.fit`` accepts ``sample_weight``. ``clf_kwargs`` go to every fit,
        ``clf_final_kwargs`` only to the final one.
        """
        from labelsieve import rank

        if labels is not None and y is not None:
            raise ValueError("You must specify either `labels` or `y`, but not both.")
        if labels is None:
            labels = y
        if labels is None:
            raise ValueError(
                "You must specify `labels`. CleanLearning requires y to be passed, but the target y is None."
            )
        clf_kwargs = dict(clf_kwargs or {})
        clf_final_kwargs = {**clf_kwargs, **(clf_final_kwargs or {})}
        if "sample_weight" in clf_kwargs:
            raise ValueError(
                "sample_weight should be provided directly in fit() or in clf_final_kwargs rather than in clf_kwargs"
            )
        clf = self._template()
        if sample_weight is not None and not _fit_accepts(clf, "sample_weight"):
            raise ValueError(
                "sample_weight must be a supported fit() argument for your model in order to be specified here"
            )

        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            num_labels = np.shape(np.asarray(labels))[0]
            if sample_weight.shape != (num_labels,):
                raise ValueError(
                    f"sample_weight must have shape ({num_labels},) (one weight per example), "
                    f"but it has shape {sample_weight.shape}."
                )

        if label_issues is None:
            label_issues_df = self.find_label_issues(
                X,
                labels,
                pred_probs=pred_probs,
                thresholds=thresholds,
                noise_matrix=noise_matrix,
                inverse_noise_matrix=inverse_noise_matrix,
                clf_kwargs=clf_kwargs,
                validation_func=validation_func,
            )
            X = self._check_X(X, reset=False)
            original, encoded = self._encode_labels(labels, pred_probs, self.num_classes_)
        else:
            original, encoded = self._encode_labels(labels, pred_probs, getattr(self, "num_classes_", None))
            X = self._check_X(X, reset=True)
            label_issues_df = self._process_label_issues_arg(label_issues, original, encoded)
            if "label_quality" not in label_issues_df.columns and pred_probs is not None:
                label_issues_df["label_quality"] = rank.get_label_quality_scores(
                    encoded, pred_probs, **(self.label_quality_scores_kwargs or {})
                )
            self.clf_kwargs_ = clf_kwargs
        if len(encoded) != (X.shape[0] if hasattr(X, "shape") else len(X)):
            raise ValueError("X and labels must have the same number of examples.")
        mask = label_issues_df["is_label_issue"].to_numpy(dtype=bool)
        keep = np.flatnonzero(~mask)
        x_clean, y_clean = _subset(X, keep), encoded[keep]
        self._say(f"Pruning {int(mask.sum())} examples with label issues ...")
        self._say(f"Remaining clean data has {len(y_clean)} examples.")

        self.sample_weight_ = None
        noise = getattr(self, "noise_matrix_", None)
        if sample_weight is not None:
            clf_final_kwargs["sample_weight"] = sample_weight[keep]
            self._say("Fitting final model on the clean data with custom sample_weight ...")
        elif (
            "sample_weight" not in clf_final_kwargs
            and _fit_accepts(clf, "sample_weight")
            and noise is not None
        ):
            self._say("Assigning sample weights for final training based on estimated label quality.")
            weights_per_class = 1.0 / np.clip(np.diagonal(noise), a_min=0.001, a_max=None)
            weights = weights_per_class[y_clean]
            clf_final_kwargs["sample_weight"] = weights
            column = np.zeros(len(encoded))
            column[keep] = weights
            label_issues_df["sample_weight"] = column
            self.sample_weight_ = label_issues_df["sample_weight"]
            self._say("Fitting final model on the clean data ...")
        else:
            if self.verbose and "sample_weight" not in clf_final_kwargs and noise is None:
                print(
                    "Cannot utilize sample weights for final training! Why this matters: during final "
                    "training, sample weights help account for the amount of removed data in each class. "
                    "This helps ensure the correct class prior for the learned model. To use sample "
                    "weights, you need to either provide the noise_matrix or have previously called "
                    "self.find_label_issues() instead of filter.find_label_issues() which computes them "
                    "for you."
                )
            self._say("Fitting final model on the clean data ...")

        self.clf_ = clone(clf).fit(x_clean, y_clean, **clf_final_kwargs)
        self.clf_final_kwargs_ = clf_final_kwargs
        self.label_issues_df_ = label_issues_df
        self.label_issues_mask_ = mask
        if self.clf is not None and hasattr(self.clf_, "n_features_in_"):
            self.n_features_in_ = self.clf_.n_features_in_
        self._say(
            "Label issues stored in label_issues_df DataFrame accessible via: self.get_label_issues(). "
            "Call self.save_space() to delete this potentially large DataFrame attribute."
        )
        return self

    # ------------------------------------------------------------------ predictions

    def _prediction_input(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
        check_is_fitted(self)
        if args:
            X, rest = args[0], args[1:]
        elif "X" in kwargs:
            X, rest = kwargs.pop("X"), ()
        else:
            raise ValueError("No input provided to predict, please provide X.")
        return self._check_X(X, reset=False), rest

    def predict(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Predicted labels (original label values) of the classifier fitted on clean data."""
        X, rest = self._prediction_input(args, kwargs)
        predicted = np.asarray(self.clf_.predict(X, *rest, **kwargs))
        return self.classes_[predicted.astype(np.int64)]

    def predict_proba(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Predicted class probabilities (columns in ``classes_`` order) of the fitted classifier."""
        X, rest = self._prediction_input(args, kwargs)
        return np.asarray(self.clf_.predict_proba(X, *rest, **kwargs))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """``clf_.score`` on ``(X, y)`` if the classifier has one, else accuracy of :meth:`predict`."""
        check_is_fitted(self)
        y = column_or_1d(np.asarray(y))
        position = np.searchsorted(self.classes_, y) if len(self.classes_) else np.zeros(len(y), int)
        known = (position < len(self.classes_)) & (
            self.classes_[np.minimum(position, len(self.classes_) - 1)] == y
        )
        if hasattr(self.clf_, "score") and known.all():
            X = self._check_X(X, reset=False)
            if sample_weight is not None and "sample_weight" in inspect.signature(self.clf_.score).parameters:
                return float(self.clf_.score(X, position, sample_weight=sample_weight))
            return float(self.clf_.score(X, position))
        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    def get_label_issues(self) -> pd.DataFrame | None:
        """The label issues DataFrame from the last ``fit``/``find_label_issues`` (None, with a warning, if none)."""
        df = getattr(self, "label_issues_df_", None)
        if df is None:
            warnings.warn(
                "Label issues have not yet been computed. Run `self.find_label_issues()` or `self.fit()` first.",
                stacklevel=2,
            )
        return df

    def save_space(self) -> None:
        """Drop the stored label issues, noise estimates and kwargs (the fitted ``clf_`` is kept)."""
        for name in (
            "label_issues_df_",
            "label_issues_mask_",
            "sample_weight_",
            "confident_joint_",
            "py_",
            "ps_",
            "num_classes_",
            "noise_matrix_",
            "inverse_noise_matrix_",
            "clf_kwargs_",
            "clf_final_kwargs_",
        ):
            if hasattr(self, name):
                setattr(self, name, None)
        self._say("Deleted non-sklearn attributes such as label_issues_df to save space.")
