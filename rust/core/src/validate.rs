//! Checks of the contents of `pred_probs` (finite, in [0, 1], rows summing to 1) and of labels.
//!
//! Kernels fuse `row_ok` into their first pass; the first bad row (smallest index) is reported,
//! whichever thread met it, so the error is the same for any thread count.

use crate::data::{Label, Native, Prob, Rows};
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

/// First row of a flat block of rows `start..end` (length `k` each) that fails `row_ok`.
///
/// Same verdict as `row_ok` on every row. One read of the block (`quick_scan`) gives its range
/// and each row's sum in lanes (`native_lanes`); when the block lies in [0, 1 + 1e-6], every
/// row whose quick sum is clear of the tolerance by more than any difference in rounding
/// passes, and only from the first row that is not is the block summed again left to right
/// (`exact_sums`): a row then passes iff that sum is finite and within `tol` of 1 (NaN makes it
/// NaN). A block out of range is re-checked row by row with `row_ok`.
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
    let (lo, hi, unsure) = if k == 0 {
        (f64::NAN, f64::NAN, None)
    } else {
        quick_scan(flat, k, tol)
    };
    if !(lo >= 0.0 && hi <= 1.0 + ABOVE_ONE_TOL) {
        let mut buf = vec![0.0; k];
        return (start..end).find(|&i| {
            let r = i - start;
            !row_ok(
                crate::data::row_f64(&flat[r * k..(r + 1) * k], &mut buf),
                tol,
            )
        });
    }
    let r = unsure?;
    exact_sums(&flat[r * k..], start + r, k, tol)
}

/// One read of a block of rows of length `k > 0`: its smallest and largest value (NaN
/// ignored) and the first row that `QuickCheck` does not pass for sure. The range is kept in
/// lanes across rows (only the sums are reduced per row), which matters for narrow rows.
#[inline(always)]
fn quick_scan<T: Prob>(flat: &[T], k: usize, tol: f64) -> (f64, f64, Option<usize>) {
    if native_lanes::<T>(k) {
        quick_scan_in::<T, T::Native, 8>(flat, k, tol, T::native)
    } else {
        quick_scan_in::<T, f64, 4>(flat, k, tol, T::to_f64)
    }
}

/// Whether rows of `k` values of `T` are reduced in `Prob::LANES` lanes of their native type
/// (f32 rows of more than 16 values) rather than in four lanes of f64: for narrower f32 rows
/// the conversions measured faster (10M x 10: 3-10% on the joint pass and the scores).
/// `Prob::LANES` serves as the flag: the lane counts themselves are written where they are
/// used (const generics cannot take it), so only 4 and 8 are supported.
#[inline(always)]
pub fn native_lanes<T: Prob>(k: usize) -> bool {
    T::LANES == 8 && k > 16
}

/// `quick_scan` in `L` lanes of `N`, the values converted by `conv`.
#[inline(always)]
fn quick_scan_in<T: Prob, N: Native, const L: usize>(
    flat: &[T],
    k: usize,
    tol: f64,
    conv: impl Fn(T) -> N + Copy,
) -> (f64, f64, Option<usize>) {
    let check = QuickCheck::new::<T>(k, tol);
    let mut lo = [N::INFINITY; L];
    let mut hi = [N::NEG_INFINITY; L];
    let mut unsure = None;
    for (r, row) in flat.chunks_exact(k).enumerate() {
        let sum = add_lanes(row, &mut lo, &mut hi, conv);
        if !check.sum_ok(sum) && unsure.is_none() {
            unsure = Some(r);
        }
    }
    (min_of(lo), max_of(hi), unsure)
}

/// Take a row's values, converted to `N` by `conv`, into running minima and maxima (NaN
/// ignored) kept in `L` lanes; returns the row's sum, added in the same lanes and type, then
/// as a tree of the lanes (`lane_tree`).
#[inline(always)]
fn add_lanes<T: Prob, N: Native, const L: usize>(
    row: &[T],
    lo: &mut [N; L],
    hi: &mut [N; L],
    conv: impl Fn(T) -> N,
) -> f64 {
    let mut s = [N::ZERO; L];
    let chunks = row.chunks_exact(L);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            let v = conv(ch[l]);
            s[l] = s[l] + v;
            lo[l] = if v < lo[l] { v } else { lo[l] };
            hi[l] = if v > hi[l] { v } else { hi[l] };
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        let v = conv(x);
        s[l] = s[l] + v;
        lo[l] = if v < lo[l] { v } else { lo[l] };
        hi[l] = if v > hi[l] { v } else { hi[l] };
    }
    lane_tree(s, |a, b| a + b).into_f64()
}

