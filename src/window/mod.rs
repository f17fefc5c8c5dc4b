//! Sliding windows over event time, kept as bins one slide wide, each holding a small
//! aggregate (counter, sum, min/max, relative-error sketch, HyperLogLog).
//!
//! Invariant: knows numbers and times, not events, rules or expressions; does no IO.
//! Memory per window is bounded by the number of bins, whatever the event count.
//!
//! # Semantics
//!
//! **Bins.** An event at time `t` belongs to the bin starting at
//! `bin_start(t) = t.div_euclid(bin_ms) * bin_ms` ([`bin_start`]). Bins are kept sorted, the
//! newest inline and the older ones behind it (`ring::Bins`); an event for a bin that does
//! not exist yet creates it in place, so out-of-order events land in their own bin.
//!
//! **The window at `now`** is the set of bins whose start `s` satisfies
//! `bin_start(now) - window_ms < s <= bin_start(now)`: the last `window_ms / bin_ms` bins,
//! the current partial one included. An event at `now - window_ms + 1 ms` may therefore
//! already have left the window (the window slides by whole bins, as in Arroyo). Bins after
//! `bin_start(now)` (events "in the future" of `now`) exist but are not counted.
//!
//! **Retention (head).** The window remembers `head`, the newest bin start it has seen in
//! any `add` or `evaluate`. It keeps the bins with `start > head - keep_ms` and drops the
//! rest, where `keep_ms = window_ms` (times the nesting depth of `change`, so `change(x)`
//! keeps two windows). `add` ignores an event whose bin is at or before `head - keep_ms`.
//! Consequently an evaluation at a `now` earlier than `head` sees only the bins still kept;
//! the engine evaluates at its own clock (non-decreasing), where this never matters.
//! The number of bins is at most `keep_ms / bin_ms`, whatever the traffic.
//!
//! **Aggregations** ([`Evaluation::events`] is always the event count of the window; for
//! `change` that of the current window):
//! * `count`: events; `rate`: events per second over the event time the window's bins
//!   cover ([`covered_ms`]): from the start of its oldest bin to `now`, at least one bin.
//!   Dividing by `window_ms` instead read steady traffic up to one bin low (0.93 for one
//!   event a second over a minute of 4 s bins), so `rate() < x` rules flapped. A previous
//!   window of `change` is complete and covers `window_ms`.
//! * `sum`, `avg`, `min`, `max` over [`Observation::num`]: events whose number is `None`,
//!   NaN or infinite count as events but not for the statistic; `sum` of no numbers is 0,
//!   `avg`/`min`/`max` of no numbers are `None`.
//! * `percentile(p)`: nearest rank — the `r`-th smallest number of the window with
//!   `r = ceil(p · n / 100)` clamped to `1..=n` ([`nearest_rank`]) — estimated with a
//!   DDSketch-style log-bucket sketch per bin, merged at evaluation; the result is within
//!   [`PERCENTILE_RELATIVE_ACCURACY`] (0.99%) of that exact value. Zero is exact; negative
//!   values use mirrored buckets. `None` without numbers.
//! * `ratio`: hits / events; `wilson_lower`: lower bound of the 95% Wilson score interval
//!   (z = [`WILSON_Z`]) of hits / events. Both `None` without events.
//! * `distinct` over [`Observation::hash`] (`None` hashes are not values): exact while the
//!   window's union of values stays within [`DISTINCT_EXACT_LIMIT`]; a bin or a union
//!   beyond it becomes a HyperLogLog (p = 14, error ≤ 2%).
//! * `absent`: `1` when `now - last >= window_ms`, with `last` the newest event time added
//!   (accepted events only), or `created_ms` when there was none; else `0`. Measured from
//!   event times, not bins. Inside `change`, the previous window's `absent` is `1` exactly
//!   when its bins hold no event.
//! * `change(inner)`: `inner` over the window ending at `now` divided by `inner` over the
//!   window ending at `now - window_ms` (bins `(bin_start(now) - 2w, bin_start(now) - w]`);
//!   `None` when either is `None` or the previous one is 0. For a total (`count`, `rate`,
//!   `sum`, `distinct`: [`AggKind::grows_with_time`]) also `None` while the previous window
//!   began before the bin the window was created in: a group that appears mid-stream would
//!   otherwise compare a full window with a few bins and report a spike one window after it
//!   started. An average, share or percentile of a partial previous window is a smaller
//!   sample, not a biased one, and is compared.
//!
//! **Speed.** Counters fold the window's bins (no allocation); windows without sums keep the
//! event and hit counts of the bins before the newest, so evaluating them reads one bin.
//! `percentile` and `distinct`
//! keep the merged window (not serialized) keyed by its end bin: an event landing inside the
//! cached range updates it in place, a new end bin or an expiry rebuilds it, so evaluation
//! costs a walk over occupied buckets (percentile) or O(1) (distinct).

