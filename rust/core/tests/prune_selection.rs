//! The pruning selectors (`filter::PruneState`) against a sort oracle, on class counts whose
//! cells are stored both ways: classes with few active cells (visited slot by slot) and classes
//! with many (a dense row of bounds tested with one vectorised comparison).

use labelsieve_core::count;
use labelsieve_core::data::Rows;
use labelsieve_core::filter::{FilterBy, PrunePlan, PruneState};
use ndarray::{Array1, Array2};

mod common;
use common::{problem, prune_plan};

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
fn oracle(plan: &PrunePlan, labels: &Array1<i64>, p: &Array2<f64>) -> Vec<usize> {
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

/// `dense`: whether some class has the cells for a dense row of bounds (one column in 8 or
/// more with a cell, `filter::DENSE_CELLS`); otherwise every class is visited slot by slot.
fn check(n: usize, k: usize, seed: u64, dense: bool) {
    let (labels, p) = problem(n, k, seed);
    let rows = Rows::new(p.view());
    for rule in [
        FilterBy::PruneByNoiseRate,
        FilterBy::PruneByClass,
        FilterBy::Both,
    ] {
        let (plan, _) = prune_plan(&labels, &p, rule);
        let cells: Vec<usize> = plan.cells.iter().map(Vec::len).collect();
        if rule != FilterBy::PruneByClass {
            assert!(cells.iter().any(|&c| c > 0), "{n}x{k}: no active cell");
            assert_eq!(cells.iter().any(|&c| c * 8 >= k), dense, "{n}x{k}: layout");
        }
        let (mask, _) = PruneState::new(&plan).select_mask(&plan, labels.view(), &rows);
        let got: Vec<usize> = (0..n).filter(|&i| mask[i]).collect();
        let want = oracle(&plan, &labels, &p);
        assert!(!want.is_empty(), "{n}x{k} {rule:?}: nothing to prune");
        assert_eq!(got, want, "{n}x{k} {rule:?}");
        // The streaming path (offer batch by batch, then finish) selects the same rows.
        let mut st = PruneState::new(&plan);
        st.offer_rows(&plan, labels.view(), &rows, 0);
        assert_eq!(st.finish(&plan), want, "{n}x{k} {rule:?}, streaming");
    }
}

#[test]
fn many_classes_with_few_cells_each() {
    // 300 classes, ~20 rows each: a handful of active cells per class (stored by slot).
    check(6_000, 300, 1, false);
}

#[test]
fn few_classes_with_most_cells_active() {
    // 40 classes, ~500 rows each: most of the 39 cells of a class are active (dense rows).
    check(20_000, 40, 2, true);
}

#[test]
fn ten_classes() {
    check(5_000, 10, 3, true);
}
