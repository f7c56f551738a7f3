//! Mergeable accumulators for the passes of Confident Learning over rows seen in batches.
//!
//! Each accumulator takes batches in any split and any order, merges exactly with another of its
//! kind and serialises to a few bytes, so the same passes run over memory-mapped files or Dask
//! chunks on remote workers; the finished result equals the in-memory kernel's on all rows.
//! `offset` is the global index of a batch's first row: errors and selections name global rows.

use crate::count::{self, boosted_argmax, Argsort, ThresholdSums};
use crate::data::{Label, Prob, Rows};
use crate::error::{Error, Result};
use crate::filter::{FilterBy, PrunePlan, PruneState};
use crate::parallel;
use crate::rank::{Method, Scorer};
use crate::select::Smallest;
use crate::validate::{check_labels, row_error, row_ok};
use ndarray::{Array2, ArrayView1, ArrayView2};

/// Largest global row index (exclusive): selectors store `2 * index + flag` in a `usize`.
const MAX_ROWS: usize = usize::MAX / 4;

/// Check one batch against the accumulator's K and the global row range it covers.
fn check_batch<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    k: usize,
    offset: usize,
) -> Result<()> {
    if pred_probs.ncols() != k {
        return Err(Error::InvalidInput(format!(
            "pred_probs has {} columns but the accumulator was built for num_class = {k}",
            pred_probs.ncols()
        )));
    }
    check_labels(labels, pred_probs.nrows(), k)?;
    match offset.checked_add(pred_probs.nrows()) {
        Some(end) if end <= MAX_ROWS => Ok(()),
        _ => Err(Error::InvalidInput(format!(
            "offset {offset} plus {} rows exceeds the largest supported row index {MAX_ROWS}",
            pred_probs.nrows()
        ))),
    }
}

fn check_num_class(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidInput(
            "num_class must be at least 1, but it is 0".into(),
        ));
    }
    Ok(())
}

/// `a += b` element-wise, or an error (leaving `a` unchanged) if any sum overflows.
fn add_exact<V: Copy>(a: &mut [V], b: &[V], add: impl Fn(V, V) -> Option<V>) -> Result<()> {
    let sums: Option<Vec<V>> = a.iter().zip(b).map(|(&x, &y)| add(x, y)).collect();
    let sums = sums.ok_or_else(|| {
        Error::InvalidInput("merging these accumulators overflows their counts".into())
    })?;
    a.copy_from_slice(&sums);
    Ok(())
}

fn merge_mismatch(what: &str, detail: &str) -> Error {
    Error::InvalidInput(format!(
        "cannot merge {what}s built with different {detail}"
    ))
}

/// Pass 1: validates every row and sums, per class, the given-label probability exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdAccumulator {
    sums: ThresholdSums,
}

impl ThresholdAccumulator {
    pub fn new(num_class: usize) -> Result<Self> {
        check_num_class(num_class)?;
        Ok(ThresholdAccumulator {
            sums: ThresholdSums::new(num_class),
        })
    }

    pub fn num_class(&self) -> usize {
        self.sums.counts.len()
    }

    /// Rows accumulated so far (every row has exactly one label).
    pub fn n_rows(&self) -> u64 {
        self.sums
            .counts
            .iter()
            .fold(0u64, |a, &c| a.saturating_add(c))
    }

    /// Validate and accumulate a batch; a bad row is reported by its global index.
    pub fn update<T: Prob, L: Label>(
        &mut self,
        labels: ArrayView1<'_, L>,
        pred_probs: ArrayView2<'_, T>,
        offset: usize,
        tol: f64,
    ) -> Result<()> {
        check_batch(labels, pred_probs, self.num_class(), offset)?;
        let batch = count::threshold_sums(labels, pred_probs, tol).map_err(|e| {
            // The kernel names the batch row; find it again to name the global one.
            let rows = Rows::new(pred_probs);
            let mut buf = vec![0.0; rows.k()];
            (0..rows.n())
                .find_map(|i| {
                    let row = rows.row(i, &mut buf);
                    (!row_ok(row, tol)).then(|| row_error(offset + i, row, tol))
                })
                .unwrap_or(e)
        })?;
        self.add(&batch)
    }

