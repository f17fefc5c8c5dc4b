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

/// The memory of recently seen event ids. Serializable so a checkpoint can carry it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dedup {
    config: DedupConfig,
    order: VecDeque<(Millis, u64)>,
    #[serde(skip)]
    seen: HashSet<u64>,
}

impl Dedup {
    pub fn new(config: DedupConfig) -> Self {
        Dedup { config, order: VecDeque::new(), seen: HashSet::default() }
    }

    /// Rebuilds the lookup set after deserialization.
    pub fn restore(mut self) -> Self {
        self.seen = self.order.iter().map(|(_, h)| *h).collect();
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
    fn survives_serialization() {
        let mut d = Dedup::new(DedupConfig::default());
        d.first_sighting("a", 0, 0);
        let json = serde_json::to_string(&d).unwrap();
        let mut back: Dedup = serde_json::from_str::<Dedup>(&json).unwrap().restore();
        assert!(!back.first_sighting("a", 1, 1));
    }
}
