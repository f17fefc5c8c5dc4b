//! Derived per-event signals (`signal.*` in rules): pure functions of an event, plus a
//! bounded per-conversation memory for the two signals that look back (rephrase,
//! language switch).
//!
//! Invariant: computes only the signals a loaded rule needs ([`SignalSet`]), each at most
//! once per event; knows nothing of rules, windows or alerts.

use serde::{Deserialize, Serialize};

mod config;
mod cost;
mod json;
mod language;
mod memory;
pub mod pii;
mod refusal;
mod rephrase;
mod stored;

pub use config::{merge_prices, FeedbackConfig, FeedbackScale, LanguageConfig, MemoryConfig, Price, RephraseConfig, SignalConfig};
pub use language::LangCode;

/// The first `n` characters of `text` (all of it when shorter). A text of at most `n`
/// bytes has at most `n` characters, so the common short text is not walked.
pub fn prefix_chars(text: &str, n: usize) -> &str {
    if text.len() <= n {
        return text;
    }
    // Most texts start with ASCII, checked a word at a time: then the cut is at byte n.
    if text.as_bytes()[..n].is_ascii() {
        return &text[..n];
    }
    text.char_indices().nth(n).map_or(text, |(i, _)| &text[..i])
}

use cost::PriceTable;
use language::LanguageDetector;
use memory::ConversationMemory;
use refusal::RefusalMatcher;

use crate::event::{Event, EventKind, Outcome};
use crate::field::{FieldType, Value};

/// Every derived signal. The order is the documentation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SignalId {
    EmptyResponse,
    Truncated,
    Refusal,
    LanguageMismatch,
    LanguageSwitch,
    InvalidJson,
    Error,
    RateLimited,
    Rephrase,
    PiiLeak,
    CostUsd,
    OutputChars,
    TokensPerSecond,
    NegativeFeedback,
    Escalated,
    Abandoned,
}

