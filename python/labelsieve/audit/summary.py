"""Plain-text console output of `labelsieve audit`: the health summary and the top issues as tables."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from labelsieve.audit.findings import Findings

MAX_OVERLAP_ROWS = 5


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool]) -> str:
    """Columns padded to their widest cell; ``right[i]`` right-aligns column ``i`` (numbers)."""
    widths = [
        max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(header)
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
        return "  " + "  ".join(parts).rstrip()

    rule = "  " + "  ".join("-" * w for w in widths)
    return "\n".join([line([str(h) for h in header]), rule, *(line(r) for r in rows)])


def format_health_summary(findings: Findings) -> str:
    """Per-class estimated error rates, the most overlapping class pairs and the overall health score."""
    counts = pd.Series(findings.labels).value_counts()
    class_rows = []
    for record in findings.classes.to_dict("records"):
        k = int(record["Class Index"])
        class_rows.append(
            [
                findings.class_names[k],
                f"{int(counts.get(k, 0)):,}",
                f"{int(record['Label Issues']):,}",
                f"{float(record['Label Noise']):.1%}",
                f"{float(record['Label Quality Score']):.3f}",
            ]
        )
    parts = [
        "Estimated label errors per class (worst first)",
        format_table(
            ["class", "examples", "est. issues", "error rate", "quality"],
            class_rows,
            right=[False, True, True, True, True],
        ),
        "",
    ]
    pairs = overlapping_pairs(findings)
    if len(pairs):
        parts.append(f"Most overlapping class pairs (top {min(MAX_OVERLAP_ROWS, len(pairs))})")
        pair_rows = [
            [a, b, f"{n:,}", f"{p:.4f}"]
            for a, b, n, p in pairs.head(MAX_OVERLAP_ROWS).itertuples(index=False)
        ]
        parts.append(
            format_table(
                ["class A", "class B", "examples", "joint prob."], pair_rows, right=[False, False, True, True]
            )
        )
    else:
        parts.append("No overlapping class pairs found.")
    parts += [
        "",
        f"Overall label health score: {findings.health_score:.3f}  (1.0 = no estimated label errors)",
    ]
    return "\n".join(parts)


def overlapping_pairs(findings: Findings) -> pd.DataFrame:
    """Class pairs with at least one overlapping example: class A, class B, examples, joint probability."""
    overlap = findings.overlapping
    if overlap is None or len(overlap) == 0:
        return pd.DataFrame(columns=["class_a", "class_b", "examples", "joint_probability"])
    names = findings.class_names
    table = pd.DataFrame(
        {
            "class_a": [names[int(i)] for i in overlap["Class Index A"]],
            "class_b": [names[int(i)] for i in overlap["Class Index B"]],
            "examples": overlap["Num Overlapping Examples"].astype(int).to_numpy(),
            "joint_probability": overlap["Joint Probability"].astype(float).to_numpy(),
        }
    )
    return table[table["examples"] > 0].reset_index(drop=True)


def format_quality(score: float) -> str:
    """A label quality score with 4 decimals, or 2 significant digits when it is tiny."""
    return f"{score:.4f}" if score >= 1e-3 or score == 0 else f"{score:.1e}"


def format_issues(issues: pd.DataFrame, top: int) -> str:
    """The first ``top`` rows of the issue table."""
    shown = issues.head(top)
    rows = [
        [str(r.row_id), str(r.given_label), str(r.suggested_label), format_quality(r.label_quality)]
        for r in shown.itertuples(index=False)
    ]
    title = f"Top {len(shown)} of {len(issues):,} label issues (lowest label quality first)"
    return (
        title
        + "\n"
        + format_table(
            ["row_id", "given label", "suggested label", "label quality"],
            rows,
            right=[True, False, False, True],
        )
    )


__all__ = ["format_health_summary", "format_issues", "format_quality", "format_table", "overlapping_pairs"]
