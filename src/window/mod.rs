//! Sliding windows over event time, kept as bins one slide wide, each holding a small
//! aggregate (counters, sum/min/max, a relative-error sketch, a distinct set), merged at
//! evaluation.
//!
//! **Edges.** `bin_start(t) = floor(t / bin) * bin`. The window at time `now` is the bins
//! whose start `s` satisfies `bin_start(now) - window < s <= bin_start(now)`: the last
//! `window / bin` bins including the current, partial one. For `change`, the previous
//! window is the same span one window earlier.
//!
//! **Aggregates.** `count`; `rate` = count / window seconds; `sum`, `avg`, `min`, `max` over
//! the events whose argument is a number (others still count as events); `percentile(p)`
//! = the nearest-rank quantile (rank `ceil(p/100 · n)`) within 1% relative error;
//! `ratio` = hits / events; `wilson_lower` = lower bound of the 95% Wilson score interval
//! of that share; `distinct` exact to 10 000 values, HyperLogLog beyond; `absent` = 1 when
//! no event has arrived for a whole window (since the last event, or since the window was
//! created), else 0; `change(inner)` = inner now / inner over the previous window.
//! Undefined values (`avg` of nothing, a ratio of no events, `change` over an empty or
//! zero previous window) are `None`.
//!
//! Invariant: knows numbers and times, not events, rules or expressions; does no IO.
//! Memory is bounded by the number of bins, never by the number of events.

mod hll;
mod sketch;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

pub use hll::Distinct;
pub use sketch::{Merged, Sketch};

use crate::time::Millis;

/// What a window computes (the `value:` aggregation of a rule, with its expression
/// already evaluated by the caller into an [`Observation`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AggKind {
    Count,
    Rate,
    Sum,
    Avg,
    Min,
    Max,
    /// p in (0, 100).
    Percentile(f64),
    Ratio,
    WilsonLower,
    Distinct,
    Absent,
    /// The inner aggregation now divided by its value over the previous window.
    Change(Box<AggKind>),
}

impl AggKind {
    /// The aggregation whose per-bin state is kept (`change` keeps its inner one's).
    fn base(&self) -> &AggKind {
        match self {
            AggKind::Change(inner) => inner.base(),
            k => k,
        }
    }
}

/// One event as a window sees it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    /// The numeric argument (sum/avg/min/max/percentile); `None` when null or not a number:
    /// the event still counts for `count()` and `min_events` but not for the statistic.
    pub num: Option<f64>,
    /// The predicate (ratio, wilson_lower).
    pub hit: bool,
    /// Hash of the value (distinct); `None` when null.
    pub hash: Option<u64>,
}

/// Shape of a window: shared by every window of a rule, so not stored per window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSpec {
    pub agg: AggKind,
    /// Window length; a multiple of `bin_ms`.
    pub window_ms: Millis,
    /// Bin (slide) width.
    pub bin_ms: Millis,
}

impl WindowSpec {
    fn bin_start(&self, t: Millis) -> Millis {
        t.div_euclid(self.bin_ms) * self.bin_ms
    }

    /// How far back bins are kept, relative to the newest bin.
    fn span(&self) -> Millis {
        if matches!(self.agg, AggKind::Change(_)) { 2 * self.window_ms } else { self.window_ms }
    }
}

/// What a window reports at an evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Evaluation {
    /// The aggregate; `None` when undefined (avg of nothing, change over an empty window).
    pub value: Option<f64>,
    /// Events in the window (for `min_events` and transition records).
    pub events: u64,
}

/// Per-bin state, by aggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Acc {
    /// count, rate, absent: the bin's event count says it all.
    Count,
    /// sum, avg, min, max: over the events whose argument is a number.
    Stats { n: u32, sum: f64, min: f64, max: f64 },
    Hits(u32),
    Sketch(Box<Sketch>),
    Distinct(Box<Distinct>),
}

