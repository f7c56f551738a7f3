"""Cross-validation helpers of labelsieve.count: parity with cleanlab 2.9 for the same seed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from labelsieve import count
from labelsieve.exceptions import InvalidInputError, LabelsError

cleanlab_count = pytest.importorskip(
    "cleanlab.count", reason="cleanlab 2.9 (test-only oracle) is not installed"
)

FUNCTIONS = [
    "estimate_cv_predicted_probabilities",
    "estimate_confident_joint_and_cv_pred_proba",
    "estimate_py_noise_matrices_and_cv_pred_proba",
    "estimate_noise_matrices",
]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    y = y.copy()
    flip = np.random.default_rng(0).choice(len(y), 150, replace=False)
    y[flip] = (y[flip] + 3) % 10
    return X[:900] / 16, y[:900]


def _equal(a: object, b: object) -> None:
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("seed", [0, 7])
def test_parity_with_cleanlab(digits, name, seed):
    X, y = digits
    ours = getattr(count, name)(X, y, seed=seed, cv_n_folds=3)
    theirs = getattr(cleanlab_count, name)(X, y, seed=seed, cv_n_folds=3)
    _equal(ours, theirs)


def test_defaults_converge_latent_estimates(digits):
    X, y = digits
    nm, inv = count.estimate_noise_matrices(X, y, seed=1, cv_n_folds=3)
    py, nm0, _, cj, _ = count.estimate_py_noise_matrices_and_cv_pred_proba(X, y, seed=1, cv_n_folds=3)
    _, nm1, inv1 = count.estimate_latent(cj, y, converge_latent_estimates=True)
    np.testing.assert_array_equal(nm, nm1)
    np.testing.assert_array_equal(inv, inv1)
    py2, nm2, _ = count.estimate_latent(cj, y, converge_latent_estimates=False)
    np.testing.assert_array_equal(nm0, nm2)
    np.testing.assert_array_equal(py, py2)


def test_pred_probs_are_out_of_fold_and_seed_reproducible(digits):
    X, y = digits
    a = count.estimate_cv_predicted_probabilities(X, y, seed=3)
    b = count.estimate_cv_predicted_probabilities(X, y, seed=3)
    c = count.estimate_cv_predicted_probabilities(X, y, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (len(y), 10)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    in_sample = LogisticRegression().fit(X, y).predict_proba(X)
    assert (a.argmax(1) == y).mean() < (in_sample.argmax(1) == y).mean()


def test_pandas_and_sparse_inputs_match_numpy(digits):
    X, y = digits
    dense = count.estimate_cv_predicted_probabilities(X, y, seed=0, cv_n_folds=3)
    frame = count.estimate_cv_predicted_probabilities(
        pd.DataFrame(X, index=np.arange(len(y))[::-1]), pd.Series(y), seed=0, cv_n_folds=3
    )
    sparse = count.estimate_cv_predicted_probabilities(sp.csr_matrix(X), y, seed=0, cv_n_folds=3)
    coo = count.estimate_cv_predicted_probabilities(sp.coo_matrix(X), y, seed=0, cv_n_folds=3)
    # pandas 3 keeps a frame's values column-major: the model's BLAS sums in another order.
    np.testing.assert_allclose(dense, frame, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dense, sparse, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(sparse, coo)


def test_missing_class_in_training_fold_is_duplicated_and_one_hot():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    X[-1] += 3
    y = np.r_[np.zeros(20, int), np.ones(19, int), [2]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = count.estimate_cv_predicted_probabilities(X, y, seed=0)
    messages = [str(w.message) for w in caught]
    assert any("Duplicated some data across multiple folds" in m and "{2}" in m for m in messages)
    np.testing.assert_array_equal(ours[-1], [0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cleanlab_count.estimate_cv_predicted_probabilities(X, y, seed=0)
        np.testing.assert_array_equal(ours, theirs)
        y2 = np.r_[np.zeros(20, int), [1], np.ones(18, int), [2]]
        np.testing.assert_array_equal(
            count.estimate_cv_predicted_probabilities(X, y2, GaussianNB(), seed=1),
            cleanlab_count.estimate_cv_predicted_probabilities(X, y2, GaussianNB(), seed=1),
        )


def test_validation_func_and_clf_kwargs_are_passed_per_fold(digits):
    X, y = digits
    calls: list[tuple[int, int]] = []

    class Recorder(LogisticRegression):
        def fit(self, X, y, sample_weight=None, marker=None):  # type: ignore[override]
            assert marker == "m"
            calls.append((len(y), -1 if sample_weight is None else len(sample_weight)))
            return super().fit(X, y, sample_weight=sample_weight)

    def validation_func(X_val, y_val):
        assert len(X_val) == len(y_val)
        return {"sample_weight": None}

    count.estimate_cv_predicted_probabilities(
        X, y, Recorder(), seed=0, cv_n_folds=3, clf_kwargs={"marker": "m"}, validation_func=validation_func
    )
    assert len(calls) == 3
    assert sum(n for n, _ in calls) == 2 * len(y)
    with pytest.raises(TypeError, match="validation_func must be callable"):
        count.estimate_cv_predicted_probabilities(X, y, seed=0, cv_n_folds=3, validation_func=3)  # type: ignore[arg-type]


def test_unclonable_classifier_and_bad_inputs(digits):
    X, y = digits

    class NotClonable:
        def fit(self, X, y):
            return self

        def predict_proba(self, X):
            return np.zeros((len(X), 10))

        def get_params(self, deep=True):
            raise RuntimeError("no")

    with pytest.raises(ValueError, match=r"must be clonable via: sklearn\.base\.clone"):
        count.estimate_cv_predicted_probabilities(X, y, NotClonable())
    with pytest.raises(InvalidInputError, match="X and labels must be same length"):
        count.estimate_cv_predicted_probabilities(X[:-1], y)
    with pytest.raises(InvalidInputError, match="X cannot be None"):
        count.estimate_cv_predicted_probabilities(None, y)
    with pytest.raises(LabelsError, match="at least 2 classes"):
        count.estimate_cv_predicted_probabilities(X, np.zeros(len(y), int))
    with pytest.raises(ValueError):
        count.estimate_cv_predicted_probabilities(X, y.astype(str))
