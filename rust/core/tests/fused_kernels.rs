//! The fused, lane-parallel row kernels against the plain per-row definitions they replace:
//! `scan_conf` + `guess_at` + `veto_at_max` and `is_vetoed` against `row_verdict` + `boosted_argmax`,
//! `first_max` and `argmax_scan` against `argmax`,
//! `block_first_bad` against `row_ok`, on rows full of ties, signed zeros and edge values.

use labelsieve_core::count::{self, argmax_scan, CONFIDENCE_SLACK};
use labelsieve_core::data::Prob;
use labelsieve_core::validate::{block_first_bad, row_ok};
use proptest::prelude::*;

/// Probabilities from a small set (many ties, both zeros, values at the thresholds' cut).
fn prob() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(0.5),
        Just(0.25),
        Just(0.25 - 1e-6),
        Just(0.25 + 1e-6),
        Just(0.5 - 1e-6),
        Just(0.5 - 5e-7),
        0.0f64..1.0,
    ]
}

/// A row's guess and veto as the kernels reach them: `scan_conf`, then `guess_at` and
/// `veto_at_max` (which look for the first maximum only when it matters).
fn kernel_verdict<T: Prob>(row: &[T], given: usize, cut: &[f64]) -> (Option<usize>, bool) {
    let (n_conf, last_conf, best) = count::scan_conf(row, cut);
    let guess = (n_conf > 0).then(|| count::guess_at(row, n_conf, last_conf, best));
    (
        guess,
        count::veto_at_max(row, best, given, row[given].to_f64()),
    )
}

fn check_scan(row: &[f64], given: usize, thresholds: &[f64]) {
    let cut: Vec<f64> = thresholds.iter().map(|t| t - CONFIDENCE_SLACK).collect();
    let v = count::row_verdict(row, given, &cut);
    let (guess, vetoed) = kernel_verdict(row, given, &cut);
    assert_eq!(guess, v.guess, "guess of {row:?} given {given}");
    assert_eq!(
        vetoed,
        count::boosted_argmax(row, given) == given,
        "veto of {row:?} given {given}"
    );
    assert_eq!(
        count::is_vetoed(row, given),
        count::boosted_argmax(row, given) == given,
        "is_vetoed of {row:?} given {given}"
    );
    assert_eq!(
        count::first_max(row, count::row_max(row)),
        count::argmax(row)
    );
    assert_eq!(argmax_scan(row).0, count::argmax(row));
    let row32: Vec<f32> = row.iter().map(|&x| x as f32).collect();
    let row32_64: Vec<f64> = row32.iter().map(|&x| f64::from(x)).collect();
    let (guess32, vetoed32) = kernel_verdict(&row32, given, &cut);
    let v32 = count::row_verdict(&row32_64, given, &cut);
    assert_eq!(guess32, v32.guess);
    assert_eq!(vetoed32, count::boosted_argmax(&row32_64, given) == given);
}

/// Row values for validation: mostly valid rows, with every kind of defect sprinkled in.
fn cell() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.0f64..0.2,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-1e-12),
        1 => Just(-0.0),
        1 => Just(1.0 + 1e-6),
        1 => Just(1.0 + 2e-6),
        1 => Just(1e308),
    ]
}

/// Values of `cell` that are not below 0 (`-0.0` is not), the specials rarer: a block then
/// often has none that is non-finite or above 1 + 1e-6, so the block-level path decides it.
fn non_negative_cell() -> impl Strategy<Value = f64> {
    prop_oneof![
        60 => 0.0f64..0.2,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        2 => Just(-0.0),
        3 => Just(1.0 + 1e-6),
        3 => Just(1.0 + 2e-6),
        2 => Just(1.0 + 3e-5),
    ]
}

