//! The fused, lane-parallel row kernels against the plain per-row definitions they replace:
//! `scan_conf` + `guess_at` + `veto_at_max` and `is_vetoed` against `row_verdict` + `boosted_argmax`,
//! `first_max` against `argmax`,
//! `block_first_bad` against `row_ok`, on rows full of ties, signed zeros and edge values.

use labelsieve_core::count::{self, CONFIDENCE_SLACK};
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
/// The cuts are given in f64 and compared in the rows' native type (`Prob::cut_up`).
fn kernel_verdict<T: Prob>(row: &[T], given: usize, cut: &[f64]) -> (Option<usize>, bool) {
    let cut: Vec<T::Native> = cut.iter().map(|&c| T::cut_up(c)).collect();
    let (n_conf, last_conf, best) = count::scan_conf(row, &cut);
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
    let pass = count::joint_pass_vetoes(y.view(), p.view(), thresholds, None, &mut flags).unwrap();
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

/// Wide rows with defects (`cell`) sprinkled among rows normalised to sum to 1, `n` of them.
fn wide_rows(k: usize, n: usize, cells: &[f64], bad_every: usize) -> ndarray::Array2<f64> {
    let mut flat = Vec::with_capacity(n * k);
    for r in 0..n {
        let mut row: Vec<f64> = (0..k)
            .map(|j| 0.01 + ((r * 31 + j * 17) % 97) as f64 / 97.0)
            .collect();
        // One class dominant, so that rows land on and off the diagonal.
        row[(r * 7) % k] += 3.0 + (r % 5) as f64;
        let s: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= s);
        if bad_every > 0 && r % bad_every == bad_every - 1 && !cells.is_empty() {
            row[(r * 13) % k] = cells[r % cells.len()];
        }
        flat.extend(row);
    }
    ndarray::Array2::from_shape_vec((n, k), flat).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Kernels that validate the rows in their own read (`with_rows_check!`: row by row for
    /// wide rows, whose thresholds come from a gather and leave validation to the joint pass
    /// or the confident_learning flag pass; block by block for narrow ones) fail exactly when
    /// `check_pred_probs` does, naming the same first bad row, and otherwise give what they
    /// give after a separate check, over several blocks and both dtypes.
    #[test]
    fn validation_in_the_pass_equals_check_first(
        k in prop_oneof![3usize..12, Just(32usize), 33usize..70, Just(100usize)],
        n in 1usize..700,
        cells in prop::collection::vec(cell(), 0..8),
        bad_every in prop_oneof![Just(0usize), 1usize..900],
        tol in prop_oneof![Just(1e-4), Just(1e-15), Just(0.0)],
    ) {
        let p = wide_rows(k, n, &cells, bad_every);
        let y = ndarray::Array1::from_iter((0..n).map(|r| ((r * 5 + r / 3) % k) as i64));
        check_fused_validation(&p, &y, tol)?;
        let p32 = p.mapv(|x| x as f32);
        check_fused_validation(&p32, &y, tol)?;
    }
}

fn check_fused_validation<T: Prob>(
    p: &ndarray::Array2<T>,
    y: &ndarray::Array1<i64>,
    tol: f64,
) -> Result<(), TestCaseError> {
    use labelsieve_core::filter::{label_issues, FilterBy, IssueOptions};
    use labelsieve_core::rank::{label_quality_scores, Method, Scorer};
    use labelsieve_core::validate::check_pred_probs;
    let want = check_pred_probs(p.view(), tol);
    let sorter = count::StableArgsort;
    let fused = count::confident_joint(y.view(), p.view(), None, false, true, tol, &sorter);
    let given_t = count::confident_joint(
        y.view(),
        p.view(),
        Some(&[0.3; 100][..p.ncols()]),
        false,
        true,
        tol,
        &sorter,
    );
    let cl = |by: &str| {
        let opts = IssueOptions {
            filter_by: FilterBy::parse(by).unwrap(),
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1,
            confident_joint: None,
        };
        label_issues(y.view(), p.view(), &opts, tol, &sorter).map(|i| i.mask)
    };
    let (cl_mask, prune_mask) = (cl("confident_learning"), cl("prune_by_noise_rate"));
    let pneg = cl("predicted_neq_given");
    let scores = |m| label_quality_scores(y.view(), p.view(), m, None, tol);
    let (sc, nm) = (
        scores(Method::SelfConfidence),
        scores(Method::NormalizedMargin),
    );
    let confusion = count::argmax_confusion(y.view(), p.view(), tol);
    match want {
        Err(e) => {
            prop_assert_eq!(fused.err(), Some(e.clone()));
            prop_assert_eq!(given_t.err(), Some(e.clone()));
            prop_assert_eq!(cl_mask.err(), Some(e.clone()));
            prop_assert_eq!(pneg.err(), Some(e.clone()));
            prop_assert_eq!(sc.err(), Some(e.clone()));
            prop_assert_eq!(nm.err(), Some(e.clone()));
            prop_assert_eq!(confusion.err(), Some(e.clone()));
            prop_assert_eq!(prune_mask.err(), Some(e));
        }
        Ok(()) => {
            // The same counts as the thresholds and joint pass on rows known to be valid.
            let t = count::confident_thresholds(y.view(), p.view(), tol).unwrap();
            let pass = count::joint_pass(y.view(), p.view(), &t, true, None).unwrap();
            let (cj, off) = fused.unwrap();
            prop_assert_eq!(count::counts_to_matrix(pass.counts, p.ncols()), cj);
            prop_assert_eq!(&pass.off_diagonal, &off);
            let cl_mask = cl_mask.unwrap();
            let off_set: Vec<usize> = (0..p.nrows()).filter(|&i| cl_mask[i]).collect();
            // confident_learning flags the off-diagonal rows that survive the veto.
            prop_assert!(off_set.iter().all(|i| off.binary_search(i).is_ok()));
            prop_assert_eq!(off_set.len() as u64, pass.issues);
            prop_assert!(given_t.is_ok());
            prop_assert!(prune_mask.is_ok());
            // Outputs as the rows' own definitions give them.
            let mut buf = vec![0.0; p.ncols()];
            let rows = labelsieve_core::data::Rows::new(p.view());
            let (sc, nm, confusion) = (sc.unwrap(), nm.unwrap(), confusion.unwrap());
            let scorer = Scorer::new(Method::NormalizedMargin, None, p.ncols()).unwrap();
            for i in 0..p.nrows() {
                let row = rows.row(i, &mut buf).to_vec();
                let s = y[i] as usize;
                prop_assert_eq!(sc[i].to_bits(), row[s].to_bits());
                prop_assert_eq!(nm[i].to_bits(), scorer.score(&row, s, &mut []).to_bits());
                prop_assert_eq!(
                    pneg.as_ref().unwrap()[i],
                    count::boosted_argmax(&row, s) != s
                );
            }
            let mut want_confusion = ndarray::Array2::<i64>::zeros((p.ncols(), p.ncols()));
            for i in 0..p.nrows() {
                want_confusion[[y[i] as usize, count::argmax(rows.row(i, &mut buf))]] += 1;
            }
            prop_assert_eq!(confusion, want_confusion);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Rows whose left-to-right sum lands a few units in the last place either side of
    /// `1 +- tol`: the quick four-lane sum cannot tell them apart, so they go to the exact
    /// check, and `block_first_bad` agrees with `row_ok` on every one.
    #[test]
    fn sums_at_the_tolerance_validate_like_row_ok(
        k in prop_oneof![1usize..12, 30usize..130],
        raw in prop::collection::vec(prop::collection::vec(0.001f64..1.0, 130), 1..12),
        side in prop::collection::vec((any::<bool>(), -40i32..40), 12),
        tol in prop_oneof![Just(1e-4), Just(1e-6), Just(0.3)],
    ) {
        let mut flat = Vec::new();
        for (r, row) in raw.iter().enumerate() {
            let (above, ulps) = side[r];
            let target = if above { 1.0 + tol } else { 1.0 - tol } + f64::from(ulps) * f64::EPSILON;
            let s: f64 = row[..k].iter().sum();
            let mut row: Vec<f64> = row[..k].iter().map(|v| v / s * target).collect();
            // Walk the last value until the left-to-right sum is the target itself.
            for _ in 0..8 {
                let got: f64 = row.iter().sum();
                row[k - 1] += target - got;
            }
            flat.extend(row);
        }
        let n = flat.len() / k;
        let oracle = (0..n).find(|&r| !row_ok(&flat[r * k..(r + 1) * k], tol));
        prop_assert_eq!(block_first_bad(&flat, 3, 3 + n, k, tol), oracle.map(|r| r + 3));
    }

    /// The same for f32 rows, whose quick sums run in f32 (eight lanes) when rows are wide:
    /// sums of the values as f64 land a few f32 steps of the last value, or a thousand, either
    /// side of `1 +- tol`. `block_first_bad` agrees with `row_ok` on the rows as f64, and the
    /// per-row `QuickCheck` passes no row that `row_ok` fails.
    #[test]
    fn f32_sums_at_the_tolerance_validate_like_row_ok(
        k in prop_oneof![1usize..12, 17usize..40, 90usize..130],
        raw in prop::collection::vec(prop::collection::vec(0.001f64..1.0, 130), 1..12),
        side in prop::collection::vec((any::<bool>(), -40i32..40, any::<bool>()), 12),
        tol in prop_oneof![Just(1e-4), Just(1e-6), Just(1e-3)],
    ) {
        use labelsieve_core::validate::QuickCheck;
        let mut flat: Vec<f32> = Vec::new();
        for (r, row) in raw.iter().enumerate() {
            let (above, steps, far) = side[r];
            let target = if above { 1.0 + tol } else { 1.0 - tol };
            let s: f64 = row[..k].iter().sum();
            let mut row: Vec<f32> = row[..k].iter().map(|v| (v / s * target) as f32).collect();
            let sum64 = |row: &[f32]| row.iter().map(|&v| f64::from(v)).sum::<f64>();
            // Walk the last value to the f32 nearest the target sum, then some steps away.
            for _ in 0..4 {
                let got = sum64(&row);
                row[k - 1] = (f64::from(row[k - 1]) + target - got) as f32;
            }
            let steps = if far { steps * 1000 } else { steps };
            for _ in 0..steps.unsigned_abs() {
                let v = row[k - 1];
                row[k - 1] = if steps > 0 { v.next_up() } else { v.next_down().max(0.0) };
            }
            flat.extend(row);
        }
        let n = flat.len() / k;
        let as64: Vec<f64> = flat.iter().map(|&v| f64::from(v)).collect();
        let oracle = (0..n).find(|&r| !row_ok(&as64[r * k..(r + 1) * k], tol));
        prop_assert_eq!(block_first_bad(&flat, 3, 3 + n, k, tol), oracle.map(|r| r + 3));
        let quick = QuickCheck::new::<f32>(k, tol);
        for r in 0..n {
            if quick.max_and_ok(&flat[r * k..(r + 1) * k]).1 {
                prop_assert!(row_ok(&as64[r * k..(r + 1) * k], tol), "row {} passed", r);
            }
        }
    }
}

#[test]
fn row_stats_maximum_is_row_max() {
    use labelsieve_core::validate::row_stats;
    for row in [
        vec![0.0, -0.0, 0.0],
        vec![-0.0, 0.0],
        vec![0.25, 0.5, 0.25, 0.5, 0.0],
        vec![f64::NAN, 0.2, 0.8],
        (0..101).map(|j| f64::from(j % 13) / 100.0).collect(),
    ] {
        let (max, min, sum) = row_stats(&row);
        let best = count::row_max(&row);
        assert_eq!(max.to_bits(), best.to_bits(), "{row:?}");
        assert_eq!(count::first_max(&row, max), count::first_max(&row, best));
        let finite: Vec<f64> = row.iter().copied().filter(|v| !v.is_nan()).collect();
        assert_eq!(min, finite.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(sum.is_nan(), row.iter().any(|v| v.is_nan()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// A cut moved to the f32 grid decides `p >= cut` for every f32 `p` exactly as the f64 cut
    /// does: at the cut's own f32 neighbours, at the f32 values next to those, and on a random
    /// f32 value. Cuts on and off the f32 grid, signed zeros, tiny, huge and infinite.
    #[test]
    fn f32_cuts_decide_as_the_f64_ones(
        c in prop_oneof![
            0.0f64..1.0,
            (0.0f32..1.0).prop_map(f64::from),
            (0.0f32..1.0).prop_map(|x| f64::from(x) + 1e-12),
            (0.0f32..1.0).prop_map(|x| f64::from(x) - 1e-12),
            Just(0.0), Just(-0.0), Just(-1e-6), Just(1e-300), Just(-1e300), Just(1e300),
            Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::from(f32::MAX)),
        ],
        p in any::<f32>(),
    ) {
        let cut = <f32 as Prob>::cut_up(c);
        let near = c as f32;
        for q in [p, near, near.next_up(), near.next_down(), cut, cut.next_down(), 0.0, -0.0] {
            prop_assert_eq!(q >= cut, f64::from(q) >= c, "p {} cut {} from {}", q, cut, c);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// `Scorer::score_row`, which reads f64 and f32 rows in place for the unadjusted
    /// self-confidence and normalized margin, gives the bits `Scorer::score` gives on the row
    /// converted to f64, for every method, with and without adjustment; rows full of ties and
    /// signed zeros, the given class anywhere including both ends.
    #[test]
    fn scores_read_in_place_equal_scores_of_converted_rows(
        raw in prop::collection::vec(prob(), 2..130),
        given in any::<prop::sample::Index>(),
        adjust in any::<bool>(),
    ) {
        use labelsieve_core::rank::{Method, Scorer};
        let k = raw.len();
        let s = given.index(k);
        let t: Vec<f64> = (0..k).map(|j| 0.1 + 0.01 * (j % 7) as f64).collect();
        let row32: Vec<f32> = raw.iter().map(|&x| x as f32).collect();
        let row32_64: Vec<f64> = row32.iter().map(|&x| f64::from(x)).collect();
        for method in [Method::SelfConfidence, Method::NormalizedMargin, Method::ConfidenceWeightedEntropy] {
            let adjusted = adjust && method != Method::ConfidenceWeightedEntropy;
            let scorer = Scorer::new(method, adjusted.then_some(&t[..]), k).unwrap();
            let (mut buf, mut adj) = (vec![0.0; k], vec![0.0; k]);
            let want = scorer.score(&raw, s, &mut adj);
            prop_assert_eq!(scorer.score_row(&raw, s, &mut buf, &mut adj).to_bits(), want.to_bits(), "{:?} f64", method);
            let want32 = scorer.score(&row32_64, s, &mut adj);
            prop_assert_eq!(scorer.score_row(&row32, s, &mut buf, &mut adj).to_bits(), want32.to_bits(), "{:?} f32", method);
            if method == Method::NormalizedMargin && !adjusted {
                // cleanlab's definition, written out: the largest other value, first found.
                let other = (0..k).filter(|&j| j != s).map(|j| raw[j]).fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a });
                prop_assert_eq!(want.to_bits(), ((raw[s] - other + 1.0) / 2.0).to_bits());
            }
        }
    }
}
