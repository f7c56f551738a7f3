//! Selections guided by a sampled guess (`select::sampled_band`, `PruneState::with_sampled_caps`)
//! against unguided selections: the same rows whatever the sample, including samples chosen to
//! be wrong in either direction, which must be caught and redone.

use labelsieve_core::count::{self, StableArgsort};
use labelsieve_core::data::Rows;
use labelsieve_core::filter::{
    self, FilterBy, IssueOptions, PrunePlan, PruneState, MIN_CAPPED_QUOTA,
};
use labelsieve_core::rank::{self, Method};
use labelsieve_core::select::{sampled_band, sampled_cap, Smallest};
use ndarray::{Array1, Array2};

mod common;
use common::{oracle, problem, prune_plan};

const PRUNE_RULES: [FilterBy; 3] = [
    FilterBy::PruneByNoiseRate,
    FilterBy::PruneByClass,
    FilterBy::Both,
];

/// The prune plan of `filter_by` and the label counts, checked to give every selector a quota
/// large enough to be capped (the tests below only mean something if the sampled caps apply).
fn capped_plan(
    labels: &Array1<i64>,
    p: &Array2<f64>,
    filter_by: FilterBy,
) -> (PrunePlan, Vec<i64>) {
    let (plan, counts) = prune_plan(labels, p, filter_by);
    let quotas = plan
        .class_num
        .iter()
        .copied()
        .chain(plan.cells.iter().flatten().map(|&(_, n)| n));
    for q in quotas.filter(|&q| q > 0) {
        assert!(
            q >= MIN_CAPPED_QUOTA,
            "{filter_by:?}: quota {q} is below MIN_CAPPED_QUOTA"
        );
    }
    (plan, counts)
}

/// The in-memory selection with its band sampled every `stride` rows, misled selectors redone:
/// the flagged rows, and how many selectors were redone.
fn capped(
    plan: &PrunePlan,
    counts: &[i64],
    labels: &Array1<i64>,
    rows: &Rows<'_, f64>,
    stride: usize,
) -> (Vec<usize>, usize) {
    let st = PruneState::with_sampled_caps(plan, labels.view(), rows, counts, stride);
    let (mask, redone) = st.clone().select_mask(plan, labels.view(), rows, None);
    assert_eq!(mask.len(), rows.n());
    // The same selection when the joint pass has recorded every row's veto.
    let (vetoed_mask, vetoed_redone) = st.select_mask(
        plan,
        labels.view(),
        rows,
        Some(recorded_vetoes(labels, rows)),
    );
    assert_eq!(vetoed_mask, mask, "stride {stride}: recorded vetoes");
    assert_eq!(vetoed_redone, redone);
    ((0..rows.n()).filter(|&i| mask[i]).collect(), redone)
}

/// Each row's veto as `count::joint_pass_vetoes` records it, checked against `is_vetoed`.
fn recorded_vetoes(labels: &Array1<i64>, rows: &Rows<'_, f64>) -> Vec<u8> {
    let t = count::confident_thresholds(labels.view(), rows.view(), 1e-4).unwrap();
    let mut vetoed = vec![0u8; rows.n()];
    count::joint_pass_vetoes(labels.view(), rows.view(), &t, None, &mut vetoed).unwrap();
    let mut buf = vec![0.0; rows.k()];
    for (i, &v) in vetoed.iter().enumerate() {
        let row = rows.row(i, &mut buf);
        let expect = count::is_vetoed(row, labels[i] as usize);
        assert_eq!(v, u8::from(expect) * count::VETOED_BIT, "row {i}");
    }
    vetoed
}

fn uncapped(plan: &PrunePlan, labels: &Array1<i64>, p: &Array2<f64>) -> Vec<usize> {
    let mut st = PruneState::new(plan);
    st.offer_rows(plan, labels.view(), &Rows::new(p.view()), 0);
    st.finish(plan)
}