/// The joint pass over `rows` (given labels `labels`) against `row_verdict` and
/// `boosted_argmax` row by row: its counts, issue count and recorded vetoes.
fn check_joint_pass(rows: &[Vec<f64>], labels: &[i64], thresholds: &[f64]) {
    let k = thresholds.len();
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let p = ndarray::Array2::from_shape_vec((rows.len(), k), flat).unwrap();
    let y = ndarray::Array1::from_vec(labels.to_vec());
    let mut flags = vec![0u8; rows.len()];
    let pass = count::joint_pass_vetoes(y.view(), p.view(), thresholds, &mut flags);
    let cut: Vec<f64> = thresholds.iter().map(|t| t - CONFIDENCE_SLACK).collect();
    let mut counts = vec![0u64; k * k];
    let mut issues = 0;
    for (i, (row, &s)) in rows.iter().zip(labels).enumerate() {
        let s = s as usize;
        let v = count::row_verdict(row, s, &cut);
        let vetoed = count::boosted_argmax(row, s) == s;
        assert_eq!(
            flags[i] & count::VETOED_BIT != 0,
            vetoed,
            "veto of {row:?} given {s}"
        );
        if let Some(g) = v.guess {
            counts[s * k + g] += 1;
            issues += u64::from(g != s && !vetoed);
        }
    }
    assert_eq!(pass.counts, counts, "counts");
    assert_eq!(pass.issues, issues, "issues");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The joint pass, which looks for a row's first maximum only when several classes are
    /// confident or the maximum ties the boosted given-label value, counts and vetoes as the
    /// per-row definitions do: rows of ties, with maxima planted at exactly `p[s] + 1e-6`
    /// before and after the given class, at widths built per K and at 64+ columns.
    #[test]
    fn joint_pass_equals_row_verdicts(
        (k, rows) in prop_oneof![2usize..13, 63usize..70].prop_flat_map(|k| (
            Just(k),
            prop::collection::vec(
                (prop::collection::vec(prob(), k), 0..k, 0..k, 0u8..3),
                1..40,
            ),
        )),
        thresholds in prop::collection::vec(prop_oneof![Just(0.25), Just(0.5), Just(2.0), 0.0f64..1.0], 70),
    ) {
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        for (mut row, s, j, plant) in rows {
            // 0: as drawn; 1: a tie with the boosted value at column j; 2: also at column s's
            // other side, so a maximum sits both before and after the given class.
            if plant > 0 && j != s {
                row[j] = row[s] + count::VETO_BOOST;
                if plant == 2 {
                    let other = if j < s { (s + 1) % k } else { s.saturating_sub(1) };
                    if other != s {
                        row[other] = row[s] + count::VETO_BOOST;
                    }
                }
            }
            probs.push(row);
            labels.push(s as i64);
        }
        check_joint_pass(&probs, &labels, &thresholds[..k]);
    }

    #[test]
    fn scan_equals_row_verdict(
        row in prop::collection::vec(prob(), 1..14),
        given in 0usize..14,
        thresholds in prop::collection::vec(prop_oneof![Just(0.25), Just(0.5), Just(2.0), 0.0f64..1.0], 14),
    ) {
        let given = given % row.len();
        check_scan(&row, given, &thresholds[..row.len()]);
    }

    #[test]
    fn wide_scan_equals_row_verdict(
        row in prop::collection::vec(prob(), 17..140),
        given in 0usize..140,
        thresholds in prop::collection::vec(prop_oneof![Just(0.25), Just(0.5), Just(2.0), 0.0f64..1.0], 140),
    ) {
        // Rows wider than 16 classes build their masks 8 lanes at a time (`mask::mask64`),
        // over one, two or three 64-column words.
        let given = given % row.len();
        check_scan(&row, given, &thresholds[..row.len()]);
    }

    #[test]
    fn block_validation_equals_row_ok(
        k in prop_oneof![1usize..12, 12usize..40],
        cells in prop::collection::vec(cell(), 0..400),
        normalise in prop::collection::vec(any::<bool>(), 40),
        tol in prop_oneof![Just(1e-4), Just(0.0), Just(1e-15), Just(0.5)],
    ) {
        check_block(k, cells, &normalise, tol)?;
    }

    #[test]
    fn block_validation_without_negatives_equals_row_ok(
        k in prop_oneof![1usize..12, 12usize..40],
        cells in prop::collection::vec(non_negative_cell(), 0..120),
        normalise in prop::collection::vec(any::<bool>(), 40),
        tol in prop_oneof![Just(1e-4), Just(0.0), Just(1e-15), Just(0.5)],
    ) {
        // No value below 0: the block-level path (sums, and the maximum of rows summing above
        // 1 + 1e-6) decides every row, not the row-by-row fallback.
        check_block(k, cells, &normalise, tol)?;
    }
}

/// `block_first_bad` on the rows of `cells` (most of them normalised) against `row_ok`, in f64
/// and in f32.
fn check_block(
    k: usize,
    cells: Vec<f64>,
    normalise: &[bool],
    tol: f64,
) -> Result<(), TestCaseError> {
    {
        let n = cells.len() / k;
        let mut flat = cells[..n * k].to_vec();
        // Make most rows sum to 1 (up to rounding), so the sum test is exercised at its edge.
        for (r, row) in flat.chunks_exact_mut(k).enumerate() {
            if normalise[r % normalise.len()] {
                let s: f64 = row.iter().sum();
                if s.is_finite() && s > 0.0 {
                    for v in row.iter_mut() {
                        *v /= s;
                    }
                }
            }
        }
        let oracle = (0..n).find(|&r| !row_ok(&flat[r * k..(r + 1) * k], tol));
        prop_assert_eq!(
            block_first_bad(&flat, 7, 7 + n, k, tol),
            oracle.map(|r| r + 7)
        );
        let flat32: Vec<f32> = flat.iter().map(|&x| x as f32).collect();
        let as64: Vec<f64> = flat32.iter().map(|&x| f64::from(x)).collect();
        let oracle32 = (0..n).find(|&r| !row_ok(&as64[r * k..(r + 1) * k], tol));
        prop_assert_eq!(block_first_bad(&flat32, 0, n, k, tol), oracle32);
    }
    Ok(())
}

#[test]
fn wide_rows_scan_like_row_verdict() {
    // K = 100 exercises the lane merge with many chunks; ties across lanes pick the first column.
    let mut row = vec![0.005; 100];
    row[37] = 0.2;
    row[70] = 0.2;
    row[3] = 0.2;
    let thresholds = vec![0.2; 100];
    for given in [0, 3, 37, 50, 70, 99] {
        check_scan(&row, given, &thresholds);
    }
}
