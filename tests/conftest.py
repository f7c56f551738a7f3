"""Shared fixtures and helpers of the labelsieve test suite.

* ``shared_data()``: the ``../shared/data`` folder (override with ``LABELSIEVE_SHARED_DATA``).
* ``reference_datasets()``: every dataset with a ``cleanlab-2.9.0-reference`` folder, loaded the
  way that folder's outputs were computed (labels int64, pred_probs float64, IMDB rows renormalised).
* ``backend`` fixture: runs a test once with the Rust kernels and once with the NumPy twin.
* ``assert_equal_modulo_ties``: exact comparison that tolerates only numpy-argsort tie order.
* ``record_example()``: counts hypothesis examples per test; the totals are printed at the end.
* hypothesis profiles ``ci`` (default) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import labelsieve

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKENDS = ("rust", "python")


def shared_data() -> Path:
    """The folder with the real datasets (``../shared/data`` next to the repository)."""
    override = os.environ.get("LABELSIEVE_SHARED_DATA")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    path = shared_data()
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} is absent (set LABELSIEVE_SHARED_DATA)")
    return path


@dataclass(frozen=True)
class RefDataset:
    """One (dataset, model) pair with the outputs cleanlab 2.9.0 stored for it."""

    name: str
    labels: np.ndarray
    pred_probs: np.ndarray
    ref_dir: Path

    def ref(self, stem: str) -> np.ndarray | None:
        path = self.ref_dir / f"{stem}.npy"
        return np.load(path) if path.exists() else None


def _load_folder(folder: Path, root: Path) -> list[RefDataset]:
    ref_root = folder / "cleanlab-2.9.0-reference"
    labels_path = folder / "labels.npy"
    if not labels_path.exists():
        labels_path = folder / "noisy_labels.npy"
    labels = np.load(labels_path).astype(np.int64)
    name = folder.relative_to(root).as_posix()
    found = []
    if (folder / "pred_probs.npy").exists():
        found.append((name, folder / "pred_probs.npy", ref_root))
    for p in sorted(folder.glob("pred_probs_*.npy")):
        model = p.stem[len("pred_probs_") :]
        if (ref_root / model).is_dir():
            found.append((f"{name}/{model}", p, ref_root / model))
    out = []
    for ds_name, pp_path, ref_dir in found:
        probs = np.load(pp_path).astype(np.float64)
        if folder.name == "imdb":
            # The raw IMDB file has entries up to 1.00001; cleanlab's reference ran on renormalised rows.
            probs = probs / probs.sum(axis=1, keepdims=True)
        out.append(RefDataset(ds_name, labels, probs, ref_dir))
    return out


@lru_cache(maxsize=1)
def reference_datasets() -> tuple[RefDataset, ...]:
    """Every dataset (and model) under shared/data that has cleanlab 2.9.0 reference outputs."""
    root = shared_data()
    if not root.is_dir():
        return ()
    folders = sorted({p.parent for p in root.rglob("cleanlab-2.9.0-reference")})
    out: list[RefDataset] = []
    for folder in folders:
        out.extend(_load_folder(folder, root))
    return tuple(out)


def reference_dataset_names() -> list[str]:
    """Names for parametrisation (a placeholder when the data is absent, so the test skips)."""
    names = [d.name for d in reference_datasets()]
    return names or ["<shared data absent>"]


def get_reference_dataset(name: str) -> RefDataset:
    for d in reference_datasets():
        if d.name == name:
            return d
    pytest.skip(f"real data not available under {shared_data()} (set LABELSIEVE_SHARED_DATA)")
    raise AssertionError  # unreachable


def make_data(n: int, k: int, seed: int, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Noisy labels (15% flipped) and peaked, softmax-like pred_probs; seeded, any float dtype."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), true] += rng.uniform(0.5, 4, n)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < 0.15
    labels[flip] = rng.integers(0, k, flip.sum())
    probs = probs.astype(dtype)
    if dtype != np.float64:
        probs /= probs.sum(axis=1, keepdims=True, dtype=dtype)
    return labels, probs


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test under each kernel set (``labelsieve.backend(name)``)."""
    with labelsieve.backend(request.param):
        yield request.param


def run_under(backend_name: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with the given kernel set."""
    with labelsieve.backend(backend_name):
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# Tie-tolerant comparison


def tie_partner_rows(keys: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Boolean (N,) mask of rows that share, for at least one key column, the exact key value with
    another row of the same group: the rows whose order numpy's unstable argsort may swap."""
    keys = np.asarray(keys, dtype=np.float64)
    if keys.ndim == 1:
        keys = keys[:, None]
    n = keys.shape[0]
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups)
    out = np.zeros(n, dtype=bool)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        for c in range(keys.shape[1]):
            col = keys[rows, c]
            _, inv, counts = np.unique(col, return_inverse=True, return_counts=True)
            out[rows[counts[inv] > 1]] = True
    return out


