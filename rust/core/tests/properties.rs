//! Property tests against deliberately simple oracles: the streaming selector against a full
//! sort, exact threshold sums against order and splitting, the pipeline against thread counts.

use labelsieve_core::count::{self, fixed87, StableArgsort, ThresholdSums};
use labelsieve_core::filter::{self, FilterBy, IssueOptions};
use labelsieve_core::parallel;
use labelsieve_core::select::Smallest;
use ndarray::{Array1, Array2};
use proptest::prelude::*;

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
    let mut p = Array2::from_shape_fn((n, k), |_| next() + 1e-3);
    for (i, mut row) in p.rows_mut().into_iter().enumerate() {
        row[labels[i] as usize] += if next() < 0.8 { 3.0 } else { 0.0 };
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
