//! Confident thresholds, the confident joint and its calibration (cleanlab 2.9 `count`).

use crate::data::{classes_into, Label, Native, Prob, Rows};
use crate::error::{Error, Result};
use crate::mask::{mask64, mask64_scalar};
use crate::parallel;
use crate::validate::{block_first_bad, first_bad, report_bad_row, RowsCheck};
use ndarray::{Array2, ArrayView1, ArrayView2};
use std::hint::select_unpredictable;

/// Threshold of a class with no examples: no probability can reach it.
pub const MISSING_CLASS_THRESHOLD: f64 = 2.0;
/// Thresholds are clipped below at this value.
pub const THRESHOLD_FLOOR: f64 = 2e-6;
/// A class is confident when `p >= t - CONFIDENCE_SLACK`.
pub const CONFIDENCE_SLACK: f64 = 1e-6;
/// The given label's probability is boosted by this much before the argmax veto.
pub const VETO_BOOST: f64 = 1e-6;

/// Scale of the fixed-point exact sum: values are truncated to multiples of 2^-87.
const FIXED_BITS: i32 = 87;

/// `trunc(v * 2^87)` for finite `v` in [0, 2), by bit manipulation (no float-to-int128 call).
#[inline(always)]
pub fn fixed87(v: f64) -> i128 {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 || bits >> 63 == 1 {
        return 0;
    }
    let mant = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    // v = mant * 2^(exp - 1075), so v * 2^87 = mant * 2^(exp - 1075 + 87).
    let shift = exp - 1075 + FIXED_BITS;
    if shift >= 0 {
        i128::from(mant) << shift
    } else if shift > -64 {
        i128::from(mant >> (-shift))
    } else {
        0
    }
}

/// `fixed87(v)` as two exact integer parts, `(trunc(v * 2^35), trunc(frac(v * 2^35) * 2^52))`,
/// so that `fixed87(v) == (hi << 52) + lo` for finite `v` in [0, 2): scaling by a power of two
/// and taking the fraction are exact, and truncating `v * 2^87` keeps the integer part of
/// `v * 2^35` whole. Two float-to-integer conversions and no branches, so a run of rows can
/// be summed in u64 (see `PartSums`).
#[inline(always)]
pub fn fixed87_parts(v: f64) -> (u64, u64) {
    const SCALE_HI: f64 = (1u64 << 35) as f64;
    const SCALE_LO: f64 = (1u64 << 52) as f64;
    let a = v * SCALE_HI;
    let hi = a as i64;
    let lo = ((a - hi as f64) * SCALE_LO) as i64;
    (hi as u64, lo as u64)
}

/// Exact per-class sums of the given-label probability and per-class counts (mergeable).
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdSums {
    pub sums: Vec<i128>,
    pub counts: Vec<u64>,
}

impl ThresholdSums {
    pub fn new(k: usize) -> Self {
        ThresholdSums {
            sums: vec![0; k],
            counts: vec![0; k],
        }
    }

    pub fn merge(mut self, other: ThresholdSums) -> Self {
        for (a, b) in self.sums.iter_mut().zip(other.sums) {
            *a += b;
        }
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self
    }

    /// Mean per class (exact sum rounded once), 2.0 for absent classes, floored at 2e-6.
    pub fn thresholds(&self) -> Vec<f64> {
        let scale = 2f64.powi(-FIXED_BITS);
        self.sums
            .iter()
            .zip(&self.counts)
            .map(|(&s, &c)| {
                let t = if c == 0 {
                    MISSING_CLASS_THRESHOLD
                } else {
                    (s as f64) * scale / (c as f64)
                };
                t.max(THRESHOLD_FLOOR)
            })
            .collect()
    }
}

/// Pass 1: validate every row and accumulate the threshold sums.
pub fn threshold_sums<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    tol: f64,
) -> Result<ThresholdSums> {
    let rows = Rows::new(pred_probs);
    let k = rows.k();
    let par = parallel::worth_parallel(rows.n() * k);
    let (sums, bad) = parallel::map_reduce(
        rows.n(),
        par,
        || (ThresholdSums::new(k), None),
        |(acc, bad): &mut (ThresholdSums, Option<usize>), range| {
            if bad.is_some() {
                return;
            }
            let mut cls = Vec::new();
            let mut parts = PartSums::new(k);
            *bad = rows.for_blocks(range, |start, end, flat| {
                // Validate the whole sub-block first (vectorised), then add its given-label values.
                if let Some(b) = block_first_bad(flat, start, end, k, tol) {
                    return Some(b);
                }
                classes_into(labels, start..end, &mut cls);
                if parts.rows + cls.len() > PartSums::MAX_ROWS {
                    parts.fold_into(acc);
                }
                crate::by_width!(k, add_given, [T], (flat, &cls, k, acc, &mut parts));
                None
            });
            parts.fold_into(acc);
        },
        |(a, ba), (b, bb)| (a.merge(b), first_bad(ba, bb)),
    );
    report_bad_row(&rows, bad, tol)?;
    Ok(sums)
}

/// Given-label sums of a run of rows as `fixed87_parts` added in u64, one pair per class:
/// cheaper than an i128 addition per row. Folded into a `ThresholdSums` at most every
/// `MAX_ROWS` rows, before either part can overflow.
struct PartSums {
    parts: Vec<(u64, u64)>,
    rows: usize,
}

impl PartSums {
    /// `MAX_ROWS * 2^52 <= 2^64` (low parts are below 2^52, high parts below 2^36).
    const MAX_ROWS: usize = 4096;

    fn new(k: usize) -> Self {
        PartSums {
            parts: vec![(0, 0); k],
            rows: 0,
        }
    }

    /// Add one given-label value `v` of class `c` (the caller folds before `MAX_ROWS`).
    #[inline(always)]
    fn add(&mut self, acc: &mut ThresholdSums, c: usize, v: f64) {
        let (hi, lo) = fixed87_parts(v);
        let p = &mut self.parts[c];
        // Wrapping: the values of rows that fail validation (negative or NaN) are discarded.
        p.0 = p.0.wrapping_add(hi);
        p.1 = p.1.wrapping_add(lo);
        acc.counts[c] += 1;
    }

    fn fold_into(&mut self, acc: &mut ThresholdSums) {
        for (sum, (hi, lo)) in acc.sums.iter_mut().zip(self.parts.iter_mut()) {
            *sum += (i128::from(*hi) << 52) + i128::from(*lo);
            (*hi, *lo) = (0, 0);
        }
        self.rows = 0;
    }
}

