//! Latent estimation: py, the noise matrix P(s|y) and the inverse noise matrix P(y|s) from a
//! confident joint, and cleanlab's closed-form latent-algebra identities (cleanlab 2.6, 2.7, 3).
//!
//! All matrices are column-stochastic: `nm[s, y] = P(s | y)`, `inv[y, s] = P(y | s)`. Sums follow
//! numpy's own summation order (pairwise along contiguous rows, sequential down columns) so the
//! results match the NumPy twin and cleanlab to the last bit where it matters.

use crate::error::{Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

const TINY: f64 = 1e-100;
const MAX_NOISE_RATE: f64 = 0.9999;

/// numpy's pairwise summation of a contiguous float64 vector (`np.sum`).
#[inline(always)]
pub fn np_sum(a: &[f64]) -> f64 {
    np_sum_map(a, |x| x)
}

/// `np.sum(f(a))` in numpy's summation order, without materialising `f(a)`.
#[inline(always)]
pub fn np_sum_map(a: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    // numpy adds the reduction to its identity 0.0 (this turns a -0.0 result into 0.0).
    if a.len() <= 128 {
        return 0.0 + leaf(a, f);
    }
    0.0 + pairwise(a, f)
}

/// `np.sum` of `n` values in numpy's pairwise order without storing them: `fill(start, buf)`
/// writes values `start..start + buf.len()` into `buf`, at most 128 (one pairwise leaf) at a time.
/// Inlined, with one leaf summed in place, so that `fill` is built where the caller is (in a
/// `wide::Kernel`, for its vector instructions).
#[inline(always)]
pub fn np_sum_by(n: usize, mut fill: impl FnMut(usize, &mut [f64])) -> f64 {
    fn tree(
        lo: usize,
        n: usize,
        buf: &mut [f64; 128],
        fill: &mut impl FnMut(usize, &mut [f64]),
    ) -> f64 {
        if n <= 128 {
            fill(lo, &mut buf[..n]);
            pairwise(&buf[..n], |x| x)
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            tree(lo, n2, buf, fill) + tree(lo + n2, n - n2, buf, fill)
        }
    }
    let mut buf = [0.0; 128];
    if n <= 128 {
        fill(0, &mut buf[..n]);
        return 0.0 + leaf(&buf[..n], |x| x);
    }
    0.0 + tree(0, n, &mut buf, &mut fill)
}

fn pairwise(a: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    let n = a.len();
    if n <= 128 {
        leaf(a, f)
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2], f) + pairwise(&a[n2..], f)
    }
}

/// `pairwise` of at most 128 values: numpy's unrolled leaf, inlined (a row of a few classes is
/// summed in place, unrolled when its length is known).
#[inline(always)]
fn leaf(a: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = -0.0;
        for &x in a {
            res += f(x);
        }
        res
    } else {
        let mut r = [0.0; 8];
        for (rj, &x) in r.iter_mut().zip(&a[..8]) {
            *rj = f(x);
        }
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += f(a[i + j]);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += f(a[i]);
            i += 1;
        }
        res
    }
}

/// Row sums (`m.sum(axis=1)`), pairwise per row as numpy does for C-contiguous input.
pub fn row_sums(m: ArrayView2<'_, f64>) -> Array1<f64> {
    m.rows().into_iter().map(|r| np_sum(&r.to_vec())).collect()
}

/// Clip off-diagonal noise rates into [0, 0.9999], keep the diagonal, renormalise columns.
pub fn clip_noise_rates(m: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut out = m.to_owned();
    clip_noise_rates_mut(&mut out);
    out
}

