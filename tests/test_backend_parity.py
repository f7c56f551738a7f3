"""Rust kernels and the pure-NumPy reference twin: every public function of count, filter, rank and
internal.latent_algebra gives equal results (masks and integers exactly, floats to 1e-12) and raises
the same exception types on the same bad inputs (rapidfuzz style: one call per backend, compared)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import labelsieve
from conftest import BACKENDS, make_data
from labelsieve import count, filter, rank
from labelsieve.exceptions import LabelsError, PredProbsError
from labelsieve.internal import latent_algebra as la


def call(backend_name: str, fn: Callable[..., Any]) -> tuple[str, Any]:
    with labelsieve.backend(backend_name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn()
        except Exception as err:
            return "err", err


def assert_same(a: Any, b: Any, what: str) -> None:
    if isinstance(a, tuple | list):
        assert isinstance(b, tuple | list) and len(a) == len(b), what
        for x, y in zip(a, b):
            assert_same(x, y, what)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=what)
    else:
        assert a.dtype.kind == b.dtype.kind, f"{what}: dtype {a.dtype} vs {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=what)


def assert_backends_agree(fn: Callable[[], Any], what: str) -> tuple[str, Any]:
    rust, python = (call(b, fn) for b in BACKENDS)
    if rust[0] == "err" or python[0] == "err":
        assert rust[0] == python[0] == "err", f"{what}: rust {rust!r}, python {python!r}"
        assert type(rust[1]) is type(python[1]), (
            f"{what}: rust raised {rust[1]!r}, python raised {python[1]!r}"
        )
    else:
        assert_same(rust[1], python[1], what)
    return rust


def make(n: int, k: int, seed: int, dtype=np.float64, alpha: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    conc = np.full((n, k), alpha)
    conc[np.arange(n), true] += 3
    p = rng.gamma(conc)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.2, rng.integers(0, k, n), true)
    return labels, p.astype(dtype)


def with_ties(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = probs.copy()
    p[1::7] = p[0]
    labels = labels.copy()
    labels[1::7] = labels[0]
    p[3::11, 0] = p[3::11, 1] = (p[3::11, 0] + p[3::11, 1]) / 2
    return labels, p


DATA = {
    "small": make(60, 4, 0),
    "k2": make(300, 2, 1),
    "f32": make(500, 7, 2, np.float32),
    "f16": make(400, 5, 3, np.float16, alpha=1.0),
    "ties": with_ties(*make(700, 5, 4)),
    "missing_class": (lambda y, p: (np.where(y == 2, 1, y), p))(*make(200, 4, 5)),
    "parallel": make(20_000, 20, 6),  # N > 16 384 and N*K >= 2**18
}


def public_calls(labels: np.ndarray, probs: np.ndarray) -> dict[str, Callable[[], Any]]:
    k = probs.shape[1]
    cj = np.asarray(count.compute_confident_joint(labels, probs, calibrate=False))
    mask = np.zeros(labels.shape[0], bool)
    mask[::3] = True
    scores = np.round(probs[np.arange(len(labels)), labels].astype(np.float64), 2)
    calls: dict[str, Callable[[], Any]] = {
        "get_confident_thresholds": lambda: count.get_confident_thresholds(labels, probs),
        "calibrate_confident_joint": lambda: count.calibrate_confident_joint(cj, labels),
        "estimate_joint": lambda: count.estimate_joint(labels, probs),
        "estimate_joint_cj": lambda: count.estimate_joint(labels, probs, confident_joint=cj),
        "predicted_neq_given": lambda: filter.find_predicted_neq_given(labels, probs),
        "find_top_issues": lambda: rank.find_top_issues(scores, top=25),
        "ensemble_uniform": lambda: rank.get_label_quality_ensemble_scores(
            labels, [probs, probs], weight_ensemble_members_by="uniform", verbose=False
        ),
        "ensemble_accuracy": lambda: rank.get_label_quality_ensemble_scores(
            labels, [probs, probs], verbose=False
        ),
        "ensemble_custom": lambda: rank.get_label_quality_ensemble_scores(
            labels,
            [probs, probs],
            weight_ensemble_members_by="custom",
            custom_weights=[0.3, 1.2],
            verbose=False,
        ),
        "ensemble_log_loss": lambda: rank.get_label_quality_ensemble_scores(
            labels, [probs, probs], weight_ensemble_members_by="log_loss_search", verbose=False
        ),
    }
    for calibrate in (False, True):
        calls[f"compute_confident_joint_{calibrate}"] = lambda c=calibrate: count.compute_confident_joint(
            labels, probs, calibrate=c, return_indices_of_off_diagonals=True
        )
        calls[f"compute_confident_joint_thresholds_{calibrate}"] = lambda c=calibrate: (
            count.compute_confident_joint(labels, probs, calibrate=c, thresholds=np.full(k, 0.3))
        )
        calls[f"argmax_confusion_{calibrate}"] = lambda c=calibrate: (
            filter.find_label_issues_using_argmax_confusion_matrix(labels, probs, calibrate=c)
        )
    for method in ("off_diagonal", "off_diagonal_calibrated", "off_diagonal_custom"):
        calls[f"num_label_issues_{method}"] = lambda m=method: count.num_label_issues(
            labels, probs, estimation_method=m, confident_joint=cj if m == "off_diagonal_custom" else None
        )
    for py_method in ("cnt", "eqn", "marginal", "marginal_ps"):
        for conv in (False, True):
            calls[f"estimate_latent_{py_method}_{conv}"] = lambda m=py_method, c=conv: count.estimate_latent(
                cj, labels, py_method=m, converge_latent_estimates=c
            )
            calls[f"estimate_py_noise_{py_method}_{conv}"] = lambda m=py_method, c=conv: (
                count.estimate_py_and_noise_matrices_from_probabilities(
                    labels, probs, py_method=m, converge_latent_estimates=c
                )
            )
    for fb in filter.FILTER_BY:
        calls[f"find_label_issues_{fb}"] = lambda f=fb: filter.find_label_issues(labels, probs, filter_by=f)
    for fb in ("prune_by_noise_rate", "prune_by_class", "both"):
        calls[f"find_label_issues_{fb}_frac"] = lambda f=fb: filter.find_label_issues(
            labels, probs, filter_by=f, frac_noise=0.6, min_examples_per_class=3
        )
        calls[f"find_label_issues_{fb}_remove"] = lambda f=fb: filter.find_label_issues(
            labels, probs, filter_by=f, num_to_remove_per_class=np.arange(k) % 3
        )
        calls[f"find_label_issues_{fb}_cj"] = lambda f=fb: filter.find_label_issues(
            labels, probs, filter_by=f, confident_joint=cj
        )
    for method in rank.METHODS:
        calls[f"find_label_issues_ranked_{method}"] = lambda m=method: filter.find_label_issues(
            labels, probs, return_indices_ranked_by=m
        )
        calls[f"order_label_issues_{method}"] = lambda m=method: rank.order_label_issues(
            mask, labels, probs, rank_by=m
        )
        for adjust in (False, True):
            calls[f"scores_{method}_{adjust}"] = lambda m=method, a=adjust: rank.get_label_quality_scores(
                labels, probs, method=m, adjust_pred_probs=a
            )
    calls["ranked_adjusted"] = lambda: filter.find_label_issues(
        labels,
        probs,
        return_indices_ranked_by="normalized_margin",
        rank_by_kwargs={"adjust_pred_probs": True},
    )
    calls["self_confidence_for_each_label"] = lambda: rank.get_self_confidence_for_each_label(labels, probs)
    calls["normalized_margin_for_each_label"] = lambda: rank.get_normalized_margin_for_each_label(
        labels, probs
    )
    calls["cwe_for_each_label"] = lambda: rank.get_confidence_weighted_entropy_for_each_label(labels, probs)
    # latent algebra on the estimates of this dataset
    py, nm, inv, _ = count.estimate_py_and_noise_matrices_from_probabilities(labels, probs)
    ps = np.bincount(labels, minlength=k) / len(labels)
    calls["la_compute_ps_py_inv"] = lambda: la.compute_ps_py_inv_noise_matrix(labels, nm)
    calls["la_compute_py_inv"] = lambda: la.compute_py_inv_noise_matrix(ps, nm)
    calls["la_compute_inv"] = lambda: la.compute_inv_noise_matrix(py, nm)
    calls["la_compute_inv_ps"] = lambda: la.compute_inv_noise_matrix(py, nm, ps=ps)
    calls["la_nm_from_inverse"] = lambda: la.compute_noise_matrix_from_inverse(ps, inv)
    calls["la_nm_from_inverse_py"] = lambda: la.compute_noise_matrix_from_inverse(ps, inv, py=py)
    for m in ("cnt", "eqn", "marginal", "marginal_ps"):
        calls[f"la_compute_py_{m}"] = lambda m=m: la.compute_py(
            ps,
            nm,
            inv,
            py_method=m,
            true_labels_class_counts=np.bincount(labels, minlength=k) if m == "marginal" else None,
        )
    calls["la_compute_pyx"] = lambda: la.compute_pyx(probs, nm, inv)
    return calls


CASES = [(d, name) for d in DATA for name in public_calls(*DATA["small"])]


@pytest.mark.parametrize(("dataset", "name"), CASES, ids=[f"{d}-{n}" for d, n in CASES])
def test_public_function_backends_agree(dataset: str, name: str) -> None:
    labels, probs = DATA[dataset]
    fn = public_calls(labels, probs)[name]
    assert_backends_agree(fn, f"{dataset} {name}")


def _bad_inputs() -> dict[str, tuple[Any, Any]]:
    labels, probs = make(50, 3, 7)
    out: dict[str, tuple[Any, Any]] = {}

    def put(name: str, p: Any = None, y: Any = None) -> None:
        out[name] = (labels if y is None else y, probs if p is None else p)

    p = probs.copy()
    p[7, 1] = np.nan
    put("nan", p)
    p = probs.copy()
    p[9, 0] = np.inf
    put("inf", p)
    p = probs.copy()
    p[4, 0] -= 2
    p[4, 1] += 2
    put("negative", p)
    p = probs.copy()
    p[3] = [1.5, 0.0, 0.0]
    put("above_one", p)
    put("row_sum", probs * 0.9)
    put("one_d", probs[:, 0])
    put("three_d", probs[None])
    put("list", probs.tolist())
    put("int", (probs > 0.5).astype(np.int64))
    put("length", probs[:-1])
    y = labels.copy()
    y[5] = 3
    put("label_high", y=y)
    y = labels.copy()
    y[5] = -1
    put("label_negative", y=y)
    put("label_float", y=labels + 0.5)
    put("label_str", y=labels.astype(str))
    put("label_2d", y=labels[:, None])
    put("empty", probs[:0], labels[:0])
    put("k1", probs[:, :1] / probs[:, :1])
    return out


BAD = _bad_inputs()

BAD_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "get_confident_thresholds": lambda y, p: count.get_confident_thresholds(y, p),
    "compute_confident_joint": lambda y, p: count.compute_confident_joint(y, p),
    "estimate_joint": lambda y, p: count.estimate_joint(y, p),
    "num_label_issues": lambda y, p: count.num_label_issues(y, p),
    "estimate_py_noise": lambda y, p: count.estimate_py_and_noise_matrices_from_probabilities(y, p),
    "find_label_issues": lambda y, p: filter.find_label_issues(y, p),
    "find_label_issues_both": lambda y, p: filter.find_label_issues(y, p, filter_by="both"),
    "find_predicted_neq_given": lambda y, p: filter.find_predicted_neq_given(y, p),
    "argmax_confusion": lambda y, p: filter.find_label_issues_using_argmax_confusion_matrix(y, p),
    "get_label_quality_scores": lambda y, p: rank.get_label_quality_scores(y, p),
    "order_label_issues": lambda y, p: rank.order_label_issues(np.ones(len(y), bool), y, p),
    "ensemble": lambda y, p: rank.get_label_quality_ensemble_scores(y, [p, p], verbose=False),
    "compute_pyx": lambda y, p: la.compute_pyx(p, np.eye(3), np.eye(3)),
}


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_inputs_same_exception_on_both_backends(name: str, bad: str) -> None:
    labels, probs = BAD[bad]
    outcome = assert_backends_agree(lambda: BAD_CALLS[name](labels, probs), f"{name} on {bad}")
    if name == "compute_pyx" and bad.startswith("label"):
        return  # compute_pyx takes no labels
    if name == "compute_pyx" and bad in ("length", "row_sum"):
        return  # no labels to match; cleanlab's compute_pyx renormalises rows itself
    assert outcome[0] == "err", f"{name} accepted bad input {bad!r}: {outcome[1]!r}"


def test_singular_noise_matrix_same_exception() -> None:
    singular = np.array([[0.5, 0.5], [0.5, 0.5]])
    outcome = assert_backends_agree(
        lambda: la.compute_py_inv_noise_matrix(np.array([0.5, 0.5]), singular), "singular"
    )
    assert outcome[0] == "err" and isinstance(outcome[1], np.linalg.LinAlgError)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", rank.METHODS)
def test_ranked_output_is_the_ordering_of_the_flagged_mask(backend: str, method: str, dtype: type) -> None:
    # find_label_issues orders its mask without validating pred_probs a second time; the result
    # must be exactly what the public order_label_issues (which validates) gives for that mask.
    labels, probs = make_data(3_000, 6, 21, dtype)
    mask = filter.find_label_issues(labels, probs)
    ranked = filter.find_label_issues(labels, probs, return_indices_ranked_by=method)
    assert mask.sum() > 0
    np.testing.assert_array_equal(ranked, rank.order_label_issues(mask, labels, probs, rank_by=method))
    np.testing.assert_array_equal(np.sort(ranked), np.flatnonzero(mask))
    # And the ranked call still rejects bad probabilities.
    bad = probs.copy()
    bad[7, 2] = np.nan
    with pytest.raises(PredProbsError, match="row 7"):
        filter.find_label_issues(labels, bad, return_indices_ranked_by=method)


def test_native_ordering_rejects_bad_labels_it_would_read() -> None:
    # The Rust ordering reads every row's given-label value (gathered per block), flagged or not:
    # a label out of range on an unflagged row, or labels of the wrong length, must be a clear
    # LabelsError from the kernel itself, never a panic.
    labels, probs = make_data(2_000, 6, 3, np.float64)
    mask = np.zeros(len(labels), dtype=bool)
    mask[:10] = True
    with labelsieve.backend("rust"):
        kernels = labelsieve._backend.kernels()
        ok = kernels.order_label_issues(mask, labels, probs, "self_confidence", None, None, None)
        np.testing.assert_array_equal(np.sort(ok), np.arange(10))
        bad = labels.copy()
        bad[1_500] = 6
        with pytest.raises(LabelsError, match=r"labels\[1500\]"):
            kernels.order_label_issues(mask, bad, probs, "self_confidence", None, None, None)
        with pytest.raises(LabelsError, match="length"):
            kernels.order_label_issues(mask, labels[:-1], probs, "self_confidence", None, None, None)


@pytest.mark.parametrize(
    "dtype", [np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8, np.bool_]
)
def test_label_range_equals_numpy_min_and_max(dtype: Any) -> None:
    # check_inputs' range check of the labels: both kernel sets against numpy, on contiguous and
    # strided labels, large enough to be split across threads (1 << 18 labels and more).
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    lo, hi = (0, 2) if info is None else (max(int(info.min), -1000), min(int(info.max), 1000))
    for n in [1, 5, 4099, 600_001]:
        labels = rng.integers(lo, hi, n, endpoint=True).astype(dtype)
        for view in (labels, labels[::3], labels[::-1]):
            expect = (int(view.min()), int(view.max()))
            for name in BACKENDS:
                with labelsieve.backend(name):
                    kernels = labelsieve._backend.kernels()
                    assert kernels.label_range(view, None) == expect, (name, dtype, n)
                    assert kernels.label_range(view, 1) == expect, (name, dtype, n)
    for name in BACKENDS:
        with labelsieve.backend(name):
            assert labelsieve._backend.kernels().label_range(np.array([], dtype=dtype), None) is None


def test_label_range_extremes() -> None:
    # The first and last positions of a split, and the int64 edges.
    labels = np.zeros(700_000, dtype=np.int64)
    labels[0], labels[-1] = -3, 5
    big = np.array([3, np.iinfo(np.int64).max, np.iinfo(np.int64).min], dtype=np.int64)
    for name in BACKENDS:
        with labelsieve.backend(name):
            kernels = labelsieve._backend.kernels()
            assert kernels.label_range(labels, None) == (-3, 5)
            assert kernels.label_range(big, None) == (int(big.min()), int(big.max()))
    # uint64 labels above the int64 range saturate in the Rust kernels (still >= any K).
    with labelsieve.backend("rust"):
        huge = np.array([1, 2**64 - 1], dtype=np.uint64)
        assert labelsieve._backend.kernels().label_range(huge, None) == (1, 2**63 - 1)
