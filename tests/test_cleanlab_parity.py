"""Hypothesis parity against cleanlab 2.9.0 called directly (a black-box oracle) on random inputs.

Inputs: N from 1 to 50 000 (mostly small, sometimes past 16 384 rows and 2**18 / K cells so the
chunked parallel paths run), K from 2 to 200, float64/float32/float16 (cleanlab gets the values cast
to float64), skewed class priors, classes missing from the labels, exact ties (duplicated rows,
tied entries within a row) and near-one-hot rows. Where cleanlab's unstable argsort may order tied
keys either way, results are compared with ``assert_equal_modulo_ties``. Every test runs on both
kernel sets.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelsieve
from conftest import BACKENDS, assert_equal_modulo_ties, record_example
from labelsieve import count, filter, rank
from labelsieve.internal import latent_algebra

cleanlab = pytest.importorskip("cleanlab")

from cleanlab import count as cl_count  # noqa: E402
from cleanlab import filter as cl_filter  # noqa: E402
from cleanlab import rank as cl_rank  # noqa: E402
from cleanlab.internal import latent_algebra as cl_latent  # noqa: E402

FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
LOW = ("low_self_confidence", "low_normalized_margin")
SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
PY_METHODS = ("cnt", "eqn", "marginal", "marginal_ps")

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(params=BACKENDS)
def kernels(request: pytest.FixtureRequest):
    with labelsieve.backend(request.param):
        yield request.param


@dataclass
class Case:
    labels: np.ndarray
    probs: np.ndarray  # what labelsieve gets (float64, float32 or float16)
    p64: np.ndarray  # what cleanlab gets: the same values as float64
    desc: str

    @property
    def k(self) -> int:
        return self.probs.shape[1]

    @property
    def n(self) -> int:
        return self.probs.shape[0]


def _sizes(draw) -> tuple[int, int]:
    k = draw(st.one_of(st.integers(2, 12), st.integers(13, 200)))
    bucket = draw(st.integers(0, 99))
    if bucket < 65:
        n = draw(st.integers(1, 200))
    elif bucket < 88:
        n = draw(st.integers(200, 5000))
    else:
        # Past the parallel thresholds: N > 16 384 and N*K >= 2**18.
        k = min(max(k, 6), 60)
        n = draw(st.integers(max(16_385, 2**18 // k + 1), 50_000))
    return n, k


@st.composite
def cases(draw, min_classes_in_labels: int = 1, dtypes=(np.float64, np.float32, np.float16)) -> Case:
    n, k = _sizes(draw)
    n = max(n, min_classes_in_labels)
    seed = draw(st.integers(0, 2**32 - 1))
    alpha = draw(st.sampled_from([0.05, 0.2, 1.0, 5.0]))
    skew = draw(st.sampled_from([0.1, 1.0]))
    dtype = draw(st.sampled_from(dtypes))
    missing = draw(st.integers(0, max(0, k - 2)) | st.just(0))
    frac_ties = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    frac_onehot = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    noise = draw(st.sampled_from([0.0, 0.1, 0.4]))
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.full(k, skew))
    true = rng.choice(k, size=n, p=prior)
    conc = np.full((n, k), alpha)
    conc[np.arange(n), true] += alpha * 5 + 1
    p = rng.gamma(conc)
    p = np.maximum(p, 1e-300)
    p /= p.sum(axis=1, keepdims=True)
    # Given labels: the true label, flipped to a random class with probability `noise`.
    labels = true.copy()
    flip = rng.random(n) < noise
    labels[flip] = rng.integers(0, k, flip.sum())
    present = np.arange(k)
    if missing:
        present = np.sort(rng.choice(k, size=k - missing, replace=False))
        labels = present[np.searchsorted(present, labels, side="left").clip(0, present.size - 1)]
    # Near-one-hot and exactly one-hot rows.
    rows = np.flatnonzero(rng.random(n) < frac_onehot)
    for j, i in enumerate(rows):
        eps = [0.0, 1e-12, 1e-7, 1e-3][j % 4]
        row = np.full(k, eps / (k - 1))
        row[rng.integers(k)] = 1.0 - eps
        p[i] = row
    # Exact ties: duplicated rows (same label) and two equal entries within a row.
    rows = np.flatnonzero(rng.random(n) < frac_ties)
    for j, i in enumerate(rows):
        if j % 2 == 0 and n > 1:
            src = rng.integers(n)
            p[i] = p[src]
            labels[i] = labels[src]
        else:
            a, b = rng.choice(k, 2, replace=False)
            s = p[i, a] + p[i, b]
            p[i, a] = p[i, b] = s / 2
    if min_classes_in_labels > 1 and np.unique(labels).size < min_classes_in_labels:
        if n < min_classes_in_labels:
            labels = np.arange(n) % k
        else:
            labels[:min_classes_in_labels] = np.arange(min_classes_in_labels)
    probs = p.astype(dtype)
    if dtype == np.float16:
        # float16 rounding must stay within the default 2e-2 row-sum tolerance.
        probs = (p / p.sum(axis=1, keepdims=True)).astype(dtype)
    desc = f"n={n} k={k} dtype={np.dtype(dtype).name} alpha={alpha} missing={missing} ties={frac_ties} onehot={frac_onehot}"
    return Case(labels.astype(np.int64), probs, probs.astype(np.float64), desc)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def outcome(fn, *args, **kwargs):
    """("ok", result) or ("err", exception)."""
    try:
        return "ok", quiet(fn, *args, **kwargs)
    except Exception as err:
        return "err", err


def self_conf(c: Case) -> np.ndarray:
    return c.p64[np.arange(c.n), c.labels]


def margin_keys(c: Case) -> np.ndarray:
    return c.p64 - self_conf(c)[:, None]


def veto(c: Case) -> np.ndarray:
    b = c.p64.copy()
    b[np.arange(c.n), c.labels] += 1e-6
    return b.argmax(axis=1) == c.labels


def compare_masks(ours: np.ndarray, theirs: np.ndarray, filter_by: str, c: Case, what: str) -> bool:
    if filter_by == "prune_by_class":
        keys = self_conf(c)
    elif filter_by in ("prune_by_noise_rate", "both"):
        keys = np.column_stack([self_conf(c), margin_keys(c)])
    elif filter_by in LOW:
        method = "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"
        keys = quiet(cl_rank.get_label_quality_scores, c.labels, c.p64, method=method)
        return assert_equal_modulo_ties(ours, theirs, keys, what=what)
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
        return True
    return assert_equal_modulo_ties(ours, theirs, keys, c.labels, vetoed=veto(c), what=what)


def two_classes(c: Case) -> bool:
    return np.unique(c.labels).size >= 2


# ----------------------------------------------------------------------------------------------
# count


@fixture_ok
@given(c=cases())
def test_get_confident_thresholds(kernels, c: Case) -> None:
    record_example()
    ours = count.get_confident_thresholds(c.labels, c.probs)
    theirs = cl_count.get_confident_thresholds(c.labels, c.p64)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0, err_msg=c.desc)


@fixture_ok
@given(c=cases(), calibrate=st.booleans())
def test_compute_confident_joint(kernels, c: Case, calibrate: bool) -> None:
    record_example()
    cj, idx = count.compute_confident_joint(
        c.labels, c.probs, calibrate=calibrate, return_indices_of_off_diagonals=True
    )
    tcj, tidx = cl_count.compute_confident_joint(
        c.labels, c.p64, calibrate=calibrate, return_indices_of_off_diagonals=True
    )
    np.testing.assert_array_equal(cj, tcj, err_msg=c.desc)
    np.testing.assert_array_equal(idx, tidx, err_msg=c.desc)
    np.testing.assert_array_equal(count.compute_confident_joint(c.labels, c.probs, calibrate=calibrate), tcj)
    # calibrate_confident_joint on the uncalibrated joint.
    ucj = cl_count.compute_confident_joint(c.labels, c.p64, calibrate=False)
    np.testing.assert_array_equal(
        count.calibrate_confident_joint(ucj, c.labels), cl_count.calibrate_confident_joint(ucj, c.labels)
    )
    np.testing.assert_allclose(
        count.estimate_joint(c.labels, c.probs), cl_count.estimate_joint(c.labels, c.p64), rtol=0, atol=1e-15
    )


@fixture_ok
@given(
    c=cases(),
    py_method=st.sampled_from(PY_METHODS),
    converge=st.booleans(),
    calibrate=st.booleans(),
)
def test_estimate_py_and_noise_matrices(
    kernels, c: Case, py_method: str, converge: bool, calibrate: bool
) -> None:
    record_example()
    kw = {"py_method": py_method, "converge_latent_estimates": converge, "calibrate": calibrate}
    ours = outcome(count.estimate_py_and_noise_matrices_from_probabilities, c.labels, c.probs, **kw)
    theirs = outcome(cl_count.estimate_py_and_noise_matrices_from_probabilities, c.labels, c.p64, **kw)
    if theirs[0] == "err":
        assert ours[0] == "err" and isinstance(ours[1], type(theirs[1])), (c.desc, ours, theirs)
        return
    assert ours[0] == "ok", (c.desc, ours[1])
    for a, b in zip(ours[1][:3], theirs[1][:3]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=c.desc)
    np.testing.assert_array_equal(ours[1][3], theirs[1][3])


@fixture_ok
@given(c=cases(), py_method=st.sampled_from(PY_METHODS), converge=st.booleans(), calibrate=st.booleans())
def test_estimate_latent(kernels, c: Case, py_method: str, converge: bool, calibrate: bool) -> None:
    record_example()
    cj = cl_count.compute_confident_joint(c.labels, c.p64, calibrate=calibrate)
    kw = {"py_method": py_method, "converge_latent_estimates": converge}
    ours = outcome(count.estimate_latent, cj, c.labels, **kw)
    theirs = outcome(cl_count.estimate_latent, cj, c.labels, **kw)
    # Near-singular noise matrices (e.g. most classes absent): whether the inversion fails and its
    # last digits depend on LAPACK's pivoting versus ours; only well-conditioned cases must agree.
    ill = any(r[0] == "ok" and _ill_conditioned(r[1][1]) for r in (ours, theirs))
    if theirs[0] == "err":
        assert (ours[0] == "err" and isinstance(ours[1], type(theirs[1]))) or ill, (c.desc, ours, theirs)
        return
    assert ours[0] == "ok" or ill, (c.desc, ours[1])
    if ours[0] == "err":
        return
    for a, b in zip(ours[1], theirs[1]):
        if ill:
            assert a.shape == b.shape and np.array_equal(np.isfinite(a), np.isfinite(b)), c.desc
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=c.desc)


def _ill_conditioned(matrix: np.ndarray) -> bool:
    cond = np.linalg.cond(matrix)
    return not np.isfinite(cond) or cond > 1e8


@fixture_ok
@given(
    c=cases(min_classes_in_labels=2),
    method=st.sampled_from(["off_diagonal", "off_diagonal_calibrated", "off_diagonal_custom"]),
)
def test_num_label_issues(kernels, c: Case, method: str) -> None:
    record_example()
    cj = None
    if method == "off_diagonal_custom":
        cj = cl_count.compute_confident_joint(c.labels, c.p64, calibrate=False)
    ours = quiet(count.num_label_issues, c.labels, c.probs, confident_joint=cj, estimation_method=method)
    theirs = quiet(cl_count.num_label_issues, c.labels, c.p64, confident_joint=cj, estimation_method=method)
    assert int(ours) == int(theirs), c.desc


# ----------------------------------------------------------------------------------------------
# filter


@fixture_ok
@given(
    c=cases(min_classes_in_labels=2),
    filter_by=st.sampled_from(FILTERS + LOW),
    frac_noise=st.sampled_from([1.0, 1.0, 0.5, 0.0, 0.9]),
    min_per_class=st.sampled_from([1, 1, 0, 5, 50]),
    remove_seed=st.none() | st.integers(0, 1000),
    rank_by=st.none() | st.sampled_from(SCORES),
    adjust=st.booleans(),
)
def test_find_label_issues(
    kernels, c, filter_by, frac_noise, min_per_class, remove_seed, rank_by, adjust
) -> None:
    record_example()
    prune = filter_by in ("prune_by_noise_rate", "prune_by_class", "both")
    kw: dict = {"filter_by": filter_by, "min_examples_per_class": min_per_class, "n_jobs": 1}
    if prune:
        kw["frac_noise"] = frac_noise
        if remove_seed is not None:
            counts = np.bincount(c.labels, minlength=c.k)
            kw["num_to_remove_per_class"] = np.random.default_rng(remove_seed).integers(
                0, np.maximum(counts, 1)
            )
    theirs_mask = quiet(cl_filter.find_label_issues, c.labels, c.p64, **kw)
    ours_mask = quiet(filter.find_label_issues, c.labels, c.probs, **kw)
    exact = compare_masks(ours_mask, theirs_mask, filter_by, c, f"{c.desc} {kw}")
    if rank_by is None:
        return
    rkw = {"adjust_pred_probs": True} if adjust and rank_by != "confidence_weighted_entropy" else {}
    ours = quiet(
        filter.find_label_issues,
        c.labels,
        c.probs,
        return_indices_ranked_by=rank_by,
        rank_by_kwargs=rkw,
        **kw,
    )
    np.testing.assert_array_equal(np.sort(ours), np.flatnonzero(ours_mask))
    scores = quiet(cl_rank.get_label_quality_scores, c.labels, c.p64, method=rank_by, **rkw)
    if exact:
        theirs = quiet(
            cl_filter.find_label_issues,
            c.labels,
            c.p64,
            return_indices_ranked_by=rank_by,
            rank_by_kwargs=rkw,
            **kw,
        )
        assert_equal_modulo_ties(ours, theirs, scores, rtol=1e-12, what=c.desc)
    # Lowest score first, ties by index.
    s = scores[ours]
    assert np.all(np.diff(s) >= -1e-12 * np.maximum(1, np.abs(s[1:]))), c.desc


@fixture_ok
@given(c=cases(min_classes_in_labels=2))
def test_find_predicted_neq_given(kernels, c: Case) -> None:
    record_example()
    np.testing.assert_array_equal(
        filter.find_predicted_neq_given(c.labels, c.probs),
        cl_filter.find_predicted_neq_given(c.labels, c.p64),
    )


@fixture_ok
@given(c=cases(min_classes_in_labels=2), calibrate=st.booleans(), filter_by=st.sampled_from(FILTERS[:3]))
def test_find_label_issues_using_argmax_confusion_matrix(
    kernels, c: Case, calibrate: bool, filter_by: str
) -> None:
    record_example()
    ours = outcome(
        filter.find_label_issues_using_argmax_confusion_matrix,
        c.labels,
        c.probs,
        calibrate=calibrate,
        filter_by=filter_by,
    )
    theirs = outcome(
        cl_filter.find_label_issues_using_argmax_confusion_matrix,
        c.labels,
        c.p64,
        calibrate=calibrate,
        filter_by=filter_by,
    )
    if theirs[0] == "err":
        # cleanlab's sklearn confusion matrix only spans classes present, so it fails when some are absent.
        assert np.unique(np.concatenate([c.labels, c.p64.argmax(1)])).size < c.k, (c.desc, theirs[1])
        assert ours[0] == "ok", (c.desc, ours[1])
        return
    assert ours[0] == "ok", (c.desc, ours[1])
    compare_masks(ours[1], theirs[1], filter_by, c, c.desc)


# ----------------------------------------------------------------------------------------------
# rank


@fixture_ok
@given(c=cases(), method=st.sampled_from(SCORES), adjust=st.booleans())
def test_get_label_quality_scores(kernels, c: Case, method: str, adjust: bool) -> None:
    record_example()
    ours = outcome(rank.get_label_quality_scores, c.labels, c.probs, method=method, adjust_pred_probs=adjust)
    theirs = outcome(
        cl_rank.get_label_quality_scores, c.labels, c.p64, method=method, adjust_pred_probs=adjust
    )
    if theirs[0] == "err":
        assert ours[0] == "err" and isinstance(ours[1], ValueError), (c.desc, ours, theirs)
        return
    assert ours[0] == "ok", (c.desc, ours[1])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=1e-15, err_msg=c.desc)
    if not adjust:
        fn = {
            "self_confidence": rank.get_self_confidence_for_each_label,
            "normalized_margin": rank.get_normalized_margin_for_each_label,
            "confidence_weighted_entropy": rank.get_confidence_weighted_entropy_for_each_label,
        }[method]
        np.testing.assert_array_equal(fn(c.labels, c.probs), ours[1])


@fixture_ok
@given(
    c=cases(min_classes_in_labels=2, dtypes=(np.float64, np.float32)),
    members=st.integers(1, 3),
    method=st.sampled_from(SCORES),
    adjust=st.booleans(),
    weighting=st.sampled_from(["uniform", "accuracy", "log_loss_search", "custom"]),
    seed=st.integers(0, 1000),
)
def test_get_label_quality_ensemble_scores(kernels, c, members, method, adjust, weighting, seed) -> None:
    record_example()
    if adjust and method == "confidence_weighted_entropy":
        adjust = False
    rng = np.random.default_rng(seed)
    lst = [c.probs]
    for _ in range(members - 1):
        q = c.p64 * rng.uniform(0.5, 1.5, c.p64.shape)
        lst.append((q / q.sum(axis=1, keepdims=True)).astype(c.probs.dtype))
    custom = rng.uniform(0, 2, members) if weighting == "custom" else None
    kw = {"method": method, "adjust_pred_probs": adjust, "weight_ensemble_members_by": weighting}
    ours = outcome(
        rank.get_label_quality_ensemble_scores, c.labels, lst, custom_weights=custom, verbose=False, **kw
    )
    theirs = outcome(
        cl_rank.get_label_quality_ensemble_scores,
        c.labels,
        [m.astype(np.float64) for m in lst],
        custom_weights=custom,
        verbose=False,
        **kw,
    )
    if theirs[0] == "err":
        if "different number of classes" in str(theirs[1]):
            return  # sklearn's log_loss in cleanlab needs every class in labels; labelsieve passes labels=
        assert ours[0] == "err" and isinstance(ours[1], type(theirs[1])), (c.desc, ours, theirs)
        return
    assert ours[0] == "ok", (c.desc, ours[1])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-13, err_msg=c.desc)


@fixture_ok
@given(
    c=cases(min_classes_in_labels=2),
    rank_by=st.sampled_from(SCORES),
    adjust=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_order_label_issues(kernels, c: Case, rank_by: str, adjust: bool, seed: int) -> None:
    record_example()
    mask = np.random.default_rng(seed).random(c.n) < 0.3
    rkw = {"adjust_pred_probs": True} if adjust and rank_by != "confidence_weighted_entropy" else {}
    ours = quiet(rank.order_label_issues, mask, c.labels, c.probs, rank_by=rank_by, rank_by_kwargs=rkw)
    theirs = quiet(cl_rank.order_label_issues, mask, c.labels, c.p64, rank_by=rank_by, rank_by_kwargs=rkw)
    scores = quiet(cl_rank.get_label_quality_scores, c.labels, c.p64, method=rank_by, **rkw)
    assert_equal_modulo_ties(np.asarray(ours), np.asarray(theirs), scores, rtol=1e-12, what=c.desc)


@given(
    scores=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]) | st.floats(0, 1), min_size=1, max_size=300),
    top=st.none() | st.integers(0, 400),
)
def test_find_top_issues(scores: list[float], top: int | None) -> None:
    record_example()
    s = np.array(scores)
    ours = rank.find_top_issues(s, top=top)
    theirs = cl_rank.find_top_issues(s, top=top)
    assert len(ours) == len(theirs)
    # Ties by index: the selected set may differ from numpy's only at the boundary score.
    np.testing.assert_array_equal(s[ours], s[theirs])
    assert np.all(np.diff(s[ours]) >= 0)
    for a, b in itertools.pairwise(ours):
        assert s[a] < s[b] or a < b


# ----------------------------------------------------------------------------------------------
# latent algebra


@st.composite
def noise_setups(draw):
    k = draw(st.integers(2, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    diag = rng.uniform(0.5, 1.0, k)
    nm = rng.dirichlet(np.ones(k), size=k).T * (1 - diag)
    nm[np.arange(k), np.arange(k)] = 0
    nm = nm / np.maximum(nm.sum(axis=0), 1e-12) * (1 - diag)
    nm[np.arange(k), np.arange(k)] = diag
    py = rng.dirichlet(np.full(k, draw(st.sampled_from([0.3, 1.0, 10.0]))))
    n = draw(st.integers(k, 400))
    labels = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    pp = rng.dirichlet(np.ones(k), size=n)
    return nm, py, labels, pp


@given(setup=noise_setups(), py_method=st.sampled_from(PY_METHODS))
def test_latent_algebra(setup, py_method: str) -> None:
    record_example()
    nm, py, labels, pp = setup
    for name in BACKENDS:
        with labelsieve.backend(name):
            ps, py2, inv = latent_algebra.compute_ps_py_inv_noise_matrix(labels, nm)
            tps, tpy2, tinv = cl_latent.compute_ps_py_inv_noise_matrix(labels, nm)
            for a, b in ((ps, tps), (py2, tpy2), (inv, tinv)):
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
            ps = tps
            a = latent_algebra.compute_py_inv_noise_matrix(ps, nm)
            b = cl_latent.compute_py_inv_noise_matrix(ps, nm)
            np.testing.assert_allclose(a[0], b[0], atol=1e-10)
            np.testing.assert_allclose(a[1], b[1], atol=1e-10)
            for kw in ({}, {"ps": ps}):
                np.testing.assert_allclose(
                    latent_algebra.compute_inv_noise_matrix(py, nm, **kw),
                    cl_latent.compute_inv_noise_matrix(py, nm, **kw),
                    atol=1e-10,
                )
            inv = cl_latent.compute_inv_noise_matrix(py, nm)
            for kw in ({}, {"py": py}):
                np.testing.assert_allclose(
                    latent_algebra.compute_noise_matrix_from_inverse(ps, inv, **kw),
                    cl_latent.compute_noise_matrix_from_inverse(ps, inv, **kw),
                    atol=1e-10,
                )
            counts = (
                np.bincount(labels, minlength=nm.shape[0]).astype(float) if py_method == "marginal" else None
            )
            np.testing.assert_allclose(
                latent_algebra.compute_py(ps, nm, inv, py_method=py_method, true_labels_class_counts=counts),
                quiet(
                    cl_latent.compute_py, ps, nm, inv, py_method=py_method, true_labels_class_counts=counts
                ),
                atol=1e-10,
            )
            np.testing.assert_allclose(
                latent_algebra.compute_pyx(pp, nm, inv), cl_latent.compute_pyx(pp, nm, inv), atol=1e-10
            )


# ----------------------------------------------------------------------------------------------
# one-class inputs: raise exactly where cleanlab raises


ONE_CLASS_CALLS = {
    "find_label_issues": (lambda m, y, p: m[1].find_label_issues(y, p, n_jobs=1)),
    "find_predicted_neq_given": (lambda m, y, p: m[1].find_predicted_neq_given(y, p)),
    "num_label_issues": (lambda m, y, p: m[0].num_label_issues(y, p)),
    "get_label_quality_scores": (lambda m, y, p: m[2].get_label_quality_scores(y, p)),
    "order_label_issues": (lambda m, y, p: m[2].order_label_issues(np.ones(len(y), bool), y, p)),
    "compute_confident_joint": (lambda m, y, p: m[0].compute_confident_joint(y, p)),
}


@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("name", sorted(ONE_CLASS_CALLS))
def test_one_class_labels_like_cleanlab(kernels, name: str, label: int) -> None:
    labels = np.full(6, label)
    probs = np.tile([0.7, 0.2, 0.1], (6, 1))
    call = ONE_CLASS_CALLS[name]
    ours = outcome(call, (count, filter, rank), labels, probs)
    theirs = outcome(call, (cl_count, cl_filter, cl_rank), labels, probs)
    assert ours[0] == theirs[0], f"{name} labels all {label}: labelsieve {ours}, cleanlab {theirs}"
    if theirs[0] == "err":
        assert isinstance(ours[1], ValueError)
    else:
        np.testing.assert_array_equal(np.asarray(ours[1]), np.asarray(theirs[1]))


@pytest.mark.parametrize(
    ("filter_by", "remove"),
    [("prune_by_class", [0, 0]), ("prune_by_class", [1, 0]), ("prune_by_class", [0, 1]), ("both", [0, 1])],
)
def test_num_to_remove_per_class_degenerate_joint(kernels, filter_by: str, remove: list[int]) -> None:
    """Regression (found by hypothesis): a 2-class joint with an empty off-diagonal row."""
    labels = np.array([0, 0, 1])
    probs = np.array([[0.0, 1.0], [1.0, 3e-51], [8e-30, 1.0]])
    kw = {"filter_by": filter_by, "num_to_remove_per_class": np.array(remove), "n_jobs": 1}
    theirs = quiet(cl_filter.find_label_issues, labels, probs, **kw)
    ours = quiet(filter.find_label_issues, labels, probs, **kw)
    np.testing.assert_array_equal(ours, theirs)