/// `clip_noise_rates` in the matrix's own memory. Column sums run row by row from 0.0, as
/// numpy reduces a C-ordered matrix over axis 0.
pub fn clip_noise_rates_mut(m: &mut Array2<f64>) {
    let k = m.ncols();
    *m = crate::data::standard_layout(std::mem::take(m));
    let Some(flat) = m.as_slice_mut() else {
        return;
    };
    let mut cols = vec![0.0; k];
    for (d, row) in flat.chunks_exact_mut(k.max(1)).enumerate() {
        let diagonal = row.get(d).copied();
        for x in row.iter_mut() {
            *x = x.clamp(0.0, MAX_NOISE_RATE);
        }
        if let (Some(v), Some(slot)) = (diagonal, row.get_mut(d)) {
            *slot = v;
        }
        for (c, &x) in cols.iter_mut().zip(row.iter()) {
            *c += x;
        }
    }
    for c in &mut cols {
        *c = c.max(TINY);
    }
    for row in flat.chunks_exact_mut(k.max(1)) {
        for (x, &c) in row.iter_mut().zip(&cols) {
            *x /= c;
        }
    }
}

/// Clip into [low, high] then rescale to `new_sum` (or the sum before clipping).
pub fn clip_values(
    x: ArrayView1<'_, f64>,
    low: f64,
    high: f64,
    new_sum: Option<f64>,
) -> Array1<f64> {
    let target = new_sum.unwrap_or_else(|| np_sum(&x.to_vec()));
    let clipped = x.mapv(|v| v.clamp(low, high));
    let s = np_sum(&clipped.to_vec()).max(TINY);
    clipped.mapv(|v| v * target / s)
}

/// Matrix inverse by Gauss-Jordan elimination with partial pivoting.
pub fn invert(m: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    let k = m.nrows();
    let mut a = m.to_owned();
    let mut inv = Array2::<f64>::eye(k);
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&i, &j| a[[i, col]].abs().total_cmp(&a[[j, col]].abs()))
            .unwrap_or(col);
        if a[[pivot, col]] == 0.0 || !a[[pivot, col]].is_finite() {
            return Err(Error::Singular(
                "noise_matrix is singular and cannot be inverted".into(),
            ));
        }
        if pivot != col {
            for j in 0..k {
                a.swap([pivot, j], [col, j]);
                inv.swap([pivot, j], [col, j]);
            }
        }
        let p = a[[col, col]];
        for j in 0..k {
            a[[col, j]] /= p;
            inv[[col, j]] /= p;
        }
        for i in 0..k {
            if i != col {
                let f = a[[i, col]];
                if f != 0.0 {
                    for j in 0..k {
                        a[[i, j]] -= f * a[[col, j]];
                        inv[[i, j]] -= f * inv[[col, j]];
                    }
                }
            }
        }
    }
    Ok(inv)
}

fn dot(m: ArrayView2<'_, f64>, v: ArrayView1<'_, f64>) -> Array1<f64> {
    m.rows()
        .into_iter()
        .map(|r| r.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}

/// How py is estimated (cleanlab `py_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PyMethod {
    Cnt,
    Eqn,
    Marginal,
    MarginalPs,
}

impl PyMethod {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cnt" => Ok(PyMethod::Cnt),
            "eqn" => Ok(PyMethod::Eqn),
            "marginal" => Ok(PyMethod::Marginal),
            "marginal_ps" => Ok(PyMethod::MarginalPs),
            other => Err(Error::InvalidInput(format!(
                "py_method {other} should be in [cnt, eqn, marginal, marginal_ps]"
            ))),
        }
    }
}

/// py from ps and the noise matrices (cleanlab `compute_py`), clipped into [1e-6, 1] summing to 1.
pub fn compute_py(
    ps: ArrayView1<'_, f64>,
    nm: ArrayView2<'_, f64>,
    inv: ArrayView2<'_, f64>,
    method: PyMethod,
    true_counts: Option<ArrayView1<'_, f64>>,
) -> Result<Array1<f64>> {
    let py = match method {
        PyMethod::Cnt => py_cnt(|i| inv[[i, i]], nm, ps),
        PyMethod::Eqn => dot(invert(nm)?.view(), ps),
        PyMethod::Marginal => {
            let c = true_counts.ok_or_else(|| {
                Error::InvalidInput(
                    "py_method == \"marginal\" requires true_labels_class_counts, but true_labels_class_counts is None.  Provide parameter true_labels_class_counts.".into(),
                )
            })?;
            let s = np_sum(&c.to_vec()).max(TINY);
            c.mapv(|x| x / s)
        }
        PyMethod::MarginalPs => dot(inv, ps),
    };
    Ok(clip_values(py.view(), 1e-6, 1.0, Some(1.0)))
}