def assert_equal_modulo_ties(
    ours: np.ndarray,
    theirs: np.ndarray,
    keys: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    vetoed: np.ndarray | None = None,
    rtol: float = 0.0,
    what: str = "",
) -> bool:
    """Assert ``ours`` equals ``theirs`` up to the order numpy's argsort gives tied keys.

    Masks (bool): the same number of flagged rows (per group when ``keys`` is 1-D), and in each
    group every differing row has the single boundary key value (1-D ``keys``), or shares a key
    value with another row of its group (2-D ``keys``: one column per candidate sort key).
    Rankings (int index arrays): the same set of indices and the identical key sequence along both
    orders. ``vetoed`` marks rows removed after the selection (cleanlab's argmax-equals-given veto):
    a tied boundary row that one side picked and the veto then removed changes the per-group count,
    so counts may differ by at most the number of vetoed rows at the boundary key. Returns True when
    the two are exactly equal.
    """
    ours = np.asarray(ours)
    theirs = np.asarray(theirs)
    keys = np.asarray(keys)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    if ours.dtype == np.bool_:
        assert theirs.dtype == np.bool_, f"{what}: dtype {theirs.dtype}"
        if np.array_equal(ours, theirs):
            return True
        diff = np.flatnonzero(ours != theirs)
        n = ours.shape[0]
        grp = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups)
        if keys.ndim == 1:
            for g in np.unique(grp[diff]):
                in_g = grp == g
                d = diff[grp[diff] == g]
                vals = np.unique(keys[d])
                assert vals.size == 1, f"{what}: group {g}: differing rows {d[:20]} have keys {vals[:20]}"
                slack = 0
                if vetoed is not None:
                    slack = int((in_g & (keys == vals[0]) & np.asarray(vetoed)).sum())
                gap = abs(int(ours[in_g].sum()) - int(theirs[in_g].sum()))
                assert gap <= slack, f"{what}: group {g}: {ours[in_g].sum()} flagged vs {theirs[in_g].sum()}"
                if slack == 0:
                    # Equal counts: the boundary key is flagged on one side for each row unflagged.
                    assert ours[d].any() and theirs[d].any(), (
                        f"{what}: group {g}: rows {d[:20]} differ one-sidedly"
                    )
        else:
            partner = tie_partner_rows(keys, grp)
            bad = diff[~partner[diff]]
            assert bad.size == 0, (
                f"{what}: rows {bad[:20]} differ (ours={ours[bad[:20]]}) and have no tied key in their group"
            )
        return False
    assert ours.dtype.kind in "iu" and theirs.dtype.kind in "iu", (
        f"{what}: dtypes {ours.dtype}, {theirs.dtype}"
    )
    if np.array_equal(ours, theirs):
        return True
    assert np.array_equal(np.sort(ours), np.sort(theirs)), (
        f"{what}: different index sets: ours-only {np.setdiff1d(ours, theirs)[:20]}, "
        f"theirs-only {np.setdiff1d(theirs, ours)[:20]}"
    )
    k = keys if keys.ndim == 1 else keys[:, 0]
    a, b = k[ours].astype(np.float64), k[theirs].astype(np.float64)
    # rtol > 0: the two sides computed the scores independently, so near-ties may swap.
    bad = np.flatnonzero(np.abs(a - b) > rtol * np.maximum(np.abs(a), np.abs(b)) + (1e-15 if rtol else 0.0))
    assert bad.size == 0, f"{what}: key sequence differs at positions {bad[:20]}"
    return False


# ----------------------------------------------------------------------------------------------
# Counters printed at the end of the session


EXAMPLES: collections.Counter[str] = collections.Counter()
COMPARISONS: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
REPORT_LINES: list[str] = []


def record_example() -> None:
    """Count one hypothesis example for the running test."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    EXAMPLES[current] += 1


def record_comparison(key: str, exact: bool) -> None:
    """Count one real-data comparison as exact or equal modulo ties."""
    COMPARISONS[key]["exact" if exact else "tie"] += 1


def report(line: str) -> None:
    """A line for the end-of-session summary."""
    REPORT_LINES.append(line)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    tr = terminalreporter
    if EXAMPLES:
        tr.section("hypothesis examples run")
        for name, n in sorted(EXAMPLES.items()):
            tr.write_line(f"{n:7d}  {name}")
        tr.write_line(f"{sum(EXAMPLES.values()):7d}  total")
    if COMPARISONS:
        tr.section("real-data comparisons (exact / equal modulo argsort ties)")
        for name, c in sorted(COMPARISONS.items()):
            tr.write_line(f"{c['exact']:5d} exact {c['tie']:4d} tie  {name}")
    if REPORT_LINES:
        tr.section("labelsieve report")
        for line in REPORT_LINES:
            tr.write_line(line)
