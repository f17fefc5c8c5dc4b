//! A group's *lane*: a write-back cache of the newest bin of its counting members.
//!
//! An event updates every member of its group whose `when` holds; in a high-cardinality
//! group each member series is out of cache, and a count, ratio or Wilson update touched
//! two cache lines of it (docs/performance.md, ninth session). The lane keeps, side by side
//! for the group's counting members, what such an update reads and writes: the window's
//! event and hit counts, the events added since they were last written to the series, the
//! evidence clock and whether the alert is active. An event in the lane's bin adds to the
//! lane only; the series is touched when the alert may step, when a sample is due, or when
//! the lane is flushed.
//!
//! Invariant: a *valid* member's series is fed by the lane's partition alone, and its
//! window is in the state [`SlidingWindow::counting_base`] describes at the lane's bin;
//! the events the lane added since are not in that window yet. Everything other than the
//! per-event path that reads or changes a group's series — ticks, catch-up, forgetting,
//! checkpoints, restores, dropping a partition — flushes every lane first
//! (`Groups::flush_lanes`), which writes those events to the windows and invalidates the
//! members, so nothing else ever sees a window without its events. Flushing adds the
//! events in bulk with exactly the effect of adding them one by one
//! ([`SlidingWindow::add_counts`]), so transitions and stored state are the same with or
//! without lanes; a property test runs both and compares.
//!
//! [`SlidingWindow::counting_base`]: crate::window::SlidingWindow::counting_base
//! [`SlidingWindow::add_counts`]: crate::window::SlidingWindow::add_counts

use super::series::{PartitionId, Series};
use crate::time::Millis;
use crate::window::CountingBase;

/// The most members a lane serves (its bit masks are `u64`); a group with more has none.
pub const MAX_MEMBERS: usize = 64;

/// One member's cached state. 48 bytes: a lane of 16 members is 12 cache lines, read in
/// order, against two lines in each of 16 series scattered over 4 KB.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct LaneMember {
    /// The window's event and hit counts when the member was last written to its series.
    base_count: u64,
    base_hits: u64,
    /// Events and hits added since, not yet in the series' window.
    added: u32,
    added_hits: u32,
    /// The newest event time added since (`Millis::MIN` when none).
    last_ms: Millis,
    /// The series' `next_sample_ms` (only the series changes it, and the lane copies it).
    pub next_sample_ms: Millis,
    /// Events the window's newest bin could still count when last written.
    room: u32,
}

impl LaneMember {
    const EMPTY: LaneMember = LaneMember { base_count: 0, base_hits: 0, added: 0, added_hits: 0, last_ms: Millis::MIN, next_sample_ms: Millis::MIN, room: 0 };

    /// Whether one more event fits before the newest bin's counter would saturate (then the
    /// member is flushed and takes the series' own path, which saturates as it should).
    #[inline]
    pub fn has_room(&self) -> bool {
        self.added < self.room
    }

    /// Adds one event.
    #[inline]
    pub fn add(&mut self, t: Millis, hit: bool) {
        self.added += 1;
        self.added_hits += hit as u32;
        self.last_ms = self.last_ms.max(t);
    }

    /// Events in the window, the ones added since the last write included.
    #[inline]
    pub fn count(&self) -> u64 {
        self.base_count + self.added as u64
    }

