//! Per-example label quality scores and the ordering of label issues (cleanlab 2.9 `rank`).

use crate::data::{classes_into, row_f64, Label, Prob, Rows};
use crate::error::{Error, Result};
use crate::latent::{np_sum, np_sum_by};
use crate::parallel;
use crate::select::{encode, Smallest};
use crate::validate::{report_bad_row, RowsCheck};
use ndarray::{ArrayView1, ArrayView2};

/// Which score (cleanlab `method` / `rank_by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    SelfConfidence,
    NormalizedMargin,
    ConfidenceWeightedEntropy,
}

impl Method {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "self_confidence" => Ok(Method::SelfConfidence),
            "normalized_margin" => Ok(Method::NormalizedMargin),
            "confidence_weighted_entropy" => Ok(Method::ConfidenceWeightedEntropy),
            other => Err(Error::InvalidInput(format!(
                "{other} is not a valid scoring method for rank_by! Please choose a valid rank_by: self_confidence, normalized_margin, confidence_weighted_entropy"
            ))),
        }
    }
}

/// Scoring context shared by every row: the method, and thresholds when adjusting pred_probs.
pub struct Scorer {
    method: Method,
    /// `(thresholds, max threshold)` for adjust_pred_probs.
    adjust: Option<(Vec<f64>, f64)>,
    log_k: f64,
}

impl Scorer {
    pub fn new(method: Method, thresholds: Option<&[f64]>, k: usize) -> Result<Self> {
        if method == Method::ConfidenceWeightedEntropy && thresholds.is_some() {
            return Err(Error::InvalidInput(
                "adjust_pred_probs is not currently supported for confidence_weighted_entropy."
                    .into(),
            ));
        }
        let adjust = thresholds.map(|t| {
            (
                t.to_vec(),
                t.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        });
        Ok(Scorer {
            method,
            adjust,
            log_k: (k as f64).ln(),
        })
    }

    /// Whether the score is the given-label probability itself (self-confidence, unadjusted).
    pub fn given_only(&self) -> bool {
        self.method == Method::SelfConfidence && self.adjust.is_none()
    }

    /// Score of a row of any probability type with given label `s`, read in place where the
    /// method allows: self-confidence reads one value, normalized margin takes the maximum of
    /// the other classes in the row's native type (`other_max`). Otherwise (adjusted
    /// probabilities, confidence-weighted entropy) the row is converted into `buf` first; `adj`
    /// is `score`'s. Both of length K.
    #[inline(always)]
    pub fn score_row<T: Prob>(&self, row: &[T], s: usize, buf: &mut [f64], adj: &mut [f64]) -> f64 {
        match (self.method, &self.adjust) {
            (Method::SelfConfidence, None) => row[s].to_f64(),
            (Method::NormalizedMargin, None) => {
                // Here, not in `other_max`: `score` (the converted row's) is inlined into the
                // joint pass's collecting of the low-score band, which the masked maximum made
                // slower (low_normalized_margin at 10M x 10: 320 -> 390 ms on one thread).
                let other = if row.len() <= crate::data::MAX_UNROLLED {
                    other_max_masked(row, s)
                } else {
                    other_max(row, s)
                };
                normalized_margin(row[s].to_f64(), other)
            }
            _ => self.score(row_f64(row, buf), s, adj),
        }
    }

    /// Score of one row with given label `s`; `buf` (length K) holds adjusted probabilities.
    #[inline(always)]
    pub fn score(&self, row: &[f64], s: usize, buf: &mut [f64]) -> f64 {
        let row = match &self.adjust {
            None => row,
            Some((t, tmax)) => {
                for ((b, &p), &tk) in buf.iter_mut().zip(row).zip(t) {
                    *b = p - tk + tmax;
                }
                let total = np_sum(buf);
                for b in buf.iter_mut() {
                    *b /= total;
                }
                &*buf
            }
        };
        match self.method {
            Method::SelfConfidence => row[s],
            Method::NormalizedMargin => normalized_margin(row[s], other_max(row, s)),
            Method::ConfidenceWeightedEntropy => crate::wide::run(RowEntropy {
                scorer: self,
                row,
                s,
            }),
        }
    }

    /// The confidence-weighted entropy of a row from its `Σ p·ln p` (in numpy's order) and its
    /// given-label probability: `x` = the normalized entropy over the self-confidence (at
    /// least 1e-6), then `ln(1 + x) / max(x, 1e-6)`.
    #[inline(always)]
    fn entropy_score(&self, sum_xlogx: f64, p_given: f64) -> f64 {
        let entropy = -sum_xlogx / self.log_k;
        let x = entropy / p_given.max(1e-6);
        crate::ln::ln(1.0 + x) / x.max(1e-6)
    }
}

/// One row's confidence-weighted entropy (`Scorer::score`), as a `wide::Kernel`.
struct RowEntropy<'a> {
    scorer: &'a Scorer,
    row: &'a [f64],
    s: usize,
}

