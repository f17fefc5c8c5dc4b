//! Small closed-form statistics: running moments for sum/avg/min/max and the Wilson score
//! lower bound for `wilson_lower()`.

use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
pub const WILSON_Z: f64 = 1.959_964;

/// Count, sum, min and max of the numeric values of a bin (min/max are meaningful only
/// when `n > 0`; they are stored as 0 otherwise so the serialized form never holds ±∞).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Moments {
    pub n: u32,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Moments {
    #[inline]
    pub fn add(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n = self.n.saturating_add(1);
        self.sum += x;
    }

    #[inline]
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            self.min = o.min;
            self.max = o.max;
        } else {
            self.min = self.min.min(o.min);
            self.max = self.max.max(o.max);
        }
        self.n = self.n.saturating_add(o.n);
        self.sum += o.sum;
    }
}

/// Lower bound of the 95% Wilson score interval of `hits` successes in `n` trials;
/// `None` when `n == 0`. Unlike the raw share it stays low on a handful of events, so a
/// rule on it fires on a real rise rather than on five unlucky events.
pub fn wilson_lower(hits: u64, n: u64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = hits as f64 / n;
    let z2 = WILSON_Z * WILSON_Z;
    let centre = p + z2 / (2.0 * n);
    let margin = WILSON_Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - margin) / (1.0 + z2 / n)).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_known_values() {
        assert_eq!(wilson_lower(0, 0), None);
        assert_eq!(wilson_lower(0, 10), Some(0.0));
        // 5/5: lower bound n / (n + z^2)
        let v = wilson_lower(5, 5).unwrap();
        assert!((v - 5.0 / (5.0 + WILSON_Z * WILSON_Z)).abs() < 1e-12);
        // 50/100 -> 0.4038 (textbook)
        assert!((wilson_lower(50, 100).unwrap() - 0.40383).abs() < 1e-4);
    }

    #[test]
    fn moments_merge() {
        let mut a = Moments::default();
        a.add(3.0);
        a.add(-1.0);
        let mut b = Moments::default();
        b.merge(&Moments::default());
        b.merge(&a);
        assert_eq!((b.n, b.sum, b.min, b.max), (2, 2.0, -1.0, 3.0));
    }
}
