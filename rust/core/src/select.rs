//! Streaming selection of the `k` first entries in the order (key ascending, row index ascending).
//!
//! Used for every "flag the num rows with the largest margin / smallest probability / lowest
//! score" rule: no full sort, memory bounded by 2k entries, mergeable across threads and chunks
//! with a result that is the same however the rows were split.

use std::cmp::Ordering;

#[inline(always)]
fn before(a: (f64, usize), b: (f64, usize)) -> Ordering {
    // Keys are NaN-free (validated); -0.0 and 0.0 compare equal, as in numpy's sort.
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then(a.1.cmp(&b.1))
}

/// Keeps the `k` smallest `(key, index)` pairs offered so far.
#[derive(Clone, Debug)]
pub struct Smallest {
    k: usize,
    buf: Vec<(f64, usize)>,
    /// Largest kept pair once the buffer has been compacted: anything after it can be skipped.
    bound: Option<(f64, usize)>,
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
        if let Some(b) = self.bound {
            if before((key, index), b) != Ordering::Less {
                return;
            }
        }
        self.buf.push((key, index));
        if self.bound.is_none() && self.buf.len() == self.k {
            // The first k entries all stay; their maximum already bounds what can still enter.
            self.bound = self.buf.iter().copied().max_by(|&a, &b| before(a, b));
        } else if self.buf.len() >= 2 * self.k + 64 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        if self.buf.len() > self.k {
            self.buf
                .select_nth_unstable_by(self.k - 1, |&a, &b| before(a, b));
            self.buf.truncate(self.k);
            self.bound = self.buf.iter().copied().max_by(|&a, &b| before(a, b));
        }
    }

    /// Keys above this can never be selected (`+inf` until the buffer first fills).
    #[inline(always)]
    pub fn bound_key(&self) -> f64 {
        self.bound.map_or(f64::INFINITY, |b| b.0)
    }

    /// Fold another selector's candidates into this one.
    pub fn merge(mut self, other: Smallest) -> Smallest {
        for (key, index) in other.buf {
            self.offer(key, index);
        }
        self
    }

    /// The selected row indices in no particular order (the same set as `finish`, without its sort).
    pub fn finish_unordered(mut self) -> Vec<usize> {
        self.compact();
        self.buf.into_iter().map(|(_, i)| i).collect()
    }

    /// The selected row indices in order (key, then index).
    pub fn finish(mut self) -> Vec<usize> {
        self.compact();
        self.buf.sort_unstable_by(|&a, &b| before(a, b));
        self.buf.truncate(self.k);
        self.buf.into_iter().map(|(_, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
