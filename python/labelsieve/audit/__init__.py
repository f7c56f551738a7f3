"""`labelsieve audit`: load a dataset, get out-of-sample pred_probs, find and report label issues.

One concept per module: ``options`` (choices and checks), ``data`` (loading files), ``model``
(cross-validated pred_probs), ``findings`` (Confident Learning results), ``summary`` (console
tables), ``report`` and ``png`` (the self-contained HTML report), ``pipeline`` (one audit run) and
``demo`` (noisy digits). Submodules load on first use so the command line starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AuditInputError": "labelsieve.audit.errors",
    "AuditOptions": "labelsieve.audit.options",
    "AuditOutcome": "labelsieve.audit.pipeline",
    "Dataset": "labelsieve.audit.data",
    "load_dataset": "labelsieve.audit.data",
    "run_audit": "labelsieve.audit.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'labelsieve.audit' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
