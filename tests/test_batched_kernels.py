"""The mergeable accumulators (ThresholdAccumulator, JointAccumulator, ScoreSelector, PruneSelector)
on both kernel sets.

Rows are fed in random uneven batches (empty ones included) to several workers, some states go
through pickle or deepcopy between updates, and the workers merge in a random order; the finished
results must equal the same backend's in-memory kernels on the concatenated rows, exactly (they are
integer sums and top-n selections by (key, index)). The Rust and the reference accumulators must also
agree with each other. Errors: bad rows are named by their global index, with the in-memory message.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelsieve
from conftest import BACKENDS, assert_equal_modulo_ties, record_example
from labelsieve import _backend
from labelsieve.exceptions import PredProbsError

PRUNE = ("prune_by_noise_rate", "prune_by_class", "both")
SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
CLASSES = ("ThresholdAccumulator", "JointAccumulator", "ScoreSelector", "PruneSelector")

# The profile's settings plus the per-backend fixture, which is safe to share between examples.
with_fixture = settings(
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture]
)


@pytest.fixture(params=BACKENDS)
def kernels(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """The kernel module of each backend (``labelsieve.backend(name)``)."""
    with labelsieve.backend(request.param):
        yield _backend.kernels()


def kernels_of(name: str) -> ModuleType:
    with labelsieve.backend(name):
        return _backend.kernels()


# ----------------------------------------------------------------------------------------------
# Data: rows, their split into batches, the workers that see them and the merge order


@dataclass
class Split:
    labels: np.ndarray
    probs: np.ndarray
    tol: float
    cuts: list[int]  # batch b is rows cuts[b]:cuts[b + 1]
    workers: list[int]  # worker of batch b
    copies: list[str]  # after batch b: "", "pickle" or "deepcopy" of that worker's state
    merge_order: list[int]  # workers, merged into the first in this order

    @property
    def n(self) -> int:
        return self.probs.shape[0]

    @property
    def k(self) -> int:
        return self.probs.shape[1]

    def batches(self) -> Iterator[tuple[int, int]]:
        yield from zip(self.cuts[:-1], self.cuts[1:])

    def __repr__(self) -> str:
        return (
            f"Split(n={self.n}, k={self.k}, probs={self.probs.dtype}, labels={self.labels.dtype}, "
            f"classes={np.unique(self.labels).tolist()}, cuts={self.cuts}, workers={self.workers}, "
            f"copies={self.copies}, merge_order={self.merge_order})"
        )


def make_rows(
    n: int,
    k: int,
    seed: int,
    dtype: Any = np.float64,
    label_dtype: Any = np.int64,
    alpha: float = 0.5,
    present: np.ndarray | None = None,
    frac_ties: float = 0.0,
    frac_onehot: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy labels and Dirichlet-like rows; ``present`` restricts the classes found in labels."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    conc = np.full((n, k), alpha)
    conc[np.arange(n), true] += 3 * alpha + 1
    p = np.maximum(rng.gamma(conc), 1e-300)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.25, rng.integers(0, k, n), true)
    if present is not None:
        labels = present[labels % present.size]
    for j, i in enumerate(np.flatnonzero(rng.random(n) < frac_onehot)):
        p[i] = np.eye(k)[rng.integers(k)] if j % 2 else np.eye(k)[labels[i]]
    for j, i in enumerate(np.flatnonzero(rng.random(n) < frac_ties)):
        if j % 2:
            src = rng.integers(n)
            p[i], labels[i] = p[src], labels[src]
        else:
            a, b = rng.choice(k, 2, replace=False)
            p[i, a] = p[i, b] = (p[i, a] + p[i, b]) / 2
    return labels.astype(label_dtype), p.astype(dtype)


@st.composite
def splits(draw: Any, max_n: int = 600) -> Split:
    k = draw(st.integers(2, 12))
    n = draw(st.integers(1, 40) | st.integers(41, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16]))
    label_dtype = draw(st.sampled_from([np.int64, np.int32]))
    absent = draw(st.integers(0, k - 1) | st.just(0))
    rng = np.random.default_rng(seed)
    present = np.sort(rng.choice(k, size=k - absent, replace=False)) if absent else None
    labels, probs = make_rows(
        n,
        k,
        seed,
        dtype,
        label_dtype,
        alpha=draw(st.sampled_from([0.1, 0.5, 2.0])),
        present=present,
        frac_ties=draw(st.sampled_from([0.0, 0.1, 0.4])),
        frac_onehot=draw(st.sampled_from([0.0, 0.1])),
    )
    inner = draw(st.lists(st.integers(0, n), max_size=7))
    cuts = [0, *sorted(inner), n]
    num_batches = len(cuts) - 1
    workers = draw(st.lists(st.integers(0, num_batches - 1), min_size=num_batches, max_size=num_batches))
    copies = draw(
        st.lists(st.sampled_from(["", "", "pickle", "deepcopy"]), min_size=num_batches, max_size=num_batches)
    )
    merge_order = draw(st.permutations(sorted(set(workers))))
    tol = 2e-2 if dtype == np.float16 else 1e-4
    return Split(labels, probs, tol, cuts, workers, copies, list(merge_order))


def round_trip(state: Any, how: str) -> Any:
    if how == "pickle":
        return pickle.loads(pickle.dumps(state))
    if how == "deepcopy":
        return copy.deepcopy(state)
    return state


def run_batched(split: Split, new: Callable[[], Any], update: Callable[[Any, int, int], None]) -> Any:
    """Each worker updates its own state with its batches in order (copied where drawn), then the
    workers' states merge into the first of ``merge_order``."""
    states: dict[int, Any] = {}
    for (lo, hi), worker, how in zip(split.batches(), split.workers, split.copies):
        state = states[worker] if worker in states else new()
        update(state, lo, hi)
        states[worker] = round_trip(state, how)
    first, *rest = split.merge_order
    for worker in rest:
        states[first].merge(states[worker])
    return states[first]


