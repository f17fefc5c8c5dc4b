//! Gives feedback and outcome events the model, provider and prompt version of the
//! interaction they are about (events.md, "Feedback attribution").
//!
//! Looks up the interaction by `interaction_id`, else the conversation's latest
//! interaction; both maps are bounded in count and in event-time age.

use std::collections::VecDeque;
use std::sync::Arc;

use hashbrown::HashMap;

use serde::{Deserialize, Serialize};

use super::{Event, EventKind, Scalar};
use crate::time::{Duration, Millis};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionConfig {
    /// How long after an interaction its feedback can still be attributed.
    pub ttl: Duration,
    /// At most this many interactions (and as many conversations) are remembered.
    pub max_entries: usize,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig { ttl: Duration(24 * 3_600_000), max_entries: 200_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Origin {
    time_ms: Millis,
    model: Option<Arc<str>>,
    provider: Option<Arc<str>>,
    prompt_version: Option<Arc<str>>,
    prompt_name: Option<Arc<str>>,
}

/// The bounded memory of recent interactions. Serializable for checkpoints.
///
/// Keyed by 64-bit hashes of the ids rather than the ids, and with model, provider and
/// prompt names interned: remembering an interaction then costs one small allocation
/// instead of eight string copies (it runs for every interaction).
///
/// For checkpoints it splits into a small head (settings, the conversation map) and a log
/// of the remembered interactions in chunks ([`Attribution::log_chunk`]): entries are only
/// ever appended and forgotten oldest first, so a chunk once full never changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attribution {
    config: AttributionConfig,
    by_interaction: HashMap<u64, Arc<Origin>>,
    by_conversation: HashMap<u64, Arc<Origin>>,
    /// Insertion order (time, interaction hash, conversation hash) for expiry.
    order: VecDeque<(Millis, u64, Option<u64>)>,
    #[serde(skip)]
    names: Interner,
    /// Interactions ever forgotten: the log index of `order[0]`.
    #[serde(skip)]
    popped: u64,
}

/// The part of an [`Attribution`] stored apart from its log chunks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributionHead {
    config: AttributionConfig,
    popped: u64,
    by_conversation: HashMap<u64, Arc<Origin>>,
}

/// The remembered interactions with log indexes `first..` within one chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributionChunk {
    first: u64,
    entries: Vec<(u64, Option<u64>, Arc<Origin>)>,
}

/// Shares the few distinct model, provider and prompt names; bounded, so a stream of
/// random names cannot grow it without limit (past the cap, names are simply not shared).
#[derive(Debug, Clone, Default)]
struct Interner(HashMap<Box<str>, Arc<str>>);

impl Interner {
    const CAP: usize = 10_000;

    fn get(&mut self, s: Option<&str>) -> Option<Arc<str>> {
        let s = s?;
        if let Some(a) = self.0.get(s) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(s);
        if self.0.len() < Self::CAP {
            self.0.insert(s.into(), a.clone());
        }
        Some(a)
    }
}

