//! Running a loop compiled for the CPU's widest vector instructions.
//!
//! The portable x86-64 build has only SSE2: two f64 lanes. Where a loop is bound by arithmetic
//! rather than memory (the logarithms of the confidence-weighted entropy) that halves or
//! quarters its speed on the CPUs we run on. [`run`] calls a [`Kernel`] from a function built
//! with AVX-512 or AVX2 enabled, chosen at run time; the kernel's `run`, marked
//! `#[inline(always)]`, is inlined there and so compiled for eight or four lanes. (A closure is
//! not enough: the optimizer left the entropy block's closure out of line, built for SSE2, and
//! it cannot be marked.)
//!
//! The results are the same bits on every path: Rust never fuses a multiply and an add unless
//! the code asks (`mul_add`, which no kernel uses), so each build performs the same IEEE
//! operations in the same order, only more of them at once. The tests check it.

/// The widest vector instructions the CPU has, of those [`run`] builds for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Eight f64 lanes: `xlogx` 0.67 ns per value here, against 1.26 with AVX2 and 2.7 with
    /// SSE2 (the first version of `ln`).
    Avx512,
    Avx2,
    /// The build's own instructions.
    Base,
}

impl Level {
    /// `std` caches the CPU's answer: a load and a compare or two.
    #[inline(always)]
    pub fn detect() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
        }
        Level::Base
    }
}

/// A loop worth building for wider vectors. Implementations mark `run` `#[inline(always)]` (and
/// the functions it calls in its loops), so that it is compiled inside [`run`]'s builds.
pub trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

/// `k.run()`, compiled for the CPU's widest vectors. The result is the same on every CPU.
#[inline(always)]
pub fn run<K: Kernel>(k: K) -> K::Output {
    run_at(Level::detect(), k)
}

/// `k.run()` at a given level, which must be at most the CPU's (`Level::detect`).
#[inline(always)]
pub(crate) fn run_at<K: Kernel>(level: Level, k: K) -> K::Output {
    let cpu = Level::detect();
    assert!(
        level == Level::Base || cpu == Level::Avx512 || level == cpu,
        "{level:?} is beyond this CPU"
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: a `target_feature` function requires only that the CPU has the feature, and
        // the assert above has checked it against `Level::detect` (AVX-512 implies AVX2).
        Level::Avx512 => unsafe { x86::avx512(k) },
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: as above.
        Level::Avx2 => unsafe { x86::avx2(k) },
        _ => k.run(),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Kernel;

    #[target_feature(enable = "avx512f")]
    pub fn avx512<K: Kernel>(k: K) -> K::Output {
        k.run()
    }

    #[target_feature(enable = "avx2")]
    pub fn avx2<K: Kernel>(k: K) -> K::Output {
        k.run()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every level this CPU can run, widest first; `Base` always.
    pub(crate) fn levels() -> Vec<Level> {
        match Level::detect() {
            Level::Avx512 => vec![Level::Avx512, Level::Avx2, Level::Base],
            Level::Avx2 => vec![Level::Avx2, Level::Base],
            Level::Base => vec![Level::Base],
        }
    }

    /// `k.run()` at every level this CPU has, each output asserted equal to `Base`'s (compare
    /// floats by their bits).
    pub(crate) fn on_every_level<K: Kernel + Clone>(k: K) -> K::Output
    where
        K::Output: PartialEq + std::fmt::Debug,
    {
        let base = run_at(Level::Base, k.clone());
        for level in levels() {
            assert_eq!(
                run_at(level, k.clone()),
                base,
                "{level:?} differs from the base build"
            );
        }
        base
    }

    struct Seven;
    impl Kernel for Seven {
        type Output = u8;
        fn run(self) -> u8 {
            7
        }
    }

    #[test]
    fn a_level_beyond_the_cpu_is_refused() {
        if Level::detect() != Level::Avx512 {
            assert!(std::panic::catch_unwind(|| run_at(Level::Avx512, Seven)).is_err());
        }
        assert_eq!(run_at(Level::Base, Seven), 7);
        assert_eq!(run(Seven), 7);
    }
}