impl crate::wide::Kernel for RowEntropy<'_> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let row = self.row;
        let sum = np_sum_by(row.len(), |start, b| {
            crate::ln::xlogx_into(&row[start..start + b.len()], b)
        });
        self.scorer.entropy_score(sum, row[self.s])
    }
}

/// The confidence-weighted entropy of a block of rows (`score_rows`), as a `wide::Kernel`:
/// after `check.begin`, the block's `p·ln p` in one loop, then each row's sum (and the row's
/// check), then the scores in a loop over the block. The same operations as `RowEntropy`'s,
/// so the same bits. Returns the first bad row, as `check` reports it.
struct BlockEntropy<'a, T, C> {
    scorer: &'a Scorer,
    /// The block's rows `rows`, of `k` values each.
    flat: &'a [T],
    k: usize,
    rows: std::ops::Range<usize>,
    cls: &'a [usize],
    check: &'a mut C,
    out: &'a mut [f64],
    xlogx: &'a mut Vec<f64>,
    sums: &'a mut Vec<(f64, f64)>,
}

impl<T: Prob, C: RowsCheck> crate::wide::Kernel for BlockEntropy<'_, T, C> {
    type Output = Option<usize>;
    #[inline(always)]
    fn run(self) -> Option<usize> {
        let BlockEntropy {
            scorer,
            flat,
            k,
            rows,
            cls,
            check,
            out,
            xlogx,
            sums,
        } = self;
        if let Some(b) = check.begin(flat, rows.start, rows.end, k) {
            return Some(b);
        }
        xlogx.resize(flat.len(), 0.0);
        crate::ln::xlogx_into(flat, xlogx);
        sums.clear();
        crate::for_rows!(k, flat, cls, 0, |row, c, i| {
            check.max_of(row, i);
            sums.push((np_sum(&xlogx[i * k..(i + 1) * k]), row[c].to_f64()));
        });
        for (o, &(sum, p)) in out.iter_mut().zip(sums.iter()) {
            *o = scorer.entropy_score(sum, p);
        }
        check.finish(flat, rows.start, rows.end, k)
    }
}

/// cleanlab's normalized margin of a row: `(p_given - other + 1) / 2`, `other` the largest
/// probability of another class.
#[inline(always)]
fn normalized_margin(p_given: f64, other: f64) -> f64 {
    (p_given - other + 1.0) / 2.0
}

/// The largest value of the row outside position `s` (-inf when there is none), as the
/// maxima of the values before and after it (`count::row_max`: in lanes, exact in any order
/// and type). Of equal maxima only the sign of a zero can differ, and a zero's sign is lost in
/// `normalized_margin`'s `+ 1`.
#[inline(always)]
fn other_max<T: Prob>(row: &[T], s: usize) -> f64 {
    let before = crate::count::row_max(&row[..s]);
    let after = crate::count::row_max(&row[s + 1..]);
    if after > before {
        after
    } else {
        before
    }
}

/// `other_max` for narrow rows: one pass over the whole row with position `s` read as -inf
/// (selected by bits, without a branch), kept in four lanes. Built per width (`for_rows!`), the
/// pass is unrolled, where `other_max`'s two slices of run-time length each take a loop with a
/// remainder; a single running maximum would be a chain of K dependent steps. At 10M x 10 the
/// normalized_margin scores took twice as long as the self_confidence ones.
#[inline(always)]
fn other_max_masked<T: Prob>(row: &[T], s: usize) -> f64 {
    let mut lanes = [f64::NEG_INFINITY; 4];
    for (j, &v) in row.iter().enumerate() {
        let keep = 0u64.wrapping_sub(u64::from(j != s));
        let v =
            f64::from_bits((v.to_f64().to_bits() & keep) | (f64::NEG_INFINITY.to_bits() & !keep));
        let m = &mut lanes[j % 4];
        *m = if v > *m { v } else { *m };
    }
    crate::validate::lane_tree(lanes, |a, b| if b > a { b } else { a })
}

