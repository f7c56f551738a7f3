//! `find_label_issues` for single-label data: every `filter_by` rule of cleanlab 2.9.
//!
//! Pass 1 validates rows and sums thresholds, pass 2 counts the confident joint, pass 3 streams
//! the rows once more through bounded top-k selectors (one per class for prune_by_class, one per
//! (given, true) cell for prune_by_noise_rate) instead of sorting every class.
//!
//! On large inputs each selector starts from a band of keys guessed from a fixed sample of rows
//! (`select::sampled_band`): rows above the band are rejected by one comparison, rows below it
//! are surely selected and only flagged in place, and only the band competes. A guess that turns
//! out wrong (too many rows below the band, too few within it) is detected and that class redone
//! without guesses, so results never depend on the sample. The low_* rules go further: the rows
//! below and within their band are marked and gathered during pass 2, which needs no pass 3
//! unless the guess missed.

use crate::count::{self, Argsort};
use crate::data::{classes_into, given_into, row_f64, Label, Prob, Rows};
use crate::error::{Error, Result};
use crate::mask::mask64;
use crate::parallel;
use crate::rank::{Method, Scorer};
use crate::select::{decode_index, sampled_band, Smallest};
use crate::validate::RowsCheck;
use ndarray::{Array2, ArrayView1, ArrayView2};

/// cleanlab's `filter_by` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterBy {
    PruneByNoiseRate,
    PruneByClass,
    Both,
    ConfidentLearning,
    PredictedNeqGiven,
    LowNormalizedMargin,
    LowSelfConfidence,
}

impl FilterBy {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "prune_by_noise_rate" => FilterBy::PruneByNoiseRate,
            "prune_by_class" => FilterBy::PruneByClass,
            "both" => FilterBy::Both,
            "confident_learning" => FilterBy::ConfidentLearning,
            "predicted_neq_given" => FilterBy::PredictedNeqGiven,
            "low_normalized_margin" => FilterBy::LowNormalizedMargin,
            "low_self_confidence" => FilterBy::LowSelfConfidence,
            other => {
                return Err(Error::InvalidInput(format!(
                    "filter_by must be one of prune_by_noise_rate, prune_by_class, both, confident_learning, predicted_neq_given, low_normalized_margin, low_self_confidence; got {other:?}"
                )))
            }
        })
    }
}

/// Options of `find_label_issues` that reach the kernel.
pub struct IssueOptions<'a> {
    pub filter_by: FilterBy,
    pub frac_noise: f64,
    pub num_to_remove_per_class: Option<&'a [i64]>,
    pub min_examples_per_class: i64,
    pub confident_joint: Option<ArrayView2<'a, i64>>,
}

/// The issue mask and the classes skipped for having too few examples.
pub struct Issues {
    pub mask: Vec<bool>,
    pub too_few: Vec<usize>,
}

/// cleanlab `_keep_at_least_n_per_class` followed by `_reduce_prune_counts` on `pcm = cj.T`,
/// computed in the buffer of the confident joint it takes (transposed in place, then
/// reinterpreted as floats): the one K x K matrix it holds.
pub fn prune_count_matrix(cj: Array2<i64>, min_per_class: i64, frac_noise: f64) -> Array2<i64> {
    let k = cj.nrows();
    let mut flat = match crate::data::standard_layout(cj).into_raw_vec_and_offset() {
        (v, Some(0)) if v.len() == k * k => v,
        (v, Some(off)) if v.len() >= off + k * k => v[off..off + k * k].to_vec(),
        _ => vec![0; k * k],
    };
    for r in 0..k {
        for c in r + 1..k {
            flat.swap(r * k + c, c * k + r);
        }
    }
    let floats: Vec<f64> = flat.into_iter().map(|x| x as f64).collect();
    let mut m = Array2::from_shape_vec((k, k), floats).unwrap_or_else(|_| Array2::zeros((k, k)));
    for c in 0..k {
        let d = m[[c, c]];
        let d_new = d.max(min_per_class as f64);
        let delta = d_new - d;
        let nonzero = m.column(c).iter().filter(|&&x| x != 0.0).count() as f64;
        let spread = (nonzero - 1.0).max(1.0);
        for r in 0..k {
            m[[r, c]] = (m[[r, c]] - delta / spread).max(0.0);
        }
        m[[c, c]] = d_new;
    }
    // Then each column is reduced in place: off the diagonal scaled by `frac_noise`, the
    // diagonal growing by what the column lost. cleanlab works on cj.T, a Fortran-ordered view,
    // so numpy sums each column as a contiguous vector (pairwise); the truncation to int below
    // can depend on that last bit. (In place: at K = 1,000 each K x K matrix is 8 MB.)
    let mut removed = vec![0.0; k];
    for c in 0..k {
        for (r, x) in removed.iter_mut().enumerate() {
            let v = m[[r, c]];
            *x = if r == c { 0.0 } else { v - v * frac_noise };
        }
        for r in (0..k).filter(|&r| r != c) {
            m[[r, c]] *= frac_noise;
        }
        m[[c, c]] += crate::latent::np_sum(&removed);
    }
    let (flat, _) = m.into_raw_vec_and_offset();
    let ints: Vec<i64> = flat.into_iter().map(|x| x as i64).collect();
    Array2::from_shape_vec((k, k), ints).unwrap_or_else(|_| Array2::zeros((k, k)))
}

/// What pass 3 selects, per given-label class, planned from a confident joint and label counts;
/// shared by the in-memory `label_issues` and the streaming `batched::PruneSelector`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrunePlan {
    /// `PruneByNoiseRate`, `PruneByClass` or `Both`.
    pub filter_by: FilterBy,
    /// Rows to flag per class for prune_by_class (0 = none).
    pub class_num: Vec<usize>,
    /// Per class: the (true class j, count) cells for prune_by_noise_rate, `j` ascending.
    pub cells: Vec<Vec<(usize, usize)>>,
    /// Classes skipped for having too few examples (once per rule that skips them).
    pub too_few: Vec<usize>,
}

impl PrunePlan {
    /// Plan from a (K, K) confident joint (rows = given label) and the label counts.
    pub fn new(
        cj: ArrayView2<'_, i64>,
        label_counts: &[i64],
        filter_by: FilterBy,
        frac_noise: f64,
        num_to_remove_per_class: Option<&[i64]>,
        min_examples_per_class: i64,
        sorter: &dyn Argsort,
    ) -> Result<Self> {
        Self::from_owned(
            cj.to_owned(),
            label_counts,
            filter_by,
            frac_noise,
            num_to_remove_per_class,
            min_examples_per_class,
            sorter,
        )
    }

    /// `new` from a confident joint the caller gives up: the prune counts are computed in its
    /// buffer, so planning holds one K x K matrix (at K = 1,000, 8 MB), not two.
    pub fn from_owned(
        cj: Array2<i64>,
        label_counts: &[i64],
        filter_by: FilterBy,
        frac_noise: f64,
        num_to_remove_per_class: Option<&[i64]>,
        min_examples_per_class: i64,
        sorter: &dyn Argsort,
    ) -> Result<Self> {
        let k = label_counts.len();
        if cj.dim() != (k, k) {
            return Err(Error::InvalidInput(format!(
                "confident_joint must have shape ({k}, {k}) to match {k} label counts, but it has shape {:?}",
                cj.dim()
            )));
        }
        let by_class = matches!(filter_by, FilterBy::PruneByClass | FilterBy::Both);
        let by_noise_rate = matches!(filter_by, FilterBy::PruneByNoiseRate | FilterBy::Both);
        if !by_class && !by_noise_rate {
            return Err(Error::InvalidInput(format!(
                "filter_by must be prune_by_noise_rate, prune_by_class or both to prune; got {filter_by:?}"
            )));
        }
        let mut pcm = prune_count_matrix(cj, min_examples_per_class, frac_noise);
        if let Some(r) = num_to_remove_per_class {
            pcm = remove_per_class(pcm.view(), label_counts, r, sorter)?;
        }
        let mut plan = PrunePlan {
            filter_by,
            class_num: vec![0; k],
            cells: vec![Vec::new(); k],
            too_few: Vec::new(),
        };
        for (c, &count) in label_counts.iter().enumerate() {
            if count <= min_examples_per_class {
                if by_class {
                    plan.too_few.push(c);
                }
                if by_noise_rate {
                    plan.too_few.push(c);
                }
                continue;
            }
            // cleanlab prunes nothing in a class with a single example.
            if count <= 1 {
                continue;
            }
            if by_class {
                plan.class_num[c] = usize::try_from(count - pcm[[c, c]]).unwrap_or(0);
            }
            if by_noise_rate {
                for j in (0..k).filter(|&j| j != c) {
                    if let Ok(num) = usize::try_from(pcm[[j, c]]) {
                        if num > 0 {
                            plan.cells[c].push((j, num));
                        }
                    }
                }
            }
        }
        Ok(plan)
    }