mod bins;
mod counting;
mod ddsketch;
mod distinct;
mod hll;
mod ring;
mod stats;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::time::Millis;

use bins::{Bin, BinStat, usable};
use ddsketch::{MergedSketch, key_of};
use distinct::DistinctSet;
use ring::Bins;
use stats::Moments;

pub use bins::bin_start;
pub use counting::{CountingBase, counting_value, is_counting};
pub use ring::thin_vec_bytes;
pub use ddsketch::{RELATIVE_ACCURACY as PERCENTILE_RELATIVE_ACCURACY, nearest_rank};
pub use distinct::EXACT_LIMIT as DISTINCT_EXACT_LIMIT;
pub use stats::{WILSON_Z, wilson_lower};

/// What a window computes (the `value:` aggregation of a rule, with its expression
/// already evaluated by the caller into an [`Observation`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AggKind {
    /// `count()`: events in the window.
    Count,
    /// `rate()`: events per second, so thresholds do not depend on the window length.
    Rate,
    /// `sum(x)`; 0 when no event had a number.
    Sum,
    /// `avg(x)`; `None` when no event had a number.
    Avg,
    /// `min(x)`; `None` when no event had a number.
    Min,
    /// `max(x)`; `None` when no event had a number.
    Max,
    /// `percentile(x, p)`, p in (0, 100): nearest rank, within 1% relative error.
    Percentile(f64),
    /// `ratio(pred)`: share of events whose predicate held.
    Ratio,
    /// `wilson_lower(pred)`: a share that does not jump on a handful of events.
    WilsonLower,
    /// `distinct(x)`: exact up to [`DISTINCT_EXACT_LIMIT`], HyperLogLog beyond.
    Distinct,
    /// `absent()`: 1 after a whole window without events (flatline), else 0.
    Absent,
    /// The inner aggregation now divided by its value over the previous window.
    Change(Box<AggKind>),
}

impl AggKind {
    /// Whether the value grows with the time a window covers (a total), rather than
    /// describing its events (an average, a share, a percentile): `change` of such a value
    /// needs a previous window that was whole.
    pub fn grows_with_time(&self) -> bool {
        matches!(self, AggKind::Count | AggKind::Rate | AggKind::Sum | AggKind::Distinct)
    }