    fn add(&mut self, other: &ThresholdSums) -> Result<()> {
        let mut sums = self.sums.clone();
        add_exact(&mut sums.sums, &other.sums, i128::checked_add)?;
        add_exact(&mut sums.counts, &other.counts, u64::checked_add)?;
        self.sums = sums;
        Ok(())
    }

    pub fn merge(&mut self, other: ThresholdAccumulator) -> Result<()> {
        if other.num_class() != self.num_class() {
            return Err(merge_mismatch("ThresholdAccumulator", "num_class"));
        }
        self.add(&other.sums)
    }

    /// Equal to `count::confident_thresholds` on all accumulated rows.
    pub fn thresholds(&self) -> Vec<f64> {
        self.sums.thresholds()
    }

    pub fn label_counts(&self) -> Vec<i64> {
        to_i64(&self.sums.counts)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Threshold);
        w.usize(self.num_class());
        for (&s, &c) in self.sums.sums.iter().zip(&self.sums.counts) {
            w.i128(s);
            w.u64(c);
        }
        w.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::open(bytes, Kind::Threshold)?;
        let k = r.len(24)?;
        let mut acc = ThresholdAccumulator::new(k).map_err(|_| r.bad("num_class is 0"))?;
        for c in 0..k {
            let (s, n) = (r.i128()?, r.u64()?);
            if s < 0 || (n == 0 && s != 0) {
                return Err(r.bad("a probability sum does not match its count"));
            }
            acc.sums.sums[c] = s;
            acc.sums.counts[c] = n;
        }
        r.end()?;
        Ok(acc)
    }
}

fn to_i64(v: &[u64]) -> Vec<i64> {
    v.iter()
        .map(|&c| i64::try_from(c).unwrap_or(i64::MAX))
        .collect()
}

/// Pass 2: confident-joint counts for fixed thresholds, label counts and the issue count.
#[derive(Clone, Debug, PartialEq)]
pub struct JointAccumulator {
    thresholds: Vec<f64>,
    /// Row-major (given, guessed) counts, diagonal not yet forced.
    counts: Vec<u64>,
    label_counts: Vec<u64>,
    issues: u64,
}

impl JointAccumulator {
    pub fn new(thresholds: &[f64]) -> Result<Self> {
        let k = thresholds.len();
        check_num_class(k)?;
        Ok(JointAccumulator {
            thresholds: thresholds.to_vec(),
            counts: vec![0; k * k],
            label_counts: vec![0; k],
            issues: 0,
        })
    }

    pub fn num_class(&self) -> usize {
        self.thresholds.len()
    }

    /// Rows `filter_by="confident_learning"` flags so far.
    pub fn num_issues(&self) -> u64 {
        self.issues
    }

    /// Count a batch (rows are not validated again); with `want_flags`, also return the batch's
    /// `confident_learning` mask.
    pub fn update<T: Prob, L: Label>(
        &mut self,
        labels: ArrayView1<'_, L>,
        pred_probs: ArrayView2<'_, T>,
        want_flags: bool,
    ) -> Result<Option<Vec<bool>>> {
        let k = self.num_class();
        check_batch(labels, pred_probs, k, 0)?;
        let pass = count::joint_pass(labels, pred_probs, &self.thresholds, want_flags, None)?;
        let batch_counts: Vec<u64> = count::label_counts(labels, k)
            .into_iter()
            .map(|c| c.unsigned_abs())
            .collect();
        let mut counts = self.counts.clone();
        let mut label_counts = self.label_counts.clone();
        add_exact(&mut counts, &pass.counts, u64::checked_add)?;
        add_exact(&mut label_counts, &batch_counts, u64::checked_add)?;
        let mut issues = [self.issues];
        add_exact(&mut issues, &[pass.issues], u64::checked_add)?;
        (self.counts, self.label_counts, self.issues) = (counts, label_counts, issues[0]);
        Ok(want_flags.then(|| {
            // Issues are the off-diagonal rows that survive the argmax veto.
            let rows = Rows::new(pred_probs);
            let mut buf = vec![0.0; k];
            let mut mask = vec![false; rows.n()];
            for &i in &pass.off_diagonal {
                let s = labels[i].class();
                mask[i] = boosted_argmax(rows.row(i, &mut buf), s) != s;
            }
            mask
        }))
    }

