//! The natural logarithm without branches or a library call, so loops of it vectorize.
//!
//! The confidence-weighted entropy takes `p·ln p` of every probability. `f64::ln` is a call
//! into the platform's libm, one value at a time with its special cases behind branches: at
//! 10M x 10 those scores took 7.6x the floor, the logarithm almost all of it. [`ln`] is the
//! classic fdlibm reduction written without branches:
//!
//! * `x = 2^k · m` with `m` in `[√2/2, √2)`, taken from the bits of `x · 2^54` (exact, and
//!   normal for subnormal `x`);
//! * `f = m − 1`, `s = f / (2 + f)`, and `ln m = 2·atanh s = f − f²/2 + s·(f²/2 + R(s²))`, with
//!   `R` fdlibm's degree-7 polynomial in `s²`, fitted on `|s| < 0.1716`;
//! * `k·ln 2` in two parts (a head with trailing zero bits, so that `k·head` is exact, and a
//!   tail), and `f − f²/2` as a head of 21 bits plus a tail, with `f²` split exactly (Dekker):
//!   `(k·ln2_head + head) + (tail + k·ln2_tail)`, where the first sum is exact for the
//!   probabilities' exponents.
//!
//! Within 1 ulp everywhere, and equal to glibc's `log` (itself within 0.52 ulp) on all but 0.6%
//! of inputs, where they differ by 1 ulp. fdlibm's own final sum, one rounding after another,
//! differed on 3.6% (7% of values in [0, 1]); the exact head costs 10% of the loop's time but
//! halves the scores that differ from cleanlab's in the last bits. Those differences matter
//! because cleanlab's score `ln(1 + x) / x` magnifies a last-bit change of a small ratio `x`
//! when it changes how `1 + x` rounds (by up to 2^-52 / x relative).
//!
//! Only what the callers need is defined: `x` positive and below 2^969 (probabilities, and
//! `1 + x` of the entropy ratio). Zero gives a finite garbage value that [`xlogx`] replaces by
//! its `0·ln 0 = 0`; larger values give garbage too, never a panic.
//!
//! The loops that call it run inside `wide::run`, which compiles them for AVX-512 or AVX2 where
//! the CPU has them (the portable build has SSE2's two f64 lanes): 0.67 ns per `xlogx` here,
//! against 1.26 with AVX2, 2.7 with SSE2 and 2.4 for glibc's `log` one value at a time.

use crate::data::Prob;

/// `ln 2` split (given by their bits, as fdlibm does): `LN2_HI` has its last 32 bits zero, so `k · LN2_HI` is exact for |k| < 2^11.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// The fdlibm minimax coefficients of `R(z) = LG1·z + LG2·z² + … + LG7·z⁷`, `z = s²`.
const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);

/// The high word of `√2/2` (`0x3fe6a09e`), in place: a mantissa below √2's is kept in
/// `[1, √2)`, one at or above it is halved into `[√2/2, 1)` and its exponent raised by one.
const SQRT_HALF_HI: u64 = 0x3fe6_a09e << 32;
/// `2^52`, whose bits OR an exponent field into an exactly representable `2^52 + e`.
const TWO52: f64 = 4_503_599_627_370_496.0;

/// Natural logarithm of a positive `x` below 2^969 (subnormals included), within 1 ulp; no
/// branch. (Scaling every `x` by 2^54, rather than selecting the subnormals, made the loops
/// 11% faster; the callers' values are probabilities and `1 + x` with `x` at most 1e6.)
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    // Scaled by 2^54 (exact), so that subnormals are normal too; 54 comes off the exponent.
    let x = x * (1u64 << 54) as f64;
    let bias = 1023.0 + 54.0;
    // Add (1.0's high word − √2/2's) so that the exponent field carries into k exactly when
    // the mantissa is at or above √2/2's; then put the mantissa back over √2/2's exponent.
    let hx = x.to_bits().wrapping_add((0x3ff0_0000 << 32) - SQRT_HALF_HI);
    let k = f64::from_bits(TWO52.to_bits() | (hx >> 52)) - (TWO52 + bias);
    let m = f64::from_bits((hx & 0x000f_ffff_ffff_ffff) + SQRT_HALF_HI);
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    // f²/2 = hf_hi + hf_lo: `fh` keeps 26 significant bits of f, so fh² is exact, and
    // f² − fh² = (f − fh)(f + fh).
    let fh = f64::from_bits(f.to_bits() & 0xffff_ffff_f800_0000);
    let fl = f - fh;
    let hf_hi = 0.5 * fh * fh;
    let hf_lo = 0.5 * fl * (f + fh);
    // The head: f − f²/2 cut to 21 significant bits (within a factor 2 of f, so f − hi is
    // exact); k·LN2_HI (32 bits) + hi is then exact unless hi is far below k·ln 2 in size.
    let hi = f64::from_bits((f - hf_hi).to_bits() & 0xffff_ffff_0000_0000);
    let lo = ((f - hi) - hf_hi) - hf_lo + s * (hfsq + r);
    (k * LN2_HI + hi) + (lo + k * LN2_LO)
}