    /// How many consecutive windows the aggregation reads: 1, plus one per `change`.
    pub fn windows_needed(&self) -> u32 {
        match self {
            AggKind::Change(inner) => 1 + inner.windows_needed(),
            _ => 1,
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
    /// Window length; a multiple of `bin_ms` (otherwise the window covers the
    /// `ceil(window_ms / bin_ms)` bins whose start is within `window_ms` of the current one).
    pub window_ms: Millis,
    /// Bin (slide) width, > 0: the window moves in steps of this size, and the coarser it
    /// is, the smaller the window.
    pub bin_ms: Millis,
}

impl WindowSpec {
    /// How far behind the newest bin a window keeps bins (`window_ms` per window read).
    pub fn keep_ms(&self) -> Millis {
        self.window_ms
            .saturating_mul(self.agg.windows_needed() as Millis)
    }

    /// The most bins a window of this shape holds.
    pub fn max_bins(&self) -> usize {
        (self.keep_ms() / self.bin_ms.max(1)).max(1) as usize
    }
}

/// What a window reports at an evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Evaluation {
    /// The aggregate; `None` when undefined (avg of nothing, change over an empty window).
    pub value: Option<f64>,
    /// Events in the window (for `min_events` and transition records).
    pub events: u64,
    /// For `change`: events in the previous window, the baseline. `min_events` applies to
    /// it too: a jump over a near-empty previous window is noise, not a jump.
    pub baseline_events: Option<u64>,
}

/// One (rule, group) window. The serialized form holds the bins (aggregates, never events)
/// and the few times above; the merged-window caches are rebuilt after a restore.
///
/// `repr(C)`: what adding to a counting window (count, ratio, Wilson) reads and writes
/// comes first and fits in one cache line: `head`, the cached counts, `last_ms`, and the
/// newest bin's start, count and hit count (the start of its stat). The cached moments
/// come after, read by sums and averages only. The stored form keeps its own field order
/// (see the `Serialize` impl).
#[derive(Debug, Clone, PartialEq)]
#[repr(C)]
pub struct SlidingWindow {
    /// Newest bin start seen by `add` or `evaluate` (see the module docs, "Retention").
    head: Stamp,
    /// Event and hit counts of the window's bins other than its newest, for the window
    /// evaluated last. The engine evaluates every window on every event it receives; with
    /// this, an evaluation reads the newest bin only, not all of them (the older bins were
    /// cache misses on every event). Derived data, like `caches`.
    closed: ClosedCounts,
    last_ms: Stamp,
    bins: Bins,
    /// The moments of the bins [`ClosedCounts`] covers (its other half, kept apart so that
    /// counting windows do not read them).
    closed_moments: ClosedMoments,
    created_ms: Millis,
    caches: Caches,
}

/// The stored form of a [`SlidingWindow`]: postcard is positional, so this order is the
/// state layout and must not change without a migration.
#[derive(Serialize, Deserialize)]
#[serde(rename = "SlidingWindow")]
struct StoredWindow<B> {
    #[serde(rename = "c")]
    created_ms: Millis,
    #[serde(rename = "l")]
    last_ms: Option<Millis>,
    #[serde(rename = "h")]
    head: Option<Millis>,
    #[serde(rename = "b")]
    bins: B,
}

impl Serialize for SlidingWindow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredWindow { created_ms: self.created_ms, last_ms: self.last_ms.get(), head: self.head.get(), bins: &self.bins }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SlidingWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = StoredWindow::<Bins>::deserialize(d)?;
        let (head, last_ms) = (Stamp::of(w.head).map_err(<D::Error as serde::de::Error>::custom)?, Stamp::of(w.last_ms).map_err(<D::Error as serde::de::Error>::custom)?);
        Ok(SlidingWindow { head, closed: ClosedCounts::default(), last_ms, bins: w.bins, closed_moments: ClosedMoments::default(), created_ms: w.created_ms, caches: Caches::default() })
    }
}

/// See [`SlidingWindow::closed`]. Floating-point addition is not associative, so the
/// moments of a window are always folded the one way, cached or not: the older bins
/// newest first (this cache), then the newest bin. A restored or merged window, which
/// recomputes the cache, gets exactly the same sums as one that kept it.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct ClosedCounts {
    /// The window's newest bin start; none when nothing is cached.
    end: Stamp,
    /// Events and hits of the window's bins other than its newest; their moments are
    /// [`SlidingWindow::closed_moments`].
    count: u64,
    hits: u64,
}

/// See [`SlidingWindow::closed_moments`]; derived data, equal whatever it holds (as
/// [`ClosedCounts`]).
#[derive(Debug, Clone, Copy, Default)]
struct ClosedMoments(Moments);

impl PartialEq for ClosedMoments {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl PartialEq for ClosedCounts {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// An optional time in 8 bytes (an `Option<Millis>` takes 16): `Millis::MIN`, which no
/// event time can be (they are within jiff's range), stands for none. Three of them sit
/// among the few fields the per-event path reads, and 24 bytes less there is a cache line
/// less touched per (rule, event) for many series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(Millis);

impl Default for Stamp {
    fn default() -> Self {
        Stamp::NONE
    }
}

impl Stamp {
    const NONE: Stamp = Stamp(Millis::MIN);

    #[inline]
    fn at(t: Millis) -> Stamp {
        debug_assert!(t != Millis::MIN);
        Stamp(t)
    }

    #[inline]
    fn get(self) -> Option<Millis> {
        (self != Stamp::NONE).then_some(self.0)
    }

    /// `t` if none or later: the newest of the times seen.
    #[inline]
    fn raise(&mut self, t: Millis) {
        *self = Stamp::at(self.get().map_or(t, |l| l.max(t)));
    }

