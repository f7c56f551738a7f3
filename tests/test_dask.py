"""``labelsieve.dask``: answers on Dask arrays equal the in-memory functions' for every rule, option,
dtype, chunking and labels kind, on both backends, on the local schedulers and on a
``dask.distributed`` cluster; results stay lazy where promised; errors name global rows."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

da = pytest.importorskip("dask.array", reason="labelsieve.dask tests need dask[array]")
import dask  # noqa: E402

import labelsieve.dask as lsd  # noqa: E402
from conftest import make_data  # noqa: E402
from labelsieve import count, dataset, filter, rank  # noqa: E402
from labelsieve.exceptions import (  # noqa: E402
    InvalidDtypeError,
    InvalidInputError,
    LabelsError,
    PredProbsError,
)

UNEVEN = (37, 1000, 5, 1, 957)  # 2000 rows; tiny and one-row chunks cross every boundary case
FILTERS = list(filter.FILTER_BY)


def as_dask(labels: np.ndarray, probs: np.ndarray, rows: tuple[int, ...] = UNEVEN) -> tuple:
    """Row chunks ``rows``; pred_probs also split by columns so the rechunk to one column chunk runs."""
    k = probs.shape[1]
    cols = (k // 2, k - k // 2)
    return da.from_array(labels, chunks=(rows,)), da.from_array(probs, chunks=(rows, cols))


@pytest.fixture(autouse=True)
def local_scheduler(request: pytest.FixtureRequest) -> Iterator[None]:
    """Synchronous scheduler (fast, in-process) except in the tests that run on the cluster."""
    if "dask_client" in request.fixturenames:
        yield
        return
    with dask.config.set(scheduler="sync"):
        yield


# ----------------------------------------------------------------------------------------------
# find_label_issues


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_filter_equals_in_memory(backend: str, filter_by: str, dtype: type) -> None:
    labels, probs = make_data(2000, 6, seed=len(filter_by), dtype=dtype)
    expect = filter.find_label_issues(labels, probs, filter_by=filter_by)
    dl, dp = as_dask(labels, probs)
    got = lsd.find_label_issues(dl, dp, filter_by=filter_by)
    assert isinstance(got, da.Array)
    assert got.chunks == dl.chunks
    assert expect.any()
    np.testing.assert_array_equal(got.compute(), expect)


@pytest.mark.parametrize(
    ("filter_by", "rank_by", "adjust"),
    [
        ("prune_by_noise_rate", "self_confidence", False),
        ("prune_by_noise_rate", "normalized_margin", True),
        ("both", "confidence_weighted_entropy", False),
        ("low_self_confidence", "self_confidence", True),
        ("predicted_neq_given", "normalized_margin", False),
    ],
)
def test_ranked_indices_equal_in_memory(backend: str, filter_by: str, rank_by: str, adjust: bool) -> None:
    labels, probs = make_data(2000, 5, seed=7)
    kwargs = {
        "filter_by": filter_by,
        "return_indices_ranked_by": rank_by,
        "rank_by_kwargs": {"adjust_pred_probs": adjust},
    }
    expect = filter.find_label_issues(labels, probs, **kwargs)
    got = lsd.find_label_issues(*as_dask(labels, probs), **kwargs)
    assert isinstance(got, np.ndarray)
    assert expect.size > 10
    np.testing.assert_array_equal(got, expect)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter_by": "prune_by_noise_rate", "frac_noise": 0.5},
        {"filter_by": "prune_by_class", "frac_noise": 0.3, "min_examples_per_class": 40},
        {"filter_by": "both", "min_examples_per_class": 5},
        {"filter_by": "prune_by_noise_rate", "num_to_remove_per_class": [5, 0, 12, 3]},
        {"filter_by": "prune_by_class", "num_to_remove_per_class": [50, 1, 0, 30]},
        {"filter_by": "prune_by_noise_rate", "n_jobs": 2},
    ],
)
def test_pruning_options_equal_in_memory(backend: str, kwargs: dict) -> None:
    labels, probs = make_data(2000, 4, seed=21)
    expect = filter.find_label_issues(labels, probs, **kwargs)
    got = lsd.find_label_issues(*as_dask(labels, probs), **kwargs).compute()
    assert expect.any()
    np.testing.assert_array_equal(got, expect)


def test_given_confident_joint_is_used(backend: str) -> None:
    labels, probs = make_data(2000, 3, seed=5)
    cj = np.array([[600, 30, 10], [20, 580, 40], [5, 15, 700]])
    expect = filter.find_label_issues(labels, probs, confident_joint=cj, filter_by="both")
    got = lsd.find_label_issues(*as_dask(labels, probs), confident_joint=cj, filter_by="both").compute()
    default = filter.find_label_issues(labels, probs, filter_by="both")
    assert not np.array_equal(expect, default)  # the given joint changes the answer
    np.testing.assert_array_equal(got, expect)


def test_too_few_examples_warns_like_in_memory(backend: str) -> None:
    labels, probs = make_data(600, 3, seed=2)
    with pytest.warns(UserWarning, match="too few examples") as in_memory:
        expect = filter.find_label_issues(labels, probs, min_examples_per_class=300)
    with pytest.warns(UserWarning, match="too few examples") as on_dask:
        got = lsd.find_label_issues(*as_dask(labels, probs, (100, 7, 493)), min_examples_per_class=300)
    assert [str(w.message) for w in on_dask] == [str(w.message) for w in in_memory]
    assert on_dask[0].filename == __file__  # the warning points at the caller
    np.testing.assert_array_equal(got.compute(), expect)


@pytest.mark.parametrize("kind", ["dask", "dask-misaligned", "numpy", "list", "series"])
def test_labels_kinds(backend: str, kind: str) -> None:
    labels, probs = make_data(2000, 4, seed=9)
    dp = as_dask(labels, probs)[1]
    given = {
        "dask": da.from_array(labels, chunks=(UNEVEN,)),
        "dask-misaligned": da.from_array(labels, chunks=300),
        "numpy": labels,
        "list": labels.tolist(),
        "series": pd.Series(labels),
    }[kind]
    expect = filter.find_label_issues(labels, probs)
    got = lsd.find_label_issues(given, dp)
    # The mask is chunked like dask labels, or like pred_probs' rows for in-memory labels.
    assert got.chunks == (given.chunks if kind.startswith("dask") else (UNEVEN,))
    np.testing.assert_array_equal(got.compute(), expect)


def test_one_chunk_and_threaded_scheduler(backend: str) -> None:
    labels, probs = make_data(1500, 5, seed=4)
    expect = filter.find_label_issues(labels, probs, filter_by="prune_by_class")
    one = lsd.find_label_issues(labels, da.from_array(probs, chunks=-1), filter_by="prune_by_class")
    np.testing.assert_array_equal(one.compute(), expect)
    with dask.config.set(scheduler="threads"):
        many = lsd.find_label_issues(
            labels, da.from_array(probs, chunks=(50, -1)), filter_by="prune_by_class"
        )
        np.testing.assert_array_equal(many.compute(), expect)


def test_mask_is_built_from_indices_without_rereading(backend: str) -> None:
    labels, probs = make_data(1000, 4, seed=8)
    reads = []

    def counted(block: np.ndarray) -> np.ndarray:
        reads.append(block.shape[0])
        return block

    dp = da.from_array(probs, chunks=(100, -1)).map_blocks(counted, dtype=probs.dtype)
    mask = lsd.find_label_issues(labels, dp)
    assert sum(reads) == 3 * 1000  # three passes: thresholds, confident joint, pruning
    np.testing.assert_array_equal(mask.compute(), filter.find_label_issues(labels, probs))
    assert sum(reads) == 3 * 1000  # computing the mask does not touch pred_probs again


def test_lazy_mask_from_sparse_and_dense_indices() -> None:
    rng = np.random.default_rng(0)
    chunks = ((1, 0, 4000, 3, 996),)
    expect = np.zeros(5000, dtype=bool)
    expect[[0, 17, 3999]] = True  # sparse in the big chunk: local indices travel
    expect[4001:4004] = True  # a full small chunk: packed bits travel
    expect[4004:] = rng.random(996) < 0.5  # dense: packed bits travel
    mask = lsd._lazy_mask(np.flatnonzero(expect), chunks)
    assert mask.chunks == chunks
    np.testing.assert_array_equal(mask.compute(), expect)


def test_verbose_prints_the_count(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    labels, probs = make_data(1000, 3, seed=6)
    filter.find_label_issues(labels, probs, verbose=True)
    expect = capsys.readouterr().out
    lsd.find_label_issues(*as_dask(labels, probs, (400, 600)), verbose=True)
    assert capsys.readouterr().out == expect
    assert expect.startswith("Number of label issues found: ")


def test_fold_merges_in_a_fixed_tree() -> None:
    """Accumulators merge pairwise level by level, whatever the scheduler runs first."""
    labels, probs = make_data(50, 3, seed=1)
    source = lsd.DaskSource(*as_dask(labels, probs, (10, 10, 10, 10, 10))[:2])

    class Trace:
        def __init__(self) -> None:
            self.tree = ""

    def step(acc: Trace, labs: np.ndarray, prob: np.ndarray, offset: int) -> None:
        acc.tree = str(offset)

    def merge(acc: Trace, other: Trace) -> None:
        acc.tree = other.tree if not acc.tree else f"({acc.tree},{other.tree})"

    with dask.config.set(scheduler="threads"):
        trace = source.fold(Trace, step, merge)
    assert trace.tree == "(((0,10),(20,30)),40)"
    assert source.map(lambda labs, prob, offset: (offset, labs.shape[0])) == [(i * 10, 10) for i in range(5)]


# ----------------------------------------------------------------------------------------------
# count, rank


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("calibrate", [True, False])
def test_confident_joint_and_thresholds_equal_in_memory(backend: str, dtype: type, calibrate: bool) -> None:
    labels, probs = make_data(2000, 5, seed=13, dtype=dtype)
    dl, dp = as_dask(labels, probs)
    expect = count.compute_confident_joint(labels, probs, calibrate=calibrate)
    got = lsd.compute_confident_joint(dl, dp, calibrate=calibrate)
    np.testing.assert_array_equal(got, expect)
    assert got.flags.f_contiguous == expect.flags.f_contiguous  # memory order feeds later calibrations
    cj, idx = lsd.compute_confident_joint(dl, dp, calibrate=calibrate, return_indices_of_off_diagonals=True)
    ecj, eidx = count.compute_confident_joint(
        labels, probs, calibrate=calibrate, return_indices_of_off_diagonals=True
    )
    assert eidx.size > 0
    np.testing.assert_array_equal(cj, ecj)
    np.testing.assert_array_equal(idx, eidx)
    thresholds = np.full(5, 0.4)
    np.testing.assert_array_equal(
        lsd.compute_confident_joint(dl, dp, thresholds=thresholds, calibrate=calibrate),
        count.compute_confident_joint(labels, probs, thresholds=thresholds, calibrate=calibrate),
    )
    np.testing.assert_array_equal(
        lsd.get_confident_thresholds(dl, dp), count.get_confident_thresholds(labels, probs)
    )


def test_num_label_issues_equal_in_memory(backend: str) -> None:
    labels, probs = make_data(2000, 4, seed=17)
    dl, dp = as_dask(labels, probs)
    for method in ("off_diagonal", "off_diagonal_calibrated"):
        got = lsd.num_label_issues(dl, dp, estimation_method=method)
        assert isinstance(got, np.int64)
        assert got == count.num_label_issues(labels, probs, estimation_method=method) > 0
    cj = np.array([[400, 20, 10, 5], [30, 420, 10, 0], [0, 5, 480, 15], [10, 10, 10, 500]])
    assert lsd.num_label_issues(
        dl, dp, confident_joint=cj, estimation_method="off_diagonal_custom"
    ) == count.num_label_issues(labels, probs, confident_joint=cj, estimation_method="off_diagonal_custom")
    with pytest.warns(UserWarning, match="is ignored"):
        lsd.num_label_issues(dl, dp, confident_joint=cj)
    with pytest.raises(InvalidInputError, match="No `confident_joint` provided"):
        lsd.num_label_issues(dl, dp, estimation_method="off_diagonal_custom")
    with pytest.raises(InvalidInputError, match="not a valid estimation method"):
        lsd.num_label_issues(dl, dp, estimation_method="nope")
    with pytest.raises(LabelsError, match="every label is 2"):
        lsd.num_label_issues(np.full(2000, 2), dp)


def test_class_without_labels(backend: str) -> None:
    labels, probs = make_data(1500, 5, seed=3)
    labels[labels == 3] = 1  # class 3 never given: threshold 2.0, empty row in the joint
    dl, dp = as_dask(labels, probs, (500, 1000))
    np.testing.assert_array_equal(
        lsd.compute_confident_joint(dl, dp), count.compute_confident_joint(labels, probs)
    )
    assert lsd.num_label_issues(
        dl, dp, estimation_method="off_diagonal_calibrated"
    ) == count.num_label_issues(labels, probs, estimation_method="off_diagonal_calibrated")
    with pytest.warns(UserWarning, match="class: 3, it has too few examples"):
        expect = filter.find_label_issues(labels, probs)
    with pytest.warns(UserWarning, match="class: 3, it has too few examples"):
        got = lsd.find_label_issues(dl, dp)
    np.testing.assert_array_equal(got.compute(), expect)


@pytest.mark.parametrize(
    ("method", "adjust"),
    [(m, a) for m in rank.METHODS for a in (False, True) if not (a and m == "confidence_weighted_entropy")],
)
def test_label_quality_scores_are_lazy_and_equal(backend: str, method: str, adjust: bool) -> None:
    labels, probs = make_data(1000, 4, seed=19, dtype=np.float32)
    reads = []

    def counted(block: np.ndarray) -> np.ndarray:
        reads.append(block.shape[0])
        return block

    dp = da.from_array(probs, chunks=(300, -1)).map_blocks(counted, dtype=probs.dtype)
    got = lsd.get_label_quality_scores(labels, dp, method=method, adjust_pred_probs=adjust)
    assert isinstance(got, da.Array)
    assert got.chunks == ((300, 300, 300, 100),)
    assert sum(reads) == (1000 if adjust else 0)  # only the thresholds pass runs before compute
    expect = rank.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)
    computed = got.compute()
    assert computed.dtype == np.float64
    np.testing.assert_array_equal(computed, expect)


# ----------------------------------------------------------------------------------------------
# dataset.health_summary


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"asymmetric": True, "class_names": ["ant", "bee", "cat", "dog"]},
        {"num_examples": 5000},
        {"joint": np.full((4, 4), 1 / 16)},
    ],
)
def test_health_summary_equals_in_memory(
    backend: str, kwargs: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    labels, probs = make_data(2000, 4, seed=23)
    expect = dataset.health_summary(labels, probs, **kwargs)
    printed = capsys.readouterr().out
    got = lsd.health_summary(*as_dask(labels, probs), **kwargs)
    assert capsys.readouterr().out == printed
    assert "Overall Class Quality" in printed
    assert_same_summary(got, expect)


def test_health_summary_with_confident_joint_warns_and_uses_it(backend: str) -> None:
    labels, probs = make_data(2000, 4, seed=29)
    cj = np.array([[400, 20, 10, 5], [30, 420, 10, 0], [0, 5, 480, 15], [10, 10, 10, 500]])
    with pytest.warns(UserWarning, match="is ignored"):
        expect = dataset.health_summary(labels, probs, confident_joint=cj, verbose=False)
    with pytest.warns(UserWarning, match="is ignored"):
        got = lsd.health_summary(*as_dask(labels, probs), confident_joint=cj, verbose=False)
    assert_same_summary(got, expect)


def assert_same_summary(got: dict, expect: dict) -> None:
    assert got.keys() == expect.keys()
    assert got["overall_label_health_score"] == expect["overall_label_health_score"]
    np.testing.assert_array_equal(got["joint"], expect["joint"])
    pd.testing.assert_frame_equal(got["classes_by_label_quality"], expect["classes_by_label_quality"])
    pd.testing.assert_frame_equal(got["overlapping_classes"], expect["overlapping_classes"])


# ----------------------------------------------------------------------------------------------
# errors


def test_bad_row_in_a_later_chunk_names_the_global_row(backend: str) -> None:
    labels, probs = make_data(2000, 4, seed=31)
    probs[1500, 2] = np.nan
    dl, dp = as_dask(labels, probs)
    with pytest.raises(PredProbsError, match=r"row 1500\b"):
        filter.find_label_issues(labels, probs)  # the in-memory message names the same row
    with pytest.raises(PredProbsError, match=r"row 1500\b"):
        lsd.find_label_issues(dl, dp)
    with pytest.raises(PredProbsError, match=r"row 1500\b"):
        lsd.compute_confident_joint(dl, dp)
    scores = lsd.get_label_quality_scores(dl, dp)
    with pytest.raises(PredProbsError, match=r"row 1500\b"):
        scores.compute()
    sums = make_data(2000, 4, seed=31)[1]
    sums[1043] *= 1.01
    with pytest.raises(PredProbsError, match=r"row 1043\b"):
        lsd.get_confident_thresholds(labels, as_dask(labels, sums)[1])


@pytest.mark.parametrize(("value", "message"), [(4, r"labels\[1999\] = 4"), (-1, r"labels\[1042\] = -1")])
def test_label_out_of_range_names_the_global_index(backend: str, value: int, message: str) -> None:
    labels, probs = make_data(2000, 4, seed=37)
    labels[1999 if value > 0 else 1042] = value
    dl, dp = as_dask(labels, probs)
    with pytest.raises(LabelsError, match=message):
        lsd.find_label_issues(dl, dp)
    with pytest.raises(LabelsError, match=message):
        lsd.num_label_issues(labels, dp)
    with pytest.raises(LabelsError, match=message):
        lsd.get_label_quality_scores(dl, dp).compute()


def test_chunk_and_shape_errors(backend: str) -> None:
    labels, probs = make_data(500, 3, seed=41)
    dl, dp = as_dask(labels, probs, (100, 400))
    unknown = dp[dp[:, 0] >= 0]  # boolean indexing leaves the row chunk sizes unknown
    with pytest.raises(InvalidInputError, match=r"pred_probs\.compute_chunk_sizes\(\)"):
        lsd.find_label_issues(dl, unknown)
    with pytest.raises(InvalidInputError, match=r"labels\.compute_chunk_sizes\(\)"):
        lsd.get_label_quality_scores(dl[dl >= 0], dp)
    with pytest.raises(InvalidInputError, match="same length"):
        lsd.find_label_issues(dl[:499], dp)
    with pytest.raises(InvalidInputError, match="same length"):
        lsd.compute_confident_joint(labels[:499], dp)
    with pytest.raises(InvalidDtypeError, match="must be a dask array"):
        lsd.find_label_issues(labels, probs)
    with pytest.raises(InvalidDtypeError, match="float16, float32 or float64"):
        lsd.get_confident_thresholds(dl, dp.astype(np.int64))
    with pytest.raises(PredProbsError, match="at least 2 columns"):
        lsd.find_label_issues(dl, dp[:, :1])
    with pytest.raises(PredProbsError, match="2-D"):
        lsd.find_label_issues(dl, dp[:, 0])
    with pytest.raises(PredProbsError, match="empty"):
        lsd.find_label_issues(dl[:0], dp[:0])
    with pytest.raises(LabelsError, match="1-D"):
        lsd.find_label_issues(dp, dp)
    with pytest.raises(LabelsError, match="at least 2 classes"):
        lsd.find_label_issues(np.full(500, 1), dp)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"filter_by": "nope"}, InvalidInputError, "filter_by must be one of"),
        ({"frac_noise": 1.5}, InvalidInputError, "frac_noise"),
        ({"num_to_remove_per_class": [1, 2]}, InvalidInputError, "num_to_remove_per_class"),
        ({"return_indices_ranked_by": "nope"}, InvalidInputError, "not a valid scoring method"),
        (
            {
                "return_indices_ranked_by": "confidence_weighted_entropy",
                "rank_by_kwargs": {"adjust_pred_probs": True},
            },
            InvalidInputError,
            "adjust_pred_probs is not currently supported",
        ),
        ({"n_jobs": 0}, InvalidInputError, "n_jobs"),
        ({"multi_label": True}, NotImplementedError, "multi_label"),
    ],
)
def test_argument_errors(kwargs: dict, error: type, message: str) -> None:
    labels, probs = make_data(300, 3, seed=43)
    dl, dp = as_dask(labels, probs, (300,))
    with pytest.raises(error, match=message):
        lsd.find_label_issues(dl, dp, **kwargs)
    with pytest.raises(InvalidInputError, match="adjust_pred_probs is not currently supported"):
        lsd.get_label_quality_scores(dl, dp, method="confidence_weighted_entropy", adjust_pred_probs=True)
    with pytest.raises(InvalidInputError, match="not a valid scoring method"):
        lsd.get_label_quality_scores(dl, dp, method="nope")


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    labels, probs = make_data(100, 3, seed=47)
    dl, dp = as_dask(labels, probs, (100,))
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r'pip install "labelsieve\[dask\]"'):
        lsd.find_label_issues(dl, dp)


# ----------------------------------------------------------------------------------------------
# dask.distributed


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """Two single-threaded worker processes on the loopback interface, the default scheduler
    while the tests using it run."""
    try:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        )
    except Exception as err:  # any failure to start (no sockets, no fork) skips only these tests
        pytest.skip(f"dask.distributed LocalCluster could not start: {type(err).__name__}: {err}")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_distributed_equals_in_memory(backend: str, dask_client: object) -> None:
    from dask.distributed import get_task_stream

    labels, probs = make_data(3000, 4, seed=53, dtype=np.float32)
    dl, dp = as_dask(labels, probs, (37, 1000, 5, 1958))
    with get_task_stream(dask_client) as stream:
        for filter_by in ("prune_by_noise_rate", "prune_by_class"):
            got = lsd.find_label_issues(dl, dp, filter_by=filter_by).compute()
            np.testing.assert_array_equal(got, filter.find_label_issues(labels, probs, filter_by=filter_by))
        np.testing.assert_array_equal(
            lsd.compute_confident_joint(labels, dp), count.compute_confident_joint(labels, probs)
        )
        np.testing.assert_array_equal(
            lsd.get_label_quality_scores(dl, dp, adjust_pred_probs=True).compute(),
            rank.get_label_quality_scores(labels, probs, adjust_pred_probs=True),
        )
        assert_same_summary(
            lsd.health_summary(dl, dp, verbose=False), dataset.health_summary(labels, probs, verbose=False)
        )
    keys = [str(t["key"]) for t in stream.data]
    workers = {t["worker"] for t in stream.data}
    # The passes ran as accumulate/merge tasks on the cluster's workers.
    assert any("labelsieve-accumulate" in key for key in keys)
    assert any("labelsieve-merge" in key for key in keys)
    assert workers and all(str(w).startswith("tcp://127.0.0.1") for w in workers)


def test_distributed_error_names_the_global_row(backend: str, dask_client: object) -> None:
    labels, probs = make_data(2000, 4, seed=59)
    probs[1100, 0] = -0.5
    with pytest.raises(PredProbsError, match=r"row 1100\b"):
        lsd.find_label_issues(*as_dask(labels, probs))


def test_module_name_does_not_shadow_dask() -> None:
    assert lsd.__name__ == "labelsieve.dask"
    assert lsd._dask() is dask  # absolute imports reach the real package, not this module