    pub fn k(&self) -> usize {
        self.class_num.len()
    }
}

/// Pass-3 selectors (mergeable): one per class for prune_by_class, one per active (given, true)
/// cell for prune_by_noise_rate. A row is stored as `2 * global_index + vetoed` (the boosted
/// argmax equals its given label), so the veto needs no second read of the rows; the order by
/// (key, stored index) is the order by (key, row index) because row indices are distinct.
///
/// In memory (`select_mask`) a selector may also have a sampled lower bound `lo`: rows whose
/// key is strictly below it are surely selected, so they are only counted and flagged in place
/// (no candidate is stored); only the rows in the band `lo..=cap` compete in the selector.
///
/// Cells are stored by *slot*: the active cells class by class, in `plan.cells` order, so memory
/// grows with the number of active cells, not with K² (at K = 1,000 a dense layout took 400 MB).
#[derive(Clone, Debug)]
pub struct PruneState {
    pub(crate) class_sel: Vec<Smallest>,
    /// One selector per slot: the cells of class `c` are the slots `cell_start[c]..cell_start[c + 1]`,
    /// in the order of `plan.cells[c]` (true class ascending).
    pub(crate) cell_sel: Vec<Smallest>,
    cell_start: Vec<usize>,
    /// Per slot: its true class `j`.
    cell_col: Vec<usize>,
    /// Per slot: keys above it cannot enter the cell.
    bound: Vec<f64>,
    /// For classes with many cells (see `DENSE_CELLS`), the same bounds laid out over all K
    /// columns (`-inf` where there is no cell) at `dense_at[c]`, so most rows are rejected by one
    /// vectorised comparison; `usize::MAX` for the other classes, whose slots are visited.
    dense: Vec<f64>,
    dense_at: Vec<usize>,
    /// The slot of each column of a dense row (`usize::MAX` where there is no cell).
    dense_slot: Vec<usize>,
    /// Caps inherited from a fuller state this one will be merged into (keys above them can never
    /// be selected there): per class, then per slot; `+inf` when there is none.
    class_cap: Vec<f64>,
    cell_cap: Vec<f64>,
    /// Sure-selection bounds (keys strictly below are selected without competing), per class
    /// then per slot; `-inf` when there is none (always, outside `select_mask`).
    class_lo: Vec<f64>,
    cell_lo: Vec<f64>,
    /// How many rows each selector took as sure (below its `lo`).
    class_sure: Vec<usize>,
    cell_sure: Vec<usize>,
}

/// Flag bits of a row in `select_mask`: picked by its class, by one of its cells, vetoed (the
/// bit the joint pass records, see `count::joint_pass_vetoes`).
const PICK_CLASS: u8 = 2;
const PICK_CELL: u8 = 4;
const VETOED: u8 = count::VETOED_BIT;

/// A row's entry in `PruneState::offer_all`: its flag bits (`u8`), or nothing (`()`, the
/// streaming path, where no row is surely selected).
trait RowFlags: Send {
    /// The row's veto, when `known` (recorded by the joint pass).
    fn veto(&self, known: bool) -> Option<bool>;
    /// Add the bits `offer_row` returned.
    fn add(&mut self, bits: u8);
}

impl RowFlags for u8 {
    #[inline(always)]
    fn veto(&self, known: bool) -> Option<bool> {
        known.then_some(self & VETOED != 0)
    }
    #[inline(always)]
    fn add(&mut self, bits: u8) {
        *self |= bits;
    }
}

impl RowFlags for () {
    #[inline(always)]
    fn veto(&self, _known: bool) -> Option<bool> {
        None
    }
    #[inline(always)]
    fn add(&mut self, _bits: u8) {}
}

/// States with at least this many cell selectors merge them over the thread pool.
const PAR_MERGE_SELECTORS: usize = 256;

/// A class keeps a dense row of bounds when at least one column in `DENSE_CELLS` has a cell.
const DENSE_CELLS: usize = 8;

impl PruneState {
    pub fn new(plan: &PrunePlan) -> Self {
        let k = plan.k();
        let mut cell_start = Vec::with_capacity(k + 1);
        let mut dense_at = vec![usize::MAX; k];
        let mut dense_len = 0;
        cell_start.push(0);
        for (c, cells) in plan.cells.iter().enumerate() {
            cell_start.push(cell_start[c] + cells.len());
            if !cells.is_empty() && cells.len() * DENSE_CELLS >= k {
                dense_at[c] = dense_len;
                dense_len += k;
            }
        }
        let cells = plan.cells.iter().flatten();
        let slots = cell_start[k];
        let mut dense_slot = vec![usize::MAX; dense_len];
        for (c, &at) in dense_at.iter().enumerate() {
            if at != usize::MAX {
                for (slot, &(j, _)) in (cell_start[c]..).zip(&plan.cells[c]) {
                    dense_slot[at + j] = slot;
                }
            }
        }
        let mut state = PruneState {
            class_sel: plan.class_num.iter().map(|&n| Smallest::new(n)).collect(),
            cell_sel: cells.clone().map(|&(_, n)| Smallest::new(n)).collect(),
            cell_start,
            cell_col: cells.map(|&(j, _)| j).collect(),
            bound: Vec::new(),
            dense: vec![f64::NEG_INFINITY; dense_len],
            dense_slot,
            dense_at,
            class_cap: vec![f64::INFINITY; k],
            cell_cap: vec![f64::INFINITY; slots],
            class_lo: vec![f64::NEG_INFINITY; k],
            cell_lo: vec![f64::NEG_INFINITY; slots],
            class_sure: vec![0; k],
            cell_sure: vec![0; slots],
        };
        state.refresh_bounds();
        state
    }

    /// The slots of class `c`'s cells.
    #[inline(always)]
    fn slots(&self, c: usize) -> std::ops::Range<usize> {
        self.cell_start[c]..self.cell_start[c + 1]
    }

    /// Set the bound of `slot` (a cell of class `c`), in its dense row too.
    #[inline(always)]
    fn set_bound(&mut self, c: usize, slot: usize, b: f64) {
        self.bound[slot] = b;
        let at = self.dense_at[c];
        if at != usize::MAX {
            self.dense[at + self.cell_col[slot]] = b;
        }
    }

    /// A fresh state whose selectors work within a band `(lo, cap)` guessed from a fixed sample
    /// of the rows (every `stride`-th, see `select::sampled_band`): rows above the cap fail one
    /// comparison, rows below `lo` are taken without competing, and the selectors hold only the
    /// band. `select_mask` checks every guess and redoes the selectors it misled, so the result
    /// never depends on the sample.
    pub fn with_sampled_caps<T: Prob, L: Label>(
        plan: &PrunePlan,
        labels: ArrayView1<'_, L>,
        rows: &Rows<'_, T>,
        label_counts: &[i64],
        stride: usize,
    ) -> Self {
        let k = plan.k();
        let stride = stride.max(1);
        let mut state = PruneState::new(plan);
        let slots = state.cell_sel.len();
        let cell_start = &state.cell_start;
        // Small quotas are left uncapped: the dynamic bounds tighten after a few quotas' worth of
        // rows, and sampling keys for them (many cells when K is large) costs more than it saves.
        let capped = |n: usize| n >= MIN_CAPPED_QUOTA;
        // Sampled keys per class, then per cell (merged in any order: only their ranks matter).
        type Sample = (Vec<Vec<f64>>, Vec<Vec<f64>>);
        let (mut class_keys, mut cell_keys) = parallel::map_reduce(
            rows.n(),
            parallel::worth_parallel(rows.n() * k),
            || -> Sample { (vec![Vec::new(); k], vec![Vec::new(); slots]) },
            |(class_keys, cell_keys): &mut Sample, range| {
                let mut buf = vec![0.0; k];
                let sampled = (range.start.next_multiple_of(stride)..range.end).step_by(stride);
                rows.touch_rows(sampled.clone());
                for i in sampled {
                    let s = labels[i].class();
                    let class_on = capped(plan.class_num[s]);
                    if !class_on && !plan.cells[s].iter().any(|&(_, n)| capped(n)) {
                        continue;
                    }
                    let row = rows.row(i, &mut buf);
                    if class_on {
                        class_keys[s].push(row[s]);
                    }
                    for (&(j, n), keys) in plan.cells[s]
                        .iter()
                        .zip(&mut cell_keys[cell_start[s]..cell_start[s + 1]])
                    {
                        if capped(n) {
                            keys.push(row[s] - row[j]);
                        }
                    }
                }
            },
            |(mut ca, mut la): Sample, (cb, lb): Sample| {
                ca.iter_mut().zip(cb).for_each(|(a, b)| a.extend(b));
                la.iter_mut().zip(lb).for_each(|(a, b)| a.extend(b));
                (ca, la)
            },
        );
        for s in 0..k {
            let population = usize::try_from(label_counts[s]).unwrap_or(0);
            if capped(plan.class_num[s]) {
                (state.class_lo[s], state.class_cap[s]) =
                    sampled_band(&mut class_keys[s], plan.class_num[s], population);
            }
            for (&(_, n), slot) in plan.cells[s].iter().zip(state.slots(s)) {
                if capped(n) {
                    (state.cell_lo[slot], state.cell_cap[slot]) =
                        sampled_band(&mut cell_keys[slot], n, population);
                }
            }
        }
        state.refresh_bounds();
        state
    }