    /// From a stored time; `Millis::MIN` itself cannot be one.
    fn of(t: Option<Millis>) -> Result<Stamp, &'static str> {
        match t {
            Some(Millis::MIN) => Err("a window time out of range"),
            Some(t) => Ok(Stamp(t)),
            None => Ok(Stamp::NONE),
        }
    }
}

/// Merged windows for percentile/distinct, one slot per `change` depth. Derived data:
/// ignored by equality and serialization.
#[derive(Debug, Clone, Default)]
// A `ThinVec` (one pointer, 8 bytes, against a `Vec`'s 24): only percentile and distinct
// windows have caches, and every byte of a series is streamed from memory when its group
// is updated (64 bytes more per series measured 6% slower).
struct Caches(thin_vec::ThinVec<Option<Cache>>);

impl PartialEq for Caches {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[derive(Debug, Clone)]
enum Cache {
    Sketch {
        end: Millis,
        merged: MergedSketch,
    },
    Distinct {
        end: Millis,
        set: DistinctSet,
        estimate: Option<f64>,
    },
}

impl Cache {
    fn end(&self) -> Millis {
        match self {
            Cache::Sketch { end, .. } | Cache::Distinct { end, .. } => *end,
        }
    }

    fn add(&mut self, obs: &Observation, key: Option<i32>) {
        match self {
            Cache::Sketch { merged, .. } => {
                if let Some(k) = key {
                    merged.add_key(k);
                }
            }
            Cache::Distinct { set, estimate, .. } => {
                if let Some(h) = obs.hash
                    && set.insert(h)
                {
                    *estimate = None;
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Cache::Sketch { merged, .. } => merged.heap_bytes(),
            Cache::Distinct { set, .. } => set.heap_bytes(),
        }
    }
}

/// An event's sketch bucket in a window of this shape (`None` unless its bins hold
/// percentile sketches and the event has a usable number): what
/// [`SlidingWindow::add_and_evaluate`] takes precomputed.
#[inline]
pub fn sketch_key(spec: &WindowSpec, obs: &Observation) -> Option<i32> {
    if keeps_sketch(&spec.agg) { usable(obs.num).map(key_of) } else { None }
}

/// Whether the bins of `kind` hold percentile sketches.
fn keeps_sketch(kind: &AggKind) -> bool {
    match kind {
        AggKind::Percentile(_) => true,
        AggKind::Change(inner) => keeps_sketch(inner),
        _ => false,
    }
}

/// Event time covered at `now` by the window ending at bin `end`: from the start of its
/// oldest bin to `now`, and at least one bin (a window one bin wide, evaluated at the very
/// start of its bin, covers no time yet). `rate()` divides by it.
#[inline]
pub fn covered_ms(end: Millis, now: Millis, spec: &WindowSpec) -> Millis {
    let oldest = bin_start(end.saturating_sub(spec.window_ms), spec.bin_ms).saturating_add(spec.bin_ms);
    now.saturating_sub(oldest).max(spec.bin_ms)
}

/// count, rate, ratio, wilson_lower, sum, avg, min or max (`kind`) of a window with these
/// `totals`; `None` for other kinds. One definition for both evaluation paths.
/// `covered` gives the event time the window covers, for `rate` only (a division).
#[inline]
fn closed_form_value(kind: &AggKind, totals: &Totals, covered: impl FnOnce() -> Millis) -> Option<f64> {
    let (count, hits, m) = (totals.count, totals.hits, &totals.moments);
    match kind {
        AggKind::Count => Some(count as f64),
        AggKind::Rate => Some(count as f64 * 1000.0 / covered() as f64),
        AggKind::Ratio => (count > 0).then(|| hits as f64 / count as f64),
        AggKind::WilsonLower => wilson_lower(hits, count),
        AggKind::Sum => Some(m.sum),
        AggKind::Avg => (m.n > 0).then(|| m.sum / m.n as f64),
        AggKind::Min => (m.n > 0).then_some(m.min),
        AggKind::Max => (m.n > 0).then_some(m.max),
        _ => None,
    }
}

/// What the counter-like aggregations need from a window's bins.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    count: u64,
    hits: u64,
    moments: Moments,
}

impl Totals {
    /// Adds one bin's events, hits and moments.
    // `always`: on every (rule, event); LLVM's size heuristics moved it out of line once
    // (with `Bin::add`: +450 instructions per event).
    #[inline(always)]
    fn add_bin(&mut self, b: &Bin) {
        self.count += b.count as u64;
        match &b.stat {
            BinStat::Hits(h) => self.hits += *h as u64,
            BinStat::Moments(m) => self.moments.merge(m),
            _ => {}
        }
    }
}

impl SlidingWindow {
    /// An empty window; `created_ms` counts as the start of silence for `absent()`.
    pub fn new(created_ms: Millis) -> Self {
        SlidingWindow {
            created_ms,
            last_ms: Stamp::NONE,
            head: Stamp::NONE,
            // Grown as bins arrive (see `add`): most windows of a high-cardinality group are
            // sparse, and reserving every bin up front cost 840 bytes per window.
            bins: Bins::default(),
            caches: Caches::default(),
            closed: ClosedCounts::default(),
            closed_moments: ClosedMoments::default(),
        }
    }

