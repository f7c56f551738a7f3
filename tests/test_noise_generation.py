"""Tests of labelsieve.benchmarking.noise_generation (synthetic label noise), with cleanlab as oracle."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelsieve.noise_generation as alias
from labelsieve.benchmarking import noise_generation as ng
from labelsieve.exceptions import InvalidDtypeError, InvalidInputError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def cl_ng() -> Any:
    return pytest.importorskip("cleanlab.benchmarking.noise_generation")


def dirichlet_prior(k: int, seed: int, alpha: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(k, alpha))


def confusion(noisy: np.ndarray, true: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, k), dtype=np.int64)
    np.add.at(out, (noisy, true), 1)
    return out


def expected_flips(true: np.ndarray, nm: np.ndarray) -> np.ndarray:
    """Spec 7.2 flip counts C[s, y]; a class whose flips exceed its size gets none."""
    k = nm.shape[0]
    counts = np.bincount(true, minlength=k)
    n = true.size
    flips = np.floor(nm * (counts / n) * n).astype(np.int64)
    np.fill_diagonal(flips, 0)
    flips[:, flips.sum(axis=0) > counts] = 0
    return flips


def rng_state_unchanged(fn: Callable[[], object]) -> object:
    # the legacy global RNG is exactly what must stay untouched
    before = np.random.get_state()  # noqa: NPY002
    result = fn()
    after = np.random.get_state()  # noqa: NPY002
    assert isinstance(before, tuple) and isinstance(after, tuple)
    assert before[0] == after[0]
    assert np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    return result


# ---------------------------------------------------------------- generate_noise_matrix_from_trace


@SETTINGS
@given(
    k=st.integers(2, 20),
    trace_frac=st.floats(0.5, 0.95),
    frac_zero=st.floats(0.0, 1.0),
    prior_seed=st.integers(0, 2**32 - 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_valid_matrix_is_column_stochastic_with_trace_and_zero_rates(
    cl_ng: Any, k: int, trace_frac: float, frac_zero: float, prior_seed: int, seed: int
) -> None:
    # low traces are rarely learnable, so None would be a legitimate answer there
    trace = max(1.05, trace_frac * k)
    py = dirichlet_prior(k, prior_seed, alpha=5.0)
    py_before = py.copy()
    nm = ng.generate_noise_matrix_from_trace(
        k, trace, py=py, frac_zero_noise_rates=frac_zero, seed=seed, max_iter=2000
    )
    assert np.array_equal(py, py_before)
    assert nm is not None
    assert nm.shape == (k, k) and nm.dtype == np.float64
    np.testing.assert_allclose(nm.sum(axis=0), 1.0, rtol=0, atol=1e-9)
    assert abs(np.trace(nm) - trace) < 1e-9
    assert nm.min() >= -1e-6 and nm.max() <= 1 + 1e-6
    off = ~np.eye(k, dtype=bool)
    zeros = int(np.sum(nm[off] == 0))
    if k == 2:
        assert zeros == (1 if frac_zero >= 0.5 else 0)
    else:
        assert ng.noise_matrix_is_valid(nm, py)
        assert cl_ng.noise_matrix_is_valid(nm, py)
        noisy = int(np.sum(np.diag(nm) != 1))
        target = max(0, int(k * (k - 1) * frac_zero) - (k - noisy) * (k - 1))
        assert zeros == (k - noisy) * (k - 1) + min(target, noisy * (k - 2))
        # every noisy column keeps at least one non-zero noise rate
        noisy_cols = np.diag(nm) != 1
        assert np.all(np.sum((nm != 0) & off, axis=0)[noisy_cols] >= 1)


@SETTINGS
@given(
    k=st.integers(3, 20),
    mean_diag=st.floats(0.05, 0.95),
    slack=st.floats(0.0, 1.0),
    min_rate_frac=st.floats(0.0, 1.0),
    max_rate_frac=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_bounds_of_diagonal_and_noise_rates_are_respected(
    k: int, mean_diag: float, slack: float, min_rate_frac: float, max_rate_frac: float, seed: int
) -> None:
    trace = mean_diag * k
    max_trace_prob = mean_diag + slack * (1 - mean_diag)
    min_trace_prob = mean_diag * (1 - slack)
    # feasible noise-rate bounds: (1 - diag) / (K - 1) lies in [(1 - max_trace_prob), (1 - min_trace_prob)] / (K - 1)
    min_noise_rate = min_rate_frac * (1 - max_trace_prob) / (k - 1)
    max_noise_rate = (1 - min_trace_prob) / (k - 1) + max_rate_frac * (1 - (1 - min_trace_prob) / (k - 1))
    nm = ng.generate_noise_matrix_from_trace(
        k,
        trace,
        max_trace_prob=max_trace_prob,
        min_trace_prob=min_trace_prob,
        max_noise_rate=max_noise_rate,
        min_noise_rate=min_noise_rate,
        valid_noise_matrix=False,
        seed=seed,
    )
    assert nm is not None
    diag = np.diag(nm)
    assert abs(diag.sum() - trace) < 1e-9
    assert diag.min() >= min_trace_prob - 1e-6 and diag.max() <= max_trace_prob + 1e-6
    rates = nm[~np.eye(k, dtype=bool)]
    assert rates.min() >= min_noise_rate - 1e-6 and rates.max() <= max_noise_rate + 1e-6
    np.testing.assert_allclose(nm.sum(axis=0), 1.0, rtol=0, atol=1e-9)


def test_k2_with_half_zero_rates_is_the_corner_matrix_or_its_rotation() -> None:
    corner = np.array([[1.0, 0.4], [0.0, 0.6]])
    rotated = np.array([[0.6, 0.0], [0.4, 1.0]])
    seen = {"corner": 0, "rotated": 0}
    for seed in range(40):
        nm = ng.generate_noise_matrix_from_trace(2, 1.6, frac_zero_noise_rates=0.5, seed=seed)
        assert nm is not None
        if np.allclose(nm, corner):
            seen["corner"] += 1
        else:
            np.testing.assert_allclose(nm, rotated)
            seen["rotated"] += 1
    assert min(seen.values()) > 0


def test_returns_none_when_no_valid_matrix_or_no_iterations() -> None:
    py = np.array([0.5, 0.5, 0.0])  # a class with zero prior can never be learnable
    assert ng.generate_noise_matrix_from_trace(3, 2.0, py=py, max_iter=5) is None
    assert ng.generate_noise_matrix_from_trace(3, 2.0, py=[0.3, 0.3, 0.4], max_iter=0) is None
    assert ng.generate_noise_matrix_from_trace(2, 1.5, max_iter=0) is None
    assert ng.generate_noise_matrix_from_trace(2, 1.5, max_iter=1) is not None


def test_default_seed_is_reproducible_and_seeds_differ() -> None:
    py = [0.2, 0.3, 0.5]
    a = ng.generate_noise_matrix_from_trace(3, 2.0, py=py)
    b = ng.generate_noise_matrix_from_trace(3, 2.0, py=py)
    c = ng.generate_noise_matrix_from_trace(3, 2.0, py=py, seed=1)
    assert a is not None and b is not None and c is not None
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    gen = np.random.default_rng(7)
    d = ng.generate_noise_matrix_from_trace(3, 2.0, py=py, seed=gen)
    e = ng.generate_noise_matrix_from_trace(3, 2.0, py=py, seed=gen)
    f = ng.generate_noise_matrix_from_trace(3, 2.0, py=py, seed=np.random.default_rng(7))
    assert d is not None and e is not None and f is not None
    assert not np.array_equal(d, e)  # the Generator advanced
    assert np.array_equal(d, f)


# ---------------------------------------------------------------- generate_noisy_labels


@st.composite
def labels_and_matrix(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(2, 8))
    counts = draw(st.lists(st.integers(1, 60), min_size=k, max_size=k))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    true = rng.permutation(np.repeat(np.arange(k), counts))
    nm = rng.dirichlet(np.ones(k), size=k).T  # columns sum to 1
    if draw(st.booleans()):
        nm = np.round(nm, 1)
        nm[np.arange(k), np.arange(k)] = 0
        nm[np.arange(k), np.arange(k)] = np.clip(1 - nm.sum(axis=0), 0, 1)
        nm = nm / nm.sum(axis=0)
    return true, nm


@SETTINGS
@given(data=labels_and_matrix(), seed=st.integers(0, 2**32 - 1))
def test_noisy_labels_flip_exactly_the_prescribed_counts(
    cl_ng: Any, data: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    true, nm = data
    k = nm.shape[0]
    true_before, nm_before = true.copy(), nm.copy()
    noisy = ng.generate_noisy_labels(true, nm, seed=seed)
    assert np.array_equal(true, true_before) and np.array_equal(nm, nm_before)
    assert noisy.dtype == true.dtype and noisy.shape == true.shape
    flips = expected_flips(true, nm)
    got = confusion(noisy, true, k)
    off = ~np.eye(k, dtype=bool)
    assert np.array_equal(got[off], flips[off])
    assert np.array_equal(np.diag(got), np.bincount(true, minlength=k) - flips.sum(axis=0))
    # cleanlab draws other positions, but its (given, true) cell counts are deterministic
    assert np.array_equal(confusion(cl_ng.generate_noisy_labels(true, nm), true, k), got)


def test_class_with_too_many_flips_is_left_unchanged() -> None:
    # column 0 sums to 1 + 9.5e-7 (within tolerance) so class 0 asks for n0 + 1 flips
    n0 = 1_100_000
    nm = np.array([[0.0, 0.1, 0.0], [1.0, 0.9, 0.0], [9.5e-7, 0.0, 1.0]])
    true = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(100, dtype=np.int64), np.full(5, 2)])
    noisy = ng.generate_noisy_labels(true, nm, seed=3)
    assert np.all(noisy[:n0] == 0)
    got = confusion(noisy, true, 3)
    assert got[0, 1] == math.floor(0.1 * (100 / true.size) * true.size)
    assert np.array_equal(got[:, 2], [0, 0, 5])


def test_noisy_labels_accept_lists_and_missing_classes() -> None:
    nm = np.array([[0.5, 0.0, 0.25], [0.5, 1.0, 0.25], [0.0, 0.0, 0.5]])
    noisy = ng.generate_noisy_labels([0, 0, 0, 0, 2, 2, 2, 2], nm, seed=0)
    assert isinstance(noisy, np.ndarray)
    assert np.array_equal(
        confusion(noisy, np.array([0, 0, 0, 0, 2, 2, 2, 2]), 3), [[2, 0, 1], [2, 0, 1], [0, 0, 2]]
    )
    assert ng.generate_noisy_labels(np.array([], dtype=np.int64), nm).size == 0


def test_noisy_labels_seed_reproducible_and_varying() -> None:
    true = np.repeat(np.arange(4), 250)
    nm = ng.generate_noise_matrix_from_trace(4, 2.5, py=[0.25] * 4, seed=5)
    assert nm is not None
    a = ng.generate_noisy_labels(true, nm, seed=11)
    b = ng.generate_noisy_labels(true, nm, seed=11)
    c = ng.generate_noisy_labels(true, nm, seed=12)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(confusion(a, true, 4), confusion(c, true, 4))
    assert not np.array_equal(ng.generate_noisy_labels(true, nm), ng.generate_noisy_labels(true, nm))


# ---------------------------------------------------------------- noise_matrix_is_valid


def random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(2, 10))
    nm = rng.dirichlet(np.ones(k), size=k).T
    boost = rng.uniform(0, 0.5)
    nm = nm + boost * np.eye(k)
    nm = nm / nm.sum(axis=0)
    py = rng.dirichlet(np.full(k, rng.uniform(0.3, 5)))
    return nm, py


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_noise_matrix_is_valid_agrees_with_cleanlab(cl_ng: Any, seed: int) -> None:
    nm, py = random_case(np.random.default_rng(seed))
    ours_out, theirs_out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(ours_out):
        ours = ng.noise_matrix_is_valid(nm, py, verbose=True)
    with contextlib.redirect_stdout(theirs_out):
        theirs = cl_ng.noise_matrix_is_valid(nm, py, verbose=True)
    assert ours == theirs
    assert ours_out.getvalue() == theirs_out.getvalue()
    assert ng.noise_matrix_is_valid(nm, py) == ours
    # a prior that does not sum to 1 is never valid
    assert ng.noise_matrix_is_valid(nm, py * 1.01) is cl_ng.noise_matrix_is_valid(nm, py * 1.01) is False


def test_noise_matrix_is_valid_sees_both_outcomes(cl_ng: Any) -> None:
    rng = np.random.default_rng(0)
    results = []
    for _ in range(300):
        nm, py = random_case(rng)
        ours = ng.noise_matrix_is_valid(nm, py)
        assert ours == cl_ng.noise_matrix_is_valid(nm, py)
        results.append(ours)
    assert 30 < sum(results) < 270


def test_noise_matrix_is_valid_known_answers() -> None:
    py = np.array([0.3, 0.3, 0.4])
    assert ng.noise_matrix_is_valid(np.eye(3), py) is True
    assert ng.noise_matrix_is_valid([[0.2, 0.5, 0.3], [0.5, 0.2, 0.4], [0.3, 0.3, 0.3]], py) is False
    # as in cleanlab only the joint must sum to 1, not each column
    assert ng.noise_matrix_is_valid([[0.9, 0.3], [0.2, 0.6]], [0.5, 0.5]) is True


# ---------------------------------------------------------------- balls and probabilities


@SETTINGS
@given(
    n=st.integers(0, 1000),
    k=st.integers(1, 30),
    max_balls=st.one_of(st.none(), st.integers(0, 200)),
    min_balls=st.one_of(st.none(), st.integers(0, 200)),
    seed=st.integers(0, 2**32 - 1),
)
def test_balls_into_bins_sum_and_bounds(
    cl_ng: Any, n: int, k: int, max_balls: int | None, min_balls: int | None, seed: int
) -> None:
    if max_balls is not None and min_balls is not None and min_balls > max_balls:
        min_balls, max_balls = max_balls, min_balls
    bins = ng.randomly_distribute_N_balls_into_K_bins(
        n, k, max_balls_per_bin=max_balls, min_balls_per_bin=min_balls, seed=seed
    )
    assert bins.shape == (k,) and bins.dtype == np.int64
    upper = n if max_balls is None else min(max_balls, n)
    expected_total = upper * k if n and n / k > upper else n
    assert bins.sum() == expected_total
    assert bins.max(initial=0) <= upper
    if n:
        lower = 0 if min_balls is None else min(min_balls, n / k)
        assert bins.min() >= math.floor(lower)
    if max_balls != 0:  # cleanlab divides by zero there
        theirs = cl_ng.randomly_distribute_N_balls_into_K_bins(
            n, k, max_balls_per_bin=max_balls, min_balls_per_bin=min_balls
        )
        assert theirs.sum() == bins.sum()


@SETTINGS
@given(
    n=st.integers(1, 60),
    mean=st.floats(0.0, 1.0),
    max_slack=st.floats(0.0, 1.0),
    min_slack=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_probabilities_sum_to_m_within_bounds(
    n: int, mean: float, max_slack: float, min_slack: float, seed: int
) -> None:
    m = mean * n
    max_prob = mean + max_slack * (1 - mean)
    min_prob = mean * (1 - min_slack)
    p = ng.generate_n_rand_probabilities_that_sum_to_m(n, m, max_prob=max_prob, min_prob=min_prob, seed=seed)
    assert p.shape == (n,) and p.dtype == np.float64
    assert abs(p.sum() - m) <= 1e-9 * max(1.0, m)
    assert p.min() >= min_prob - 1e-6 and p.max() <= max_prob + 1e-6


def test_probabilities_edge_cases() -> None:
    assert ng.generate_n_rand_probabilities_that_sum_to_m(0, 1.0, max_prob=0.1).shape == (0,)
    # mean within the 1e-6 tolerance above max_prob: the only answer is the mean itself
    np.testing.assert_allclose(
        ng.generate_n_rand_probabilities_that_sum_to_m(4, 2.000002, max_prob=0.5), 0.5000005
    )
    p = ng.generate_n_rand_probabilities_that_sum_to_m(1, 0.7)
    np.testing.assert_allclose(p, [0.7])


def test_balls_and_probabilities_seeding() -> None:
    a = ng.randomly_distribute_N_balls_into_K_bins(1000, 10, seed=4)
    assert np.array_equal(a, ng.randomly_distribute_N_balls_into_K_bins(1000, 10, seed=4))
    assert not np.array_equal(a, ng.randomly_distribute_N_balls_into_K_bins(1000, 10, seed=5))
    p = ng.generate_n_rand_probabilities_that_sum_to_m(10, 1.0, seed=4)
    assert np.array_equal(p, ng.generate_n_rand_probabilities_that_sum_to_m(10, 1.0, seed=4))
    assert not np.array_equal(p, ng.generate_n_rand_probabilities_that_sum_to_m(10, 1.0, seed=5))
    assert not np.array_equal(
        ng.generate_n_rand_probabilities_that_sum_to_m(10, 1.0),
        ng.generate_n_rand_probabilities_that_sum_to_m(10, 1.0),
    )


# ---------------------------------------------------------------- global RNG


@SETTINGS
@given(seed=st.one_of(st.none(), st.integers(0, 2**32 - 1)), k=st.integers(2, 6))
def test_global_numpy_rng_is_never_touched(seed: int | None, k: int) -> None:
    np.random.seed(12345)  # noqa: NPY002 (a known global state to compare against)
    py = np.full(k, 1 / k)
    nm = rng_state_unchanged(lambda: ng.generate_noise_matrix_from_trace(k, k * 0.7, py=py, seed=seed))
    assert isinstance(nm, np.ndarray)
    true = np.repeat(np.arange(k), 20)
    rng_state_unchanged(lambda: ng.generate_noisy_labels(true, nm, seed=seed))
    rng_state_unchanged(lambda: ng.noise_matrix_is_valid(nm, py))
    rng_state_unchanged(
        lambda: ng.generate_n_rand_probabilities_that_sum_to_m(k, 1.0, max_prob=0.9, seed=seed)
    )
    rng_state_unchanged(
        lambda: ng.randomly_distribute_N_balls_into_K_bins(50, k, max_balls_per_bin=40, seed=seed)
    )
    rng_state_unchanged(
        lambda: ng.generate_noise_matrix_from_trace(k, k * 0.7, py=py, frac_zero_noise_rates=0.5)
    )


# ---------------------------------------------------------------- errors


def test_cleanlab_error_messages_are_kept(cl_ng: Any) -> None:
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("generate_noise_matrix_from_trace", (3, 1.0), {}),
        ("generate_noise_matrix_from_trace", (3, 0.5), {}),
        ("generate_noise_matrix_from_trace", (3, 1.5), {}),
        ("generate_noise_matrix_from_trace", (1, 1.5), {"py": [1.0]}),
        ("generate_noise_matrix_from_trace", (1, 0.5), {"valid_noise_matrix": False}),
        ("generate_n_rand_probabilities_that_sum_to_m", (3, 1.0), {"max_prob": 0.2}),
        ("generate_n_rand_probabilities_that_sum_to_m", (2, 1), {"max_prob": 0.25}),
        ("generate_noise_matrix_from_trace", (3, 1), {"py": [0.2, 0.3, 0.5]}),
    ]
    for name, args, kwargs in cases:
        with pytest.raises(ValueError) as theirs:
            getattr(cl_ng, name)(*args, **kwargs)
        with pytest.raises(InvalidInputError) as ours:
            getattr(ng, name)(*args, **kwargs)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: ng.noise_matrix_is_valid(np.ones((2, 3)) / 2, [0.5, 0.5]),
            InvalidInputError,
            "noise_matrix",
        ),
        (
            lambda: ng.noise_matrix_is_valid(np.eye(2), [0.5, 0.3, 0.2]),
            InvalidInputError,
            "py must have length",
        ),
        (lambda: ng.noise_matrix_is_valid(np.eye(2), [[0.5, 0.5]]), InvalidInputError, "py must be a 1-D"),
        (
            lambda: ng.noise_matrix_is_valid([["a", "b"], ["c", "d"]], [0.5, 0.5]),
            InvalidDtypeError,
            "noise_matrix",
        ),
        (
            lambda: ng.noise_matrix_is_valid([[np.nan, 0], [1, 1]], [0.5, 0.5]),
            InvalidInputError,
            "noise_matrix",
        ),
        (lambda: ng.generate_noisy_labels([0.0, 1.0], np.eye(2)), InvalidDtypeError, "true_labels"),
        (
            lambda: ng.generate_noisy_labels([[0, 1]], np.eye(2)),
            InvalidInputError,
            "true_labels must be a 1-D",
        ),
        (
            lambda: ng.generate_noisy_labels([0, 2], np.eye(2)),
            InvalidInputError,
            "true_labels must be in 0..K-1",
        ),
        (lambda: ng.generate_noisy_labels([-1, 0], np.eye(2)), InvalidInputError, "true_labels"),
        (lambda: ng.generate_noisy_labels([0, 1], np.eye(3)[:2]), InvalidInputError, "noise_matrix"),
        (
            lambda: ng.generate_noisy_labels([0, 1], [[0.9, 0.2], [0.2, 0.8]]),
            InvalidInputError,
            "noise_matrix columns must sum to 1.*column 0",
        ),
        (
            lambda: ng.generate_noisy_labels([0, 1], [[1.5, 0], [-0.5, 1]]),
            InvalidInputError,
            "noise_matrix entries",
        ),
        (lambda: ng.generate_noisy_labels([0, 1], np.eye(2), seed="x"), InvalidDtypeError, "seed"),
        (lambda: ng.generate_noisy_labels([0, 1], np.eye(2), seed=-1), InvalidInputError, "seed"),
        (
            lambda: ng.generate_noise_matrix_from_trace(3.0, 2.0, py=[0.3] * 3),
            InvalidDtypeError,
            "K must be an int",
        ),
        (
            lambda: ng.generate_noise_matrix_from_trace(3, 2.0, py=[0.5, 0.5]),
            InvalidInputError,
            "py must have length",
        ),
        (
            lambda: ng.generate_noise_matrix_from_trace(3, 3.5, py=[0.3] * 3),
            InvalidInputError,
            "trace must be in",
        ),
        (
            lambda: ng.generate_noise_matrix_from_trace(3, 2.0, py=[0.3] * 3, frac_zero_noise_rates=1.5),
            InvalidInputError,
            "frac_zero_noise_rates",
        ),
        (
            lambda: ng.generate_noise_matrix_from_trace(3, 2.0, py=[0.3] * 3, max_iter=2.5),
            InvalidDtypeError,
            "max_iter",
        ),
        (
            lambda: ng.generate_noise_matrix_from_trace(
                2, 0.5, valid_noise_matrix=False, frac_zero_noise_rates=0.5
            ),
            InvalidInputError,
            r"trace must be in \[1, 2\]",
        ),
        (
            lambda: ng.generate_noise_matrix_from_trace(3, 2.9, py=[0.3] * 3, max_noise_rate=0.01),
            InvalidInputError,
            "max_prob must be greater or equal to m / n",
        ),
        (
            lambda: ng.generate_n_rand_probabilities_that_sum_to_m(3, 1.0, min_prob=0.5),
            InvalidInputError,
            "min_prob must be less or equal to m / n, but min_prob = 0.5",
        ),
        (
            lambda: ng.generate_n_rand_probabilities_that_sum_to_m(-1, 1.0),
            InvalidInputError,
            "n must be >= 0",
        ),
        (
            lambda: ng.generate_n_rand_probabilities_that_sum_to_m(2, "1"),
            InvalidDtypeError,
            "m must be a real",
        ),
        (lambda: ng.randomly_distribute_N_balls_into_K_bins(10, 0), InvalidInputError, "K must be >= 1"),
        (lambda: ng.randomly_distribute_N_balls_into_K_bins(-1, 2), InvalidInputError, "N must be >= 0"),
        (lambda: ng.randomly_distribute_N_balls_into_K_bins(1.5, 2), InvalidDtypeError, "N must be an int"),
        (
            lambda: ng.randomly_distribute_N_balls_into_K_bins(10, 2, max_balls_per_bin=-1),
            InvalidInputError,
            "max_balls_per_bin",
        ),
    ],
)
def test_errors_name_the_argument(call: Callable[[], object], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()
    assert issubclass(exc, ValueError if exc is InvalidInputError else TypeError)


def test_alias_module_reexports_the_same_objects() -> None:
    assert set(alias.__dict__) >= set(ng.__all__)
    for name in ng.__all__:
        assert getattr(alias, name) is getattr(ng, name)
