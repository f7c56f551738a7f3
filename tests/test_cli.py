"""`labelsieve audit` driven as a user drives it: ``python -m labelsieve audit ...`` in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import labelsieve.cli
from labelsieve.audit.findings import ISSUE_COLUMNS
from labelsieve.exceptions import LabelsError

PACKAGE_ROOT = Path(labelsieve.cli.__file__).resolve().parents[1]
CLASS_NAMES = np.array(["bird", "cat", "dog"])


def run_cli(*args: object, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m labelsieve`` with the labelsieve this test imported."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*filter(None, [env.get("PYTHONPATH")]), str(PACKAGE_ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "labelsieve", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


def found_count(stdout: str) -> int:
    match = re.search(r"Found ([\d,]+) label issues", stdout)
    assert match, stdout
    return int(match.group(1).replace(",", ""))


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, true labels, noisy labels): three separable Gaussian blobs, 10% of labels flipped."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 3, n)
    centers = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    features = centers[true] + rng.normal(size=(n, 2))
    noisy = true.copy()
    flip = rng.choice(n, n // 10, replace=False)
    noisy[flip] = (true[flip] + rng.integers(1, 3, flip.size)) % 3
    return features, true, noisy


def blobs_table(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A table with numeric, categorical and text columns, a string label column and an id column."""
    features, true, noisy = blobs(n, seed)
    rng = np.random.default_rng(seed + 1)
    words = {0: "feathers wings beak nest", 1: "whiskers purr claws milk", 2: "bark fetch bone leash"}
    table = pd.DataFrame(
        {
            "id": [f"r{i:04d}" for i in range(n)],
            "x1": features[:, 0],
            "x2": features[:, 1],
            "colour": rng.choice(["red", "green", "blue"], n),
            "note": [" ".join(rng.permutation(words[t].split())[:3]) + " seen today" for t in true],
            "animal": CLASS_NAMES[noisy],
        }
    )
    return table, true != noisy


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("demo")
    return run_cli("audit", "--demo", cwd=cwd), cwd


