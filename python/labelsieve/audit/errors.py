"""The error `labelsieve audit` raises for bad user input (the CLI turns it into exit code 2)."""

from __future__ import annotations

from labelsieve.exceptions import InvalidInputError


class AuditInputError(InvalidInputError):
    """A file, column, label or option given to ``labelsieve audit`` cannot be used; the message says why."""


__all__ = ["AuditInputError"]
