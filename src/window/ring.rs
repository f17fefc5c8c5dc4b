//! The bins of one window in time order, the newest kept inline and the older ones in a
//! vector on the heap (once a ring; see `Bins::older`).
//!
//! Nearly every event lands in the newest bin. Kept in the ring, that bin was a cache miss
//! of its own on every (rule, event) after the window's header (8 of the engine's ~60
//! last-level misses per event, measured with callgrind's cache model); inline, it shares
//! the header's cache lines. The serialized form is the plain sequence of bins, as when all
//! of them were in the ring, so stored state needs no migration.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::bins::Bin;
use crate::time::Millis;

/// Bins sorted by start, strictly increasing.
#[derive(Debug, Clone, PartialEq, Default)]
#[repr(C)]
pub struct Bins {
    newest: Option<Bin>,
    /// Every bin but the newest, oldest first; empty when `newest` is `None`. A `ThinVec`
    /// (8 bytes, a `VecDeque` is 32) rather than a ring: every byte of a series is
    /// streamed from memory when its group is updated, and dropping the oldest bin (a
    /// shift of at most a window's bins) happens once per bin, not per event.
    older: thin_vec::ThinVec<Bin>,
}

impl Bins {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.older.len() + usize::from(self.newest.is_some())
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.newest.is_none()
    }

    /// Oldest first; `.rev()` walks newest first.
    #[inline]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bin> + Clone {
        self.older.iter().chain(self.newest.iter())
    }

    #[inline]
    pub fn newest(&self) -> Option<&Bin> {
        self.newest.as_ref()
    }

    #[inline]
    pub fn newest_mut(&mut self) -> Option<&mut Bin> {
        self.newest.as_mut()
    }

    pub fn oldest(&self) -> Option<&Bin> {
        self.older.first().or(self.newest.as_ref())
    }

    pub fn pop_oldest(&mut self) -> Option<Bin> {
        if self.older.is_empty() { self.newest.take() } else { Some(self.older.remove(0)) }
    }

    /// Slots reserved on the heap (for memory accounting).
    pub fn heap_slots(&self) -> usize {
        self.older.capacity()
    }

    /// The bin starting at `start`, created by `make` in its place when missing. A new
    /// newest bin moves the previous one to the ring, first calling `seal` on it (it is
    /// nearly always complete) and growing the ring up to `max_older` slots, no further.
    #[inline]
    pub fn get_or_insert(&mut self, start: Millis, max_older: usize, make: impl FnOnce() -> Bin, seal: impl FnOnce(&mut Bin)) -> &mut Bin {
        match &self.newest {
            Some(n) if n.start == start => {}
            Some(n) if n.start < start => {
                let mut previous = self.newest.take().expect("checked above");
                seal(&mut previous);
                self.push_older(previous, max_older);
                self.newest = Some(make());
            }
            None => self.newest = Some(make()),
            Some(_) => return self.older_slot(start, max_older, make),
        }
        self.newest.as_mut().expect("set above")
    }

    /// An out-of-order bin, older than the newest.
    #[cold]
    fn older_slot(&mut self, start: Millis, max_older: usize, make: impl FnOnce() -> Bin) -> &mut Bin {
        let mut i = self.older.len();
        while i > 0 && self.older[i - 1].start > start {
            i -= 1;
        }
        if i == 0 || self.older[i - 1].start != start {
            self.reserve_one(max_older);
            self.older.insert(i, make());
            i += 1;
        }
        &mut self.older[i - 1]
    }

    fn push_older(&mut self, bin: Bin, max_older: usize) {
        self.reserve_one(max_older);
        self.older.push(bin);
    }

    /// Doubling, capped at the most bins the window can hold: a full window wastes no
    /// slot, a sparse one (most of a high-cardinality group's) holds few.
    fn reserve_one(&mut self, max_older: usize) {
        let len = self.older.len();
        if len == self.older.capacity() {
            let want = (len * 2).clamp(1, max_older.max(len + 1));
            self.older.reserve_exact(want - len);
        }
    }
}

impl Serialize for Bins {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Bins {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut older = Vec::<Bin>::deserialize(d)?;
        if older.iter().zip(older.iter().skip(1)).any(|(a, b)| a.start >= b.start) {
            return Err(serde::de::Error::custom("window bins out of order"));
        }
        let newest = older.pop();
        let older = thin_vec::ThinVec::from(older);
        Ok(Bins { older, newest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use crate::window::AggKind;

    fn starts(b: &Bins) -> Vec<Millis> {
        b.iter().map(|b| b.start).collect()
    }

    fn add(b: &mut Bins, start: Millis) {
        b.get_or_insert(start, 4, || Bin::new(start, &AggKind::Count), |_| {}).count += 1;
    }

    #[test]
    fn keeps_bins_sorted_whatever_the_arrival_order() {
        let mut b = Bins::default();
        for s in [30, 10, 50, 20, 50, 40, 10] {
            add(&mut b, s);
        }
        assert_eq!(starts(&b), [10, 20, 30, 40, 50]);
        assert_eq!(b.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 1, 1, 1, 2]);
        assert_eq!(b.newest().map(|b| b.start), Some(50));
        assert_eq!(b.iter().rev().map(|b| b.start).collect::<Vec<_>>(), [50, 40, 30, 20, 10]);
        assert_eq!(b.pop_oldest().map(|b| b.start), Some(10));
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn serializes_as_the_plain_sequence() {
        let mut b = Bins::default();
        for s in [10, 20, 30] {
            add(&mut b, s);
        }
        let plain: VecDeque<Bin> = b.iter().cloned().collect();
        let bytes = postcard::to_allocvec(&b).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&plain).unwrap());
        assert_eq!(postcard::from_bytes::<Bins>(&bytes).unwrap(), b);
        let empty = postcard::to_allocvec(&Bins::default()).unwrap();
        assert!(postcard::from_bytes::<Bins>(&empty).unwrap().is_empty());
        let unsorted = postcard::to_allocvec(&vec![Bin::new(20, &AggKind::Count), Bin::new(10, &AggKind::Count)]).unwrap();
        assert!(postcard::from_bytes::<Bins>(&unsorted).is_err());
    }
}
