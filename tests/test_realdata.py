"""Real data: labelsieve against the outputs cleanlab 2.9.0 stored next to each dataset, the
published label-error counts and candidate lists, and the CL paper's CIFAR-10 train masks.

Skips with a reason when ../shared/data is absent (override with LABELSIEVE_SHARED_DATA).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from conftest import (
    assert_equal_modulo_ties,
    get_reference_dataset,
    record_comparison,
    reference_dataset_names,
    report,
    shared_data,
)
from labelsieve import count, filter, rank

FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")
SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
DATASETS = reference_dataset_names()


def self_confidence(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    return pred_probs[np.arange(labels.shape[0]), labels].astype(np.float64)


def margins(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """(N, K) candidate sort keys of prune_by_noise_rate: p[i, j] - p[i, label_i] for every j."""
    p = pred_probs.astype(np.float64)
    return p - p[np.arange(labels.shape[0]), labels][:, None]


def mask_keys(filter_by: str, labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """The values cleanlab argsorts for this filter (ties among them may be broken either way)."""
    sc = self_confidence(labels, pred_probs)
    if filter_by == "prune_by_class":
        return sc
    if filter_by == "prune_by_noise_rate":
        return margins(labels, pred_probs)
    return np.column_stack([sc, margins(labels, pred_probs)])


def argmax_veto(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Rows whose given label, boosted by 1e-6, is the argmax: never flagged by prune methods."""
    boosted = pred_probs.astype(np.float64)
    boosted[np.arange(labels.shape[0]), labels] += 1e-6
    return boosted.argmax(axis=1) == labels


def compare_mask(ours, theirs, filter_by, labels, pred_probs, what) -> bool:
    return assert_equal_modulo_ties(
        ours,
        theirs,
        mask_keys(filter_by, labels, pred_probs),
        labels,
        vetoed=argmax_veto(labels, pred_probs),
        what=what,
    )


@pytest.mark.parametrize("name", DATASETS)
def test_matches_cleanlab_reference_outputs(name: str, backend: str) -> None:
    ds = get_reference_dataset(name)
    labels, probs = ds.labels, ds.pred_probs
    key = f"{name} [{backend}]"
    compared = 0
    for filter_by in FILTERS:
        theirs = ds.ref(f"label_issues_{filter_by}")
        if theirs is None:
            continue
        ours = filter.find_label_issues(labels, probs, filter_by=filter_by, n_jobs=1)
        exact = compare_mask(ours, theirs, filter_by, labels, probs, f"{key} {filter_by}")
        record_comparison(key, exact)
        compared += 1
    for calibrate in (False, True):
        theirs = ds.ref(f"confident_joint_{'calibrated' if calibrate else 'uncalibrated'}")
        if theirs is None:
            continue
        ours = count.compute_confident_joint(labels, probs, calibrate=calibrate)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{key} confident joint calibrate={calibrate}")
        record_comparison(key, True)
        compared += 1
    theirs = ds.ref("ranked_indices_prune_by_noise_rate_by_self_confidence")
    if theirs is not None:
        ours = filter.find_label_issues(labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
        exact = assert_equal_modulo_ties(
            ours, theirs, self_confidence(labels, probs), what=f"{key} ranked by self_confidence"
        )
        record_comparison(key, exact)
        compared += 1
    for method in SCORES:
        theirs = ds.ref(f"label_quality_scores_{method}")
        if theirs is None:
            continue
        ours = rank.get_label_quality_scores(labels, probs, method=method)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, err_msg=f"{key} scores {method}")
        record_comparison(key, True)
        compared += 1
    assert compared >= 8, f"{key}: only {compared} reference files found in {ds.ref_dir}"


LABEL_ERRORS = {"mnist": 15, "cifar10": 284, "20news": 95, "imdb": 1309}


