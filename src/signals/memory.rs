//! The per-conversation memory behind the look-back signals: the previous user turn (for
//! `rephrase`) and the languages of earlier answers (for `language_switch`). Bounded in
//! count and idle time; serializable so checkpoints carry it.

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use super::config::MemoryConfig;
use super::language::LangCode;
use crate::time::Millis;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Conversation {
    pub last_seen: Millis,
    /// The previous user turn, normalized, and when it came.
    pub last_turn: Option<(Millis, String)>,
    /// How many earlier answers were in each language.
    pub answer_languages: Vec<(LangCode, u32)>,
}

impl Conversation {
    /// The language most earlier answers were in (the earliest seen wins a tie).
    pub fn dominant_language(&self) -> Option<LangCode> {
        let max = self.answer_languages.iter().map(|(_, n)| *n).max()?;
        self.answer_languages.iter().find(|(_, n)| *n == max).map(|(l, _)| *l)
    }

    pub fn record_answer(&mut self, lang: LangCode) {
        match self.answer_languages.iter_mut().find(|(l, _)| *l == lang) {
            Some((_, n)) => *n += 1,
            None => self.answer_languages.push((lang, 1)),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConversationMemory {
    conversations: HashMap<Box<str>, Conversation>,
    inserted_since_sweep: usize,
}

impl ConversationMemory {
    pub fn len(&self) -> usize {
        self.conversations.len()
    }

    /// The conversation's memory, created when new; forgets idle or excess conversations
    /// now and then (amortized O(1) per call).
    pub fn touch(&mut self, id: &str, now: Millis, config: &MemoryConfig) -> &mut Conversation {
        if !self.conversations.contains_key(id) {
            self.inserted_since_sweep += 1;
            if self.conversations.len() >= config.max_conversations || self.inserted_since_sweep > config.max_conversations / 10 + 1 {
                self.sweep(now, config);
            }
        }
        let c = self.conversations.entry(id.into()).or_default();
        c.last_seen = c.last_seen.max(now);
        c
    }

    /// Drops conversations idle longer than the TTL; if still at the cap, the oldest tenth.
    fn sweep(&mut self, now: Millis, config: &MemoryConfig) {
        self.inserted_since_sweep = 0;
        let cutoff = now - config.idle_ttl.as_millis();
        self.conversations.retain(|_, c| c.last_seen >= cutoff);
        if self.conversations.len() >= config.max_conversations {
            let mut seen: Vec<Millis> = self.conversations.values().map(|c| c.last_seen).collect();
            seen.sort_unstable();
            let keep_from = seen[(seen.len() / 10).max(1).min(seen.len() - 1)];
            self.conversations.retain(|_, c| c.last_seen >= keep_from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn bounded_by_count_and_idle_time() {
        let config = MemoryConfig { max_conversations: 100, idle_ttl: Duration(1000) };
        let mut m = ConversationMemory::default();
        for i in 0..1000 {
            m.touch(&format!("c{i}"), i, &config);
        }
        assert!(m.len() <= 100, "{}", m.len());
        m.touch("late", 10_000, &config);
        for i in 0..20 {
            m.touch(&format!("n{i}"), 10_000, &config);
        }
        assert!(m.len() <= 100);
    }

    #[test]
    fn dominant_language() {
        let mut c = Conversation::default();
        assert_eq!(c.dominant_language(), None);
        c.record_answer(*b"deu");
        c.record_answer(*b"eng");
        assert_eq!(c.dominant_language(), Some(*b"deu"));
        c.record_answer(*b"eng");
        assert_eq!(c.dominant_language(), Some(*b"eng"));
    }
}