#[test]
fn sampled_caps_change_no_selection_for_any_stride() {
    // Three classes: every quota is large enough to be capped (MIN_CAPPED_QUOTA).
    let (labels, p) = problem(60_000, 3, 3);
    let rows = Rows::new(p.view());
    for fb in PRUNE_RULES {
        let (plan, counts) = capped_plan(&labels, &p, fb);
        let expect = uncapped(&plan, &labels, &p);
        assert!(!expect.is_empty());
        assert_eq!(expect, oracle(&plan, &labels, &p), "{fb:?} uncapped");
        for stride in [1, 2, 5, 32, 1000, 40_000] {
            let (got, _) = capped(&plan, &counts, &labels, &rows, stride);
            assert_eq!(got, expect, "{fb:?} stride {stride}");
        }
        // Without any guess (the small-input path) the in-memory selection is the same too.
        let (mask, redone) = PruneState::new(&plan).select_mask(&plan, labels.view(), &rows, None);
        assert_eq!(redone, 0);
        let got: Vec<usize> = (0..p.nrows()).filter(|&i| mask[i]).collect();
        assert_eq!(got, expect, "{fb:?} unguided");
    }
}

#[test]
fn a_misleading_sample_is_caught_and_redone() {
    // Every 16th row (the sample) is a near-certain mistake: tiny self-confidence and a huge
    // margin, so every cap guessed from the sample is far too tight for the real quotas.
    let (labels, mut p) = problem(60_000, 3, 11);
    let k = p.ncols();
    for i in (0..p.nrows()).step_by(16) {
        let s = labels[i] as usize;
        let other = (s + 1) % k;
        p.row_mut(i).fill(0.0);
        p[[i, s]] = 0.001;
        p[[i, other]] = 0.999;
    }
    let rows = Rows::new(p.view());
    for fb in PRUNE_RULES {
        let (plan, counts) = capped_plan(&labels, &p, fb);
        let expect = uncapped(&plan, &labels, &p);
        let (got, redone) = capped(&plan, &counts, &labels, &rows, 16);
        assert!(
            redone > 0,
            "{fb:?}: the misleading sample should starve some selector"
        );
        assert_eq!(got, expect, "{fb:?}");
    }
}

#[test]
fn a_sample_of_clean_rows_overstates_the_sure_bound_and_is_redone() {
    // Every 16th row (the sample) is a near-certain correct label: the sampled keys are all
    // large, so the sure bound `lo` guessed from them lies far above the real quota-th key and
    // too many rows fall below it; the selection must notice and redo.
    let (labels, mut p) = problem(60_000, 3, 13);
    for i in (0..p.nrows()).step_by(16) {
        let s = labels[i] as usize;
        p.row_mut(i).fill(0.0005);
        p[[i, s]] = 0.999;
    }
    let rows = Rows::new(p.view());
    for fb in PRUNE_RULES {
        let (plan, counts) = capped_plan(&labels, &p, fb);
        let expect = uncapped(&plan, &labels, &p);
        assert!(!expect.is_empty());
        let (got, redone) = capped(&plan, &counts, &labels, &rows, 16);
        assert!(
            redone > 0,
            "{fb:?}: the clean sample should overstate some sure bound"
        );
        assert_eq!(got, expect, "{fb:?}");
    }
}

#[test]
fn sampled_band_brackets_the_quota_th_key_of_a_fair_sample() {
    let keys: Vec<f64> = (0..100_000)
        .map(|i| ((i * 7_919) % 100_000) as f64)
        .collect();
    let sample: Vec<f64> = keys.iter().step_by(32).copied().collect();
    for quota in [5_000, 20_000, 50_000] {
        let (lo, hi) = sampled_band(&mut sample.clone(), quota, keys.len());
        let below = keys.iter().filter(|&&k| k < lo).count();
        let at_most = keys.iter().filter(|&&k| k <= hi).count();
        assert!(below < quota, "quota {quota}: {below} keys below lo {lo}");
        assert!(
            at_most >= quota,
            "quota {quota}: {at_most} keys up to hi {hi}"
        );
        assert!(
            lo > f64::NEG_INFINITY,
            "quota {quota}: a finite lo is expected"
        );
    }
    // Too few sampled keys below the quota for a confident lo.
    assert_eq!(
        sampled_band(&mut sample.clone(), 1_000, keys.len()).0,
        f64::NEG_INFINITY
    );
}