@dataclass
class PruneOptions:
    filter_by: str
    frac_noise: float
    remove: np.ndarray | None
    min_examples: int
    calibrated: bool  # the selector gets the calibrated (else raw) confident joint


@st.composite
def prune_options(draw: Any, k: int, counts: np.ndarray) -> PruneOptions:
    remove = None
    if draw(st.booleans()):
        remove = np.array([draw(st.integers(0, max(int(c), 0))) for c in counts], dtype=np.int64)
    return PruneOptions(
        filter_by=draw(st.sampled_from(PRUNE)),
        frac_noise=draw(st.sampled_from([1.0, 1.0, 0.7, 0.35])),
        remove=remove,
        min_examples=draw(st.sampled_from([0, 1, 1, 2, 5])),
        calibrated=draw(st.booleans()),
    )


def label_counts(split: Split) -> np.ndarray:
    return np.bincount(split.labels, minlength=split.k).astype(np.int64)


def batched_thresholds(kern: ModuleType, split: Split) -> Any:
    y, p = split.labels, split.probs
    return run_batched(
        split,
        lambda: kern.ThresholdAccumulator(split.k),
        lambda acc, lo, hi: acc.update(y[lo:hi], p[lo:hi], lo, split.tol, None),
    )


def batched_joint(kern: ModuleType, split: Split, thresholds: np.ndarray) -> tuple[Any, np.ndarray]:
    """The merged JointAccumulator and the per-batch flags written back in row order."""
    y, p = split.labels, split.probs
    flags = np.zeros(split.n, dtype=np.int8) - 1  # -1: no batch wrote this row

    def update(acc: Any, lo: int, hi: int) -> None:
        out = acc.update(y[lo:hi], p[lo:hi], True, None)
        assert out.dtype == np.bool_ and out.shape == (hi - lo,)
        flags[lo:hi] = out
        assert acc.update(y[lo:lo], p[lo:lo], False, None) is None

    acc = run_batched(split, lambda: kern.JointAccumulator(thresholds), update)
    assert (flags >= 0).all()
    return acc, flags.astype(bool)


