"""labelsieve.dataset: parity with cleanlab.dataset 2.9 on real data (values, column order, sorting,
printed report), plus the paths cleanlab cannot compute (GitHub #1329)."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelsieve import count, dataset

cleanlab = pytest.importorskip("cleanlab", reason="cleanlab 2.9 (test-only oracle) is not installed")
import cleanlab.dataset as cl_dataset  # noqa: E402

SHARED_DATA = Path(
    os.environ.get("LABELSIEVE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

DATASETS = {
    "digits": ("sklearn-digits-cv/labels.npy", "sklearn-digits-cv/pred_probs.npy"),
    "mnist": ("label-errors-test-sets/mnist/labels.npy", "label-errors-test-sets/mnist/pred_probs.npy"),
    "cifar10": ("label-errors-test-sets/cifar10/labels.npy", "label-errors-test-sets/cifar10/pred_probs.npy"),
    "20news": ("label-errors-test-sets/20news/labels.npy", "label-errors-test-sets/20news/pred_probs.npy"),
    "imdb": ("label-errors-test-sets/imdb/labels.npy", "label-errors-test-sets/imdb/pred_probs.npy"),
    "roman-numeral": (
        "label-error-detection-benchmarks/roman-numeral/labels.npy",
        "label-error-detection-benchmarks/roman-numeral/pred_probs_resnet18.npy",
    ),
}


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    labels_file, probs_file = (SHARED_DATA / f for f in DATASETS[name])
    if not labels_file.exists() or not probs_file.exists():
        pytest.skip(
            f"real data not found at {SHARED_DATA} (set LABELSIEVE_SHARED_DATA to the shared/data folder)"
        )
    labels = np.load(labels_file).astype(np.int64)
    pred_probs = np.load(probs_file).astype(np.float64)
    if name == "imdb":  # raw rows reach 1.00001; the reference outputs were made on renormalized rows
        pred_probs = pred_probs / pred_probs.sum(axis=1, keepdims=True)
    return labels, pred_probs


@pytest.fixture(scope="module", params=sorted(DATASETS))
def data(request) -> tuple[str, np.ndarray, np.ndarray]:
    labels, pred_probs = _load(request.param)
    return request.param, labels, pred_probs


def _run(func, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = func(*args, **kwargs)
    return result, out.getvalue()


def test_health_summary_matches_cleanlab(data):
    _, labels, pred_probs = data
    names = [f"class {k}" for k in range(pred_probs.shape[1])]
    for asymmetric in (False, True):
        ours, ours_text = _run(
            dataset.health_summary, labels, pred_probs, asymmetric=asymmetric, class_names=names
        )
        theirs, their_text = _run(
            cl_dataset.health_summary, labels, pred_probs, asymmetric=asymmetric, class_names=names
        )
        assert ours_text == their_text
        assert "Generated with <3 from Cleanlab." in ours_text
        assert list(ours) == list(theirs)
        assert ours["overall_label_health_score"] == theirs["overall_label_health_score"]
        np.testing.assert_array_equal(ours["joint"], theirs["joint"])
        for key in ("classes_by_label_quality", "overlapping_classes"):
            pd.testing.assert_frame_equal(ours[key], theirs[key], check_exact=True)


def test_rank_classes_and_overlap_match_cleanlab(data):
    _, labels, pred_probs = data
    ours = dataset.rank_classes_by_label_quality(labels, pred_probs)
    theirs = cl_dataset.rank_classes_by_label_quality(labels, pred_probs)
    assert list(ours.columns) == [
        "Class Index",
        "Label Issues",
        "Inverse Label Issues",
        "Label Noise",
        "Inverse Label Noise",
        "Label Quality Score",
    ]
    assert ours["Label Quality Score"].is_monotonic_increasing
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    for asymmetric in (False, True):
        ours = dataset.find_overlapping_classes(labels, pred_probs, asymmetric=asymmetric)
        theirs = cl_dataset.find_overlapping_classes(labels, pred_probs, asymmetric=asymmetric)
        assert ours["Joint Probability"].is_monotonic_decreasing
        k = pred_probs.shape[1]
        assert len(ours) == (k * (k - 1) if asymmetric else k * (k - 1) // 2)
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)


def test_overall_score_matches_cleanlab_all_input_forms(data):
    _, labels, pred_probs = data
    cj = count.compute_confident_joint(labels, pred_probs)
    joint = count.estimate_joint(labels, pred_probs)
    n = len(labels)
    cases = [
        ((labels, pred_probs), {}),
        ((labels, pred_probs), {"num_examples": 10 * n}),
        ((), {"confident_joint": cj}),
        ((), {"joint": joint, "num_examples": n}),
    ]
    for args, kwargs in cases:
        ours, ours_text = _run(dataset.overall_label_health_score, *args, **kwargs)
        theirs, their_text = _run(cl_dataset.overall_label_health_score, *args, **kwargs)
        assert ours == theirs
        assert type(ours) is type(theirs)
        assert ours_text == their_text
        assert ours_text.startswith(" * Overall, about ")
    issues = count.num_label_issues(labels, pred_probs)
    score, _ = _run(dataset.overall_label_health_score, labels, pred_probs)
    assert score == 1 - issues / n
    quiet, text = _run(dataset.overall_label_health_score, labels, pred_probs, verbose=False)
    assert text == "" and quiet == score


def test_confident_joint_only_paths(data):
    """Improvement over cleanlab (#1329): rank_classes/health_summary from confident_joint alone."""
    _, labels, pred_probs = data
    cj = count.compute_confident_joint(labels, pred_probs)
    with pytest.raises(ValueError, match="num_examples is None"):
        cl_dataset.rank_classes_by_label_quality(confident_joint=cj)
    ours = dataset.rank_classes_by_label_quality(confident_joint=cj)
    expected = cl_dataset.rank_classes_by_label_quality(confident_joint=cj, num_examples=int(cj.sum()))
    pd.testing.assert_frame_equal(ours, expected, check_exact=True)
    full = cl_dataset.rank_classes_by_label_quality(labels, pred_probs)
    pd.testing.assert_frame_equal(ours, full, check_exact=True)  # calibrated cj sums to N

    summary, text = _run(dataset.health_summary, confident_joint=cj)
    pd.testing.assert_frame_equal(summary["classes_by_label_quality"], full, check_exact=True)
    pd.testing.assert_frame_equal(
        summary["overlapping_classes"],
        cl_dataset.find_overlapping_classes(labels, pred_probs),
        check_exact=True,
    )
    assert summary["overall_label_health_score"] == pytest.approx(
        np.trace(count.estimate_joint(labels, pred_probs))
    )
    assert f"{len(labels):,} examples" in text


def test_joint_and_num_examples_health_summary(data):
    """cleanlab crashes here (AttributeError); labelsieve reports from the joint."""
    _, labels, pred_probs = data
    joint = count.estimate_joint(labels, pred_probs)
    n = len(labels)
    with pytest.raises(AttributeError):
        _run(cl_dataset.health_summary, joint=joint, num_examples=n)
    summary, text = _run(dataset.health_summary, joint=joint, num_examples=n)
    assert summary["overall_label_health_score"] == np.trace(joint)
    np.testing.assert_array_equal(summary["joint"], joint)
    pd.testing.assert_frame_equal(
        summary["classes_by_label_quality"],
        cl_dataset.rank_classes_by_label_quality(joint=joint, num_examples=n),
        check_exact=True,
    )
    _, expected_score_text = _run(cl_dataset.overall_label_health_score, joint=joint, num_examples=n)
    assert expected_score_text in text


def test_health_summary_computes_confident_joint_once(monkeypatch):
    labels, pred_probs = _load("digits")
    calls = []
    joint_and_count = count._joint_and_issue_count
    compute = count.compute_confident_joint

    def counting(*args, **kwargs):
        calls.append("joint and issue count")
        return joint_and_count(*args, **kwargs)

    def computing(*args, **kwargs):
        calls.append("compute_confident_joint")
        return compute(*args, **kwargs)

    # One pass yields both the confident joint and the issue count.
    monkeypatch.setattr(count, "_joint_and_issue_count", counting)
    monkeypatch.setattr(count, "compute_confident_joint", computing)
    summary, _ = _run(dataset.health_summary, labels, pred_probs)
    assert calls == ["joint and issue count"]
    assert summary["overall_label_health_score"] == 1 - count.num_label_issues(labels, pred_probs) / len(
        labels
    )


def test_supplied_confident_joint_warns_like_cleanlab():
    labels, pred_probs = _load("digits")
    cj = count.compute_confident_joint(labels, pred_probs)
    with pytest.warns(UserWarning, match="The supplied `confident_joint` is ignored"):
        dataset.overall_label_health_score(labels, pred_probs, confident_joint=cj, verbose=False)


def test_class_names_and_errors():
    labels, pred_probs = _load("digits")
    names = [f"digit-{k}" for k in range(10)]
    ranked = dataset.rank_classes_by_label_quality(labels, pred_probs, class_names=names)
    assert ranked.columns[0] == "Class Name"
    assert (ranked["Class Name"] == [names[k] for k in ranked["Class Index"]]).all()
    overlap = dataset.find_overlapping_classes(labels, pred_probs, class_names=names)
    assert list(overlap.columns[:2]) == ["Class Name A", "Class Name B"]
    pd.testing.assert_frame_equal(
        overlap, cl_dataset.find_overlapping_classes(labels, pred_probs, class_names=names), check_exact=True
    )
    for func in (
        dataset.rank_classes_by_label_quality,
        dataset.find_overlapping_classes,
        dataset.overall_label_health_score,
        dataset.health_summary,
    ):
        with pytest.raises(NotImplementedError, match="multi-label"):
            func(labels, pred_probs, multi_label=True)
    with pytest.raises(ValueError, match="num_examples is None"):
        dataset.find_overlapping_classes(joint=count.estimate_joint(labels, pred_probs))
    with pytest.raises(ValueError):
        dataset.rank_classes_by_label_quality()


@pytest.mark.parametrize("num_classes", [2, 3, 7, 40])
def test_overlapping_classes_with_tied_joints_match_cleanlab(num_classes: int) -> None:
    """Joints with many equal entries: the pairs' order among equal overlaps follows pandas'
    sort exactly as cleanlab's frame does, and every pair keeps its class indices and names."""
    rng = np.random.default_rng(num_classes)
    joint = np.round(rng.random((num_classes, num_classes)), 1)
    joint[rng.random(joint.shape) < 0.3] = 0.0
    joint /= joint.sum()
    names = [f"class {c}" for c in range(num_classes)]
    for asymmetric in (False, True):
        for class_names in (None, names):
            kwargs = {
                "joint": joint,
                "num_examples": 1234,
                "asymmetric": asymmetric,
                "class_names": class_names,
            }
            ours = dataset.find_overlapping_classes(**kwargs)
            theirs = cl_dataset.find_overlapping_classes(**kwargs)
            pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
            a, b = ours["Class Index A"].to_numpy(), ours["Class Index B"].to_numpy()
            expect = joint[a, b] if asymmetric else joint[a, b] + joint[b, a]
            np.testing.assert_array_equal(ours["Joint Probability"].to_numpy(), expect)
