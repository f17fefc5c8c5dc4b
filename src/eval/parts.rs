//! The per-partition windows of one series, the first one stored inline.
//!
//! Nearly every series is fed by one partition, and a `Vec` of one part cost a heap
//! allocation (with room for four) and a dependent cache miss on every event; keeping the
//! first part in the series removes both. Order is that of insertion, as with a `Vec`, so
//! merges (floating-point sums) happen in the same order.

use super::series::{Part, PartitionId};
use crate::window::SlidingWindow;

#[derive(Debug, Clone)]
#[repr(C)]
pub struct Parts {
    /// Parts after the first; empty whenever `first` is. Before `first`: its length
    /// and `first`'s hot fields are read together on every event (see `Series`).
    /// A `ThinVec` (8 bytes, a `Vec` is 24): every byte of a series is streamed from
    /// memory when its group is updated, and this is nearly always empty.
    rest: thin_vec::ThinVec<Part>,
    /// The first part, or an empty window under [`NO_PARTITION`]. Not an `Option`: its
    /// niche was the capacity of the window's older bins, in the series' fourth cache
    /// line, so asking "is there a part" on every event cost a cache line of its own.
    first: Part,
}

/// The partition of an absent first part; no input partition has this id (callers number
/// theirs from 0: replay's is 0, the daemon's are indices of its assigned partitions).
const NO_PARTITION: PartitionId = PartitionId::MAX;

impl Default for Parts {
    fn default() -> Self {
        Parts { rest: thin_vec::ThinVec::new(), first: Part { partition: NO_PARTITION, dirty: false, window: SlidingWindow::new(0) } }
    }
}

impl Parts {
    /// Where the first part sits in a series (see `Series`' layout test).
    #[cfg(test)]
    pub const FIRST_OFFSET: usize = std::mem::offset_of!(Parts, first);

    pub fn is_empty(&self) -> bool {
        self.first.partition == NO_PARTITION
    }

    fn first_part(&self) -> Option<&Part> {
        (!self.is_empty()).then_some(&self.first)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Part> {
        self.first_part().into_iter().chain(self.rest.iter())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Part> {
        let first = (!self.is_empty()).then_some(&mut self.first);
        first.into_iter().chain(self.rest.iter_mut())
    }

    pub fn len(&self) -> usize {
        usize::from(!self.is_empty()) + self.rest.len()
    }

    pub fn push(&mut self, part: Part) {
        debug_assert!(part.partition != NO_PARTITION);
        if self.is_empty() {
            self.first = part;
        } else {
            self.rest.push(part);
        }
    }

    /// Keeps the parts for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Part) -> bool) {
        self.rest.retain(&mut keep);
        if !self.is_empty() && !keep(&self.first) {
            self.first = if self.rest.is_empty() { Parts::default().first } else { self.rest.remove(0) };
        }
    }

    /// The part of `partition`, if any.
    #[inline]
    pub fn get_mut(&mut self, partition: u32) -> Option<&mut Part> {
        debug_assert_ne!(partition, NO_PARTITION, "not an input partition");
        if self.first.partition == partition {
            Some(&mut self.first)
        } else if self.is_empty() {
            None
        } else {
            self.rest.iter_mut().find(|p| p.partition == partition)
        }
    }

    /// Whether no partition but `partition` feeds these parts (nearly always, on the
    /// per-event path): none yet, or that one alone.
    #[inline]
    pub fn fed_only_by(&self, partition: PartitionId) -> bool {
        self.rest.is_empty() && (self.first.partition == partition || self.is_empty())
    }

    /// The first part and the others (for merging), or `None` when empty.
    pub fn split_first_mut(&mut self) -> Option<(&mut Part, &[Part])> {
        (!self.is_empty()).then(|| (&mut self.first, self.rest.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(partition: u32) -> Part {
        Part { partition, window: SlidingWindow::new(0), dirty: false }
    }

    fn ids(p: &Parts) -> Vec<u32> {
        p.iter().map(|p| p.partition).collect()
    }

    #[test]
    fn keeps_insertion_order_through_retain() {
        let mut p = Parts::default();
        assert!(p.is_empty());
        for i in [3, 1, 2, 5] {
            p.push(part(i));
        }
        assert_eq!(ids(&p), [3, 1, 2, 5]);
        p.retain(|x| x.partition != 3);
        assert_eq!(ids(&p), [1, 2, 5]);
        p.retain(|x| x.partition != 2);
        assert_eq!(ids(&p), [1, 5]);
        assert_eq!(p.get_mut(5).map(|x| x.partition), Some(5));
        assert!(p.get_mut(3).is_none());
        p.retain(|_| false);
        assert!(p.is_empty());
    }

    #[test]
    fn knows_when_one_partition_alone_feeds_it() {
        let mut p = Parts::default();
        assert!(p.fed_only_by(3) && p.fed_only_by(0), "no part yet: the first event's partition will be the only one");
        assert_eq!(p.len(), 0);
        p.push(part(3));
        assert!(p.fed_only_by(3));
        assert!(!p.fed_only_by(4));
        p.push(part(4));
        assert!(!p.fed_only_by(3) && !p.fed_only_by(4));
        p.retain(|x| x.partition == 4);
        assert!(p.fed_only_by(4) && !p.fed_only_by(3));
        assert_eq!(ids(&p), [4]);
    }
}