/// Add each row's given-label value to its class's sum (width `K`, see `data::width`); the
/// caller folds `parts` before it would pass `PartSums::MAX_ROWS` rows.
#[inline]
fn add_given<T: Prob, const K: usize>(
    flat: &[T],
    cls: &[usize],
    k: usize,
    acc: &mut ThresholdSums,
    parts: &mut PartSums,
) {
    let k = crate::data::width::<K>(k);
    debug_assert!(parts.rows + cls.len() <= PartSums::MAX_ROWS);
    parts.rows += cls.len();
    for (row, &c) in flat.chunks_exact(k.max(1)).zip(cls) {
        parts.add(acc, c, row[c].to_f64());
    }
}

/// The threshold sums from the given-label values alone, gathered one per row (no other value
/// is read, and none is validated: see `thresholds_for_joint`).
fn given_sums<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
) -> ThresholdSums {
    let rows = Rows::new(pred_probs);
    let k = rows.k();
    parallel::map_reduce(
        rows.n(),
        parallel::worth_parallel(rows.n() * k),
        || ThresholdSums::new(k),
        |acc: &mut ThresholdSums, range| {
            let mut cls = Vec::new();
            let mut given = Vec::new();
            let mut parts = PartSums::new(k);
            let mut s = range.start;
            while s < range.end {
                let e = (s + PartSums::MAX_ROWS).min(range.end);
                classes_into(labels, s..e, &mut cls);
                // A loop of loads alone, so that they overlap; then the sums.
                given.clear();
                given.extend((s..e).zip(&cls).map(|(i, &c)| rows.get(i, c)));
                for (&c, &v) in cls.iter().zip(&given) {
                    parts.add(acc, c, v);
                }
                parts.fold_into(acc);
                s = e;
            }
        },
        ThresholdSums::merge,
    )
}

/// Thresholds for a joint pass over the same rows, and the tolerance that pass must validate
/// them with, if any (for `joint_pass`'s `validate`).
///
/// Wide rows (`Rows::wide`) span several cache lines, of which the thresholds need one: their
/// given-label values are gathered, and validation is left to the joint pass, which reads every
/// value anyway. pred_probs is then read once instead of twice: at 1M x 100 on two threads,
/// `confident_joint` went from about 60 to 41 ms. Narrower rows are read whole by any gather,
/// so their thresholds come from the validating `threshold_sums`, and the joint pass need not
/// validate.
pub fn thresholds_for_joint<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    tol: f64,
) -> Result<(Vec<f64>, Option<f64>)> {
    if Rows::new(pred_probs).wide() {
        Ok((given_sums(labels, pred_probs).thresholds(), Some(tol)))
    } else {
        Ok((confident_thresholds(labels, pred_probs, tol)?, None))
    }
}

/// Per-class confident thresholds (cleanlab `get_confident_thresholds`).
pub fn confident_thresholds<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    tol: f64,
) -> Result<Vec<f64>> {
    Ok(threshold_sums(labels, pred_probs, tol)?.thresholds())
}

/// What the confident-joint pass decides about one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowVerdict {
    /// Guessed true label, or `None` when no class is confident.
    pub guess: Option<usize>,
    /// The 1e-6-boosted argmax equals the given label (never an issue for most filters).
    pub vetoed: bool,
}

/// Classify one row: confident classes against `t - 1e-6`, cleanlab's global-argmax rule when
/// several are confident, and the boosted-argmax veto.
#[inline(always)]
pub fn row_verdict(row: &[f64], given: usize, cut: &[f64]) -> RowVerdict {
    let mut n_conf = 0u32;
    let mut last_conf = 0usize;
    let mut arg = 0usize;
    let mut best = f64::NEG_INFINITY;
    for (j, (&p, &c)) in row.iter().zip(cut).enumerate() {
        if p >= c {
            n_conf += 1;
            last_conf = j;
        }
        if p > best {
            best = p;
            arg = j;
        }
    }
    let guess = match n_conf {
        0 => None,
        1 => Some(last_conf),
        _ => Some(arg),
    };
    RowVerdict {
        guess,
        vetoed: boosted_argmax(row, given) == given,
    }
}

/// argmax of the row after adding 1e-6 to the given label's entry (first maximum wins).
#[inline(always)]
pub fn boosted_argmax(row: &[f64], given: usize) -> usize {
    let mut arg = 0usize;
    let mut best = f64::NEG_INFINITY;
    for (j, &p) in row.iter().enumerate() {
        let v = if j == given { p + VETO_BOOST } else { p };
        if v > best {
            best = v;
            arg = j;
        }
    }
    arg
}

/// argmax with the first maximum winning (numpy semantics on NaN-free rows).
#[inline(always)]
pub fn argmax(row: &[f64]) -> usize {
    let mut arg = 0usize;
    let mut best = f64::NEG_INFINITY;
    for (j, &p) in row.iter().enumerate() {
        if p > best {
            best = p;
            arg = j;
        }
    }
    arg
}

/// `boosted_argmax(row, given) == given` from the row's first maximum `arg` and its value `best`
/// (`p_given` = the row's given-label value): with the first maximum before `given` the boosted
/// value must beat it, after `given` it must reach it; NaN-free rows only.
#[inline(always)]
fn vetoed_by(arg: usize, best: f64, given: usize, p_given: f64) -> bool {
    let boosted = p_given + VETO_BOOST;
    (arg == given) | ((arg < given) & (best < boosted)) | ((arg > given) & (best <= boosted))
}

/// `boosted_argmax(row, given) == given` on a NaN-free row, from its maximum (a vectorised
/// reduction, see `veto_at_max`) instead of a scan whose every step waits on the previous
/// maximum.
#[inline(always)]
pub fn is_vetoed<T: Prob>(row: &[T], given: usize) -> bool {
    veto_at_max(row, row_max(row), given, row[given].to_f64())
}

/// `is_vetoed` from the row's maximum `best` and given-label value `p_given`. The position of
/// the maximum matters only when it ties the boosted value `p_given + 1e-6` exactly (or the
/// boost is lost to rounding), so only those rare rows are scanned for it. Otherwise the veto is
/// `best < boosted`: a maximum above `boosted` (> `p_given`) is not at `given`, so the boosted
/// argmax is not `given`; one below it leaves `given` the boosted argmax wherever it is.
#[inline(always)]
pub fn veto_at_max<T: Prob>(row: &[T], best: f64, given: usize, p_given: f64) -> bool {
    let boosted = p_given + VETO_BOOST;
    if best == boosted || boosted == p_given {
        vetoed_by(first_max(row, best), best, given, p_given)
    } else {
        best < boosted
    }
}

/// `row_verdict(..).guess` (class `0` when none is confident) from `scan_conf`'s results: the
/// last confident class when it is the only one, else the first maximum (cleanlab's
/// global-argmax rule), looked for only then.
#[inline(always)]
pub fn guess_at<T: Prob>(row: &[T], n_conf: u32, last_conf: usize, best: f64) -> usize {
    if n_conf > 1 {
        first_max(row, best)
    } else {
        last_conf
    }
}