    /// Select in memory: offer every row (rows `0..N`), check the sampled guesses, redo what
    /// they misled, and return the mask of flagged rows with the number of selectors redone.
    /// `vetoed`, when given, holds each row's veto as recorded by `count::joint_pass_vetoes`
    /// (one entry per row); without it the vetoes are worked out here, for the rows that need one.
    pub fn select_mask<T: Prob, L: Label>(
        mut self,
        plan: &PrunePlan,
        labels: ArrayView1<'_, L>,
        rows: &Rows<'_, T>,
        vetoed: Option<Vec<u8>>,
    ) -> (Vec<bool>, usize) {
        // Per row: the bits of the selections it is surely in, and its veto.
        let known = vetoed.is_some();
        let mut flags = vetoed.unwrap_or_else(|| vec![0u8; rows.n()]);
        assert_eq!(flags.len(), rows.n(), "one veto entry per row");
        self.offer_all(plan, labels, rows, 0, &mut flags, known);
        let redone = self.redo_misled(plan, labels, rows, &mut flags);
        (self.finish_flags(plan, flags), redone)
    }

    /// Whether a selector's sampled guesses held: no more sure rows than its quota, and with
    /// the band, at least its quota. Selectors without guesses always hold.
    fn guess_held(sel: &mut Smallest, cap: f64, lo: f64, sure: usize) -> bool {
        let guessed = cap < f64::INFINITY || lo > f64::NEG_INFINITY;
        !guessed || (sure <= sel.quota() && sure + sel.held() >= sel.quota())
    }

    /// Redo, uncapped, every selector whose sampled guess turned out wrong (see `guess_held`):
    /// one more pass over the rows, offering only to those selectors (and to every cell of a
    /// class with such a cell, whose shared flag bit is rebuilt). Rare by design. Returns how
    /// many selectors were redone.
    fn redo_misled<T: Prob, L: Label>(
        &mut self,
        plan: &PrunePlan,
        labels: ArrayView1<'_, L>,
        rows: &Rows<'_, T>,
        flags: &mut [u8],
    ) -> usize {
        let k = plan.k();
        let mut sub = PrunePlan {
            filter_by: plan.filter_by,
            class_num: vec![0; k],
            cells: vec![Vec::new(); k],
            too_few: Vec::new(),
        };
        // Per class, the flag bits to rebuild.
        let mut clear = vec![0u8; k];
        for (s, clear_s) in clear.iter_mut().enumerate() {
            let (cap, lo, sure) = (self.class_cap[s], self.class_lo[s], self.class_sure[s]);
            if plan.class_num[s] > 0 && !Self::guess_held(&mut self.class_sel[s], cap, lo, sure) {
                sub.class_num[s] = plan.class_num[s];
                *clear_s |= PICK_CLASS;
            }
            let misled = self.slots(s).any(|c| {
                let (cap, lo, sure) = (self.cell_cap[c], self.cell_lo[c], self.cell_sure[c]);
                !Self::guess_held(&mut self.cell_sel[c], cap, lo, sure)
            });
            if misled {
                sub.cells[s].clone_from(&plan.cells[s]);
                *clear_s |= PICK_CELL;
            }
        }
        let redone = sub.class_num.iter().filter(|&&q| q > 0).count()
            + sub.cells.iter().map(Vec::len).sum::<usize>();
        if redone == 0 {
            return 0;
        }
        for (i, f) in flags.iter_mut().enumerate() {
            *f &= !clear[labels[i].class()];
        }
        let mut redo = PruneState::new(&sub);
        redo.offer_rows(&sub, labels, rows, 0);
        self.take_part(&sub, redo);
        redone
    }

    /// An empty state whose rows will be merged into `self`: it skips every key that `self`
    /// already beats (and takes the same keys as sure), so a fresh per-thread state does not
    /// hoard candidates `self` would drop.
    fn empty_below(&self, plan: &PrunePlan) -> Self {
        let mut state = PruneState::new(plan);
        state.class_cap = self.class_bounds();
        state.cell_cap.clone_from(&self.bound);
        state.class_lo.clone_from(&self.class_lo);
        state.cell_lo.clone_from(&self.cell_lo);
        state.refresh_bounds();
        state
    }

    fn class_bounds(&self) -> Vec<f64> {
        (0..self.class_sel.len())
            .map(|s| self.class_bound(s))
            .collect()
    }

    /// Class `s`'s keys above this cannot enter its selection: its selector's bound, or its
    /// cap when that is lower.
    #[inline(always)]
    fn class_bound(&self, s: usize) -> f64 {
        self.class_sel[s].bound_key().min(self.class_cap[s])
    }

    /// Recompute the cell bounds from the selectors (after a merge or a restore).
    pub(crate) fn refresh_bounds(&mut self) {
        self.bound = self
            .cell_sel
            .iter()
            .zip(&self.cell_cap)
            .map(|(s, &cap)| s.bound_key().min(cap))
            .collect();
        for (c, &at) in self.dense_at.iter().enumerate() {
            if at != usize::MAX {
                for slot in self.cell_start[c]..self.cell_start[c + 1] {
                    self.dense[at + self.cell_col[slot]] = self.bound[slot];
                }
            }
        }
    }

    /// Fold another state of the same plan into this one.
    pub fn merge(&mut self, other: PruneState) {
        use rayon::prelude::*;
        let fold = |a: &mut Smallest, b: Smallest| *a = std::mem::take(a).merge(b);
        // The selectors merge independently: over the pool when there are many (the merge of
        // two threads' states is otherwise a serial step, 7 ms at K = 100).
        if self.cell_sel.len() >= PAR_MERGE_SELECTORS && rayon::current_num_threads() > 1 {
            (self.class_sel.par_iter_mut().zip(other.class_sel))
                .chain(self.cell_sel.par_iter_mut().zip(other.cell_sel))
                .with_min_len(16)
                .for_each(|(a, b)| fold(a, b));
        } else {
            for (a, b) in self.class_sel.iter_mut().zip(other.class_sel) {
                fold(a, b);
            }
            for (a, b) in self.cell_sel.iter_mut().zip(other.cell_sel) {
                fold(a, b);
            }
        }
        for (a, b) in self.class_sure.iter_mut().zip(other.class_sure) {
            *a += b;
        }
        for (a, b) in self.cell_sure.iter_mut().zip(other.cell_sure) {
            *a += b;
        }
        self.refresh_bounds();
    }

    /// Offer every row of a batch whose first row has global index `offset` (a state without
    /// sure bounds: the streaming path, and redone selectors).
    /// Labels must lie in `0..K` and `2 * (offset + rows.n())` must fit in a `usize`.
    pub fn offer_rows<T: Prob, L: Label>(
        &mut self,
        plan: &PrunePlan,
        labels: ArrayView1<'_, L>,
        rows: &Rows<'_, T>,
        offset: usize,
    ) {
        debug_assert!(self
            .class_lo
            .iter()
            .chain(&self.cell_lo)
            .all(|&lo| lo == f64::NEG_INFINITY));
        // Without sure bounds no row has flag bits: nothing to write (zero-sized entries).
        self.offer_all(plan, labels, rows, offset, &mut vec![(); rows.n()], false);
    }

