//! The pruning selectors (`filter::PruneState`) against a sort oracle, on class counts whose
//! cells are stored both ways: classes with few active cells (visited slot by slot) and classes
//! with many (a dense row of bounds tested with one vectorised comparison).

use labelsieve_core::count;
use labelsieve_core::data::Rows;
use labelsieve_core::filter::{FilterBy, PrunePlan, PruneState};
use ndarray::{Array1, Array2};

mod common;
use common::{oracle, problem, prune_plan};

/// `dense`: whether some class has the cells for a dense row of bounds (one column in 8 or
/// more with a cell, `filter::DENSE_CELLS`); otherwise every class is visited slot by slot.
fn check(n: usize, k: usize, seed: u64, dense: bool) {
    let (labels, p) = problem(n, k, seed);
    check_on(&labels, &p, dense);
}

/// `check` on given labels and pred_probs.
fn check_on(labels: &Array1<i64>, p: &Array2<f64>, dense: bool) {
    let (n, k) = p.dim();
    let rows = Rows::new(p.view());
    for rule in [
        FilterBy::PruneByNoiseRate,
        FilterBy::PruneByClass,
        FilterBy::Both,
    ] {
        let (plan, _) = prune_plan(labels, p, rule);
        let cells: Vec<usize> = plan.cells.iter().map(Vec::len).collect();
        if rule != FilterBy::PruneByClass {
            assert!(cells.iter().any(|&c| c > 0), "{n}x{k}: no active cell");
            assert_eq!(cells.iter().any(|&c| c * 8 >= k), dense, "{n}x{k}: layout");
        }
        let (mask, _) = PruneState::new(&plan).select_mask(&plan, labels.view(), &rows, None);
        let got: Vec<usize> = (0..n).filter(|&i| mask[i]).collect();
        let want = oracle(&plan, labels, p);
        assert!(!want.is_empty(), "{n}x{k} {rule:?}: nothing to prune");
        assert_eq!(got, want, "{n}x{k} {rule:?}");
        // The streaming path (offer batch by batch, then finish) selects the same rows.
        let mut st = PruneState::new(&plan);
        st.offer_rows(&plan, labels.view(), &rows, 0);
        assert_eq!(st.finish(&plan), want, "{n}x{k} {rule:?}, streaming");
        // f32 rows (converted row by row, or only their given-label values gathered when the
        // rows are wide, `data::WIDE_ROW_BYTES`) select what the same values as f64 do.
        let p32 = p.mapv(|x| x as f32);
        let rows32 = Rows::new(p32.view());
        let (mask, _) = PruneState::new(&plan).select_mask(&plan, labels.view(), &rows32, None);
        let got: Vec<usize> = (0..n).filter(|&i| mask[i]).collect();
        assert_eq!(
            got,
            oracle(&plan, labels, &p32.mapv(f64::from)),
            "{n}x{k} {rule:?}, f32"
        );
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
fn more_than_sixty_four_classes_with_dense_rows() {
    // 100 classes, ~400 rows each: rows wider than one 64-column mask word, screened by
    // `filter::WideScreen` and offered from their masks (`offer_masked`).
    check(40_000, 100, 5, true);
}

#[test]
fn ten_classes() {
    check(5_000, 10, 3, true);
}

#[test]
fn ten_classes_with_many_rows_near_every_bound() {
    // Narrow rows are screened a block at a time against the bounds the block starts with
    // (`filter::Screen`): with about 150 rows per cell quota, many rows sit just inside a
    // bound when their block starts.
    check(60_000, 10, 4, true);
}

/// The prune counts of an owned joint in any memory layout (C order, Fortran order, slices of a
/// larger matrix; all transposed in the joint's own buffer) equal those of a C-ordered copy, and
/// planning from an owned joint equals planning from a view.
#[test]
fn prune_counts_do_not_depend_on_the_joint_layout() {
    use labelsieve_core::filter::prune_count_matrix;
    use ndarray::{s, ShapeBuilder};
    let k = 37;
    let mut bits = common::xorshift(0x2545_f491_4f6c_dd1d);
    let mut next = move || (bits() % 23) as i64;
    let c_order = Array2::from_shape_fn((k, k), |(i, j)| next() * i64::from(i == j || j % 3 == 0));
    let mut f_order = Array2::zeros((k, k).f());
    f_order.assign(&c_order);
    let mut wide = Array2::zeros((k + 3, k + 5));
    wide.slice_mut(s![2..k + 2, 1..k + 1]).assign(&c_order);
    let mut sliced = wide.clone();
    sliced.slice_collapse(s![2..k + 2, 1..k + 1]);
    // Whole rows of a taller matrix: C-ordered, starting past the buffer's first element.
    let mut rows_only = Array2::zeros((k + 3, k));
    rows_only.slice_mut(s![2..k + 2, ..]).assign(&c_order);
    rows_only.slice_collapse(s![2..k + 2, ..]);
    assert!(rows_only.is_standard_layout());
    let expect = prune_count_matrix(c_order.clone(), 5, 0.7);
    for owned in [c_order.clone(), f_order, sliced, rows_only] {
        assert_eq!(prune_count_matrix(owned, 5, 0.7), expect);
    }
    let counts: Vec<i64> = c_order.rows().into_iter().map(|r| r.sum() + 3).collect();
    let by_view = PrunePlan::new(
        c_order.view(),
        &counts,
        FilterBy::Both,
        0.7,
        None,
        5,
        &count::StableArgsort,
    );
    let by_owned = PrunePlan::from_owned(
        c_order,
        &counts,
        FilterBy::Both,
        0.7,
        None,
        5,
        &count::StableArgsort,
    );
    assert_eq!(by_view.unwrap(), by_owned.unwrap());
}
