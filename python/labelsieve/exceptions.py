"""Exceptions raised by labelsieve.

Every class subclasses ``ValueError`` or ``TypeError`` so code written for cleanlab
(``except ValueError``) keeps working. Messages name the argument, what was expected and what
was found.
"""

from __future__ import annotations

import numpy as np


class LabelsieveError(Exception):
    """Base class of every labelsieve exception."""


class InvalidInputError(LabelsieveError, ValueError):
    """An argument has the right type but an invalid value or shape."""


class PredProbsError(InvalidInputError):
    """``pred_probs`` is not an (N, K) array of probabilities (NaN, inf, negative, > 1, rows not summing to 1)."""


class LabelsError(InvalidInputError):
    """``labels`` are not integers in ``0..K-1`` (or are empty, or have one class where two are needed)."""


class InvalidDtypeError(LabelsieveError, TypeError):
    """An argument has the wrong type or dtype (for example integer ``pred_probs``)."""


class SingularMatrixError(InvalidInputError, np.linalg.LinAlgError):
    """A noise matrix that must be inverted is singular (numpy's ``LinAlgError`` in cleanlab)."""


__all__ = [
    "InvalidDtypeError",
    "InvalidInputError",
    "LabelsError",
    "LabelsieveError",
    "PredProbsError",
    "SingularMatrixError",
]
