"""Pure-NumPy reference kernels: the readable twin of the Rust kernels and the checking oracle.

Same functions, signatures and results as ``labelsieve._native`` (see ``_native.pyi``); every
result equals cleanlab 2.9.0's on the inputs cast to float64. Ties in selections go to the lower
row index.
"""

from __future__ import annotations

from labelsieve._reference.batched import JointAccumulator, PruneSelector, ScoreSelector, ThresholdAccumulator
from labelsieve._reference.count import (
    argmax_confusion,
    calibrate_confident_joint,
    confident_joint,
    confident_thresholds,
    estimate_latent,
)
from labelsieve._reference.filter import label_issues, predicted_neq_given
from labelsieve._reference.latent import (
    compute_inv_noise_matrix,
    compute_noise_matrix_from_inverse,
    compute_py,
    compute_py_inv_noise_matrix,
    compute_pyx,
)
from labelsieve._reference.rank import label_quality_scores, order_label_issues, smallest_indices
from labelsieve._reference.validate import check_pred_probs, label_range

__version__ = "0.1.0"


def set_num_threads_default(n: int | None) -> None:
    """No-op: the reference kernels are single-threaded; kept for signature parity with ``_native``."""


__all__ = [
    "JointAccumulator",
    "PruneSelector",
    "ScoreSelector",
    "ThresholdAccumulator",
    "__version__",
    "argmax_confusion",
    "calibrate_confident_joint",
    "check_pred_probs",
    "compute_inv_noise_matrix",
    "compute_noise_matrix_from_inverse",
    "compute_py",
    "compute_py_inv_noise_matrix",
    "compute_pyx",
    "confident_joint",
    "confident_thresholds",
    "estimate_latent",
    "label_issues",
    "label_quality_scores",
    "label_range",
    "order_label_issues",
    "predicted_neq_given",
    "set_num_threads_default",
    "smallest_indices",
]