/// Scores of every row (validating rows as they are read).
pub fn label_quality_scores<T: Prob, L: Label>(
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    method: Method,
    thresholds: Option<&[f64]>,
    tol: f64,
) -> Result<Vec<f64>> {
    let rows = Rows::new(pred_probs);
    let scorer = Scorer::new(method, thresholds, rows.k())?;
    let mut out = vec![0.0; rows.n()];
    // Self-confidence without adjustment reads one value per row: no row conversion.
    let direct = method == Method::SelfConfidence && thresholds.is_none();
    let bad = crate::with_rows_check!(rows, Some(tol), |check| {
        score_rows(labels, &rows, &scorer, direct, check, &mut out)
    });
    report_bad_row(&rows, bad, tol)?;
    Ok(out)
}

/// `label_quality_scores` into `out`, each row validated by `check`; the first bad row.
fn score_rows<T: Prob, L: Label, C: RowsCheck>(
    labels: ArrayView1<'_, L>,
    rows: &Rows<'_, T>,
    scorer: &Scorer,
    direct: bool,
    check: C,
    out: &mut [f64],
) -> Option<usize> {
    let (n, k) = (rows.n(), rows.k());
    let entropy = scorer.method == Method::ConfidenceWeightedEntropy;
    fill_chunks(out, parallel::worth_parallel(n * k), |start, chunk| {
        let mut buf = vec![0.0; k];
        let mut adj = vec![0.0; k];
        let mut cls = Vec::new();
        let (mut xlogx, mut sums) = (Vec::new(), Vec::new());
        let mut check = check;
        rows.for_blocks(start..start + chunk.len(), |s, e, flat| {
            let out = &mut chunk[s - start..e - start];
            if entropy {
                classes_into(labels, s..e, &mut cls);
                return crate::wide::run(BlockEntropy {
                    scorer,
                    flat,
                    k,
                    rows: s..e,
                    cls: &cls,
                    check: &mut check,
                    out,
                    xlogx: &mut xlogx,
                    sums: &mut sums,
                });
            }
            if let Some(b) = check.begin(flat, s, e, k) {
                return Some(b);
            }
            classes_into(labels, s..e, &mut cls);
            crate::for_rows!(k, flat, &cls, 0, |row, c, i| {
                check.max_of(row, i);
                out[i] = if direct {
                    row[c].to_f64()
                } else {
                    scorer.score_row(row, c, &mut buf, &mut adj)
                };
            });
            check.finish(flat, s, e, k)
        })
    })
}

/// Fill `out` in fixed chunks, in parallel when asked; returns the first failing row, if any.
pub fn fill_chunks<V: Send>(
    out: &mut [V],
    parallel: bool,
    f: impl Fn(usize, &mut [V]) -> Option<usize> + Sync + Send,
) -> Option<usize> {
    use rayon::prelude::*;
    let size = parallel::CHUNK_ROWS;
    if !parallel {
        return out
            .chunks_mut(size)
            .enumerate()
            .filter_map(|(c, ch)| f(c * size, ch))
            .min();
    }
    out.par_chunks_mut(size)
        .enumerate()
        .filter_map(|(c, ch)| f(c * size, ch))
        .min()
}

