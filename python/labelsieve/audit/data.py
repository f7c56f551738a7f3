"""Loads what `labelsieve audit` examines: features, labels and optional pred_probs from user files.

Supported inputs: CSV and Parquet tables (a label column, other columns are features), ``.npz``
archives (features and labels under keys such as ``X``/``y`` or ``features``/``labels``), ``.npy``
feature arrays with a separate ``--labels`` file, and ``--pred-probs`` with ``--labels`` when
out-of-sample probabilities already exist. Labels may be integers or strings; they are encoded to
``0..K-1`` with the class names kept for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelsieve.audit.errors import AuditInputError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
ARRAY_SUFFIXES = (".npy", ".npz")
LABEL_COLUMN_GUESSES = ("label", "labels", "y", "target", "class")
FEATURE_KEYS = ("x", "features", "data", "images", "inputs")
LABEL_KEYS = ("y", "labels", "label", "targets", "target")
PRED_PROBS_KEYS = ("pred_probs", "probs", "probabilities")


@dataclass
class Dataset:
    """Everything the audit needs about one dataset, labels already encoded to ``0..K-1``."""

    labels: np.ndarray
    """``(N,)`` int64 class indices."""
    class_names: list[str]
    """``K`` display names; ``class_names[k]`` is the name of class index ``k``."""
    features: pd.DataFrame | np.ndarray | None
    """A DataFrame of feature columns, a 2-D numeric array, or None (pred_probs-only audits)."""
    row_ids: np.ndarray
    """``(N,)`` values that identify each row in the issue table (an id column or the 0-based row)."""
    pred_probs: np.ndarray | None = None
    """``(N, K)`` out-of-sample predicted probabilities if the user supplied them."""
    images: np.ndarray | None = None
    """``(N, H, W)`` or ``(N, H, W, C)`` pixel arrays when the features are images, for the report."""
    source: str = ""
    """Short description of where the data came from, for the console and report."""

    @property
    def num_examples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_dataset(
    data: str | Path | None,
    *,
    label_column: str | None = None,
    labels_path: str | Path | None = None,
    pred_probs_path: str | Path | None = None,
    id_column: str | None = None,
    class_names: Sequence[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
) -> Dataset:
    """Read the user's files into a :class:`Dataset`; raises :class:`AuditInputError` on bad input."""
    if data is None and pred_probs_path is None:
        raise AuditInputError("give a DATA file, or --pred-probs P.npy with --labels L.npy")
    pred_probs = _read_pred_probs(Path(pred_probs_path)) if pred_probs_path is not None else None
    num_classes = None if pred_probs is None else int(pred_probs.shape[1])

    features: pd.DataFrame | np.ndarray | None = None
    raw_labels: Any = None
    labels_what = "labels"
    row_ids: np.ndarray | None = None
    source = ""
    if data is not None:
        path = _existing_file(Path(data), "DATA")
        source = path.name
        suffix = path.suffix.lower()
        if suffix in TABLE_SUFFIXES:
            table = _read_table(path)
            features, raw_labels, row_ids, labels_what = _split_table(
                table, path, label_column=label_column, id_column=id_column, need_labels=labels_path is None
            )
        elif suffix == ".npz":
            features, raw_labels, npz_pred_probs = _read_npz(path)
            if npz_pred_probs is not None and pred_probs is None:
                pred_probs = npz_pred_probs
                num_classes = int(pred_probs.shape[1])
            labels_what = f"labels in {path.name}"
        elif suffix == ".npy":
            features = _load_npy(path, "DATA")
        else:
            raise AuditInputError(
                f"cannot read {path.name}: DATA must be .csv, .tsv, .parquet, .npz or .npy, found {suffix or 'no extension'!r}"
            )
    if labels_path is not None:
        raw_labels, labels_what = _read_labels_file(Path(labels_path), label_column)
        source = source or Path(labels_path).name
    if raw_labels is None:
        raise AuditInputError("no labels: pass --labels L.npy (or a DATA table with --label-column)")

    labels, names = encode_labels(
        raw_labels, what=labels_what, num_classes=num_classes, class_names=class_names
    )
    n = labels.shape[0]
    if pred_probs is not None and pred_probs.shape[0] != n:
        raise AuditInputError(
            f"pred_probs has {pred_probs.shape[0]} rows but there are {n} labels; they must describe the same examples"
        )
    if features is not None and len(features) != n:
        raise AuditInputError(f"features have {len(features)} rows but there are {n} labels")
    if features is None and pred_probs is None:
        raise AuditInputError("no features to train a model on: give a DATA file or --pred-probs")

    images = None
    if isinstance(features, np.ndarray):
        features, images = _split_images(features, image_shape)
    elif isinstance(features, pd.DataFrame) and image_shape is not None:
        _, images = _split_images(_numeric_matrix(features), image_shape)
    if features is not None and pred_probs is None and _num_columns(features) == 0:
        raise AuditInputError(
            "no feature columns left after removing the label column; pass --pred-probs instead"
        )
    if row_ids is None:
        row_ids = np.arange(n)
    return Dataset(
        labels=labels,
        class_names=names,
        features=features,
        row_ids=row_ids,
        pred_probs=pred_probs,
        images=images,
        source=source,
    )


