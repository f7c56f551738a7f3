//! Element traits for probabilities (f16/f32/f64) and labels (any integer), and row access that
//! hands every kernel a row as `&[f64]` without copying contiguous float64 input.

use half::f16;
use ndarray::{Array2, ArrayView1, ArrayView2};
use std::ops::Range;

/// Target size of one sub-block of rows (fits L1/L2), so a kernel's several sweeps over a
/// sub-block (range check, row sums, per-row work) read main memory once.
const BLOCK_BYTES: usize = 32 * 1024;

/// The row width of a kernel built for `K` classes: `K` itself, or the run-time `k` when `K` is 0
/// (the build for any width). With `K` known at compile time the per-row loops of the kernel are
/// unrolled and kept in registers: about twice the speed at 10 classes.
#[inline(always)]
pub const fn width<const K: usize>(k: usize) -> usize {
    if K == 0 {
        k
    } else {
        K
    }
}

/// The widest rows that `by_width!` and `for_rows!` build a copy for.
pub const MAX_UNROLLED: usize = 16;

/// `$f::<.., K>(args)` with `K` = the class count `$k` when it is between 2 and 16 (a kernel
/// specialised for that width, see `width`) and `K = 0` (any width) otherwise. Type parameters
/// before `K` are usually written `_`.
#[macro_export]
macro_rules! by_width {
    ($k:expr, $f:ident, [$($g:tt),*], ($($arg:expr),* $(,)?)) => {
        match $k {
            2 => $f::<$($g,)* 2>($($arg),*),
            3 => $f::<$($g,)* 3>($($arg),*),
            4 => $f::<$($g,)* 4>($($arg),*),
            5 => $f::<$($g,)* 5>($($arg),*),
            6 => $f::<$($g,)* 6>($($arg),*),
            7 => $f::<$($g,)* 7>($($arg),*),
            8 => $f::<$($g,)* 8>($($arg),*),
            9 => $f::<$($g,)* 9>($($arg),*),
            10 => $f::<$($g,)* 10>($($arg),*),
            11 => $f::<$($g,)* 11>($($arg),*),
            12 => $f::<$($g,)* 12>($($arg),*),
            13 => $f::<$($g,)* 13>($($arg),*),
            14 => $f::<$($g,)* 14>($($arg),*),
            15 => $f::<$($g,)* 15>($($arg),*),
            16 => $f::<$($g,)* 16>($($arg),*),
            _ => $f::<$($g,)* 0>($($arg),*),
        }
    };
}

/// `for ((row, &s), i) in rows_of(flat).zip(cls).zip(start..) body`: the rows of a sub-block
/// (`flat` holds rows `start..` of width `$k`, `cls` their classes) with their class and index,
/// the loop written out once per width 2..=16 so that `body` sees rows of a compile-time length
/// (see `width`) and once for any other width. A macro rather than a closure: a closure the
/// optimiser declines to inline would see rows of unknown length again.
#[macro_export]
macro_rules! for_rows {
    ($k:expr, $flat:expr, $cls:expr, $start:expr, |$row:pat_param, $s:pat_param, $i:pat_param| $body:block) => {
        match $k {
            2 => {
                for (($row, &$s), $i) in $flat.chunks_exact(2).zip($cls).zip($start..) $body
            }
            3 => {
                for (($row, &$s), $i) in $flat.chunks_exact(3).zip($cls).zip($start..) $body
            }
            4 => {
                for (($row, &$s), $i) in $flat.chunks_exact(4).zip($cls).zip($start..) $body
            }
            5 => {
                for (($row, &$s), $i) in $flat.chunks_exact(5).zip($cls).zip($start..) $body
            }
            6 => {
                for (($row, &$s), $i) in $flat.chunks_exact(6).zip($cls).zip($start..) $body
            }
            7 => {
                for (($row, &$s), $i) in $flat.chunks_exact(7).zip($cls).zip($start..) $body
            }
            8 => {
                for (($row, &$s), $i) in $flat.chunks_exact(8).zip($cls).zip($start..) $body
            }
            9 => {
                for (($row, &$s), $i) in $flat.chunks_exact(9).zip($cls).zip($start..) $body
            }
            10 => {
                for (($row, &$s), $i) in $flat.chunks_exact(10).zip($cls).zip($start..) $body
            }
            11 => {
                for (($row, &$s), $i) in $flat.chunks_exact(11).zip($cls).zip($start..) $body
            }
            12 => {
                for (($row, &$s), $i) in $flat.chunks_exact(12).zip($cls).zip($start..) $body
            }
            13 => {
                for (($row, &$s), $i) in $flat.chunks_exact(13).zip($cls).zip($start..) $body
            }
            14 => {
                for (($row, &$s), $i) in $flat.chunks_exact(14).zip($cls).zip($start..) $body
            }
            15 => {
                for (($row, &$s), $i) in $flat.chunks_exact(15).zip($cls).zip($start..) $body
            }
            16 => {
                for (($row, &$s), $i) in $flat.chunks_exact(16).zip($cls).zip($start..) $body
            }
            k => {
                for (($row, &$s), $i) in $flat.chunks_exact(k.max(1)).zip($cls).zip($start..) $body
            }
        }
    };
}