/// `L` lanes (4 or 8) combined pairwise, neighbours first: `log2(L)` levels, so
/// `((s0 + s1) + (s2 + s3))` for four lanes.
#[inline(always)]
pub(crate) fn lane_tree<N: Copy, const L: usize>(s: [N; L], f: impl Fn(N, N) -> N) -> N {
    debug_assert!(L == 4 || L == 8);
    let half = |o: usize| f(f(s[o], s[o + 1]), f(s[o + 2], s[o + 3]));
    if L == 8 {
        f(half(0), half(4))
    } else {
        half(0)
    }
}

#[inline(always)]
fn min_of<N: Native, const L: usize>(lanes: [N; L]) -> f64 {
    lanes
        .iter()
        .fold(N::INFINITY, |a, &b| if b < a { b } else { a })
        .into_f64()
}

#[inline(always)]
fn max_of<N: Native, const L: usize>(lanes: [N; L]) -> f64 {
    lanes
        .iter()
        .fold(N::NEG_INFINITY, |a, &b| if b > a { b } else { a })
        .into_f64()
}

/// `(max, min, sum)` of a row in one read (NaN ignored by max and min, not by the sum; max
/// and min are -inf and inf for an empty row), in the lanes `native_lanes` picks. The maximum
/// is `count::row_max`'s.
#[inline(always)]
pub fn row_stats<T: Prob>(row: &[T]) -> (f64, f64, f64) {
    if native_lanes::<T>(row.len()) {
        let mut lo = [T::Native::INFINITY; 8];
        let mut hi = [T::Native::NEG_INFINITY; 8];
        let sum = add_lanes_apart(row, &mut lo, &mut hi);
        (max_of(hi), min_of(lo), sum)
    } else {
        let mut lo = [f64::INFINITY; 4];
        let mut hi = [f64::NEG_INFINITY; 4];
        let sum = add_lanes(row, &mut lo, &mut hi, T::to_f64);
        (max_of(hi), min_of(lo), sum)
    }
}

/// `add_lanes`, not inlined: inlined into the kernels' row loops, the optimiser turned its f32
/// minima and maxima into compare-and-blend sequences with lane shuffles (f32 self_confidence
/// scores at 1M x 100 took 38 ms against 13.5 ms on two threads). `row_stats` runs on wide
/// rows only (`QuickRows`), where a call per row costs little.
#[inline(never)]
fn add_lanes_apart<T: Prob, const L: usize>(
    row: &[T],
    lo: &mut [T::Native; L],
    hi: &mut [T::Native; L],
) -> f64 {
    add_lanes(row, lo, hi, T::native)
}

/// The test of `row_ok` on `row_stats`, exact for the rows it passes: a kernel that reads
/// every value of a row anyway validates it on the way (one read of pred_probs, not two), and
/// sends the rows this does not pass for sure to `block_first_bad`.
///
/// The exact sum `s` of a row's `k` non-negative values is met by `row_ok`'s left-to-right f64
/// sum within `(k - 1) * u64 * s` (`u64` = 2^-53, the unit roundoff), and by `row_stats`' sum
/// within `m * u * s`: each value goes through at most `m = ceil(k / L) - 1 + log2(L)`
/// additions (its lane, then the tree of the `L` lanes) in the type `native_lanes` picks, of
/// unit roundoff `u` (2^-24 for f32: `L` = 8; 2^-53 for f64: `L` = 4).
/// So they differ by less than `2 * (m * u + k * u64) * max(sum, 1)` (the factor 2 covers
/// the second-order terms and `s` against the computed sum); a row in range whose quick sum
/// is within `tol` less that margin of 1 passes `row_ok`. Rows near the tolerance, out of
/// range, NaN or inf are not passed. (For f32 rows of 100 values the margin is 1.8e-6.)
#[derive(Clone, Copy, Debug)]
pub struct QuickCheck {
    tol: f64,
    rel: f64,
}

impl QuickCheck {
    /// For rows of `k` values of type `T` and `row_ok`'s tolerance `tol`.
    pub fn new<T: Prob>(k: usize, tol: f64) -> Self {
        let (lanes, unit) = if native_lanes::<T>(k) {
            (T::LANES, T::Native::UNIT_ROUNDOFF)
        } else {
            (4, <f64 as Native>::UNIT_ROUNDOFF)
        };
        let lane_adds = (k.div_ceil(lanes) + lanes.ilog2() as usize).saturating_sub(1);
        let rel = 2.0 * (lane_adds as f64 * unit + k as f64 * <f64 as Native>::UNIT_ROUNDOFF);
        QuickCheck { tol, rel }
    }

    /// The sum part of the test (the caller checks the range).
    #[inline(always)]
    pub fn sum_ok(&self, sum: f64) -> bool {
        // NaN and inf sums fail.
        (sum - 1.0).abs() + self.rel * sum.max(1.0) <= self.tol
    }

