//! Counts added in bulk: what the engine's lanes (`eval/lane.rs`) need from a count, ratio
//! or Wilson window — its totals at the newest bin, the value those give, and adding many
//! events to that bin at once with exactly the effect of adding them one by one.

use super::bins::BinStat;
use super::stats::Moments;
use super::{AggKind, SlidingWindow, Stamp};
use crate::time::Millis;

/// A counting window's totals at its newest bin (see [`SlidingWindow::counting_base`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountingBase {
    /// Events in the window.
    pub count: u64,
    /// Hits in the window (0 for `count()`).
    pub hits: u64,
    /// Events the newest bin can still count before its counter saturates.
    pub room: u32,
}

/// Whether [`SlidingWindow::counting_base`] applies to windows of this aggregation.
pub fn is_counting(kind: &AggKind) -> bool {
    matches!(kind, AggKind::Count | AggKind::Ratio | AggKind::WilsonLower)
}

/// The value of a counting aggregation ([`is_counting`]) over `count` events with `hits`
/// hits: what [`SlidingWindow::add_and_evaluate`] computes from the same totals.
#[inline]
pub fn counting_value(kind: &AggKind, count: u64, hits: u64) -> Option<f64> {
    debug_assert!(is_counting(kind));
    // `covered` is only read by `rate()`, which is not a counting aggregation here.
    super::closed_form_value(kind, &super::Totals { count, hits, moments: Moments::default() }, || 1)
}

impl SlidingWindow {
    /// For a counting window (count, ratio, Wilson) whose head, cached totals and newest
    /// bin are all at bin `h` — the state in which [`SlidingWindow::add_and_evaluate`] takes
    /// its short path for an event in that bin, evaluated in it — the window's event and hit
    /// counts, and how many more events its newest bin can count before saturating.
    /// `None` in any other state. With [`SlidingWindow::add_counts`], this lets a caller add
    /// events in bulk (the engine's lanes, `eval/lane.rs`) with exactly the effect of adding
    /// them one by one.
    pub fn counting_base(&self, h: Millis) -> Option<CountingBase> {
        let b = self.bins.newest()?;
        if self.head != Stamp::at(h) || self.closed.end != Stamp::at(h) || b.start != h {
            return None;
        }
        let hits = match b.stat {
            BinStat::Plain => 0,
            BinStat::Hits(x) => x,
            _ => return None,
        };
        Some(CountingBase { count: self.closed.count + b.count as u64, hits: self.closed.hits + hits as u64, room: u32::MAX - b.count })
    }

    /// Adds `count` events, `hits` of them hits, the newest at `last_ms`, to the newest
    /// bin, which starts at `h`: what adding them one by one in that bin does, for a
    /// window in the state [`SlidingWindow::counting_base`] describes.
    pub fn add_counts(&mut self, h: Millis, count: u32, hits: u32, last_ms: Millis) {
        debug_assert!(self.counting_base(h).is_some(), "a counting window at its newest bin");
        let Some(b) = self.bins.newest_mut() else { return };
        b.count = b.count.saturating_add(count);
        if let BinStat::Hits(x) = &mut b.stat {
            *x = x.saturating_add(hits);
        }
        self.last_ms.raise(last_ms);
    }
}