#[inline(always)]
fn max2<N: PartialOrd>(a: N, b: N) -> N {
    if b > a {
        b
    } else {
        a
    }
}

/// Maximum of a row (NaN ignored; -inf for an empty row) in independent lanes, those
/// `validate::native_lanes` picks, reduced as a tree (short dependency chains, vectorisable);
/// a maximum is exact in any order and type.
#[inline(always)]
pub fn row_max<T: Prob>(row: &[T]) -> f64 {
    if crate::validate::native_lanes::<T>(row.len()) {
        row_max_in::<T, T::Native, 8>(row, T::native)
    } else {
        row_max_in::<T, f64, 4>(row, T::to_f64)
    }
}

/// `row_max` in `L` lanes of `N`, the values converted by `conv`.
#[inline(always)]
fn row_max_in<T: Prob, N: Native, const L: usize>(row: &[T], conv: impl Fn(T) -> N) -> f64 {
    let mut m = [N::NEG_INFINITY; L];
    let chunks = row.chunks_exact(L);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            m[l] = max2(m[l], conv(ch[l]));
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        m[l] = max2(m[l], conv(v));
    }
    crate::validate::lane_tree(m, max2).into_f64()
}

/// One pass over a row (after its maximum) with the cuts `t - 1e-6` per class:
/// `(n_conf, last_conf, best)`, the number of confident classes capped at 2 (the rules only tell
/// 0, 1 and several apart), the last confident class and the maximum (see `confident_classes`).
/// With `guess_at` and `veto_at_max` this gives `row_verdict` on NaN-free rows, which
/// validation guarantees; the first maximum only matters for rows with several confident
/// classes, or whose maximum ties the boosted given-label value, so those two look for it only
/// then.
#[inline(always)]
pub fn scan_conf<T: Prob>(row: &[T], cut: &[T::Native]) -> (u32, usize, f64) {
    let (n_conf, last_conf) = confident_classes(row, cut);
    (n_conf, last_conf, row_max(row))
}

/// `scan_conf` without the maximum: `(n_conf, last_conf)`. Confident classes are collected as
/// bit masks (branch-free), so the last one is a bit scan.
#[inline(always)]
pub fn confident_classes<T: Prob>(row: &[T], cut: &[T::Native]) -> (u32, usize) {
    // Rows and cuts have the same length (K); slicing the cuts to the row keeps that length a
    // compile-time constant in kernels built for one width.
    let cut = &cut[..row.len()];
    let mut n_conf = 0u32;
    let mut last_conf = 0usize;
    for (w, (pw, cw)) in row.chunks(64).zip(cut.chunks(64)).enumerate() {
        let conf = mask64(pw, cw, |p, c| p.native() >= c);
        // Only 0, 1 or "several" matters. Selects, not branches: which case a row is in is data.
        n_conf += u32::from(conf != 0) + u32::from(conf & conf.wrapping_sub(1) != 0);
        let hi = (w * 64 + 63).wrapping_sub(conf.leading_zeros() as usize);
        last_conf = select_unpredictable(conf != 0, hi, last_conf);
    }
    (n_conf, last_conf)
}

/// The first position of `best`, the row's maximum, as numpy's argmax finds it on a NaN-free
/// row (0 for a row without a value above -inf, which validation rejects).
#[inline(always)]
pub fn first_max<T: Prob>(row: &[T], best: f64) -> usize {
    if best == f64::NEG_INFINITY {
        return 0;
    }
    if crate::validate::native_lanes::<T>(row.len()) {
        // `best` is one of the row's values, so it converts back exactly.
        let best = T::cut_up(best);
        for (w, pw) in row.chunks(64).enumerate() {
            let top = mask64_scalar(pw, best, |p, b| p.native() == b);
            if top != 0 {
                return w * 64 + top.trailing_zeros() as usize;
            }
        }
    } else {
        for (w, pw) in row.chunks(64).enumerate() {
            let top = mask64_scalar(pw, best, |p, b| p.to_f64() == b);
            if top != 0 {
                return w * 64 + top.trailing_zeros() as usize;
            }
        }
    }
    0
}

/// Result of the confident-joint pass.
#[derive(Clone, Debug)]
pub struct JointPass {
    /// Uncalibrated counts, rows = given label, columns = guessed label (diagonal not yet forced).
    pub counts: Vec<u64>,
    /// While a pass with many more cells than rows runs (see `JointPass::for_rows`): each
    /// counted row's cell `given * K + guess`, added to `counts` once at the end, so the threads
    /// do not each hold a K x K table. Empty otherwise and after the pass.
    cells: Option<Vec<u32>>,
    /// Sorted off-diagonal row indices (only when asked for).
    pub off_diagonal: Vec<usize>,
    /// Off-diagonal rows that survive the argmax veto (cleanlab's `off_diagonal` issue count).
    pub issues: u64,
    /// With a `Collect`: every row whose key is in its band (`lo <= key <= cap`), as an ordered
    /// (key, index) integer (`select::encode`), in no particular order.
    pub collected: Vec<u128>,
    /// With a `Collect`: how many rows had a key below `lo` (marked, not collected).
    pub sure: u64,
    /// In a pass that validates, the first row that failed (the smallest index of any part).
    bad: Option<usize>,
}

/// What `joint_pass_collecting` gathers besides the joint: the rows whose score is below `lo`
/// are marked, those from `lo` to `cap` collected.
pub struct Collect<'a> {
    pub scorer: &'a crate::rank::Scorer,
    pub lo: f64,
    pub cap: f64,
}

/// Pass 2: count the confident joint; optionally collect the off-diagonal indices. With
/// `validate`, every row is validated first with that tolerance (see `thresholds_for_joint`),
/// and the first bad row is the error.
pub fn joint_pass<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    thresholds: &[f64],
    want_indices: bool,
    validate: Option<f64>,
) -> Result<JointPass> {
    let n = pred_probs.nrows();
    joint_pass_marking(
        labels,
        pred_probs,
        thresholds,
        want_indices,
        None,
        validate,
        &mut vec![(); n],
    )
}

/// `joint_pass` that also gathers the rows `collect` asks for (the low_* rules select among
/// them once the pass has counted how many to flag): rows below its `lo` are set in `sure`
/// (one entry per row, all false on entry), those in its band are `collected`.
pub fn joint_pass_collecting<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    thresholds: &[f64],
    collect: &Collect<'_>,
    validate: Option<f64>,
    sure: &mut [bool],
) -> Result<JointPass> {
    assert_eq!(sure.len(), pred_probs.nrows(), "one sure entry per row");
    joint_pass_marking(
        labels,
        pred_probs,
        thresholds,
        false,
        Some(collect),
        validate,
        sure,
    )
}

