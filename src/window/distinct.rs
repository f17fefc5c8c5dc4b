//! Distinct-value sets for `distinct()`: an exact sorted list of hashes while small, a
//! HyperLogLog once a set passes [`EXACT_LIMIT`]. Bins and the window's cached union use
//! the same type, so a window is exact whenever its union stays within the limit.

use serde::{Deserialize, Serialize};

use super::hll::Hll;

/// Up to this many distinct values the count is exact.
pub const EXACT_LIMIT: usize = 10_000;

/// A set of value hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DistinctSet {
    /// Sorted, deduplicated hashes (8 bytes each; an idle bin costs nothing on the heap).
    #[serde(rename = "x")]
    Exact(Vec<u64>),
    /// Beyond [`EXACT_LIMIT`].
    #[serde(rename = "h")]
    Hll(Hll),
}

impl Default for DistinctSet {
    fn default() -> Self {
        DistinctSet::Exact(Vec::new())
    }
}

impl DistinctSet {
    /// Adds a hash; true when the set (or its registers) changed.
    pub fn insert(&mut self, hash: u64) -> bool {
        match self {
            DistinctSet::Exact(v) => match v.binary_search(&hash) {
                Ok(_) => false,
                Err(i) => {
                    v.insert(i, hash);
                    if v.len() > EXACT_LIMIT {
                        let mut h = Hll::default();
                        for &x in v.iter() {
                            h.insert(x);
                        }
                        *self = DistinctSet::Hll(h);
                    }
                    true
                }
            },
            DistinctSet::Hll(h) => h.insert(hash),
        }
    }

    /// Replaces the content with the union of `sets` (reusing the exact allocation).
    pub fn rebuild<'a>(&mut self, sets: impl Iterator<Item = &'a DistinctSet> + Clone) {
        if sets.clone().any(|s| matches!(s, DistinctSet::Hll(_))) {
            let mut h = Hll::default();
            for s in sets {
                match s {
                    DistinctSet::Hll(o) => h.merge(o),
                    DistinctSet::Exact(v) => v.iter().for_each(|&x| {
                        h.insert(x);
                    }),
                }
            }
            *self = DistinctSet::Hll(h);
            return;
        }
        let mut v = match std::mem::take(self) {
            DistinctSet::Exact(mut v) => {
                v.clear();
                v
            }
            DistinctSet::Hll(_) => Vec::new(),
        };
        for s in sets {
            if let DistinctSet::Exact(x) = s {
                v.extend_from_slice(x);
            }
        }
        v.sort_unstable();
        v.dedup();
        let n = v.len();
        v.shrink_to(n + n / 4 + 8);
        if v.len() > EXACT_LIMIT {
            let mut h = Hll::default();
            v.iter().for_each(|&x| {
                h.insert(x);
            });
            *self = DistinctSet::Hll(h);
        } else {
            *self = DistinctSet::Exact(v);
        }
    }

    /// Number of distinct values (estimated once a HyperLogLog).
    pub fn count(&self) -> f64 {
        match self {
            DistinctSet::Exact(v) => v.len() as f64,
            DistinctSet::Hll(h) => h.estimate(),
        }
    }

    #[cfg(test)]
    pub fn is_hll(&self) -> bool {
        matches!(self, DistinctSet::Hll(_))
    }

    pub fn shrink(&mut self) {
        if let DistinctSet::Exact(v) = self {
            v.shrink_to_fit();
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            DistinctSet::Exact(v) => v.capacity() * 8,
            DistinctSet::Hll(h) => h.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_hll() {
        let mut s = DistinctSet::default();
        for i in 0..EXACT_LIMIT as u64 {
            assert!(s.insert(i * 7));
            assert!(!s.insert(i * 7));
        }
        assert_eq!(s.count(), EXACT_LIMIT as f64);
        assert!(!s.is_hll());
        s.insert(u64::MAX);
        assert!(s.is_hll());
        assert!((s.count() - 10_001.0).abs() / 10_001.0 < 0.02);
    }

    #[test]
    fn union_rebuild() {
        let a = DistinctSet::Exact(vec![1, 2, 3]);
        let b = DistinctSet::Exact(vec![3, 4]);
        let mut u = DistinctSet::default();
        u.rebuild([&a, &b].into_iter());
        assert_eq!(u, DistinctSet::Exact(vec![1, 2, 3, 4]));
    }
}
