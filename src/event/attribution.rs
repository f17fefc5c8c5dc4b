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
    model: Option<Box<str>>,
    provider: Option<Box<str>>,
    prompt_version: Option<Box<str>>,
    prompt_name: Option<Box<str>>,
}

/// The bounded memory of recent interactions. Serializable for checkpoints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attribution {
    config: AttributionConfig,
    by_interaction: HashMap<Box<str>, Arc<Origin>>,
    by_conversation: HashMap<Box<str>, Arc<Origin>>,
    /// Insertion order (time, interaction id, conversation id) for expiry.
    order: VecDeque<(Millis, Box<str>, Option<Box<str>>)>,
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
                    .and_then(|id| self.by_interaction.get(id))
                    .or_else(|| {
                        event.conversation.as_deref().and_then(|c| self.by_conversation.get(c))
                    });
                if let Some(o) = origin.cloned() {
                    event.response_model = o.model.clone();
                    if event.provider.is_none() {
                        event.provider = o.provider.clone();
                    }
                    if event.prompt_name.is_none() {
                        event.prompt_name = o.prompt_name.clone();
                    }
                    if let Some(v) = o.prompt_version.clone()
                        && event.prompt_version().is_none()
                    {
                        event.set_attribute("prompt.version", Scalar::Str(v));
                    }
                }
            }
        }
    }

    fn remember(&mut self, e: &Event) {
        // One shared record for both maps.
        let origin = Arc::new(Origin {
            time_ms: e.time_ms,
            model: e.model().map(Into::into),
            provider: e.provider.clone(),
            prompt_version: e.prompt_version().map(Into::into),
            prompt_name: e.prompt_name.clone(),
        });
        if let Some(c) = &e.conversation {
            let newer = self.by_conversation.get(c).is_none_or(|o| o.time_ms <= e.time_ms);
            if newer {
                self.by_conversation.insert(c.clone(), origin.clone());
            }
        }
        self.by_interaction.insert(e.id.clone(), origin);
        self.order.push_back((e.time_ms, e.id.clone(), e.conversation.clone()));
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
