"""Results do not depend on the thread count: n_jobs=1, 2, None and labelsieve.set_num_threads(1/2)
give identical answers at sizes that take the parallel path (N > 16 384, N*K >= 2**18)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import labelsieve
from labelsieve import count, filter, rank


def make(n: int, k: int, seed: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    conc = np.full((n, k), 0.3)
    conc[np.arange(n), true] += 2
    p = rng.gamma(conc)
    p /= p.sum(axis=1, keepdims=True)
    p[::97] = p[0]  # exact ties across rows
    labels = np.where(rng.random(n) < 0.25, rng.integers(0, k, n), true)
    labels[::97] = labels[0]
    return labels, p.astype(dtype)


DATA = {
    "n40000_k10": make(40_000, 10, 0),
    "n20000_k50_f32": make(20_000, 50, 1, np.float32),
    "n17000_k16": make(17_000, 16, 2),
}
assert all(p.shape[0] > 16_384 and p.size >= 2**18 for _, p in DATA.values())

FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
FILTER_CALLS: dict[str, Callable[..., Any]] = {
    f"find_label_issues_{fb}": (
        lambda y, p, n_jobs, fb=fb: filter.find_label_issues(y, p, filter_by=fb, n_jobs=n_jobs)
    )
    for fb in (*FILTERS, "low_self_confidence", "low_normalized_margin")
}
FILTER_CALLS["find_label_issues_ranked"] = lambda y, p, n_jobs: filter.find_label_issues(
    y, p, n_jobs=n_jobs, return_indices_ranked_by="self_confidence"
)
FILTER_CALLS["find_label_issues_frac_noise"] = lambda y, p, n_jobs: filter.find_label_issues(
    y, p, n_jobs=n_jobs, filter_by="both", frac_noise=0.7, min_examples_per_class=20
)
OTHER_CALLS: dict[str, Callable[..., Any]] = {
    "get_confident_thresholds": lambda y, p: count.get_confident_thresholds(y, p),
    "compute_confident_joint": lambda y, p: count.compute_confident_joint(
        y, p, return_indices_of_off_diagonals=True
    ),
    "num_label_issues": lambda y, p: count.num_label_issues(y, p),
    "estimate_py_noise": lambda y, p: count.estimate_py_and_noise_matrices_from_probabilities(y, p),
    "find_predicted_neq_given": lambda y, p: filter.find_predicted_neq_given(y, p),
    "scores_nm_adjust": lambda y, p: rank.get_label_quality_scores(
        y, p, method="normalized_margin", adjust_pred_probs=True
    ),
    "scores_cwe": lambda y, p: rank.get_label_quality_scores(y, p, method="confidence_weighted_entropy"),
    "order_label_issues": lambda y, p: rank.order_label_issues(np.arange(len(y)) % 3 == 0, y, p),
    "find_label_issues_default": lambda y, p: filter.find_label_issues(y, p),
}


def same(a: Any, b: Any, what: str) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            same(x, y, what)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, what
    # Bit-identical: fixed-order reductions whatever the thread count.
    np.testing.assert_array_equal(a, b, err_msg=what)


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("name", sorted(FILTER_CALLS))
def test_n_jobs_does_not_change_results(backend: str, data: str, name: str) -> None:
    labels, probs = DATA[data]
    fn = FILTER_CALLS[name]
    serial = quiet(fn, labels, probs, 1)
    for n_jobs in (2, None):
        same(quiet(fn, labels, probs, n_jobs), serial, f"{data} {name} n_jobs={n_jobs}")


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("name", sorted(OTHER_CALLS) + sorted(FILTER_CALLS))
def test_set_num_threads_does_not_change_results(backend: str, data: str, name: str) -> None:
    labels, probs = DATA[data]
    if name in FILTER_CALLS:
        fn = lambda y, p: FILTER_CALLS[name](y, p, None)  # noqa: E731
    else:
        fn = OTHER_CALLS[name]
    results = []
    try:
        for threads in (1, 2, None):
            labelsieve.set_num_threads(threads)
            results.append(quiet(fn, labels, probs))
    finally:
        labelsieve.set_num_threads(None)
    for r, threads in zip(results[1:], (2, None)):
        same(r, results[0], f"{data} {name} set_num_threads({threads})")