def encode_labels(
    raw: Any,
    *,
    what: str = "labels",
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Encode integer or string labels to ``0..K-1`` and return ``(codes, class_names)``.

    With ``num_classes`` (the pred_probs width) integer labels are taken as column indices and string
    labels must name exactly that many classes (sorted order, or the order of ``class_names``).
    """
    array = raw.to_numpy() if isinstance(raw, pd.Series) else np.asarray(raw)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise AuditInputError(f"{what} must be one label per example, found shape {array.shape}")
    values = pd.Series(array)
    n = len(values)
    if n == 0:
        raise AuditInputError(f"{what} is empty")
    missing = values.isna().to_numpy()
    if missing.any():
        rows = ", ".join(str(i) for i in np.flatnonzero(missing)[:5])
        raise AuditInputError(
            f"{what} has {int(missing.sum())} missing values (rows {rows}{', ...' if missing.sum() > 5 else ''})"
        )

    names = [str(c) for c in class_names] if class_names is not None else None
    if names is not None and len(set(names)) != len(names):
        raise AuditInputError("--class-names contains duplicates")
    if names is not None and num_classes is not None and len(names) != num_classes:
        raise AuditInputError(
            f"--class-names gives {len(names)} names but pred_probs has {num_classes} columns"
        )

    integer_values = _as_integers(values)
    if (
        integer_values is None
        and pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
    ):
        example = next(v for v in values if float(v) != int(float(v)))
        raise AuditInputError(
            f"{what} holds non-integer numbers (e.g. {example}); class labels must be integers or strings"
        )
    width = num_classes if num_classes is not None else (len(names) if names is not None else None)
    if integer_values is not None and width is not None:
        # With pred_probs (or explicit names) integer labels are column indices: never re-number them.
        bad = (integer_values < 0) | (integer_values >= width)
        if bad.any():
            raise AuditInputError(
                f"{what} must be class indices in 0..{width - 1} to match {width} classes, found {integer_values[bad][0]}"
            )
        codes = integer_values
        names = names if names is not None else [str(k) for k in range(width)]
    else:
        text = values.astype(str).to_numpy()
        if names is None:
            if integer_values is not None:
                uniques = np.unique(integer_values)
                names = [str(v) for v in uniques]
                codes = np.searchsorted(uniques, integer_values)
            else:
                uniques_text = np.unique(text)
                names = [str(v) for v in uniques_text]
                codes = np.searchsorted(uniques_text, text)
            if num_classes is not None and len(names) != num_classes:
                raise AuditInputError(
                    f"{what} has {len(names)} distinct classes but pred_probs has {num_classes} columns; "
                    "pass --class-names to say which class each column is"
                )
        else:
            index = {name: k for k, name in enumerate(names)}
            unknown = sorted(set(text) - set(index))
            if unknown:
                raise AuditInputError(f"{what} contains {unknown[0]!r}, which is not in --class-names")
            codes = np.array([index[t] for t in text], dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    present = np.unique(codes).size
    if present < 2:
        raise AuditInputError(
            f"{what} has only one class ({names[int(codes[0])]!r}); an audit needs at least 2"
        )
    if num_classes is None and class_names is None and n >= 20 and len(names) > n // 2:
        raise AuditInputError(
            f"{what} has {len(names)} distinct values in {n} rows, which does not look like a class label"
        )
    return codes, names


def parse_image_shape(text: str) -> tuple[int, ...]:
    """Parse ``HxW`` or ``HxWxC`` (``--image-shape``)."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1 or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
        raise AuditInputError(f"--image-shape must look like 8x8 or 32x32x3, found {text!r}")
    return shape


def _as_integers(values: pd.Series) -> np.ndarray | None:
    """The labels as int64 if they are all integer-valued numbers, else None."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    array = values.to_numpy()
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    floats = array.astype(np.float64)
    if not np.all(np.isfinite(floats)) or not np.all(floats == np.round(floats)):
        return None
    return floats.astype(np.int64)


def _existing_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise AuditInputError(f"{what} file not found: {path}")
    if not path.is_file():
        raise AuditInputError(f"{what} is not a file: {path}")
    return path


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except ImportError as exc:
        raise AuditInputError(
            f"reading {path.name} needs pyarrow: pip install 'labelsieve[parquet]'"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise AuditInputError(f"{path.name} is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AuditInputError(f"cannot read {path.name}: {first_line}") from exc
    if len(table) == 0:
        raise AuditInputError(f"{path.name} has no rows")
    table.columns = [str(c) for c in table.columns]
    return table


def _split_table(
    table: pd.DataFrame,
    path: Path,
    *,
    label_column: str | None,
    id_column: str | None,
    need_labels: bool,
) -> tuple[pd.DataFrame, Any, np.ndarray | None, str]:
    """Split a table into (features, raw labels, row ids, description of the labels)."""
    columns = list(table.columns)
    if label_column is None and need_labels:
        guesses = [c for c in columns if c.lower() in LABEL_COLUMN_GUESSES]
        if len(guesses) != 1:
            raise AuditInputError(
                f"pass --label-column NAME to say which column of {path.name} holds the labels {_list_columns(columns)}"
            )
        label_column = guesses[0]
    for option, column in (("--label-column", label_column), ("--id-column", id_column)):
        if column is not None and column not in table.columns:
            raise AuditInputError(
                f"{option}: column {column!r} not found in {path.name} {_list_columns(columns)}"
            )
    row_ids = None if id_column is None else table[id_column].to_numpy()
    raw_labels = None if label_column is None else table[label_column]
    features = table.drop(columns=[c for c in (label_column, id_column) if c is not None])
    return features, raw_labels, row_ids, f"label column {label_column!r}"


def _list_columns(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:12])
    return f"(columns: {shown}{', ...' if len(columns) > 12 else ''})"


def _load_npy(path: Path, what: str) -> np.ndarray:
    _existing_file(path, what)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise AuditInputError(
            f"cannot read {path.name}: {str(exc).splitlines()[0]} (object arrays are not loaded; save numbers or strings)"
        ) from exc
    except OSError as exc:
        raise AuditInputError(f"cannot read {path.name}: {exc}") from exc
    if isinstance(array, np.lib.npyio.NpzFile):
        raise AuditInputError(f"{path.name} is an .npz archive; rename it to .npz")
    return np.asarray(array)


def _read_npz(path: Path) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(features, labels, pred_probs) from an ``.npz`` archive, looked up by conventional key names."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise AuditInputError(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise AuditInputError(f"{path.name} is not an .npz archive")
    with archive:
        by_name = {key.lower(): key for key in archive.files}

        def pick(candidates: Sequence[str]) -> np.ndarray | None:
            for candidate in candidates:
                if candidate in by_name:
                    try:
                        return np.asarray(archive[by_name[candidate]])
                    except ValueError as exc:
                        raise AuditInputError(
                            f"cannot read {by_name[candidate]!r} in {path.name}: object arrays are not loaded"
                        ) from exc
            return None

        features, labels, pred_probs = pick(FEATURE_KEYS), pick(LABEL_KEYS), pick(PRED_PROBS_KEYS)
    if features is None and pred_probs is None:
        raise AuditInputError(
            f"{path.name} has no features: expected a key named X, features or data (keys: {', '.join(archive.files)})"
        )
    if pred_probs is not None:
        pred_probs = _check_pred_probs(pred_probs, f"pred_probs in {path.name}")
    return features, labels, pred_probs


def _read_labels_file(path: Path, label_column: str | None) -> tuple[Any, str]:
    path = _existing_file(path, "--labels")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _load_npy(path, "--labels"), f"labels in {path.name}"
    if suffix in TABLE_SUFFIXES:
        table = _read_table(path)
        if label_column is None:
            if table.shape[1] != 1:
                raise AuditInputError(f"{path.name} has {table.shape[1]} columns: pass --label-column NAME")
            label_column = str(table.columns[0])
        if label_column not in table.columns:
            raise AuditInputError(
                f"--label-column: column {label_column!r} not found in {path.name} {_list_columns(list(table.columns))}"
            )
        return table[label_column], f"label column {label_column!r}"
    if suffix == ".txt":
        return pd.read_csv(path, header=None).iloc[:, 0], f"labels in {path.name}"
    raise AuditInputError(f"--labels must be .npy, .csv, .parquet or .txt, found {path.name}")


def _read_pred_probs(path: Path) -> np.ndarray:
    _existing_file(path, "--pred-probs")
    if path.suffix.lower() == ".npz":
        _, _, pred_probs = _read_npz(path)
        if pred_probs is None:
            raise AuditInputError(f"{path.name} has no 'pred_probs' array")
        return pred_probs
    if path.suffix.lower() != ".npy":
        raise AuditInputError(f"--pred-probs must be an .npy or .npz file, found {path.name}")
    return _check_pred_probs(_load_npy(path, "--pred-probs"), path.name)


def _check_pred_probs(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim != 2 or array.shape[1] < 2:
        raise AuditInputError(
            f"{what} must be a 2-D array (examples x classes, at least 2 classes), found shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise AuditInputError(f"{what} must hold real numbers, found dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise AuditInputError(f"{what} contains NaN or infinite values")
    if array.size and (array.min() < -1e-6 or array.max() > 1 + 1e-6):
        raise AuditInputError(
            f"{what} values must be probabilities in [0, 1], found {array.min():.4g}..{array.max():.4g}"
        )
    return array


def _split_images(
    features: np.ndarray, image_shape: tuple[int, ...] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(2-D model features, images or None) from a feature array that may hold images."""
    if features.ndim < 1 or features.shape[0] == 0:
        raise AuditInputError(f"features must have one row per example, found shape {features.shape}")
    if not np.issubdtype(features.dtype, np.number) and features.dtype != np.bool_:
        raise AuditInputError(f"feature arrays must be numeric, found dtype {features.dtype}")
    flat = features.reshape(features.shape[0], -1) if features.ndim != 2 else features
    images = None
    if image_shape is not None:
        if int(np.prod(image_shape)) != flat.shape[1]:
            raise AuditInputError(
                f"--image-shape {'x'.join(map(str, image_shape))} needs {int(np.prod(image_shape))} values per row, found {flat.shape[1]}"
            )
        images = flat.reshape((flat.shape[0], *image_shape))
    elif features.ndim == 3 or (features.ndim == 4 and features.shape[3] in (1, 3, 4)):
        images = features
    return flat, images


def _numeric_matrix(table: pd.DataFrame) -> np.ndarray:
    try:
        return table.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AuditInputError("--image-shape needs every feature column to be numeric") from exc


def _num_columns(features: pd.DataFrame | np.ndarray) -> int:
    return int(features.shape[1]) if features.ndim > 1 else 0


__all__ = ["Dataset", "encode_labels", "load_dataset", "parse_image_shape"]
