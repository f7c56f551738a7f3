//! Checks of the contents of `pred_probs` (finite, in [0, 1], rows summing to 1) and of labels.
//!
//! Kernels fuse `row_ok` into their first pass; the first bad row (smallest index) is reported,
//! whichever thread met it, so the error is the same for any thread count.

use crate::data::{Label, Prob, Rows};
use crate::error::{Error, Result};
use crate::parallel;
use ndarray::{ArrayView1, ArrayView2};

/// Values may exceed 1 by this much (float rounding of softmax outputs), as cleanlab allows.
pub const ABOVE_ONE_TOL: f64 = 1e-6;

/// Fast test of one row: true when every value is finite, in [0, 1 + 1e-6] and the sum is within `tol` of 1.
#[inline(always)]
pub fn row_ok(row: &[f64], tol: f64) -> bool {
    let mut sum = 0.0;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &v in row {
        sum += v;
        lo = if v < lo { v } else { lo };
        hi = if v > hi { v } else { hi };
    }
    // NaN or inf anywhere makes `sum` non-finite.
    sum.is_finite() && lo >= 0.0 && hi <= 1.0 + ABOVE_ONE_TOL && (sum - 1.0).abs() <= tol
}

/// The error for a row that failed `row_ok`, naming the first problem in a fixed order.
pub fn row_error(i: usize, row: &[f64], tol: f64) -> Error {
    if let Some(j) = row.iter().position(|v| !v.is_finite()) {
        return Error::PredProbs(format!(
            "pred_probs row {i} contains a non-finite value (NaN or inf) at column {j}"
        ));
    }
    if let Some(j) = row.iter().position(|&v| v < 0.0) {
        return Error::PredProbs(format!(
            "pred_probs row {i} has a negative value at column {j}; expected probabilities in [0, 1]"
        ));
    }
    if let Some(j) = row.iter().position(|&v| v > 1.0 + ABOVE_ONE_TOL) {
        return Error::PredProbs(format!(
            "pred_probs row {i} has a value greater than 1 at column {j}; expected probabilities in [0, 1]"
        ));
    }
    let sum: f64 = row.iter().sum();
    Error::PredProbs(format!(
        "pred_probs row {i} sums to {sum:.6}, expected 1 within {}; pass probabilities (softmax outputs), not logits or scores",
        fmt_g(tol)
    ))
}

/// Python's `{:g}` for the tolerances we print (so both backends word messages alike).
fn fmt_g(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e16) {
        let s = format!("{x:e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let exp: i32 = e.parse().unwrap_or(0);
                format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
            }
            None => s,
        }
    } else {
        format!("{x}")
    }
}

/// Smallest bad row index seen so far (for merging per-chunk results).
pub fn first_bad(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Check every row of `pred_probs`.
pub fn check_pred_probs<T: Prob>(pred_probs: ArrayView2<'_, T>, tol: f64) -> Result<()> {
    let rows = Rows::new(pred_probs);
    let n = rows.n();
    let par = parallel::worth_parallel(n * rows.k());
    let bad = parallel::map_reduce(
        n,
        par,
        || None,
        |acc: &mut Option<usize>, range| {
            if acc.is_some() {
                return;
            }
            let mut buf = vec![0.0; rows.k()];
            for i in range {
                if !row_ok(rows.row(i, &mut buf), tol) {
                    *acc = Some(i);
                    return;
                }
            }
        },
        first_bad,
    );
    report_bad_row(&rows, bad, tol)
}

/// Turn the index of the first failing row (if any) into the error naming it.
pub fn report_bad_row<T: Prob>(rows: &Rows<'_, T>, bad: Option<usize>, tol: f64) -> Result<()> {
    match bad {
        None => Ok(()),
        Some(i) => {
            let mut buf = vec![0.0; rows.k()];
            Err(row_error(i, rows.row(i, &mut buf), tol))
        }
    }
}

/// Labels must index a column of `pred_probs` and match its length.
pub fn check_labels<L: Label>(labels: ArrayView1<'_, L>, n: usize, k: usize) -> Result<()> {
    if labels.len() != n {
        return Err(Error::Labels(format!(
            "labels has length {} but pred_probs has {n} rows; expected the same length",
            labels.len()
        )));
    }
    if let Some((i, _)) = labels.iter().enumerate().find(|(_, l)| l.class() >= k) {
        return Err(Error::Labels(format!(
            "labels[{i}] is outside 0..{}; expected class indices below pred_probs.shape[1] = {k}",
            k - 1
        )));
    }
    Ok(())
}