impl SignalId {
    pub const ALL: [SignalId; 16] = [
        SignalId::EmptyResponse,
        SignalId::Truncated,
        SignalId::Refusal,
        SignalId::LanguageMismatch,
        SignalId::LanguageSwitch,
        SignalId::InvalidJson,
        SignalId::Error,
        SignalId::RateLimited,
        SignalId::Rephrase,
        SignalId::PiiLeak,
        SignalId::CostUsd,
        SignalId::OutputChars,
        SignalId::TokensPerSecond,
        SignalId::NegativeFeedback,
        SignalId::Escalated,
        SignalId::Abandoned,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SignalId::EmptyResponse => "empty_response",
            SignalId::Truncated => "truncated",
            SignalId::Refusal => "refusal",
            SignalId::LanguageMismatch => "language_mismatch",
            SignalId::LanguageSwitch => "language_switch",
            SignalId::InvalidJson => "invalid_json",
            SignalId::Error => "error",
            SignalId::RateLimited => "rate_limited",
            SignalId::Rephrase => "rephrase",
            SignalId::PiiLeak => "pii_leak",
            SignalId::CostUsd => "cost_usd",
            SignalId::OutputChars => "output_chars",
            SignalId::TokensPerSecond => "tokens_per_second",
            SignalId::NegativeFeedback => "negative_feedback",
            SignalId::Escalated => "escalated",
            SignalId::Abandoned => "abandoned",
        }
    }

    pub fn from_name(name: &str) -> Option<SignalId> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn ty(self) -> FieldType {
        match self {
            SignalId::CostUsd | SignalId::OutputChars | SignalId::TokensPerSecond => FieldType::Num,
            _ => FieldType::Bool,
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of signals: what the loaded rules need computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignalSet(u32);

impl SignalSet {
    pub const EMPTY: SignalSet = SignalSet(0);

    pub fn all() -> Self {
        SignalId::ALL.into_iter().collect()
    }

    pub fn insert(&mut self, id: SignalId) {
        self.0 |= id.bit();
    }

    pub fn contains(self, id: SignalId) -> bool {
        self.0 & id.bit() != 0
    }

    pub fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = SignalId> {
        SignalId::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<SignalId> for SignalSet {
    fn from_iter<I: IntoIterator<Item = SignalId>>(iter: I) -> Self {
        let mut s = SignalSet::EMPTY;
        for id in iter {
            s.insert(id);
        }
        s
    }
}

/// One signal's value for one event. `Null` when the signal does not apply (a language
/// signal on a feedback event, text too short to detect) or was not computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub enum SignalValue {
    #[default]
    Null,
    Bool(bool),
    Num(f64),
}

/// The computed signals of one event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    values: [SignalValue; 16],
}

impl Signals {
    pub fn get(&self, id: SignalId) -> Value<'static> {
        match self.values[id as usize] {
            SignalValue::Null => Value::Null,
            SignalValue::Bool(b) => Value::Bool(b),
            SignalValue::Num(n) => Value::Num(n),
        }
    }

    pub fn set(&mut self, id: SignalId, v: SignalValue) {
        self.values[id as usize] = v;
    }
}

/// Computes signals; owns the per-conversation memory the look-back signals need.
/// Serializes as its config and memory; the compiled matchers are rebuilt on load.
pub struct SignalEngine {
    config: SignalConfig,
    memory: ConversationMemory,
    refusal: RefusalMatcher,
    language: LanguageDetector,
    prices: PriceTable,
    pii_allow: pii::Allowed,
}

impl SignalEngine {
    pub fn new(config: SignalConfig) -> Self {
        Self::with_memory(config, ConversationMemory::default())
    }

    /// The same conversation memory under `config`: a restored partition's signals follow
    /// the settings the engine runs with now, not those it was stored under.
    pub fn reconfigure(&mut self, config: SignalConfig) {
        let memory = std::mem::take(&mut self.memory);
        *self = Self::with_memory(config, memory);
    }

    fn with_memory(config: SignalConfig, memory: ConversationMemory) -> Self {
        // Phrases are escaped, so the only possible error is the regex size limit; an
        // oversized list then matches nothing (and `SignalConfig::validate` says why).
        let refusal = RefusalMatcher::new(&config.refusal_phrases, config.refusal_scan_chars)
            .unwrap_or_else(|_| RefusalMatcher::new(&[], 0).expect("empty matcher"));
        SignalEngine {
            language: LanguageDetector::new(&config.language),
            prices: PriceTable::new(&config.prices),
            pii_allow: pii::Allowed::new(&config.pii_allow),
            refusal,
            memory,
            config,
        }
    }

    pub fn config(&self) -> &SignalConfig {
        &self.config
    }

    /// Conversations currently remembered.
    pub fn conversations(&self) -> usize {
        self.memory.len()
    }

    /// Computes the signals in `needs` for one event (each at most once), updating the
    /// conversation memory only when a look-back signal is needed.
    pub fn compute(&mut self, e: &Event, needs: SignalSet) -> Signals {
        let mut s = Signals::default();
        if needs.is_empty() {
            return s;
        }
        match e.kind {
            EventKind::Interaction => self.interaction(e, needs, &mut s),
            EventKind::Feedback => {
                if needs.contains(SignalId::NegativeFeedback)
                    && let Some(score) = e.score
                {
                    s.set(SignalId::NegativeFeedback, SignalValue::Bool(self.is_negative(score)));
                }
            }
            EventKind::Outcome => {
                if let Some(o) = e.outcome {
                    if needs.contains(SignalId::Escalated) {
                        s.set(SignalId::Escalated, SignalValue::Bool(o == Outcome::Escalated));
                    }
                    if needs.contains(SignalId::Abandoned) {
                        s.set(SignalId::Abandoned, SignalValue::Bool(o == Outcome::Abandoned));
                    }
                }
            }
        }
        s
    }

    fn is_negative(&self, score: f64) -> bool {
        let rating = |x: f64| x <= self.config.feedback.rating_negative_at_most;
        match self.config.feedback.scale {
            FeedbackScale::Thumbs => score < 0.0,
            FeedbackScale::Rating => rating(score),
            FeedbackScale::Auto => score < 0.0 || (score > 1.0 && rating(score)),
        }
    }

    fn interaction(&mut self, e: &Event, needs: SignalSet, s: &mut Signals) {
        use SignalValue::{Bool, Num};
        let failed = e.error_type.is_some();
        let output = e.output.as_deref();
        let input = e.input.as_deref();
        let want = |id| needs.contains(id);
        if want(SignalId::Error) {
            s.set(SignalId::Error, Bool(failed));
        }
        if want(SignalId::RateLimited) {
            let limited = e.error_type.as_deref().is_some_and(|t| {
                // `openai.RateLimitError` is `RateLimitError`.
                let last = t.rsplit('.').next().unwrap_or(t);
                self.config.rate_limit_errors.iter().any(|r| r.eq_ignore_ascii_case(t) || r.eq_ignore_ascii_case(last))
            });
            s.set(SignalId::RateLimited, Bool(limited));
        }
        if want(SignalId::Truncated) {
            // OpenAI `length`, Anthropic `max_tokens`, Gemini `MAX_TOKENS`.
            let cut = e.finish_reasons.iter().any(|r| r.eq_ignore_ascii_case("length") || r.eq_ignore_ascii_case("max_tokens"));
            s.set(SignalId::Truncated, Bool(cut));
        }
        if want(SignalId::EmptyResponse) && !failed && !answers_without_text(e) {
            // Without the output (content capture off) there is nothing to judge: null.
            if let Some(o) = output {
                s.set(SignalId::EmptyResponse, Bool(is_blank(o)));
            }
        }
        if want(SignalId::OutputChars)
            && let Some(o) = output
        {
            s.set(SignalId::OutputChars, Num(o.chars().count() as f64));
        }
        if want(SignalId::Refusal)
            && let Some(o) = output.filter(|o| !is_blank(o))
        {
            s.set(SignalId::Refusal, Bool(self.refusal.is_refusal(o)));
        }
        if want(SignalId::InvalidJson) && !failed && !answers_without_text(e) {
            let expects_json = e.output_type.as_deref().is_some_and(json::asks_for_json) || e.attribute("expected_format").as_str().is_some_and(json::asks_for_json);
            // Without the output (content capture off) there is nothing to judge: null, as
            // for every other text signal, not a false alarm on every call.
            if expects_json && let Some(o) = output {
                s.set(SignalId::InvalidJson, Bool(!json::is_valid_json(o)));
            }
        }
        if want(SignalId::PiiLeak)
            && let Some(o) = output
        {
            s.set(SignalId::PiiLeak, Bool(pii::leaks(input, o, &self.pii_allow)));
        }
        if want(SignalId::CostUsd)
            && let Some(model) = e.model()
            && (e.input_tokens.is_some() || e.output_tokens.is_some())
            && let Some(cost) = self.prices.cost(model, e.input_tokens.unwrap_or(0.0), e.output_tokens.unwrap_or(0.0))
        {
            s.set(SignalId::CostUsd, Num(cost));
        }
        if want(SignalId::TokensPerSecond)
            && !failed
            && let (Some(tokens), Some(latency)) = (e.output_tokens, e.latency_ms)
        {
            // Generation time under 1 ms, or no output tokens, gives no meaningful rate.
            let generating_ms = latency - e.ttft_ms.unwrap_or(0.0);
            if tokens > 0.0 && generating_ms >= 1.0 {
                s.set(SignalId::TokensPerSecond, Num(tokens / (generating_ms / 1000.0)));
            }
        }
        // The answer's language is detected at most once, for both language signals.
        let mut answer_lang = None;
        if want(SignalId::LanguageMismatch) || want(SignalId::LanguageSwitch) {
            answer_lang = output.and_then(|o| self.language.detect(o));
        }
        if want(SignalId::LanguageMismatch)
            && let (Some(a), Some(q)) = (answer_lang, input.and_then(|i| self.language.detect(i)))
        {
            s.set(SignalId::LanguageMismatch, Bool(a != q));
        }
        let Some(conv) = e.conversation.as_deref() else { return };
        if want(SignalId::LanguageSwitch)
            && let Some(a) = answer_lang
        {
            let c = self.memory.touch(conv, e.time_ms, &self.config.memory);
            if let Some(dominant) = c.dominant_language() {
                s.set(SignalId::LanguageSwitch, Bool(a != dominant));
            }
            c.record_answer(a);
        }
        if want(SignalId::Rephrase)
            && let Some(text) = input
        {
            let cfg = &self.config.rephrase;
            let turn = rephrase::normalize(text, cfg.max_chars);
            if !turn.is_empty() {
                let long_enough = rephrase::long_enough(&turn, cfg.min_words, cfg.min_chars);
                let c = self.memory.touch(conv, e.time_ms, &self.config.memory);
                match &c.last_turn {
                    // An earlier turn arriving late: not compared, and the newer turn stays.
                    Some((t, _)) if e.time_ms < *t => return,
                    Some((t, previous)) if long_enough => {
                        let again = e.time_ms - t <= cfg.within.as_millis()
                            && rephrase::long_enough(previous, cfg.min_words, cfg.min_chars)
                            && rephrase::similarity(previous, &turn) >= cfg.min_similarity;
                        s.set(SignalId::Rephrase, Bool(again));
                    }
                    _ => {}
                }
                c.last_turn = Some((e.time_ms, turn));
            }
        }
    }
}

/// Text that shows nothing: empty, or only whitespace, zero-width characters and BOMs.
fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'))
}