/// A probability element. Scores and sums that are kept are worked out in f64; the reads of
/// every value (compares with cuts, row maxima and minima, validation's quick sums) work in
/// its `Native` type.
pub trait Prob: Copy + Send + Sync + 'static {
    /// The type compares and quick reductions of these values run in: the values' own for f64
    /// and f32 (f32 compares are exact and take half the vector width of f64 ones), f64 for
    /// f16, which has no arithmetic of its own.
    type Native: Native;
    /// Lanes of the quick row reductions (maximum, minimum, sum) in the native type: two SSE
    /// registers' worth, 4 for f64 and 8 for f32.
    const LANES: usize = 4;
    fn to_f64(self) -> f64;
    fn native(self) -> Self::Native;
    /// The smallest native value at or above `c`: for every value `p`,
    /// `p.native() >= Self::cut_up(c)` exactly when `p.to_f64() >= c`.
    fn cut_up(c: f64) -> Self::Native;
    /// The row itself when it already is a contiguous f64 slice (no conversion needed).
    fn as_f64_slice(row: &[Self]) -> Option<&[f64]>;
}

/// What kernels need of a `Prob::Native` type.
pub trait Native: Copy + PartialOrd + std::ops::Add<Output = Self> + Send + Sync + 'static {
    const ZERO: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    /// Unit roundoff of a sum in this type (half its machine epsilon).
    const UNIT_ROUNDOFF: f64;
    fn into_f64(self) -> f64;
}

impl Native for f64 {
    const ZERO: Self = 0.0;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;
    #[inline(always)]
    fn into_f64(self) -> f64 {
        self
    }
}

impl Native for f32 {
    const ZERO: Self = 0.0;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    const UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;
    #[inline(always)]
    fn into_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Prob for f64 {
    type Native = f64;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn native(self) -> f64 {
        self
    }
    #[inline(always)]
    fn cut_up(c: f64) -> f64 {
        c
    }
    #[inline(always)]
    fn as_f64_slice(row: &[Self]) -> Option<&[f64]> {
        Some(row)
    }
}

impl Prob for f32 {
    type Native = f32;
    const LANES: usize = 8;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn native(self) -> f32 {
        self
    }
    /// `c` rounded to the nearest f32, moved up one step when that fell below `c`. No f32
    /// lies strictly between the nearest one below `c` and the next one up, so the result is
    /// the smallest f32 at or above `c` (`+inf` above the largest finite f32, NaN for NaN).
    #[inline]
    fn cut_up(c: f64) -> f32 {
        #[allow(clippy::cast_possible_truncation)]
        let x = c as f32;
        if f64::from(x) < c {
            x.next_up()
        } else {
            x
        }
    }
    #[inline(always)]
    fn as_f64_slice(_: &[Self]) -> Option<&[f64]> {
        None
    }
}

impl Prob for f16 {
    type Native = f64;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
    #[inline(always)]
    fn native(self) -> f64 {
        self.to_f64()
    }
    #[inline(always)]
    fn cut_up(c: f64) -> f64 {
        c
    }
    #[inline(always)]
    fn as_f64_slice(_: &[Self]) -> Option<&[f64]> {
        None
    }
}

/// A class label; values are checked to lie in `0..K` before kernels run, and kernels map any
/// other value to `usize::MAX` so an unchecked label fails a bounds check instead of aliasing.
pub trait Label: Copy + Send + Sync + 'static {
    /// The class index (`usize::MAX` for a negative label, which no class has).
    fn class(self) -> usize;
    /// The label's value, saturated to i64 (only u64 labels above `i64::MAX` saturate).
    fn value(self) -> i64;
}