    /// The row's maximum (as `count::row_max` finds it) and whether it surely passes `row_ok`.
    #[inline(always)]
    pub fn max_and_ok<T: Prob>(&self, row: &[T]) -> (f64, bool) {
        let (max, min, sum) = row_stats(row);
        let ok = (min >= 0.0) & (max <= 1.0 + ABOVE_ONE_TOL) & self.sum_ok(sum);
        (max, ok)
    }
}

/// How a kernel that reads every value of its rows validates them and finds each row's
/// maximum, which such kernels need. Per block: `begin`, then `max_of` on every row, then
/// `finish`; `begin` and `finish` give the block's first bad row, if any. A type, not a
/// flag, so that each kernel is built once for each kind and nothing is decided per row;
/// `with_rows_check!` picks the kind.
pub trait RowsCheck: Send + Sync + Copy {
    /// Before the block `flat` (rows `start..end` of length `k`) is used.
    #[inline(always)]
    fn begin<T: Prob>(
        &mut self,
        _flat: &[T],
        _start: usize,
        _end: usize,
        _k: usize,
    ) -> Option<usize> {
        None
    }

    /// The maximum of row `r` of the block (`count::row_max`).
    #[inline(always)]
    fn max_of<T: Prob>(&mut self, row: &[T], _r: usize) -> f64 {
        crate::count::row_max(row)
    }

    /// After `max_of` has seen every row of the block. Ready for the next block.
    #[inline(always)]
    fn finish<T: Prob>(
        &mut self,
        _flat: &[T],
        _start: usize,
        _end: usize,
        _k: usize,
    ) -> Option<usize> {
        None
    }
}

/// The `RowsCheck` for `rows` (`data::Rows`) and an optional tolerance, bound to `$c` for
/// `$body`, which is built once per kind: none without a tolerance (`NoCheck`); for wide rows
/// (`Rows::wide`) each row checked in the kernel's own read (`QuickRows`); for narrower rows,
/// whose per-row reductions would cost more than the memory they save, each block checked as
/// a whole before the kernel reads it (`BlockFirst`).
#[macro_export]
macro_rules! with_rows_check {
    ($rows:expr, $tol:expr, |$c:ident| $body:expr) => {
        match $tol {
            None => {
                let $c = $crate::validate::NoCheck;
                $body
            }
            Some(tol) if $rows.wide() => {
                let $c = $crate::validate::QuickRows::for_rows(&$rows, tol);
                $body
            }
            Some(tol) => {
                let $c = $crate::validate::BlockFirst { tol };
                $body
            }
        }
    };
}

/// Each block validated as a whole (`block_first_bad`) before the kernel reads it.
#[derive(Clone, Copy, Debug)]
pub struct BlockFirst {
    pub tol: f64,
}

impl RowsCheck for BlockFirst {
    #[inline]
    fn begin<T: Prob>(&mut self, flat: &[T], start: usize, end: usize, k: usize) -> Option<usize> {
        block_first_bad(flat, start, end, k, self.tol)
    }
}

/// Maxima only: the rows were validated before.
#[derive(Clone, Copy, Debug)]
pub struct NoCheck;

impl RowsCheck for NoCheck {}

/// Maxima, each row quick-checked in the same read; `finish` checks the block exactly from its
/// first row not passed for sure (validation fused into a kernel's pass: one read of
/// pred_probs, not two).
#[derive(Clone, Copy, Debug)]
pub struct QuickRows {
    quick: QuickCheck,
    tol: f64,
    unsure: Option<usize>,
}

impl QuickRows {
    /// For `rows` and `row_ok`'s tolerance `tol`.
    pub fn for_rows<T: Prob>(rows: &Rows<'_, T>, tol: f64) -> Self {
        QuickRows {
            quick: QuickCheck::new::<T>(rows.k(), tol),
            tol,
            unsure: None,
        }
    }
}

impl RowsCheck for QuickRows {
    #[inline(always)]
    fn max_of<T: Prob>(&mut self, row: &[T], r: usize) -> f64 {
        let (max, ok) = self.quick.max_and_ok(row);
        if !ok && self.unsure.is_none() {
            self.unsure = Some(r);
        }
        max
    }

    #[inline]
    fn finish<T: Prob>(&mut self, flat: &[T], start: usize, end: usize, k: usize) -> Option<usize> {
        let r = self.unsure.take()?;
        block_first_bad(&flat[r * k..], start + r, end, k, self.tol)
    }
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

/// First row of `flat` (rows of length `k > 0` in [0, 1 + 1e-6], the first numbered `start`)
/// whose left-to-right sum is not finite and within `tol` of 1.
#[inline(always)]
fn exact_sums<T: Prob>(flat: &[T], start: usize, k: usize, tol: f64) -> Option<usize> {
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
