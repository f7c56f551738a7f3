//! Streaming selection of the `k` first entries in the order (key ascending, row index ascending).
//!
//! Used for every "flag the num rows with the largest margin / smallest probability / lowest
//! score" rule: no full sort, memory bounded by 1.5k entries, mergeable across threads and chunks
//! with a result that is the same however the rows were split.

/// `(key, index)` as one integer with the same order as (key ascending, then index): the key's
/// bits mapped monotonically (negative keys flipped, positive keys offset), -0.0 folded into 0.0
/// as numpy's sort treats them equal. Keys are NaN-free (validated rows). Integer compares make
/// the offers' bound test, the partial selections and the final sort cheap.
#[inline(always)]
pub(crate) fn encode(key: f64, index: usize) -> u128 {
    let key = if key == 0.0 { 0.0f64 } else { key };
    let b = key.to_bits();
    let m = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    (u128::from(m) << 64) | index as u128
}

#[inline(always)]
fn decode_key(e: u128) -> f64 {
    let m = (e >> 64) as u64;
    f64::from_bits(if m >> 63 == 1 { m & !(1 << 63) } else { !m })
}

#[inline(always)]
pub(crate) fn decode_index(e: u128) -> usize {
    e as u64 as usize
}

/// Keeps the `k` smallest `(key, index)` pairs offered so far (`Default`: `k` = 0, keeps none).
#[derive(Clone, Debug, Default)]
pub struct Smallest {
    k: usize,
    buf: Vec<u128>,
    /// Largest kept pair once the buffer has been compacted: anything after it can be skipped.
    bound: Option<u128>,
}

impl Smallest {
    pub fn new(k: usize) -> Self {
        Smallest {
            k,
            buf: Vec::new(),
            bound: None,
        }
    }

    #[inline(always)]
    pub fn offer(&mut self, key: f64, index: usize) {
        if self.k == 0 {
            return;
        }
        self.push(encode(key, index));
    }

    #[inline(always)]
    fn push(&mut self, e: u128) {
        if let Some(b) = self.bound {
            if e >= b {
                return;
            }
        }
        self.buf.push(e);
        if self.bound.is_none() && self.buf.len() == self.k {
            // The first k entries all stay; their maximum already bounds what can still enter.
            self.bound = self.buf.iter().copied().max();
        } else if self.buf.len() >= self.k + self.k / 2 + 8 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        if self.buf.len() > self.k {
            self.buf.select_nth_unstable(self.k - 1);
            self.buf.truncate(self.k);
            self.bound = self.buf.iter().copied().max();
        }
    }

    /// Keys above this can never be selected (`+inf` until the buffer first fills).
    #[inline(always)]
    pub fn bound_key(&self) -> f64 {
        self.bound.map_or(f64::INFINITY, decode_key)
    }

    /// Fold another selector's candidates into this one: the other's that can beat this bound
    /// are appended, and the result compacted only when offering them one by one would have
    /// compacted it (at most one partial selection, instead of cutting both to their `k` best
    /// first: the merge of two threads' states is a serial step).
    pub fn merge(mut self, other: Smallest) -> Smallest {
        if self.k == 0 {
            return self;
        }
        // Nothing offered here yet (a fresh state taking a part's selections): the other's
        // candidates as they are, without copying them.
        if self.buf.is_empty() && self.k == other.k {
            return other;
        }
        let bound = self.bound.unwrap_or(u128::MAX);
        self.buf
            .extend(other.buf.into_iter().filter(|&e| e < bound));
        if self.buf.len() >= self.k + self.k / 2 + 8
            || (self.bound.is_none() && self.buf.len() >= self.k)
        {
            self.compact();
        }
        self
    }

    /// The selected row indices in no particular order (the same set as `finish`, without its sort).
    pub fn finish_unordered(self) -> Vec<usize> {
        let k = self.k;
        self.finish_first(k)
    }

    /// The `m` first of the selected row indices (by key, then index; `m` at most `k`), in no
    /// particular order.
    pub fn finish_first(mut self, m: usize) -> Vec<usize> {
        self.compact();
        let m = m.min(self.buf.len());
        if m == 0 {
            return Vec::new();
        }
        if m < self.buf.len() {
            self.buf.select_nth_unstable(m - 1);
            self.buf.truncate(m);
        }
        self.buf.into_iter().map(decode_index).collect()
    }

    /// How many pairs the selector holds once compacted (at most `k`).
    pub fn held(&mut self) -> usize {
        self.compact();
        self.buf.len().min(self.k)
    }

    /// Its quota `k`.
    pub fn quota(&self) -> usize {
        self.k
    }

    /// The selected row indices in order (key, then index).
    pub fn finish(mut self) -> Vec<usize> {
        self.compact();
        let parallel = crate::parallel::worth_parallel(self.buf.len());
        crate::keysort::sorted_indices(self.buf, parallel)
    }

    /// The pairs held so far (any order, possibly more than `k`): offering them to a fresh
    /// selector of the same `k` restores the selection, which is how selectors are serialised.
    pub fn candidates(&self) -> impl Iterator<Item = (f64, usize)> + '_ {
        self.buf.iter().map(|&e| (decode_key(e), decode_index(e)))
    }
}

/// A cap for selecting the `quota` smallest of `population` keys, guessed from `sample`, the keys
/// of rows taken at a fixed stride from that population: the upper end of `sampled_band`.
pub fn sampled_cap(sample: &mut [f64], quota: usize, population: usize) -> f64 {
    sampled_band(sample, quota, population).1
}

