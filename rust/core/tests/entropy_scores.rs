//! `rank::label_quality_scores` by confidence-weighted entropy: each block's `p·ln p` in one
//! vector loop (`ln`, run through `wide`) must give the bits of `Scorer::score` on each row
//! alone, and stay within rounding of the definition with the C library's logarithm.

use labelsieve_core::parallel;
use labelsieve_core::rank::{self, Method, Scorer};
use ndarray::{Array1, Array2};

/// Rows of `k` probabilities: spread values, exact zeros, subnormal values, one-hot rows and
/// ties, normalised; labels cycling through the classes.
fn problem(n: usize, k: usize, seed: u64) -> (Array1<i64>, Array2<f64>) {
    let mut st = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut rnd = move || {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        (st >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut p = Array2::<f64>::zeros((n, k));
    for i in 0..n {
        let kind = i % 7;
        for j in 0..k {
            p[[i, j]] = match kind {
                0 => f64::from(u8::from(j == i % k)),
                1 if j % 3 == 0 => 0.0,
                2 if j == 1 => 1e-310,
                3 => 0.25,
                _ => (rnd() * 6.0).exp(),
            };
        }
        let s: f64 = p.row(i).sum();
        p.row_mut(i).mapv_inplace(|v| v / s);
    }
    let labels = Array1::from_shape_fn(n, |i| ((i * 7 + i / 3) % k) as i64);
    (labels, p)
}

#[test]
fn block_scores_are_the_row_scores_and_the_definition() {
    for (k, n) in [
        (2, 9000),
        (3, 7000),
        (10, 8000),
        (16, 3000),
        (40, 2000),
        (130, 500),
        (300, 300),
    ] {
        let (labels, p) = problem(n, k, k as u64);
        let p32 = p.mapv(|v| v as f32);
        let scorer = Scorer::new(Method::ConfidenceWeightedEntropy, None, k).unwrap();
        let ln_k = (k as f64).ln();
        for f32_input in [false, true] {
            let rows = if f32_input {
                p32.mapv(f64::from)
            } else {
                p.clone()
            };
            let scores = |threads| {
                parallel::install(threads, || {
                    if f32_input {
                        rank::label_quality_scores(
                            labels.view(),
                            p32.view(),
                            Method::ConfidenceWeightedEntropy,
                            None,
                            1e-4,
                        )
                    } else {
                        rank::label_quality_scores(
                            labels.view(),
                            p.view(),
                            Method::ConfidenceWeightedEntropy,
                            None,
                            1e-4,
                        )
                    }
                    .unwrap()
                })
            };
            let one = scores(1);
            assert_eq!(one, scores(2), "k={k}: thread count changed the scores");
            let mut worst = 0.0f64;
            for i in 0..n {
                let row = rows.row(i).to_vec();
                let s = labels[i] as usize;
                let alone = scorer.score(&row, s, &mut []);
                assert_eq!(
                    one[i].to_bits(),
                    alone.to_bits(),
                    "k={k} f32={f32_input} row {i}"
                );
                // The definition with the C library's logarithm, summed in the same order.
                let h: f64 = -labelsieve_core::latent::np_sum_map(&row, |q| {
                    if q == 0.0 {
                        0.0
                    } else {
                        q * q.ln()
                    }
                }) / ln_k;
                let x = h / row[s].max(1e-6);
                let want = (1.0 + x).ln() / x.max(1e-6);
                let rel = if want == 0.0 {
                    one[i].abs()
                } else {
                    ((one[i] - want) / want).abs()
                };
                worst = worst.max(rel);
            }
            assert!(
                worst < 1e-13,
                "k={k} f32={f32_input}: {worst:e} from the definition"
            );
        }
    }
}