def _test_set(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folder = shared_data() / "label-errors-test-sets" / name
    if not (folder / "pred_probs.npy").exists():
        pytest.skip(f"real data not available: {folder} is absent (set LABELSIEVE_SHARED_DATA)")
    labels = np.load(folder / "labels.npy").astype(np.int64)
    probs = np.load(folder / "pred_probs.npy").astype(np.float64)
    if name == "imdb":
        probs = probs / probs.sum(axis=1, keepdims=True)
    return labels, probs, np.load(folder / "cl_candidates_idx.npy")


@pytest.mark.parametrize("name", sorted(LABEL_ERRORS))
def test_published_default_counts(name: str, backend: str) -> None:
    labels, probs, _ = _test_set(name)
    assert int(filter.find_label_issues(labels, probs).sum()) == LABEL_ERRORS[name]


@pytest.mark.parametrize("name", sorted(LABEL_ERRORS))
def test_paper_candidate_lists(name: str, backend: str) -> None:
    """The v1.0 selection of "Pervasive Label Errors in Test Sets" reproduces the MTurk candidates."""
    labels, probs, candidates = _test_set(name)
    scores = rank.get_label_quality_scores(labels, probs, method="normalized_margin")
    if name == "mnist":
        n = 100
    else:
        cj = count.compute_confident_joint(labels, probs, calibrate=False)
        n = int(labels.shape[0] * (1 - np.trace(cj) / cj.sum()))
    assert n == candidates.size, f"{name}: n = {n}, paper had {candidates.size}"
    ours = np.sort(rank.find_top_issues(scores, top=n))
    np.testing.assert_array_equal(ours, np.sort(candidates))


CL_PAPER_FILTERS = {"cl_pbnr": "prune_by_noise_rate", "cl_pbc": "prune_by_class", "cl_both": "both"}
CL_PAPER_ALL = {**CL_PAPER_FILTERS, "conf_joint_only": "confident_learning", "argmax": "predicted_neq_given"}


def _cl_paper_settings() -> list[str]:
    root = shared_data() / "cl-paper-cifar10-train"
    names = sorted(p.name for p in root.glob("sparsity_*")) if root.is_dir() else []
    return names or ["<shared data absent>"]


@pytest.mark.parametrize("setting", _cl_paper_settings())
def test_cl_paper_cifar10_train_masks(setting: str, backend: str) -> None:
    """float16 pred_probs passed as float16; published masks are the *issues* (inverse train_mask)."""
    folder = shared_data() / "cl-paper-cifar10-train" / setting
    if not (folder / "pred_probs.npy").exists():
        pytest.skip(f"real data not available: {folder} is absent (set LABELSIEVE_SHARED_DATA)")
    probs16 = np.load(folder / "pred_probs.npy")
    assert probs16.dtype == np.float16
    labels = np.load(folder / "noisy_labels.npy")
    summary = json.loads((shared_data() / "cleanlab-2.9.0-reference-summary.json").read_text())
    info = summary.get(f"cl-paper/{setting}", {})
    counts = []
    for stem, filter_by in CL_PAPER_ALL.items():
        published = np.load(folder / f"label_issues_{stem}.npy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ours = filter.find_label_issues(labels, probs16, filter_by=filter_by)
        n_differ = int((ours != published).sum())
        counts.append(f"{stem}={n_differ} (ours {int(ours.sum())}, published {int(published.sum())})")
        if stem in CL_PAPER_FILTERS or stem == "argmax":
            assert n_differ <= 20, f"{setting} {stem}: {n_differ} of 50000 differ from the published mask"
        else:
            # cleanlab 2.x's confident_learning flags up to 6 % fewer; 96.6-99.998 % agreement documented.
            assert n_differ <= 0.035 * labels.shape[0], f"{setting} {stem}: {n_differ} differ"
        if stem in info and "n_differ" in info[stem]:
            # cleanlab 2.9.0's own distance to the published mask, within float16 ties.
            assert abs(n_differ - info[stem]["n_differ"]) <= 20, (
                f"{setting} {stem}: {n_differ} vs cleanlab 2.9.0's {info[stem]['n_differ']}"
            )
    report(f"CL paper {setting} [{backend}] differences from published: " + ", ".join(counts))


@pytest.mark.parametrize("setting", _cl_paper_settings())
def test_cl_paper_cifar10_train_vs_cleanlab(setting: str, backend: str) -> None:
    """On float16 input our masks equal cleanlab's on the float64 cast, modulo argsort ties."""
    cl_filter = pytest.importorskip("cleanlab.filter")
    folder = shared_data() / "cl-paper-cifar10-train" / setting
    if not (folder / "pred_probs.npy").exists():
        pytest.skip(f"real data not available: {folder} is absent (set LABELSIEVE_SHARED_DATA)")
    probs16 = np.load(folder / "pred_probs.npy")
    labels = np.load(folder / "noisy_labels.npy").astype(np.int64)
    probs64 = probs16.astype(np.float64)
    key = f"cl-paper/{setting} [{backend}]"
    for filter_by in FILTERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = cl_filter.find_label_issues(labels, probs64, filter_by=filter_by, n_jobs=1)
        ours = filter.find_label_issues(labels, probs16, filter_by=filter_by, n_jobs=1)
        exact = compare_mask(ours, theirs, filter_by, labels, probs64, f"{key} {filter_by}")
        record_comparison(key, exact)
