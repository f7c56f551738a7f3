"""labelsieve: find label errors in classification datasets with Confident Learning.

A drop-in for cleanlab 2.9's core (``import labelsieve as cleanlab``): ``count``, ``filter``,
``rank``, ``dataset``, ``benchmarking.noise_generation`` and ``classification.CleanLearning`` with
the same names, arguments and answers, computed by Rust kernels (or by the pure-NumPy reference
twin: ``labelsieve.set_backend("python")``).
"""

from __future__ import annotations

import importlib
from typing import Any

from labelsieve import count, exceptions, filter, internal, rank
from labelsieve._backend import backend, get_backend, set_backend
from labelsieve._validation import set_row_sum_tolerance

__version__ = "0.1.0"

_LAZY = {"benchmarking", "classification", "dask", "dataset", "noise_generation", "experimental", "cli"}


def __getattr__(name: str) -> Any:
    # sklearn-heavy modules load on first use so `import labelsieve` stays fast.
    if name in _LAZY:
        module = importlib.import_module(f"labelsieve.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'labelsieve' has no attribute {name!r}")


def set_num_threads(n: int | None) -> None:
    """Default thread count of every kernel called with ``n_jobs=None`` (None = all cores)."""
    from labelsieve import _backend as _b

    if _b.get_backend() == "rust":
        _b.kernels().set_num_threads_default(n)


__all__ = [
    "backend",
    "benchmarking",
    "classification",
    "count",
    "dask",
    "dataset",
    "exceptions",
    "filter",
    "get_backend",
    "internal",
    "noise_generation",
    "rank",
    "set_backend",
    "set_num_threads",
    "set_row_sum_tolerance",
]