    /// Offer every row of `rows` (global indices from `offset`) and add each row's flag bits
    /// to its entry of `out` (one per row; holding its veto when `known`), in parallel on
    /// large inputs.
    fn offer_all<T: Prob, L: Label, V: RowFlags>(
        &mut self,
        plan: &PrunePlan,
        labels: ArrayView1<'_, L>,
        rows: &Rows<'_, T>,
        offset: usize,
        out: &mut [V],
        known: bool,
    ) {
        if parallel::worth_parallel(rows.n() * rows.k()) {
            let batch = parallel::map_reduce_out(
                out,
                true,
                || self.empty_below(plan),
                |st: &mut PruneState, start, part| {
                    st.offer_range(plan, labels, rows, start, offset, part, known);
                },
                |mut a, b| {
                    a.merge(b);
                    a
                },
            );
            self.merge(batch);
        } else {
            // Serially the rows go straight into this state, whose bounds are already tight.
            self.offer_range(plan, labels, rows, 0, offset, out, known);
        }
    }

    /// `offer_all` over the rows `start..start + out.len()`.
    #[allow(clippy::too_many_arguments)]
    fn offer_range<T: Prob, L: Label, V: RowFlags>(
        &mut self,
        plan: &PrunePlan,
        labels: ArrayView1<'_, L>,
        rows: &Rows<'_, T>,
        start: usize,
        offset: usize,
        out: &mut [V],
        known: bool,
    ) {
        let k = rows.k();
        let mut buf = vec![0.0; k];
        let mut cls = Vec::new();
        // Rows of classes without cells (all of prune_by_class) need only their given-label
        // probability. When a row spans several cache lines, those are gathered for the block
        // first, in a loop without branches: their loads overlap, instead of each waiting behind
        // the previous row's offer, whose branches depend on the value loaded (at 1M x 100 this
        // takes prune_by_class's selection from 60 to 35 ms on one thread). Narrow rows are read
        // in order anyway, and rows of classes with cells are read whole.
        let cells = plan.cells.iter().any(|c| !c.is_empty());
        let gather = rows.wide() && !cells && plan.class_num.iter().any(|&n| n > 0);
        // Rows of classes with cells are read whole, and most enter none of the cells (nor the
        // class selection): when some class has cells the rows are screened a block at a time,
        // in a loop without branches (see `Screen`). Rows of up to 16 values are screened
        // against a K x K copy of the bounds, built per width; wider ones against the state's
        // own bounds, in a loop built for the widest vectors (`WideScreen`): at 1M x 100 f32 the
        // offers' own test, each value converted to f64 and compared two at a time, took most of
        // prune_by_noise_rate's time.
        let narrow = k <= crate::data::MAX_UNROLLED;
        let mut screen = cells.then(|| Screen::new(k, narrow));
        let mut given = Vec::new();
        rows.for_blocks(start..start + out.len(), |first, end, flat| {
            classes_into(labels, first..end, &mut cls);
            if gather {
                given_into(flat, k, &cls, &mut given);
            }
            let out = &mut out[first - start..end - start];
            if let Some(screen) = screen.as_mut() {
                if !narrow {
                    screen.set_class_bounds(self, plan);
                    crate::wide::run(WideScreen {
                        screen,
                        state: self,
                        flat,
                        k,
                        cls: &cls,
                    });
                } else {
                    screen.set_bounds(self, plan);
                    crate::by_width!(k, screen_rows, [T], (screen, flat, &cls));
                }
                let words = screen.words;
                for (n, &i) in screen.hits.iter().enumerate() {
                    let (i, s) = (i as usize, cls[i as usize]);
                    let row = &flat[i * k..(i + 1) * k];
                    let global = 2 * (offset + first + i);
                    let veto = out[i].veto(known);
                    let ps = row[s].to_f64();
                    let bits = if !narrow && self.dense_at[s] != usize::MAX {
                        let masks = &screen.masks[n * words..(n + 1) * words];
                        self.offer_masked(plan, row, ps, s, global, veto, masks)
                    } else {
                        self.offer_row(plan, row, ps, s, global, veto, &mut buf)
                    };
                    out[i].add(bits);
                }
                return None;
            }
            crate::for_rows!(k, flat, &cls, 0, |row, s, i| {
                let global = 2 * (offset + first + i);
                let veto = out[i].veto(known);
                let ps = if gather { given[i] } else { row[s].to_f64() };
                let bits = self.offer_row(plan, row, ps, s, global, veto, &mut buf);
                out[i].add(bits);
            });
            None
        });
    }

    /// Move the selectors of `other` (a state for `part`, a part of this state's plan) in.
    fn take_part(&mut self, part: &PrunePlan, mut other: PruneState) {
        let k = part.k();
        for s in 0..k {
            if part.class_num[s] > 0 {
                self.class_sel[s] = std::mem::replace(&mut other.class_sel[s], Smallest::new(0));
                self.class_sure[s] = other.class_sure[s];
                self.class_lo[s] = other.class_lo[s];
                self.class_cap[s] = other.class_cap[s];
            }
            // `part` has either all of class `s`'s cells or none (see `redo_misled`), so its
            // slots of class `s` are this state's.
            debug_assert!(part.cells[s].is_empty() || part.cells[s].len() == self.slots(s).len());
            for (c, o) in self.slots(s).zip(other.slots(s)).take(part.cells[s].len()) {
                self.cell_sel[c] = std::mem::replace(&mut other.cell_sel[o], Smallest::new(0));
                self.cell_sure[c] = other.cell_sure[o];
                self.cell_lo[c] = other.cell_lo[o];
                self.cell_cap[c] = other.cell_cap[o];
            }
        }
        self.refresh_bounds();
    }

