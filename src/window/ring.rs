//! The bins of one window in time order, the newest kept inline and the older ones in a
//! ring on the heap.
//!
//! Nearly every event lands in the newest bin. Kept in the ring, that bin was a cache miss
//! of its own on every (rule, event) after the window's header (8 of the engine's ~60
//! last-level misses per event, measured with callgrind's cache model); inline, it shares
//! the header's cache lines. The serialized form is the plain sequence of bins, as when all
//! of them were in the ring, so stored state needs no migration.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::bins::{Bin, BinStat};
use crate::time::Millis;

/// Bins sorted by start, strictly increasing.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct Bins {
    newest: Option<Bin>,
    /// Every bin but the newest, oldest first, as a ring: `count` bins from slot `head` on,
    /// wrapping; the other slots hold empty bins awaiting reuse. Empty when `newest` is
    /// `None`. A ring, so a window sliding by one bin frees one slot and fills one, whatever
    /// its length (a vector shifted every bin: quadratic in a window of thousands of bins);
    /// on a `ThinVec` (8 bytes, a `VecDeque` is 32) because every byte of a series is
    /// streamed from memory when its group is updated.
    slots: thin_vec::ThinVec<Bin>,
    head: u32,
    count: u32,
}

impl PartialEq for Bins {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// What an unused slot holds (no heap state).
fn vacant() -> Bin {
    Bin { start: 0, count: 0, stat: BinStat::Plain }
}

impl Bins {
    /// Where the newest bin sits in a window (see `SlidingWindow`'s layout test).
    #[cfg(test)]
    pub const NEWEST_OFFSET: usize = std::mem::offset_of!(Bins, newest);

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.count as usize + usize::from(self.newest.is_some())
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.newest.is_none()
    }

    /// The older bins, oldest first, in at most two runs of slots.
    #[inline]
    fn older(&self) -> (&[Bin], &[Bin]) {
        let (head, count, len) = (self.head as usize, self.count as usize, self.slots.len());
        if head + count <= len {
            (&self.slots[head..head + count], &[])
        } else {
            (&self.slots[head..], &self.slots[..head + count - len])
        }
    }

    /// Oldest first; `.rev()` walks newest first.
    #[inline]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bin> + Clone {
        let (a, b) = self.older();
        a.iter().chain(b.iter()).chain(self.newest.iter())
    }

    #[inline]
    pub fn newest(&self) -> Option<&Bin> {
        self.newest.as_ref()
    }

    #[inline]
    pub fn newest_mut(&mut self) -> Option<&mut Bin> {
        self.newest.as_mut()
    }

    /// Drops the bins starting at or before `floor`; whether there were any.
    pub fn drop_through(&mut self, floor: Millis) -> bool {
        let mut dropped = false;
        while self.count > 0 && self.slots[self.head as usize].start <= floor {
            // The slot stays, for the next bin; what the bin held on the heap goes now.
            self.slots[self.head as usize] = vacant();
            self.head = (self.head + 1) % self.slots.len() as u32;
            self.count -= 1;
            dropped = true;
        }
        if self.count == 0 {
            self.head = 0;
            if self.newest.as_ref().is_some_and(|b| b.start <= floor) {
                self.newest = None;
                dropped = true;
            }
        }
        dropped
    }

    /// Bytes of the older bins' slots on the heap (the vector's header included), not
    /// counting what the bins themselves hold there.
    pub fn heap_bytes(&self) -> usize {
        thin_vec_bytes(&self.slots)
    }

    /// Slots reserved on the heap.
    #[cfg(test)]
    pub fn heap_slots(&self) -> usize {
        self.slots.capacity()
    }

    /// The bin starting at `start`, created by `make` in its place when missing. A new
    /// newest bin moves the previous one to the older bins, first calling `seal` on it (it
    /// is nearly always complete), growing their slots up to `max_older`, no further.
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
        self.make_contiguous();
        let count = self.count as usize;
        let mut i = count;
        while i > 0 && self.slots[i - 1].start > start {
            i -= 1;
        }
        if i > 0 && self.slots[i - 1].start == start {
            return &mut self.slots[i - 1];
        }
        self.reserve_one(max_older);
        // The vacant slot after the bins moves to `i`, the later bins one slot on.
        self.slots[i..=count].rotate_right(1);
        self.slots[i] = make();
        self.count += 1;
        &mut self.slots[i]
    }

    fn push_older(&mut self, bin: Bin, max_older: usize) {
        if (self.count as usize) == self.slots.len() {
            self.make_contiguous();
            self.reserve_one(max_older);
        }
        let at = (self.head + self.count) as usize % self.slots.len();
        self.slots[at] = bin;
        self.count += 1;
    }

    /// A vacant slot after the bins when none is left, the slots made contiguous first:
    /// the vector grows by doubling, capped at the most bins the window can hold (a full
    /// window wastes no slot, a sparse one — most of a high-cardinality group's — holds few).
    fn reserve_one(&mut self, max_older: usize) {
        let len = self.slots.len();
        if (self.count as usize) < len {
            return;
        }
        debug_assert_eq!(self.head, 0, "contiguous");
        if len == self.slots.capacity() {
            let want = (len * 2).clamp(1, max_older.max(len + 1));
            self.slots.reserve_exact(want - len);
        }
        self.slots.push(vacant());
    }

    /// Rotates the slots so the oldest bin is in the first one.
    fn make_contiguous(&mut self) {
        if self.head != 0 {
            self.slots.rotate_left(self.head as usize);
            self.head = 0;
        }
    }
}

