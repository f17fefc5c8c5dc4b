//! Relative-error quantile sketch (DDSketch-style): values are counted in logarithmic
//! buckets `(γ^(k-1), γ^k]`, so any value in a bucket is within [`RELATIVE_ACCURACY`] of the
//! bucket's representative `2γ^k / (γ + 1)`, whatever the magnitude. Bins keep a sparse,
//! sorted `(key, count)` list so a quiet minute costs a few bytes; a window merges them.
//!
//! Zero and negative values share one signed, *ordered* key space so that a single sorted
//! list covers every value: key `0` is zero, `OFFSET + k` is the positive bucket `k`, and
//! `-(OFFSET + k)` the negative bucket `k` of `|x|` (more negative values get smaller keys).

use serde::{Deserialize, Serialize};

/// Relative accuracy of every quantile this module returns: the estimate is within this
/// fraction of the true value at the chosen rank. Slightly under 1% so that float rounding
/// at bucket edges cannot push the promised 1% over.
pub const RELATIVE_ACCURACY: f64 = 0.0099;

/// Bucket growth factor γ = (1 + α) / (1 − α).
const GAMMA: f64 = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
/// ln γ (checked against `GAMMA.ln()` in the tests; `ln` is not `const`).
const LN_GAMMA: f64 = 0.019_800_646_904_042_287;
const INV_LN_GAMMA: f64 = 1.0 / LN_GAMMA;
/// Keeps positive and negative buckets apart from zero; every finite f64 maps to
/// `|k| < 37_600`, so the ordered keys stay inside `±(OFFSET + KEY_LIMIT)`.
const OFFSET: i32 = 40_000;
const KEY_LIMIT: i32 = 39_999;

/// The ordered bucket key of a finite value (callers filter NaN and infinities).
///
/// Not inlined on purpose: `ln` is a pure intrinsic, and once inlined LLVM hoisted it out
/// of the percentile branch of `BinStat::add`, computing a logarithm on every event of
/// every window (5% of the engine's instructions).
#[inline(never)]
pub fn key_of(x: f64) -> i32 {
    if x == 0.0 {
        return 0;
    }
    let k = (x.abs().ln() * INV_LN_GAMMA).ceil();
    let k = k.clamp(-(KEY_LIMIT as f64), KEY_LIMIT as f64) as i32;
    if x > 0.0 { OFFSET + k } else { -(OFFSET + k) }
}

/// The representative value of an ordered bucket key.
#[inline]
pub fn value_of(key: i32) -> f64 {
    if key == 0 {
        return 0.0;
    }
    let k = key.abs() - OFFSET;
    // γ^k times 2/(γ+1) < 1, in that order: doubling first overflowed to infinity for
    // values above ~9e307. The very top bucket's γ^k itself can exceed f64::MAX.
    let v = ((k as f64 * LN_GAMMA).exp() * (2.0 / (GAMMA + 1.0))).min(f64::MAX);
    if key > 0 { v } else { -v }
}

/// The nearest-rank definition every percentile here uses: the `p`-th percentile of `n`
/// values is the `r`-th smallest, `r = ceil(p · n / 100)` clamped to `1..=n`.
/// `p` is read as the decimal the rule wrote: `64.4` is not exactly representable, and
/// `64.4 · 250 / 100` came out as 161.00000000000003, whose ceiling is one rank too high;
/// a few ulps of rounding error are taken off before the ceiling.
pub fn nearest_rank(p: f64, n: u64) -> u64 {
    let x = p * n as f64 / 100.0;
    let r = (x - x.abs() * 4.0 * f64::EPSILON).ceil();
    if r.is_nan() || r < 1.0 {
        1
    } else {
        (r as u64).min(n).max(1)
    }
}

/// One bin's sketch: sorted, sparse `(ordered key, count)` pairs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sketch {
    entries: Vec<(i32, u32)>,
}

impl Sketch {
    /// Counts one value's bucket.
    pub fn add_key(&mut self, key: i32) {
        let _ = add_sorted(&mut self.entries, key);
    }

