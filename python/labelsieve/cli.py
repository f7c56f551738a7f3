"""The ``labelsieve`` command line (also ``python -m labelsieve``); subcommand ``audit``.

Thin by design: it parses arguments and maps failures to exit codes; the work lives in
``labelsieve.audit``. Exit codes: 0 success, 2 bad input (one line on stderr, no traceback),
1 internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from labelsieve.exceptions import LabelsieveError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

_EPILOG = """examples:
  labelsieve audit --demo
  labelsieve audit data.csv --label-column y --output issues.csv --report report.html
  labelsieve audit data.parquet --label-column label --model random-forest --folds 10
  labelsieve audit data.npz --report report.html            (keys X/y or features/labels)
  labelsieve audit features.npy --labels labels.npy
  labelsieve audit --pred-probs pred_probs.npy --labels labels.npy --output issues.parquet
"""


class _Parser(argparse.ArgumentParser):
    """Reports usage errors as one line on stderr with exit code 2."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{self.prog}: error: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``labelsieve`` and its ``audit`` subcommand."""
    from labelsieve.audit.options import FILTER_BY, MODELS, RANK_BY

    parser = _Parser(
        prog="labelsieve", description="Find label errors in classification datasets (Confident Learning)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    audit = commands.add_parser(
        "audit",
        help="find label issues in a dataset and summarise its label health",
        description="Find likely label errors: ranked issue table, per-class health summary and an HTML report.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inputs = audit.add_argument_group("input")
    inputs.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        help="CSV, TSV, Parquet, .npz or .npy file with features (and labels)",
    )
    inputs.add_argument(
        "--label-column", metavar="NAME", help="column of DATA holding the labels (integers or strings)"
    )
    inputs.add_argument(
        "--labels", metavar="FILE", help="labels file (.npy, .csv, .txt) for .npy features or --pred-probs"
    )
    inputs.add_argument(
        "--pred-probs", metavar="FILE", help="out-of-sample predicted probabilities (.npy or .npz), N x K"
    )
    inputs.add_argument(
        "--id-column",
        metavar="NAME",
        help="column of DATA identifying rows in the issue table (default: row number)",
    )
    inputs.add_argument(
        "--class-names", metavar="A,B,...", help="comma-separated class names in pred_probs column order"
    )
    inputs.add_argument(
        "--image-shape", metavar="HxW", help="show each row as an HxW (or HxWxC) image in the report"
    )
    inputs.add_argument(
        "--demo", action="store_true", help="audit scikit-learn's digits with injected label noise"
    )
    model = audit.add_argument_group("model (used when --pred-probs is not given)")
    model.add_argument(
        "--model",
        choices=MODELS,
        default=MODELS[0],
        help="classifier for cross-validation (default: %(default)s)",
    )
    model.add_argument(
        "--folds",
        type=int,
        default=5,
        help="number of stratified cross-validation folds (default: %(default)s)",
    )
    model.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed for fold assignment and models (default: %(default)s)",
    )
    found = audit.add_argument_group("issues")
    found.add_argument(
        "--filter-by",
        choices=FILTER_BY,
        default=FILTER_BY[0],
        help="how issues are flagged (default: %(default)s)",
    )
    found.add_argument(
        "--rank-by",
        choices=RANK_BY,
        default=RANK_BY[0],
        help="label quality score used to rank issues (default: %(default)s)",
    )
    found.add_argument(
        "--top",
        type=int,
        default=20,
        help="number of issues shown on the console and in the report (default: %(default)s)",
    )
    outputs = audit.add_argument_group("output")
    outputs.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        type=Path,
        help="write all issues, ranked, to FILE (.csv or .parquet)",
    )
    outputs.add_argument(
        "--report", metavar="FILE", type=Path, help="write a self-contained HTML report to FILE"
    )
    outputs.add_argument("--quiet", "-q", action="store_true", help="no progress bars or status messages")
    audit.set_defaults(handler=_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        args.handler(args)
    except LabelsieveError as exc:
        _fail(f"labelsieve {args.command}: error: {exc}")
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader of stdout went away (``| head``); results files are already written.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        _fail(f"labelsieve {args.command}: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _fail(f"labelsieve {args.command}: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        traceback.print_exc()
        _fail(
            f"labelsieve {args.command}: internal error: {type(exc).__name__}: {exc} (please report this bug)"
        )
        return EXIT_INTERNAL
    return EXIT_OK


def _audit(args: argparse.Namespace) -> None:
    from labelsieve.audit.data import load_dataset, parse_image_shape
    from labelsieve.audit.errors import AuditInputError
    from labelsieve.audit.options import AuditOptions, check_options

    options = AuditOptions(
        model=args.model,
        folds=args.folds,
        seed=args.seed,
        filter_by=args.filter_by,
        rank_by=args.rank_by,
        top=args.top,
        output=args.output,
        report=args.report,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    check_options(options)
    if args.demo:
        if args.data or args.labels or args.pred_probs or args.label_column:
            raise AuditInputError(
                "--demo uses its own data: drop DATA, --labels, --pred-probs and --label-column"
            )
        from labelsieve.audit.demo import run_demo

        run_demo(options)
        return
    if args.data is None and args.pred_probs is None:
        raise AuditInputError("give a DATA file (or --pred-probs with --labels, or --demo)")
    class_names = None
    if args.class_names is not None:
        class_names = [name.strip() for name in args.class_names.split(",")]
    dataset = load_dataset(
        args.data,
        label_column=args.label_column,
        labels_path=args.labels,
        pred_probs_path=args.pred_probs,
        id_column=args.id_column,
        class_names=class_names,
        image_shape=parse_image_shape(args.image_shape) if args.image_shape else None,
    )
    # Imported only now: scikit-learn is not needed to reject bad input.
    from labelsieve.audit.pipeline import run_audit

    run_audit(dataset, options)


def _fail(message: str) -> None:
    print(" ".join(message.split()), file=sys.stderr)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("labelsieve")
    except PackageNotFoundError:
        return "unknown"


__all__ = ["build_parser", "main"]