    /// Adds an event at time `t`. Events older than what the window (and, for `change`,
    /// the previous window) covers at `now` are ignored; the caller drops late events first.
    pub fn add(&mut self, spec: &WindowSpec, t: Millis, obs: Observation) {
        self.add_keyed(spec, t, obs, sketch_key(spec, &obs));
    }

    /// [`Self::add`] with the event's [`sketch_key`] already computed.
    fn add_keyed(&mut self, spec: &WindowSpec, t: Millis, obs: Observation, key: Option<i32>) {
        let bs = self.bin_of(t, spec.bin_ms);
        self.advance(spec, bs);
        if let Some(h) = self.head.get()
            && bs <= h.saturating_sub(spec.keep_ms())
        {
            return;
        }
        self.last_ms.raise(t);
        self.bin_mut(spec, bs).add(&obs, key);

        let w = spec.window_ms;
        if let Some(end) = self.closed.end.get()
            && end.saturating_sub(w) < bs
            && bs < end
        {
            // A late event in one of the older bins the counts cover.
            self.closed.end = Stamp::NONE;
        }
        for cache in self.caches.0.iter_mut().flatten() {
            let end = cache.end();
            if end.saturating_sub(w) < bs && bs <= end {
                cache.add(&obs, key);
            }
        }
    }

    /// [`Self::add`] then [`Self::evaluate_from`], the engine's step for every (event, rule).
    /// Takes a short path when the event and `now` fall in the newest bin and the older
    /// bins' totals are cached (nearly always): it reads the newest bin and the cache, and
    /// for a percentile the merged window, instead of the two general calls (~350
    /// instructions, a third of the engine's time, for counts alone).
    ///
    /// `key` is the event's [`sketch_key`] for this window's shape: rules observing the same
    /// value share it, so the caller computes it (a logarithm) once per event, not per rule.
    #[inline]
    pub fn add_and_evaluate(&mut self, spec: &WindowSpec, t: Millis, obs: Observation, key: Option<i32>, now: Millis, min_events: u64) -> Evaluation {
        debug_assert_eq!(key, sketch_key(spec, &obs));
        let bin_ms = spec.bin_ms;
        if self.head.get().is_none() {
            // A new window (a new group's first event, the common case in a high-cardinality
            // group): what the general path would leave, set directly, so the short path
            // below applies — an empty window's older bins total nothing.
            let bs = bin_start(t, bin_ms);
            if now >= bs && now - bs < bin_ms {
                self.advance(spec, bs);
                self.set_closed(bs, Totals::default());
                self.bin_mut(spec, bs);
            }
        }
        if let Some(h) = self.head.get()
            && t >= h
            && t - h < bin_ms
            && now >= h
            && now - h < bin_ms
            && self.closed.end == Stamp::at(h)
            && let Some(b) = self.bins.newest_mut()
            && b.start == h
        {
            if let (BinStat::Sketch(_), AggKind::Percentile(p)) = (&b.stat, &spec.agg) {
                let count = self.closed.count + b.count as u64 + 1;
                let merged = match self.caches.0.first_mut() {
                    Some(Some(Cache::Sketch { end, merged })) if *end == h => Some(merged),
                    // Stale or never built: rebuilt when a value is needed, and below
                    // `min_events` none is (a sparse series never needs one).
                    _ if count < min_events => None,
                    _ => return self.add_then_evaluate(spec, t, obs, key, now, min_events),
                };
                b.add(&obs, key);
                self.last_ms.raise(t);
                let Some(merged) = merged else {
                    return Evaluation { value: None, events: count, baseline_events: None };
                };
                if let Some(k) = key {
                    merged.add_key(k);
                }
                let value = (count >= min_events).then(|| merged.quantile(*p)).flatten();
                return Evaluation { value, events: count, baseline_events: None };
            }
            if !matches!(
                (&b.stat, &spec.agg),
                (BinStat::Plain, AggKind::Count | AggKind::Rate)
                    | (BinStat::Hits(_), AggKind::Ratio | AggKind::WilsonLower)
                    | (BinStat::Moments(_), AggKind::Sum | AggKind::Avg | AggKind::Min | AggKind::Max)
            ) {
                return self.add_then_evaluate(spec, t, obs, key, now, min_events);
            }
            b.add(&obs, None);
            // The cached moments only where the aggregation reads them: they are on another
            // cache line than everything else this path touches.
            let moments = if let BinStat::Moments(_) = b.stat { self.closed_moments.0 } else { Moments::default() };
            let mut totals = Totals { count: self.closed.count, hits: self.closed.hits, moments };
            totals.add_bin(b);
            self.last_ms.raise(t);
            if totals.count < min_events {
                return Evaluation { value: None, events: totals.count, baseline_events: None };
            }
            let value = closed_form_value(&spec.agg, &totals, || covered_ms(h, now, spec));
            return Evaluation { value, events: totals.count, baseline_events: None };
        }
        self.add_then_evaluate(spec, t, obs, key, now, min_events)
    }