    /// Adds another sketch's counts.
    pub fn merge(&mut self, other: &Sketch) {
        for &(key, count) in &other.entries {
            match self.entries.binary_search_by_key(&key, |e| e.0) {
                Ok(i) => self.entries[i].1 = self.entries[i].1.saturating_add(count),
                Err(i) => self.entries.insert(i, (key, count)),
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(i32, u32)>()
    }

    pub fn shrink(&mut self) {
        self.entries.shrink_to_fit();
    }
}

/// Counts `key`; `Ok(i)` when its bucket existed at `i`, `Err(i)` when it was inserted there.
#[inline]
fn add_sorted(entries: &mut Vec<(i32, u32)>, key: i32) -> Result<usize, usize> {
    let found = entries.binary_search_by_key(&key, |e| e.0);
    match found {
        Ok(i) => entries[i].1 = entries[i].1.saturating_add(1),
        Err(i) => entries.insert(i, (key, 1)),
    }
    found
}

/// The merged sketch of a whole window, kept between evaluations so that an evaluation
/// costs a walk over the occupied buckets instead of a merge of every bin.
#[derive(Debug, Clone, Default)]
pub struct MergedSketch {
    entries: Vec<(i32, u32)>,
    total: u64,
    /// The last answer, kept up to date as values arrive, so that the next one is a step
    /// or two away: evaluated on every event, a p95 walked the top 5% of the buckets each
    /// time. `None` after a rebuild.
    cursor: Option<Cursor>,
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Index of the answer's bucket in `entries`.
    at: usize,
    /// Values in the buckets above it.
    above: u64,
    /// `value_of` its key.
    value: f64,
}

impl MergedSketch {
    /// Replaces the content with the merge of `sketches` (reusing the allocation).
    pub fn rebuild<'a>(&mut self, sketches: impl Iterator<Item = &'a Sketch>) {
        self.entries.clear();
        for s in sketches {
            self.entries.extend_from_slice(&s.entries);
        }
        self.entries.sort_unstable_by_key(|e| e.0);
        // Coalesce equal keys in place.
        let mut w = 0usize;
        for r in 0..self.entries.len() {
            if w > 0 && self.entries[w - 1].0 == self.entries[r].0 {
                self.entries[w - 1].1 = self.entries[w - 1].1.saturating_add(self.entries[r].1);
            } else {
                self.entries[w] = self.entries[r];
                w += 1;
            }
        }
        self.entries.truncate(w);
        // The concatenation may be many times the merged size; keep some room for growth.
        self.entries.shrink_to(w + w / 4 + 8);
        self.total = self.entries.iter().map(|e| e.1 as u64).sum();
        self.cursor = None;
    }

    /// Counts one more value (an event landed in a bin this merge covers).
    pub fn add_key(&mut self, key: i32) {
        let found = add_sorted(&mut self.entries, key);
        self.total += 1;
        if let Some(c) = &mut self.cursor {
            match found {
                Ok(i) if i > c.at => c.above += 1,
                Ok(_) => {}
                // A new bucket below the answer shifts it up by one.
                Err(i) if i <= c.at => c.at += 1,
                Err(_) => c.above += 1,
            }
        }
    }

    /// Number of values merged.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Estimate of the nearest-rank `p`-th percentile; `None` without values.
    ///
    /// The answer is the bucket `K` with `above(K) <= n - r < above(K) + count(K)`, where
    /// `above(K)` counts the values in higher buckets and `r` is the [`nearest_rank`]. The
    /// search starts from the previous answer (the top bucket after a rebuild) and steps
    /// one bucket at a time, so between two evaluations it moves about as far as the
    /// values added since.
    pub fn quantile(&mut self, p: f64) -> Option<f64> {
        let n = self.total;
        let top = self.entries.len().checked_sub(1)?;
        if n == 0 {
            return None;
        }
        let limit = n - nearest_rank(p, n); // values allowed strictly above the answer
        let (mut at, mut above) = self.cursor.map_or((top, 0), |c| (c.at, c.above));
        loop {
            let here = self.entries[at].1 as u64;
            if above > limit && at < top {
                at += 1;
                above -= self.entries[at].1 as u64;
            } else if above + here <= limit && at > 0 {
                above += here;
                at -= 1;
            } else {
                break;
            }
        }
        let value = match self.cursor {
            Some(c) if c.at == at => c.value,
            _ => value_of(self.entries[at].0),
        };
        self.cursor = Some(Cursor { at, above, value });
        Some(value)
    }

    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(i32, u32)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_constant_matches() {
        assert!((LN_GAMMA - GAMMA.ln()).abs() < 1e-16);
    }

    #[test]
    fn representative_is_within_accuracy() {
        let mut x = 1e-300f64;
        while x < 1e300 {
            for v in [x, -x] {
                let est = value_of(key_of(v));
                assert!(
                    ((est - v) / v).abs() <= RELATIVE_ACCURACY + 1e-12,
                    "{v} -> {est}"
                );
            }
            x *= 1.37;
        }
        assert_eq!(value_of(key_of(0.0)), 0.0);
        assert!(key_of(-1.0) < key_of(-0.5) && key_of(-0.5) < 0 && 0 < key_of(0.5));
        assert!(key_of(f64::MAX) > 0 && key_of(f64::MIN_POSITIVE * 1e-10) > 0);
    }

    #[test]
    fn nearest_rank_definition() {
        assert_eq!(nearest_rank(50.0, 4), 2);
        assert_eq!(nearest_rank(95.0, 20), 19);
        assert_eq!(nearest_rank(99.0, 1), 1);
        assert_eq!(nearest_rank(0.001, 10), 1);
        assert_eq!(nearest_rank(99.999, 10), 10);
        // Decimal percentiles whose product with n is whole (once one rank too high).
        assert_eq!(nearest_rank(64.4, 250), 161);
        assert_eq!(nearest_rank(99.4, 10_500), 10_437);
        assert_eq!(nearest_rank(64.4, 251), 162);
    }

    #[test]
    fn the_largest_values_have_finite_representatives() {
        for v in [8.5e307, 9e307, 1e308, f64::MAX] {
            let r = value_of(key_of(v));
            assert!(r.is_finite() && ((r - v) / v).abs() <= RELATIVE_ACCURACY, "{v} -> {r}");
            assert_eq!(value_of(key_of(-v)), -r);
        }
    }

    #[test]
    fn quantile_from_both_ends() {
        let mut s = Sketch::default();
        for v in 1..=100 {
            s.add_key(key_of(v as f64));
        }
        let mut m = MergedSketch::default();
        m.rebuild([&s, &s].into_iter());
        assert_eq!(m.total(), 200);
        for p in [1.0, 10.0, 50.0, 51.0, 90.0, 99.0, 99.9] {
            let exact = nearest_rank(p, 200).div_ceil(2) as f64;
            let got = m.quantile(p).unwrap();
            assert!(
                ((got - exact) / exact).abs() <= 0.01,
                "p{p}: {got} vs {exact}"
            );
        }
    }

    proptest::proptest! {
        /// The answer kept up to date as values arrive (the cursor) is the answer a fresh
        /// merge gives, for any order of values and any mix of percentiles asked.
        #[test]
        fn kept_answer_matches_a_fresh_merge(
            start in proptest::collection::vec(-50i32..50, 0..40),
            added in proptest::collection::vec((-50i32..50, 0usize..6), 1..120),
        ) {
            let ps = [1.0, 25.0, 50.0, 90.0, 95.0, 99.9];
            let mut base = Sketch::default();
            start.iter().for_each(|&x| base.add_key(key_of(x as f64)));
            let mut kept = MergedSketch::default();
            kept.rebuild([&base].into_iter());
            for (x, which) in added {
                let key = key_of(x as f64);
                base.add_key(key);
                kept.add_key(key);
                let mut fresh = MergedSketch::default();
                fresh.rebuild([&base].into_iter());
                let p = ps[which];
                // The definition: the smallest bucket holding the r-th smallest value.
                let r = nearest_rank(p, fresh.total());
                let mut below = 0u64;
                let expected = fresh.entries.iter().find(|e| { below += e.1 as u64; below >= r }).map(|e| value_of(e.0));
                proptest::prop_assert_eq!(kept.quantile(p), expected, "p{}", p);
                proptest::prop_assert_eq!(fresh.quantile(p), expected, "p{}", p);
            }
        }
    }
}