    /// Offer one row (its given class `s` and `ps = row[s]` as f64, stored as `global`: twice
    /// its index; its veto if already known; `buf` of length K). Returns its flag bits for the
    /// selections it is surely in (0 without sure bounds), with its veto when there are any. A
    /// row of a class with cells goes, as f64, through the copy built for its width
    /// (`offer_row_w`); one without (all of prune_by_class) only needs the class part, here,
    /// which reads nothing of the row but `ps` (and the row's veto when it is not known).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn offer_row<T: Prob>(
        &mut self,
        plan: &PrunePlan,
        row: &[T],
        ps: f64,
        s: usize,
        global: usize,
        veto: Option<bool>,
        buf: &mut [f64],
    ) -> u8 {
        if plan.cells[s].is_empty() {
            let mut veto = veto;
            let bits = self.offer_class(plan, row, ps, s, global, &mut veto);
            with_veto(bits, &mut veto, row, s)
        } else {
            let row = row_f64(row, buf);
            let k = row.len();
            crate::by_width!(k, offer_row_w, [], (self, plan, row, s, global, veto))
        }
    }

    /// The class part of `offer_row` (`ps` = `row[s]`): a sure pick (its flag bit, returned) or
    /// an offer to the class's selector when the row's key is within its bound.
    #[inline(always)]
    fn offer_class<T: Prob>(
        &mut self,
        plan: &PrunePlan,
        row: &[T],
        ps: f64,
        s: usize,
        global: usize,
        veto: &mut Option<bool>,
    ) -> u8 {
        if plan.class_num[s] == 0 {
            0
        } else if ps < self.class_lo[s] {
            self.class_sure[s] += 1;
            PICK_CLASS
        } else {
            if ps <= self.class_bound(s) {
                let p = global + usize::from(known_veto(veto, row, s));
                self.class_sel[s].offer(ps, p);
            }
            0
        }
    }

    /// `offer_row` for a row of a class with cells, of width `K` (see `data::width`).
    #[inline(always)]
    fn offer_with_cells<const K: usize>(
        &mut self,
        plan: &PrunePlan,
        row: &[f64],
        s: usize,
        global: usize,
        mut veto: Option<bool>,
    ) -> u8 {
        let row = &row[..crate::data::width::<K>(row.len())];
        let k = row.len();
        let ps = row[s];
        let mut bits = self.offer_class(plan, row, ps, s, global, &mut veto);
        let mut packed = || global + usize::from(known_veto(&mut veto, row, s));
        // Largest margin row[j] - row[s] first == smallest key row[s] - row[j].
        let (first, end) = (self.cell_start[s], self.cell_start[s + 1]);
        let dense = self.dense_at[s];
        if dense != usize::MAX {
            let bounds = &self.dense[dense..dense + k];
            let hit = row
                .iter()
                .zip(bounds)
                .fold(false, |acc, (&p, &b)| acc | (ps - p <= b));
            if hit {
                // The cells the row enters, as bit masks of 64 columns (branch-free), then
                // only those cells: a row usually enters one or two of K - 1. Offering to a
                // cell moves only that cell's bound, so the masks stay exact.
                for (w, pw) in row.chunks(64).enumerate() {
                    let at = dense + w * 64;
                    let enters = mask64(pw, &self.dense[at..at + pw.len()], |p, b| ps - p <= b);
                    bits |= self.enter_columns(s, w, enters, row, ps, &mut packed);
                }
            }
        } else {
            for slot in first..end {
                let key = ps - row[self.cell_col[slot]];
                if key <= self.bound[slot] {
                    bits |= self.enter_cell(s, slot, key, &mut packed);
                }
            }
        }
        with_veto(bits, &mut veto, row, s)
    }

    /// A row whose key is within the bound of cell `slot` (of class `c`): a sure pick (its flag
    /// bit, returned) or an offer to the cell's selector, whose bound then moves.
    #[inline(always)]
    fn enter_cell(
        &mut self,
        c: usize,
        slot: usize,
        key: f64,
        packed: &mut impl FnMut() -> usize,
    ) -> u8 {
        if key < self.cell_lo[slot] {
            self.cell_sure[slot] += 1;
            return PICK_CELL;
        }
        let sel = &mut self.cell_sel[slot];
        sel.offer(key, packed());
        let b = sel.bound_key().min(self.cell_cap[slot]);
        self.set_bound(c, slot, b);
        0
    }

    /// `offer_row` for a row of a class with a dense row of bounds, given the columns whose
    /// bounds it was within when its block was screened (`masks`, see `Screen::masks`). Bounds
    /// have only tightened since, so those columns are the only cells it may enter; each is
    /// tested against its bound as it is now. The keys are the offers' own f64 arithmetic, on
    /// the row's values as they are, with no copy of the row.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn offer_masked<T: Prob>(
        &mut self,
        plan: &PrunePlan,
        row: &[T],
        ps: f64,
        s: usize,
        global: usize,
        mut veto: Option<bool>,
        masks: &[u64],
    ) -> u8 {
        let mut bits = self.offer_class(plan, row, ps, s, global, &mut veto);
        let mut packed = || global + usize::from(known_veto(&mut veto, row, s));
        for (w, &enters) in masks.iter().enumerate() {
            bits |= self.enter_columns(s, w, enters, row, ps, &mut packed);
        }
        with_veto(bits, &mut veto, row, s)
    }

    /// The cells of class `s` (which has a dense row of bounds) in the columns of `enters` (bit
    /// `j` for column `64 * w + j`) that the row's keys are within now, entered in column order;
    /// their flag bits. Entering a cell moves only that cell's bound, so a mask that was exact
    /// stays exact; one from an earlier screen may hold columns whose bounds have moved past.
    #[inline(always)]
    fn enter_columns<T: Prob>(
        &mut self,
        s: usize,
        w: usize,
        mut enters: u64,
        row: &[T],
        ps: f64,
        packed: &mut impl FnMut() -> usize,
    ) -> u8 {
        let dense = self.dense_at[s];
        let mut bits = 0;
        while enters != 0 {
            let j = w * 64 + enters.trailing_zeros() as usize;
            enters &= enters - 1;
            let key = ps - row[j].to_f64();
            if key <= self.dense[dense + j] {
                bits |= self.enter_cell(s, self.dense_slot[dense + j], key, packed);
            }
        }
        bits
    }

    /// The mask from the rows' flag bits (sure picks) and the selectors' band picks: each
    /// selector contributes its quota minus its sure rows.
    fn finish_flags(self, plan: &PrunePlan, mut flags: Vec<u8>) -> Vec<bool> {
        let mut mark = |p: usize, bit: u8| {
            if let Some(f) = flags.get_mut(p >> 1) {
                *f |= bit | if p & 1 == 1 { VETOED } else { 0 };
            }
        };
        for (sel, sure) in self.class_sel.into_iter().zip(self.class_sure) {
            let need = sel.quota().saturating_sub(sure);
            sel.finish_first(need)
                .into_iter()
                .for_each(|p| mark(p, PICK_CLASS));
        }
        for (sel, sure) in self.cell_sel.into_iter().zip(self.cell_sure) {
            let need = sel.quota().saturating_sub(sure);
            sel.finish_first(need)
                .into_iter()
                .for_each(|p| mark(p, PICK_CELL));
        }
        let need = match plan.filter_by {
            FilterBy::PruneByClass => PICK_CLASS,
            FilterBy::PruneByNoiseRate => PICK_CELL,
            _ => PICK_CLASS | PICK_CELL,
        };
        // Not vetoed and picked by every rule needed, in one comparison: a loop without
        // branches (with `&&` it took 6% of prune_by_noise_rate at 10M x 10 on one thread). The
        // bytes become 0 or 1 in place, in parallel on large inputs; the conversion to `bool`
        // then reuses their allocation.
        let keep = |f: u8| u8::from(f & (VETOED | need) == need);
        if parallel::worth_parallel(flags.len()) {
            use rayon::prelude::*;
            flags.par_iter_mut().for_each(|f| *f = keep(*f));
        } else {
            flags.iter_mut().for_each(|f| *f = keep(*f));
        }
        flags.into_iter().map(|f| f != 0).collect()
    }

    /// Flagged global row indices, ascending, after the argmax veto (a state without sure
    /// bounds: the streaming path).
    pub fn finish(self, plan: &PrunePlan) -> Vec<usize> {
        let mut by_class: Vec<usize> = self
            .class_sel
            .into_iter()
            .flat_map(Smallest::finish_unordered)
            .collect();
        by_class.sort_unstable();
        // A row can be among the top of several cells of its class.
        let mut by_rate: Vec<usize> = self
            .cell_sel
            .into_iter()
            .flat_map(Smallest::finish_unordered)
            .collect();
        by_rate.sort_unstable();
        by_rate.dedup();
        let picked = match plan.filter_by {
            FilterBy::PruneByClass => by_class,
            FilterBy::PruneByNoiseRate => by_rate,
            _ => {
                let mut rate = by_rate.into_iter().peekable();
                by_class
                    .into_iter()
                    .filter(|&x| {
                        while rate.next_if(|&r| r < x).is_some() {}
                        rate.peek() == Some(&x)
                    })
                    .collect()
            }
        };
        picked
            .into_iter()
            .filter(|p| p & 1 == 0)
            .map(|p| p >> 1)
            .collect()
    }
}

/// The rows of a block that `PruneState::offer_row` may do anything with, found before any is
/// offered, in a loop without branches. For narrow rows the offers' own tests (is the row's
/// class key or any cell key within its bound?) branch on data about one row in four, and the
/// mispredictions cost more than the tests; for wide ones the tests are most of the work, and
/// are done in wider vectors here (`WideScreen`). Bounds only tighten as rows are offered, so the
/// bounds at the start of the block let through every row that the offers would take (and a
/// few they will now reject): the offers still decide.
struct Screen {
    /// Per class `s`, per column `j`: the bound of cell `(s, j)`, `-inf` where there is none
    /// (narrow rows only: `WideScreen` reads the state's bounds).
    cell: Vec<f64>,
    /// Per class: its sure bound and its bound (`-inf` for classes without a selection).
    class_lo: Vec<f64>,
    class_bound: Vec<f64>,
    /// Positions in the block of the rows let through.
    hits: Vec<u32>,
    /// `WideScreen` only: for the `n`-th row let through, words `n * W..(n + 1) * W` (`W` =
    /// `words`) hold the columns whose cell bound it was within (bit `j % 64` of word `j / 64`),
    /// when its class has a dense row of bounds.
    masks: Vec<u64>,
    words: usize,
    /// `WideScreen`'s scratch: a row's tests, one byte each (0 or 1), zero beyond K.
    tests: Vec<u8>,
}

impl Screen {
    /// For rows of `k` values; with the K x K copy of the cell bounds when `copy`.
    fn new(k: usize, copy: bool) -> Self {
        Screen {
            cell: vec![f64::NEG_INFINITY; if copy { k * k } else { 0 }],
            masks: Vec::new(),
            words: k.div_ceil(64),
            tests: vec![0; k.div_ceil(64) * 64],
            class_lo: vec![f64::NEG_INFINITY; k],
            class_bound: vec![f64::NEG_INFINITY; k],
            hits: Vec::new(),
        }
    }

    /// The bounds of `state` as they are now.
    fn set_bounds(&mut self, state: &PruneState, plan: &PrunePlan) {
        let k = plan.k();
        self.cell.fill(f64::NEG_INFINITY);
        for s in 0..k {
            for slot in state.cell_start[s]..state.cell_start[s + 1] {
                self.cell[s * k + state.cell_col[slot]] = state.bound[slot];
            }
        }
        self.set_class_bounds(state, plan);
    }