/// A call whose answer is not text: a tool call (`tool_calls`, Anthropic `tool_use`,
/// legacy `function_call`), an embedding or a tool execution. Its output being empty is
/// no empty response.
fn answers_without_text(e: &Event) -> bool {
    e.finish_reasons.iter().any(|r| ["tool_calls", "tool_use", "function_call"].iter().any(|t| r.eq_ignore_ascii_case(t)))
        || e.operation.as_deref().is_some_and(|op| op.eq_ignore_ascii_case("embeddings") || op.eq_ignore_ascii_case("execute_tool"))
}

#[derive(Serialize, Deserialize)]
struct SignalState {
    /// Not read back: see [`stored`].
    config: stored::FrozenSettings,
    memory: ConversationMemory,
}

impl Serialize for SignalEngine {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        SignalState { config: stored::FrozenSettings::default(), memory: self.memory.clone() }.serialize(ser)
    }
}

/// Comes back with the default settings: the engine that restores it applies its own
/// ([`SignalEngine::reconfigure`]).
impl<'de> Deserialize<'de> for SignalEngine {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let state = SignalState::deserialize(de)?;
        Ok(SignalEngine::with_memory(SignalConfig::default(), state.memory))
    }
}

impl Clone for SignalEngine {
    fn clone(&self) -> Self {
        SignalEngine::with_memory(self.config.clone(), self.memory.clone())
    }
}

impl std::fmt::Debug for SignalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalEngine").field("conversations", &self.memory.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