/// `p · ln p`, and 0 at `p = 0` (scipy's `xlogy(p, p)`), for `p` in `[0, 2^969)`.
#[inline(always)]
pub fn xlogx(p: f64) -> f64 {
    let v = p * ln(p);
    if p == 0.0 {
        0.0
    } else {
        v
    }
}

/// `out[i] = xlogx(xs[i])` for every `i` (the lengths must match). Inlined, so that a caller in
/// `wide::run` gets it in the CPU's widest vectors.
#[inline(always)]
pub fn xlogx_into<T: Prob>(xs: &[T], out: &mut [f64]) {
    assert_eq!(xs.len(), out.len());
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = xlogx(x.to_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ln`'s bound on its input: 2^969.
    const MAX_INPUT: f64 = 1.0 / (1u64 << 54) as f64 * f64::MAX;

    /// Distance in units in the last place between two positive or two negative finite values.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    fn inputs() -> Vec<f64> {
        let mut v = vec![
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE * (1.0 - f64::EPSILON),
            f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            MAX_INPUT * (1.0 - f64::EPSILON),
            1.0,
            1.0 - f64::EPSILON / 2.0,
            1.0 + f64::EPSILON,
            0.5,
            2.0,
            std::f64::consts::FRAC_1_SQRT_2,
            std::f64::consts::SQRT_2,
            1e-6,
            1e-300,
            0.1,
            0.9,
        ];
        // Every binade of the normals and subnormals, at spread mantissas, and dense sampling of
        // [0, 1] where the probabilities are.
        let mut st: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        for _ in 0..400_000 {
            v.push(f64::from_bits(next() % 0x7ff0_0000_0000_0000));
            v.push((next() >> 11) as f64 / (1u64 << 53) as f64);
            // Near 1, where ln is small and the reduction's borrow switches.
            v.push(1.0 + ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e-3);
            v.push(
                std::f64::consts::FRAC_1_SQRT_2
                    * (1.0 + ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e-9),
            );
        }
        v.retain(|&x| x > 0.0 && x < MAX_INPUT);
        v
    }

    #[test]
    fn within_one_ulp_of_libm_over_every_binade() {
        let mut off = 0usize;
        let xs = inputs();
        for &x in &xs {
            let (ours, libm) = (ln(x), x.ln());
            let d = ulps(ours, libm);
            assert!(d <= 1, "ln({x:e}) = {ours:e}, libm {libm:e}: {d} ulps");
            off += usize::from(d != 0);
        }
        // Both are within 1 ulp of the true value and round differently only near the
        // midpoint between two doubles: 0.63% of these inputs (3.6% before the head and tail
        // evaluation of `f - f²/2`).
        assert!(
            off * 100 < xs.len(),
            "{off} of {} differ from libm",
            xs.len()
        );
    }

    /// `xlogx` of `xs` and `ln` of `logs` as a `wide::Kernel`, the outputs as bits.
    #[derive(Clone)]
    struct Both<'a> {
        xs: &'a [f64],
        logs: &'a [f64],
    }

    impl crate::wide::Kernel for Both<'_> {
        type Output = (Vec<u64>, Vec<u64>);
        #[inline(always)]
        fn run(self) -> Self::Output {
            let mut out = vec![0.0; self.xs.len()];
            xlogx_into(self.xs, &mut out);
            let mut logs = self.logs.to_vec();
            for v in &mut logs {
                *v = ln(*v);
            }
            let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect();
            (bits(out), bits(logs))
        }
    }

    #[test]
    fn every_vector_build_gives_the_same_bits() {
        let logs = inputs();
        let mut xs = logs.clone();
        xs.extend([0.0, 0.0, 1.0]);
        let (out, lns) = crate::wide::tests::on_every_level(Both {
            xs: &xs,
            logs: &logs,
        });
        for (&o, &x) in out.iter().zip(&xs) {
            assert_eq!(o, xlogx(x).to_bits(), "xlogx({x:e})");
        }
        for (&o, &x) in lns.iter().zip(&logs) {
            assert_eq!(o, ln(x).to_bits(), "ln({x:e})");
        }
    }

    #[test]
    fn powers_of_two_and_one() {
        assert_eq!(ln(1.0).to_bits(), 0.0f64.to_bits());
        for e in -1074..970 {
            let x = if e < -1022 {
                f64::from_bits(1 << (e + 1074))
            } else {
                2f64.powi(e)
            };
            assert!(ulps(ln(x), x.ln()) <= 1, "2^{e}: {} vs {}", ln(x), x.ln());
        }
    }

    #[test]
    fn xlogx_is_zero_at_zero_and_p_ln_p_elsewhere() {
        assert_eq!(xlogx(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(xlogx(1.0), 0.0);
        for &p in &[1e-300, 1e-6, 0.25, 0.5, 0.999] {
            assert!(ulps(xlogx(p), p * p.ln()) <= 1, "{p}");
        }
    }
}
