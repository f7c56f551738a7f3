//! Sorting `select::encode`d `(key, index)` pairs into row indices: the ranked orders of
//! `find_label_issues` and `order_label_issues`.
//!
//! A comparison sort of millions of 16-byte pairs takes about twenty rounds of compares and
//! moves per pair (1.7M pairs at 10M x 10: 40 ms on one thread, 22 ms on two). Here two counting
//! passes do most of the ordering: the pairs are spread over `2^BITS` buckets by the leading
//! bits of their key (each part of `PART` pairs in place), then each bucket gathers its
//! pieces from every part and is split again by the next `SUB_BITS` bits, which leaves a few
//! pairs to compare in each sub-bucket. Buckets follow the key order and pairs are distinct
//! (they hold the row index), so the sorted buckets, one after another, are the one sorted
//! order, whatever the data, the parts or the number of threads. Skewed keys only make some
//! buckets larger; a bucket as large as the whole input is compared as before, in parallel when
//! the call is.

use crate::select::decode_index;
use rayon::prelude::*;

/// Below this many pairs a single `sort_unstable` is as fast as bucketing.
const SMALL: usize = 1 << 15;
/// Pairs per part of the bucket pass (a part and its buffer stay in the L2 cache).
const PART: usize = 1 << 16;
/// `2^BITS` buckets.
const BITS: u32 = 11;
/// Buckets of more pairs than this are split in `2^SUB_BITS` sub-buckets before they are sorted.
const SUB_MIN: usize = 64;
const SUB_BITS: u32 = 8;
const SUB_MASK: u64 = (1 << SUB_BITS) - 1;

/// The row indices of `pairs` (from `select::encode`) in the pairs' order: key ascending, ties
/// by index. `parallel`: use the current rayon pool.
pub fn sorted_indices(mut pairs: Vec<u128>, parallel: bool) -> Vec<usize> {
    let n = pairs.len();
    if n < SMALL {
        pairs.sort_unstable();
        return pairs.into_iter().map(decode_index).collect();
    }
    // The keys (high halves) span [lo, hi]: bucket = (key - lo) >> shift, below 2^BITS.
    let span = |p: &[u128]| {
        let keys = p.iter().map(|&e| (e >> 64) as u64);
        keys.fold((u64::MAX, 0), |(lo, hi), k| (lo.min(k), hi.max(k)))
    };
    let (lo, hi) = if parallel {
        let spans = pairs.par_chunks(PART).map(span);
        spans.reduce(|| (u64::MAX, 0), |a, b| (a.0.min(b.0), a.1.max(b.1)))
    } else {
        span(&pairs)
    };
    let shift = (u64::BITS - (hi - lo).leading_zeros()).saturating_sub(BITS);
    let buckets = Buckets { lo, shift };
    // Each part grouped by bucket in place (through a scratch buffer per task, in cache): no
    // second buffer as large as the input, whose fresh pages would each cost a fault.
    let parts: Vec<Part> = if parallel {
        let parts = pairs.par_chunks_mut(PART);
        parts
            .map_init(Vec::new, |scratch, p| buckets.group(p, scratch))
            .collect()
    } else {
        let mut scratch = Vec::new();
        let parts = pairs.chunks_mut(PART);
        parts.map(|p| buckets.group(p, &mut scratch)).collect()
    };

    // The output, cut into runs of whole buckets of about PART pairs each.
    let nb = 1usize << BITS;
    let sizes: Vec<usize> = (0..nb)
        .map(|b| parts.iter().map(|p| p.len(b)).sum())
        .collect();
    let mut out = vec![0usize; n];
    let mut runs = Vec::new();
    let (mut rest, mut first, mut len) = (out.as_mut_slice(), 0, 0);
    for (b, &size) in sizes.iter().enumerate() {
        len += size;
        if len >= PART || b + 1 == nb {
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(len);
            runs.push((first..b + 1, run));
            (rest, first, len) = (tail, b + 1, 0);
        }
    }
    let sort_run = |(range, run): (std::ops::Range<usize>, &mut [usize])| {
        let (mut scratch, mut spare) = (Vec::new(), Vec::new());
        let mut at = 0;
        for b in range {
            scratch.clear();
            for (p, part) in parts.iter().zip(pairs.chunks(PART)) {
                scratch.extend_from_slice(&part[p.start[b]..p.start[b + 1]]);
            }
            if parallel && scratch.len() > 4 * PART {
                scratch.par_sort_unstable();
            } else {
                buckets.sort_bucket(&mut scratch, &mut spare);
            }
            for (o, &e) in run[at..at + scratch.len()].iter_mut().zip(&scratch) {
                *o = decode_index(e);
            }
            at += scratch.len();
        }
    };
    if parallel {
        runs.into_par_iter().for_each(sort_run);
    } else {
        runs.into_iter().for_each(sort_run);
    }
    out
}

