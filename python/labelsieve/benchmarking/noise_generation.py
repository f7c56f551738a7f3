"""Synthetic label noise for benchmarking label-error detection.

Generates noise matrices ``P(given label s | true label y)`` with a chosen trace, checks whether a
noise matrix is *learnable* for a class prior, and flips true labels into noisy labels so that the
empirical noise matrix matches the requested one. The public functions have cleanlab 2.9's names,
arguments, defaults, results and error messages.

Deliberate difference from cleanlab: no function here reads or changes numpy's global random state.
Each random function takes a keyword-only ``seed`` (an ``int``, ``None`` or a
``numpy.random.Generator``) and draws from ``numpy.random.default_rng(seed)``; passing a Generator
draws from (and advances) that Generator. Results are therefore reproducible per seed, but they are
not the same numbers cleanlab draws from the legacy global ``RandomState``.
"""

from __future__ import annotations

import numbers

import numpy as np
import numpy.typing as npt

from labelsieve.exceptions import InvalidDtypeError, InvalidInputError

__all__ = [
    "generate_n_rand_probabilities_that_sum_to_m",
    "generate_noise_matrix_from_trace",
    "generate_noisy_labels",
    "noise_matrix_is_valid",
    "randomly_distribute_N_balls_into_K_bins",
]

SeedLike = int | np.integer | np.random.Generator | None
"""What every ``seed`` argument accepts: an int, ``None`` (fresh OS entropy) or a Generator."""

# cleanlab compares floating-point sums and bounds with this tolerance (FLOATING_POINT_COMPARISON).
_TOL = 1e-6
# Scale of the quantities printed by ``noise_matrix_is_valid(verbose=True)``, as in cleanlab.
_VERBOSE_N = 10000