/// `joint_pass` that also records each row's argmax veto (`boosted_argmax == given`, which
/// the pass works out for every row anyway) as the bit `VETOED_BIT` of its entry in `vetoed`
/// (one per row; other bits are left alone), so that a later pass over the rows need not
/// scan them again for it.
pub fn joint_pass_vetoes<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    thresholds: &[f64],
    validate: Option<f64>,
    vetoed: &mut [u8],
) -> Result<JointPass> {
    assert_eq!(vetoed.len(), pred_probs.nrows(), "one veto entry per row");
    joint_pass_marking(
        labels, pred_probs, thresholds, false, None, validate, vetoed,
    )
}

/// The bit `joint_pass_vetoes` sets for a vetoed row.
pub const VETOED_BIT: u8 = 1;

/// What the joint pass records per row: for a row below a `Collect`'s band (`mark`), and its
/// veto. `bool` takes the marks, `u8` the vetoes, `()` nothing (no memory).
trait RowMark: Send {
    #[inline(always)]
    fn mark(&mut self) {}
    #[inline(always)]
    fn veto(&mut self, _vetoed: bool) {}
}

impl RowMark for bool {
    #[inline(always)]
    fn mark(&mut self) {
        *self = true;
    }
}

impl RowMark for () {}

/// A row's flag byte, in which the joint pass sets `VETOED_BIT`.
impl RowMark for u8 {
    #[inline(always)]
    fn veto(&mut self, vetoed: bool) {
        *self |= u8::from(vetoed) * VETOED_BIT;
    }
}

/// The joint pass behind `joint_pass`, `joint_pass_collecting` and `joint_pass_vetoes`: `marks`
/// holds one entry per row.
fn joint_pass_marking<T: Prob, L: Label, M: RowMark>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    thresholds: &[f64],
    want_indices: bool,
    collect: Option<&Collect<'_>>,
    validate: Option<f64>,
    marks: &mut [M],
) -> Result<JointPass> {
    let rows = Rows::new(pred_probs);
    let k = rows.k();
    let pass = JointBlocks {
        labels,
        rows: &rows,
        cut: native_cuts::<T>(thresholds),
        want_indices,
        collect,
    };
    let mut out = crate::with_rows_check!(rows, validate, |check| pass.run(check, marks));
    if let Some(tol) = validate {
        report_bad_row(&rows, out.bad, tol)?;
    }
    out.tally(k);
    out.off_diagonal.sort_unstable();
    Ok(out)
}

/// What every block of a joint pass shares.
struct JointBlocks<'a, 'r, T: Prob, L: Label> {
    labels: ArrayView1<'a, L>,
    rows: &'r Rows<'a, T>,
    cut: Vec<T::Native>,
    want_indices: bool,
    collect: Option<&'r Collect<'r>>,
}

impl<T: Prob, L: Label> JointBlocks<'_, '_, T, L> {
    /// The pass over every row, with each row's maximum from `check` (which validates the rows
    /// on the way, or not): the counts are not yet tallied nor the indices sorted.
    fn run<M: RowMark, C: RowsCheck>(&self, check: C, marks: &mut [M]) -> JointPass {
        let (rows, k) = (self.rows, self.rows.k());
        parallel::map_reduce_out(
            marks,
            parallel::worth_parallel(rows.n() * k),
            || JointPass::for_rows(k, rows.n()),
            |acc: &mut JointPass, start, out| {
                if acc.bad.is_some() {
                    return;
                }
                let mut cls = Vec::new();
                let mut check = check;
                acc.bad = rows.for_blocks(start..start + out.len(), |first, end, flat| {
                    if let Some(b) = check.begin(flat, first, end, k) {
                        return Some(b);
                    }
                    classes_into(self.labels, first..end, &mut cls);
                    let block = JointBlock {
                        flat,
                        cls: &cls,
                        start: first,
                        cut: &self.cut,
                        want_indices: self.want_indices,
                        collect: self.collect,
                    };
                    let out = &mut out[first - start..end - start];
                    crate::by_width!(k, joint_block, [T, M, C], (&block, k, acc, &mut check, out));
                    // What the pass counted of a bad block is dropped with the error.
                    check.finish(flat, first, end, k)
                });
            },
            JointPass::merge,
        )
    }
}

impl JointPass {
    /// Nothing counted yet, for K classes.
    pub fn new(k: usize) -> Self {
        JointPass {
            counts: vec![0; k * k],
            cells: None,
            off_diagonal: Vec::new(),
            issues: 0,
            collected: Vec::new(),
            sure: 0,
            bad: None,
        }
    }

    /// An accumulator for a pass over `n` rows: it lists the rows' cells instead of holding
    /// a K x K table when the table is more than twice the size of the list (e.g. 50,000 rows
    /// of 1,000 classes: 8 MB per thread against 200 KB in all).
    fn for_rows(k: usize, n: usize) -> Self {
        let cells = k * k;
        if cells > 2 * n && u32::try_from(cells).is_ok() {
            JointPass {
                counts: Vec::new(),
                cells: Some(Vec::new()),
                ..JointPass::new(0)
            }
        } else {
            JointPass::new(k)
        }
    }

    /// Count the listed cells into the K x K table (a no-op for a dense accumulator).
    fn tally(&mut self, k: usize) {
        if let Some(cells) = self.cells.take() {
            self.counts = vec![0; k * k];
            for c in cells {
                self.counts[c as usize] += 1;
            }
        }
    }

    /// Add another part's counts (the indices and collected rows are appended unsorted).
    pub fn merge(mut self, other: JointPass) -> Self {
        for (x, y) in self.counts.iter_mut().zip(other.counts) {
            *x += y;
        }
        if let (Some(a), Some(b)) = (self.cells.as_mut(), other.cells) {
            a.extend(b);
        }
        self.off_diagonal.extend(other.off_diagonal);
        self.issues += other.issues;
        self.collected.extend(other.collected);
        self.sure += other.sure;
        self.bad = first_bad(self.bad, other.bad);
        self
    }
}

/// Per class, the value a probability must reach to be confident: `threshold - 1e-6`.
pub fn confidence_cuts(thresholds: &[f64]) -> Vec<f64> {
    thresholds.iter().map(|t| t - CONFIDENCE_SLACK).collect()
}

/// `confidence_cuts` in the native type of `T` (`Prob::cut_up`): a value is confident by one
/// exactly when it is by the other.
pub fn native_cuts<T: Prob>(thresholds: &[f64]) -> Vec<T::Native> {
    confidence_cuts(thresholds)
        .into_iter()
        .map(T::cut_up)
        .collect()
}

/// One sub-block of rows for `joint_block`.
struct JointBlock<'a, T: Prob> {
    flat: &'a [T],
    cls: &'a [usize],
    start: usize,
    cut: &'a [T::Native],
    want_indices: bool,
    collect: Option<&'a Collect<'a>>,
}