def batched_prune(kern: ModuleType, split: Split, cj: np.ndarray, opts: PruneOptions) -> Any:
    y, p = split.labels, split.probs
    return run_batched(
        split,
        lambda: kern.PruneSelector(
            cj, label_counts(split), opts.filter_by, opts.frac_noise, opts.remove, opts.min_examples
        ),
        lambda sel, lo, hi: sel.update(y[lo:hi], p[lo:hi], lo, None),
    )


def batched_scores(
    kern: ModuleType, split: Split, method: str, thresholds: np.ndarray | None, num: int
) -> Any:
    y, p = split.labels, split.probs
    return run_batched(
        split,
        lambda: kern.ScoreSelector(method, thresholds, split.k, num),
        lambda sel, lo, hi: sel.update(y[lo:hi], p[lo:hi], lo, None),
    )


def assert_identical(ours: Any, expected: Any, what: str) -> None:
    ours, expected = np.asarray(ours), np.asarray(expected)
    assert ours.dtype == expected.dtype, f"{what}: dtype {ours.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(ours, expected, err_msg=what)


# ----------------------------------------------------------------------------------------------
# Each accumulator equals its in-memory kernel on the concatenated rows


@with_fixture
@given(split=splits())
def test_threshold_accumulator_equals_confident_thresholds(kernels: ModuleType, split: Split) -> None:
    record_example()
    acc = batched_thresholds(kernels, split)
    expected = kernels.confident_thresholds(split.labels, split.probs, split.tol, None)
    assert_identical(acc.thresholds(), expected, "thresholds")
    assert_identical(acc.label_counts(), label_counts(split), "label_counts")
    assert acc.n_rows == split.n and acc.num_class == split.k


@with_fixture
@given(split=splits())
def test_joint_accumulator_equals_confident_joint_and_flags(kernels: ModuleType, split: Split) -> None:
    record_example()
    y, p, tol = split.labels, split.probs, split.tol
    thresholds = kernels.confident_thresholds(y, p, tol, None)
    acc, flags = batched_joint(kernels, split, thresholds)
    assert acc.num_class == split.k
    for calibrate in (False, True):
        expected, _ = kernels.confident_joint(y, p, thresholds, calibrate, False, tol, None)
        assert_identical(acc.confident_joint(calibrate), expected, f"confident_joint calibrate={calibrate}")
    assert_identical(acc.label_counts(), label_counts(split), "label_counts")
    mask, _ = kernels.label_issues(y, p, "confident_learning", 1.0, None, 1, None, tol, None)
    assert_identical(flags, mask, "confident_learning flags")
    assert acc.num_issues == int(mask.sum())


@with_fixture
@given(split=splits(), data=st.data())
def test_prune_selector_equals_label_issues(kernels: ModuleType, split: Split, data: st.DataObject) -> None:
    record_example()
    y, p, tol = split.labels, split.probs, split.tol
    opts = data.draw(prune_options(split.k, label_counts(split)), label="options")
    cj, _ = kernels.confident_joint(y, p, None, opts.calibrated, False, tol, None)
    selector = batched_prune(kernels, split, cj, opts)
    # The calibrated joint is what label_issues computes itself; a raw one is passed explicitly.
    given_cj = None if opts.calibrated else cj
    mask, too_few = kernels.label_issues(
        y, p, opts.filter_by, opts.frac_noise, opts.remove, opts.min_examples, given_cj, tol, None
    )
    assert_identical(selector.indices(), np.flatnonzero(mask).astype(np.int64), f"{opts}")
    assert list(selector.too_few) == list(too_few)


