//! `rank::order_label_issues` against its definition: the flagged rows in order of ascending
//! score, ties by row index (a zero's sign ignored, as numpy's sort ignores it), for every
//! method, on inputs that span several of `Rows::for_blocks`' blocks of rows.

use labelsieve_core::rank::{self, Method, Scorer};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

/// Row widths: narrow (built per width, several blocks of rows at 900 rows) and wide.
const WIDTHS: [usize; 4] = [2, 10, 16, 40];

/// Values with many ties and both zeros.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(-0.0), Just(0.25), Just(0.5), 0.0f64..1.0]
}

/// (K, pred_probs values row by row, labels, mask).
fn problem() -> impl Strategy<Value = (usize, Vec<f64>, Vec<i64>, Vec<bool>)> {
    (0..WIDTHS.len(), 1usize..900).prop_flat_map(|(w, n)| {
        let k = WIDTHS[w];
        (
            Just(k),
            prop::collection::vec(value(), n * k),
            prop::collection::vec(0..k as i64, n),
            prop::collection::vec(any::<bool>(), n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn flagged_rows_in_order_of_score_then_index((k, values, labels, mask) in problem()) {
        let n = labels.len();
        let p = Array2::from_shape_vec((n, k), values).unwrap();
        let labels = Array1::from_vec(labels);
        let mask = Array1::from_vec(mask);
        for method in [Method::SelfConfidence, Method::NormalizedMargin, Method::ConfidenceWeightedEntropy] {
            let got = rank::order_label_issues(mask.view(), labels.view(), p.view(), method, None, None).unwrap();
            let scorer = Scorer::new(method, None, k).unwrap();
            let mut adj = vec![0.0; k];
            let mut want: Vec<(f64, usize)> = (0..n)
                .filter(|&i| mask[i])
                .map(|i| {
                    let row = p.row(i).to_vec();
                    (scorer.score(&row, labels[i] as usize, &mut adj), i)
                })
                .collect();
            // Stable: equal scores (and +0.0 against -0.0) keep the rows' order.
            want.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            let want: Vec<usize> = want.into_iter().map(|(_, i)| i).collect();
            prop_assert_eq!(got, want, "{:?}, K = {}", method, k);
        }
    }
}