    pub fn merge(&mut self, other: JointAccumulator) -> Result<()> {
        let same = self.thresholds.len() == other.thresholds.len()
            && self
                .thresholds
                .iter()
                .zip(&other.thresholds)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            return Err(merge_mismatch("JointAccumulator", "thresholds"));
        }
        let mut counts = self.counts.clone();
        let mut label_counts = self.label_counts.clone();
        let mut issues = [self.issues];
        add_exact(&mut counts, &other.counts, u64::checked_add)?;
        add_exact(&mut label_counts, &other.label_counts, u64::checked_add)?;
        add_exact(&mut issues, &[other.issues], u64::checked_add)?;
        (self.counts, self.label_counts, self.issues) = (counts, label_counts, issues[0]);
        Ok(())
    }

    /// Equal to `count::confident_joint(.., Some(thresholds), calibrate, ..)`'s matrix on all rows.
    pub fn confident_joint(&self, calibrate: bool, sorter: &dyn Argsort) -> Result<Array2<i64>> {
        let k = self.num_class();
        let cj = count::counts_to_matrix(self.counts.clone(), k);
        if calibrate {
            count::calibrate_owned(cj, &self.label_counts(), sorter, true)
        } else {
            Ok(cj)
        }
    }

    pub fn label_counts(&self) -> Vec<i64> {
        to_i64(&self.label_counts)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Joint);
        w.usize(self.num_class());
        self.thresholds.iter().for_each(|&t| w.f64(t));
        self.counts.iter().for_each(|&c| w.u64(c));
        self.label_counts.iter().for_each(|&c| w.u64(c));
        w.u64(self.issues);
        w.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::open(bytes, Kind::Joint)?;
        let k = r.len(8)?;
        let thresholds = (0..k).map(|_| r.f64()).collect::<Result<Vec<_>>>()?;
        let mut acc = JointAccumulator::new(&thresholds).map_err(|_| r.bad("num_class is 0"))?;
        r.need(k.saturating_mul(k).saturating_add(k).saturating_mul(8))?;
        for c in acc.counts.iter_mut().chain(acc.label_counts.iter_mut()) {
            *c = r.u64()?;
        }
        acc.issues = r.u64()?;
        r.end()?;
        Ok(acc)
    }
}

fn method_code(m: Method) -> u8 {
    match m {
        Method::SelfConfidence => 0,
        Method::NormalizedMargin => 1,
        Method::ConfidenceWeightedEntropy => 2,
    }
}

/// The `num` lowest label quality scores and their global indices, ties to the lower index.
#[derive(Clone, Debug)]
pub struct ScoreSelector {
    method: Method,
    /// Thresholds given = adjust_pred_probs.
    thresholds: Option<Vec<f64>>,
    k: usize,
    num: usize,
    sel: Smallest,
}

impl ScoreSelector {
    pub fn new(method: Method, thresholds: Option<&[f64]>, k: usize, num: usize) -> Result<Self> {
        check_num_class(k)?;
        if let Some(t) = thresholds {
            if t.len() != k {
                return Err(Error::InvalidInput(format!(
                    "thresholds must have one entry per class ({k}), but it has {}",
                    t.len()
                )));
            }
        }
        Scorer::new(method, thresholds, k)?;
        // More than MAX_ROWS can never be selected, and the selector's buffer size must not overflow.
        let num = num.min(MAX_ROWS);
        Ok(ScoreSelector {
            method,
            thresholds: thresholds.map(<[f64]>::to_vec),
            k,
            num,
            sel: Smallest::new(num),
        })
    }