fn key(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

impl Attribution {
    pub fn new(config: AttributionConfig) -> Self {
        Attribution { config, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.by_interaction.len()
    }

    /// Log indexes of the interactions remembered now: `popped..len`.
    pub fn log_bounds(&self) -> (u64, u64) {
        (self.popped, self.popped + self.order.len() as u64)
    }

    pub fn head(&self) -> AttributionHead {
        AttributionHead { config: self.config, popped: self.popped, by_conversation: self.by_conversation.clone() }
    }

    /// The remembered interactions of log chunk `k` (indexes `k * LOG_CHUNK ..`).
    pub fn log_chunk(&self, k: u64) -> AttributionChunk {
        use super::dedup::LOG_CHUNK;
        let (lo, hi) = self.log_bounds();
        let first = (k * LOG_CHUNK).max(lo);
        let end = ((k + 1) * LOG_CHUNK).min(hi);
        let entries = (first..end.max(first))
            .filter_map(|i| {
                let (_, id, conv) = self.order[(i - lo) as usize];
                // A live entry always has its interaction remembered (see `pop_oldest`).
                self.by_interaction.get(&id).map(|o| (id, conv, o.clone()))
            })
            .collect();
        AttributionChunk { first, entries }
    }

    /// Rebuilds the memory from its head and its log chunks, in chunk order: the newest
    /// entry of an interaction id is the one remembered, as it was.
    pub fn from_log(head: AttributionHead, chunks: impl IntoIterator<Item = AttributionChunk>) -> Self {
        let mut a = Attribution { config: head.config, popped: head.popped, by_conversation: head.by_conversation, ..Default::default() };
        for c in chunks {
            let skip = head.popped.saturating_sub(c.first) as usize;
            for (id, conv, origin) in c.entries.into_iter().skip(skip) {
                a.order.push_back((origin.time_ms, id, conv));
                a.by_interaction.insert(id, origin);
            }
        }
        a
    }

    pub fn is_empty(&self) -> bool {
        self.by_interaction.is_empty()
    }

    /// Remembers an interaction, or fills in a feedback/outcome event that lacks a model.
    pub fn apply(&mut self, event: &mut Event, now_ms: Millis) {
        self.expire(now_ms - self.config.ttl.as_millis());
        match event.kind {
            EventKind::Interaction => self.remember(event),
            EventKind::Feedback | EventKind::Outcome => {
                if event.model().is_some() {
                    return;
                }
                let origin = event
                    .interaction_id
                    .as_deref()
                    .and_then(|id| self.by_interaction.get(&key(id)))
                    .or_else(|| event.conversation.as_deref().and_then(|c| self.by_conversation.get(&key(c))));
                if let Some(o) = origin.cloned() {
                    let owned = |a: &Option<Arc<str>>| a.as_deref().map(super::Text::from);
                    event.response_model = owned(&o.model);
                    if event.provider.is_none() {
                        event.provider = owned(&o.provider);
                    }
                    if event.prompt_name.is_none() {
                        event.prompt_name = owned(&o.prompt_name);
                    }
                    if let Some(v) = owned(&o.prompt_version)
                        && event.prompt_version().is_none()
                    {
                        event.set_attribute("prompt.version", Scalar::Str(v));
                    }
                }
            }
        }
    }

    fn remember(&mut self, e: &Event) {
        let origin = Arc::new(Origin {
            time_ms: e.time_ms,
            model: self.names.get(e.model()),
            provider: self.names.get(e.provider.as_deref()),
            prompt_version: self.names.get(e.prompt_version()),
            prompt_name: self.names.get(e.prompt_name.as_deref()),
        });
        let conv = e.conversation.as_deref().map(key);
        if let Some(c) = conv {
            let newer = self.by_conversation.get(&c).is_none_or(|o| o.time_ms <= e.time_ms);
            if newer {
                self.by_conversation.insert(c, origin.clone());
            }
        }
        let id = key(&e.id);
        self.by_interaction.insert(id, origin);
        self.order.push_back((e.time_ms, id, conv));
        while self.order.len() > self.config.max_entries {
            self.pop_oldest();
        }
    }

    fn expire(&mut self, cutoff: Millis) {
        while self.order.front().is_some_and(|(t, _, _)| *t < cutoff) {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((t, id, conv)) = self.order.pop_front() {
            self.popped += 1;
            // Only this entry's origin: a newer entry of the same id stays remembered.
            if self.by_interaction.get(&id).is_some_and(|o| o.time_ms == t) {
                self.by_interaction.remove(&id);
            }
            if let Some(c) = conv
                && self.by_conversation.get(&c).is_some_and(|o| o.time_ms <= t)
            {
                self.by_conversation.remove(&c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interaction(id: &str, t: Millis, conv: &str, model: &str) -> Event {
        let mut e = Event::new(id, t, EventKind::Interaction);
        e.conversation = Some(conv.into());
        e.response_model = Some(model.into());
        e.provider = Some("openai".into());
        e.set_attribute("prompt.version", Scalar::Str("v7".into()));
        e
    }

    #[test]
    fn feedback_takes_the_referenced_interaction_else_the_conversation_latest() {
        let mut a = Attribution::new(AttributionConfig::default());
        a.apply(&mut interaction("i1", 0, "c1", "m-old"), 0);
        a.apply(&mut interaction("i2", 10, "c1", "m-new"), 10);
        let mut f = Event::new("f1", 20, EventKind::Feedback);
        f.interaction_id = Some("i1".into());
        f.conversation = Some("c1".into());
        a.apply(&mut f, 20);
        assert_eq!(f.model(), Some("m-old"));
        assert_eq!(f.prompt_version(), Some("v7"));
        let mut o = Event::new("o1", 30, EventKind::Outcome);
        o.conversation = Some("c1".into());
        a.apply(&mut o, 30);
        assert_eq!(o.model(), Some("m-new"));
        assert_eq!(o.provider.as_deref(), Some("openai"));
    }

    #[test]
    fn forgets_after_the_ttl_and_beyond_the_cap() {
        let mut a = Attribution::new(AttributionConfig { ttl: Duration(100), max_entries: 2 });
        a.apply(&mut interaction("i1", 0, "c1", "m1"), 0);
        let mut f = Event::new("f1", 500, EventKind::Feedback);
        f.interaction_id = Some("i1".into());
        a.apply(&mut f, 500);
        assert_eq!(f.model(), None);
        for i in 0..10 {
            a.apply(&mut interaction(&format!("x{i}"), 600 + i, &format!("c{i}"), "m"), 600 + i);
        }
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn survives_a_log_in_chunks() {
        use crate::event::dedup::LOG_CHUNK;
        let mut a = Attribution::new(AttributionConfig { ttl: Duration(1_000_000), max_entries: 5000 });
        for i in 0..9000 {
            a.apply(&mut interaction(&format!("i{i}"), i, &format!("c{}", i % 7), &format!("m{i}")), i);
        }
        let (lo, hi) = a.log_bounds();
        assert_eq!((lo, hi), (4000, 9000));
        let chunks: Vec<AttributionChunk> = (lo / LOG_CHUNK..=(hi - 1) / LOG_CHUNK).map(|k| a.log_chunk(k)).collect();
        let mut back = Attribution::from_log(a.head(), chunks);
        assert_eq!(back.log_bounds(), (lo, hi));
        assert_eq!(back.len(), a.len());
        let mut f = Event::new("f", 9000, EventKind::Feedback);
        f.interaction_id = Some("i4321".into());
        back.apply(&mut f, 9000);
        assert_eq!(f.model(), Some("m4321"));
        let mut o = Event::new("o", 9000, EventKind::Outcome);
        o.conversation = Some("c3".into());
        back.apply(&mut o, 9000);
        assert_eq!(o.model(), Some("m8998"));
    }
}