def test_demo_reports_precision_recall_and_writes_files(
    demo_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, cwd = demo_run
    assert_ok(result)
    precision = float(re.search(r"^precision: ([\d.]+)", result.stdout, re.M).group(1))  # type: ignore[union-attr]
    recall = float(re.search(r"^recall: ([\d.]+)", result.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert 0.6 <= precision <= 1.0 and 0.7 <= recall <= 1.0, result.stdout
    injected = int(re.search(r"injected ([\d,]+) label errors \(([\d.]+)%\)", result.stdout).group(1))  # type: ignore[union-attr]
    assert 0.08 * 1797 <= injected <= 0.22 * 1797
    issues = pd.read_csv(cwd / "labelsieve-demo" / "issues.csv")
    assert list(issues.columns) == list(ISSUE_COLUMNS)
    assert len(issues) == found_count(result.stdout) > 0
    assert issues["label_quality"].is_monotonic_increasing
    assert issues["row_id"].between(0, 1796).all() and issues["row_id"].is_unique
    report = (cwd / "labelsieve-demo" / "report.html").read_text()
    assert '<svg id="noise-matrix"' in report and "data:image/png;base64," in report
    assert "Overall label health score" in result.stdout
    assert "Traceback" not in result.stderr


def test_csv_with_string_labels_end_to_end(tmp_path: Path) -> None:
    table, is_error = blobs_table()
    table.to_csv(tmp_path / "animals.csv", index=False)
    result = run_cli(
        "audit", "animals.csv", "--label-column", "animal", "--id-column", "id",
        "--output", "out/issues.csv", "--report", "out/report.html", "--top", "7", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert_ok(result)
    issues = pd.read_csv(tmp_path / "out" / "issues.csv")
    assert list(issues.columns) == list(ISSUE_COLUMNS)
    assert len(issues) == found_count(result.stdout) > 0
    assert set(issues["given_label"]) | set(issues["suggested_label"]) <= set(CLASS_NAMES)
    assert issues["row_id"].str.fullmatch(r"r\d{4}").all()
    flagged = issues["row_id"].str[1:].astype(int).to_numpy()
    assert is_error[flagged].mean() > 0.7 and is_error[flagged].sum() > 0.6 * is_error.sum()
    for name in CLASS_NAMES:
        assert re.search(rf"^\s+{name}\s", result.stdout, re.M), result.stdout
    report = (tmp_path / "out" / "report.html").read_text()
    assert report.count("<tr>") >= 7 and "<th>note</th>" in report and "cat" in report


def test_parquet_in_and_out_with_other_models(tmp_path: Path) -> None:
    table, _ = blobs_table(240, seed=3)
    table.drop(columns=["note"]).to_parquet(tmp_path / "animals.parquet", index=False)
    for model in ("random-forest", "knn", "hist-gradient-boosting"):
        result = run_cli(
            "audit", "animals.parquet", "--label-column", "animal", "--model", model,
            "--folds", "3", "--output", f"{model}.parquet", "--quiet",
            cwd=tmp_path,
        )  # fmt: skip
        assert_ok(result)
        issues = pd.read_parquet(tmp_path / f"{model}.parquet")
        assert list(issues.columns) == list(ISSUE_COLUMNS)
        assert len(issues) == found_count(result.stdout)
        assert issues["row_id"].between(0, 239).all()


@pytest.mark.parametrize(("feature_key", "label_key"), [("X", "y"), ("features", "labels")])
def test_npz_archive(tmp_path: Path, feature_key: str, label_key: str) -> None:
    features, _, noisy = blobs()
    arrays: dict[str, Any] = {feature_key: features, label_key: noisy}
    np.savez(tmp_path / "data.npz", **arrays)
    result = run_cli("audit", "data.npz", "--output", "issues.csv", "--quiet", cwd=tmp_path)
    assert_ok(result)
    issues = pd.read_csv(tmp_path / "issues.csv")
    assert len(issues) == found_count(result.stdout) > 0
    assert set(issues["given_label"]) <= {0, 1, 2}


def test_npy_images_with_labels_file(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    labels = digits.target.copy()
    labels[:40] = (labels[:40] + 1) % 10
    np.save(tmp_path / "images.npy", digits.images[:600])
    np.save(tmp_path / "labels.npy", labels[:600])
    result = run_cli(
        "audit", "images.npy", "--labels", "labels.npy", "--report", "r.html", "--output", "i.csv", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert_ok(result)
    assert (tmp_path / "r.html").read_text().count('<img class="thumb"') == min(
        20, found_count(result.stdout)
    )
    flagged = pd.read_csv(tmp_path / "i.csv")["row_id"].to_numpy()
    assert np.isin(np.arange(40), flagged).mean() > 0.6


def test_pred_probs_mode_matches_find_label_issues(tmp_path: Path) -> None:
    from labelsieve.filter import find_label_issues

    rng = np.random.default_rng(7)
    _, _, noisy = blobs(400, seed=7)
    logits = rng.normal(size=(400, 3)) + 3.0 * np.eye(3)[noisy]
    logits[:40] = rng.normal(size=(40, 3)) + 3.0 * np.eye(3)[(noisy[:40] + 1) % 3]
    pred_probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.save(tmp_path / "pred_probs.npy", pred_probs)
    np.save(tmp_path / "labels.npy", noisy)
    result = run_cli(
        "audit", "--pred-probs", "pred_probs.npy", "--labels", "labels.npy", "--output", "issues.csv",
        "--filter-by", "both", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert_ok(result)
    assert "given pred_probs" in result.stdout
    issues = pd.read_csv(tmp_path / "issues.csv")
    expected = np.flatnonzero(find_label_issues(noisy, pred_probs, filter_by="both"))
    assert sorted(issues["row_id"]) == expected.tolist()
    # String labels name the pred_probs columns through --class-names.
    np.save(tmp_path / "names.npy", CLASS_NAMES[noisy])
    result = run_cli(
        "audit", "--pred-probs", "pred_probs.npy", "--labels", "names.npy", "--class-names", "bird,cat,dog",
        "--output", "named.csv", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert_ok(result)
    named = pd.read_csv(tmp_path / "named.csv")
    assert set(named["given_label"]) <= set(CLASS_NAMES) and len(named) == found_count(result.stdout)


def _bad_inputs(tmp: Path) -> dict[str, list[object]]:
    table, _ = blobs_table(60)
    table.to_csv(tmp / "ok.csv", index=False)
    table.assign(animal=np.linspace(0, 1, 60)).to_csv(tmp / "float_labels.csv", index=False)
    table.assign(animal="cat").to_csv(tmp / "one_class.csv", index=False)
    table.assign(animal=table["animal"].where(table.index > 0)).to_csv(tmp / "missing_label.csv", index=False)
    (tmp / "empty.csv").write_text("")
    pred_probs = np.full((60, 3), 1 / 3)
    np.save(tmp / "pp.npy", pred_probs)
    np.save(tmp / "pp_bad.npy", pred_probs * 4)
    np.save(tmp / "labels59.npy", np.arange(59) % 3)
    np.save(tmp / "labels_big.npy", np.arange(60) % 5)
    np.save(tmp / "labels_ok.npy", np.arange(60) % 3)
    np.savez(tmp / "nokeys.npz", a=np.zeros(3))
    return {
        "missing file": ["audit", "nope.csv", "--label-column", "animal"],
        "missing column": ["audit", "ok.csv", "--label-column", "species"],
        "no label column given": ["audit", "ok.csv"],
        "continuous label column": ["audit", "float_labels.csv", "--label-column", "animal"],
        "one class": ["audit", "one_class.csv", "--label-column", "animal"],
        "missing label": ["audit", "missing_label.csv", "--label-column", "animal"],
        "id column as label": ["audit", "ok.csv", "--label-column", "id"],
        "empty csv": ["audit", "empty.csv", "--label-column", "animal"],
        "unknown extension": ["audit", "ok.txt", "--label-column", "animal"],
        "pred_probs/labels length mismatch": ["audit", "--pred-probs", "pp.npy", "--labels", "labels59.npy"],
        "labels beyond pred_probs columns": ["audit", "--pred-probs", "pp.npy", "--labels", "labels_big.npy"],
        "pred_probs not probabilities": ["audit", "--pred-probs", "pp_bad.npy", "--labels", "labels_ok.npy"],
        "pred_probs without labels": ["audit", "--pred-probs", "pp.npy"],
        "npz without features": ["audit", "nokeys.npz"],
        "bad output extension": ["audit", "ok.csv", "--label-column", "animal", "--output", "issues.xlsx"],
        "too few folds": ["audit", "ok.csv", "--label-column", "animal", "--folds", "1"],
        "no data": ["audit"],
        "unknown model": ["audit", "ok.csv", "--label-column", "animal", "--model", "bert"],
        "unknown option": ["audit", "ok.csv", "--frobnicate"],
        "demo with data": ["audit", "--demo", "ok.csv"],
    }


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("x\n")
    for case, args in _bad_inputs(tmp_path).items():
        result = run_cli(*args, cwd=tmp_path, timeout=120)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, f"{case}: exit {result.returncode}\n{result.stderr}"
        assert len(lines) == 1 and lines[0].startswith("labelsieve"), f"{case}: {result.stderr!r}"
        assert "Traceback" not in result.stderr, case
        assert not (tmp_path / "issues.xlsx").exists()


def test_labelsieve_exceptions_map_to_exit_2_and_bugs_to_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import labelsieve.audit.pipeline as pipeline

    np.save(tmp_path / "pp.npy", np.full((6, 2), 0.5))
    np.save(tmp_path / "l.npy", np.array([0, 1] * 3))
    argv = ["audit", "--pred-probs", str(tmp_path / "pp.npy"), "--labels", str(tmp_path / "l.npy"), "-q"]

    def bad_labels(*args: object, **kwargs: object) -> None:
        raise LabelsError("labels must be integers in 0..K-1,\nfound -1")

    monkeypatch.setattr(pipeline, "run_audit", bad_labels)
    assert labelsieve.cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == "labelsieve audit: error: labels must be integers in 0..K-1, found -1"

    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "run_audit", bug)
    assert labelsieve.cli.main(argv) == 1
    assert "internal error: RuntimeError: boom" in capsys.readouterr().err


def test_help_and_version(tmp_path: Path) -> None:
    result = run_cli("audit", "--help", cwd=tmp_path)
    assert_ok(result)
    assert "--pred-probs" in result.stdout and "labelsieve audit --demo" in result.stdout
    assert run_cli("--version", cwd=tmp_path).returncode == 0
    assert run_cli(cwd=tmp_path).returncode == 2