/// `filter_by` low_self_confidence / low_normalized_margin flag exactly the `num` lowest scores
/// (ties by index), `num` being the joint pass's issue count: checked against a full sort.
fn assert_low_rules_select_the_lowest_scores(labels: &Array1<i64>, p: &Array2<f64>, what: &str) {
    let n = p.nrows();
    let num = issue_count(labels, p);
    for (fb, method) in [
        (FilterBy::LowSelfConfidence, Method::SelfConfidence),
        (FilterBy::LowNormalizedMargin, Method::NormalizedMargin),
    ] {
        let opts = IssueOptions {
            filter_by: fb,
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1,
            confident_joint: None,
        };
        let mask = filter::label_issues(labels.view(), p.view(), &opts, 1e-4, &StableArgsort)
            .unwrap()
            .mask;
        let scores =
            rank::label_quality_scores(labels.view(), p.view(), method, None, 1e-4).unwrap();
        let mut expect = rank::smallest_indices(Array1::from(scores).view(), num).unwrap();
        expect.sort_unstable();
        let got: Vec<usize> = (0..n).filter(|&i| mask[i]).collect();
        assert_eq!(got, expect, "{fb:?} {what}");
    }
}

fn issue_count(labels: &Array1<i64>, p: &Array2<f64>) -> usize {
    let t = count::confident_thresholds(labels.view(), p.view(), 1e-4).unwrap();
    count::joint_pass(labels.view(), p.view(), &t, false, None)
        .unwrap()
        .issues as usize
}

#[test]
fn in_memory_low_score_rules_equal_a_full_sort_with_and_without_sampling() {
    // 70,000 x 4 rows take the sampled path; 3,000 rows do not.
    for (n, seed) in [(70_000, 5), (3_000, 6)] {
        let (labels, p) = problem(n, 4, seed);
        assert_low_rules_select_the_lowest_scores(&labels, &p, &format!("n={n}"));
    }
}

#[test]
fn sampled_cap_is_at_least_the_quota_th_key_of_a_fair_sample_and_skips_when_unsure() {
    let keys: Vec<f64> = (0..100_000)
        .map(|i| ((i * 7_919) % 100_000) as f64)
        .collect();
    let mut sample: Vec<f64> = keys.iter().step_by(32).copied().collect();
    for quota in [1, 10, 1_000, 50_000] {
        let cap = sampled_cap(&mut sample.clone(), quota, keys.len());
        let mut sel = Smallest::new(quota);
        keys.iter()
            .enumerate()
            .filter(|(_, &k)| k <= cap)
            .for_each(|(i, &k)| sel.offer(k, i));
        assert_eq!(sel.held(), quota, "quota {quota}: cap {cap} too tight");
        assert!(
            cap < 100_000.0,
            "quota {quota}: a fair sample should give a finite cap"
        );
    }
    assert_eq!(sampled_cap(&mut sample, 0, keys.len()), f64::NEG_INFINITY);
    assert_eq!(sampled_cap(&mut [0.5, 0.1], 5, 10), f64::INFINITY);
}

#[test]
fn low_score_rules_survive_a_sample_that_overstates_the_sure_scores() {
    // Every 32nd row (the sample at this size) is an issue, confidently another class, with a
    // self-confidence of 0.3: the sample says nearly every row is an issue and that scores below
    // 0.3 are surely among the lowest. Every 5th other row is uniform (0.25 everywhere: confident
    // nowhere, so no issue, yet scored below 0.3), so far too many rows fall below that guess and
    // the selection must fall back.
    let (labels, mut p) = problem(70_000, 4, 19);
    for i in 0..p.nrows() {
        let s = labels[i] as usize;
        if i % 32 == 0 {
            p.row_mut(i).fill(0.0);
            p[[i, s]] = 0.3;
            p[[i, (s + 1) % 4]] = 0.7;
        } else if i % 5 == 0 {
            p.row_mut(i).fill(0.25);
        }
    }
    assert!(issue_count(&labels, &p) > 0);
    assert_low_rules_select_the_lowest_scores(&labels, &p, "overstated sure scores");
}

#[test]
fn low_score_rules_survive_a_misleading_sample() {
    // Every 32nd row (the sample at this size) gets the lowest scores of all, so the cap guessed
    // from the sample is far below the num-th score and the fused selection must fall back.
    let (labels, mut p) = problem(70_000, 4, 9);
    let k = p.ncols();
    for i in (0..p.nrows()).step_by(32) {
        let s = labels[i] as usize;
        p.row_mut(i).fill(0.0);
        p[[i, s]] = 0.0001;
        p[[i, (s + 1) % k]] = 0.9999;
    }
    let num = issue_count(&labels, &p);
    assert!(
        num > 2 * p.nrows() / 32,
        "num {num} must exceed the sampled rows"
    );
    assert_low_rules_select_the_lowest_scores(&labels, &p, "misleading sample");
}
