//! Derived per-event signals (`signal.*` in rules): pure functions of an event, plus a
//! bounded per-conversation memory for the two signals that look back (rephrase,
//! language switch).
//!
//! Invariant: computes only the signals a loaded rule needs ([`SignalSet`]), each at most
//! once per event; knows nothing of rules, windows or alerts.

use serde::{Deserialize, Serialize};

use crate::event::Event;
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

/// Signal settings (refusal phrases, price table, similarity thresholds …), from the
/// daemon config's `[signals]` table or the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalConfig {}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {}
    }
}

/// Computes signals; owns the per-conversation memory the look-back signals need.
/// Its state is serializable so a checkpoint can carry it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalEngine {
    config: SignalConfig,
}

impl SignalEngine {
    pub fn new(config: SignalConfig) -> Self {
        SignalEngine { config }
    }

    /// Computes the signals in `needs` for one event (each at most once), updating the
    /// conversation memory when a look-back signal is needed.
    pub fn compute(&mut self, event: &Event, needs: SignalSet) -> Signals {
        let _ = (event, needs, &self.config);
        todo!("signals helper")
    }
}
