//! Property tests against deliberately simple oracles: the streaming selector against a full
//! sort, exact threshold sums against order and splitting, the pipeline against thread counts,
//! the batched accumulators against the in-memory kernels for any batch split and merge order.

use labelsieve_core::batched::{
    JointAccumulator, PruneSelector, ScoreSelector, ThresholdAccumulator,
};
use labelsieve_core::count::{self, fixed87, StableArgsort, ThresholdSums};
use labelsieve_core::filter::{self, FilterBy, IssueOptions};
use labelsieve_core::parallel;
use labelsieve_core::rank::{self, Method};
use labelsieve_core::select::Smallest;
use ndarray::{s, Array1, Array2};
use proptest::prelude::*;
use std::ops::Range;

fn oracle_smallest(keys: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    idx.sort_by(|&a, &b| keys[a].partial_cmp(&keys[b]).unwrap().then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

proptest! {
    #[test]
    fn selector_equals_sorting_for_any_split(
        keys in prop::collection::vec(prop_oneof![(-3i32..3).prop_map(f64::from), -1.0f64..1.0], 0..600),
        k in 0usize..80,
        split in 1usize..7,
    ) {
        let mut parts: Vec<Smallest> = (0..split).map(|_| Smallest::new(k)).collect();
        for (i, &key) in keys.iter().enumerate() {
            parts[(i * 7919) % split].offer(key, i);
        }
        let merged = parts.into_iter().reduce(Smallest::merge).unwrap();
        prop_assert_eq!(merged.finish(), oracle_smallest(&keys, k.min(keys.len())));
    }

    #[test]
    fn exact_sums_do_not_depend_on_order(values in prop::collection::vec(0.0f64..=1.0, 1..300), cut in 0usize..300) {
        let cut = cut.min(values.len());
        let sum = |vs: &[f64]| vs.iter().map(|&v| fixed87(v)).sum::<i128>();
        let mut reversed = values.clone();
        reversed.reverse();
        prop_assert_eq!(sum(&values), sum(&reversed));
        prop_assert_eq!(sum(&values[..cut]) + sum(&values[cut..]), sum(&values));
        let mut a = ThresholdSums::new(1);
        a.sums[0] = sum(&values[..cut]);
        let mut b = ThresholdSums::new(1);
        b.sums[0] = sum(&values[cut..]);
        prop_assert_eq!(a.merge(b).sums[0], sum(&values));
    }
}

fn random_problem(n: usize, k: usize, seed: u64) -> (Array1<i64>, Array2<f64>) {
    problem(n, k, seed, false)
}

/// Random labels and pred_probs; `coarse` draws small integer weights, so values tie often.
fn problem(n: usize, k: usize, seed: u64, coarse: bool) -> (Array1<i64>, Array2<f64>) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let labels = Array1::from_shape_fn(n, |_| ((next() * k as f64) as i64).min(k as i64 - 1));
    let mut p = Array2::from_shape_fn((n, k), |_| {
        if coarse {
            (next() * 4.0).floor()
        } else {
            next() + 1e-3
        }
    });
    for (i, mut row) in p.rows_mut().into_iter().enumerate() {
        row[labels[i] as usize] += if next() < 0.8 { 3.0 } else { 0.0 };
        if row.sum() == 0.0 {
            row[0] = 1.0;
        }
        let s = row.sum();
        row /= s;
    }
    (labels, p)
}

#[test]
fn every_filter_is_identical_on_one_and_two_threads() {
    // Large enough to cross the parallel threshold and several chunks.
    let (labels, p) = random_problem(70_000, 6, 7);
    for fb in [
        "prune_by_noise_rate",
        "prune_by_class",
        "both",
        "confident_learning",
        "low_self_confidence",
    ] {
        let opts = IssueOptions {
            filter_by: FilterBy::parse(fb).unwrap(),
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1,
            confident_joint: None,
        };
        let run = |t| {
            parallel::install(t, || {
                filter::label_issues(labels.view(), p.view(), &opts, 1e-4, &StableArgsort)
            })
            .unwrap()
            .mask
        };
        assert_eq!(run(1), run(2), "{fb}");
    }
    let cj = |t| {
        parallel::install(t, || {
            count::confident_joint(
                labels.view(),
                p.view(),
                None,
                true,
                true,
                1e-4,
                &StableArgsort,
            )
            .unwrap()
        })
    };
    assert_eq!(cj(1), cj(2));
}

/// Row ranges covering `0..n`, cut at `cuts` (any values, clamped and sorted).
fn batches(n: usize, cuts: &[usize]) -> Vec<Range<usize>> {
    let mut at: Vec<usize> = cuts.iter().map(|&c| c.min(n)).collect();
    at.extend([0, n]);
    at.sort_unstable();
    at.windows(2).map(|w| w[0]..w[1]).collect()
}

/// A permutation of `0..m` from a seed.
fn shuffled(m: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..m).collect();
    let mut state = seed | 1;
    for i in (1..m).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// One accumulator per batch, each sent through its bytes, merged in a shuffled order.
fn merged<A>(
    parts: &[Range<usize>],
    seed: u64,
    fresh: impl Fn() -> A,
    update: impl Fn(&mut A, Range<usize>),
    round_trip: impl Fn(&A) -> A,
    merge: impl Fn(&mut A, A),
) -> A {
    let mut acc = fresh();
    for b in shuffled(parts.len(), seed) {
        let mut part = fresh();
        update(&mut part, parts[b].clone());
        merge(&mut acc, round_trip(&part));
    }
    acc
}

/// Every accumulator against its in-memory kernel on one problem, for one batch split.
#[allow(clippy::too_many_arguments)]
fn check_batched(
    labels: &Array1<i64>,
    p: &Array2<f64>,
    k: usize,
    parts: &[Range<usize>],
    seed: u64,
    frac_noise: f64,
    min_examples: i64,
    remove: Option<&[i64]>,
    num: usize,
) {
    let tol = 1e-4;
    let (l, pv) = (labels.view(), p.view());
    let rows = |r: &Range<usize>| (l.slice(s![r.clone()]), pv.slice(s![r.clone(), ..]));

    let th = merged(
        parts,
        seed,
        || ThresholdAccumulator::new(k).unwrap(),
        |a, r| {
            let (lb, pb) = rows(&r);
            a.update(lb, pb, r.start, tol).unwrap()
        },
        |a| ThresholdAccumulator::from_bytes(&a.to_bytes()).unwrap(),
        |a, b| a.merge(b).unwrap(),
    );
    let thresholds = count::confident_thresholds(l, pv, tol).unwrap();
    assert_eq!(th.thresholds(), thresholds);
    assert_eq!(th.label_counts(), count::label_counts(l, k));
    assert_eq!(th.n_rows(), labels.len() as u64);

    let joint = merged(
        parts,
        seed,
        || JointAccumulator::new(&thresholds).unwrap(),
        |a, r| {
            let (lb, pb) = rows(&r);
            a.update(lb, pb, false).unwrap();
        },
        |a| JointAccumulator::from_bytes(&a.to_bytes()).unwrap(),
        |a, b| a.merge(b).unwrap(),
    );
    for calibrate in [false, true] {
        let (expect, _) =
            count::confident_joint(l, pv, None, calibrate, false, tol, &StableArgsort).unwrap();
        assert_eq!(
            joint.confident_joint(calibrate, &StableArgsort).unwrap(),
            expect
        );
    }
    let opts = |filter_by| IssueOptions {
        filter_by,
        frac_noise,
        num_to_remove_per_class: remove,
        min_examples_per_class: min_examples,
        confident_joint: None,
    };
    let issues =
        |filter_by| filter::label_issues(l, pv, &opts(filter_by), tol, &StableArgsort).unwrap();
    let cl = issues(FilterBy::ConfidentLearning).mask;
    assert_eq!(joint.num_issues(), cl.iter().filter(|&&m| m).count() as u64);
    let mut sequential = JointAccumulator::new(&thresholds).unwrap();
    let mut flags = Vec::new();
    for r in parts {
        let (lb, pb) = rows(r);
        flags.extend(sequential.update(lb, pb, true).unwrap().unwrap());
    }
    assert_eq!(flags, cl);

    for method in [
        Method::SelfConfidence,
        Method::NormalizedMargin,
        Method::ConfidenceWeightedEntropy,
    ] {
        for adjust in [None, Some(thresholds.as_slice())] {
            // Entropy over log(K) is NaN for K = 1, which smallest_indices rejects.
            if method == Method::ConfidenceWeightedEntropy && (adjust.is_some() || k == 1) {
                continue;
            }
            let sel = merged(
                parts,
                seed,
                || ScoreSelector::new(method, adjust, k, num).unwrap(),
                |a, r| {
                    let (lb, pb) = rows(&r);
                    a.update(lb, pb, r.start).unwrap()
                },
                |a| ScoreSelector::from_bytes(&a.to_bytes()).unwrap(),
                |a, b| a.merge(b).unwrap(),
            );
            let scores = rank::label_quality_scores(l, pv, method, adjust, tol).unwrap();
            let expect = rank::smallest_indices(Array1::from(scores).view(), num).unwrap();
            assert_eq!(
                sel.indices(),
                expect,
                "{method:?} adjust={}",
                adjust.is_some()
            );
        }
    }

    let cj = joint.confident_joint(true, &StableArgsort).unwrap();
    let counts = joint.label_counts();
    for filter_by in [
        FilterBy::PruneByNoiseRate,
        FilterBy::PruneByClass,
        FilterBy::Both,
    ] {
        let fresh = || {
            PruneSelector::new(
                cj.view(),
                &counts,
                filter_by,
                frac_noise,
                remove,
                min_examples,
                &StableArgsort,
            )
            .unwrap()
        };
        let sel = merged(
            parts,
            seed,
            fresh,
            |a, r| {
                let (lb, pb) = rows(&r);
                a.update(lb, pb, r.start).unwrap()
            },
            |a| PruneSelector::from_bytes(&a.to_bytes()).unwrap(),
            |a, b| a.merge(b).unwrap(),
        );
        let expect = issues(filter_by);
        let flagged: Vec<usize> = (0..labels.len()).filter(|&i| expect.mask[i]).collect();
        assert_eq!(sel.indices(), flagged, "{filter_by:?}");
        assert_eq!(sel.too_few(), expect.too_few.as_slice(), "{filter_by:?}");
    }
}

proptest! {
    #[test]
    fn accumulators_equal_the_in_memory_kernels_for_any_split(
        n in 0usize..300,
        k in 1usize..6,
        seed in any::<u64>(),
        coarse in any::<bool>(),
        cuts in prop::collection::vec(0usize..300, 0..6),
        frac_noise in prop_oneof![Just(1.0), 0.05f64..1.0],
        min_examples in 0i64..4,
        remove in prop::option::of(prop::collection::vec(0i64..20, 5)),
        num in 0usize..320,
    ) {
        let (labels, p) = problem(n, k, seed, coarse);
        let remove = remove.map(|r| r[..k].to_vec());
        check_batched(
            &labels,
            &p,
            k,
            &batches(n, &cuts),
            seed,
            frac_noise,
            min_examples,
            remove.as_deref(),
            num,
        );
    }
}

#[test]
fn accumulators_equal_the_in_memory_kernels_on_parallel_batches() {
    // Batches large enough to run in parallel (on two threads) next to tiny ones.
    let (labels, p) = problem(100_000, 5, 11, true);
    let parts = batches(100_000, &[1, 3, 70_000]);
    parallel::install(2, || {
        check_batched(&labels, &p, 5, &parts, 5, 0.7, 2, None, 9_000)
    });
}

/// The confident joint counted row by row with `row_verdict` (the plain definition).
fn oracle_joint(labels: &Array1<i64>, p: &Array2<f64>, thresholds: &[f64]) -> Vec<u64> {
    let k = p.ncols();
    let cut = count::confidence_cuts(thresholds);
    let mut counts = vec![0u64; k * k];
    for (i, row) in p.rows().into_iter().enumerate() {
        let s = labels[i] as usize;
        if let Some(g) = count::row_verdict(row.as_slice().unwrap(), s, &cut).guess {
            counts[s * k + g] += 1;
        }
    }
    counts
}

#[test]
fn joint_counts_equal_row_verdicts_with_a_table_or_a_list_of_cells() {
    // 6,000 x 300: K * K > 2N, so each thread lists its rows' cells instead of holding a table;
    // 20,000 x 12 and 600 x 40 use the table (in parallel, and serially).
    for (n, k, seed) in [(6_000, 300, 5), (20_000, 12, 6), (600, 40, 7)] {
        let (labels, p) = random_problem(n, k, seed);
        let t = count::confident_thresholds(labels.view(), p.view(), 1e-4).unwrap();
        let want = oracle_joint(&labels, &p, &t);
        for threads in [1, 2] {
            let got = parallel::install(threads, || {
                count::joint_pass(labels.view(), p.view(), &t, false, None)
                    .unwrap()
                    .counts
            });
            assert_eq!(got, want, "{n}x{k} on {threads} threads");
        }
    }
}