    #[inline(never)]
    fn add_then_evaluate(&mut self, spec: &WindowSpec, t: Millis, obs: Observation, key: Option<i32>, now: Millis, min_events: u64) -> Evaluation {
        self.add_keyed(spec, t, obs, key);
        self.evaluate_from(spec, now, min_events)
    }

    /// The aggregate over the window ending at `now` (bins whose start is after
    /// `now - window_ms`, see the module docs for the exact edge).
    pub fn evaluate(&mut self, spec: &WindowSpec, now: Millis) -> Evaluation {
        self.evaluate_from(spec, now, 0)
    }

    /// [`Self::evaluate`], leaving the value `None` (uncomputed) when the window (or, for
    /// `change`, the previous window) holds fewer than `min_events` events: the caller would not use it, and a percentile or
    /// distinct value costs a merge.
    pub fn evaluate_from(&mut self, spec: &WindowSpec, now: Millis, min_events: u64) -> Evaluation {
        let bn = self.bin_of(now, spec.bin_ms);
        self.advance(spec, bn);
        let totals = self.current_totals(bn, spec.window_ms);
        let events = totals.count;
        let baseline_events = matches!(spec.agg, AggKind::Change(_)).then(|| self.totals(self.end_at(spec, now, 1), spec.window_ms).count);
        if events < min_events || baseline_events.is_some_and(|b| b < min_events) {
            return Evaluation { value: None, events, baseline_events };
        }
        let value = self.value(&spec.agg, spec, now, 0, &totals);
        Evaluation { value, events, baseline_events }
    }

    /// Adds `other`'s events into this window (same spec): how the engine combines the
    /// windows of one series kept per input partition.
    pub fn merge(&mut self, spec: &WindowSpec, other: &SlidingWindow) {
        if let Some(h) = other.head.get() {
            self.advance(spec, h);
        }
        let floor = self.head.get().map_or(Millis::MIN, |h| h.saturating_sub(spec.keep_ms()));
        let max_older = spec.max_bins() - 1;
        for b in other.bins.iter().filter(|b| b.start > floor) {
            let mut fresh = false;
            let mine = self.bins.get_or_insert(b.start, max_older, || { fresh = true; b.clone() }, |_| {});
            if !fresh {
                mine.merge(b);
            }
        }
        self.created_ms = self.created_ms.min(other.created_ms);
        self.last_ms = match (self.last_ms.get(), other.last_ms.get()) {
            (Some(a), Some(b)) => Stamp::at(a.max(b)),
            (a, b) => a.or(b).map_or(Stamp::NONE, Stamp::at),
        };
        self.caches.0.iter_mut().for_each(|c| *c = None);
        self.closed.end = Stamp::NONE;
    }