    pub fn update<T: Prob, L: Label>(
        &mut self,
        labels: ArrayView1<'_, L>,
        pred_probs: ArrayView2<'_, T>,
        offset: usize,
    ) -> Result<()> {
        check_batch(labels, pred_probs, self.k, offset)?;
        let scorer = Scorer::new(self.method, self.thresholds.as_deref(), self.k)?;
        let rows = Rows::new(pred_probs);
        let n = rows.n();
        // Scores above the k-th kept one can never be selected: per-thread selectors skip them.
        let cap = self.sel.bound_key();
        let offer = |sel: &mut Smallest, range: std::ops::Range<usize>| {
            let mut buf = vec![0.0; rows.k()];
            let mut adj = vec![0.0; rows.k()];
            for i in range {
                let row = rows.row(i, &mut buf);
                let score = scorer.score(row, labels[i].class(), &mut adj);
                if score <= cap {
                    sel.offer(score, offset + i);
                }
            }
        };
        if parallel::worth_parallel(n * rows.k()) {
            let batch =
                parallel::map_reduce(n, true, || Smallest::new(self.num), offer, Smallest::merge);
            self.sel = std::mem::replace(&mut self.sel, Smallest::new(0)).merge(batch);
        } else {
            offer(&mut self.sel, 0..n);
        }
        Ok(())
    }

    pub fn merge(&mut self, other: ScoreSelector) -> Result<()> {
        let same_thresholds = match (&self.thresholds, &other.thresholds) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            _ => false,
        };
        if self.method != other.method
            || self.k != other.k
            || self.num != other.num
            || !same_thresholds
        {
            return Err(merge_mismatch(
                "ScoreSelector",
                "method, thresholds, num_class or num",
            ));
        }
        self.sel = std::mem::replace(&mut self.sel, Smallest::new(0)).merge(other.sel);
        Ok(())
    }

    /// Selected global indices by ascending (score, index).
    pub fn indices(&self) -> Vec<usize> {
        self.sel.clone().finish()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Score);
        w.u8(method_code(self.method));
        w.usize(self.k);
        w.usize(self.num);
        match &self.thresholds {
            None => w.u8(0),
            Some(t) => {
                w.u8(1);
                t.iter().for_each(|&x| w.f64(x));
            }
        }
        w.selector(&self.sel);
        w.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::open(bytes, Kind::Score)?;
        let method = match r.u8()? {
            0 => Method::SelfConfidence,
            1 => Method::NormalizedMargin,
            2 => Method::ConfidenceWeightedEntropy,
            _ => return Err(r.bad("unknown scoring method")),
        };
        let k = r.len(0)?;
        let num = r.usize()?;
        let thresholds = match r.u8()? {
            0 => None,
            1 => {
                r.need(k.saturating_mul(8))?;
                Some((0..k).map(|_| r.f64()).collect::<Result<Vec<_>>>()?)
            }
            _ => return Err(r.bad("bad thresholds flag")),
        };
        let mut out = ScoreSelector::new(method, thresholds.as_deref(), k, num)
            .map_err(|e| r.bad(&e.to_string()))?;
        if out.num != num {
            return Err(r.bad("num is too large"));
        }
        out.sel = r.selector(num)?;
        r.end()?;
        Ok(out)
    }
}

/// Pass 3 of prune_by_noise_rate / prune_by_class / both: the in-memory kernel's own plan and
/// selection state (`filter::PrunePlan`, `filter::PruneState`) fed batch by batch.
#[derive(Clone, Debug)]
pub struct PruneSelector {
    plan: PrunePlan,
    state: PruneState,
}

impl PruneSelector {
    pub fn new(
        cj: ArrayView2<'_, i64>,
        label_counts: &[i64],
        filter_by: FilterBy,
        frac_noise: f64,
        num_to_remove_per_class: Option<&[i64]>,
        min_examples_per_class: i64,
        sorter: &dyn Argsort,
    ) -> Result<Self> {
        check_num_class(label_counts.len())?;
        let plan = PrunePlan::new(
            cj,
            label_counts,
            filter_by,
            frac_noise,
            num_to_remove_per_class,
            min_examples_per_class,
            sorter,
        )?;
        Ok(Self::from_plan(plan))
    }

    fn from_plan(mut plan: PrunePlan) -> Self {
        // Selecting more than MAX_ROWS is selecting everything, and keeps buffer sizes in range.
        for n in plan
            .class_num
            .iter_mut()
            .chain(plan.cells.iter_mut().flatten().map(|(_, n)| n))
        {
            *n = (*n).min(MAX_ROWS);
        }
        let state = PruneState::new(&plan);
        PruneSelector { plan, state }
    }

    pub fn num_class(&self) -> usize {
        self.plan.k()
    }

