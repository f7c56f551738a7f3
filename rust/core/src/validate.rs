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

/// Smallest and largest non-NaN value of a flat block, converted to f64 (8 independent lanes so
/// the loop vectorises; min and max are exact in any order).
#[inline]
pub fn block_range<T: Prob>(flat: &[T]) -> (f64, f64) {
    const L: usize = 8;
    let mut lo = [f64::INFINITY; L];
    let mut hi = [f64::NEG_INFINITY; L];
    let chunks = flat.chunks_exact(L);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            let v = ch[l].to_f64();
            lo[l] = if v < lo[l] { v } else { lo[l] };
            hi[l] = if v > hi[l] { v } else { hi[l] };
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        let v = x.to_f64();
        lo[l] = if v < lo[l] { v } else { lo[l] };
        hi[l] = if v > hi[l] { v } else { hi[l] };
    }
    let lo = lo
        .iter()
        .fold(f64::INFINITY, |a, &b| if b < a { b } else { a });
    let hi = hi
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    (lo, hi)
}

/// Sums of `R` consecutive rows of length `k` (`group.len() == R * k`), each added left to right
/// from 0.0 exactly as `row_ok` does; the `R` independent chains overlap in the pipeline.
#[inline(always)]
fn group_sums<T: Prob, const R: usize>(group: &[T], k: usize) -> [f64; R] {
    let mut s = [0.0f64; R];
    for j in 0..k {
        for (r, acc) in s.iter_mut().enumerate() {
            *acc += group[r * k + j].to_f64();
        }
    }
    s
}

#[inline(always)]
fn sum_ok(sum: f64, tol: f64) -> bool {
    sum.is_finite() && (sum - 1.0).abs() <= tol
}

/// First row of a flat block of rows `start..end` (length `k` each) that fails `row_ok`.
///
/// Same verdict as `row_ok` on every row: when the whole block lies in [0, 1 + 1e-6] every row
/// does, and a row then passes iff its left-to-right sum is finite and within `tol` of 1
/// (NaN makes that sum NaN); otherwise the block is re-checked row by row with `row_ok`.
#[inline]
pub fn block_first_bad<T: Prob>(
    flat: &[T],
    start: usize,
    end: usize,
    k: usize,
    tol: f64,
) -> Option<usize> {
    crate::by_width!(k, block_first_bad_w, [T], (flat, start, end, k, tol))
}

/// `block_first_bad` built for width `K` (see `data::width`).
#[inline]
fn block_first_bad_w<T: Prob, const K: usize>(
    flat: &[T],
    start: usize,
    end: usize,
    k: usize,
    tol: f64,
) -> Option<usize> {
    let k = crate::data::width::<K>(k);
    let (lo, hi) = block_range(flat);
    if k == 0 || !(lo >= 0.0 && hi <= 1.0 + ABOVE_ONE_TOL) {
        let mut buf = vec![0.0; k];
        return (start..end).find(|&i| {
            let r = i - start;
            !row_ok(
                crate::data::row_f64(&flat[r * k..(r + 1) * k], &mut buf),
                tol,
            )
        });
    }
    const R: usize = 8;
    let groups = flat.chunks_exact(R * k);
    let rest = groups.remainder();
    let mut i = start;
    for group in groups {
        let s = group_sums::<T, R>(group, k);
        if !s.iter().fold(true, |ok, &x| ok & sum_ok(x, tol)) {
            return (0..R).find(|&l| !sum_ok(s[l], tol)).map(|l| i + l);
        }
        i += R;
    }
    for row in rest.chunks_exact(k) {
        let mut sum = 0.0;
        for &v in row {
            sum += v.to_f64();
        }
        if !sum_ok(sum, tol) {
            return Some(i);
        }
        i += 1;
    }
    None
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
            let k = rows.k();
            *acc = rows.for_blocks(range, |s, e, flat| block_first_bad(flat, s, e, k, tol));
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

/// The smallest and largest label (saturated to i64, see `Label::value`), `None` when there are
/// none: one pass, in parallel on large inputs (the callers' range check of the labels, which a
/// serial `min` and `max` made a visible serial step at 10M labels).
pub fn label_range<L: Label>(labels: ArrayView1<'_, L>) -> Option<(i64, i64)> {
    let n = labels.len();
    if n == 0 {
        return None;
    }
    type Lanes = ([i64; 4], [i64; 4]);
    fn add(acc: &mut Lanes, lane: usize, v: i64) {
        acc.0[lane] = acc.0[lane].min(v);
        acc.1[lane] = acc.1[lane].max(v);
    }
    // Four lanes, so a contiguous run is folded four labels at a time; min and max are exact
    // in any order.
    fn fold<L: Label>(acc: &mut Lanes, run: &[L]) {
        let groups = run.chunks_exact(4);
        let rest = groups.remainder();
        for g in groups {
            for (lane, &l) in g.iter().enumerate() {
                add(acc, lane, l.value());
            }
        }
        for (lane, &l) in rest.iter().enumerate() {
            add(acc, lane, l.value());
        }
    }
    let (lo, hi) = parallel::map_reduce(
        n,
        parallel::worth_parallel(n),
        || ([i64::MAX; 4], [i64::MIN; 4]),
        |acc: &mut Lanes, range| match labels.as_slice() {
            Some(all) => fold(acc, &all[range]),
            None => range.for_each(|i| add(acc, 0, labels[i].value())),
        },
        |mut a, b| {
            for lane in 0..4 {
                a.0[lane] = a.0[lane].min(b.0[lane]);
                a.1[lane] = a.1[lane].max(b.1[lane]);
            }
            a
        },
    );
    Some((
        lo.into_iter().min().unwrap_or(i64::MAX),
        hi.into_iter().max().unwrap_or(i64::MIN),
    ))
}

/// Labels must index a column of `pred_probs` and match its length.
pub fn check_labels<L: Label>(labels: ArrayView1<'_, L>, n: usize, k: usize) -> Result<()> {
    if labels.len() != n {
        return Err(Error::Labels(format!(
            "labels has length {} but pred_probs has {n} rows; expected the same length",
            labels.len()
        )));
    }
    // One (parallel) pass for the range; the offending index only when there is one.
    let in_range = label_range(labels)
        .is_none_or(|(lo, hi)| lo >= 0 && usize::try_from(hi).is_ok_and(|hi| hi < k));
    if in_range {
        return Ok(());
    }
    if let Some((i, _)) = labels.iter().enumerate().find(|(_, l)| l.class() >= k) {
        return Err(Error::Labels(format!(
            "labels[{i}] is outside 0..{}; expected class indices below pred_probs.shape[1] = {k}",
            k - 1
        )));
    }
    Ok(())
}