    /// The bin starting at `bs`, created in its place when missing.
    #[inline]
    fn bin_mut(&mut self, spec: &WindowSpec, bs: Millis) -> &mut Bin {
        let agg = &spec.agg;
        // The previous newest bin is (nearly always) complete: trim its growth slack.
        self.bins.get_or_insert(bs, spec.max_bins() - 1, || Bin::new(bs, agg), |b| b.stat.shrink())
    }

    /// Time of the newest event added, if any.
    pub fn last_event_ms(&self) -> Option<Millis> {
        self.last_ms.get()
    }

    /// Approximate bytes this window occupies (struct plus heap, caches included).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.bins.heap_bytes()
            + self.bins.iter().map(|b| b.stat.heap_bytes()).sum::<usize>()
            + self.caches.0.capacity() * std::mem::size_of::<Option<Cache>>()
            + self
                .caches
                .0
                .iter()
                .flatten()
                .map(Cache::heap_bytes)
                .sum::<usize>()
    }

    /// Moves `head` forward to bin `bs` if newer, dropping bins that fell out of retention.
    #[inline(always)]
    fn advance(&mut self, spec: &WindowSpec, bs: Millis) {
        if self.head.get().is_some_and(|h| bs <= h) {
            return;
        }
        self.move_head(spec, bs);
    }

    #[inline(never)]
    fn move_head(&mut self, spec: &WindowSpec, bs: Millis) {
        self.head = Stamp::at(bs);
        let floor = bs.saturating_sub(spec.keep_ms());
        if self.bins.drop_through(floor) {
            // A cached merge may include a dropped bin (when evaluated at an older `now`).
            self.caches.0.iter_mut().for_each(|c| *c = None);
            self.closed.end = Stamp::NONE;
        }
    }

    /// [`bin_start`] of `t`, without the integer division when `t` falls in the head bin
    /// (nearly always: a division is tens of cycles, and this runs twice per event and rule).
    #[inline(always)]
    fn bin_of(&self, t: Millis, bin_ms: Millis) -> Millis {
        match self.head.get() {
            Some(h) if t >= h && t - h < bin_ms => h,
            _ => bin_start(t, bin_ms),
        }
    }

    /// Bins of the window ending at bin `end`: starts in `(end - w, end]`.
    #[inline]
    fn range(&self, end: Millis, w: Millis) -> impl Iterator<Item = &Bin> + Clone {
        let lo = end.saturating_sub(w);
        self.bins
            .iter()
            .rev()
            .skip_while(move |b| b.start > end)
            .take_while(move |b| b.start > lo)
    }

    /// Caches `totals` as those of the bins older than `end`.
    #[inline]
    fn set_closed(&mut self, end: Millis, totals: Totals) {
        self.closed = ClosedCounts { end: Stamp::at(end), count: totals.count, hits: totals.hits };
        self.closed_moments = ClosedMoments(totals.moments);
    }

    /// [`Totals`] of the window ending at bin `end`, from the cached totals of its older
    /// bins ([`ClosedCounts`]), rebuilt when `end` moved, plus its newest bin.
    #[inline]
    fn current_totals(&mut self, end: Millis, w: Millis) -> Totals {
        if self.closed.end != Stamp::at(end) {
            let older = self.older_totals(end, w);
            self.set_closed(end, older);
        }
        let mut t = Totals { count: self.closed.count, hits: self.closed.hits, moments: self.closed_moments.0 };
        let newest = match self.bins.newest() {
            Some(b) if b.start <= end => Some(b),
            _ => self.bins.iter().rev().find(|b| b.start <= end),
        };
        if let Some(b) = newest
            && b.start == end
        {
            t.add_bin(b);
        }
        t
    }

    /// [`Totals`] of the window ending at bin `end`, uncached (the previous window of
    /// `change`), folded in the same order as [`Self::current_totals`].
    #[inline]
    fn totals(&self, end: Millis, w: Millis) -> Totals {
        let mut t = self.older_totals(end, w);
        if let Some(b) = self.range(end, w).next().filter(|b| b.start == end) {
            t.add_bin(b);
        }
        t
    }

    /// [`Totals`] of the bins of the window ending at `end` other than bin `end`, newest first.
    fn older_totals(&self, end: Millis, w: Millis) -> Totals {
        let mut t = Totals::default();
        self.range(end, w).filter(|b| b.start != end).for_each(|b| t.add_bin(b));
        t
    }

