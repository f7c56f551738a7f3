//! Confident Learning kernels (Northcutt, Jiang, Chuang, JAIR 2021) in pure Rust.
//!
//! Every public function works on ndarray views of any layout, reads float16/float32/float64
//! probabilities in place and does its arithmetic in f64. Results never depend on the number of
//! threads: sums are exact integers, selections use a total order (key, then row index).

pub mod batched;
pub mod count;
pub mod data;
pub mod error;
pub mod filter;
pub mod keysort;
pub mod latent;
pub mod ln;
pub mod mask;
pub mod parallel;
pub mod rank;
pub mod select;
pub mod validate;
pub mod wide;

pub use data::{Label, Prob};
pub use error::{Error, Result};

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// A seeded xorshift64 stream (`seed` must not be 0).
    pub fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }
}
