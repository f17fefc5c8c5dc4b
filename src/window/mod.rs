//! Sliding windows over event time, kept as bins one slide wide, each holding a small
//! aggregate (counter, sum, min/max, relative-error sketch, HyperLogLog).
//!
//! Invariant: knows numbers and times, not events, rules or expressions; does no IO.
//! Memory per window is bounded by the number of bins, whatever the event count.

use serde::{Deserialize, Serialize};

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

/// What a window reports at an evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Evaluation {
    /// The aggregate; `None` when undefined (avg of nothing, change over an empty window).
    pub value: Option<f64>,
    /// Events in the window (for `min_events` and transition records).
    pub events: u64,
}

/// One (rule, group) window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlidingWindow {}

impl SlidingWindow {
    /// An empty window; `created_ms` counts as the start of silence for `absent()`.
    pub fn new(spec: &WindowSpec, created_ms: Millis) -> Self {
        let _ = (spec, created_ms);
        todo!("window helper")
    }

    /// Adds an event at time `t`. Events older than what the window (and, for `change`,
    /// the previous window) covers at `now` are ignored; the caller drops late events first.
    pub fn add(&mut self, spec: &WindowSpec, t: Millis, obs: Observation) {
        let _ = (spec, t, obs);
        todo!("window helper")
    }

    /// The aggregate over the window ending at `now` (bins whose start is after
    /// `now - window_ms`, see the module docs for the exact edge).
    pub fn evaluate(&mut self, spec: &WindowSpec, now: Millis) -> Evaluation {
        let _ = (spec, now);
        todo!("window helper")
    }

    /// Adds `other`'s events into this window (same spec): how the engine combines the
    /// windows of one series kept per input partition.
    pub fn merge(&mut self, spec: &WindowSpec, other: &SlidingWindow) {
        let _ = (spec, other);
        todo!("window helper")
    }

    /// Time of the newest event added, if any.
    pub fn last_event_ms(&self) -> Option<Millis> {
        todo!("window helper")
    }

    /// Approximate bytes this window occupies (struct plus heap).
    pub fn memory_bytes(&self) -> usize {
        todo!("window helper")
    }
}
