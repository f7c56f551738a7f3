//! Latent estimation: py, the noise matrix P(s|y) and the inverse noise matrix P(y|s) from a
//! confident joint, and cleanlab's closed-form latent-algebra identities (cleanlab 2.6, 2.7, 3).
//!
//! All matrices are column-stochastic: `nm[s, y] = P(s | y)`, `inv[y, s] = P(y | s)`. Sums follow
//! numpy's own summation order (pairwise along contiguous rows, sequential down columns) so the
//! results match the NumPy twin and cleanlab to the last bit where it matters.

use crate::error::{Error, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

const TINY: f64 = 1e-100;
const MAX_NOISE_RATE: f64 = 0.9999;

/// numpy's pairwise summation of a contiguous float64 vector (`np.sum`).
pub fn np_sum(a: &[f64]) -> f64 {
    np_sum_map(a, |x| x)
}

/// `np.sum(f(a))` in numpy's summation order, without materialising `f(a)`.
#[inline]
pub fn np_sum_map(a: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    // numpy adds the reduction to its identity 0.0 (this turns a -0.0 result into 0.0).
    0.0 + pairwise(a, f)
}

fn pairwise(a: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = -0.0;
        for &x in a {
            res += f(x);
        }
        res
    } else if n <= 128 {
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
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2], f) + pairwise(&a[n2..], f)
    }
}

/// Row sums (`m.sum(axis=1)`), pairwise per row as numpy does for C-contiguous input.
pub fn row_sums(m: ArrayView2<'_, f64>) -> Array1<f64> {
    m.rows().into_iter().map(|r| np_sum(&r.to_vec())).collect()
}

/// Column sums (`m.sum(axis=0)`), accumulated row by row as numpy does.
pub fn col_sums(m: ArrayView2<'_, f64>) -> Array1<f64> {
    let mut out = Array1::<f64>::zeros(m.ncols());
    for r in m.rows() {
        out += &r;
    }
    out
}

/// Clip off-diagonal noise rates into [0, 0.9999], keep the diagonal, renormalise columns.
pub fn clip_noise_rates(m: ArrayView2<'_, f64>) -> Array2<f64> {
    let k = m.nrows();
    let mut out = m.mapv(|x| x.clamp(0.0, MAX_NOISE_RATE));
    for d in 0..k {
        out[[d, d]] = m[[d, d]];
    }
    let cols = col_sums(out.view()).mapv(|s| s.max(TINY));
    for mut row in out.rows_mut() {
        row /= &cols;
    }
    out
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
    let k = ps.len();
    let py = match method {
        PyMethod::Cnt => Array1::from_shape_fn(k, |i| inv[[i, i]] / nm[[i, i]].max(TINY) * ps[i]),
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
    let joint = Array2::from_shape_fn((k, k), |(s, y)| nm[[s, y]] * py[y]);
    let ps = ps.map_or_else(|| row_sums(joint.view()), |p| p.to_owned());
    let inv = Array2::from_shape_fn((k, k), |(y, s)| joint[[s, y]] / ps[s].max(TINY));
    clip_noise_rates(inv.view())
}

/// P(s|y) from ps and P(y|s) (cleanlab `compute_noise_matrix_from_inverse`).
pub fn compute_noise_matrix_from_inverse(
    ps: ArrayView1<'_, f64>,
    inv: ArrayView2<'_, f64>,
    py: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let k = ps.len();
    let joint = Array2::from_shape_fn((k, k), |(s, y)| inv[[y, s]] * ps[s]);
    let py = py.map_or_else(|| col_sums(joint.view()), |p| p.to_owned());
    let nm = Array2::from_shape_fn((k, k), |(s, y)| joint[[s, y]] / py[y].max(TINY));
    clip_noise_rates(nm.view())
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
    let cjf = cj.mapv(|x| x as f64);
    let rows = cjf.sum_axis(Axis(1));
    let cols = cjf.sum_axis(Axis(0));
    let nm = Array2::from_shape_fn((k, k), |(i, j)| cjf[[i, j]] / cols[j].max(TINY));
    let inv = Array2::from_shape_fn((k, k), |(j, i)| cjf[[i, j]] / rows[i].max(TINY));
    let py = compute_py(ps.view(), nm.view(), inv.view(), method, Some(cols.view()))?;
    let mut nm = clip_noise_rates(nm.view());
    let mut inv = clip_noise_rates(inv.view());
    let mut py = py;
    if converge {
        for _ in 0..3 {
            for _ in 0..5 {
                inv = compute_inv_noise_matrix(py.view(), nm.view(), Some(ps.view()));
                py = compute_py(ps.view(), nm.view(), inv.view(), PyMethod::Cnt, None)?;
            }
            nm = compute_noise_matrix_from_inverse(ps.view(), inv.view(), Some(py.view()));
        }
        py = clip_values(py.view(), 1e-5, 1.0, Some(1.0));
        nm = clip_noise_rates(nm.view());
        inv = clip_noise_rates(inv.view());
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
    fn np_sum_matches_sequential_for_short_vectors() {
        let v = [0.1, 0.2, 0.3];
        assert_eq!(np_sum(&v), ((-0.0 + 0.1) + 0.2) + 0.3);
    }
}