    /// Classes skipped for having too few examples (as `filter::label_issues` returns them).
    pub fn too_few(&self) -> &[usize] {
        &self.plan.too_few
    }

    pub fn update<T: Prob, L: Label>(
        &mut self,
        labels: ArrayView1<'_, L>,
        pred_probs: ArrayView2<'_, T>,
        offset: usize,
    ) -> Result<()> {
        check_batch(labels, pred_probs, self.num_class(), offset)?;
        self.state
            .offer_rows(&self.plan, labels, &Rows::new(pred_probs), offset);
        Ok(())
    }

    pub fn merge(&mut self, other: PruneSelector) -> Result<()> {
        if self.plan != other.plan {
            return Err(merge_mismatch(
                "PruneSelector",
                "confident joints or options",
            ));
        }
        self.state.merge(other.state);
        Ok(())
    }

    /// Flagged global indices, ascending, after the argmax veto.
    pub fn indices(&self) -> Vec<usize> {
        self.state.clone().finish(&self.plan)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let plan = &self.plan;
        let mut w = Writer::new(Kind::Prune);
        w.u8(match plan.filter_by {
            FilterBy::PruneByNoiseRate => 0,
            FilterBy::PruneByClass => 1,
            _ => 2,
        });
        w.usize(plan.k());
        plan.class_num.iter().for_each(|&n| w.usize(n));
        for cells in &plan.cells {
            w.usize(cells.len());
            for &(j, n) in cells {
                w.usize(j);
                w.usize(n);
            }
        }
        w.usize(plan.too_few.len());
        plan.too_few.iter().for_each(|&c| w.usize(c));
        for sel in self.state.class_sel.iter().chain(&self.state.cell_sel) {
            w.selector(sel);
        }
        w.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::open(bytes, Kind::Prune)?;
        let filter_by = match r.u8()? {
            0 => FilterBy::PruneByNoiseRate,
            1 => FilterBy::PruneByClass,
            2 => FilterBy::Both,
            _ => return Err(r.bad("unknown filter_by")),
        };
        let k = r.len(16)?;
        if k == 0 {
            return Err(r.bad("num_class is 0"));
        }
        let class_num = (0..k).map(|_| r.usize()).collect::<Result<Vec<_>>>()?;
        let mut cells = Vec::with_capacity(k);
        for c in 0..k {
            let m = r.len(16)?;
            let mut row: Vec<(usize, usize)> = Vec::with_capacity(m);
            for _ in 0..m {
                let (j, n) = (r.usize()?, r.usize()?);
                // Cells are off-diagonal, in range and strictly ascending (one selector each).
                if j >= k || j == c || row.last().is_some_and(|&(p, _)| p >= j) {
                    return Err(r.bad("bad cell of the prune plan"));
                }
                row.push((j, n));
            }
            cells.push(row);
        }
        let n_few = r.len(8)?;
        let too_few = (0..n_few).map(|_| r.usize()).collect::<Result<Vec<_>>>()?;
        if too_few.iter().any(|&c| c >= k) {
            return Err(r.bad("a too_few class is out of range"));
        }
        let plan = PrunePlan {
            filter_by,
            class_num,
            cells,
            too_few,
        };
        let mut out = Self::from_plan(plan);
        let limits: Vec<usize> = out
            .plan
            .class_num
            .iter()
            .copied()
            .chain(out.plan.cells.iter().flatten().map(|&(_, n)| n))
            .collect();
        let slots = out
            .state
            .class_sel
            .iter_mut()
            .chain(&mut out.state.cell_sel);
        for (sel, limit) in slots.zip(limits) {
            *sel = r.selector(limit)?;
        }
        out.state.refresh_bounds();
        r.end()?;
        Ok(out)
    }
}

/// Which accumulator a byte string holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Threshold = 1,
    Joint = 2,
    Score = 3,
    Prune = 4,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Threshold => "ThresholdAccumulator",
            Kind::Joint => "JointAccumulator",
            Kind::Score => "ScoreSelector",
            Kind::Prune => "PruneSelector",
        }
    }
}

const MAGIC: &[u8; 4] = b"LSAC";
const VERSION: u8 = 1;

/// Little-endian encoder: header `MAGIC, VERSION, kind`, then the fields in a fixed order.
struct Writer(Vec<u8>);