    /// The class bounds of `state` as they are now (the cell bounds are left alone).
    fn set_class_bounds(&mut self, state: &PruneState, plan: &PrunePlan) {
        for s in 0..plan.k() {
            (self.class_lo[s], self.class_bound[s]) = if plan.class_num[s] > 0 {
                (state.class_lo[s], state.class_bound(s))
            } else {
                (f64::NEG_INFINITY, f64::NEG_INFINITY)
            };
        }
    }
}

/// `Screen::hits` of a block of wide rows (`flat`, rows of `k` values, `cls` their classes),
/// as `screen_rows` finds them, but against the bounds `state` holds: its dense row of bounds
/// for a class with many cells, its slots for the others. At 1M x 100 most rows of a class
/// with cells enter none of them; converting each value to f64 and comparing it in two lanes
/// (the offers' own loop in the portable build) took most of prune_by_noise_rate's time.
struct WideScreen<'a, T> {
    screen: &'a mut Screen,
    state: &'a PruneState,
    flat: &'a [T],
    k: usize,
    cls: &'a [usize],
}

impl<T: Prob> crate::wide::Kernel for WideScreen<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let WideScreen {
            screen,
            state,
            flat,
            k,
            cls,
        } = self;
        let words = screen.words;
        screen.hits.resize(cls.len(), 0);
        screen.masks.resize(cls.len() * words, 0);
        let mut n = 0;
        for ((row, &s), i) in flat.chunks_exact(k.max(1)).zip(cls).zip(0u32..) {
            let ps = row[s].to_f64();
            let class = (ps < screen.class_lo[s]) | (ps <= screen.class_bound[s]);
            let at = state.dense_at[s];
            let hit = if at != usize::MAX {
                // The tests as bytes (a loop the compiler vectorises), then eight bytes of 0
                // or 1 at a time packed into the bits of a byte by one multiplication.
                // `mask::mask64` per 64 columns gives the same masks but took
                // prune_by_noise_rate at 1M x 100 f32 from 295-311 to 345-360 ms (one thread).
                let bounds = &state.dense[at..at + k];
                for ((t, &p), &b) in screen.tests.iter_mut().zip(row).zip(bounds) {
                    *t = u8::from(ps - p.to_f64() <= b);
                }
                let masks = &mut screen.masks[n * words..(n + 1) * words];
                let mut any = 0;
                for (m, tw) in masks.iter_mut().zip(screen.tests.chunks_exact(64)) {
                    *m = tw.chunks_exact(8).enumerate().fold(0, |m, (g, t)| {
                        let bytes = u64::from_le_bytes(t.try_into().unwrap_or([0; 8]));
                        m | (bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * g)
                    });
                    any |= *m;
                }
                class | (any != 0)
            } else {
                (state.cell_start[s]..state.cell_start[s + 1]).fold(class, |acc, slot| {
                    acc | (ps - row[state.cell_col[slot]].to_f64() <= state.bound[slot])
                })
            };
            screen.hits[n] = i;
            n += usize::from(hit);
        }
        screen.hits.truncate(n);
        screen.masks.truncate(n * words);
    }
}

/// `Screen::hits` of a block (`flat`, rows of width `K`, see `data::width`; `cls` their
/// classes): the tests of `offer_class` and of the cells, in the same f64 arithmetic, every
/// row's position written and the count advanced by its result.
fn screen_rows<T: Prob, const K: usize>(screen: &mut Screen, flat: &[T], cls: &[usize]) {
    let k = crate::data::width::<K>(screen.class_lo.len());
    screen.hits.resize(cls.len(), 0);
    let mut n = 0;
    for ((row, &s), i) in flat.chunks_exact(k.max(1)).zip(cls).zip(0u32..) {
        let row = &row[..k];
        let ps = row[s].to_f64();
        let bounds = &screen.cell[s * k..s * k + k];
        let class = (ps < screen.class_lo[s]) | (ps <= screen.class_bound[s]);
        let hit = row
            .iter()
            .zip(bounds)
            .fold(class, |acc, (&p, &b)| acc | (ps - p.to_f64() <= b));
        screen.hits[n] = i;
        n += usize::from(hit);
    }
    screen.hits.truncate(n);
}

/// `PruneState::offer_with_cells` built for rows of width `K` (see `data::width`): one copy per
/// width, whatever the probability and label types, so that its loops over a row are unrolled.
#[inline(never)]
fn offer_row_w<const K: usize>(
    state: &mut PruneState,
    plan: &PrunePlan,
    row: &[f64],
    s: usize,
    global: usize,
    veto: Option<bool>,
) -> u8 {
    state.offer_with_cells::<K>(plan, row, s, global, veto)
}

/// `bits` with the row's veto bit added when it has any (a row with no bits needs no veto).
#[inline(always)]
fn with_veto<T: Prob>(bits: u8, veto: &mut Option<bool>, row: &[T], s: usize) -> u8 {
    if bits != 0 && known_veto(veto, row, s) {
        bits | VETOED
    } else {
        bits
    }
}

/// A row's veto: as recorded, or worked out once (from the row) and kept.
#[inline(always)]
fn known_veto<T: Prob>(veto: &mut Option<bool>, row: &[T], s: usize) -> bool {
    *veto.get_or_insert_with(|| count::is_vetoed(row, s))
}

/// Flag rows by `filter_by` (see `IssueOptions`), after validating `pred_probs`.
pub fn label_issues<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    opts: &IssueOptions<'_>,
    tol: f64,
    sorter: &dyn Argsort,
) -> Result<Issues> {
    let k = pred_probs.ncols();
    let n = pred_probs.nrows();
    let rows = Rows::new(pred_probs);
    let par = parallel::worth_parallel(n * k);
    // Pass 1 (validation + thresholds), for the rules that need thresholds.
    let thresholds = || count::confident_thresholds(labels, pred_probs, tol);
    match opts.filter_by {
        FilterBy::PredictedNeqGiven => {
            // Needs no thresholds: validate in the same single pass that flags.
            let mask = per_row_mask(&rows, labels, par, Some(tol), &RowFlag::PredictedNeqGiven)?;
            Ok(Issues {
                mask,
                too_few: Vec::new(),
            })
        }
        FilterBy::ConfidentLearning => {
            // The flag pass validates the rows when the thresholds pass did not.
            let (t, validate) = count::thresholds_for_joint(labels, pred_probs, tol)?;
            let cut = count::native_cuts::<T>(&t);
            let mask = per_row_mask(&rows, labels, par, validate, &RowFlag::OffDiagonal(cut))?;
            Ok(Issues {
                mask,
                too_few: Vec::new(),
            })
        }
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin => {
            let method = if opts.filter_by == FilterBy::LowSelfConfidence {
                Method::SelfConfidence
            } else {
                Method::NormalizedMargin
            };
            let t = thresholds()?;
            let scorer = Scorer::new(method, None, k)?;
            // The num lowest scores, num = the joint pass's issue count. With a score band
            // guessed from a sample, the joint pass marks the rows below it and gathers those in
            // it while it counts num; then only the band competes.
            let mut counted = None;
            if sample_worth_it(&rows) {
                let (lo, cap) = low_score_band(&rows, labels, &t, &scorer);
                let collect = count::Collect {
                    scorer: &scorer,
                    lo,
                    cap,
                };
                let mut mask = vec![false; n];
                let pass = count::joint_pass_collecting(
                    labels, pred_probs, &t, &collect, None, &mut mask,
                )?;
                let (num, sure) = (pass.issues as usize, pass.sure as usize);
                let mut band = pass.collected;
                if sure <= num && sure + band.len() >= num {
                    let need = num - sure;
                    if need > 0 && need < band.len() {
                        band.select_nth_unstable(need - 1);
                    }
                    for &e in &band[..need] {
                        mask[decode_index(e)] = true;
                    }
                    return Ok(Issues {
                        mask,
                        too_few: Vec::new(),
                    });
                }
                counted = Some(pass.issues);
            }
            // No sample, or its guess missed the num-th score: a selection pass over every row.
            let num = match counted {
                Some(num) => num,
                None => count::joint_pass(labels, pred_probs, &t, false, None)?.issues,
            } as usize;
            let sel = parallel::map_reduce(
                n,
                par,
                || Smallest::new(num),
                |acc: &mut Smallest, range| {
                    let mut buf = vec![0.0; k];
                    let mut adj = vec![0.0; k];
                    let mut cls = Vec::new();
                    rows.for_blocks(range, |start, end, flat| {
                        classes_into(labels, start..end, &mut cls);
                        for ((row, &s), i) in flat.chunks_exact(k.max(1)).zip(&cls).zip(start..) {
                            let key = match method {
                                Method::SelfConfidence => row[s].to_f64(),
                                _ => scorer.score_row(row, s, &mut buf, &mut adj),
                            };
                            if key <= acc.bound_key() {
                                acc.offer(key, i);
                            }
                        }
                        None
                    });
                },
                Smallest::merge,
            );
            let mut mask = vec![false; n];
            // The mask needs the selected set, not its order.
            for i in sel.finish_unordered() {
                mask[i] = true;
            }
            Ok(Issues {
                mask,
                too_few: Vec::new(),
            })
        }
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both => {
            let (t, validate) = match opts.confident_joint {
                // No joint pass: the thresholds pass validates (its thresholds go unused).
                Some(_) => (thresholds()?, None),
                None => count::thresholds_for_joint(labels, pred_probs, tol)?,
            };
            prune(labels, &rows, &t, validate, opts, sorter)
        }
    }
}