def _rng(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidDtypeError(
            f"seed must be an int, None or a numpy.random.Generator, but got {type(seed).__name__}."
        )
    if seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, but seed = {seed}.")
    return np.random.default_rng(int(seed))


def _check_int(value: object, name: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidDtypeError(f"{name} must be an int, but got {type(value).__name__} ({value!r}).")
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, but {name} = {value}.")
    return int(value)


def _check_real(value: object, name: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidDtypeError(f"{name} must be a real number, but got {type(value).__name__} ({value!r}).")
    result = float(value)
    if not np.isfinite(result):
        raise InvalidInputError(f"{name} must be finite, but {name} = {result}.")
    if (low is not None and result < low) or (high is not None and result > high):
        raise InvalidInputError(f"{name} must be in [{low}, {high}], but {name} = {result}.")
    return result


def _float_array(value: npt.ArrayLike, name: str, ndim: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InvalidDtypeError(
            f"{name} must be a numeric (integer or float) array, but has dtype {arr.dtype}."
        )
    if arr.ndim != ndim:
        raise InvalidInputError(f"{name} must be a {ndim}-D array, but has shape {arr.shape}.")
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise InvalidInputError(f"{name} must contain only finite values (no NaN or inf).")
    return out


def _square_matrix(noise_matrix: npt.ArrayLike) -> npt.NDArray[np.float64]:
    nm = _float_array(noise_matrix, "noise_matrix", 2)
    if nm.shape[0] != nm.shape[1] or nm.shape[0] == 0:
        raise InvalidInputError(f"noise_matrix must be a non-empty K x K matrix, but has shape {nm.shape}.")
    return nm


def _prior(py: npt.ArrayLike, k: int) -> npt.NDArray[np.float64]:
    arr = _float_array(py, "py", 1)
    if arr.shape[0] != k:
        raise InvalidInputError(
            f"py must have length K = {k} (the number of rows of noise_matrix), but has length {arr.shape[0]}."
        )
    return arr


def noise_matrix_is_valid(
    noise_matrix: npt.ArrayLike,
    py: npt.ArrayLike,
    *,
    verbose: bool = False,
) -> bool:
    """Return whether ``noise_matrix`` is learnable for the true-label prior ``py``.

    With ``joint = noise_matrix * py`` (``P(s, y)``) and ``ps = noise_matrix @ py`` (``P(s)``), the matrix
    is valid when ``joint`` sums to 1 (within 1e-6) and, for every class ``i``,
    ``P(s=i) * P(y=i) < P(s=i, y=i)``. As in cleanlab, columns are not required to sum to 1 on their own.

    Parameters
    ----------
    noise_matrix : array_like of shape (K, K)
        ``noise_matrix[s, y] = P(label=s | true_label=y)``.
    py : array_like of shape (K,)
        Prior ``P(true_label=y)``.
    verbose : bool, default False
        Print, per class until the first failing one, the quantities of the learnability inequality
        scaled to 10000 examples (cleanlab's format).

    Returns
    -------
    bool

    Raises
    ------
    InvalidInputError
        ``noise_matrix`` is not a non-empty square matrix, ``py`` is not of length K, or either holds
        NaN/inf.
    InvalidDtypeError
        Either argument is not numeric.
    """
    nm = _square_matrix(noise_matrix)
    prior = _prior(py, nm.shape[0])
    joint = nm * prior
    ps = nm @ prior
    if abs(joint.sum() - 1.0) >= _TOL:
        return False
    for i in range(nm.shape[0]):
        c = joint[i, i]
        if verbose:
            _print_learnability(ps[i] - c, prior[i] - c, c, ps[i] * prior[i])
        if not ps[i] * prior[i] < c:
            return False
    return True


def _print_learnability(e1: float, e2: float, c: float, ps_py: float) -> None:
    def scaled(x: float) -> int | float:
        # round() of inf/nan raises; cleanlab crashes there, we print the value instead.
        return round(x * _VERBOSE_N) if np.isfinite(x) else x

    if c != 0:
        ratio = e1 * e2 / c
    else:
        ratio = float("nan") if e1 * e2 == 0 else float("inf")
    print(
        "E1E2/C",
        scaled(ratio),
        "E1",
        scaled(e1),
        "E2",
        scaled(e2),
        "C",
        scaled(c),
        "|",
        scaled(ratio + e1 + e2 + c),
        "|",
        scaled(ratio),
        "<",
        scaled(1 - e1 - e2 - c),
    )
    print(round(ps_py), "<", round(c), ":", bool(ps_py < c))


def generate_noisy_labels(
    true_labels: npt.ArrayLike,
    noise_matrix: npt.ArrayLike,
    *,
    seed: SeedLike = None,
) -> np.ndarray:
    """Flip ``true_labels`` so that the noisy labels follow ``noise_matrix`` exactly.

    With ``n_y`` examples of true class ``y`` out of ``N``, exactly
    ``C[s, y] = floor(noise_matrix[s, y] * (n_y / N) * N)`` examples of class ``y`` (``s != y``) get the
    label ``s``, chosen uniformly without replacement. If the flips requested for a class exceed its
    size (only possible when a column sums to more than 1 within tolerance), that class is left as is.

    Parameters
    ----------
    true_labels : array_like of int, shape (N,)
        True labels in ``0..K-1``. Classes may be absent (they get no flips).
    noise_matrix : array_like of shape (K, K)
        ``noise_matrix[s, y] = P(label=s | true_label=y)``; entries in [0, 1], columns summing to 1.
    seed : int, None or numpy.random.Generator, keyword-only, default None
        Source of randomness (``numpy.random.default_rng(seed)``); numpy's global state is not used.

    Returns
    -------
    numpy.ndarray of shape (N,)
        The noisy labels, same dtype as ``true_labels`` (a new array; the input is not modified).

    Raises
    ------
    InvalidDtypeError
        ``true_labels`` is not an integer array or ``noise_matrix`` is not numeric.
    InvalidInputError
        ``true_labels`` is not 1-D or has labels outside ``0..K-1``; ``noise_matrix`` is not square,
        has entries outside [0, 1] or columns not summing to 1.
    """
    labels = np.asarray(true_labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidDtypeError(f"true_labels must be an array of integers, but has dtype {labels.dtype}.")
    if labels.ndim != 1:
        raise InvalidInputError(f"true_labels must be a 1-D array, but has shape {labels.shape}.")
    nm = _square_matrix(noise_matrix)
    k = nm.shape[0]
    if np.any((nm < 0) | (nm > 1)):
        raise InvalidInputError("noise_matrix entries must be probabilities in [0, 1].")
    col_sums = nm.sum(axis=0)
    bad = np.flatnonzero(np.abs(col_sums - 1.0) > _TOL)
    if bad.size:
        raise InvalidInputError(
            f"noise_matrix columns must sum to 1 (P(s | y) for each true class y), but column {bad[0]} "
            f"sums to {col_sums[bad[0]]}."
        )
    rng = _rng(seed)
    noisy = labels.copy()
    n = labels.shape[0]
    if n == 0:
        return noisy
    if labels.min() < 0 or labels.max() >= k:
        raise InvalidInputError(
            f"true_labels must be in 0..K-1 with K = {k} (noise_matrix is {k} x {k}), but they range "
            f"from {labels.min()} to {labels.max()}."
        )
    classes = labels.astype(np.intp)
    counts = np.bincount(classes, minlength=k)
    # Same expression order as cleanlab, so floor() truncates identically.
    flips = np.floor(nm * (counts / n) * n).astype(np.int64)
    np.fill_diagonal(flips, 0)
    for y in range(k):
        total = int(flips[:, y].sum())
        if total == 0:
            continue
        members = np.flatnonzero(classes == y)
        if total > members.size:
            continue
        targets = np.repeat(np.arange(k), flips[:, y]).astype(noisy.dtype)
        noisy[rng.choice(members, size=total, replace=False)] = targets
    return noisy


def generate_noise_matrix_from_trace(
    K: int,
    trace: float,
    *,
    max_trace_prob: float = 1.0,
    min_trace_prob: float = 1e-5,
    max_noise_rate: float = 1 - 1e-5,
    min_noise_rate: float = 0.0,
    valid_noise_matrix: bool = True,
    py: npt.ArrayLike | None = None,
    frac_zero_noise_rates: float = 0.0,
    seed: SeedLike = 0,
    max_iter: int = 10000,
) -> npt.NDArray[np.float64] | None:
    """Draw a random K x K column-stochastic noise matrix whose trace is ``trace``.

    For ``K > 2`` the diagonal is drawn with values in [``min_trace_prob``, ``max_trace_prob``]; in each
    column a share of the off-diagonal entries (``frac_zero_noise_rates`` of all of them overall, at
    most K-2 per noisy column) is zero and the others, in [``min_noise_rate``, ``max_noise_rate``], sum
    to ``1 - diagonal``. Draws repeat (up to ``max_iter`` times) until the matrix is valid for ``py``
    (:func:`noise_matrix_is_valid`) when ``valid_noise_matrix`` is True. For ``K == 2`` (as in cleanlab)
    the bounds are not applied and validity is not checked: with ``frac_zero_noise_rates >= 0.5`` the
    result is ``[[1, 2 - trace], [0, trace - 1]]`` or its 180° rotation.

    Parameters
    ----------
    K : int
        Number of classes, at least 2.
    trace : float
        Sum of the diagonal, in [0, K]; must exceed 1 when ``valid_noise_matrix``.
    max_trace_prob, min_trace_prob : float
        Bounds of the diagonal entries.
    max_noise_rate, min_noise_rate : float
        Bounds of the non-zero off-diagonal entries.
    valid_noise_matrix : bool, default True
        Return only matrices valid for ``py``; needs ``py`` when ``K > 2``.
    py : array_like of shape (K,), optional
        Prior of the true labels.
    frac_zero_noise_rates : float, default 0.0
        Fraction of the K(K-1) off-diagonal entries that are zero.
    seed : int, None or numpy.random.Generator, default 0
        Source of randomness (``numpy.random.default_rng(seed)``). Unlike cleanlab, numpy's global
        random state is neither seeded nor used.
    max_iter : int, default 10000
        Number of attempts to find a valid matrix.

    Returns
    -------
    numpy.ndarray of shape (K, K) or None
        ``None`` when ``max_iter < 1`` or no valid matrix was found in ``max_iter`` attempts.

    Raises
    ------
    ValueError (InvalidInputError)
        cleanlab's messages for ``trace <= 1`` or missing ``py`` with ``valid_noise_matrix``, and
        ``K < 2``; ``trace`` outside [0, K]; infeasible bounds (from
        :func:`generate_n_rand_probabilities_that_sum_to_m`).
    """
    K = _check_int(K, "K")
    # Checked but not converted, so messages show the value as given (as cleanlab does).
    _check_real(trace, "trace")
    if valid_noise_matrix and trace <= 1:
        raise InvalidInputError(
            f"trace = {trace}. trace > 1 is necessary for a valid noise matrix to be returned "
            "(valid_noise_matrix == True)"
        )
    if valid_noise_matrix and py is None and K > 2:
        raise InvalidInputError(
            "py must be provided (not None) if the input parameter valid_noise_matrix == True"
        )
    if K <= 1:
        raise InvalidInputError(f"K must be >= 2, but K = {K}.")
    max_iter = _check_int(max_iter, "max_iter")
    trace = float(trace)
    if not 0 <= trace <= K:
        raise InvalidInputError(f"trace must be in [0, K] = [0, {K}], but trace = {trace}.")
    max_trace_prob = _check_real(max_trace_prob, "max_trace_prob", 0.0, 1.0)
    min_trace_prob = _check_real(min_trace_prob, "min_trace_prob", 0.0, 1.0)
    max_noise_rate = _check_real(max_noise_rate, "max_noise_rate", 0.0, 1.0)
    min_noise_rate = _check_real(min_noise_rate, "min_noise_rate", 0.0, 1.0)
    frac_zero_noise_rates = _check_real(frac_zero_noise_rates, "frac_zero_noise_rates", 0.0, 1.0)
    prior = None if py is None else _prior(py, K)
    rng = _rng(seed)
    if max_iter < 1:
        return None

    if K == 2:
        if frac_zero_noise_rates >= 0.5:
            if not 1 <= trace <= 2:
                raise InvalidInputError(
                    f"trace must be in [1, 2] when K == 2 and frac_zero_noise_rates >= 0.5, but trace = {trace}."
                )
            nm = np.array([[1.0, 2.0 - trace], [0.0, trace - 1.0]])
            return np.rot90(nm, 2).copy() if rng.random() < 0.5 else nm
        d0, d1 = generate_n_rand_probabilities_that_sum_to_m(2, trace, seed=rng)
        return np.array([[d0, 1.0 - d1], [1.0 - d0, d1]])

    for _ in range(max_iter):
        diag = generate_n_rand_probabilities_that_sum_to_m(
            K, trace, max_prob=max_trace_prob, min_prob=min_trace_prob, seed=rng
        )
        nm = np.diag(diag)
        noisy_cols = np.flatnonzero(diag != 1)
        # Columns without noise already hold K-1 zero noise rates each.
        num_zeros = max(0, int(K * (K - 1) * frac_zero_noise_rates) - (K - noisy_cols.size) * (K - 1))
        zeros_per_col = (
            randomly_distribute_N_balls_into_K_bins(
                num_zeros, noisy_cols.size, max_balls_per_bin=K - 2, min_balls_per_bin=0, seed=rng
            )
            if noisy_cols.size
            else np.zeros(0, dtype=np.int64)
        )
        for col, zeros in zip(noisy_cols, zeros_per_col):
            num_rates = K - 1 - int(zeros)
            rates = generate_n_rand_probabilities_that_sum_to_m(
                num_rates, 1.0 - diag[col], max_prob=max_noise_rate, min_prob=min_noise_rate, seed=rng
            )
            rows = rng.choice(np.delete(np.arange(K), col), size=num_rates, replace=False)
            nm[rows, col] = rates
        # valid_noise_matrix with K > 2 was checked above to come with py.
        if not valid_noise_matrix or (prior is not None and noise_matrix_is_valid(nm, prior)):
            return nm
    return None


def generate_n_rand_probabilities_that_sum_to_m(
    n: int,
    m: float,
    *,
    max_prob: float = 1.0,
    min_prob: float = 0.0,
    seed: SeedLike = None,
) -> npt.NDArray[np.float64]:
    """Draw ``n`` random non-negative values that sum to ``m``, each in [``min_prob``, ``max_prob``].

    Values are a ``Dirichlet(1, ..., 1)`` draw scaled by ``m``; while the largest exceeds ``max_prob``
    (or the smallest is below ``min_prob``), mass moves between the largest and the smallest value by
    a random amount, which keeps the sum. Bounds hold to within 1e-6.

    Parameters
    ----------
    n : int
        Number of values (0 gives an empty array).
    m : float
        Their sum.
    max_prob, min_prob : float
        Bounds of each value; need ``min_prob <= m / n <= max_prob`` (within 1e-6).
    seed : int, None or numpy.random.Generator, keyword-only, default None
        Source of randomness (``numpy.random.default_rng(seed)``); numpy's global state is not used.

    Returns
    -------
    numpy.ndarray of shape (n,), float64

    Raises
    ------
    ValueError (InvalidInputError)
        ``max_prob < m / n`` or ``min_prob > m / n`` (beyond 1e-6), with cleanlab's messages; ``n < 0``.
    """
    n = _check_int(n, "n", minimum=0)
    # Checked but not converted, so messages show the values as given (as cleanlab does).
    _check_real(m, "m")
    _check_real(max_prob, "max_prob")
    _check_real(min_prob, "min_prob")
    rng = _rng(seed)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    if max_prob + _TOL < m / n:
        raise InvalidInputError(
            f"max_prob must be greater or equal to m / n, but max_prob = {max_prob}, m = {m}, n = {n}, "
            f"m / n = {m / n}"
        )
    if min_prob > (m + _TOL) / n:
        raise InvalidInputError(
            f"min_prob must be less or equal to m / n, but min_prob = {min_prob}, m = {m}, n = {n}, "
            f"m / n = {m / n}"
        )
    m, max_prob, min_prob = float(m), float(max_prob), float(min_prob)
    if m / n > max_prob or m / n < min_prob:
        # The mean is past a bound by less than the tolerance: only equal values fit, and the loops
        # below could run forever looking for others.
        return np.full(n, m / n)
    result = rng.dirichlet(np.ones(n)) * m
    while result.max() > max_prob + _TOL:
        hi, lo = int(result.argmax()), int(result.argmin())
        new_min = result[lo] + (result[hi] - max_prob)
        adjustment = (max_prob - new_min) * rng.random()
        result[lo] = new_min + adjustment
        result[hi] = max_prob - adjustment
    while result.min() < min_prob - _TOL:
        hi, lo = int(result.argmax()), int(result.argmin())
        new_max = result[hi] - (min_prob - result[lo])
        adjustment = (new_max - min_prob) * rng.random()
        result[hi] = new_max - adjustment
        result[lo] = min_prob + adjustment
    return result


def randomly_distribute_N_balls_into_K_bins(
    N: int,
    K: int,
    *,
    max_balls_per_bin: int | None = None,
    min_balls_per_bin: int | None = None,
    seed: SeedLike = None,
) -> npt.NDArray[np.int64]:
    """Split ``N`` balls at random into ``K`` bins of ``min_balls_per_bin..max_balls_per_bin`` balls.

    Returns a length-``K`` integer array summing to ``N``. As in cleanlab, if ``N`` balls cannot fit
    (``N / K > max_balls_per_bin``), ``N`` is reduced to ``max_balls_per_bin * K``, and the minimum is
    lowered to ``N / K`` when it is larger.

    Parameters
    ----------
    N : int
        Number of balls, >= 0.
    K : int
        Number of bins, >= 1.
    max_balls_per_bin, min_balls_per_bin : int, optional
        Bounds of each bin.
    seed : int, None or numpy.random.Generator, keyword-only, default None
        Source of randomness (``numpy.random.default_rng(seed)``); numpy's global state is not used.

    Returns
    -------
    numpy.ndarray of shape (K,), int64

    Raises
    ------
    InvalidDtypeError
        An argument is not an int.
    InvalidInputError
        ``N < 0``, ``K < 1`` or a negative bound.
    """
    N = _check_int(N, "N", minimum=0)
    K = _check_int(K, "K", minimum=1)
    if max_balls_per_bin is not None:
        max_balls_per_bin = _check_int(max_balls_per_bin, "max_balls_per_bin", minimum=0)
    if min_balls_per_bin is not None:
        min_balls_per_bin = _check_int(min_balls_per_bin, "min_balls_per_bin", minimum=0)
    rng = _rng(seed)
    if N == 0:
        return np.zeros(K, dtype=np.int64)
    upper = N if max_balls_per_bin is None else min(max_balls_per_bin, N)
    lower = 0 if min_balls_per_bin is None else min(min_balls_per_bin, N / K)
    if N / K > upper:
        N = upper * K
    if N == 0:
        return np.zeros(K, dtype=np.int64)
    probs = generate_n_rand_probabilities_that_sum_to_m(
        K, 1, max_prob=upper / N, min_prob=lower / N, seed=rng
    )
    result = np.round(probs * N).astype(np.int64)
    while result.sum() > N:
        result[result.argmax()] -= 1
    while result.sum() < N:
        result[result.argmin()] += 1
    return result