/// The joint pass over one sub-block (width `K`, see `data::width`); `marks` holds one entry
/// per row of the block, which `check` validates on the way when it has a tolerance.
#[inline]
fn joint_block<T: Prob, M: RowMark, C: RowsCheck, const K: usize>(
    b: &JointBlock<'_, T>,
    k: usize,
    acc: &mut JointPass,
    check: &mut C,
    marks: &mut [M],
) {
    let k = crate::data::width::<K>(k);
    let cut = &b.cut[..k];
    let JointPass {
        counts,
        cells,
        off_diagonal,
        issues,
        collected,
        sure: sure_count,
        bad: _,
    } = acc;
    let mut buf = vec![0.0; if b.collect.is_some() { k } else { 0 }];
    // Rows of many classes try `on_diagonal` before the scan for confident classes; for a few
    // classes the scan is as cheap as that test.
    let wide = k >= ON_DIAGONAL_MIN_K;
    for ((row, &s), i) in b.flat.chunks_exact(k.max(1)).zip(b.cls).zip(b.start..) {
        if let Some(c) = b.collect {
            // Not `Scorer::score_row`: inlined here, its in-place normalized margin made the
            // extension's K = 10 joint pass (without `collect`) 15% slower.
            let key = c
                .scorer
                .score(crate::data::row_f64(row, &mut buf), s, &mut []);
            if key < c.lo {
                marks[i - b.start].mark();
                *sure_count += 1;
            } else if key <= c.cap {
                collected.push(crate::select::encode(key, i));
            }
        }
        let best = check.max_of(row, i - b.start);
        let p_given = row[s].to_f64();
        // `row_verdict`'s guess and veto, with the first maximum looked for only in the rows
        // that need it (0.3% at 1M x 100 in the benchmarks). Whether a row is counted is data:
        // a select, not a branch.
        let (counted, g) = if wide && on_diagonal(row, s, p_given, best, cut[s]) {
            (true, s)
        } else {
            let (n_conf, last_conf) = confident_classes(row, cut);
            (n_conf > 0, guess_at(row, n_conf, last_conf, best))
        };
        let vetoed = veto_at_max(row, best, s, p_given);
        match cells {
            // `for_rows` lists cells only when K * K fits in a u32.
            Some(cells) if counted => cells.push((s * k + g) as u32),
            Some(_) => {}
            None => counts[s * k + g] += u64::from(counted),
        }
        let off = counted & (g != s);
        if b.want_indices && off {
            off_diagonal.push(i);
        }
        marks[i - b.start].veto(vetoed);
        *issues += u64::from(off & !vetoed);
    }
}

/// Classes from which the joint pass tries `on_diagonal` first.
const ON_DIAGONAL_MIN_K: usize = 32;

/// True when the row's guess is surely its given class `s` without looking at the other
/// classes' cuts: `p[s]` is confident (`>= cut_s`) and the row's first maximum. Then `s` is
/// either the only confident class or, with several, the first maximum (cleanlab's
/// global-argmax rule). Most correctly labelled rows pass; the test reads `row[..s]` for a tie
/// with the maximum (without packing bits) instead of comparing every class with its cut.
#[inline(always)]
fn on_diagonal<T: Prob>(row: &[T], s: usize, p_given: f64, best: f64, cut_s: T::Native) -> bool {
    p_given == best && row[s].native() >= cut_s && {
        // `best` is one of the row's values, so it converts back exactly.
        let best = T::cut_up(best);
        !row[..s]
            .iter()
            .fold(false, |tie, v| tie | (v.native() == best))
    }
}

/// Uncalibrated counts as a (K, K) matrix with the diagonal forced to at least 1, in the
/// counts' own buffer (no second K x K allocation).
pub fn counts_to_matrix(counts: Vec<u64>, k: usize) -> Array2<i64> {
    assert_eq!(counts.len(), k * k, "counts must have K * K entries");
    let flat: Vec<i64> = counts
        .into_iter()
        .map(|x| i64::try_from(x).unwrap_or(i64::MAX))
        .collect();
    let mut cj = Array2::from_shape_vec((k, k), flat).unwrap_or_else(|_| Array2::zeros((k, k)));
    for d in 0..k {
        cj[[d, d]] = cj[[d, d]].max(1);
    }
    cj
}

/// Orders the entries of a short vector ascending; ties are the caller's business
/// (the bindings use numpy's own argsort so calibration ties resolve exactly as in cleanlab).
pub trait Argsort: Sync {
    fn argsort(&self, v: &[f64]) -> Vec<usize>;

    /// `argsort` of each row of a row-major matrix with rows of `len` entries, concatenated.
    /// Implementations may sort all rows in one call (the bindings make one numpy call).
    fn argsort_rows(&self, flat: &[f64], len: usize) -> Vec<usize> {
        flat.chunks_exact(len.max(1))
            .flat_map(|r| self.argsort(r))
            .collect()
    }
}

/// Stable ascending argsort (ties keep index order).
pub struct StableArgsort;

impl Argsort for StableArgsort {
    fn argsort(&self, v: &[f64]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        idx
    }
}

/// numpy's `np.round` (round half to even).
#[inline]
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// Round a vector to integers whose sum is the rounded sum of the floats, moving the entries
/// with the largest (or most negative) residuals.
pub fn round_preserving_sum(v: &[f64], sorter: &dyn Argsort) -> Vec<i64> {
    let mut ints = vec![0; v.len()];
    let rounding = Rounding::new(v);
    rounding.start(&mut ints);
    rounding.finish(&mut ints, sorter);
    ints
}

/// Rounding one vector preserving its rounded sum (cleanlab's `round_preserving_sum`): entries
/// start rounded half to even; while the total is off by `diff`, the |diff| entries with the
/// largest residuals go up one (or the most negative go down one), in the order of an argsort.
struct Rounding<'a> {
    v: &'a [f64],
    target: i64,
}

/// One move of a `Rounding`: the residuals and how far the total is off.
struct RoundingStep {
    resid: Vec<f64>,
    diff: i64,
}

impl<'a> Rounding<'a> {
    fn new(v: &'a [f64]) -> Self {
        let target = round_half_even(crate::latent::np_sum(v)) as i64;
        Rounding { v, target }
    }

    /// The entries rounded half to even, written into `ints`.
    fn start(&self, ints: &mut [i64]) {
        for (i, &x) in ints.iter_mut().zip(self.v) {
            *i = round_half_even(x) as i64;
        }
    }

    /// The next move, or None once `ints` has the target total.
    fn step(&self, ints: &[i64]) -> Option<RoundingStep> {
        let diff = self.target - ints.iter().sum::<i64>();
        (diff != 0).then(|| RoundingStep {
            resid: self
                .v
                .iter()
                .zip(ints)
                .map(|(&x, &r)| x - r as f64)
                .collect(),
            diff,
        })
    }

