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

/// The flagged rows sorted by score with a stable sort: equal scores (and +0.0 against -0.0)
/// keep the rows' order.
fn by_definition(
    p: &Array2<f64>,
    labels: &Array1<i64>,
    mask: &Array1<bool>,
    method: Method,
) -> Vec<usize> {
    let k = p.ncols();
    let scorer = Scorer::new(method, None, k).unwrap();
    let mut adj = vec![0.0; k];
    let mut want: Vec<(f64, usize)> = (0..p.nrows())
        .filter(|&i| mask[i])
        .map(|i| {
            let row = p.row(i).to_vec();
            (scorer.score(&row, labels[i] as usize, &mut adj), i)
        })
        .collect();
    want.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    want.into_iter().map(|(_, i)| i).collect()
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
            prop_assert_eq!(got, by_definition(&p, &labels, &mask, method), "{:?}, K = {}", method, k);
        }
    }
}

/// Enough flagged rows for the bucketed sort (`keysort`), with scores that tie often and scores
/// spread over many binades, on one and two threads: the same order as the definition.
#[test]
fn many_flagged_rows_in_order_of_score_then_index_on_any_thread_count() {
    let (n, k) = (120_000, 10);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for ties in [true, false] {
        let mut p = Array2::<f64>::zeros((n, k));
        for mut row in p.rows_mut() {
            for v in row.iter_mut() {
                let r = next();
                *v = if ties {
                    (r % 8) as f64 / 64.0
                } else {
                    (r >> 11) as f64 / (1u64 << 53) as f64 * 2f64.powi(-((r % 40) as i32))
                };
            }
        }
        let labels = Array1::from_shape_fn(n, |_| (next() % k as u64) as i64);
        let mask = Array1::from_shape_fn(n, |_| next() % 5 < 3);
        for method in [Method::SelfConfidence, Method::NormalizedMargin] {
            let want = by_definition(&p, &labels, &mask, method);
            for threads in [1, 2] {
                let got = labelsieve_core::parallel::install(threads, || {
                    rank::order_label_issues(
                        mask.view(),
                        labels.view(),
                        p.view(),
                        method,
                        None,
                        None,
                    )
                })
                .unwrap();
                assert_eq!(got, want, "{method:?}, ties {ties}, {threads} threads");
            }
        }
    }
}