/// A band `(lo, hi)` around the `quota`-th smallest of `population` keys, guessed from `sample`,
/// the keys of rows taken at a fixed stride from that population: the sampled keys of rank
/// `mean ∓ (5·sqrt(mean) + 8)`, where `mean = quota · sample / population` is how many sampled
/// keys the selection is expected to hold.
///
/// Almost always fewer than `quota` keys lie strictly below `lo` (they are then surely selected)
/// and at least `quota` lie at or below `hi` (so keys above it can be skipped). `lo` is `-inf`
/// and `hi` is `+inf` when the rank falls outside the sample. Callers check both guesses on the
/// whole population (`Smallest::held`, a count of the keys below `lo`) and redo a selection
/// whose guess was wrong, so the result never depends on the sample.
pub fn sampled_band(sample: &mut [f64], quota: usize, population: usize) -> (f64, f64) {
    if quota == 0 {
        return (f64::NEG_INFINITY, f64::NEG_INFINITY);
    }
    if population == 0 || sample.is_empty() {
        return (f64::NEG_INFINITY, f64::INFINITY);
    }
    let mean = quota as f64 * sample.len() as f64 / population as f64;
    let spread = 5.0 * mean.sqrt() + 8.0;
    let rank_hi = (mean + spread).ceil();
    let hi = if rank_hi >= sample.len() as f64 {
        f64::INFINITY
    } else {
        let (_, kth, _) = sample.select_nth_unstable_by(rank_hi as usize, f64::total_cmp);
        *kth
    };
    let rank_lo = (mean - spread).floor();
    let lo = if rank_lo < 0.0 {
        f64::NEG_INFINITY
    } else {
        let r = (rank_lo as usize).min(sample.len() - 1);
        let (_, kth, _) = sample.select_nth_unstable_by(r, f64::total_cmp);
        *kth
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_the_order_of_keys() {
        let keys = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            0.5,
            1.0,
            f64::INFINITY,
        ];
        for (i, &a) in keys.iter().enumerate() {
            assert_eq!(decode_key(encode(a, 3)), if a == 0.0 { 0.0 } else { a });
            for &b in &keys[i..] {
                let same = a == b;
                assert!(encode(a, 1) < encode(b, 2), "{a} {b}");
                assert_eq!(encode(a, 2) < encode(b, 1), !same, "{a} {b}");
            }
        }
    }

    #[test]
    fn a_large_selection_finishes_in_key_then_index_order() {
        // Enough kept pairs for `finish`'s bucketed sort, with many ties.
        let keys: Vec<f64> = (0..200_000)
            .map(|i| ((i * 7919) % 1013) as f64 / 7.0)
            .collect();
        for quota in [70_000, 200_000] {
            let mut sel = Smallest::new(quota);
            for (i, &k) in keys.iter().enumerate() {
                sel.offer(k, i);
            }
            let mut expect: Vec<usize> = (0..keys.len()).collect();
            expect.sort_by(|&x, &y| keys[x].total_cmp(&keys[y]).then(x.cmp(&y)));
            expect.truncate(quota);
            assert_eq!(sel.finish(), expect, "quota {quota}");
        }
    }

    #[test]
    fn ties_go_to_the_lower_index_and_splitting_does_not_matter() {
        let keys: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 13) as f64).collect();
        let mut whole = Smallest::new(50);
        for (i, &k) in keys.iter().enumerate() {
            whole.offer(k, i);
        }
        let mut a = Smallest::new(50);
        let mut b = Smallest::new(50);
        for (i, &k) in keys.iter().enumerate() {
            if i % 3 == 0 {
                a.offer(k, i)
            } else {
                b.offer(k, i)
            }
        }
        let mut expect: Vec<usize> = (0..1000).collect();
        expect.sort_by(|&x, &y| keys[x].partial_cmp(&keys[y]).unwrap().then(x.cmp(&y)));
        expect.truncate(50);
        assert_eq!(whole.finish(), expect);
        assert_eq!(b.merge(a).finish(), expect);
    }

    #[test]
    fn merging_any_split_in_any_order_selects_the_same() {
        // Parts of every fill level (empty, below k, just compacted, over the compaction
        // threshold) merged left to right and as a tree, into empty and into full states.
        let mut next = crate::testing::xorshift(0x5EED);
        let keys: Vec<f64> = (0..3000).map(|_| (next() % 40) as f64).collect();
        for k in [1, 5, 50, 400, 2999, 5000] {
            let mut expect: Vec<usize> = (0..keys.len()).collect();
            expect.sort_by(|&x, &y| keys[x].partial_cmp(&keys[y]).unwrap().then(x.cmp(&y)));
            expect.truncate(k);
            for parts in [1, 2, 3, 7] {
                let mut sel: Vec<Smallest> = (0..parts).map(|_| Smallest::new(k)).collect();
                // Uneven parts: each key goes to part p with probability about 2^-(p + 1), so
                // the last parts hold few keys or none.
                for (i, &key) in keys.iter().enumerate() {
                    let p = (next().trailing_zeros() as usize).min(parts - 1);
                    sel[p].offer(key, i);
                }
                let chain = sel
                    .clone()
                    .into_iter()
                    .fold(Smallest::new(k), Smallest::merge);
                assert_eq!(chain.finish(), expect, "k {k}, {parts} parts, chained");
                let mut tree = sel;
                while tree.len() > 1 {
                    let b = tree.pop().unwrap();
                    let a = tree.pop().unwrap();
                    tree.insert(0, b.merge(a));
                }
                let tree = tree.pop().unwrap().merge(Smallest::new(k));
                assert_eq!(tree.finish(), expect, "k {k}, {parts} parts, as a tree");
            }
        }
    }
}
