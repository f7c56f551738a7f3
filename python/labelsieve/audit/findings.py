"""What the audit found: label issues ranked by quality, suggested labels, noise matrix, health summary.

This is the only part of `labelsieve audit` that calls the Confident Learning functions
(``filter.find_label_issues``, ``rank.get_label_quality_scores``, ``count`` and ``dataset``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelsieve import count, dataset, filter, rank
from labelsieve.audit.options import FILTER_BY, RANK_BY

ISSUE_COLUMNS = ("row_id", "given_label", "suggested_label", "label_quality")
"""Columns of the issue table written by ``--output``."""


@dataclass
class Findings:
    """Results of auditing one set of labels against out-of-sample pred_probs."""

    labels: np.ndarray
    pred_probs: np.ndarray
    class_names: list[str]
    filter_by: str
    rank_by: str
    quality: np.ndarray
    """``(N,)`` label quality score of every example (lower = more likely mislabeled)."""
    suggested: np.ndarray
    """``(N,)`` class index the model believes in (argmax of pred_probs)."""
    ranked_issues: np.ndarray
    """Indices of the flagged examples, most likely error first."""
    noise_matrix: np.ndarray
    """``(K, K)`` estimated ``P(given label = i | true label = j)``."""
    confident_joint: np.ndarray
    """``(K, K)`` calibrated counts, rows given label, columns true label."""
    classes: pd.DataFrame
    """Per-class quality (``dataset.rank_classes_by_label_quality`` columns), worst class first."""
    overlapping: pd.DataFrame
    """Class pairs most often confused (``dataset.find_overlapping_classes`` columns)."""
    health_score: float
    """Overall label health score (1 = no estimated issues)."""

    @property
    def num_issues(self) -> int:
        return int(self.ranked_issues.shape[0])

    @property
    def num_examples(self) -> int:
        return int(self.labels.shape[0])


def audit_labels(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    class_names: list[str],
    *,
    filter_by: str = FILTER_BY[0],
    rank_by: str = RANK_BY[0],
) -> Findings:
    """Find and rank label issues and summarise label health for ``labels`` given ``pred_probs``."""
    mask = np.asarray(filter.find_label_issues(labels, pred_probs, filter_by=filter_by), dtype=bool)
    quality = np.asarray(rank.get_label_quality_scores(labels, pred_probs, method=rank_by), dtype=np.float64)
    flagged = np.flatnonzero(mask)
    # Stable sort so equal scores keep row order and the table is reproducible.
    ranked = flagged[np.argsort(quality[flagged], kind="stable")]
    _, noise_matrix, _, confident_joint = count.estimate_py_and_noise_matrices_from_probabilities(
        labels, pred_probs
    )
    summary = dataset.health_summary(labels, pred_probs, class_names=class_names, verbose=False)
    return Findings(
        labels=labels,
        pred_probs=pred_probs,
        class_names=list(class_names),
        filter_by=filter_by,
        rank_by=rank_by,
        quality=quality,
        suggested=np.argmax(pred_probs, axis=1),
        ranked_issues=ranked,
        noise_matrix=np.asarray(noise_matrix, dtype=np.float64),
        confident_joint=np.asarray(confident_joint),
        classes=summary["classes_by_label_quality"],
        overlapping=summary["overlapping_classes"],
        health_score=float(summary["overall_label_health_score"]),
    )


def issue_table(findings: Findings, row_ids: np.ndarray) -> pd.DataFrame:
    """The ranked issue table: one row per flagged example, most likely error first."""
    order = findings.ranked_issues
    names = np.asarray(findings.class_names, dtype=object)
    return pd.DataFrame(
        {
            "row_id": row_ids[order],
            "given_label": names[findings.labels[order]],
            "suggested_label": names[findings.suggested[order]],
            "label_quality": findings.quality[order],
        },
        columns=list(ISSUE_COLUMNS),
    )


__all__ = ["ISSUE_COLUMNS", "Findings", "audit_labels", "issue_table"]