    /// `kind` over the window `depth` windows before the one ending at `now`; `totals` are
    /// that window's.
    #[inline]
    fn value(
        &mut self,
        kind: &AggKind,
        spec: &WindowSpec,
        now: Millis,
        depth: usize,
        totals: &Totals,
    ) -> Option<f64> {
        let w = spec.window_ms;
        match kind {
            AggKind::Count
            | AggKind::Rate
            | AggKind::Ratio
            | AggKind::WilsonLower
            | AggKind::Sum
            | AggKind::Avg
            | AggKind::Min
            | AggKind::Max => closed_form_value(kind, totals, || {
                // A previous window of `change` is complete.
                if depth == 0 { covered_ms(self.end_at(spec, now, 0), now, spec) } else { w }
            }),
            AggKind::Absent => {
                if depth == 0 {
                    let last = self.last_ms.get().unwrap_or(self.created_ms);
                    Some(if now.saturating_sub(last) >= w {
                        1.0
                    } else {
                        0.0
                    })
                } else {
                    Some(if totals.count == 0 { 1.0 } else { 0.0 })
                }
            }
            AggKind::Percentile(p) => {
                let end = self.end_at(spec, now, depth);
                match self.cached(spec, end, depth, true) {
                    Cache::Sketch { merged, .. } => merged.quantile(*p),
                    Cache::Distinct { .. } => None,
                }
            }
            AggKind::Distinct => {
                let end = self.end_at(spec, now, depth);
                match self.cached(spec, end, depth, false) {
                    Cache::Distinct { set, estimate, .. } => {
                        Some(*estimate.get_or_insert_with(|| set.count()))
                    }
                    Cache::Sketch { .. } => None,
                }
            }
            AggKind::Change(inner) => {
                let prev_end = self.end_at(spec, now, depth + 1);
                let prev_oldest = bin_start(prev_end.saturating_sub(w), spec.bin_ms).saturating_add(spec.bin_ms);
                if inner.grows_with_time() && bin_start(self.created_ms, spec.bin_ms) > prev_oldest {
                    // The previous window began before this one existed: its total covers
                    // less time, and is no baseline.
                    return None;
                }
                let cur = self.value(inner, spec, now, depth, totals)?;
                let prev_totals = self.totals(prev_end, w);
                let prev = self.value(inner, spec, now, depth + 1, &prev_totals)?;
                (prev != 0.0).then(|| cur / prev)
            }
        }
    }

    fn end_at(&self, spec: &WindowSpec, now: Millis, depth: usize) -> Millis {
        self.bin_of(now, spec.bin_ms).saturating_sub(spec.window_ms.saturating_mul(depth as Millis))
    }

    /// The merged window ending at `end` for slot `depth`, rebuilt when stale.
    fn cached(&mut self, spec: &WindowSpec, end: Millis, depth: usize, sketch: bool) -> &mut Cache {
        if self.caches.0.len() <= depth {
            self.caches.0.resize(depth + 1, None);
        }
        let w = spec.window_ms;
        let fresh = match &self.caches.0[depth] {
            Some(c @ Cache::Sketch { .. }) => sketch && c.end() == end,
            Some(c @ Cache::Distinct { .. }) => !sketch && c.end() == end,
            None => false,
        };
        if !fresh {
            let bins = &self.bins;
            let lo = end.saturating_sub(w);
            let range = bins
                .iter()
                .rev()
                .skip_while(move |b| b.start > end)
                .take_while(move |b| b.start > lo);
            let slot = &mut self.caches.0[depth];
            let rebuilt = if sketch {
                let mut merged = match slot.take() {
                    Some(Cache::Sketch { merged, .. }) => merged,
                    _ => MergedSketch::default(),
                };
                merged.rebuild(range.filter_map(Bin::sketch));
                Cache::Sketch { end, merged }
            } else {
                let mut set = match slot.take() {
                    Some(Cache::Distinct { set, .. }) => set,
                    _ => DistinctSet::default(),
                };
                set.rebuild(range.filter_map(Bin::distinct));
                Cache::Distinct {
                    end,
                    set,
                    estimate: None,
                }
            };
            *slot = Some(rebuilt);
        }
        self.caches.0[depth]
            .as_mut()
            .expect("cache slot filled above")
    }
}