/// P(y|s) from py and P(s|y) (cleanlab `compute_inv_noise_matrix`).
pub fn compute_inv_noise_matrix(
    py: ArrayView1<'_, f64>,
    nm: ArrayView2<'_, f64>,
    ps: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let k = py.len();
    let ps = ps.map_or_else(
        || {
            let mut joint_row = vec![0.0; k];
            Array1::from_iter(nm.rows().into_iter().map(|r| {
                for (j, (&x, &p)) in joint_row.iter_mut().zip(r.iter().zip(&py)) {
                    *j = x * p;
                }
                np_sum(&joint_row)
            }))
        },
        |p| p.to_owned(),
    );
    let mut inv = Array2::zeros((k, k));
    fill_inverse(&mut inv, nm, py, ps.view());
    clip_noise_rates_mut(&mut inv);
    inv
}

/// P(y|s) before clipping: `joint[s, y] / ps[s]` with `joint = nm * py`, in cleanlab's order
/// of operations.
#[inline]
fn inverse_entry(nm_sy: f64, py_y: f64, ps_s: f64) -> f64 {
    nm_sy * py_y / ps_s.max(TINY)
}

/// P(s|y) before clipping: `joint[s, y] / py[y]` with `joint = inv.T * ps`.
#[inline]
fn noise_entry(inv_ys: f64, ps_s: f64, py_y: f64) -> f64 {
    inv_ys * ps_s / py_y.max(TINY)
}

/// The unclipped inverse noise matrix written into `inv`: column s of it comes from row s of nm.
fn fill_inverse(
    inv: &mut Array2<f64>,
    nm: ArrayView2<'_, f64>,
    py: ArrayView1<'_, f64>,
    ps: ArrayView1<'_, f64>,
) {
    for (s, (r, mut col)) in nm.rows().into_iter().zip(inv.columns_mut()).enumerate() {
        for ((out, &x), &p) in col.iter_mut().zip(r).zip(&py) {
            *out = inverse_entry(x, p, ps[s]);
        }
    }
}

/// The unclipped noise matrix written into `nm`: row s of it comes from column s of inv.
fn fill_noise(
    nm: &mut Array2<f64>,
    inv: ArrayView2<'_, f64>,
    ps: ArrayView1<'_, f64>,
    py: ArrayView1<'_, f64>,
) {
    for (s, (mut r, col)) in nm.rows_mut().into_iter().zip(inv.columns()).enumerate() {
        for ((out, &x), &p) in r.iter_mut().zip(col).zip(&py) {
            *out = noise_entry(x, ps[s], p);
        }
    }
}