    /// Hits in the window, the ones added since the last write included.
    #[inline]
    pub fn hits(&self) -> u64 {
        self.base_hits + self.added_hits as u64
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct Lane {
    /// The partition whose events the valid members hold.
    partition: PartitionId,
    /// The bin start all valid members' windows are at.
    bin: Millis,
    /// No valid member's series has a tick to catch up on before this time.
    min_next_tick: Millis,
    /// Bit per member: valid (see the module documentation).
    valid: u64,
    /// Bit per valid member: its alert is active (pending or firing).
    active: u64,
    /// By member slot; empty for a group without counting members.
    members: Box<[LaneMember]>,
}

impl Lane {
    /// A lane for a group of `members` series; none (an empty lane) when `counting` is
    /// false or the group is too large for the bit masks.
    pub fn new(members: usize, counting: bool) -> Self {
        let n = if counting && members <= MAX_MEMBERS { members } else { 0 };
        Lane { partition: 0, bin: Millis::MIN, min_next_tick: Millis::MIN, valid: 0, active: 0, members: vec![LaneMember::EMPTY; n].into_boxed_slice() }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether any member holds events its series does not have yet.
    pub fn is_flushed(&self) -> bool {
        self.valid == 0
    }

    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.members)
    }

    /// Readies the lane for an event of `partition` evaluated in bin `bin`, with ticks due
    /// up to `upto`: when any of those differ from what its valid members hold, they are
    /// flushed first and the lane starts over at that partition and bin.
    #[inline]
    pub fn prepare(&mut self, partition: PartitionId, bin: Millis, upto: Millis, series: &mut [Option<Series>]) {
        if self.valid != 0 && (self.partition != partition || self.bin != bin || upto >= self.min_next_tick) {
            self.flush_all(series);
        }
        if self.valid == 0 {
            self.partition = partition;
            self.bin = bin;
            self.min_next_tick = Millis::MAX;
        }
    }

    /// The member in slot `m` if it is valid.
    #[inline]
    pub fn valid_member(&mut self, m: usize) -> Option<&mut LaneMember> {
        if self.valid & (1 << m) != 0 { Some(&mut self.members[m]) } else { None }
    }

    #[inline]
    pub fn is_active(&self, m: usize) -> bool {
        self.active & (1 << m) != 0
    }

    #[inline]
    pub fn set_active(&mut self, m: usize, active: bool) {
        self.active = (self.active & !(1 << m)) | ((active as u64) << m);
    }

    /// Makes member `m` valid from its series, whose window has just been updated by the
    /// series' own path, if that window is in the lane's state (see the module
    /// documentation). The series has caught up on the ticks now due, so its next tick
    /// bounds how long the lane may serve it (`prepare`).
    pub fn adopt(&mut self, m: usize, series: &Series, partition: PartitionId) {
        if m >= self.members.len() || partition != self.partition || !series.parts.fed_only_by(partition) {
            return;
        }
        let Some(base) = series.parts.iter().next().filter(|p| p.partition == partition).and_then(|p| p.window.counting_base(self.bin)) else {
            return;
        };
        let CountingBase { count, hits, room } = base;
        self.members[m] = LaneMember { base_count: count, base_hits: hits, added: 0, added_hits: 0, last_ms: Millis::MIN, next_sample_ms: series.next_sample_ms(), room };
        self.valid |= 1 << m;
        self.set_active(m, series.phase.is_active());
        self.min_next_tick = self.min_next_tick.min(series.next_tick);
    }

    /// Writes member `m`'s added events to its series' window; it stays valid.
    pub fn write_back(&mut self, m: usize, series: &mut Series) {
        let lm = &mut self.members[m];
        if lm.added == 0 {
            return;
        }
        let part = series.parts.get_mut(self.partition).expect("a valid lane member's series has the lane's partition");
        part.window.add_counts(self.bin, lm.added, lm.added_hits, lm.last_ms);
        part.dirty = true;
        lm.base_count += lm.added as u64;
        lm.base_hits += lm.added_hits as u64;
        lm.room -= lm.added;
        lm.added = 0;
        lm.added_hits = 0;
        lm.last_ms = Millis::MIN;
    }

    /// Writes member `m` back and invalidates it: its series takes its own path from now.
    pub fn release(&mut self, m: usize, series: &mut Series) {
        self.write_back(m, series);
        self.valid &= !(1 << m);
    }

    /// Writes every valid member back and invalidates them all.
    pub fn flush_all(&mut self, series: &mut [Option<Series>]) {
        let mut valid = self.valid;
        while valid != 0 {
            let m = valid.trailing_zeros() as usize;
            valid &= valid - 1;
            let s = series[m].as_mut().expect("a valid lane member has a series");
            self.write_back(m, s);
        }
        self.valid = 0;
        self.active = 0;
    }
}