@with_fixture
@given(
    split=splits(),
    method=st.sampled_from(SCORES),
    adjust=st.booleans(),
    num=st.integers(0, 50) | st.integers(0, 700),
)
def test_score_selector_equals_smallest_indices(
    kernels: ModuleType, split: Split, method: str, adjust: bool, num: int
) -> None:
    record_example()
    y, p, tol = split.labels, split.probs, split.tol
    adjust = adjust and method != "confidence_weighted_entropy"
    thresholds = kernels.confident_thresholds(y, p, tol, None) if adjust else None
    selector = batched_scores(kernels, split, method, thresholds, num)
    scores = kernels.label_quality_scores(y, p, method, thresholds, tol, None)
    assert_identical(selector.indices(), kernels.smallest_indices(scores, num), f"{method} adjust={adjust}")


# ----------------------------------------------------------------------------------------------
# The whole batched pipeline: each pass fed by the previous accumulators, as a streaming caller does


def pipeline(kern: ModuleType, split: Split, opts: PruneOptions, method: str, num: int) -> dict[str, Any]:
    thresholds = batched_thresholds(kern, split).thresholds()
    joint, flags = batched_joint(kern, split, thresholds)
    cj = joint.confident_joint(opts.calibrated)
    prune = batched_prune(kern, split, cj, opts)
    adjusted = None if method == "confidence_weighted_entropy" else thresholds
    return {
        "thresholds": thresholds,
        "raw_cj": joint.confident_joint(False),
        "calibrated_cj": joint.confident_joint(True),
        "joint_label_counts": joint.label_counts(),
        "flags": flags,
        "num_issues": joint.num_issues,
        "prune": prune.indices(),
        "too_few": prune.too_few,
        "scores": batched_scores(kern, split, method, None, num).indices(),
        "adjusted_scores": batched_scores(kern, split, method, adjusted, num).indices(),
    }


def in_memory(kern: ModuleType, split: Split, opts: PruneOptions, method: str, num: int) -> dict[str, Any]:
    y, p, tol = split.labels, split.probs, split.tol
    thresholds = kern.confident_thresholds(y, p, tol, None)
    cj, _ = kern.confident_joint(y, p, None, opts.calibrated, False, tol, None)
    flags, _ = kern.label_issues(y, p, "confident_learning", 1.0, None, 1, None, tol, None)
    mask, too_few = kern.label_issues(
        y, p, opts.filter_by, opts.frac_noise, opts.remove, opts.min_examples, cj, tol, None
    )
    adjusted = None if method == "confidence_weighted_entropy" else thresholds
    return {
        "thresholds": thresholds,
        "raw_cj": kern.confident_joint(y, p, None, False, False, tol, None)[0],
        "calibrated_cj": kern.confident_joint(y, p, None, True, False, tol, None)[0],
        "joint_label_counts": label_counts(split),
        "flags": flags,
        "num_issues": int(flags.sum()),
        "prune": np.flatnonzero(mask).astype(np.int64),
        "too_few": too_few,
        "scores": kern.smallest_indices(kern.label_quality_scores(y, p, method, None, tol, None), num),
        "adjusted_scores": kern.smallest_indices(
            kern.label_quality_scores(y, p, method, adjusted, tol, None), num
        ),
    }


