"""Options of `labelsieve audit`: the accepted choices, their defaults and the up-front checks.

Kept free of scikit-learn and pandas so the command line can parse and reject arguments quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labelsieve.audit.errors import AuditInputError
from labelsieve.filter import FILTER_BY
from labelsieve.rank import METHODS as RANK_BY

MODELS = ("logistic", "random-forest", "hist-gradient-boosting", "knn")
"""Names accepted by ``--model``; the first is the default."""

ISSUE_FILE_SUFFIXES = (".csv", ".parquet", ".pq")
"""Extensions accepted by ``--output``."""


@dataclass
class AuditOptions:
    """How to audit: the model and CV for pred_probs, the issue filter, and where to write results."""

    model: str = MODELS[0]
    folds: int = 5
    seed: int | None = 0
    filter_by: str = FILTER_BY[0]
    rank_by: str = RANK_BY[0]
    top: int = 20
    output: Path | None = None
    report: Path | None = None
    progress: bool = True
    """Show tqdm bars and status lines on stderr."""


def check_options(options: AuditOptions) -> None:
    """Reject bad options before any expensive work; raises :class:`AuditInputError`."""
    if options.model not in MODELS:
        raise AuditInputError(f"--model must be one of {', '.join(MODELS)}, found {options.model!r}")
    if options.filter_by not in FILTER_BY:
        raise AuditInputError(
            f"--filter-by must be one of {', '.join(FILTER_BY)}, found {options.filter_by!r}"
        )
    if options.rank_by not in RANK_BY:
        raise AuditInputError(f"--rank-by must be one of {', '.join(RANK_BY)}, found {options.rank_by!r}")
    if options.top < 0:
        raise AuditInputError(f"--top must be 0 or more, found {options.top}")
    if options.folds < 2:
        raise AuditInputError(f"--folds must be at least 2, found {options.folds}")
    if options.output is not None and options.output.suffix.lower() not in ISSUE_FILE_SUFFIXES:
        raise AuditInputError(f"--output must end in .csv or .parquet, found {options.output.name!r}")
    if options.output is not None and options.output.suffix.lower() != ".csv":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise AuditInputError(
                "--output .parquet needs pyarrow: pip install 'labelsieve[parquet]'"
            ) from exc
    if options.report is not None and options.report.suffix.lower() not in (".html", ".htm"):
        raise AuditInputError(f"--report must end in .html, found {options.report.name!r}")


__all__ = ["FILTER_BY", "ISSUE_FILE_SUFFIXES", "MODELS", "RANK_BY", "AuditOptions", "check_options"]
