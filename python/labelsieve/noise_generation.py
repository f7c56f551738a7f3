"""Alias of :mod:`labelsieve.benchmarking.noise_generation`, so ``labelsieve.noise_generation`` works too."""

from labelsieve.benchmarking.noise_generation import *  # noqa: F403
