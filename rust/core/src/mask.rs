//! Bit masks of element-wise comparisons over a short slice (at most 64 elements): bit `j` is
//! set where `pred(a[j], b[j])`.
//!
//! Built 8 lanes at a time with constant shifts, a shape the optimiser turns into vector
//! compares and one movemask per group. A shift by the run-time index `j` (the obvious loop)
//! compiles, on baseline x86-64, into per-lane variable shifts: about four times the
//! instructions. Short slices of a length known at compile time (rows of a kernel built for
//! one width, see `data::width`) keep the obvious loop, which is then unrolled into constant
//! shifts anyway and measured faster at 10 classes.

/// Slices up to this length use the obvious loop (the widest kernel built for one width).
const SHORT: usize = 16;

/// `sum over j of pred(a[j], b[j]) << j`, for `a.len() == b.len() <= 64`.
#[inline(always)]
pub fn mask64<A: Copy, B: Copy>(a: &[A], b: &[B], pred: impl Fn(A, B) -> bool) -> u64 {
    debug_assert!(a.len() == b.len() && a.len() <= 64);
    if a.len() <= SHORT {
        return a
            .iter()
            .zip(b)
            .enumerate()
            .fold(0, |m, (j, (&x, &y))| m | u64::from(pred(x, y)) << j);
    }
    let mut mask = 0u64;
    let groups = a.chunks_exact(8).zip(b.chunks_exact(8));
    let tail = a.len() - a.len() % 8;
    for (g, (ga, gb)) in groups.enumerate() {
        let mut bits = 0u8;
        for (l, (&x, &y)) in ga.iter().zip(gb).enumerate() {
            bits |= u8::from(pred(x, y)) << l;
        }
        mask |= u64::from(bits) << (8 * g);
    }
    for (j, (&x, &y)) in a[tail..].iter().zip(&b[tail..]).enumerate() {
        mask |= u64::from(pred(x, y)) << (tail + j);
    }
    mask
}

/// `mask64` against one value: bit `j` set where `pred(a[j], v)`. Written out rather than as
/// `mask64(a, a, |x, _| pred(x, v))`: that form measured 30% slower in the joint scan at
/// K = 100 (the optimiser no longer vectorised the groups).
#[inline(always)]
pub fn mask64_scalar<A: Copy, B: Copy>(a: &[A], v: B, pred: impl Fn(A, B) -> bool) -> u64 {
    debug_assert!(a.len() <= 64);
    if a.len() <= SHORT {
        return a
            .iter()
            .enumerate()
            .fold(0, |m, (j, &x)| m | u64::from(pred(x, v)) << j);
    }
    let mut mask = 0u64;
    let tail = a.len() - a.len() % 8;
    for (g, ga) in a.chunks_exact(8).enumerate() {
        let mut bits = 0u8;
        for (l, &x) in ga.iter().enumerate() {
            bits |= u8::from(pred(x, v)) << l;
        }
        mask |= u64::from(bits) << (8 * g);
    }
    for (j, &x) in a[tail..].iter().enumerate() {
        mask |= u64::from(pred(x, v)) << (tail + j);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_the_obvious_loop() {
        let a: Vec<f64> = (0..64).map(|i| ((i * 37) % 11) as f64).collect();
        let b: Vec<f64> = (0..64).map(|i| ((i * 17) % 7) as f64).collect();
        for len in 0..=64 {
            let (a, b) = (&a[..len], &b[..len]);
            let expect = (0..len).fold(0u64, |m, j| m | u64::from(a[j] >= b[j]) << j);
            assert_eq!(mask64(a, b, |x, y| x >= y), expect, "len {len}");
            let expect = (0..len).fold(0u64, |m, j| m | u64::from(a[j] == 3.0) << j);
            assert_eq!(mask64_scalar(a, 3.0, |x, y| x == y), expect, "len {len}");
        }
    }
}
