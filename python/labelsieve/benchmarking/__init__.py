"""Tools for benchmarking label-error detection: synthetic label noise (cleanlab.benchmarking)."""

from labelsieve.benchmarking import noise_generation

__all__ = ["noise_generation"]