/// Indices where `mask` is true, ordered by ascending score, ties by index. `pred_probs` is
/// validated with row-sum tolerance `tol`; `None` when the caller has just validated it (the
/// ranked output of `find_label_issues`), which saves a pass over the rows.
pub fn order_label_issues<T: Prob, L: Label>(
    mask: ArrayView1<'_, bool>,
    labels: ArrayView1<'_, L>,
    pred_probs: ArrayView2<'_, T>,
    method: Method,
    thresholds: Option<&[f64]>,
    tol: Option<f64>,
) -> Result<Vec<usize>> {
    let rows = Rows::new(pred_probs);
    let k = rows.k();
    if mask.len() != rows.n() {
        return Err(Error::InvalidInput(format!(
            "label_issues_mask has length {} but pred_probs has {} rows",
            mask.len(),
            rows.n()
        )));
    }
    if let Some(tol) = tol {
        crate::validate::check_pred_probs(pred_probs, tol)?;
    }
    // Every row's given-label value is read (gathered per block), flagged or not.
    crate::validate::check_labels(labels, rows.n(), k)?;
    let scorer = Scorer::new(method, thresholds, k)?;
    let n = rows.n();
    let par = parallel::worth_parallel(n * k);
    // The mask as a plain slice (ndarray indexing per row cost more than the scoring).
    let mask: std::borrow::Cow<'_, [bool]> = match mask.as_slice() {
        Some(m) => std::borrow::Cow::Borrowed(m),
        None => std::borrow::Cow::Owned(mask.to_vec()),
    };
    // (score, index) as ordered integers: one integer sort gives score order, ties by index.
    // The flagged rows are counted per chunk first, so each chunk writes its keys into its own
    // part of one exact allocation (no growing vectors, no copies to merge them).
    let chunk = parallel::CHUNK_ROWS;
    let counts: Vec<usize> = if par {
        use rayon::prelude::*;
        let chunks = mask.par_chunks(chunk);
        chunks.map(|c| c.iter().filter(|&&f| f).count()).collect()
    } else {
        mask.chunks(chunk)
            .map(|c| c.iter().filter(|&&f| f).count())
            .collect()
    };
    let mut keyed = vec![0u128; counts.iter().sum()];
    let mut parts = Vec::with_capacity(counts.len());
    let mut rest = keyed.as_mut_slice();
    for (c, &m) in counts.iter().enumerate() {
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(m);
        parts.push((c * chunk..((c + 1) * chunk).min(n), part));
        rest = tail;
    }
    // The flagged rows of a block are listed first, in a loop without branches (which rows are
    // flagged is data: a branch on the mask mispredicts), then only those rows are read, with
    // loads that do not wait on one another (reading each label with its row was slower: the
    // two loads chain). Self-confidence without adjustment reads `row[s]` alone, unconverted.
    let given_only = scorer.given_only();
    let fill = |(range, part): (std::ops::Range<usize>, &mut [u128])| {
        let (mut buf, mut adj) = (vec![0.0; k], vec![0.0; k]);
        let (mut cls, mut flagged) = (Vec::new(), Vec::new());
        let mut w = 0;
        rows.for_blocks(range, |first, end, flat| {
            classes_into(labels, first..end, &mut cls);
            flagged.resize(end - first, 0);
            let mut m = 0;
            for (o, &f) in mask[first..end].iter().enumerate() {
                flagged[m] = o;
                m += usize::from(f);
            }
            let slots = part[w..w + m].iter_mut().zip(&flagged[..m]);
            if given_only {
                for (slot, &o) in slots {
                    *slot = encode(flat[o * k + cls[o]].to_f64(), first + o);
                }
            } else {
                for (slot, &o) in slots {
                    let row = &flat[o * k..(o + 1) * k];
                    *slot = encode(scorer.score_row(row, cls[o], &mut buf, &mut adj), first + o);
                }
            }
            w += m;
            None
        });
    };
    if par {
        use rayon::prelude::*;
        parts.into_par_iter().for_each(fill);
    } else {
        parts.into_iter().for_each(fill);
    }
    Ok(crate::keysort::sorted_indices(keyed, par))
}

/// Indices of the `top` smallest scores, ascending, ties by index (cleanlab `find_top_issues`).
pub fn smallest_indices(scores: ArrayView1<'_, f64>, top: usize) -> Result<Vec<usize>> {
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::InvalidInput(format!(
            "quality_scores[{i}] is NaN; expected real numbers"
        )));
    }
    let n = scores.len();
    let par = parallel::worth_parallel(n);
    let sel = parallel::map_reduce(
        n,
        par,
        || Smallest::new(top.min(n)),
        |acc: &mut Smallest, range| {
            for i in range {
                acc.offer(scores[i], i);
            }
        },
        Smallest::merge,
    );
    Ok(sel.finish())
}