/// The column sums `clip_noise_rates` takes of the inverse noise matrix `compute_inv_noise_matrix`
/// would build, without building it. Column s of the inverse is row s of nm, so the clipped
/// entries of eight columns are computed row-wise into a small buffer (vectorised), then summed
/// in the inverse's row order with eight independent running sums.
fn inverse_clipped_col_sums(
    nm: ArrayView2<'_, f64>,
    py: ArrayView1<'_, f64>,
    ps: ArrayView1<'_, f64>,
) -> Vec<f64> {
    const BLOCK: usize = 8;
    let k = nm.nrows();
    let nm = nm.as_standard_layout();
    let py = py.to_vec();
    let mut cols = vec![0.0; k];
    let mut buf = vec![0.0; BLOCK * k];
    let Some(flat) = nm.as_slice() else {
        return cols;
    };
    for (b, (rows, sums)) in flat
        .chunks(BLOCK * k.max(1))
        .zip(cols.chunks_mut(BLOCK))
        .enumerate()
    {
        let s0 = b * BLOCK;
        for (j, (row, out)) in rows
            .chunks_exact(k)
            .zip(buf.chunks_exact_mut(k))
            .enumerate()
        {
            let p = ps[s0 + j];
            for ((o, &x), &q) in out.iter_mut().zip(row).zip(&py) {
                *o = inverse_entry(x, q, p).clamp(0.0, MAX_NOISE_RATE);
            }
            out[s0 + j] = inverse_entry(row[s0 + j], py[s0 + j], p);
        }
        let mut acc = [0.0; BLOCK];
        for y in 0..k {
            for (j, a) in acc.iter_mut().enumerate().take(sums.len()) {
                *a += buf[j * k + y];
            }
        }
        sums.copy_from_slice(&acc[..sums.len()]);
    }
    cols
}

/// py by the "cnt" method from the diagonals of P(y|s) and P(s|y), before clipping.
fn py_cnt(
    inv_diag: impl Fn(usize) -> f64,
    nm: ArrayView2<'_, f64>,
    ps: ArrayView1<'_, f64>,
) -> Array1<f64> {
    Array1::from_shape_fn(ps.len(), |i| inv_diag(i) / nm[[i, i]].max(TINY) * ps[i])
}

/// P(s|y) from ps and P(y|s) (cleanlab `compute_noise_matrix_from_inverse`).
pub fn compute_noise_matrix_from_inverse(
    ps: ArrayView1<'_, f64>,
    inv: ArrayView2<'_, f64>,
    py: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let k = ps.len();
    let py = py.map_or_else(
        || {
            // Column sums of joint[s, y] = inv[y, s] * ps[s], row s after row s.
            let mut sums = Array1::<f64>::zeros(k);
            for (s, col) in inv.columns().into_iter().enumerate() {
                for (t, &x) in sums.iter_mut().zip(col) {
                    *t += x * ps[s];
                }
            }
            sums
        },
        |p| p.to_owned(),
    );
    let mut nm = Array2::zeros((k, k));
    fill_noise(&mut nm, inv, ps, py.view());
    clip_noise_rates_mut(&mut nm);
    nm
}

/// (py, inv) from ps and the noise matrix by true inversion (cleanlab `compute_py_inv_noise_matrix`).
pub fn compute_py_inv_noise_matrix(
    ps: ArrayView1<'_, f64>,
    nm: ArrayView2<'_, f64>,
) -> Result<(Array1<f64>, Array2<f64>)> {
    let py = dot(invert(nm)?.view(), ps);
    let py = clip_values(py.view(), 1e-6, 1.0, Some(1.0));
    let inv = compute_inv_noise_matrix(py.view(), nm, Some(ps));
    Ok((py, inv))
}