impl Writer {
    fn new(kind: Kind) -> Self {
        let mut v = MAGIC.to_vec();
        v.extend([VERSION, kind as u8]);
        Writer(v)
    }
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn usize(&mut self, x: usize) {
        self.u64(x as u64);
    }
    fn i128(&mut self, x: i128) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    /// A selector as its candidate pairs; its capacity comes from the enclosing state.
    fn selector(&mut self, sel: &Smallest) {
        let c: Vec<(f64, usize)> = sel.candidates().collect();
        self.usize(c.len());
        for (key, index) in c {
            self.f64(key);
            self.usize(index);
        }
    }
}

/// Decoder of `Writer`'s output that turns every inconsistency into an error, never a panic.
struct Reader<'a> {
    rest: &'a [u8],
    kind: Kind,
}

impl<'a> Reader<'a> {
    fn open(bytes: &'a [u8], kind: Kind) -> Result<Self> {
        let mut r = Reader { rest: bytes, kind };
        if r.take(4)? != MAGIC {
            return Err(r.bad("not an accumulator state"));
        }
        if r.u8()? != VERSION {
            return Err(r.bad("unsupported format version"));
        }
        if r.u8()? != kind as u8 {
            return Err(r.bad("it holds another kind of accumulator"));
        }
        Ok(r)
    }

    fn bad(&self, why: &str) -> Error {
        Error::InvalidInput(format!(
            "{} state bytes are malformed: {why}",
            self.kind.name()
        ))
    }

