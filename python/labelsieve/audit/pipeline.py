"""The audit pipeline: pred_probs (given or cross-validated) -> findings -> console, issue file, report."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pandas as pd

from labelsieve.audit.data import Dataset
from labelsieve.audit.findings import Findings, audit_labels, issue_table
from labelsieve.audit.model import cross_val_pred_probs
from labelsieve.audit.options import AuditOptions, check_options
from labelsieve.audit.report import render_report, write_report
from labelsieve.audit.summary import format_health_summary, format_issues


@dataclass
class AuditOutcome:
    """What an audit produced."""

    findings: Findings
    issues: pd.DataFrame
    pred_probs_source: str
    written: list[Path] = field(default_factory=list)


def run_audit(
    dataset: Dataset,
    options: AuditOptions,
    *,
    out: TextIO = sys.stdout,
    title: str = "Label audit",
    highlights: Callable[[Findings], Sequence[tuple[str, str]]] | None = None,
) -> AuditOutcome:
    """Audit ``dataset``: print the health summary and top issues to ``out``, write the requested files.

    ``highlights`` computes extra (label, value) cards for the report from the findings.
    """
    check_options(options)
    if dataset.pred_probs is not None:
        pred_probs = dataset.pred_probs
        source = "given pred_probs"
    else:
        assert dataset.features is not None, "load_dataset guarantees features or pred_probs"
        _status(
            options,
            f"Computing out-of-sample pred_probs: {options.folds}-fold cross-validation, {options.model} model",
        )
        pred_probs = cross_val_pred_probs(
            dataset.features,
            dataset.labels,
            dataset.num_classes,
            model=options.model,
            folds=options.folds,
            seed=options.seed,
            progress=options.progress,
        )
        source = f"{options.folds}-fold cross-validation ({options.model})"
    findings = audit_labels(
        dataset.labels, pred_probs, dataset.class_names, filter_by=options.filter_by, rank_by=options.rank_by
    )
    issues = issue_table(findings, dataset.row_ids)
    # Files first, so a closed stdout (``| head``) cannot lose them.
    outcome = AuditOutcome(findings=findings, issues=issues, pred_probs_source=source)
    if options.output is not None:
        outcome.written.append(write_issue_table(options.output, issues))
    if options.report is not None:
        details = [("pred_probs", source), ("filter_by", options.filter_by), ("ranked by", options.rank_by)]
        cards = highlights(findings) if highlights is not None else ()
        document = render_report(
            findings, dataset, top=options.top, details=details, highlights=cards, title=title
        )
        outcome.written.append(write_report(options.report, document))
    n = findings.num_examples
    print(
        f"Audited {n:,} examples in {dataset.num_classes:,} classes"
        f"{' from ' + dataset.source if dataset.source else ''}; pred_probs from {source}.",
        file=out,
    )
    print(
        f"Found {findings.num_issues:,} label issues ({findings.num_issues / n:.1%}) with filter_by={options.filter_by}.\n",
        file=out,
    )
    print(format_health_summary(findings), file=out)
    if options.top > 0 and findings.num_issues:
        print("\n" + format_issues(issues, options.top), file=out)
    if options.output is not None:
        print(f"\nWrote {len(issues):,} issues to {options.output}", file=out)
    if options.report is not None:
        print(f"Wrote report to {options.report}", file=out)
    return outcome


def write_issue_table(path: Path, issues: pd.DataFrame) -> Path:
    """Write the issue table as CSV or Parquet (by extension), creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        issues.to_csv(path, index=False)
    else:
        # Row ids of mixed types cannot be stored in one Parquet column; strings always can.
        table = issues if issues["row_id"].map(type).nunique() <= 1 else issues.astype({"row_id": str})
        table.to_parquet(path, index=False)
    return path


def _status(options: AuditOptions, message: str) -> None:
    if options.progress:
        print(message, file=sys.stderr, flush=True)


__all__ = ["AuditOutcome", "run_audit", "write_issue_table"]
