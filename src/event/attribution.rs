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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attribution {
    config: AttributionConfig,
    by_interaction: HashMap<u64, Arc<Origin>>,
    by_conversation: HashMap<u64, Arc<Origin>>,
    /// Insertion order (time, interaction hash, conversation hash) for expiry.
    order: VecDeque<(Millis, u64, Option<u64>)>,
    #[serde(skip)]
    names: Interner,
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
                    let owned = |a: &Option<Arc<str>>| a.as_deref().map(Box::<str>::from);
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
            self.by_interaction.remove(&id);
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
}