    /// Moves until the total is reached, sorting only when a tie decides.
    fn finish(&self, ints: &mut [i64], sorter: &dyn Argsort) {
        while let Some(step) = self.step(ints) {
            if !step.move_untied(ints) {
                move_in_order(ints, step.diff, &sorter.argsort(&step.resid));
            }
        }
    }
}

impl RoundingStep {
    /// Makes the move when the residuals alone decide it: no residual equal to the last one
    /// moved stays behind, so every sort of the residuals moves the same entries and none is
    /// needed. Returns false, moving nothing, when a tie straddles the boundary: then the sort's
    /// own order among equal residuals decides.
    fn move_untied(&self, ints: &mut [i64]) -> bool {
        let n = self.resid.len();
        let m = moves(self.diff, n);
        if self.resid.iter().any(|x| x.is_nan()) {
            return false;
        }
        let up = self.diff > 0;
        // The last entry to move, by position in the ascending order of residuals.
        let at = if up { n - m } else { m - 1 };
        let mut scratch = self.resid.clone();
        let (_, &mut edge, _) = scratch.select_nth_unstable_by(at, f64::total_cmp);
        let moving = |x: f64| if up { x >= edge } else { x <= edge };
        if self.resid.iter().filter(|&&x| moving(x)).count() != m {
            return false;
        }
        let unit = if up { 1 } else { -1 };
        for (i, &x) in ints.iter_mut().zip(&self.resid) {
            if moving(x) {
                *i += unit;
            }
        }
        true
    }
}

/// How many entries a move of `diff` changes in a vector of `n`.
fn moves(diff: i64, n: usize) -> usize {
    (diff.unsigned_abs() as usize).min(n)
}

/// Makes a move in the order of an ascending argsort of the residuals: the last entries go up
/// (`diff > 0`) or the first go down.
fn move_in_order(ints: &mut [i64], diff: i64, order: &[usize]) {
    let m = moves(diff, order.len());
    if diff > 0 {
        for &i in &order[order.len() - m..] {
            ints[i] += 1;
        }
    } else {
        for &i in &order[..m] {
            ints[i] -= 1;
        }
    }
}

/// Calibrate a confident joint: rows rescaled to the label counts, the whole matrix to their
/// total, then rounded row by row preserving row totals.
/// `column_major` sums the rescaled matrix in column-major order, as numpy does for the
/// Fortran-ordered matrix cleanlab's `compute_confident_joint` builds (the total's last bit can
/// decide a rounding).
pub fn calibrate_confident_joint(
    cj: ArrayView2<'_, i64>,
    label_counts: &[i64],
    sorter: &dyn Argsort,
    column_major: bool,
) -> Result<Array2<i64>> {
    calibrate_owned(
        cj.as_standard_layout().into_owned(),
        label_counts,
        sorter,
        column_major,
    )
}

/// `calibrate_confident_joint` of a matrix the caller gives up, rounded into its own buffer: the
/// only K x K matrix it holds (at K = 1,000 each is 8 MB).
///
/// A row's rounding needs a sort only when equal residuals straddle the entries it moves (the
/// sort's order among them then decides). Those rows are sorted together, `TIED_BATCH` rows per
/// call, so the bindings pay one numpy call per batch rather than one per row.
pub fn calibrate_owned(
    cj: Array2<i64>,
    label_counts: &[i64],
    sorter: &dyn Argsort,
    column_major: bool,
) -> Result<Array2<i64>> {
    const TIED_BATCH: usize = 64;
    let k = cj.nrows();
    if cj.ncols() != k || label_counts.len() != k {
        return Err(Error::InvalidInput(format!(
            "confident_joint must be a square (K, K) matrix matching {} label counts, but it has shape ({}, {})",
            label_counts.len(),
            cj.nrows(),
            cj.ncols()
        )));
    }
    let mut cj = crate::data::standard_layout(cj);
    let Some(flat) = cj.as_slice_mut() else {
        return Ok(cj);
    };
    let scale = CalibrationScale::new(flat, k, label_counts, column_major);
    // Rows whose move waits for the sort: (row, diff), their values and their residuals.
    let mut tied: Vec<(usize, i64)> = Vec::new();
    let mut tied_values: Vec<f64> = Vec::new();
    let mut tied_resid: Vec<f64> = Vec::new();
    let mut values = vec![0.0; k];
    for r in 0..k {
        let ints = &mut flat[r * k..(r + 1) * k];
        scale.row(r, ints, &mut values);
        let rounding = Rounding::new(&values);
        rounding.start(ints);
        if let Some(step) = rounding.step(ints) {
            if !step.move_untied(ints) {
                tied.push((r, step.diff));
                tied_values.extend_from_slice(&values);
                tied_resid.extend_from_slice(&step.resid);
            } else {
                rounding.finish(ints, sorter);
            }
        }
        if tied.len() == TIED_BATCH || (r + 1 == k && !tied.is_empty()) {
            let orders = sorter.argsort_rows(&tied_resid, k);
            for ((&(t, diff), order), v) in tied
                .iter()
                .zip(orders.chunks_exact(k.max(1)))
                .zip(tied_values.chunks_exact(k.max(1)))
            {
                let ints = &mut flat[t * k..(t + 1) * k];
                move_in_order(ints, diff, order);
                Rounding::new(v).finish(ints, sorter);
            }
            tied.clear();
            tied_values.clear();
            tied_resid.clear();
        }
    }
    Ok(cj)
}

/// The calibrated confident joint before rounding, entry by entry from the counts (no K x K float
/// matrix): each row rescaled to its label count, then the whole to the total label count.
struct CalibrationScale {
    row_sums: Vec<f64>,
    label_counts: Vec<f64>,
    total: f64,
    n_total: f64,
}

impl CalibrationScale {
    /// `flat` is the (K, K) confident joint, row-major (shape checked by the caller).
    /// `column_major` sums the rescaled matrix in column-major order, as numpy does for the
    /// Fortran-ordered matrix cleanlab's `compute_confident_joint` builds (the total's last bit
    /// can decide a rounding).
    fn new(flat: &[i64], k: usize, label_counts: &[i64], column_major: bool) -> Self {
        let mut row = vec![0.0; k];
        let row_sums = flat
            .chunks_exact(k.max(1))
            .map(|r| {
                for (x, &c) in row.iter_mut().zip(r) {
                    *x = c as f64;
                }
                crate::latent::np_sum(&row).max(1e-100)
            })
            .collect();
        let mut scale = CalibrationScale {
            row_sums,
            label_counts: label_counts.iter().map(|&x| x as f64).collect(),
            total: 1.0,
            n_total: label_counts.iter().map(|&x| x as f64).sum::<f64>(),
        };
        let total = crate::latent::np_sum_by(k * k, |start, buf| {
            // Entry `start` of the matrix in its summation order, then onwards.
            let (mut r, mut c) = if column_major {
                (start % k, start / k)
            } else {
                (start / k, start % k)
            };
            for x in buf {
                *x = scale.rescaled(flat[r * k + c], r);
                if column_major {
                    r += 1;
                    if r == k {
                        (r, c) = (0, c + 1);
                    }
                } else {
                    c += 1;
                    if c == k {
                        (r, c) = (r + 1, 0);
                    }
                }
            }
        });
        scale.total = total.max(1e-100);
        scale
    }