def assert_same_results(ours: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    assert ours.keys() == expected.keys()
    for key in ours:
        if key in ("num_issues", "too_few"):
            assert ours[key] == expected[key], f"{what} {key}: {ours[key]} != {expected[key]}"
        else:
            assert_identical(ours[key], expected[key], f"{what} {key}")


@with_fixture
@given(split=splits(), data=st.data(), method=st.sampled_from(SCORES))
def test_batched_pipeline_equals_in_memory(
    kernels: ModuleType, split: Split, data: st.DataObject, method: str
) -> None:
    record_example()
    opts = data.draw(prune_options(split.k, label_counts(split)), label="options")
    num = data.draw(st.integers(0, split.n + 3), label="num")
    assert_same_results(
        pipeline(kernels, split, opts, method, num), in_memory(kernels, split, opts, method, num), "pipeline"
    )


# Past the Rust kernels' parallel thresholds (16 384-row chunks, 2**18 elements) within one batch.
BIG = make_rows(60_000, 12, 11, np.float32, np.int32, frac_ties=0.05, frac_onehot=0.02)


@pytest.mark.parametrize("filter_by", PRUNE)
def test_batches_crossing_the_parallel_chunk_size(kernels: ModuleType, filter_by: str) -> None:
    # Batches of 24 877 and 34 999 rows (x 12 classes > 2**18): 2 and 3 parallel chunks each.
    labels, probs = BIG
    split = Split(
        labels, probs, 1e-4, [0, 123, 25_000, 25_001, 60_000], [1, 0, 1, 0], ["pickle", "", "", ""], [0, 1]
    )
    opts = PruneOptions(filter_by, 0.8, None, 3, True)
    ours = pipeline(kernels, split, opts, "normalized_margin", 500)
    assert_same_results(ours, in_memory(kernels, split, opts, "normalized_margin", 500), "big")
    assert ours["prune"].size > 100 and ours["num_issues"] > 100  # the selections are not trivial


def test_absent_classes_and_empty_batches(kernels: ModuleType) -> None:
    labels, probs = make_rows(300, 6, 5, present=np.array([0, 2, 5]))
    split = Split(labels, probs, 1e-4, [0, 0, 150, 150, 299, 300], [0, 1, 2, 3, 0], [""] * 5, [3, 2, 1, 0])
    acc = batched_thresholds(kernels, split)
    assert_identical(acc.thresholds()[[1, 3, 4]], np.full(3, 2.0), "absent classes' thresholds")
    assert acc.label_counts()[[1, 3, 4]].tolist() == [0, 0, 0]
    opts = PruneOptions("both", 0.5, None, 2, True)
    assert_same_results(
        pipeline(kernels, split, opts, "self_confidence", 40),
        in_memory(kernels, split, opts, "self_confidence", 40),
        "absent classes",
    )


def test_too_few_classes_are_reported(kernels: ModuleType) -> None:
    labels, probs = make_rows(200, 4, 9)
    labels[labels == 3] = 2
    labels[7] = 3  # a singleton class
    cj, _ = kernels.confident_joint(labels, probs, None, True, False, 1e-4, None)
    counts = np.bincount(labels, minlength=4).astype(np.int64)
    for filter_by in PRUNE:
        selector = kernels.PruneSelector(cj, counts, filter_by, 1.0, None, 1)
        selector.update(labels, probs, 0, None)
        mask, too_few = kernels.label_issues(labels, probs, filter_by, 1.0, None, 1, None, 1e-4, None)
        assert 3 in selector.too_few and list(selector.too_few) == list(too_few)
        assert_identical(selector.indices(), np.flatnonzero(mask).astype(np.int64), filter_by)


# ----------------------------------------------------------------------------------------------
# Pickling and copying


def _fresh(kern: ModuleType, name: str, split: Split) -> Any:
    y, p, tol = split.labels, split.probs, split.tol
    thresholds = kern.confident_thresholds(y, p, tol, None)
    cj, _ = kern.confident_joint(y, p, None, True, False, tol, None)
    return {
        "ThresholdAccumulator": lambda: kern.ThresholdAccumulator(split.k),
        "JointAccumulator": lambda: kern.JointAccumulator(thresholds),
        "ScoreSelector": lambda: kern.ScoreSelector("normalized_margin", thresholds, split.k, 37),
        "PruneSelector": lambda: kern.PruneSelector(cj, label_counts(split), "both", 0.9, None, 1),
    }[name]()


def _feed(state: Any, split: Split, lo: int, hi: int) -> None:
    y, p = split.labels[lo:hi], split.probs[lo:hi]
    if type(state).__name__ == "ThresholdAccumulator":
        state.update(y, p, lo, split.tol, None)
    elif type(state).__name__ == "JointAccumulator":
        state.update(y, p, False, None)
    else:
        state.update(y, p, lo, None)


def _result(state: Any) -> Any:
    name = type(state).__name__
    if name == "ThresholdAccumulator":
        return (state.thresholds().tolist(), state.label_counts().tolist(), state.n_rows)
    if name == "JointAccumulator":
        return (state.confident_joint(True).tolist(), state.label_counts().tolist(), state.num_issues)
    if name == "PruneSelector":
        return (state.indices().tolist(), list(state.too_few))
    return state.indices().tolist()


@pytest.mark.parametrize("name", CLASSES)
def test_pickle_and_deepcopy_keep_the_state(kernels: ModuleType, name: str) -> None:
    labels, probs = make_rows(900, 5, 3, frac_ties=0.2)
    split = Split(labels, probs, 1e-4, [0, 900], [0], [""], [0])
    whole = _fresh(kernels, name, split)
    _feed(whole, split, 0, 900)
    for how in ("pickle", "deepcopy"):
        state = _fresh(kernels, name, split)
        _feed(state, split, 0, 400)
        copied = round_trip(state, how)
        assert type(copied) is type(state)
        assert _result(copied) == _result(state)
        _feed(copied, split, 400, 900)
        assert _result(copied) == _result(whole), f"{how}: updates after the round trip"
        # The copy is independent: the original still holds only its first 400 rows.
        assert _result(state) != _result(whole)
        _feed(state, split, 400, 900)
        assert _result(state) == _result(whole)


# ----------------------------------------------------------------------------------------------
# The two backends' accumulators agree


@given(split=splits(), data=st.data(), method=st.sampled_from(SCORES))
def test_backends_accumulators_agree(split: Split, data: st.DataObject, method: str) -> None:
    record_example()
    opts = data.draw(prune_options(split.k, label_counts(split)), label="options")
    num = data.draw(st.integers(0, split.n + 3), label="num")
    rust, python = (pipeline(kernels_of(name), split, opts, method, num) for name in BACKENDS)
    if method != "self_confidence":
        # Scores are computed independently (float contract 1e-12): ties may only swap within that.
        scores = kernels_of("python").label_quality_scores(
            split.labels, split.probs, method, None, split.tol, None
        )
        assert_equal_modulo_ties(rust.pop("scores"), python.pop("scores"), scores, rtol=1e-12, what=method)
        rust.pop("adjusted_scores"), python.pop("adjusted_scores")
    assert_same_results(rust, python, "rust vs python")


def test_backends_agree_on_the_big_split() -> None:
    labels, probs = BIG
    split = Split(labels, probs, 1e-4, [0, 25_000, 60_000], [0, 1], ["", "pickle"], [1, 0])
    opts = PruneOptions("prune_by_noise_rate", 1.0, None, 1, True)
    rust, python = (pipeline(kernels_of(name), split, opts, "self_confidence", 1000) for name in BACKENDS)
    assert_same_results(rust, python, "big rust vs python")


# ----------------------------------------------------------------------------------------------
# Errors


BAD_ROWS = {
    "nan": lambda row: row.__setitem__(1, np.nan),
    "inf": lambda row: row.__setitem__(0, np.inf),
    "negative": lambda row: row.__setitem__(slice(0, 2), [row[0] - 1.5, row[1] + 1.5]),
    "above_one": lambda row: row.__setitem__(slice(None), [1.5, 0.0, 0.0]),
    "row_sum": lambda row: row.__setitem__(slice(None), row * 0.9),
}


@pytest.mark.parametrize("kind", sorted(BAD_ROWS))
def test_bad_row_in_third_batch_names_the_global_row(kernels: ModuleType, kind: str) -> None:
    labels, probs = make_rows(60, 3, 4)
    BAD_ROWS[kind](probs[37])  # row 7 of the third batch (rows 30..45)
    with pytest.raises(PredProbsError) as in_memory_error:
        kernels.confident_thresholds(labels, probs, 1e-4, None)
    acc = kernels.ThresholdAccumulator(3)
    acc.update(labels[0:12], probs[0:12], 0, 1e-4, None)
    acc.update(labels[12:30], probs[12:30], 12, 1e-4, None)
    with pytest.raises(PredProbsError) as batched_error:
        acc.update(labels[30:45], probs[30:45], 30, 1e-4, None)
    assert str(batched_error.value) == str(in_memory_error.value)
    assert "row 37 " in str(batched_error.value)
    assert acc.n_rows == 30, "a rejected batch must leave the accumulator unchanged"


def _pair(kern: ModuleType, name: str, k: int) -> Any:
    t = np.linspace(0.2, 0.6, k)
    return {
        "ThresholdAccumulator": lambda: kern.ThresholdAccumulator(k),
        "JointAccumulator": lambda: kern.JointAccumulator(t),
        "ScoreSelector": lambda: kern.ScoreSelector("self_confidence", None, k, 5),
        "PruneSelector": lambda: kern.PruneSelector(
            np.eye(k, dtype=np.int64) * 10 + 1, np.full(k, 10 + k, np.int64), "both", 1.0, None, 1
        ),
    }[name]()


# What each class's merge error names when K differs.
MERGE_NAMES = {
    "ThresholdAccumulator": "num_class",
    "JointAccumulator": "thresholds",
    "ScoreSelector": "num_class",
    "PruneSelector": "confident joint",
}


@pytest.mark.parametrize("name", CLASSES)
def test_mismatched_num_class_is_a_value_error_naming_the_argument(kernels: ModuleType, name: str) -> None:
    labels, probs = make_rows(20, 4, 1)
    state = _pair(kernels, name, 3)
    with pytest.raises(ValueError, match="pred_probs") as err:
        _feed(state, Split(labels, probs, 1e-4, [0, 20], [0], [""], [0]), 0, 20)
    assert "num_class" in str(err.value) and "4" in str(err.value)
    with pytest.raises(ValueError, match=MERGE_NAMES[name]):
        state.merge(_pair(kernels, name, 4))


@pytest.mark.parametrize(("name", "other"), [(a, b) for a in CLASSES for b in CLASSES if a != b])
def test_merge_with_another_class_is_a_type_error(kernels: ModuleType, name: str, other: str) -> None:
    with pytest.raises(TypeError):
        _pair(kernels, name, 3).merge(_pair(kernels, other, 3))


def test_merge_with_a_non_accumulator_is_a_type_error(kernels: ModuleType) -> None:
    for name in CLASSES:
        with pytest.raises(TypeError):
            _pair(kernels, name, 3).merge(np.zeros(3))


def test_unknown_methods_are_rejected(kernels: ModuleType) -> None:
    with pytest.raises(ValueError, match="nope"):
        kernels.ScoreSelector("nope", None, 3, 5).update(
            np.zeros(1, np.int64), np.full((1, 3), 1 / 3), 0, None
        )
    with pytest.raises(ValueError, match="confidence_weighted_entropy"):
        selector = kernels.ScoreSelector("confidence_weighted_entropy", np.full(3, 0.5), 3, 5)
        selector.update(np.zeros(1, np.int64), np.full((1, 3), 1 / 3), 0, None)
    with pytest.raises(ValueError, match="filter_by"):
        selector = kernels.PruneSelector(
            np.eye(3, dtype=np.int64), np.ones(3, np.int64), "confident_learning", 1.0, None, 1
        )
        selector.update(np.zeros(1, np.int64), np.full((1, 3), 1 / 3), 0, None)