    /// Fail early when fewer than `n` bytes remain (before allocating for them).
    fn need(&self, n: usize) -> Result<()> {
        if self.rest.len() < n {
            return Err(self.bad("truncated"));
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        self.need(n)?;
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| self.bad("a size does not fit this platform"))
    }
    fn i128(&mut self) -> Result<i128> {
        Ok(i128::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A count of items of `item_bytes` each that must all fit in the remaining bytes.
    fn len(&mut self, item_bytes: usize) -> Result<usize> {
        let n = self.usize()?;
        self.need(n.saturating_mul(item_bytes))?;
        Ok(n)
    }

    fn selector(&mut self, limit: usize) -> Result<Smallest> {
        let n = self.len(16)?;
        let mut sel = Smallest::new(limit);
        for _ in 0..n {
            let (key, index) = (self.f64()?, self.usize()?);
            sel.offer(key, index);
        }
        Ok(sel)
    }

    fn end(&self) -> Result<()> {
        if !self.rest.is_empty() {
            return Err(self.bad("trailing bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::StableArgsort;
    use ndarray::{array, s, Array1};

    fn problem() -> (Array1<i64>, Array2<f64>) {
        let labels = array![0i64, 1, 2, 0, 1, 2, 0, 0, 1, 2, 2, 1];
        let p = array![
            [0.7, 0.2, 0.1],
            [0.1, 0.8, 0.1],
            [0.6, 0.1, 0.3],
            [0.2, 0.7, 0.1],
            [0.3, 0.3, 0.4],
            [0.1, 0.1, 0.8],
            [0.9, 0.05, 0.05],
            [0.25, 0.25, 0.5],
            [0.5, 0.5, 0.0],
            [0.2, 0.2, 0.6],
            [0.4, 0.4, 0.2],
            [0.1, 0.6, 0.3]
        ];
        (labels, p)
    }

    /// Every prefix of a state must be rejected, and no single-byte change may panic.
    fn assert_robust<S>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<S>) {
        assert!(decode(bytes).is_ok());
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes accepted"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err());
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = bytes.to_vec();
                b[i] = v;
                let _ = decode(&b);
            }
        }
    }

    #[test]
    fn states_round_trip_and_malformed_bytes_are_errors() {
        let (l, p) = problem();
        let mut t = ThresholdAccumulator::new(3).unwrap();
        t.update(l.view(), p.view(), 0, 1e-6).unwrap();
        assert_eq!(ThresholdAccumulator::from_bytes(&t.to_bytes()).unwrap(), t);
        assert_robust(&t.to_bytes(), ThresholdAccumulator::from_bytes);

        let mut j = JointAccumulator::new(&t.thresholds()).unwrap();
        j.update(l.view(), p.view(), false).unwrap();
        assert_eq!(JointAccumulator::from_bytes(&j.to_bytes()).unwrap(), j);
        assert_robust(&j.to_bytes(), JointAccumulator::from_bytes);

        let th = t.thresholds();
        let mut sc = ScoreSelector::new(Method::NormalizedMargin, Some(&th), 3, 4).unwrap();
        sc.update(l.view(), p.view(), 10).unwrap();
        let back = ScoreSelector::from_bytes(&sc.to_bytes()).unwrap();
        assert_eq!(back.indices(), sc.indices());
        assert_robust(&sc.to_bytes(), ScoreSelector::from_bytes);

        let cj = j.confident_joint(true, &StableArgsort).unwrap();
        let counts = j.label_counts();
        let mut pr = PruneSelector::new(
            cj.view(),
            &counts,
            FilterBy::Both,
            1.0,
            None,
            1,
            &StableArgsort,
        )
        .unwrap();
        pr.update(l.view(), p.view(), 0).unwrap();
        let back = PruneSelector::from_bytes(&pr.to_bytes()).unwrap();
        assert_eq!(back.indices(), pr.indices());
        assert_eq!(back.plan, pr.plan);
        assert_robust(&pr.to_bytes(), PruneSelector::from_bytes);

        // A state of one kind is not a state of another.
        assert!(JointAccumulator::from_bytes(&t.to_bytes()).is_err());
        assert!(ThresholdAccumulator::from_bytes(b"").is_err());
    }

    #[test]
    fn bad_rows_are_named_by_their_global_index() {
        let (l, mut p) = problem();
        p[[5, 1]] = 0.5;
        let mut t = ThresholdAccumulator::new(3).unwrap();
        t.update(l.slice(s![..4]), p.slice(s![..4, ..]), 0, 1e-6)
            .unwrap();
        let err = t
            .update(l.slice(s![4..]), p.slice(s![4.., ..]), 4, 1e-6)
            .unwrap_err();
        let expect = row_error(5, &p.row(5).to_vec(), 1e-6);
        assert_eq!(err, expect);
        // A failed batch leaves the accumulator as it was.
        assert_eq!(t.n_rows(), 4);
    }

    #[test]
    fn inconsistent_arguments_are_errors_not_panics() {
        let (l, p) = problem();
        let mut t = ThresholdAccumulator::new(4).unwrap();
        assert!(matches!(
            t.update(l.view(), p.view(), 0, 1e-6),
            Err(Error::InvalidInput(_))
        ));
        let mut t = ThresholdAccumulator::new(3).unwrap();
        assert!(matches!(
            t.update(l.slice(s![..3]), p.view(), 0, 1e-6),
            Err(Error::Labels(_))
        ));
        let bad = array![0i64, 3, 1];
        assert!(matches!(
            t.update(bad.view(), p.slice(s![..3, ..]), 0, 1e-6),
            Err(Error::Labels(_))
        ));
        assert!(t.update(l.view(), p.view(), usize::MAX - 3, 1e-6).is_err());
        assert!(ThresholdAccumulator::new(0).is_err());
        assert!(t.merge(ThresholdAccumulator::new(2).unwrap()).is_err());
        let mut j = JointAccumulator::new(&[0.5, 0.5]).unwrap();
        assert!(j.update(l.view(), p.view(), true).is_err());
        assert!(ScoreSelector::new(Method::SelfConfidence, Some(&[0.5]), 3, 2).is_err());
        assert!(
            ScoreSelector::new(Method::ConfidenceWeightedEntropy, Some(&[0.5; 3]), 3, 2).is_err()
        );
        let cj = Array2::<i64>::eye(3);
        let prune = |fb, counts: &[i64]| {
            PruneSelector::new(cj.view(), counts, fb, 1.0, None, 1, &StableArgsort)
        };
        assert!(prune(FilterBy::ConfidentLearning, &[4, 4, 4]).is_err());
        assert!(prune(FilterBy::Both, &[4, 4]).is_err());
        let mut a = prune(FilterBy::Both, &[4, 4, 4]).unwrap();
        assert!(a
            .merge(prune(FilterBy::PruneByClass, &[4, 4, 4]).unwrap())
            .is_err());
    }
}