    /// An entry of row r rescaled to the row's label count.
    #[inline]
    fn rescaled(&self, count: i64, r: usize) -> f64 {
        count as f64 / self.row_sums[r] * self.label_counts[r]
    }

    /// Row r before rounding, from its counts.
    fn row(&self, r: usize, counts: &[i64], out: &mut [f64]) {
        for (x, &c) in out.iter_mut().zip(counts) {
            *x = self.rescaled(c, r) / self.total * self.n_total;
        }
    }
}

/// Label counts for classes `0..k` (labels already checked). Over the thread pool for long
/// label vectors (exact integer counts, so the split does not matter), with four interleaved
/// counters per class so runs of one label do not wait on the same counter.
pub fn label_counts<L: Label>(labels: ArrayView1<'_, L>, k: usize) -> Vec<i64> {
    const WAYS: usize = 4;
    let counts = parallel::map_reduce(
        labels.len(),
        parallel::worth_parallel(labels.len()),
        || vec![0i64; WAYS * k],
        |acc: &mut Vec<i64>, range| {
            let part = labels.slice(ndarray::s![range]);
            for q in part.exact_chunks(WAYS) {
                for (w, l) in q.iter().enumerate() {
                    acc[w * k + l.class()] += 1;
                }
            }
            let done = part.len() - part.len() % WAYS;
            for l in part.slice(ndarray::s![done..]).iter() {
                acc[l.class()] += 1;
            }
        },
        |mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            a
        },
    );
    (0..k)
        .map(|c| (0..WAYS).map(|w| counts[w * k + c]).sum())
        .collect()
}

/// The full `compute_confident_joint`: thresholds (given or computed), counting, forced diagonal,
/// optional calibration; returns the matrix and (when asked) the off-diagonal indices.
pub fn confident_joint<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    thresholds: Option<&[f64]>,
    calibrate: bool,
    want_indices: bool,
    tol: f64,
    sorter: &dyn Argsort,
) -> Result<(Array2<i64>, Vec<usize>)> {
    let k = pred_probs.ncols();
    let (t, validate) = match thresholds {
        // The joint pass validates the rows as it reads them.
        Some(t) => (t.to_vec(), Some(tol)),
        None => thresholds_for_joint(labels, pred_probs, tol)?,
    };
    let pass = joint_pass(labels, pred_probs, &t, want_indices, validate)?;
    let mut cj = counts_to_matrix(pass.counts, k);
    if calibrate {
        cj = calibrate_owned(cj, &label_counts(labels, k), sorter, true)?;
    }
    Ok((cj, pass.off_diagonal))
}

/// Calibrated confident joint and cleanlab's `num_label_issues(estimation_method="off_diagonal")`
/// count (off-diagonal rows that survive the argmax veto) from the same two passes.
pub fn confident_joint_and_issues<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    calibrate: bool,
    tol: f64,
    sorter: &dyn Argsort,
) -> Result<(Array2<i64>, u64)> {
    let k = pred_probs.ncols();
    let (t, validate) = thresholds_for_joint(labels, pred_probs, tol)?;
    let pass = joint_pass(labels, pred_probs, &t, false, validate)?;
    let mut cj = counts_to_matrix(pass.counts, k);
    if calibrate {
        cj = calibrate_owned(cj, &label_counts(labels, k), sorter, true)?;
    }
    Ok((cj, pass.issues))
}

/// (K, K) counts of (given label, argmax), after validating every row.
pub fn argmax_confusion<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    tol: f64,
) -> Result<Array2<i64>> {
    let rows = Rows::new(pred_probs);
    let k = rows.k();
    let (counts, bad) = crate::with_rows_check!(rows, Some(tol), |check| {
        argmax_counts(labels, &rows, check)
    });
    report_bad_row(&rows, bad, tol)?;
    Ok(Array2::from_shape_vec((k, k), counts).unwrap_or_else(|_| Array2::zeros((k, k))))
}

