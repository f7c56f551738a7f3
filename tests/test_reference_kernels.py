"""The pure-NumPy reference kernels against cleanlab 2.9.0 as a black-box oracle.

Real data: every dataset folder under shared/data with a ``cleanlab-2.9.0-reference`` subfolder
(stored cleanlab outputs). Random data: hypothesis-generated inputs compared with cleanlab called
directly. Selections where cleanlab's unstable argsort could break ties differently are compared on
continuous random data, where ties have probability zero.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from conftest import assert_equal_modulo_ties
from labelsieve import _reference as ref
from labelsieve._reference.latent import clip_noise_rates, clip_values
from labelsieve.exceptions import InvalidInputError, PredProbsError, SingularMatrixError

cleanlab = pytest.importorskip("cleanlab")
from cleanlab import count as cl_count  # noqa: E402
from cleanlab import filter as cl_filter  # noqa: E402
from cleanlab import rank as cl_rank  # noqa: E402
from cleanlab.internal import latent_algebra as cl_latent  # noqa: E402
from cleanlab.internal import util as cl_util  # noqa: E402

TOL = 1e-4  # float32 rows and some stored real pred_probs are off 1 by a few 1e-6
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


def _shared_data() -> Path:
    override = os.environ.get("LABELSIEVE_SHARED_DATA")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "data"


def _real_datasets() -> list[Any]:
    """(name, labels path, pred_probs path, reference folder) for every dataset with cleanlab outputs."""
    root = _shared_data()
    if not root.is_dir():
        return []
    found = []
    for reference in sorted(root.rglob("cleanlab-2.9.0-reference")):
        base = reference.parent
        if (base / "pred_probs.npy").exists():
            found.append((base.name, base / "labels.npy", base / "pred_probs.npy", reference))
            continue
        labels = base / "labels.npy" if (base / "labels.npy").exists() else base / "noisy_labels.npy"
        for model in sorted(p for p in reference.iterdir() if p.is_dir()):
            found.append((f"{base.name}/{model.name}", labels, base / f"pred_probs_{model.name}.npy", model))
    return found


REAL = _real_datasets()
REAL_PARAMS = [pytest.param(d, id=d[0]) for d in REAL] or [
    pytest.param(None, marks=pytest.mark.skip(reason=f"no cleanlab reference data under {_shared_data()}"))
]


def _load(dataset: Any) -> tuple[np.ndarray, np.ndarray, Path]:
    name, labels_path, probs_path, reference = dataset
    labels = np.load(labels_path).astype(np.int64)
    probs = np.load(probs_path).astype(np.float64)
    if name == "imdb":
        # The raw IMDB file has entries up to 1.00001; the stored outputs used row-normalised rows.
        probs = probs / probs.sum(axis=1, keepdims=True)
    return labels, probs, reference


@pytest.mark.parametrize("dataset", REAL_PARAMS)
def test_real_data_confident_joints(dataset: Any) -> None:
    labels, probs, reference = _load(dataset)
    raw, _ = ref.confident_joint(labels, probs, None, False, False, TOL, None)
    calibrated, _ = ref.confident_joint(labels, probs, None, True, False, TOL, None)
    np.testing.assert_array_equal(raw, np.load(reference / "confident_joint_uncalibrated.npy"))
    np.testing.assert_array_equal(calibrated, np.load(reference / "confident_joint_calibrated.npy"))


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("dataset", REAL_PARAMS)
def test_real_data_label_issues(dataset: Any, filter_by: str) -> None:
    labels, probs, reference = _load(dataset)
    mask, too_few = ref.label_issues(labels, probs, filter_by, 1.0, None, 1, None, TOL, None)
    expected = np.load(reference / f"label_issues_{filter_by}.npy")
    assert mask.dtype == np.bool_
    if filter_by == "prune_by_class":
        _assert_equal_up_to_self_confidence_ties(mask, expected, labels, probs)
    elif filter_by == "both":
        # AND-ed with prune_by_noise_rate, tie swaps need not balance: each differing row must tie.
        self_confidence = probs[np.arange(len(labels)), labels]
        for i in np.flatnonzero(mask != expected):
            same = (labels == labels[i]) & (self_confidence == self_confidence[i])
            assert same.sum() >= 2, f"row {i} differs from cleanlab without a tie"
    else:
        np.testing.assert_array_equal(mask, expected)
    reps = 2 if filter_by == "both" else 1
    assert too_few == [c for c in range(probs.shape[1]) if np.sum(labels == c) <= 1 for _ in range(reps)] or (
        filter_by in ("confident_learning", "predicted_neq_given")
    )


def _assert_equal_up_to_self_confidence_ties(
    mask: np.ndarray, expected: np.ndarray, labels: np.ndarray, probs: np.ndarray
) -> None:
    """prune_by_class flags the lowest P[i, k] per class; cleanlab's unstable argsort may pick other
    rows among exactly equal keys (20news has many rows at exactly 0.0). Allow only such swaps."""
    self_confidence = probs[np.arange(len(labels)), labels]
    ours_only = np.flatnonzero(mask & ~expected)
    theirs_only = np.flatnonzero(expected & ~mask)
    assert len(ours_only) == len(theirs_only)
    for c in np.unique(labels[np.r_[ours_only, theirs_only]]):
        a = np.sort(self_confidence[ours_only[labels[ours_only] == c]])
        b = np.sort(self_confidence[theirs_only[labels[theirs_only] == c]])
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dataset", REAL_PARAMS)
def test_real_data_ranked_issues(dataset: Any) -> None:
    labels, probs, reference = _load(dataset)
    mask, _ = ref.label_issues(labels, probs, "prune_by_noise_rate", 1.0, None, 1, None, TOL, None)
    ranked = ref.order_label_issues(mask, labels, probs, "self_confidence", None, TOL, None)
    expected = np.load(reference / "ranked_indices_prune_by_noise_rate_by_self_confidence.npy")
    scores = probs[expected, labels[expected]]
    # Equal scores may be ordered differently by cleanlab's unstable sort: compare scores, then sets.
    np.testing.assert_array_equal(probs[ranked, labels[ranked]], scores)
    assert set(ranked.tolist()) == set(expected.tolist())


@pytest.mark.parametrize("method", SCORES)
@pytest.mark.parametrize("dataset", REAL_PARAMS)
def test_real_data_scores(dataset: Any, method: str) -> None:
    labels, probs, reference = _load(dataset)
    path = reference / f"label_quality_scores_{method}.npy"
    if not path.exists():
        pytest.skip(f"{path.name} not stored for this dataset")
    scores = ref.label_quality_scores(labels, probs, method, None, TOL, None)
    np.testing.assert_allclose(scores, np.load(path), rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------------------------
# Random inputs


@st.composite
def problems(draw: st.DrawFn, max_n: int = 2000, max_k: int = 30, ties: bool = True) -> tuple[Any, ...]:
    """(labels, pred_probs) with skewed priors, missing classes, optional tied / near-one-hot rows."""
    k = draw(st.integers(2, max_k))
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.full(k, draw(st.sampled_from([0.2, 1.0, 10.0]))))
    present = rng.random(k) < draw(st.sampled_from([1.0, 0.7]))
    present[rng.integers(k)] = True
    prior = np.where(present, prior, 0.0)
    labels = rng.choice(k, size=n, p=prior / prior.sum())
    logits = rng.normal(size=(n, k)) * draw(st.sampled_from([0.5, 2.0, 5.0]))
    logits[np.arange(n), labels] += draw(st.floats(0.0, 4.0))
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    if ties:
        special = rng.random(n)
        probs[special < 0.05] = 1.0  # uniform rows: every class tied
        hot = special > 0.95
        probs[hot] = 1e-9
        probs[hot, rng.integers(0, k, hot.sum())] = 1.0  # near-one-hot rows
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(dtype)
    return labels.astype(np.int64), probs


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _cleanlab_thresholds(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return np.asarray(cl_count.get_confident_thresholds(labels, probs))


@SETTINGS
@given(problems())
def test_thresholds_match_cleanlab_mean(problem: tuple[Any, ...]) -> None:
    labels, probs = problem
    ours = ref.confident_thresholds(labels, probs, TOL, None)
    np.testing.assert_allclose(ours, _cleanlab_thresholds(labels, probs.astype(np.float64)), rtol=1e-12)


def test_thresholds_are_exact_and_order_independent() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=5000)
    labels = rng.integers(0, 3, 5000)
    perm = rng.permutation(5000)
    a = ref.confident_thresholds(labels, probs, TOL, None)
    b = ref.confident_thresholds(labels[perm], probs[perm], TOL, None)
    assert a.tobytes() == b.tobytes()
    for c in range(3):
        values = probs[labels == c, c]
        exact = sum(int(np.trunc(v * 2.0**87)) for v in values)
        assert a[c] == float(exact) * 2.0**-87 / len(values)


def test_absent_class_threshold_and_floor() -> None:
    probs = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    t = ref.confident_thresholds(np.array([0, 0, 1]), probs, TOL, None)
    np.testing.assert_array_equal(t, [0.75, 2e-6, 2.0])


@SETTINGS
@given(problems(), st.booleans())
def test_confident_joint_matches_cleanlab(problem: tuple[Any, ...], calibrate: bool) -> None:
    labels, probs = problem
    p64 = probs.astype(np.float64)
    thresholds = ref.confident_thresholds(labels, probs, TOL, None)
    cj, idx = ref.confident_joint(labels, probs, thresholds, calibrate, True, TOL, None)
    expected, expected_idx = cl_count.compute_confident_joint(
        labels, p64, thresholds=thresholds, calibrate=calibrate, return_indices_of_off_diagonals=True
    )
    assert cj.dtype == np.int64 and idx is not None and idx.dtype == np.int64
    np.testing.assert_array_equal(cj, expected)
    np.testing.assert_array_equal(idx, expected_idx)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 15), st.integers(0, 2**32 - 1), st.sampled_from([3, 20, 1000]))
def test_calibration_matches_cleanlab_with_ties(k: int, seed: int, scale: int) -> None:
    rng = np.random.default_rng(seed)
    cj = rng.integers(0, scale, (k, k))
    np.fill_diagonal(cj, np.maximum(np.diagonal(cj), 1))
    counts = rng.integers(0, scale * 3, k)
    counts[0] += 1
    labels = np.repeat(np.arange(k), counts)
    for layout in (np.ascontiguousarray(cj), np.asfortranarray(cj)):
        ours = ref.calibrate_confident_joint(layout, counts.astype(np.int64))
        np.testing.assert_array_equal(ours, cl_count.calibrate_confident_joint(layout, labels))
    np.testing.assert_array_equal(ours.sum(axis=1), counts)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 12),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["cnt", "eqn", "marginal", "marginal_ps"]),
    st.booleans(),
    st.booleans(),
)
def test_estimate_latent_matches_cleanlab(
    k: int, seed: int, py_method: str, converge: bool, cal: bool
) -> None:
    rng = np.random.default_rng(seed)
    cj = rng.integers(0, 50, (k, k)) + np.diag(rng.integers(1, 500, k))
    counts = cj.sum(axis=1) if cal else rng.integers(1, 600, k)
    labels = np.repeat(np.arange(k), counts)
    try:
        expected = _quiet(
            cl_count.estimate_latent, cj, labels, py_method=py_method, converge_latent_estimates=converge
        )
    except np.linalg.LinAlgError:
        with pytest.raises(SingularMatrixError):
            ref.estimate_latent(cj, counts.astype(np.int64), py_method, converge)
        return
    ours = ref.estimate_latent(cj, counts.astype(np.int64), py_method, converge)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)


def _noise_matrix(rng: np.random.Generator, k: int) -> np.ndarray:
    nm = rng.random((k, k)) * 0.3 + np.eye(k) * rng.uniform(0.5, 3.0)
    return nm / nm.sum(axis=0)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**32 - 1))
def test_latent_algebra_matches_cleanlab(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    nm = _noise_matrix(rng, k)
    ps = rng.dirichlet(np.ones(k))
    py = rng.dirichlet(np.ones(k))
    inv = _noise_matrix(rng, k)
    counts = rng.integers(0, 100, k).astype(np.float64)

    def close(a: Any, b: Any) -> None:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)

    close(ref.compute_inv_noise_matrix(py, nm, None), cl_latent.compute_inv_noise_matrix(py, nm))
    close(ref.compute_inv_noise_matrix(py, nm, ps), cl_latent.compute_inv_noise_matrix(py, nm, ps=ps))
    close(
        ref.compute_noise_matrix_from_inverse(ps, inv, None),
        cl_latent.compute_noise_matrix_from_inverse(ps, inv),
    )
    close(
        ref.compute_noise_matrix_from_inverse(ps, inv, py),
        cl_latent.compute_noise_matrix_from_inverse(ps, inv, py=py),
    )
    for a, b in zip(ref.compute_py_inv_noise_matrix(ps, nm), cl_latent.compute_py_inv_noise_matrix(ps, nm)):
        close(a, b)
    for method in ("cnt", "eqn", "marginal", "marginal_ps"):
        expected = cl_latent.compute_py(ps, nm, inv, py_method=method, true_labels_class_counts=counts)
        close(ref.compute_py(ps, nm, inv, method, counts), expected)
    probs = rng.dirichlet(np.ones(k), size=int(rng.integers(1, 300)))
    close(ref.compute_pyx(probs, nm, inv, None), cl_latent.compute_pyx(probs, nm, inv))
    m = rng.normal(size=(k, k))
    close(clip_noise_rates(m), cl_util.clip_noise_rates(m.copy()))
    v = rng.normal(size=k)
    close(clip_values(v, 0.0, 1.0, None), cl_util.clip_values(v.copy(), low=0.0, high=1.0))
    close(clip_values(v, 1e-6, 1.0, 1.0), cl_util.clip_values(v.copy(), low=1e-6, high=1.0, new_sum=1.0))


def test_latent_errors() -> None:
    singular = np.array([[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(SingularMatrixError):
        ref.compute_py_inv_noise_matrix(np.array([0.5, 0.5]), singular)
    with pytest.raises(InvalidInputError, match="py_method"):
        ref.compute_py(np.array([0.5, 0.5]), np.eye(2), np.eye(2), "nope", None)
    with pytest.raises(InvalidInputError, match="marginal"):
        ref.compute_py(np.array([0.5, 0.5]), np.eye(2), np.eye(2), "marginal", None)


PRUNE_FILTERS = ("prune_by_class", "prune_by_noise_rate", "both")


@SETTINGS
@given(st.sampled_from(FILTERS), st.sampled_from([0, 1, 3, 10]), st.sampled_from([1.0, 0.5, 0.37]), st.data())
def test_label_issues_match_cleanlab(
    filter_by: str, min_examples: int, frac_noise: float, data: st.DataObject
) -> None:
    # Prune methods pick rows by sorting; cleanlab's sort is unstable, so exact-mask parity is only
    # defined without tied keys: they get continuous data, the other methods get tied rows too.
    labels, probs = data.draw(problems(ties=filter_by not in PRUNE_FILTERS))
    if len(np.unique(labels)) < 2:
        return
    p64 = probs.astype(np.float64)
    thresholds = ref.confident_thresholds(labels, probs, TOL, None)
    # Use our exact thresholds on both sides so the two confident joints are built identically.
    cj = cl_count.compute_confident_joint(labels, p64, thresholds=thresholds, calibrate=True)
    if filter_by in ("confident_learning", "predicted_neq_given"):
        frac_noise, cj_arg = 1.0, None
    else:
        cj_arg = cj
    expected = _quiet(
        cl_filter.find_label_issues,
        labels,
        p64,
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples,
        confident_joint=cj_arg,
        n_jobs=1,
    )
    mask, too_few = ref.label_issues(
        labels, probs, filter_by, frac_noise, None, min_examples, cj_arg, TOL, None
    )
    counts = np.bincount(labels, minlength=probs.shape[1])
    if filter_by in PRUNE_FILTERS:
        reps = 2 if filter_by == "both" else 1
        assert too_few == [c for c in range(len(counts)) if counts[c] <= min_examples for _ in range(reps)]
    np.testing.assert_array_equal(mask, expected)


@SETTINGS
@given(problems(), st.sampled_from(PRUNE_FILTERS))
def test_prune_filters_without_cj_match_cleanlab(problem: tuple[Any, ...], filter_by: str) -> None:
    # Our thresholds (exact sums) and cleanlab's (float mean) agree unless a value sits within
    # rounding of a threshold; tied rows make the sort order matter, so compare flagged counts per
    # class when the masks differ only on rows with tied self-confidence.
    labels, probs = problem
    if len(np.unique(labels)) < 2:
        return
    p64 = probs.astype(np.float64)
    expected = _quiet(cl_filter.find_label_issues, labels, p64, filter_by=filter_by, n_jobs=1)
    mask, _ = ref.label_issues(labels, probs, filter_by, 1.0, None, 1, None, TOL, None)
    if filter_by == "prune_by_class":
        _assert_equal_up_to_self_confidence_ties(mask, expected, labels, p64)
    else:
        assert not (mask & ~ref.predicted_neq_given(labels, probs, TOL, None)).any()
        _assert_differences_are_ties(mask, expected, labels, p64)


def _assert_differences_are_ties(
    mask: NDArray[np.bool_], expected: NDArray[np.bool_], labels: NDArray[Any], p64: NDArray[np.float64]
) -> None:
    """Rows are picked by key (margin p_j - p_k, or self-confidence p_k) within their given class;
    a row whose keys tie no other row of its class is chosen the same way by any sort, so only
    rows that do tie may differ (cleanlab's order among equal keys is numpy's unstable sort)."""
    for i in np.flatnonzero(mask != expected):
        k = labels[i]
        others = np.flatnonzero(labels == k)
        others = others[others != i]
        margins = p64[others] - p64[others, k][:, None]
        tied_margin = (margins == p64[i] - p64[i, k]).any(axis=0)
        tied_margin[k] = False
        tied_self = (p64[others, k] == p64[i, k]).any()
        assert tied_margin.any() or tied_self, f"row {i} differs from cleanlab without any tied key"


@st.composite
def continuous_problems(draw: st.DrawFn) -> tuple[Any, ...]:
    return draw(problems(max_n=1500, max_k=20, ties=False))


@SETTINGS
@given(continuous_problems(), st.sampled_from(["low_self_confidence", "low_normalized_margin"]))
def test_low_score_filters_match_cleanlab(problem: tuple[Any, ...], filter_by: str) -> None:
    labels, probs = problem
    if len(np.unique(labels)) < 2:
        return
    p64 = probs.astype(np.float64)
    mask, _ = ref.label_issues(labels, probs, filter_by, 1.0, None, 1, None, TOL, None)
    expected = _quiet(cl_filter.find_label_issues, labels, p64, filter_by=filter_by, n_jobs=1)
    # cleanlab counts issues with its own (float-summed) thresholds; equal here unless a value sits
    # within rounding of a threshold, which continuous data makes improbable.
    np.testing.assert_array_equal(mask, expected)


@SETTINGS
@given(continuous_problems(), st.sampled_from(["prune_by_class", "prune_by_noise_rate", "both"]), st.data())
def test_num_to_remove_per_class_matches_cleanlab(
    problem: tuple[Any, ...], filter_by: str, data: st.DataObject
) -> None:
    labels, probs = problem
    k = probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    if np.count_nonzero(counts) < 2:
        return
    p64 = probs.astype(np.float64)
    cj = cl_count.compute_confident_joint(
        labels, p64, thresholds=ref.confident_thresholds(labels, probs, TOL, None)
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    remove = (rng.random(k) * counts * 0.4).astype(np.int64)
    with np.errstate(all="ignore"):
        expected = _quiet(
            cl_filter.find_label_issues,
            labels,
            p64,
            filter_by=filter_by,
            num_to_remove_per_class=list(remove),
            confident_joint=cj,
            n_jobs=1,
        )
    mask, _ = ref.label_issues(labels, probs, filter_by, 1.0, remove, 1, cj, TOL, None)
    np.testing.assert_array_equal(mask, expected)


@SETTINGS
@given(problems(), st.sampled_from(SCORES), st.booleans())
def test_scores_match_cleanlab(problem: tuple[Any, ...], method: str, adjust: bool) -> None:
    labels, probs = problem
    p64 = probs.astype(np.float64)
    if adjust and method == "confidence_weighted_entropy":
        with pytest.raises(InvalidInputError, match="adjust_pred_probs"):
            ref.label_quality_scores(labels, probs, method, np.ones(probs.shape[1]), TOL, None)
        return
    thresholds = ref.confident_thresholds(labels, probs, TOL, None) if adjust else None
    ours = ref.label_quality_scores(labels, probs, method, thresholds, TOL, None)
    if adjust:
        expected = cl_rank._compute_label_quality_scores(
            labels, p64, method=method, adjust_pred_probs=True, confident_thresholds=thresholds
        )
    else:
        expected = cl_rank.get_label_quality_scores(labels, p64, method=method)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)


@SETTINGS
@given(continuous_problems(), st.sampled_from(SCORES))
def test_order_label_issues_matches_cleanlab(problem: tuple[Any, ...], method: str) -> None:
    labels, probs = problem
    if len(np.unique(labels)) < 2:
        return
    p64 = probs.astype(np.float64)
    mask = np.random.default_rng(len(labels)).random(len(labels)) < 0.3
    ours = ref.order_label_issues(mask, labels, probs, method, None, TOL, None)
    expected = cl_rank.order_label_issues(mask, labels, p64, rank_by=method)
    # cleanlab orders equal scores with numpy's unstable argsort; ours puts the lower index first.
    scores = ref.label_quality_scores(labels, probs, method, None, TOL, None)
    assert_equal_modulo_ties(ours, expected, scores, what=f"order_label_issues {method}")


def test_order_and_smallest_break_ties_by_index() -> None:
    scores = np.array([0.5, 0.1, 0.5, 0.1, 0.2])
    np.testing.assert_array_equal(ref.smallest_indices(scores, 3), [1, 3, 4])
    np.testing.assert_array_equal(ref.smallest_indices(scores, 99), [1, 3, 4, 0, 2])
    probs = np.full((4, 2), 0.5)
    mask = np.array([True, False, True, True])
    np.testing.assert_array_equal(
        ref.order_label_issues(mask, np.zeros(4, int), probs, "self_confidence", None, TOL, None), [0, 2, 3]
    )


@SETTINGS
@given(problems())
def test_predicted_neq_given_and_argmax_confusion(problem: tuple[Any, ...]) -> None:
    labels, probs = problem
    p64 = probs.astype(np.float64)
    np.testing.assert_array_equal(
        ref.predicted_neq_given(labels, probs, TOL, None), p64.argmax(axis=1) != labels
    )
    if len(np.unique(labels)) >= 2:
        expected = cl_filter.find_predicted_neq_given(labels, p64)
        np.testing.assert_array_equal(ref.predicted_neq_given(labels, probs, TOL, None), expected)
    conf = ref.argmax_confusion(labels, probs, TOL, None)
    k = probs.shape[1]
    assert conf.shape == (k, k) and conf.dtype == np.int64
    for given_label, predicted in [(0, 0), (k - 1, 0), (0, k - 1)]:
        assert conf[given_label, predicted] == np.sum(
            (labels == given_label) & (p64.argmax(axis=1) == predicted)
        )


def test_cleanlab_documented_quirks() -> None:
    # Several confident classes: the global argmax wins even below its own threshold.
    probs = np.array([[0.4, 0.3, 0.3]] * 3)
    cj, idx = ref.confident_joint(
        np.array([1, 1, 1]), probs, np.array([0.9, 0.3, 0.3]), False, True, TOL, None
    )
    np.testing.assert_array_equal(cj, [[1, 0, 0], [3, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(idx, [0, 1, 2])
    # A perfectly confident correct row gets confidence_weighted_entropy 0.
    score = ref.label_quality_scores(
        np.array([0, 1]), np.array([[1.0, 0.0], [0.3, 0.7]]), "confidence_weighted_entropy", None, TOL, None
    )
    assert score[0] == 0.0 and score[1] > 0.5


def test_singleton_and_small_classes_are_never_pruned() -> None:
    probs = np.array([[0.1, 0.9, 0.0], [0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.05, 0.05, 0.9], [0.9, 0.1, 0.0]])
    labels = np.array([0, 1, 1, 2, 0])
    for filter_by in ("prune_by_class", "prune_by_noise_rate", "both"):
        mask, too_few = ref.label_issues(labels, probs, filter_by, 1.0, None, 0, None, TOL, None)
        assert not mask[3]
        assert too_few == []
        _, too_few = ref.label_issues(labels, probs, filter_by, 1.0, None, 2, None, TOL, None)
        # Once per pruning rule: "both" runs two and so reports each class twice (as cleanlab warns).
        assert too_few == ([0, 0, 1, 1, 2, 2] if filter_by == "both" else [0, 1, 2])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([0.5, np.nan, -1.0], r"row 1 contains a non-finite value \(NaN or inf\) at column 1"),
        ([0.5, -0.1, 0.6], r"row 1 has a negative value at column 1"),
        ([0.5, 1.1, -0.0], r"row 1 has a value greater than 1 at column 1"),
        ([0.5, 0.2, 0.2], r"row 1 sums to 0.900000, expected 1 within 1e-06; pass probabilities"),
    ],
)
def test_check_pred_probs_messages(row: list[float], message: str) -> None:
    probs = np.array([[0.2, 0.3, 0.5], row, [np.inf, 0.0, 0.0]])
    with pytest.raises(PredProbsError, match=message):
        ref.check_pred_probs(probs, 1e-6, None)
    with pytest.raises(PredProbsError, match=message):
        ref.label_issues(np.array([0, 1, 2]), probs, "both", 1.0, None, 1, None, 1e-6, None)
    ref.check_pred_probs(np.array([[1.0, -0.0], [0.5, 0.5]]), 1e-6, None)


def test_unknown_methods_name_the_argument() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    labels = np.array([0, 1])
    with pytest.raises(InvalidInputError, match="filter_by"):
        ref.label_issues(labels, probs, "nope", 1.0, None, 1, None, TOL, None)
    with pytest.raises(InvalidInputError, match="rank_by"):
        ref.label_quality_scores(labels, probs, "nope", None, TOL, None)


def test_float16_and_float32_are_read_as_float64() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=500).astype(np.float16)
    probs = probs / probs.sum(axis=1, keepdims=True, dtype=np.float64)
    half = probs.astype(np.float16)
    labels = rng.integers(0, 4, 500)
    as64 = half.astype(np.float64)
    tol = 1e-2
    for filter_by in FILTERS:
        a, _ = ref.label_issues(labels, half, filter_by, 1.0, None, 1, None, tol, None)
        b, _ = ref.label_issues(labels, as64, filter_by, 1.0, None, 1, None, tol, None)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        ref.confident_thresholds(labels, half, tol, None), ref.confident_thresholds(labels, as64, tol, None)
    )
