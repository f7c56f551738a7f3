"""Type stubs of ``labelsieve._native``, the Rust kernel set.

``labelsieve._reference`` exposes the same functions with the same signatures in pure NumPy; the
two must return equal results and raise the same exception types. Only ``labelsieve._backend``
imports either. Public functions validate argument types, shapes and labels before calling a
kernel; kernels validate the *contents* of ``pred_probs`` (finite, in [0, 1], rows summing to 1
within ``row_sum_tol``) and raise ``labelsieve.exceptions.PredProbsError`` naming the first bad row.

Conventions shared by every kernel:

* ``labels``: 1-D integer array (any int/uint dtype), values already checked to be in ``0..K-1``.
* ``pred_probs``: 2-D float16/float32/float64 array, any strides, read in place; every value is
  converted to float64 before any arithmetic.
* ``n_jobs``: number of threads, ``None`` = all cores. Results never depend on it.
* Ties in every selection or ordering are broken by the lower row index.
* ``thresholds`` are per-class confident thresholds: ``t_k`` = mean of ``pred_probs[i, k]`` over
  rows with ``labels[i] == k``, where the sum is exact (each value truncated to a multiple of
  2**-87, summed as an integer, rounded once to float64), divided by the class count; classes
  absent from ``labels`` get 2.0; then clipped below at 2e-6.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

__version__: str

def set_num_threads_default(n: int | None) -> None:
    """Default thread count used when a kernel gets ``n_jobs=None`` (None = all cores)."""

def check_pred_probs(pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None) -> None:
    """Raise PredProbsError on the first row with a non-finite, negative, > 1 + 1e-6 value or a sum
    further than ``row_sum_tol`` from 1."""

def label_range(labels: NDArray[Any], n_jobs: int | None = None) -> tuple[int, int] | None:
    """``(min, max)`` of any 1-D integer or bool labels (values beyond the int64 range saturate),
    ``None`` when empty; one pass. Unlike the other kernels, labels need not be checked first."""

def confident_thresholds(
    labels: NDArray[Any], pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None
) -> NDArray[np.float64]:
    """Per-class confident thresholds (see module docstring), shape (K,)."""

def confident_joint(
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    thresholds: NDArray[np.float64] | None,
    calibrate: bool,
    return_indices: bool,
    row_sum_tol: float,
    n_jobs: int | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64] | None]:
    """cleanlab's confident joint (rows = given label, columns = guessed true label) and, when
    ``return_indices``, the sorted indices of the off-diagonal rows of the *uncalibrated* assignment.
    ``thresholds=None`` computes them."""

def confident_joint_and_issues(
    labels: NDArray[Any], pred_probs: NDArray[Any], calibrate: bool, row_sum_tol: float, n_jobs: int | None
) -> tuple[NDArray[np.int64], int]:
    """The confident joint (calibrated when ``calibrate``) and the number of rows
    ``filter_by="confident_learning"`` flags, from the same passes (Rust backend only)."""

def calibrate_confident_joint(
    confident_joint: NDArray[np.int64], label_counts: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Rescale rows to the label counts and round preserving row totals (cleanlab 2.3)."""