/// Heap bytes of a `ThinVec`'s buffer: its header (length and capacity) and slots; none
/// while it has no capacity.
pub fn thin_vec_bytes<T>(v: &thin_vec::ThinVec<T>) -> usize {
    match v.capacity() {
        0 => 0,
        n => 2 * std::mem::size_of::<usize>() + n * std::mem::size_of::<T>(),
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
        let count = older.len() as u32;
        Ok(Bins { slots: thin_vec::ThinVec::from(older), head: 0, count, newest })
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
        assert!(b.drop_through(10));
        assert_eq!(starts(&b), [20, 30, 40, 50]);
        assert!(!b.drop_through(15), "nothing at or before 15 is left");
        assert_eq!(b.len(), 4);
    }

    /// A window slides bin by bin: the bins leaving it are dropped one at a time, their
    /// slots reused in place, and out-of-order bins arrive among the others.
    #[test]
    fn slides_through_thousands_of_bins_in_order() {
        let max_older = 9;
        let mut b = Bins::default();
        let mut newest = 0;
        let mut wrapped = false;
        for step in 0..5_000 {
            newest = step * 10;
            b.drop_through(newest - 10 * (max_older as Millis + 1));
            b.get_or_insert(newest, max_older, || Bin::new(newest, &AggKind::Count), |_| {}).count += 1;
            if step % 7 == 3 && step > 20 {
                // A late event two bins back.
                let late = newest - 20;
                b.get_or_insert(late, max_older, || Bin::new(late, &AggKind::Count), |_| {}).count += 1;
            }
            let expected: Vec<Millis> = (0..=max_older as Millis).rev().map(|k| newest - 10 * k).filter(|&s| s >= 0).collect();
            assert_eq!(starts(&b), expected, "after step {step}");
            assert!(b.heap_slots() <= max_older, "{} slots for {max_older} older bins", b.heap_slots());
            wrapped |= b.head > 0;
        }
        assert!(wrapped, "slots are reused in place, not shifted");
        let counts: Vec<u32> = b.iter().map(|b| b.count).collect();
        assert_eq!(counts.iter().sum::<u32>() as usize, 10 + counts.iter().filter(|&&c| c == 2).count());
        // Dead slots are not stored, and equality ignores them: a copy rebuilt from the
        // stored form is equal.
        let bytes = postcard::to_allocvec(&b).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&b.iter().cloned().collect::<Vec<Bin>>()).unwrap());
        let rebuilt: Bins = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(rebuilt, b);
        assert!(b.drop_through(newest), "the newest bin itself can leave");
        assert!(b.is_empty());
        assert_eq!(starts(&b), Vec::<Millis>::new());
    }

    #[test]
    fn a_late_bin_that_was_never_there_is_inserted_in_place() {
        let mut b = Bins::default();
        let put = |b: &mut Bins, s: Millis| b.get_or_insert(s, 16, || Bin::new(s, &AggKind::Count), |_| {}).count += 1;
        for s in [10, 20, 30, 40, 60, 70, 80, 90, 100] {
            put(&mut b, s);
        }
        assert!(b.drop_through(20));
        put(&mut b, 50);
        put(&mut b, 35);
        assert_eq!(starts(&b), [30, 35, 40, 50, 60, 70, 80, 90, 100]);
        assert!(b.drop_through(35));
        put(&mut b, 110);
        assert_eq!(starts(&b), [40, 50, 60, 70, 80, 90, 100, 110]);
        assert!(b.head > 0, "the ring has wrapped");
        put(&mut b, 45);
        put(&mut b, 65);
        assert_eq!(starts(&b), [40, 45, 50, 60, 65, 70, 80, 90, 100, 110]);
        assert!(b.drop_through(65));
        assert_eq!(starts(&b), [70, 80, 90, 100, 110]);
        assert!(b.heap_slots() <= 16);
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