/// (py, noise_matrix, inverse_noise_matrix) from a confident joint (cleanlab `estimate_latent`).
/// Holds no K x K matrix besides the two it returns (at K = 1,000 each is 8 MB).
pub fn estimate_latent(
    cj: ArrayView2<'_, i64>,
    label_counts: &[i64],
    method: PyMethod,
    converge: bool,
) -> Result<(Array1<f64>, Array2<f64>, Array2<f64>)> {
    let k = cj.nrows();
    if cj.ncols() != k || label_counts.len() != k {
        return Err(Error::InvalidInput(format!(
            "confident_joint must be a square (K, K) matrix matching {} classes, but it has shape ({}, {})",
            label_counts.len(),
            cj.nrows(),
            cj.ncols()
        )));
    }
    let n: i64 = label_counts.iter().sum();
    let ps = Array1::from_iter(label_counts.iter().map(|&c| c as f64 / n as f64));
    // Sums of whole numbers: exact in any order below 2^53.
    let rows = Array1::from_iter(
        cj.rows()
            .into_iter()
            .map(|r| r.iter().map(|&x| x as f64).sum::<f64>()),
    );
    let mut cols = Array1::<f64>::zeros(k);
    for r in cj.rows() {
        for (c, &x) in cols.iter_mut().zip(r) {
            *c += x as f64;
        }
    }
    let mut nm = Array2::from_shape_fn((k, k), |(i, j)| cj[[i, j]] as f64 / cols[j].max(TINY));
    let mut inv = Array2::from_shape_fn((k, k), |(j, i)| cj[[i, j]] as f64 / rows[i].max(TINY));
    let mut py = compute_py(ps.view(), nm.view(), inv.view(), method, Some(cols.view()))?;
    clip_noise_rates_mut(&mut nm);
    clip_noise_rates_mut(&mut inv);
    if converge {
        // cleanlab alternates 5 updates of (inv, py) with one of nm, three times. py needs only
        // inv's diagonal, so inv is built only on the fifth update, the one nm is computed from.
        for _ in 0..3 {
            for step in 0..5 {
                let fresh = if step < 4 {
                    let sums = inverse_clipped_col_sums(nm.view(), py.view(), ps.view());
                    py_cnt(
                        |i| inverse_entry(nm[[i, i]], py[i], ps[i]) / sums[i].max(TINY),
                        nm.view(),
                        ps.view(),
                    )
                } else {
                    fill_inverse(&mut inv, nm.view(), py.view(), ps.view());
                    clip_noise_rates_mut(&mut inv);
                    py_cnt(|i| inv[[i, i]], nm.view(), ps.view())
                };
                py = clip_values(fresh.view(), 1e-6, 1.0, Some(1.0));
            }
            fill_noise(&mut nm, inv.view(), ps.view(), py.view());
            clip_noise_rates_mut(&mut nm);
        }
        py = clip_values(py.view(), 1e-5, 1.0, Some(1.0));
        clip_noise_rates_mut(&mut nm);
        clip_noise_rates_mut(&mut inv);
    }
    Ok((py, nm, inv))
}