def estimate_latent(
    confident_joint: NDArray[np.int64], label_counts: NDArray[np.int64], py_method: str, converge: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(py, noise_matrix, inverse_noise_matrix) from a confident joint (cleanlab 2.6, 2.7)."""

def argmax_confusion(
    labels: NDArray[Any], pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None
) -> NDArray[np.int64]:
    """(K, K) counts of (given label, argmax of pred_probs)."""

def label_issues(
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    filter_by: str,
    frac_noise: float,
    num_to_remove_per_class: NDArray[np.int64] | None,
    min_examples_per_class: int,
    confident_joint: NDArray[np.int64] | None,
    row_sum_tol: float,
    n_jobs: int | None,
) -> tuple[NDArray[np.bool_], list[int]]:
    """Boolean issue mask of ``filter.find_label_issues`` (single label) and the classes that had
    too few examples to prune (the caller warns about them)."""

def predicted_neq_given(
    labels: NDArray[Any], pred_probs: NDArray[Any], row_sum_tol: float, n_jobs: int | None
) -> NDArray[np.bool_]:
    """``argmax(pred_probs, axis=1) != labels``."""

def label_quality_scores(
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    method: str,
    thresholds: NDArray[np.float64] | None,
    row_sum_tol: float,
    n_jobs: int | None,
) -> NDArray[np.float64]:
    """Per-example scores; ``thresholds`` given means adjust_pred_probs with those thresholds."""

def order_label_issues(
    mask: NDArray[np.bool_],
    labels: NDArray[Any],
    pred_probs: NDArray[Any],
    method: str,
    thresholds: NDArray[np.float64] | None,
    row_sum_tol: float | None,
    n_jobs: int | None,
) -> NDArray[np.int64]:
    """Indices of ``mask`` sorted by ascending score, ties by index; ``row_sum_tol`` None: the
    caller has just validated ``pred_probs``."""

def smallest_indices(scores: NDArray[np.float64], top: int) -> NDArray[np.int64]:
    """Indices of the ``top`` smallest scores in ascending order, ties by index."""

def compute_py(
    ps: NDArray[np.float64],
    noise_matrix: NDArray[np.float64],
    inverse_noise_matrix: NDArray[np.float64],
    py_method: str,
    true_labels_class_counts: NDArray[np.float64] | None,
) -> NDArray[np.float64]: ...
def compute_inv_noise_matrix(
    py: NDArray[np.float64], noise_matrix: NDArray[np.float64], ps: NDArray[np.float64] | None
) -> NDArray[np.float64]: ...
def compute_noise_matrix_from_inverse(
    ps: NDArray[np.float64], inverse_noise_matrix: NDArray[np.float64], py: NDArray[np.float64] | None
) -> NDArray[np.float64]: ...
def compute_py_inv_noise_matrix(
    ps: NDArray[np.float64], noise_matrix: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def compute_pyx(
    pred_probs: NDArray[Any],
    noise_matrix: NDArray[np.float64],
    inverse_noise_matrix: NDArray[np.float64],
    n_jobs: int | None,
) -> NDArray[np.float64]: ...

# ---------------------------------------------------------------------------------------------
# Mergeable accumulators (streaming and distributed Confident Learning).
#
# Each accumulator sees the rows in batches (any split, any order), merges with others of its kind
# exactly, and pickles (``pickle.dumps`` / ``copy.deepcopy`` work; the state is a few arrays), so
# the same passes run over memory-mapped files, zarr arrays or Dask chunks on remote workers. The
# finished result equals the in-memory kernel's on the concatenated rows, whatever the split.
# ``offset`` is the global index of a batch's first row: errors name global rows and selectors
# return global indices. Labels must already be checked to lie in ``0..K-1``.
# ---------------------------------------------------------------------------------------------

class ThresholdAccumulator:
    """Pass 1: validates every row (PredProbsError naming the first bad global row of the batch)
    and sums, per class, the given-label probability exactly, and counts the labels."""

    def __init__(self, num_class: int) -> None: ...
    @property
    def num_class(self) -> int: ...
    @property
    def n_rows(self) -> int:
        """Rows accumulated so far."""
    def update(
        self,
        labels: NDArray[Any],
        pred_probs: NDArray[Any],
        offset: int,
        row_sum_tol: float,
        n_jobs: int | None,
    ) -> None: ...
    def merge(self, other: ThresholdAccumulator) -> None:
        """Add ``other``'s rows to this accumulator (in place)."""
    def thresholds(self) -> NDArray[np.float64]:
        """Equal to ``confident_thresholds`` on all accumulated rows."""
    def label_counts(self) -> NDArray[np.int64]:
        """``np.bincount(labels, minlength=K)`` over all accumulated rows."""
    def __reduce__(self) -> tuple[Any, ...]: ...

class JointAccumulator:
    """Pass 2: counts of (given label, guessed true label) for fixed ``thresholds``, the label
    counts and cleanlab's ``off_diagonal`` issue count (rows ``confident_learning`` flags)."""

    def __init__(self, thresholds: NDArray[np.float64]) -> None: ...
    @property
    def num_class(self) -> int: ...
    @property
    def num_issues(self) -> int:
        """Rows flagged by ``filter_by="confident_learning"`` so far."""
    def update(
        self, labels: NDArray[Any], pred_probs: NDArray[Any], return_flags: bool, n_jobs: int | None
    ) -> NDArray[np.bool_] | None:
        """Accumulate a batch (rows not re-validated). With ``return_flags``, also return the batch's
        ``confident_learning`` mask."""
    def merge(self, other: JointAccumulator) -> None: ...
    def confident_joint(self, calibrate: bool) -> NDArray[np.int64]:
        """Equal to ``confident_joint(labels, pred_probs, thresholds, calibrate, ...)[0]`` on all rows
        (diagonal at least 1; calibrated against the accumulated label counts)."""
    def label_counts(self) -> NDArray[np.int64]: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

class ScoreSelector:
    """Keeps the ``num`` lowest label quality scores (``method`` as in ``label_quality_scores``;
    ``thresholds`` given = adjust_pred_probs) and their global indices, ties to the lower index."""

    def __init__(
        self, method: str, thresholds: NDArray[np.float64] | None, num_class: int, num: int
    ) -> None: ...
    def update(
        self, labels: NDArray[Any], pred_probs: NDArray[Any], offset: int, n_jobs: int | None
    ) -> None: ...
    def merge(self, other: ScoreSelector) -> None: ...
    def indices(self) -> NDArray[np.int64]:
        """Selected global indices by ascending (score, index); equal to ``smallest_indices`` of the
        scores of all rows."""
    def __reduce__(self) -> tuple[Any, ...]: ...

class PruneSelector:
    """Pass 3 of ``prune_by_noise_rate`` / ``prune_by_class`` / ``both``: the per-class and per-cell
    top-n selections planned from a (calibrated) confident joint, exactly as ``label_issues``."""

    def __init__(
        self,
        confident_joint: NDArray[np.int64],
        label_counts: NDArray[np.int64],
        filter_by: str,
        frac_noise: float,
        num_to_remove_per_class: NDArray[np.int64] | None,
        min_examples_per_class: int,
    ) -> None: ...
    @property
    def too_few(self) -> list[int]:
        """Classes skipped for having too few examples (as ``label_issues`` returns them)."""
    def update(
        self, labels: NDArray[Any], pred_probs: NDArray[Any], offset: int, n_jobs: int | None
    ) -> None: ...
    def merge(self, other: PruneSelector) -> None: ...
    def indices(self) -> NDArray[np.int64]:
        """Flagged global indices, ascending, after the argmax veto: ``np.flatnonzero`` of
        ``label_issues(...)[0]`` on all rows."""
    def __reduce__(self) -> tuple[Any, ...]: ...
