//! The settings part of a partition's stored signal state, frozen in the shape layout 3
//! wrote. postcard encodes fields by position, so storing `SignalConfig` itself made every
//! stored partition unreadable the day a setting was added (a layout-2 store then failed
//! its migration). Settings are not state, either: a restored partition takes the engine's
//! current ones ([`super::SignalEngine::reconfigure`]); the stored copy used to win, so
//! changed refusal phrases or prices were ignored after a restart. This record keeps the
//! bytes in the layout's shape (field order for postcard, names for layout 1's JSON) and
//! is ignored on reading.

use serde::{Deserialize, Serialize};

/// `SignalConfig` as layouts 1 to 3 encoded it (`Duration`s as text).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct FrozenSettings {
    refusal_phrases: Vec<String>,
    refusal_scan_chars: usize,
    language: FrozenLanguage,
    rephrase: FrozenRephrase,
    rate_limit_errors: Vec<String>,
    feedback: FrozenFeedback,
    prices: Vec<FrozenPrice>,
    memory: FrozenMemory,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FrozenLanguage {
    min_letters: usize,
    max_chars: usize,
    min_confidence: f64,
    languages: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FrozenRephrase {
    min_similarity: f64,
    within: String,
    max_chars: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FrozenFeedback {
    scale: FrozenScale,
    rating_negative_at_most: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FrozenScale {
    #[default]
    Auto,
    Thumbs,
    Rating,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FrozenMemory {
    max_conversations: usize,
    idle_ttl: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FrozenPrice {
    model: String,
    input_per_million: f64,
    output_per_million: f64,
}