/// The one-row rules of `per_row_mask` (an enum, not a closure, so that each is inlined into
/// the width-specialised loops of `for_rows!`).
enum RowFlag<N> {
    /// argmax != given and the 1e-6-boosted argmax != given (filter_by="predicted_neq_given").
    PredictedNeqGiven,
    /// argmax != given (cleanlab `find_predicted_neq_given`).
    ArgmaxNeqGiven,
    /// Off the diagonal of the confident joint and not vetoed, with these cuts (thresholds -
    /// 1e-6) in the rows' native type (`count::native_cuts`): filter_by="confident_learning".
    OffDiagonal(Vec<N>),
}

impl<N: Copy> RowFlag<N> {
    /// The flag of a row with given label `s` and maximum `best` (`count::row_max`).
    #[inline(always)]
    fn flag<T: Prob<Native = N>>(&self, row: &[T], s: usize, best: f64) -> bool {
        match self {
            RowFlag::PredictedNeqGiven => {
                // Not vetoed means the boosted argmax is not `s`, so neither is the argmax.
                !count::veto_at_max(row, best, s, row[s].to_f64())
            }
            RowFlag::ArgmaxNeqGiven => count::first_max(row, best) != s,
            RowFlag::OffDiagonal(cut) if row.len() <= crate::data::MAX_UNROLLED => {
                // Narrow rows: the scan for confident classes costs less than a branch on the
                // veto, which is data (at 10M x 10 on one thread the flag pass took about
                // 130 ms with that branch and 67 ms without). Both are worked out and combined
                // without a branch; `guess_at` branches only for rows with several confident
                // classes, which are few.
                let vetoed = count::veto_at_max(row, best, s, row[s].to_f64());
                let (n_conf, last_conf) = count::confident_classes(row, cut);
                !vetoed & (n_conf > 0) & (count::guess_at(row, n_conf, last_conf, best) != s)
            }
            RowFlag::OffDiagonal(cut) => {
                // The veto first: it needs only the maximum, and it clears most rows (those
                // whose given label is the model's top class), which then skip the scan for
                // confident classes.
                !count::veto_at_max(row, best, s, row[s].to_f64()) && {
                    let (n_conf, last_conf) = count::confident_classes(row, cut);
                    n_conf > 0 && count::guess_at(row, n_conf, last_conf, best) != s
                }
            }
        }
    }
}

/// Rows where `flag` holds for (row, given label); with `tol`, each row is validated too.
fn per_row_mask<T: Prob, L: Label>(
    rows: &Rows<'_, T>,
    labels: ArrayView1<'_, L>,
    par: bool,
    tol: Option<f64>,
    flag: &RowFlag<T::Native>,
) -> Result<Vec<bool>> {
    let mut mask = vec![false; rows.n()];
    let bad = crate::with_rows_check!(rows, tol, |check| {
        flag_rows(rows, labels, par, check, flag, &mut mask)
    });
    if let Some(t) = tol {
        crate::validate::report_bad_row(rows, bad, t)?;
    }
    Ok(mask)
}

/// `per_row_mask` into `mask`, each row's maximum from `check`; the first bad row if any.
fn flag_rows<T: Prob, L: Label, C: RowsCheck>(
    rows: &Rows<'_, T>,
    labels: ArrayView1<'_, L>,
    par: bool,
    check: C,
    flag: &RowFlag<T::Native>,
    mask: &mut [bool],
) -> Option<usize> {
    let k = rows.k();
    crate::rank::fill_chunks(mask, par, |start, chunk| {
        let mut cls = Vec::new();
        let mut check = check;
        rows.for_blocks(start..start + chunk.len(), |s, e, flat| {
            if let Some(b) = check.begin(flat, s, e, k) {
                return Some(b);
            }
            classes_into(labels, s..e, &mut cls);
            let out = &mut chunk[s - start..e - start];
            crate::for_rows!(k, flat, &cls, 0, |row, c, i| {
                out[i] = flag.flag(row, c, check.max_of(row, i));
            });
            check.finish(flat, s, e, k)
        })
    })
}

/// The prune rules, with the thresholds for the joint pass and the tolerance it validates the
/// rows with, if any (see `count::thresholds_for_joint`).
fn prune<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    rows: &Rows<'_, T>,
    thresholds: &[f64],
    validate: Option<f64>,
    opts: &IssueOptions<'_>,
    sorter: &dyn Argsort,
) -> Result<Issues> {
    let k = rows.k();
    let counts = count::label_counts(labels, k);
    // Each row's veto, recorded by the joint pass when it runs here (the selection then reads
    // it instead of scanning the rows it offers once more).
    let mut vetoed = None;
    let cj = match opts.confident_joint {
        Some(cj) => {
            if cj.dim() != (k, k) {
                return Err(Error::InvalidInput(format!(
                    "confident_joint must have shape ({k}, {k}) to match pred_probs, but it has shape {:?}",
                    cj.dim()
                )));
            }
            cj.to_owned()
        }
        None => {
            let mut flags = vec![0u8; rows.n()];
            let pass =
                count::joint_pass_vetoes(labels, rows.view(), thresholds, validate, &mut flags)?;
            vetoed = Some(flags);
            let raw = count::counts_to_matrix(pass.counts, k);
            count::calibrate_owned(raw, &counts, sorter, true)?
        }
    };
    // The plan is all the selection needs: it takes the joint (K x K: 8 MB at K = 1,000).
    let plan = PrunePlan::from_owned(
        cj,
        &counts,
        opts.filter_by,
        opts.frac_noise,
        opts.num_to_remove_per_class,
        opts.min_examples_per_class,
        sorter,
    )?;
    let state = if sample_worth_it(rows) {
        PruneState::with_sampled_caps(&plan, labels, rows, &counts, sample_stride(rows))
    } else {
        PruneState::new(&plan)
    };
    let (mask, _) = state.select_mask(&plan, labels, rows, vetoed);
    Ok(Issues {
        mask,
        too_few: plan.too_few,
    })
}

/// A score band for the low_* rules from every `sample_stride`-th row: the sampled share of
/// issues (off-diagonal, not vetoed) gives estimates of num from below and above, and
/// `sampled_band` scores that the num-th lowest score almost surely lies between.
fn low_score_band<T: Prob, L: Label>(
    rows: &Rows<'_, T>,
    labels: ArrayView1<'_, L>,
    thresholds: &[f64],
    scorer: &Scorer,
) -> (f64, f64) {
    let k = rows.k();
    let n = rows.n();
    let stride = sample_stride(rows);
    let issue = RowFlag::OffDiagonal(count::confidence_cuts(thresholds));
    // The sampled scores (merged in any order: only their ranks matter) and issue count.
    let (mut keys, issues) = parallel::map_reduce(
        n,
        parallel::worth_parallel(n * k),
        || (Vec::new(), 0usize),
        |(keys, issues): &mut (Vec<f64>, usize), range| {
            let (mut buf, mut adj) = (vec![0.0; k], vec![0.0; k]);
            let sampled = (range.start.next_multiple_of(stride)..range.end).step_by(stride);
            rows.touch_rows(sampled.clone());
            for i in sampled {
                let row = rows.row(i, &mut buf);
                let s = labels[i].class();
                *issues += usize::from(issue.flag(row, s, count::row_max(row)));
                keys.push(scorer.score(row, s, &mut adj));
            }
        },
        |(mut a, x), (b, y)| {
            a.extend(b);
            (a, x + y)
        },
    );
    let m = keys.len().max(1) as f64;
    let share = issues as f64 / m;
    let dev = 5.0 * (share * (1.0 - share) / m).sqrt() + 8.0 / m;
    let num_hi = (((share + dev) * n as f64).ceil() as usize).min(n);
    let num_lo = ((share - dev) * n as f64).floor().max(0.0) as usize;
    let lo = sampled_band(&mut keys, num_lo, n).0;
    let hi = sampled_band(&mut keys, num_hi, n).1;
    (lo, hi)
}