/// `argmax_confusion`'s counts (flat), and the first row `check` failed.
fn argmax_counts<T: Prob, L: Label, C: RowsCheck>(
    labels: ArrayView1<'_, L>,
    rows: &Rows<'_, T>,
    check: C,
) -> (Vec<i64>, Option<usize>) {
    let k = rows.k();
    parallel::map_reduce(
        rows.n(),
        parallel::worth_parallel(rows.n() * k),
        || (vec![0i64; k * k], None),
        |(acc, bad): &mut (Vec<i64>, Option<usize>), range| {
            if bad.is_some() {
                return;
            }
            let mut cls = Vec::new();
            let mut check = check;
            *bad = rows.for_blocks(range, |start, end, flat| {
                if let Some(b) = check.begin(flat, start, end, k) {
                    return Some(b);
                }
                classes_into(labels, start..end, &mut cls);
                crate::for_rows!(k, flat, &cls, 0, |row, s, r| {
                    acc[s * k + first_max(row, check.max_of(row, r))] += 1;
                });
                check.finish(flat, start, end, k)
            });
        },
        |(mut a, ba), (b, bb)| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            (a, first_bad(ba, bb))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed87_is_exact_truncation() {
        for &v in &[0.0, 1.0, 0.5, 0.1, 1e-12, 0.999_999_9, 1.000_001, 3e-30] {
            let expect = (v * 2f64.powi(87)).trunc();
            assert_eq!(fixed87(v) as f64, expect, "value {v}");
        }
        assert_eq!(fixed87(-0.0), 0);
    }

    #[test]
    fn fixed87_parts_recombine_to_fixed87() {
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            0.5,
            1e-12,
            3e-30,
            5e-324,
            1.000_001,
            2f64.powi(-35),
        ];
        values.extend([
            2f64.powi(-35).next_down(),
            2f64.powi(-35).next_up(),
            1.0f64.next_down(),
        ]);
        for _ in 0..100_000 {
            let v = f64::from_bits(next() >> 2) % 1.0;
            values.push(v);
            values.push(v * 2f64.powi(-40));
        }
        for v in values {
            let (hi, lo) = fixed87_parts(v);
            assert!(lo < 1 << 52, "value {v}");
            assert_eq!(
                (i128::from(hi) << 52) + i128::from(lo),
                fixed87(v),
                "value {v}"
            );
        }
    }

    #[test]
    fn label_counts_match_a_plain_count_on_any_thread_count() {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1d);
        for (n, k) in [(0, 3), (3, 3), (7, 2), (1 << 19, 5), ((1 << 19) + 3, 17)] {
            let labels = ndarray::Array1::from_shape_fn(n, |_| (next() % k as u64) as i64);
            let mut plain = vec![0i64; k];
            for &l in &labels {
                plain[l as usize] += 1;
            }
            for threads in [1, 2] {
                let got = crate::parallel::install(threads, || label_counts(labels.view(), k));
                assert_eq!(got, plain, "n = {n}, k = {k}, {threads} threads");
            }
        }
    }

    #[test]
    fn round_preserving_sum_keeps_total() {
        let v = [0.3, 0.3, 0.4, 2.5, 1.5];
        let r = round_preserving_sum(&v, &StableArgsort);
        assert_eq!(r.iter().sum::<i64>(), 5);
    }

    /// Ascending argsort with ties in reverse index order: a second, different tie order.
    struct ReverseTies;

    impl Argsort for ReverseTies {
        fn argsort(&self, v: &[f64]) -> Vec<usize> {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(b.cmp(&a)));
            idx
        }
    }

    /// Counts the calls that sort (one per `argsort_rows` batch or per single `argsort`).
    struct Counting<'a>(&'a dyn Argsort, std::sync::atomic::AtomicUsize);

    impl Argsort for Counting<'_> {
        fn argsort(&self, v: &[f64]) -> Vec<usize> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.argsort(v)
        }
        fn argsort_rows(&self, flat: &[f64], len: usize) -> Vec<usize> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            flat.chunks_exact(len)
                .flat_map(|r| self.0.argsort(r))
                .collect()
        }
    }

    /// cleanlab's rounding as written: sort the residuals at every step.
    fn round_by_sorting(v: &[f64], sorter: &dyn Argsort) -> Vec<i64> {
        let mut ints: Vec<i64> = v.iter().map(|&x| round_half_even(x) as i64).collect();
        let target = round_half_even(crate::latent::np_sum(v)) as i64;
        loop {
            let diff = target - ints.iter().sum::<i64>();
            if diff == 0 {
                return ints;
            }
            let resid: Vec<f64> = v.iter().zip(&ints).map(|(&x, &r)| x - r as f64).collect();
            move_in_order(&mut ints, diff, &sorter.argsort(&resid));
        }
    }

    /// Vectors whose residuals tie often: multiples of 1/8 and a few repeated fractions, with
    /// +-0.0 among them.
    fn tie_heavy_vectors() -> Vec<Vec<f64>> {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1du64);
        (0..3000)
            .map(|i| {
                let n = 1 + (next() % 40) as usize;
                (0..n)
                    .map(|_| match next() % 5 {
                        0 => 0.0,
                        1 if i % 2 == 0 => -0.0,
                        2 => (next() % 9) as f64 / 3.0,
                        _ => (next() % 64) as f64 / 8.0 - (i % 3) as f64,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rounding_sorts_only_when_a_tie_decides_and_then_follows_the_sort() {
        let mut sorted_some = 0;
        for v in tie_heavy_vectors() {
            for sorter in [&StableArgsort as &dyn Argsort, &ReverseTies] {
                let counting = Counting(sorter, 0.into());
                assert_eq!(
                    round_preserving_sum(&v, &counting),
                    round_by_sorting(&v, sorter),
                    "{v:?}"
                );
                sorted_some += counting.1.into_inner();
            }
            // Without a tie at the boundary both tie orders must agree, and they do whenever
            // the rounding did not sort.
            let untied = Counting(&StableArgsort, 0.into());
            let a = round_preserving_sum(&v, &untied);
            if untied.1.into_inner() == 0 {
                assert_eq!(a, round_by_sorting(&v, &ReverseTies), "{v:?}");
            }
        }
        assert!(
            sorted_some > 100,
            "the vectors must exercise tied boundaries"
        );
    }

    #[test]
    fn calibration_sorts_tied_rows_in_batches_with_the_same_result() {
        // A sparse 300-class joint with small counts: many equal residuals within rows.
        let k = 300;
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let cj = Array2::from_shape_fn((k, k), |(i, j)| {
            if i == j {
                20 + (next() % 50) as i64
            } else if next().is_multiple_of(4) {
                (next() % 3) as i64
            } else {
                0
            }
        });
        let counts: Vec<i64> = cj
            .rows()
            .into_iter()
            .map(|r| r.sum() + (next() % 7) as i64)
            .collect();
        for column_major in [false, true] {
            for sorter in [&StableArgsort as &dyn Argsort, &ReverseTies] {
                let counting = Counting(sorter, 0.into());
                let got = calibrate_owned(cj.clone(), &counts, &counting, column_major).unwrap();
                let calls = counting.1.into_inner();
                // Row by row from the same unrounded matrix, sorting every step.
                let n_total = counts.iter().map(|&x| x as f64).sum::<f64>();
                let rows: Vec<Vec<f64>> = cj
                    .rows()
                    .into_iter()
                    .zip(&counts)
                    .map(|(r, &c)| {
                        let f: Vec<f64> = r.iter().map(|&x| x as f64).collect();
                        let rs = crate::latent::np_sum(&f).max(1e-100);
                        f.iter().map(|&x| x / rs * c as f64).collect()
                    })
                    .collect();
                let order: Vec<f64> = if column_major {
                    (0..k * k).map(|i| rows[i % k][i / k]).collect()
                } else {
                    rows.concat()
                };
                let total = crate::latent::np_sum(&order).max(1e-100);
                let mut tied_rows = 0;
                for (r, row) in rows.iter().enumerate() {
                    let scaled: Vec<f64> = row.iter().map(|&x| x / total * n_total).collect();
                    assert_eq!(
                        got.row(r).to_vec(),
                        round_by_sorting(&scaled, sorter),
                        "row {r}"
                    );
                    let c = Counting(sorter, 0.into());
                    round_preserving_sum(&scaled, &c);
                    tied_rows += c.1.into_inner().min(1);
                }
                assert!(tied_rows > 64, "{tied_rows} tied rows: too few to batch");
                assert_eq!(
                    calls,
                    tied_rows.div_ceil(64),
                    "one sort call per batch of 64 rows"
                );
            }
        }
    }

    #[test]
    fn multi_confident_rows_take_the_global_argmax() {
        // thresholds [0.9, 0.3, 0.3]; row [0.4, 0.3, 0.3] labelled 1: classes 1 and 2 confident, argmax is 0.
        let cut = [0.9 - 1e-6, 0.3 - 1e-6, 0.3 - 1e-6];
        let v = row_verdict(&[0.4, 0.3, 0.3], 1, &cut);
        assert_eq!(v.guess, Some(0));
    }
}