/// The bucket of a pair: its key's offset from the smallest key, shifted.
#[derive(Clone, Copy)]
struct Buckets {
    lo: u64,
    shift: u32,
}

impl Buckets {
    #[inline(always)]
    fn of(self, e: u128) -> usize {
        (((e >> 64) as u64 - self.lo) >> self.shift) as usize
    }

    /// Sort the pairs of one bucket: a counting sort by the `SUB_BITS` bits of their key below
    /// the bucket's, then a sort of each (small) sub-bucket. `spare` is scratch space.
    fn sort_bucket(self, pairs: &mut Vec<u128>, spare: &mut Vec<u128>) {
        if pairs.len() <= SUB_MIN || self.shift == 0 {
            pairs.sort_unstable();
            return;
        }
        let sub = self.shift.saturating_sub(SUB_BITS);
        let mut start = [0usize; (1 << SUB_BITS) + 1];
        spare.clear();
        spare.resize(pairs.len(), 0);
        scatter(pairs, spare, &mut start, |e| {
            ((((e >> 64) as u64 - self.lo) >> sub) & SUB_MASK) as usize
        });
        for w in start.windows(2) {
            spare[w[0]..w[1]].sort_unstable();
        }
        std::mem::swap(pairs, spare);
    }

    /// Group a part's pairs by bucket, in place (a counting sort through `scratch`).
    fn group(self, pairs: &mut [u128], scratch: &mut Vec<u128>) -> Part {
        let mut start = vec![0usize; (1 << BITS) + 1];
        scratch.clear();
        scratch.resize(pairs.len(), 0);
        scatter(pairs, scratch, &mut start, |e| self.of(e));
        pairs.copy_from_slice(scratch);
        Part { start }
    }
}

/// A counting sort of `src` into `dst` (as long) by `of`, which maps each pair below
/// `start.len() - 1`: afterwards group `g` is `dst[start[g]..start[g + 1]]`, its pairs in their
/// order in `src`.
#[inline(always)]
fn scatter(src: &[u128], dst: &mut [u128], start: &mut [usize], of: impl Fn(u128) -> usize) {
    start.fill(0);
    for &e in src {
        start[of(e) + 1] += 1;
    }
    for g in 1..start.len() {
        start[g] += start[g - 1];
    }
    // `start[g]` is where group g begins; used as its cursor it ends where group g + 1 begins.
    for &e in src {
        let at = &mut start[of(e)];
        dst[*at] = e;
        *at += 1;
    }
    start.copy_within(..start.len() - 1, 1);
    start[0] = 0;
}

/// One part of the input once grouped by bucket: bucket `b` is `start[b]..start[b + 1]`.
struct Part {
    start: Vec<usize>,
}

impl Part {
    fn len(&self, b: usize) -> usize {
        self.start[b + 1] - self.start[b]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::encode;

    fn plain(pairs: &[u128]) -> Vec<usize> {
        let mut p = pairs.to_vec();
        p.sort_unstable();
        p.into_iter().map(decode_index).collect()
    }

    /// Kinds of keys; `key(case, r)` makes one from a random word `r`.
    const CASES: [&str; 6] = [
        "uniform in [0, 1)",
        "few distinct keys",
        "one key",
        "many binades and both signs",
        "a few outliers far below",
        "infinities and both zeros",
    ];

    fn key(case: usize, r: u64) -> f64 {
        let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
        match case {
            0 => unit,
            1 => (r % 7) as f64 / 7.0,
            2 => 0.25,
            3 => {
                let v = unit * 2f64.powi((r % 600) as i32 - 300);
                if r & 1 == 0 {
                    v
                } else {
                    -v
                }
            }
            4 if r.is_multiple_of(1000) => -1e300,
            4 => 0.5 + (r % 1024) as f64 * 1e-9,
            _ => [f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1.0][(r % 5) as usize],
        }
    }

    #[test]
    fn the_bucketed_order_is_the_sorted_order_for_any_spread_of_keys() {
        let mut next = crate::testing::xorshift(0x51f1_5eed_0bad_cafe);
        for (case, name) in CASES.iter().enumerate() {
            for len in [0, 1, SMALL - 1, SMALL, 5 * PART + 123] {
                let pairs: Vec<u128> = (0..len).map(|i| encode(key(case, next()), i)).collect();
                let want = plain(&pairs);
                for parallel in [false, true] {
                    let got = sorted_indices(pairs.clone(), parallel);
                    assert_eq!(got, want, "{name}, {len} pairs, parallel {parallel}");
                }
            }
        }
    }
}