/// Quotas below this are selected with dynamic bounds only (see `PruneState::with_sampled_caps`).
pub const MIN_CAPPED_QUOTA: usize = 1024;

/// Whether a selection pass over `rows` should first sample caps (large inputs only: below this
/// the dynamic bounds tighten within a few thousand rows anyway).
fn sample_worth_it<T: Prob>(rows: &Rows<'_, T>) -> bool {
    rows.n() >= 1 << 16 && rows.n() * rows.k() >= parallel::SERIAL_ELEMENTS
}

/// Sampling stride: every 32nd row, sparser for large inputs (about 2^20 sampled values at most).
fn sample_stride<T: Prob>(rows: &Rows<'_, T>) -> usize {
    ((rows.n() * rows.k()) >> 20).max(32)
}

/// cleanlab's `num_to_remove_per_class` overwrite of the prune count matrix.
pub fn remove_per_class(
    pcm: ArrayView2<'_, i64>,
    label_counts: &[i64],
    remove: &[i64],
    sorter: &dyn Argsort,
) -> Result<Array2<i64>> {
    let k = pcm.nrows();
    if remove.len() != k {
        return Err(Error::InvalidInput(format!(
            "num_to_remove_per_class must have one entry per class ({k}), but it has {}",
            remove.len()
        )));
    }
    let m = pcm.mapv(|x| x as f64);
    let rs = crate::latent::row_sums(m.view());
    // Entry [i, j] divided by the row sum of row j: numpy broadcasting of (K, K) / (K,).
    let mut shares = Array2::from_shape_fn((k, k), |(i, j)| m[[i, j]] / rs[j]);
    let noise: Vec<f64> = (0..k)
        .map(|i| crate::latent::np_sum(&shares.row(i).to_vec()) - shares[[i, i]])
        .collect();
    for d in 0..k {
        shares[[d, d]] = 0.0;
    }
    let mut res = Array2::<i64>::zeros((k, k));
    for i in 0..k {
        let mut row: Vec<f64> = (0..k)
            .map(|j| shares[[i, j]] * remove[i] as f64 / noise[i])
            .collect();
        row[i] = (label_counts[i] - remove[i]) as f64;
        // A row without noise is 0/0 = NaN in cleanlab, which then removes nothing through it.
        if row.iter().all(|v| v.is_finite()) {
            for (j, v) in count::round_preserving_sum(&row, sorter)
                .into_iter()
                .enumerate()
            {
                res[[i, j]] = v;
            }
        }
        res[[i, i]] = label_counts[i] - remove[i];
    }
    Ok(res)
}

/// `argmax(pred_probs) != labels` (cleanlab `find_predicted_neq_given`), validating every row.
pub fn predicted_neq_given<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    tol: f64,
) -> Result<Vec<bool>> {
    let rows = Rows::new(pred_probs);
    let par = parallel::worth_parallel(rows.n() * rows.k());
    per_row_mask(&rows, labels, par, Some(tol), &RowFlag::ArgmaxNeqGiven)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    /// What an offer can change in a state: bounds, sure counts, held candidates.
    fn footprint(st: &PruneState) -> (Vec<f64>, Vec<f64>, Vec<usize>, Vec<usize>, usize) {
        let held = st.class_sel.iter().chain(&st.cell_sel);
        (
            st.bound.clone(),
            st.class_bounds(),
            st.class_sure.clone(),
            st.cell_sure.clone(),
            held.map(|s| s.candidates().count()).sum(),
        )
    }

    /// Every row `screen_rows` holds back is one that `offer_row` does nothing with (no flag
    /// bits, no change to the state), whatever the bounds: here those left by offering the
    /// first rows, under sure bounds and caps, with classes of dense and of slot-stored cells
    /// and one class without any selection. `WideScreen` lets the same rows through, and a row
    /// offered from the masks it wrote (`offer_masked`) does what `offer_row` does, though the
    /// masks are from the start of the block and the bounds have moved since.
    #[test]
    fn the_screen_holds_back_only_rows_the_offers_would_not_take() {
        const K: usize = 10;
        let mut bits = xorshift(0x51ed_2701_9f3a_b44d);
        let mut next = move || (bits() >> 11) as f64 / (1u64 << 53) as f64;
        let n = 12_000;
        let labels: Vec<usize> = (0..n).map(|_| (next() * K as f64) as usize % K).collect();
        let mut flat = Vec::with_capacity(n * K);
        for _ in 0..n {
            let row: Vec<f64> = (0..K).map(|_| next().powi(3)).collect();
            let sum: f64 = row.iter().sum();
            flat.extend(row.iter().map(|v| v / sum));
        }
        // Class 0: every cell (dense); 1: one cell (a slot); 2: class selection only; 3: none.
        let mut cells = vec![Vec::new(); K];
        cells[0] = (1..K).map(|j| (j, 40)).collect();
        cells[1] = vec![(4, 30)];
        for (s, c) in cells.iter_mut().enumerate().skip(4) {
            *c = vec![(0, 25), (s - 1, 35)];
        }
        let plan = PrunePlan {
            filter_by: FilterBy::Both,
            class_num: vec![50, 60, 45, 0, 55, 40, 30, 20, 35, 45],
            cells,
            too_few: Vec::new(),
        };
        let mut st = PruneState::new(&plan);
        assert_ne!(st.dense_at[0], usize::MAX);
        assert_eq!(st.dense_at[1], usize::MAX);
        // Sure bounds and caps on some selectors, as a sampled band would set them.
        st.class_lo[4] = 0.05;
        st.class_cap[4] = 0.3;
        st.cell_lo[0] = -0.6;
        st.cell_cap[0] = -0.1;
        st.cell_cap[12] = 0.2;
        st.refresh_bounds();
        let mut buf = vec![0.0; K];
        let (mut held_back, mut checked) = (0, 0);
        let mut screen = Screen::new(K, true);
        // The state before the row being offered (to offer it again from its masks).
        let mut masked = st.clone();
        for (b, block) in flat.chunks(64 * K).enumerate() {
            let first = b * 64;
            let cls = &labels[first..first + block.len() / K];
            screen.set_bounds(&st, &plan);
            screen_rows::<f64, K>(&mut screen, block, cls);
            // The screen for wide rows, against the state's own bounds, lets the same rows
            // through, on every vector level.
            let mut wide = Screen::new(K, false);
            let mut masks: Option<Vec<u64>> = None;
            for level in crate::wide::tests::levels() {
                wide.set_class_bounds(&st, &plan);
                let kernel = WideScreen {
                    screen: &mut wide,
                    state: &st,
                    flat: block,
                    k: K,
                    cls,
                };
                crate::wide::run_at(level, kernel);
                assert_eq!(wide.hits, screen.hits, "block {b}, {level:?}");
                let first_masks = masks.get_or_insert_with(|| wide.masks.clone());
                assert_eq!(&wide.masks, first_masks, "block {b}, {level:?}");
            }
            let mut hits = screen.hits.iter().enumerate().peekable();
            for (i, (row, &s)) in block.chunks_exact(K).zip(cls).enumerate() {
                let through = hits.next_if(|&(_, &h)| h as usize == i);
                let before = footprint(&st);
                let got = st.offer_row(&plan, row, row[s], s, 2 * (first + i), None, &mut buf);
                if let Some((n, _)) = through {
                    checked += 1;
                    // A row of a dense class offered from its masks does what `offer_row` did.
                    if st.dense_at[s] != usize::MAX {
                        let after = footprint(&st);
                        st = masked.clone();
                        let masks = &wide.masks[n * wide.words..(n + 1) * wide.words];
                        let again =
                            st.offer_masked(&plan, row, row[s], s, 2 * (first + i), None, masks);
                        assert_eq!((again, footprint(&st)), (got, after), "row {}", first + i);
                    }
                } else {
                    held_back += 1;
                    assert_eq!(got, 0, "row {}", first + i);
                    assert_eq!(footprint(&st), before, "row {}", first + i);
                }
                masked = st.clone();
            }
        }
        // Both kinds of row are common, so the test has teeth either way.
        assert!(
            held_back > n / 4 && checked > n / 20,
            "{held_back} {checked}"
        );
    }
}