macro_rules! label_int {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn class(self) -> usize {
                usize::try_from(self).unwrap_or(usize::MAX)
            }
            #[inline(always)]
            fn value(self) -> i64 {
                i64::try_from(self).unwrap_or(i64::MAX)
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
    #[inline(always)]
    fn value(self) -> i64 {
        i64::from(self)
    }
}

/// Rows this wide (in bytes) or wider are `Rows::wide`.
pub const WIDE_ROW_BYTES: usize = 256;

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

    /// Rows of at least `WIDE_ROW_BYTES`: each spans several cache lines, so a kernel that
    /// needs one value of most rows reads it by a gather, not by a pass over every line.
    #[inline(always)]
    pub fn wide(&self) -> bool {
        self.k * std::mem::size_of::<T>() >= WIDE_ROW_BYTES
    }

    /// Rows per sub-block of `for_blocks` (a multiple of 4, at least 4).
    #[inline]
    pub fn block_rows(&self) -> usize {
        let row_bytes = (self.k * std::mem::size_of::<T>()).max(1);
        ((BLOCK_BYTES / row_bytes) & !3).clamp(4, 4096)
    }

    /// Visit `range` in consecutive sub-blocks: `f(first_row, end_row, flat)` where `flat` holds
    /// the rows `first_row..end_row` one after the other (borrowed when the input is
    /// C-contiguous, else gathered). Stops at, and returns, the first `Some` that `f` returns.
    #[inline]
    pub fn for_blocks(
        &self,
        range: Range<usize>,
        mut f: impl FnMut(usize, usize, &[T]) -> Option<usize>,
    ) -> Option<usize> {
        let step = self.block_rows();
        let k = self.k;
        let mut gather: Vec<T> = Vec::new();
        let mut s = range.start;
        while s < range.end {
            let e = (s + step).min(range.end);
            let flat: &[T] = match self.contiguous {
                Some(all) => &all[s * k..e * k],
                None => {
                    gather.clear();
                    for r in s..e {
                        gather.extend(self.view.row(r).iter().copied());
                    }
                    &gather
                }
            };
            if let Some(bad) = f(s, e, flat) {
                return Some(bad);
            }
            s = e;
        }
        None
    }

    /// Load the first and last value of each of the rows `rows` (a sparse sample) in a loop of
    /// loads alone, so that their cache misses overlap before a loop whose per-row work (and
    /// branches on the values) would take them one at a time. Nothing is returned.
    #[inline]
    pub fn touch_rows(&self, rows: impl Iterator<Item = usize>) {
        if self.k == 0 {
            return;
        }
        let mut acc = [0.0f64; 2];
        for i in rows {
            acc[0] += self.get(i, 0);
            acc[1] += self.get(i, self.k - 1);
        }
        std::hint::black_box(acc);
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

/// `a` in standard (row-major, contiguous) layout: moved as it is when it already is, copied
/// once otherwise (for kernels that work in a matrix's own buffer).
pub fn standard_layout<A: Clone>(a: Array2<A>) -> Array2<A> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// Row as f64 values: the row itself for f64 input, else converted into `buf` (length K).
#[inline(always)]
pub fn row_f64<'b, T: Prob>(row: &'b [T], buf: &'b mut [f64]) -> &'b [f64] {
    if let Some(r) = T::as_f64_slice(row) {
        return r;
    }
    for (b, &v) in buf.iter_mut().zip(row) {
        *b = v.to_f64();
    }
    buf
}

/// The given-label value `row[s]` of each row of a flat block (rows of length `k`, classes
/// `cls`) as f64, into `out` (replacing its contents): one load per row, in a loop without
/// branches, so the loads overlap.
#[inline]
pub fn given_into<T: Prob>(flat: &[T], k: usize, cls: &[usize], out: &mut Vec<f64>) {
    out.clear();
    out.extend(
        flat.chunks_exact(k.max(1))
            .zip(cls)
            .map(|(r, &s)| r[s].to_f64()),
    );
}

/// Classes of the labels `range` into `out` (replacing its contents).
#[inline]
pub fn classes_into<L: Label>(
    labels: ArrayView1<'_, L>,
    range: Range<usize>,
    out: &mut Vec<usize>,
) {
    out.clear();
    match labels.as_slice() {
        Some(all) => out.extend(all[range].iter().map(|l| l.class())),
        None => out.extend(range.map(|i| labels[i].class())),
    }
}
