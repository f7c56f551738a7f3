"""`labelsieve audit --demo`: audit scikit-learn's bundled 8x8 digits after injecting known label noise.

The noise is class-conditional, drawn with labelsieve's own ``generate_noise_matrix_from_trace`` and
``generate_noisy_labels`` at a fixed seed, so the demo can report how many of the injected errors
the audit found (precision and recall). Nothing is downloaded.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from labelsieve.audit.data import Dataset
from labelsieve.audit.findings import Findings
from labelsieve.audit.options import AuditOptions
from labelsieve.audit.pipeline import AuditOutcome, run_audit
from labelsieve.benchmarking.noise_generation import generate_noise_matrix_from_trace, generate_noisy_labels

DEMO_DIR = Path("labelsieve-demo")
"""Where the demo writes its issue table and report unless --output / --report are given."""
NOISE_TRACE_FRACTION = 0.85
"""Trace of the noise matrix as a fraction of K: about 15% of labels get flipped."""
NOISE_SEED = 1


@dataclass
class DemoData:
    """The noisy digits dataset plus the ground truth needed to score the audit."""

    dataset: Dataset
    true_labels: np.ndarray
    noise_matrix: np.ndarray

    @property
    def is_error(self) -> np.ndarray:
        return self.dataset.labels != self.true_labels


def make_demo_data(*, seed: int = NOISE_SEED, trace_fraction: float = NOISE_TRACE_FRACTION) -> DemoData:
    """Digits (1,797 images, 10 classes) with class-conditional label noise injected at ``seed``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    true_labels = np.asarray(digits.target, dtype=np.int64)
    k = int(true_labels.max()) + 1
    py = np.bincount(true_labels, minlength=k) / true_labels.shape[0]
    noise_matrix = generate_noise_matrix_from_trace(
        k, trace_fraction * k, py=py, valid_noise_matrix=True, seed=seed
    )
    if noise_matrix is None:
        raise RuntimeError("generate_noise_matrix_from_trace found no valid noise matrix for the demo")
    noisy = np.asarray(generate_noisy_labels(true_labels, noise_matrix, seed=seed), dtype=np.int64)
    dataset = Dataset(
        labels=noisy,
        class_names=[str(c) for c in range(k)],
        features=np.asarray(digits.data, dtype=np.float64),
        row_ids=np.arange(true_labels.shape[0]),
        images=np.asarray(digits.images),
        source="scikit-learn digits (8x8 images) with injected label noise",
    )
    return DemoData(dataset=dataset, true_labels=true_labels, noise_matrix=np.asarray(noise_matrix))


def detection_scores(flagged: np.ndarray, is_error: np.ndarray) -> tuple[float, float, int]:
    """(precision, recall, true positives) of the flagged row indices against the injected errors."""
    hits = int(is_error[flagged].sum()) if len(flagged) else 0
    precision = hits / len(flagged) if len(flagged) else 0.0
    total = int(is_error.sum())
    recall = hits / total if total else 1.0
    return precision, recall, hits


def run_demo(options: AuditOptions, *, out: TextIO = sys.stdout) -> AuditOutcome:
    """Run the whole audit on noisy digits and print how well it recovered the injected errors."""
    demo = make_demo_data()
    options = replace(
        options,
        output=options.output or DEMO_DIR / "issues.csv",
        report=options.report or DEMO_DIR / "report.html",
    )
    n, injected = demo.dataset.num_examples, int(demo.is_error.sum())
    print(
        f"Demo: {n:,} scikit-learn digits; injected {injected:,} label errors ({injected / n:.1%}) "
        f"with generate_noise_matrix_from_trace(K=10, trace={NOISE_TRACE_FRACTION * 10:g}) + generate_noisy_labels.\n",
        file=out,
    )

    def highlights(findings: Findings) -> list[tuple[str, str]]:
        precision, recall, _ = detection_scores(findings.ranked_issues, demo.is_error)
        return [
            ("Injected errors", f"{injected:,}"),
            ("Precision", f"{precision:.1%}"),
            ("Recall", f"{recall:.1%}"),
        ]

    outcome = run_audit(
        demo.dataset, options, out=out, title="Label audit demo: noisy digits", highlights=highlights
    )
    precision, recall, hits = detection_scores(outcome.findings.ranked_issues, demo.is_error)
    print(
        f"\nInjected label errors found: {hits:,} of {injected:,}\n"
        f"precision: {precision:.3f}  ({hits:,} of {outcome.findings.num_issues:,} flagged rows are injected errors)\n"
        f"recall: {recall:.3f}  ({hits:,} of {injected:,} injected errors were flagged)",
        file=out,
    )
    return outcome


__all__ = ["DEMO_DIR", "DemoData", "detection_scores", "make_demo_data", "run_demo"]
