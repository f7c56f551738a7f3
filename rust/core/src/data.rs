//! Element traits for probabilities (f16/f32/f64) and labels (any integer), and row access that
//! hands every kernel a row as `&[f64]` without copying contiguous float64 input.

use half::f16;
use ndarray::ArrayView2;

/// A probability element; converted to f64 before any arithmetic.
pub trait Prob: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    /// The row itself when it already is a contiguous f64 slice (no conversion needed).
    fn as_f64_slice(row: &[Self]) -> Option<&[f64]>;
}

impl Prob for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn as_f64_slice(row: &[Self]) -> Option<&[f64]> {
        Some(row)
    }
}

impl Prob for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn as_f64_slice(_: &[Self]) -> Option<&[f64]> {
        None
    }
}

impl Prob for f16 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
    #[inline(always)]
    fn as_f64_slice(_: &[Self]) -> Option<&[f64]> {
        None
    }
}

/// A class label; values are checked to lie in `0..K` before kernels run, and kernels map any
/// other value to `usize::MAX` so an unchecked label fails a bounds check instead of aliasing.
pub trait Label: Copy + Send + Sync + 'static {
    fn class(self) -> usize;
}

macro_rules! label_int {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn class(self) -> usize {
                usize::try_from(self).unwrap_or(usize::MAX)
            }
        }
    )*};
}
label_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Label for bool {
    #[inline(always)]
    fn class(self) -> usize {
        usize::from(self)
    }
}

/// Row reader over an (N, K) view of any layout.
pub struct Rows<'a, T: Prob> {
    view: ArrayView2<'a, T>,
    contiguous: Option<&'a [T]>,
    k: usize,
}

impl<'a, T: Prob> Rows<'a, T> {
    pub fn new(view: ArrayView2<'a, T>) -> Self {
        let k = view.ncols();
        let contiguous = view.to_slice();
        Rows {
            view,
            contiguous,
            k,
        }
    }

    /// The underlying view.
    pub fn view(&self) -> ArrayView2<'a, T> {
        self.view
    }

    #[inline(always)]
    pub fn n(&self) -> usize {
        self.view.nrows()
    }

    #[inline(always)]
    pub fn k(&self) -> usize {
        self.k
    }

    /// Row `i` as f64 values; `buf` (length K) is used only when a conversion or gather is needed.
    #[inline(always)]
    pub fn row<'b>(&'b self, i: usize, buf: &'b mut [f64]) -> &'b [f64] {
        if let Some(all) = self.contiguous {
            let row = &all[i * self.k..(i + 1) * self.k];
            if let Some(r) = T::as_f64_slice(row) {
                return r;
            }
            for (b, &v) in buf.iter_mut().zip(row) {
                *b = v.to_f64();
            }
            return buf;
        }
        for (b, &v) in buf.iter_mut().zip(self.view.row(i).iter()) {
            *b = v.to_f64();
        }
        buf
    }

    /// The single element (i, j) as f64.
    #[inline(always)]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        match self.contiguous {
            Some(all) => all[i * self.k + j].to_f64(),
            None => self.view[[i, j]].to_f64(),
        }
    }
}
