//! Drops a second event with an `event_id` already seen, in bounded memory.
//!
//! Remembers 64-bit hashes of ids (not the ids) for a horizon of event time, capped at a
//! maximum count, oldest forgotten first. A duplicate arriving after its original was
//! forgotten is counted again — the price of bounded memory, sized by the config.

use std::collections::VecDeque;

use hashbrown::HashSet;

use serde::{Deserialize, Serialize};

use crate::time::{Duration, Millis};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DedupConfig {
    /// How long (event time) an id is remembered.
    pub horizon: Duration,
    /// At most this many ids are remembered; beyond it the oldest is forgotten.
    pub max_ids: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig { horizon: Duration(3_600_000), max_ids: 1_000_000 }
    }
}

/// The memory of recently seen event ids. Serializable so a checkpoint can carry it —
/// whole, or as a log in chunks ([`Dedup::log_chunk`]) so a checkpoint rewrites only the
/// chunks that changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dedup {
    config: DedupConfig,
    order: VecDeque<(Millis, u64)>,
    #[serde(skip)]
    seen: HashSet<u64>,
    /// Ids ever forgotten: the log index of `order[0]`.
    #[serde(skip)]
    popped: u64,
}

/// Entries this many to a log chunk.
pub const LOG_CHUNK: u64 = 4096;

/// The small part of a [`Dedup`] stored apart from its log chunks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupHead {
    config: DedupConfig,
    popped: u64,
}

/// The remembered ids with log indexes `first..` within one chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupChunk {
    first: u64,
    entries: Vec<(Millis, u64)>,
}

impl Dedup {
    pub fn new(config: DedupConfig) -> Self {
        Dedup { config, order: VecDeque::new(), seen: HashSet::default(), popped: 0 }
    }

    /// Log indexes of the ids remembered now: `popped..len`.
    pub fn log_bounds(&self) -> (u64, u64) {
        (self.popped, self.popped + self.order.len() as u64)
    }

    pub fn head(&self) -> DedupHead {
        DedupHead { config: self.config, popped: self.popped }
    }

    /// The remembered ids of log chunk `k` (indexes `k * LOG_CHUNK ..`).
    pub fn log_chunk(&self, k: u64) -> DedupChunk {
        let (lo, hi) = self.log_bounds();
        let first = (k * LOG_CHUNK).max(lo);
        let end = ((k + 1) * LOG_CHUNK).min(hi);
        let entries = (first..end.max(first)).map(|i| self.order[(i - lo) as usize]).collect();
        DedupChunk { first, entries }
    }

    /// Rebuilds the memory from its head and its log chunks, in chunk order.
    pub fn from_log(head: DedupHead, chunks: impl IntoIterator<Item = DedupChunk>) -> Self {
        let mut d = Dedup { popped: head.popped, ..Dedup::new(head.config) };
        for c in chunks {
            let skip = head.popped.saturating_sub(c.first) as usize;
            d.order.extend(c.entries.into_iter().skip(skip));
        }
        d.restore()
    }

    /// Rebuilds the lookup set after deserialization.
    pub fn restore(mut self) -> Self {
        if self.seen.len() != self.order.len() {
            self.seen = self.order.iter().map(|(_, h)| *h).collect();
        }
        self
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// True when `id` is new (and remembers it); false for a duplicate.
    pub fn first_sighting(&mut self, id: &str, time_ms: Millis, now_ms: Millis) -> bool {
        self.forget_before(now_ms - self.config.horizon.as_millis());
        let h = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
        if !self.seen.insert(h) {
            return false;
        }
        self.order.push_back((time_ms, h));
        while self.order.len() > self.config.max_ids {
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
                self.popped += 1;
            }
        }
        true
    }

    fn forget_before(&mut self, cutoff: Millis) {
        while let Some(&(t, h)) = self.order.front() {
            if t >= cutoff {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&h);
            self.popped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_sighting_is_a_duplicate_until_forgotten() {
        let mut d = Dedup::new(DedupConfig { horizon: Duration(1000), max_ids: 3 });
        assert!(d.first_sighting("a", 0, 0));
        assert!(!d.first_sighting("a", 10, 10));
        assert!(d.first_sighting("b", 20, 20));
        // "a" is older than the horizon now.
        assert!(d.first_sighting("a", 1500, 1500));
    }

    #[test]
    fn memory_is_capped() {
        let mut d = Dedup::new(DedupConfig { horizon: Duration(1_000_000), max_ids: 100 });
        for i in 0..1000 {
            d.first_sighting(&format!("id-{i}"), i, i);
        }
        assert_eq!(d.len(), 100);
        assert!(!d.first_sighting("id-999", 999, 999));
    }

    #[test]
    fn survives_a_log_in_chunks() {
        let mut d = Dedup::new(DedupConfig { horizon: Duration(1_000_000), max_ids: 5000 });
        for i in 0..9000 {
            d.first_sighting(&format!("id-{i}"), i, i);
        }
        let (lo, hi) = d.log_bounds();
        assert_eq!((lo, hi), (4000, 9000));
        let chunks: Vec<DedupChunk> = (lo / LOG_CHUNK..=(hi - 1) / LOG_CHUNK).map(|k| d.log_chunk(k)).collect();
        let mut back = Dedup::from_log(d.head(), chunks);
        assert_eq!(back.log_bounds(), (lo, hi));
        assert!(!back.first_sighting("id-4000", 9000, 9000));
        assert!(back.first_sighting("id-3999", 9000, 9000));
    }

    #[test]
    fn survives_serialization() {
        let mut d = Dedup::new(DedupConfig::default());
        d.first_sighting("a", 0, 0);
        let json = serde_json::to_string(&d).unwrap();
        let mut back: Dedup = serde_json::from_str::<Dedup>(&json).unwrap().restore();
        assert!(!back.first_sighting("a", 1, 1));
    }
}