/// Estimated P(y|x) from pred_probs and the noise matrices (cleanlab `compute_pyx`): each
/// column scaled by inv[k,k] / nm[k,k], each row clipped into [0, 1] and rescaled to sum 1.
pub fn compute_pyx<T: crate::data::Prob>(
    pred_probs: ArrayView2<'_, T>,
    nm: ArrayView2<'_, f64>,
    inv: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let rows = crate::data::Rows::new(pred_probs);
    let (n, k) = (rows.n(), rows.k());
    let factor: Vec<f64> = (0..k).map(|j| inv[[j, j]] / nm[[j, j]].max(TINY)).collect();
    let mut out = vec![0.0; n * k];
    let par = crate::parallel::worth_parallel(n * k);
    let size = crate::parallel::CHUNK_ROWS * k;
    let fill = |c: usize, chunk: &mut [f64]| {
        let mut buf = vec![0.0; k];
        for (r, o) in chunk.chunks_mut(k).enumerate() {
            let row = rows.row(c * crate::parallel::CHUNK_ROWS + r, &mut buf);
            let scaled: Array1<f64> = row.iter().zip(&factor).map(|(p, f)| p * f).collect();
            for (dst, v) in o
                .iter_mut()
                .zip(clip_values(scaled.view(), 0.0, 1.0, Some(1.0)))
            {
                *dst = v;
            }
        }
    };
    if par {
        use rayon::prelude::*;
        out.par_chunks_mut(size)
            .enumerate()
            .for_each(|(c, ch)| fill(c, ch));
    } else {
        out.chunks_mut(size)
            .enumerate()
            .for_each(|(c, ch)| fill(c, ch));
    }
    Array2::from_shape_vec((n, k), out).unwrap_or_else(|_| Array2::zeros((n, k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn inverse_of_inverse_is_identity() {
        let m = array![[0.8, 0.1, 0.2], [0.1, 0.7, 0.1], [0.1, 0.2, 0.7]];
        let inv = invert(m.view()).unwrap();
        let back = m.dot(&inv);
        for i in 0..3 {
            for j in 0..3 {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((back[[i, j]] - e).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn singular_matrix_is_an_error() {
        let m = array![[0.5, 0.5], [0.5, 0.5]];
        assert!(matches!(invert(m.view()), Err(Error::Singular(_))));
    }

    #[test]
    fn np_sum_by_equals_np_sum_of_the_stored_values() {
        for n in [0, 1, 7, 8, 9, 127, 128, 129, 255, 1000, 4099, 70_001] {
            let v: Vec<f64> = (0..n)
                .map(|i| ((i * 7919) % 1013) as f64 / 997.0 - 0.3)
                .collect();
            let by = np_sum_by(n, |start, buf| {
                assert!(buf.len() <= 128);
                buf.copy_from_slice(&v[start..start + buf.len()]);
            });
            assert_eq!(by.to_bits(), np_sum(&v).to_bits(), "n = {n}");
        }
    }

    /// cleanlab's converging loop written with the public building blocks, matrix by matrix.
    fn converge_by_matrices(
        ps: ArrayView1<'_, f64>,
        py: Array1<f64>,
        nm: Array2<f64>,
    ) -> (Array1<f64>, Array2<f64>, Array2<f64>) {
        let (mut py, mut nm) = (py, nm);
        let mut inv = Array2::zeros(nm.raw_dim());
        for _ in 0..3 {
            for _ in 0..5 {
                inv = compute_inv_noise_matrix(py.view(), nm.view(), Some(ps));
                py = compute_py(ps, nm.view(), inv.view(), PyMethod::Cnt, None).unwrap();
            }
            nm = compute_noise_matrix_from_inverse(ps, inv.view(), Some(py.view()));
        }
        (
            clip_values(py.view(), 1e-5, 1.0, Some(1.0)),
            clip_noise_rates(nm.view()),
            clip_noise_rates(inv.view()),
        )
    }

    #[test]
    fn converged_estimates_equal_the_matrix_by_matrix_loop() {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1du64);
        for k in [2, 3, 5, 9, 17, 64] {
            let cj = Array2::from_shape_fn((k, k), |(i, j)| {
                let x = (next() % 40) as i64;
                if i == j {
                    x + 30
                } else if next().is_multiple_of(3) {
                    0
                } else {
                    x / 4
                }
            });
            let counts: Vec<i64> = cj.rows().into_iter().map(|r| r.sum()).collect();
            let (py, nm, inv) = estimate_latent(cj.view(), &counts, PyMethod::Cnt, true).unwrap();
            // The unconverged estimates are the loop's starting point.
            let (py0, nm0, _) = estimate_latent(cj.view(), &counts, PyMethod::Cnt, false).unwrap();
            let n: i64 = counts.iter().sum();
            let ps = Array1::from_iter(counts.iter().map(|&c| c as f64 / n as f64));
            let (py1, nm1, inv1) = converge_by_matrices(ps.view(), py0, nm0);
            let bits = |a: &[f64]| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(py.as_slice().unwrap()),
                bits(py1.as_slice().unwrap()),
                "k = {k}"
            );
            assert_eq!(
                bits(nm.as_slice().unwrap()),
                bits(nm1.as_slice().unwrap()),
                "k = {k}"
            );
            assert_eq!(
                bits(inv.as_slice().unwrap()),
                bits(inv1.as_slice().unwrap()),
                "k = {k}"
            );
        }
    }

    #[test]
    fn np_sum_matches_sequential_for_short_vectors() {
        let v = [0.1, 0.2, 0.3];
        assert_eq!(np_sum(&v), ((-0.0 + 0.1) + 0.2) + 0.3);
    }
}