impl Acc {
    fn new(kind: &AggKind) -> Acc {
        match kind.base() {
            AggKind::Sum | AggKind::Avg | AggKind::Min | AggKind::Max => {
                Acc::Stats { n: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
            }
            AggKind::Ratio | AggKind::WilsonLower => Acc::Hits(0),
            AggKind::Percentile(_) => Acc::Sketch(Box::default()),
            AggKind::Distinct => Acc::Distinct(Box::default()),
            _ => Acc::Count,
        }
    }

    fn add(&mut self, obs: Observation) {
        match self {
            Acc::Count => {}
            Acc::Stats { n, sum, min, max } => {
                if let Some(x) = obs.num {
                    *n += 1;
                    *sum += x;
                    *min = min.min(x);
                    *max = max.max(x);
                }
            }
            Acc::Hits(h) => *h += u32::from(obs.hit),
            Acc::Sketch(s) => {
                if let Some(x) = obs.num {
                    s.add(x);
                }
            }
            Acc::Distinct(d) => {
                if let Some(h) = obs.hash {
                    d.add(h);
                }
            }
        }
    }

    fn merge(&mut self, other: &Acc) {
        match (self, other) {
            (Acc::Stats { n, sum, min, max }, Acc::Stats { n: n2, sum: s2, min: mi2, max: ma2 }) => {
                *n += n2;
                *sum += s2;
                *min = min.min(*mi2);
                *max = max.max(*ma2);
            }
            (Acc::Hits(a), Acc::Hits(b)) => *a += b,
            (Acc::Sketch(a), Acc::Sketch(b)) => a.merge(b),
            (Acc::Distinct(a), Acc::Distinct(b)) => merge_distinct(a, b),
            _ => {}
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Acc::Sketch(s) => std::mem::size_of::<Sketch>() + s.heap_bytes(),
            Acc::Distinct(d) => std::mem::size_of::<Distinct>() + d.heap_bytes(),
            _ => 0,
        }
    }
}

fn merge_distinct(a: &mut Distinct, b: &Distinct) {
    if let Distinct::Exact(v) = b {
        v.iter().for_each(|h| a.add(*h));
        return;
    }
    if let Distinct::Exact(v) = a {
        let values = std::mem::take(v);
        *a = b.clone();
        values.iter().for_each(|h| a.add(*h));
        return;
    }
    if let (Distinct::Registers(ra), Distinct::Registers(rb)) = (a, b) {
        ra.iter_mut().zip(rb).for_each(|(x, y)| *x = (*x).max(*y));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Bin {
    start: Millis,
    count: u32,
    acc: Acc,
}

/// One (rule, group) window: sparse bins (only bins that saw events), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlidingWindow {
    bins: VecDeque<Bin>,
    created_ms: Millis,
    last_event_ms: Option<Millis>,
}

impl SlidingWindow {
    /// An empty window; `created_ms` counts as the start of silence for `absent()`.
    pub fn new(_spec: &WindowSpec, created_ms: Millis) -> Self {
        SlidingWindow { bins: VecDeque::new(), created_ms, last_event_ms: None }
    }

    /// Adds an event at time `t`. Bins older than the window (two windows for `change`)
    /// behind the newest bin are dropped; an event that would land in one is ignored.
    pub fn add(&mut self, spec: &WindowSpec, t: Millis, obs: Observation) {
        let start = spec.bin_start(t);
        let newest = self.bins.back().map_or(start, |b| b.start.max(start));
        let cutoff = newest - spec.span();
        if start <= cutoff {
            return;
        }
        self.last_event_ms = Some(self.last_event_ms.map_or(t, |l| l.max(t)));
        let bin = self.bin_mut(spec, start);
        bin.count += 1;
        bin.acc.add(obs);
        while self.bins.front().is_some_and(|b| b.start <= cutoff) {
            self.bins.pop_front();
        }
    }

    fn bin_mut(&mut self, spec: &WindowSpec, start: Millis) -> &mut Bin {
        // Most events land in the newest bin: search from the back.
        let at = self.bins.iter().rposition(|b| b.start <= start);
        let index = match at {
            Some(i) if self.bins[i].start == start => i,
            Some(i) => {
                self.bins.insert(i + 1, Bin { start, count: 0, acc: Acc::new(&spec.agg) });
                i + 1
            }
            None => {
                self.bins.push_front(Bin { start, count: 0, acc: Acc::new(&spec.agg) });
                0
            }
        };
        &mut self.bins[index]
    }

    /// Adds `other`'s events into this window (same spec): how the engine combines the
    /// windows of one series kept per input partition.
    pub fn merge(&mut self, spec: &WindowSpec, other: &SlidingWindow) {
        for b in &other.bins {
            let mine = self.bin_mut(spec, b.start);
            mine.count += b.count;
            mine.acc.merge(&b.acc);
        }
        self.created_ms = self.created_ms.min(other.created_ms);
        self.last_event_ms = match (self.last_event_ms, other.last_event_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(newest) = self.bins.back().map(|b| b.start) {
            while self.bins.front().is_some_and(|b| b.start <= newest - spec.span()) {
                self.bins.pop_front();
            }
        }
    }

    /// The aggregate over the window ending at `now` (see the module docs for the edge).
    pub fn evaluate(&mut self, spec: &WindowSpec, now: Millis) -> Evaluation {
        let hi = spec.bin_start(now);
        let lo = hi - spec.window_ms;
        let events = self.count_between(lo, hi);
        let value = match &spec.agg {
            AggKind::Absent => {
                let since = self.last_event_ms.unwrap_or(self.created_ms);
                Some(if now - since >= spec.window_ms { 1.0 } else { 0.0 })
            }
            AggKind::Change(inner) => {
                let now_v = self.value_between(inner, spec, lo, hi);
                let before = self.value_between(inner, spec, lo - spec.window_ms, lo);
                match (now_v, before) {
                    (Some(a), Some(b)) if b != 0.0 => Some(a / b),
                    _ => None,
                }
            }
            kind => self.value_between(kind, spec, lo, hi),
        };
        Evaluation { value, events }
    }

    /// Bins with `lo < start <= hi`.
    fn between(&self, lo: Millis, hi: Millis) -> impl Iterator<Item = &Bin> {
        self.bins.iter().rev().skip_while(move |b| b.start > hi).take_while(move |b| b.start > lo)
    }

    fn count_between(&self, lo: Millis, hi: Millis) -> u64 {
        self.between(lo, hi).map(|b| b.count as u64).sum()
    }

    fn value_between(&self, kind: &AggKind, spec: &WindowSpec, lo: Millis, hi: Millis) -> Option<f64> {
        let events = self.count_between(lo, hi);
        match kind {
            AggKind::Count => Some(events as f64),
            AggKind::Rate => Some(events as f64 / (spec.window_ms as f64 / 1000.0)),
            AggKind::Sum | AggKind::Avg | AggKind::Min | AggKind::Max => {
                let (mut n, mut sum, mut min, mut max) = (0u64, 0.0, f64::INFINITY, f64::NEG_INFINITY);
                for b in self.between(lo, hi) {
                    if let Acc::Stats { n: bn, sum: bs, min: bmin, max: bmax } = &b.acc {
                        n += *bn as u64;
                        sum += bs;
                        min = min.min(*bmin);
                        max = max.max(*bmax);
                    }
                }
                match kind {
                    AggKind::Sum => Some(sum),
                    _ if n == 0 => None,
                    AggKind::Avg => Some(sum / n as f64),
                    AggKind::Min => Some(min),
                    _ => Some(max),
                }
            }
            AggKind::Ratio | AggKind::WilsonLower => {
                if events == 0 {
                    return None;
                }
                let hits: u64 = self.between(lo, hi).map(|b| if let Acc::Hits(h) = b.acc { h as u64 } else { 0 }).sum();
                Some(if matches!(kind, AggKind::Ratio) { hits as f64 / events as f64 } else { wilson_lower(hits, events) })
            }
            AggKind::Percentile(p) => {
                let parts: Vec<&Sketch> = self.between(lo, hi).filter_map(|b| if let Acc::Sketch(s) = &b.acc { Some(&**s) } else { None }).collect();
                Merged::new(parts).quantile(p / 100.0)
            }
            AggKind::Distinct => {
                let parts: Vec<&Distinct> = self.between(lo, hi).filter_map(|b| if let Acc::Distinct(d) = &b.acc { Some(&**d) } else { None }).collect();
                Some(hll::count(&parts) as f64)
            }
            AggKind::Absent | AggKind::Change(_) => None,
        }
    }

    /// Time of the newest event added, if any.
    pub fn last_event_ms(&self) -> Option<Millis> {
        self.last_event_ms
    }

    /// Approximate bytes this window occupies (struct plus heap).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.bins.capacity() * std::mem::size_of::<Bin>()
            + self.bins.iter().map(|b| b.acc.heap_bytes()).sum::<usize>()
    }
}

/// Lower bound of the 95% Wilson score interval for `hits` successes in `n` trials.
pub fn wilson_lower(hits: u64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let z = 1.959_963_984_540_054_f64;
    let n_f = n as f64;
    let p = hits as f64 / n_f;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n_f);
    let margin = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    ((centre - margin) / (1.0 + z2 / n_f)).max(0.0)
}

#[cfg(test)]
mod tests;
