"""``labelsieve.experimental.label_issues_batched``: streamed answers equal the in-memory ones for
every rule, batch size, input kind (arrays, memory-mapped .npy files, np.memmap, zarr) and backend;
``LabelInspector`` reproduces the in-memory counts and scores; errors name global rows."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import get_reference_dataset, make_data, reference_dataset_names
from labelsieve import count, filter, rank
from labelsieve.exceptions import InvalidInputError, LabelsError, PredProbsError
from labelsieve.experimental.label_issues_batched import (
    LabelInspector,
    find_label_issues_batched,
    split_arr,
)

FILTERS = list(filter.FILTER_BY)


@pytest.mark.parametrize("batch_size", [1, 97, 1000, 10**6])
def test_default_rule_is_exact_low_self_confidence(backend: str, batch_size: int) -> None:
    labels, probs = make_data(3000, 5, seed=batch_size)
    expect = np.flatnonzero(filter.find_label_issues(labels, probs, filter_by="low_self_confidence"))
    got = find_label_issues_batched(labels, probs, batch_size=batch_size, verbose=False)
    assert expect.size > 0
    np.testing.assert_array_equal(got, expect)
    mask = find_label_issues_batched(labels, probs, batch_size=batch_size, verbose=False, return_mask=True)
    np.testing.assert_array_equal(
        mask, filter.find_label_issues(labels, probs, filter_by="low_self_confidence")
    )


def test_normalized_margin_rule_is_low_normalized_margin(backend: str) -> None:
    labels, probs = make_data(2500, 7, seed=3)
    got = find_label_issues_batched(
        labels, probs, batch_size=333, verbose=False, quality_score_kwargs={"method": "normalized_margin"}
    )
    expect = np.flatnonzero(filter.find_label_issues(labels, probs, filter_by="low_normalized_margin"))
    np.testing.assert_array_equal(got, expect)


@pytest.mark.parametrize("method", list(rank.METHODS))
@pytest.mark.parametrize("estimation", ["off_diagonal", "off_diagonal_calibrated"])
def test_default_rule_with_other_scores_and_counts(backend: str, method: str, estimation: str) -> None:
    labels, probs = make_data(2000, 4, seed=11)
    adjust = method != "confidence_weighted_entropy"
    got = find_label_issues_batched(
        labels,
        probs,
        batch_size=150,
        verbose=False,
        quality_score_kwargs={"method": method, "adjust_pred_probs": adjust},
        num_issue_kwargs={"estimation_method": estimation},
    )
    num = count.num_label_issues(labels, probs, estimation_method=estimation)
    scores = rank.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)
    expect = np.sort(rank.find_top_issues(scores, top=int(num)))
    assert got.size == num
    np.testing.assert_array_equal(got, expect)


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_filter_equals_in_memory(backend: str, filter_by: str, dtype: type) -> None:
    labels, probs = make_data(4000, 6, seed=len(filter_by), dtype=dtype)
    expect = filter.find_label_issues(labels, probs, filter_by=filter_by)
    got = find_label_issues_batched(
        labels, probs, filter_by=filter_by, batch_size=701, verbose=False, return_mask=True
    )
    assert expect.any()
    np.testing.assert_array_equal(got, expect)
    idx = find_label_issues_batched(labels, probs, filter_by=filter_by, batch_size=4000, verbose=False)
    np.testing.assert_array_equal(idx, np.flatnonzero(expect))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter_by": "prune_by_noise_rate", "frac_noise": 0.5},
        {"filter_by": "prune_by_class", "frac_noise": 0.3, "min_examples_per_class": 40},
        {"filter_by": "both", "min_examples_per_class": 5},
        {"filter_by": "prune_by_noise_rate", "num_to_remove_per_class": [5, 0, 12, 3]},
    ],
)
def test_pruning_options_equal_in_memory(backend: str, kwargs: dict) -> None:
    labels, probs = make_data(3000, 4, seed=21)
    expect = filter.find_label_issues(labels, probs, **kwargs)
    got = find_label_issues_batched(labels, probs, batch_size=512, verbose=False, return_mask=True, **kwargs)
    np.testing.assert_array_equal(got, expect)


def test_given_confident_joint_is_used(backend: str) -> None:
    labels, probs = make_data(2000, 3, seed=5)
    cj = np.array([[600, 30, 10], [20, 580, 40], [5, 15, 700]])
    expect = filter.find_label_issues(labels, probs, confident_joint=cj, filter_by="both")
    got = find_label_issues_batched(
        labels, probs, confident_joint=cj, filter_by="both", batch_size=300, verbose=False, return_mask=True
    )
    np.testing.assert_array_equal(got, expect)


def test_too_few_examples_warns_like_in_memory(backend: str) -> None:
    labels, probs = make_data(1500, 3, seed=8)
    with pytest.warns(UserWarning, match="too few examples") as streamed:
        find_label_issues_batched(
            labels, probs, filter_by="prune_by_class", min_examples_per_class=10**6, verbose=False
        )
    with pytest.warns(UserWarning, match="too few examples") as in_memory:
        filter.find_label_issues(labels, probs, filter_by="prune_by_class", min_examples_per_class=10**6)
    assert sorted(str(w.message) for w in streamed) == sorted(str(w.message) for w in in_memory)


@pytest.mark.parametrize("rank_by", list(rank.METHODS))
def test_ranked_indices_equal_in_memory(backend: str, rank_by: str) -> None:
    labels, probs = make_data(3000, 5, seed=2)
    rank_kwargs = {"adjust_pred_probs": rank_by != "confidence_weighted_entropy"}
    expect = filter.find_label_issues(
        labels, probs, return_indices_ranked_by=rank_by, rank_by_kwargs=rank_kwargs
    )
    got = find_label_issues_batched(
        labels,
        probs,
        filter_by="prune_by_noise_rate",
        return_indices_ranked_by=rank_by,
        rank_by_kwargs=rank_kwargs,
        batch_size=256,
        verbose=False,
    )
    assert expect.size > 0
    np.testing.assert_array_equal(got, expect)


def test_memory_mapped_files_np_memmap_and_zarr(backend: str, tmp_path) -> None:
    labels, probs = make_data(5000, 8, seed=13, dtype=np.float32)
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "pred_probs.npy", probs)
    expect = filter.find_label_issues(labels, probs)
    from_files = find_label_issues_batched(
        labels_file=str(tmp_path / "labels.npy"),
        pred_probs_file=str(tmp_path / "pred_probs.npy"),
        filter_by="prune_by_noise_rate",
        batch_size=999,
        verbose=False,
        return_mask=True,
    )
    np.testing.assert_array_equal(from_files, expect)
    mm = np.load(tmp_path / "pred_probs.npy", mmap_mode="r")
    assert isinstance(mm, np.memmap)
    from_memmap = find_label_issues_batched(
        labels, mm, filter_by="prune_by_noise_rate", batch_size=1234, verbose=False, return_mask=True
    )
    np.testing.assert_array_equal(from_memmap, expect)
    zarr = pytest.importorskip("zarr", reason="zarr is in the test extras")
    z_probs = zarr.create_array(
        store=str(tmp_path / "p.zarr"), shape=probs.shape, chunks=(700, 8), dtype="f4"
    )
    z_probs[:] = probs
    z_labels = zarr.create_array(
        store=str(tmp_path / "l.zarr"), shape=labels.shape, chunks=(700,), dtype="i8"
    )
    z_labels[:] = labels
    from_zarr = find_label_issues_batched(
        z_labels, z_probs, filter_by="prune_by_noise_rate", batch_size=700, verbose=False, return_mask=True
    )
    np.testing.assert_array_equal(from_zarr, expect)


def test_inputs_are_not_mutated(backend: str) -> None:
    labels, probs = make_data(1000, 4, seed=1)
    labels_before, probs_before = labels.copy(), probs.copy()
    find_label_issues_batched(labels, probs, filter_by="both", batch_size=77, verbose=False)
    np.testing.assert_array_equal(labels, labels_before)
    np.testing.assert_array_equal(probs, probs_before)


@pytest.mark.parametrize("filter_by", [None, "prune_by_noise_rate", "prune_by_class", "both"])
def test_parallel_batches_equal_serial_and_in_memory(backend: str, filter_by: str | None) -> None:
    # Batches of 50k x 6 values run multi-threaded inside; later batches start from earlier bounds.
    labels, probs = make_data(130_000, 6, seed=4)
    kwargs = {} if filter_by is None else {"filter_by": filter_by}
    one = find_label_issues_batched(labels, probs, n_jobs=1, batch_size=50_000, verbose=False, **kwargs)
    two = find_label_issues_batched(labels, probs, n_jobs=2, batch_size=50_000, verbose=False, **kwargs)
    expect = filter.find_label_issues(labels, probs, filter_by=filter_by or "low_self_confidence")
    np.testing.assert_array_equal(one, np.flatnonzero(expect))
    np.testing.assert_array_equal(two, np.flatnonzero(expect))


@pytest.mark.parametrize("name", reference_dataset_names()[:6])
def test_real_data_streams_exactly(backend: str, name: str) -> None:
    ds = get_reference_dataset(name)
    for filter_by in ("prune_by_noise_rate", "low_self_confidence"):
        expect = filter.find_label_issues(ds.labels, ds.pred_probs, filter_by=filter_by)
        got = find_label_issues_batched(
            ds.labels, ds.pred_probs, filter_by=filter_by, batch_size=1777, verbose=False, return_mask=True
        )
        np.testing.assert_array_equal(got, expect, err_msg=f"{name} {filter_by}")


def test_verbose_reports_progress_and_count(backend: str, capsys) -> None:
    labels, probs = make_data(1000, 3, seed=6)
    found = find_label_issues_batched(labels, probs, batch_size=100, verbose=True)
    out = capsys.readouterr()
    assert "labelsieve pass 1" in out.err and "labelsieve pass 3" in out.err
    assert f"Number of label issues found: {found.size}" in out.out


# ------------------------------------------------------------------------------------ errors


def test_bad_row_in_a_later_batch_names_the_global_row(backend: str) -> None:
    labels, probs = make_data(1000, 4, seed=9)
    probs[777, 1] = np.nan
    with pytest.raises(PredProbsError, match=r"row 777\b"):
        find_label_issues_batched(labels, probs, batch_size=100, verbose=False)
    with pytest.raises(PredProbsError, match=r"row 777\b"):
        find_label_issues_batched(
            labels, probs, filter_by="predicted_neq_given", batch_size=100, verbose=False
        )


def test_label_out_of_range_names_the_global_index(backend: str) -> None:
    labels, probs = make_data(1000, 4, seed=9)
    labels[654] = 4
    with pytest.raises(LabelsError, match=r"labels\[654\] = 4"):
        find_label_issues_batched(labels, probs, batch_size=100, verbose=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels_file": "x.npy"}, "only specify one of: `labels` or `labels_file`"),
        ({"labels": None}, "must provide one of: `labels` or `labels_file`"),
        ({"pred_probs": None, "pred_probs_file": "x.csv"}, "pred_probs_file must be str specifying path"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"n_jobs": 0}, "n_jobs must be None or an integer >= 1"),
        ({"filter_by": "nope"}, "filter_by must be one of"),
        ({"quality_score_kwargs": {"method": "nope"}}, "not a valid scoring method"),
        ({"num_issue_kwargs": {"estimation_method": "off_diagonal_custom"}}, "not a valid estimation method"),
        ({"frac_noise": 0.5}, "apply to a filter_by rule"),
        ({"return_mask": True, "return_indices_ranked_by": "self_confidence"}, "cannot be combined"),
    ],
)
def test_argument_errors(kwargs: dict, message: str) -> None:
    labels, probs = make_data(100, 3, seed=0)
    args = {"labels": labels, "pred_probs": probs, "verbose": False, **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        find_label_issues_batched(**args)


def test_length_mismatch_and_shapes() -> None:
    labels, probs = make_data(100, 3, seed=0)
    with pytest.raises(InvalidInputError, match=r"len\(labels\)=99 does not match len\(pred_probs\)=100"):
        find_label_issues_batched(labels[:99], probs, verbose=False)
    with pytest.raises(PredProbsError, match="2-D"):
        find_label_issues_batched(labels, probs[:, 0], verbose=False)
    with pytest.raises(PredProbsError, match="at least 2 columns"):
        find_label_issues_batched(labels * 0, probs[:, :1] * 0 + 1, verbose=False)
    with pytest.raises(LabelsError, match="at least 2 classes"):
        find_label_issues_batched(np.full(100, 2), probs, verbose=False)
    with pytest.raises(PredProbsError, match="empty"):
        find_label_issues_batched(labels[:0], probs[:0], verbose=False)


def test_split_arr() -> None:
    parts = split_arr(np.arange(10), 4)
    assert [p.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(InvalidInputError, match="chunksize"):
        split_arr(np.arange(3), 0)


# ------------------------------------------------------------------------------ LabelInspector


def _inspect(labels, probs, batch: int, **kwargs) -> LabelInspector:
    lab = LabelInspector(num_class=probs.shape[1], verbose=False, **kwargs)
    for lo in range(0, len(labels), batch):
        lab.update_confident_thresholds(labels[lo : lo + batch], probs[lo : lo + batch])
    for lo in range(0, len(labels), batch):
        lab.score_label_quality(labels[lo : lo + batch], probs[lo : lo + batch])
    return lab


@pytest.mark.parametrize("estimation", ["off_diagonal", "off_diagonal_calibrated"])
def test_label_inspector_matches_in_memory(backend: str, estimation: str) -> None:
    labels, probs = make_data(3000, 6, seed=17)
    lab = _inspect(
        labels,
        probs,
        batch=409,
        quality_score_kwargs={"method": "normalized_margin", "adjust_pred_probs": True},
        num_issue_kwargs={"estimation_method": estimation},
    )
    np.testing.assert_array_equal(
        lab.get_confident_thresholds(), count.get_confident_thresholds(labels, probs)
    )
    assert lab.get_num_issues() == count.num_label_issues(labels, probs, estimation_method=estimation)
    scores = rank.get_label_quality_scores(labels, probs, method="normalized_margin", adjust_pred_probs=True)
    np.testing.assert_array_equal(lab.get_quality_scores(), scores)
    np.testing.assert_array_equal(
        lab.get_label_issues(), rank.find_top_issues(scores, top=lab.get_num_issues())
    )


def test_label_inspector_usage_errors(backend: str) -> None:
    labels, probs = make_data(200, 3, seed=0)
    lab = LabelInspector(num_class=3, verbose=False)
    with pytest.raises(ValueError, match="Have not computed any confident_thresholds yet"):
        lab.score_label_quality(labels, probs)
    with pytest.raises(ValueError, match="Have not evaluated any labels yet"):
        lab.get_num_issues()
    with pytest.raises(InvalidInputError, match=r"num_class must equal pred_probs\.shape"):
        lab.update_confident_thresholds(labels, probs[:, :2])
    with pytest.raises(InvalidInputError, match="labels and pred_probs must have same length"):
        lab.update_confident_thresholds(labels[:10], probs)
    lab.update_confident_thresholds(labels, probs)
    lab.score_label_quality(labels, probs)
    with pytest.raises(InvalidInputError, match="before score_label_quality"):
        lab.update_confident_thresholds(labels, probs)
    quiet = LabelInspector(num_class=3, verbose=False, store_results=False)
    quiet.update_confident_thresholds(labels, probs)
    scores = quiet.score_label_quality(labels, probs)
    np.testing.assert_array_equal(scores, rank.get_label_quality_scores(labels, probs))
    with pytest.raises(ValueError, match="Must initialize the LabelInspector with `store_results` == True"):
        quiet.get_quality_scores()
    with pytest.raises(InvalidInputError, match="num_class must be an integer >= 2"):
        LabelInspector(num_class=1)
