"""Chooses the kernel set: the Rust extension (default) or the pure-NumPy reference twin.

This is the only module that imports ``labelsieve._native``. Select the twin with the environment
variable ``LABELSIEVE_BACKEND=python`` or ``labelsieve.set_backend("python")``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

_NAMES = {"rust": "labelsieve._native", "python": "labelsieve._reference"}
_current: str = os.environ.get("LABELSIEVE_BACKEND", "rust").strip().lower() or "rust"
if _current not in _NAMES:
    raise ValueError(f"LABELSIEVE_BACKEND must be one of {sorted(_NAMES)}, but it is {_current!r}.")


def set_backend(name: str) -> None:
    """Use the ``"rust"`` kernels (default) or the ``"python"`` (pure NumPy) reference kernels."""
    global _current
    if name not in _NAMES:
        raise ValueError(f"backend must be one of {sorted(_NAMES)}, but it is {name!r}.")
    importlib.import_module(_NAMES[name])
    _current = name


def get_backend() -> str:
    """Name of the kernel set in use: ``"rust"`` or ``"python"``."""
    return _current


@contextlib.contextmanager
def backend(name: str) -> Iterator[None]:
    """Context manager that switches the kernel set for the duration of a ``with`` block."""
    previous = _current
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def kernels() -> ModuleType:
    """The module implementing the kernel set in use (see ``_native.pyi`` for its functions)."""
    return importlib.import_module(_NAMES[_current])
