"""Out-of-sample pred_probs for `labelsieve audit`: a sensible default model, stratified K-fold CV.

Tables go through a ColumnTransformer (numeric columns imputed and standardized, categorical
columns one-hot encoded, free-text columns TF-IDF); arrays are standardized. Every example's
probabilities come from the fold model that never saw it, as Confident Learning requires.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from labelsieve.audit.errors import AuditInputError
from labelsieve.audit.options import MODELS

SINGLE_THREAD_MAX_ROWS = 20_000
"""Datasets up to this many rows are cross-validated with single-threaded BLAS and OpenMP."""

TEXT_MIN_WORDS = 3.0
"""A string column whose values average at least this many words is free text, not a category."""


def column_kinds(features: pd.DataFrame) -> dict[str, list[str]]:
    """Split the columns of a feature table into ``numeric``, ``categorical`` and ``text``."""
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "text": []}
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_bool_dtype(column):
            kinds["categorical"].append(name)
        elif pd.api.types.is_numeric_dtype(column):
            kinds["numeric"].append(name)
        else:
            words = column.dropna().astype(str).map(lambda value: len(value.split()))
            is_text = len(words) > 0 and float(words.mean()) >= TEXT_MIN_WORDS
            kinds["text" if is_text else "categorical"].append(name)
    return kinds


def _as_strings(frame: Any) -> Any:
    return pd.DataFrame(frame).astype("string").fillna("<missing>").astype(str)


def _as_text(column: Any) -> Any:
    return pd.Series(column).fillna("").astype(str)


def make_preprocessor(features: pd.DataFrame | np.ndarray, *, dense: bool) -> Any:
    """The feature transformer for a table (ColumnTransformer) or a numeric array (scaler)."""
    if isinstance(features, np.ndarray):
        return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
    kinds = column_kinds(features)
    parts: list[tuple[str, Any, Any]] = []
    if kinds["numeric"]:
        numeric = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        parts.append(("numeric", numeric, kinds["numeric"]))
    if kinds["categorical"]:
        categorical = make_pipeline(
            FunctionTransformer(_as_strings), OneHotEncoder(handle_unknown="ignore", sparse_output=not dense)
        )
        parts.append(("categorical", categorical, kinds["categorical"]))
    for name in kinds["text"]:
        text = make_pipeline(
            FunctionTransformer(_as_text), TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=20000)
        )
        # A scalar column selector hands TfidfVectorizer the 1-D column it expects.
        parts.append((f"text:{name}", text, name))
    return ColumnTransformer(parts, sparse_threshold=0.0 if dense else 0.3)


def make_classifier(name: str, *, seed: int | None) -> Any:
    """The scikit-learn classifier called ``name`` (one of :data:`MODELS`)."""
    if name == "logistic":
        return LogisticRegression(max_iter=2000)
    if name == "random-forest":
        return RandomForestClassifier(n_estimators=100, min_samples_leaf=2, random_state=seed)
    if name == "hist-gradient-boosting":
        return HistGradientBoostingClassifier(random_state=seed)
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=15, weights="distance")
    raise AuditInputError(f"--model must be one of {', '.join(MODELS)}, found {name!r}")


def make_model(name: str, features: pd.DataFrame | np.ndarray, *, seed: int | None) -> Pipeline:
    """Preprocessing plus classifier, ready to ``fit`` on ``features``."""
    classifier = make_classifier(name, seed=seed)
    # HistGradientBoosting only accepts dense input.
    preprocessor = make_preprocessor(features, dense=name == "hist-gradient-boosting")
    return Pipeline([("features", preprocessor), ("classifier", classifier)])


def cross_val_pred_probs(
    features: pd.DataFrame | np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    *,
    model: str = MODELS[0],
    folds: int = 5,
    seed: int | None = 0,
    progress: bool = True,
) -> np.ndarray:
    """``(N, num_classes)`` out-of-sample predicted probabilities by stratified K-fold CV."""
    n = labels.shape[0]
    if folds < 2:
        raise AuditInputError(f"--folds must be at least 2, found {folds}")
    largest_class = int(np.bincount(labels).max())
    if folds > largest_class:
        raise AuditInputError(
            f"--folds {folds} is more than the largest class has examples ({largest_class})"
        )
    template = make_model(model, features, seed=seed)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    pred_probs = np.zeros((n, num_classes), dtype=np.float64)
    bar = tqdm(
        total=folds,
        desc=f"cross-validating {model}",
        unit="fold",
        file=sys.stderr,
        disable=not progress,
        leave=False,
    )
    # Threaded BLAS/OpenMP is slower than one thread on small folds (10-50x on a busy machine).
    threads = 1 if n <= SINGLE_THREAD_MAX_ROWS else None
    with bar, warnings.catch_warnings(), threadpool_limits(limits=threads):
        # Small classes, unconverged solvers and constant columns are expected on real data; the
        # audit still needs every fold's probabilities.
        warnings.simplefilter("ignore")
        for train, test in splitter.split(np.zeros(n), labels):
            fold_model = clone(template)
            fold_model.fit(_rows(features, train), labels[train])
            fold_probs = fold_model.predict_proba(_rows(features, test))
            # A class missing from this fold's training rows gets probability 0.
            pred_probs[np.ix_(test, fold_model.classes_)] = fold_probs
            bar.update(1)
    return pred_probs


def _rows(features: pd.DataFrame | np.ndarray, index: np.ndarray) -> pd.DataFrame | np.ndarray:
    return features.iloc[index] if isinstance(features, pd.DataFrame) else features[index]


__all__ = [
    "MODELS",
    "column_kinds",
    "cross_val_pred_probs",
    "make_classifier",
    "make_model",
    "make_preprocessor",
]
