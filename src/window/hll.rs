//! HyperLogLog (p = 14, 16 384 one-byte registers, standard error ≈ 0.8%) for `distinct()`
//! beyond the exact limit. The estimate is Ertl's improved raw estimator ("New cardinality
//! estimation algorithms for HyperLogLog sketches", 2017), which needs no empirical bias
//! tables and stays unbiased from a handful of values to billions.

use serde::{Deserialize, Serialize};

/// Register-index bits.
pub const P: u32 = 14;
const M: usize = 1 << P;
/// Bits left for the rank.
const Q: u32 = 64 - P;

/// A finaliser (splitmix64) applied to caller hashes so that the estimate does not depend
/// on how well the caller's hash spreads its bits.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// HyperLogLog registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hll {
    regs: Box<[u8]>,
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            regs: vec![0u8; M].into_boxed_slice(),
        }
    }
}

impl Hll {
    /// Adds a (caller) hash; true when a register changed.
    #[inline]
    pub fn insert(&mut self, hash: u64) -> bool {
        let h = mix(hash);
        let idx = (h >> Q) as usize;
        let w = h << P;
        let rho = if w == 0 {
            (Q + 1) as u8
        } else {
            (w.leading_zeros() + 1) as u8
        };
        // A register array restored from disk may be short; treat it as a fresh one.
        if self.regs.len() != M {
            *self = Hll::default();
        }
        if self.regs[idx] < rho {
            self.regs[idx] = rho;
            true
        } else {
            false
        }
    }

    /// Register-wise maximum: the sketch of the union.
    pub fn merge(&mut self, other: &Hll) {
        if other.regs.len() != M {
            return;
        }
        for (a, b) in self.regs.iter_mut().zip(other.regs.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// Cardinality estimate (Ertl's improved raw estimator).
    pub fn estimate(&self) -> f64 {
        let mut c = [0u32; Q as usize + 2];
        for &r in self.regs.iter() {
            c[(r as usize).min(Q as usize + 1)] += 1;
        }
        let m = M as f64;
        let mut z = m * tau(1.0 - c[Q as usize + 1] as f64 / m);
        for k in (1..=Q as usize).rev() {
            z = 0.5 * (z + c[k] as f64);
        }
        z += m * sigma(c[0] as f64 / m);
        let alpha_inf = 1.0 / (2.0 * std::f64::consts::LN_2);
        alpha_inf * m * m / z
    }

    pub fn heap_bytes(&self) -> usize {
        self.regs.len()
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_old = z;
        z += x * y;
        y += y;
        if z == z_old {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_old = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == z_old {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_zero() {
        assert_eq!(Hll::default().estimate(), 0.0);
    }

    #[test]
    fn error_within_two_percent() {
        for n in [100u64, 10_001, 25_000, 45_000, 80_000, 200_000, 1_000_000] {
            let mut h = Hll::default();
            for i in 0..n {
                h.insert(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234);
            }
            let e = h.estimate();
            let err = (e - n as f64).abs() / n as f64;
            assert!(err <= 0.02, "n={n} est={e} err={err}");
        }
    }

    #[test]
    fn merge_is_union() {
        let (mut a, mut b) = (Hll::default(), Hll::default());
        for i in 0..30_000u64 {
            a.insert(i);
            b.insert(i + 15_000);
        }
        a.merge(&b);
        let err = (a.estimate() - 45_000.0).abs() / 45_000.0;
        assert!(err <= 0.02, "{err}");
    }
}
