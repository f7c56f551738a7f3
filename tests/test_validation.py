"""Bad input on every public function raises a labelsieve exception (a ValueError or TypeError
subclass) naming the argument and, for bad rows, the first bad row index; inputs are never mutated;
non-contiguous, Fortran-ordered, float32 and float16 inputs give the answers of contiguous float64
(float32 values cast to float64); lists and pandas labels work; multi_label=True is not implemented."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import labelsieve
from labelsieve import count, exceptions, filter, rank
from labelsieve.internal import latent_algebra as la


def make(n: int = 60, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k, 0.6), size=n)
    labels = np.where(rng.random(n) < 0.7, p.argmax(1), rng.integers(0, k, n))
    labels[:k] = np.arange(k)
    return labels, p


LABELS, PROBS = make()

CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "get_confident_thresholds": lambda y, p: count.get_confident_thresholds(y, p),
    "compute_confident_joint": lambda y, p: count.compute_confident_joint(y, p),
    "compute_confident_joint_indices": lambda y, p: count.compute_confident_joint(
        y, p, calibrate=False, return_indices_of_off_diagonals=True
    ),
    "estimate_joint": lambda y, p: count.estimate_joint(y, p),
    "num_label_issues": lambda y, p: count.num_label_issues(y, p),
    "num_label_issues_calibrated": lambda y, p: count.num_label_issues(
        y, p, estimation_method="off_diagonal_calibrated"
    ),
    "estimate_py_noise": lambda y, p: count.estimate_py_and_noise_matrices_from_probabilities(y, p),
    "find_label_issues": lambda y, p: filter.find_label_issues(y, p),
    "find_label_issues_pbc": lambda y, p: filter.find_label_issues(y, p, filter_by="prune_by_class"),
    "find_label_issues_both": lambda y, p: filter.find_label_issues(y, p, filter_by="both"),
    "find_label_issues_cl": lambda y, p: filter.find_label_issues(y, p, filter_by="confident_learning"),
    "find_label_issues_low": lambda y, p: filter.find_label_issues(y, p, filter_by="low_normalized_margin"),
    "find_label_issues_ranked": lambda y, p: filter.find_label_issues(
        y, p, return_indices_ranked_by="normalized_margin"
    ),
    "find_predicted_neq_given": lambda y, p: filter.find_predicted_neq_given(y, p),
    "argmax_confusion": lambda y, p: filter.find_label_issues_using_argmax_confusion_matrix(y, p),
    "scores_sc": lambda y, p: rank.get_label_quality_scores(y, p),
    "scores_nm_adjust": lambda y, p: rank.get_label_quality_scores(
        y, p, method="normalized_margin", adjust_pred_probs=True
    ),
    "scores_cwe": lambda y, p: rank.get_label_quality_scores(y, p, method="confidence_weighted_entropy"),
    "order_label_issues": lambda y, p: rank.order_label_issues(np.ones(len(np.asarray(y)), bool), y, p),
    "ensemble": lambda y, p: rank.get_label_quality_ensemble_scores(y, [p, p], verbose=False),
}
NO_LABEL_CALLS = {"compute_pyx": lambda y, p: la.compute_pyx(p, np.eye(p.shape[1]), np.eye(p.shape[1]))}


def bad_probs(probs: np.ndarray) -> dict[str, tuple[np.ndarray, int | None]]:
    """name -> (pred_probs, first bad row), from valid `probs`."""
    out: dict[str, tuple[np.ndarray, int | None]] = {}
    p = probs.copy()
    p[11, 1] = np.nan
    p[20, 1] = np.nan
    out["nan"] = (p, 11)
    p = probs.copy()
    p[13, 0] = np.inf
    out["inf"] = (p, 13)
    p = probs.copy()
    p[17, 0] = -0.25
    p[17, 1] += 0.25
    out["negative"] = (p, 17)
    p = probs.copy()
    p[19] = 0.0
    p[19, :3] = [1.25, -0.125, -0.125]
    out["above_one"] = (p, 19)
    p = probs.copy()
    p[23] *= 1.001
    out["row_sum"] = (p, 23)
    return out


# Rows of 3 classes, and wide rows (at least 256 bytes: 40 float64 or 70 float32 values), whose
# kernels check the rows in the same read as the joint pass instead of a pass before it.
_WIDE_LABELS, _WIDE = make(k=40)
_WIDE32_LABELS, _WIDE32 = make(n=80, k=70)
INPUTS: dict[str, tuple[np.ndarray, dict[str, tuple[np.ndarray, int | None]]]] = {
    "k3": (LABELS, bad_probs(PROBS)),
    "wide_f64": (_WIDE_LABELS, bad_probs(_WIDE)),
    "wide_f32": (
        _WIDE32_LABELS,
        {name: (p.astype(np.float32), row) for name, (p, row) in bad_probs(_WIDE32).items()},
    ),
}
BAD_PROBS = INPUTS["k3"][1]


@pytest.mark.parametrize("backend_name", ["rust", "python"])
@pytest.mark.parametrize("bad", sorted(BAD_PROBS))
@pytest.mark.parametrize("width", sorted(INPUTS))
@pytest.mark.parametrize("name", sorted(CALLS) + sorted(NO_LABEL_CALLS))
def test_bad_pred_probs_values(name: str, width: str, bad: str, backend_name: str) -> None:
    labels, cases = INPUTS[width]
    probs, row = cases[bad]
    fn = {**CALLS, **NO_LABEL_CALLS}[name]
    with labelsieve.backend(backend_name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exceptions.LabelsieveError) as info:
            fn(labels, probs)
    err = info.value
    assert isinstance(err, ValueError)
    assert "pred_probs" in str(err), str(err)
    assert f"row {row} " in str(err), f"first bad row {row} not in message: {err}"


def test_row_sum_tolerance_settings() -> None:
    p = PROBS * (1 + 5e-5)
    filter.find_label_issues(LABELS, p)  # within 1e-4
    p = PROBS * (1 + 5e-4)
    with pytest.raises(exceptions.PredProbsError):
        filter.find_label_issues(LABELS, p)
    labelsieve.set_row_sum_tolerance(1e-3)
    try:
        filter.find_label_issues(LABELS, p)
    finally:
        labelsieve.set_row_sum_tolerance(None)
    with pytest.raises(exceptions.PredProbsError):
        filter.find_label_issues(LABELS, p)
    # float16: default 2e-2
    p16 = (PROBS * 1.01).astype(np.float16)
    filter.find_label_issues(LABELS, p16)
    with pytest.raises(exceptions.PredProbsError):
        filter.find_label_issues(LABELS, (PROBS * 1.05).astype(np.float16))
    with pytest.raises(ValueError):
        labelsieve.set_row_sum_tolerance(-1.0)


def bad_shapes() -> dict[str, tuple[Any, Any, type, str]]:
    """name -> (labels, pred_probs, exception base, word the message must contain)."""
    y, p = LABELS, PROBS
    return {
        "probs_1d": (y, p[:, 0], ValueError, "pred_probs"),
        "probs_3d": (y, p[None], ValueError, "pred_probs"),
        "probs_list": (y, p.tolist(), TypeError, "pred_probs"),
        "probs_int": (y, (p > 0.5).astype(np.int64), TypeError, "pred_probs"),
        "length": (y, p[:-1], ValueError, "length"),
        "label_out_of_range": (np.where(np.arange(len(y)) == 5, 3, y), p, ValueError, "labels"),
        "label_negative": (np.where(np.arange(len(y)) == 5, -1, y), p, ValueError, "labels"),
        "label_float": (y + 0.5, p, ValueError, "labels"),
        "label_str": (y.astype(str), p, ValueError, "labels"),
        "label_2d": (y[:, None], p, ValueError, "labels"),
        "empty": (y[:0], p[:0], ValueError, "pred_probs"),
        "k1": (np.zeros(len(y), int), np.ones((len(y), 1)), ValueError, "pred_probs"),
    }


BAD_SHAPES = bad_shapes()


@pytest.mark.parametrize("bad", sorted(BAD_SHAPES))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_bad_shapes_and_labels(name: str, bad: str) -> None:
    labels, probs, base, word = BAD_SHAPES[bad]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exceptions.LabelsieveError) as info:
            CALLS[name](labels, probs)
    assert isinstance(info.value, base), f"{type(info.value).__mro__}"
    assert word in str(info.value), str(info.value)
    if bad in ("label_out_of_range", "label_negative"):
        assert "5" in str(info.value), f"bad index 5 not in message: {info.value}"


def test_label_float_message_names_index() -> None:
    y = LABELS.astype(float)
    y[8] = 1.5
    with pytest.raises(exceptions.LabelsError, match=r"labels\[8\]"):
        filter.find_label_issues(y, PROBS)


def test_single_class() -> None:
    y = np.ones(len(LABELS), dtype=int)
    with pytest.raises(exceptions.LabelsError, match="2 classes"):
        filter.find_label_issues(y, PROBS)
    scores = rank.get_label_quality_scores(y, PROBS)
    np.testing.assert_array_equal(scores, PROBS[:, 1])


@pytest.mark.parametrize("n_jobs", [0, -1, 1.5, True])
def test_bad_n_jobs(n_jobs: Any) -> None:
    with pytest.raises(exceptions.LabelsieveError, match="n_jobs") as info:
        filter.find_label_issues(LABELS, PROBS, n_jobs=n_jobs)
    assert isinstance(info.value, ValueError)


def test_bad_filter_by_and_rank_by() -> None:
    with pytest.raises(ValueError, match="filter_by"):
        filter.find_label_issues(LABELS, PROBS, filter_by="nope")
    with pytest.raises(ValueError, match="rank_by"):
        filter.find_label_issues(LABELS, PROBS, return_indices_ranked_by="nope")
    with pytest.raises(ValueError, match="rank_by"):
        rank.get_label_quality_scores(LABELS, PROBS, method="nope")
    with pytest.raises(ValueError, match="estimation method"):
        count.num_label_issues(LABELS, PROBS, estimation_method="nope")
    with pytest.raises(ValueError, match="adjust_pred_probs"):
        rank.get_label_quality_scores(
            LABELS, PROBS, method="confidence_weighted_entropy", adjust_pred_probs=True
        )


MULTI_LABEL_FNS = [
    "get_confident_thresholds",
    "compute_confident_joint",
    "estimate_joint",
    "num_label_issues",
    "find_label_issues",
    "find_predicted_neq_given",
]


@pytest.mark.parametrize("name", MULTI_LABEL_FNS)
def test_multi_label_not_implemented(name: str) -> None:
    fns = {
        "get_confident_thresholds": count.get_confident_thresholds,
        "compute_confident_joint": count.compute_confident_joint,
        "estimate_joint": count.estimate_joint,
        "num_label_issues": count.num_label_issues,
        "find_label_issues": filter.find_label_issues,
        "find_predicted_neq_given": filter.find_predicted_neq_given,
    }
    with pytest.raises(NotImplementedError):
        fns[name](LABELS, PROBS, multi_label=True)


def _same(a: Any, b: Any) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            _same(x, y)
        return
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("backend_name", ["rust", "python"])
@pytest.mark.parametrize("name", sorted(CALLS) + sorted(NO_LABEL_CALLS))
def test_inputs_never_mutated_and_layouts_agree(name: str, backend_name: str) -> None:
    fn = {**CALLS, **NO_LABEL_CALLS}[name]
    labels, probs = make(400, 5, 3)
    with labelsieve.backend(backend_name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y0, p0 = labels.copy(), probs.copy()
        expected = fn(labels, probs)
        np.testing.assert_array_equal(labels, y0)
        np.testing.assert_array_equal(probs, p0)
        views = {
            "reversed_twice": probs[:, ::-1][:, ::-1],
            "fortran": np.asfortranarray(probs),
            "every_other_row": np.repeat(probs, 2, axis=0)[::2],
        }
        for view_name, view in views.items():
            assert view_name == "fortran" or not view.flags.c_contiguous or view_name == "reversed_twice"
            before = view.copy()
            _same(fn(labels, view), expected)
            np.testing.assert_array_equal(view, before)
        for dtype in (np.float32, np.float16):
            low = (probs / probs.sum(1, keepdims=True)).astype(dtype)
            before = low.copy()
            _same(
                fn(labels, low),
                fn(labels, low.astype(np.float64)) if dtype == np.float32 else fn(labels, low),
            )
            np.testing.assert_array_equal(low, before)
        if name not in NO_LABEL_CALLS:
            for coerced in (
                labels.tolist(),
                pd.Series(labels),
                pd.DataFrame({"y": labels}),
                labels.astype(np.int8),
            ):
                _same(fn(coerced, probs), expected)


def test_float_parity_rule_float32_and_float16() -> None:
    """float32/float16 inputs give cleanlab's answers on the same values cast to float64."""
    labels, probs = make(3000, 6, 9)
    for dtype in (np.float32, np.float16):
        low = probs.astype(dtype)
        wide = low.astype(np.float64)
        labelsieve.set_row_sum_tolerance(2e-2)
        try:
            for fb in filter.FILTER_BY:
                np.testing.assert_array_equal(
                    filter.find_label_issues(labels, low, filter_by=fb),
                    filter.find_label_issues(labels, wide, filter_by=fb),
                )
            np.testing.assert_array_equal(
                rank.get_label_quality_scores(labels, low, method="normalized_margin"),
                rank.get_label_quality_scores(labels, wide, method="normalized_margin"),
            )
        finally:
            labelsieve.set_row_sum_tolerance(None)


def test_latent_algebra_bad_matrices() -> None:
    with pytest.raises(exceptions.LabelsieveError, match="noise_matrix"):
        la.compute_py_inv_noise_matrix(np.array([0.5, 0.5]), np.ones((2, 3)))
    with pytest.raises(exceptions.LabelsieveError, match="ps"):
        la.compute_py_inv_noise_matrix(np.array([0.5, 0.3, 0.2]), np.eye(2))
    with pytest.raises(exceptions.LabelsieveError, match="noise_matrix"):
        la.compute_inv_noise_matrix(np.array([0.5, 0.5]), np.array([[np.nan, 0], [0, 1]]))
    with pytest.raises(ValueError, match="py_method"):
        la.compute_py(np.array([0.5, 0.5]), np.eye(2), np.eye(2), py_method="nope")
    with pytest.raises(ValueError, match="true_labels_class_counts"):
        la.compute_py(np.array([0.5, 0.5]), np.eye(2), np.eye(2), py_method="marginal")
    with pytest.raises(exceptions.LabelsieveError, match="confident_joint"):
        count.estimate_latent(np.ones((2, 3)), LABELS)
