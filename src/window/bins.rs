//! Bins one slide wide (Arroyo-style): each holds the partial aggregate of the events whose
//! time rounds down to its start, so a sliding window is a merge of a few bins and memory
//! grows with the number of bins, never with the number of events.

use serde::{Deserialize, Serialize};

use super::AggKind;
use super::Observation;
use super::ddsketch::Sketch;
use super::distinct::DistinctSet;
use super::stats::Moments;
use crate::time::Millis;

/// Start of the bin holding time `t`: `t` rounded down (towards −∞) to a multiple of
/// `bin_ms`.
#[inline]
pub fn bin_start(t: Millis, bin_ms: Millis) -> Millis {
    t.div_euclid(bin_ms) * bin_ms
}

/// One bin.
///
/// `repr(C)`: start and count first, then the stat, whose hit count follows its tag. In
/// Rust's own order the 40-byte stat came first and the count last, so adding to a window's
/// inline newest bin (see `ring::Bins`) touched one cache line of the series more than it
/// needs. (Declaration order, which the stored form follows, is unchanged.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[repr(C)]
pub struct Bin {
    #[serde(rename = "s")]
    pub start: Millis,
    /// Events (with or without a number).
    #[serde(rename = "n")]
    pub count: u32,
    #[serde(rename = "a")]
    pub stat: BinStat,
}

/// The per-bin state an aggregation needs beyond the event count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BinStat {
    /// count, rate, absent.
    #[serde(rename = "p")]
    Plain,
    /// ratio, wilson_lower: events whose predicate held.
    #[serde(rename = "h")]
    Hits(u32),
    /// sum, avg, min, max.
    #[serde(rename = "m")]
    Moments(Moments),
    /// percentile.
    #[serde(rename = "q")]
    Sketch(Sketch),
    /// distinct.
    #[serde(rename = "d")]
    Distinct(DistinctSet),
}

/// A number a statistic may use: present and finite (NaN or ±∞ would poison a sum and
/// cannot be serialized).
#[inline]
pub fn usable(num: Option<f64>) -> Option<f64> {
    num.filter(|x| x.is_finite())
}

impl BinStat {
    /// The empty state for an aggregation (`change` bins hold what the inner one needs).
    pub fn for_kind(kind: &AggKind) -> BinStat {
        match kind {
            AggKind::Count | AggKind::Rate | AggKind::Absent => BinStat::Plain,
            AggKind::Ratio | AggKind::WilsonLower => BinStat::Hits(0),
            AggKind::Sum | AggKind::Avg | AggKind::Min | AggKind::Max => {
                BinStat::Moments(Moments::default())
            }
            AggKind::Percentile(_) => BinStat::Sketch(Sketch::default()),
            AggKind::Distinct => BinStat::Distinct(DistinctSet::default()),
            AggKind::Change(inner) => BinStat::for_kind(inner),
        }
    }

    /// Adds one event; `key` is its sketch bucket when the bin is a sketch (computed once
    /// by the caller, which also feeds the merged window).
    #[inline(always)]
    pub fn add(&mut self, obs: &Observation, key: Option<i32>) {
        match self {
            BinStat::Plain => {}
            BinStat::Hits(h) => *h = h.saturating_add(obs.hit as u32),
            BinStat::Moments(m) => {
                if let Some(x) = usable(obs.num) {
                    m.add(x)
                }
            }
            BinStat::Sketch(s) => {
                if let Some(k) = key {
                    s.add_key(k)
                }
            }
            BinStat::Distinct(d) => {
                if let Some(h) = obs.hash {
                    d.insert(h);
                }
            }
        }
    }

    /// Releases spare capacity (called once a bin stops being the newest).
    pub fn shrink(&mut self) {
        match self {
            BinStat::Sketch(s) => s.shrink(),
            BinStat::Distinct(d) => d.shrink(),
            _ => {}
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            BinStat::Sketch(s) => s.heap_bytes(),
            BinStat::Distinct(d) => d.heap_bytes(),
            _ => 0,
        }
    }
}

impl Bin {
    pub fn new(start: Millis, kind: &AggKind) -> Bin {
        Bin {
            start,
            count: 0,
            stat: BinStat::for_kind(kind),
        }
    }

    // `always`: see `Totals::add_bin`.
    #[inline(always)]
    pub fn add(&mut self, obs: &Observation, key: Option<i32>) {
        self.count = self.count.saturating_add(1);
        self.stat.add(obs, key);
    }

    /// Adds another bin's events (same start, same aggregation).
    pub fn merge(&mut self, other: &Bin) {
        self.count = self.count.saturating_add(other.count);
        match (&mut self.stat, &other.stat) {
            (BinStat::Hits(a), BinStat::Hits(b)) => *a = a.saturating_add(*b),
            (BinStat::Moments(a), BinStat::Moments(b)) => a.merge(b),
            (BinStat::Sketch(a), BinStat::Sketch(b)) => a.merge(b),
            (BinStat::Distinct(a), BinStat::Distinct(b)) => {
                let mine = a.clone();
                a.rebuild([&mine, b].into_iter());
            }
            _ => {}
        }
    }

    pub fn sketch(&self) -> Option<&Sketch> {
        match &self.stat {
            BinStat::Sketch(s) => Some(s),
            _ => None,
        }
    }

    pub fn distinct(&self) -> Option<&DistinctSet> {
        match &self.stat {
            BinStat::Distinct(d) => Some(d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_start_rounds_down() {
        assert_eq!(bin_start(0, 60_000), 0);
        assert_eq!(bin_start(59_999, 60_000), 0);
        assert_eq!(bin_start(60_000, 60_000), 60_000);
        assert_eq!(bin_start(-1, 60_000), -60_000);
    }
}
