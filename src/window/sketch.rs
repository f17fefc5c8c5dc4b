//! A relative-error quantile sketch (DDSketch, Masson et al. 2019): values fall in
//! logarithmic buckets `gamma^(i-1) < x <= gamma^i`, so any quantile read back is within
//! `ALPHA` of the true value, relative. Written here rather than taken from a crate
//! because the window needs a sparse per-bin form (most bins see a few dozen distinct
//! buckets) that merges into one dense scratch array without allocating per evaluation.

use serde::{Deserialize, Serialize};

/// Relative accuracy: 1% (the contract); we use half of it for margin.
pub const ALPHA: f64 = 0.005;

fn gamma() -> f64 {
    (1.0 + ALPHA) / (1.0 - ALPHA)
}

fn ln_gamma() -> f64 {
    gamma().ln()
}

/// Values with magnitude below this count as zero (latencies, costs, scores never need
/// finer resolution).
const MIN_POSITIVE: f64 = 1e-9;

/// The bucket index of a positive value.
pub fn index_of(x: f64) -> i32 {
    (x.ln() / ln_gamma()).ceil() as i32
}

/// The value a bucket stands for: its relative-error midpoint.
pub fn value_of(i: i32) -> f64 {
    2.0 * gamma().powi(i) / (gamma() + 1.0)
}

/// Sparse per-bin sketch: sorted (bucket, count) pairs for positives and negatives, and a
/// zero count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    pos: Vec<(i32, u32)>,
    neg: Vec<(i32, u32)>,
    zeros: u32,
}

fn bump(store: &mut Vec<(i32, u32)>, idx: i32, by: u32) {
    match store.binary_search_by_key(&idx, |(i, _)| *i) {
        Ok(at) => store[at].1 += by,
        Err(at) => store.insert(at, (idx, by)),
    }
}

impl Sketch {
    pub fn add(&mut self, x: f64) {
        if x > MIN_POSITIVE {
            bump(&mut self.pos, index_of(x), 1);
        } else if x < -MIN_POSITIVE {
            bump(&mut self.neg, index_of(-x), 1);
        } else {
            self.zeros += 1;
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        for &(i, c) in &other.pos {
            bump(&mut self.pos, i, c);
        }
        for &(i, c) in &other.neg {
            bump(&mut self.neg, i, c);
        }
        self.zeros += other.zeros;
    }

    pub fn heap_bytes(&self) -> usize {
        (self.pos.capacity() + self.neg.capacity()) * std::mem::size_of::<(i32, u32)>()
    }
}

/// Several bins' sketches viewed as one, for a quantile query.
pub struct Merged<'a> {
    parts: Vec<&'a Sketch>,
}

impl<'a> Merged<'a> {
    pub fn new(parts: Vec<&'a Sketch>) -> Self {
        Merged { parts }
    }

    /// The nearest-rank quantile: the value of rank `ceil(q * n)` (1-based) in ascending
    /// order, `q` in (0, 1]. `None` when there are no values.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n: u64 = self
            .parts
            .iter()
            .map(|s| s.zeros as u64 + s.pos.iter().chain(&s.neg).map(|(_, c)| *c as u64).sum::<u64>())
            .sum();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        // Negatives in ascending value order: descending bucket index.
        let neg = merge_counts(self.parts.iter().map(|s| s.neg.as_slice()));
        for (i, c) in neg.iter().rev() {
            seen += c;
            if seen >= rank {
                return Some(-value_of(*i));
            }
        }
        seen += self.parts.iter().map(|s| s.zeros as u64).sum::<u64>();
        if seen >= rank {
            return Some(0.0);
        }
        let pos = merge_counts(self.parts.iter().map(|s| s.pos.as_slice()));
        for (i, c) in pos.iter() {
            seen += c;
            if seen >= rank {
                return Some(value_of(*i));
            }
        }
        pos.last().map(|(i, _)| value_of(*i))
    }
}

/// K-way merge of sorted sparse stores into one sorted list (small K, small stores).
fn merge_counts<'s>(stores: impl Iterator<Item = &'s [(i32, u32)]>) -> Vec<(i32, u64)> {
    let mut all: Vec<(i32, u64)> = stores.flat_map(|s| s.iter().map(|(i, c)| (*i, *c as u64))).collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    let mut out: Vec<(i32, u64)> = Vec::with_capacity(all.len());
    for (i, c) in all {
        match out.last_mut() {
            Some((j, d)) if *j == i => *d += c,
            _ => out.push((i, c)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(values: &mut [f64], q: f64) -> f64 {
        values.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    }

    #[test]
    fn quantiles_are_within_one_percent() {
        let mut values: Vec<f64> = (1..=10_000).map(|i| (i as f64).powf(1.7) / 3.0 + 0.5).collect();
        let mut s = Sketch::default();
        for v in &values {
            s.add(*v);
        }
        for q in [0.01, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let want = exact(&mut values, q);
            let got = Merged::new(vec![&s]).quantile(q).unwrap();
            assert!((got - want).abs() <= 0.01 * want, "q={q} got {got} want {want}");
        }
    }

    #[test]
    fn negatives_zero_and_merge() {
        let mut a = Sketch::default();
        let mut b = Sketch::default();
        for v in [-5.0, -1.0, 0.0, 2.0] {
            a.add(v);
        }
        for v in [3.0, 100.0] {
            b.add(v);
        }
        let m = Merged::new(vec![&a, &b]);
        assert!((m.quantile(1.0 / 6.0).unwrap() + 5.0).abs() < 0.05);
        assert_eq!(m.quantile(0.5).unwrap(), 0.0);
        assert!((m.quantile(1.0).unwrap() - 100.0).abs() < 1.0);
        assert_eq!(Merged::new(vec![]).quantile(0.5), None);
    }
}
