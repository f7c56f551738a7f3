//! Inputs shared by the integration tests.

use labelsieve_core::count::{self, StableArgsort};
use labelsieve_core::filter::{FilterBy, PrunePlan};
use ndarray::{Array1, Array2};

/// A seeded xorshift64 stream (`seed` must not be 0).
pub fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Seeded labels and pred_probs with ~25% of rows confidently in another class.
pub fn problem(n: usize, k: usize, seed: u64) -> (Array1<i64>, Array2<f64>) {
    let mut bits = xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut next = move || (bits() >> 11) as f64 / (1u64 << 53) as f64;
    let labels = Array1::from_shape_fn(n, |_| ((next() * k as f64) as i64).min(k as i64 - 1));
    let mut p = Array2::from_shape_fn((n, k), |_| next() + 1e-3);
    for (i, mut row) in p.rows_mut().into_iter().enumerate() {
        let truth = if next() < 0.25 {
            (next() * k as f64) as usize % k
        } else {
            labels[i] as usize
        };
        row[truth] += 2.0 + 4.0 * next();
        let s = row.sum();
        row /= s;
    }
    (labels, p)
}

/// The prune plan of `filter_by` from the calibrated confident joint (frac_noise 1, at least one
/// example per class), and the label counts.
pub fn prune_plan(
    labels: &Array1<i64>,
    p: &Array2<f64>,
    filter_by: FilterBy,
) -> (PrunePlan, Vec<i64>) {
    let k = p.ncols();
    let (cj, _) = count::confident_joint(
        labels.view(),
        p.view(),
        None,
        true,
        false,
        1e-4,
        &StableArgsort,
    )
    .unwrap();
    let counts = count::label_counts(labels.view(), k);
    let plan = PrunePlan::new(cj.view(), &counts, filter_by, 1.0, None, 1, &StableArgsort).unwrap();
    (plan, counts)
}

/// Rows of `class` ordered by `key`, ties by row index: the first `quota` of them.
fn smallest(
    rows: &[usize],
    quota: usize,
    key: impl Fn(usize) -> f64,
) -> impl Iterator<Item = usize> {
    let mut v: Vec<(f64, usize)> = rows.iter().map(|&i| (key(i), i)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(quota).map(|(_, i)| i)
}

/// The prune rule by sorting every class and cell, then the argmax veto.
pub fn oracle(plan: &PrunePlan, labels: &Array1<i64>, p: &Array2<f64>) -> Vec<usize> {
    let (n, k) = p.dim();
    let mut by_class = vec![false; n];
    let mut by_rate = vec![false; n];
    for s in 0..k {
        let members: Vec<usize> = (0..n).filter(|&i| labels[i] as usize == s).collect();
        for i in smallest(&members, plan.class_num[s], |i| p[[i, s]]) {
            by_class[i] = true;
        }
        for &(j, quota) in &plan.cells[s] {
            for i in smallest(&members, quota, |i| p[[i, s]] - p[[i, j]]) {
                by_rate[i] = true;
            }
        }
    }
    (0..n)
        .filter(|&i| match plan.filter_by {
            FilterBy::PruneByClass => by_class[i],
            FilterBy::PruneByNoiseRate => by_rate[i],
            _ => by_class[i] && by_rate[i],
        })
        .filter(|&i| {
            let s = labels[i] as usize;
            count::boosted_argmax(p.row(i).as_slice().unwrap(), s) != s
        })
        .collect()
}
