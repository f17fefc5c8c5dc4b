//! Signal settings: the `[engine.signals]` table of the daemon config. Every field has a
//! default; `docs/signals.md` documents each with the signal it tunes.

use serde::{Deserialize, Serialize};

use crate::time::Duration;

/// All signal settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalConfig {
    /// Phrases that mark an answer as a refusal (matched case-insensitively, `'` and `’`
    /// alike, anywhere in the first `refusal_scan_chars` characters).
    pub refusal_phrases: Vec<String>,
    /// Refusals open the answer; scanning only its start keeps long answers cheap and
    /// avoids flagging a helpful answer that quotes a refusal later on.
    pub refusal_scan_chars: usize,
    pub language: LanguageConfig,
    pub rephrase: RephraseConfig,
    /// `error.type` values that mean the provider rate-limited the call.
    pub rate_limit_errors: Vec<String>,
    pub feedback: FeedbackConfig,
    /// USD per million tokens, by model name prefix (the longest matching prefix wins).
    pub prices: Vec<Price>,
    pub memory: MemoryConfig,
}

/// `language_mismatch` and `language_switch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageConfig {
    /// Below this many letters a text is too short to detect: the signal is null.
    pub min_letters: usize,
    /// Detection reads at most this many characters of a text (cost is linear in length).
    pub max_chars: usize,
    /// Below this whatlang confidence (0–1) a detection is not trusted: the signal is null.
    pub min_confidence: f64,
    /// ISO 639-3 codes the detector chooses among; restricting it to the languages your
    /// users write improves accuracy on short texts. Empty = every language whatlang knows.
    pub languages: Vec<String>,
}

/// `rephrase`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RephraseConfig {
    /// Word-set similarity (Jaccard, 0–1) at or above which a turn repeats the previous one.
    pub min_similarity: f64,
    /// Only a turn within this time of the previous user turn can be a rephrase.
    pub within: Duration,
    /// Texts are compared on at most this many characters.
    pub max_chars: usize,
}

/// `negative_feedback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    /// How to read `score`: `auto` (-1/+1 are thumbs, 2–5 a rating, so a rating of 1 reads
    /// as thumbs up), `thumbs` (negative when < 0) or `rating` (negative when
    /// ≤ `rating_negative_at_most`).
    pub scale: FeedbackScale,
    /// A rating's scores at or below this are negative (1–5 scale: 2).
    pub rating_negative_at_most: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackScale {
    Auto,
    Thumbs,
    Rating,
}

/// Bounds of the per-conversation memory used by `rephrase` and `language_switch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    pub max_conversations: usize,
    /// A conversation idle (event time) this long is forgotten.
    pub idle_ttl: Duration,
}

/// A price table entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Model name prefix: `gpt-4o-mini` prices `gpt-4o-mini-2024-07-18`.
    pub model: String,
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            refusal_phrases: DEFAULT_REFUSALS.iter().map(|s| s.to_string()).collect(),
            refusal_scan_chars: 400,
            language: LanguageConfig::default(),
            rephrase: RephraseConfig::default(),
            rate_limit_errors: ["rate_limit", "rate_limited", "rate_limit_exceeded", "429", "too_many_requests", "throttled", "ThrottlingException"]
                .map(String::from)
                .to_vec(),
            feedback: FeedbackConfig::default(),
            prices: DEFAULT_PRICES
                .iter()
                .map(|(m, i, o)| Price { model: m.to_string(), input_per_million: *i, output_per_million: *o })
                .collect(),
            memory: MemoryConfig::default(),
        }
    }
}

impl Default for LanguageConfig {
    fn default() -> Self {
        LanguageConfig {
            min_letters: 20,
            max_chars: 300,
            min_confidence: 0.5,
            languages: [
                "eng", "fra", "deu", "spa", "ita", "por", "nld", "pol", "swe", "dan", "nob", "fin", "rus", "ukr", "tur", "jpn", "cmn", "kor", "ara", "hin",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Default for RephraseConfig {
    fn default() -> Self {
        RephraseConfig { min_similarity: 0.6, within: Duration::from_secs(120), max_chars: 500 }
    }
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig { scale: FeedbackScale::Auto, rating_negative_at_most: 2.0 }
    }
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig { max_conversations: 100_000, idle_ttl: Duration::from_secs(3600) }
    }
}

/// Refusal openings in English, French, German, Spanish, Italian, Portuguese, Dutch,
/// Japanese and Chinese.
pub const DEFAULT_REFUSALS: &[&str] = &[
    "i can't help with",
    "i cannot help with",
    "i can't assist with",
    "i cannot assist with",
    "i'm sorry, but i can't",
    "i am sorry, but i cannot",
    "i'm unable to help",
    "i am unable to help",
    "i'm not able to help",
    "i won't be able to help",
    "i can't provide",
    "i cannot provide",
    "i must decline",
    "je ne peux pas vous aider",
    "je ne peux pas t'aider",
    "je ne peux pas répondre",
    "je ne suis pas en mesure de",
    "désolé, mais je ne peux pas",
    "ich kann ihnen dabei nicht helfen",
    "dabei kann ich ihnen nicht helfen",
    "ich kann ihnen nicht helfen",
    "ich kann dir dabei nicht helfen",
    "das kann ich nicht beantworten",
    "no puedo ayudar",
    "no puedo ayudarte",
    "no puedo ayudarle",
    "lo siento, pero no puedo",
    "no estoy en condiciones de",
    "non posso aiutarti",
    "non posso aiutarla",
    "mi dispiace, ma non posso",
    "não posso ajudar",
    "desculpe, mas não posso",
    "ik kan je daar niet mee helpen",
    "ik kan u daar niet mee helpen",
    "お手伝いできません",
    "お答えできません",
    "我无法帮助",
    "我不能帮助",
];

/// USD per million tokens (input, output), list prices at the time of writing.
pub const DEFAULT_PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("o3-mini", 1.10, 4.40),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-3-opus", 15.00, 75.00),
    ("llama-3.1-8b", 0.22, 0.22),
    ("llama-3.1-70b", 0.72, 0.72),
    ("gemini-1.5-flash", 0.075, 0.30),
    ("gemini-1.5-pro", 1.25, 5.00),
    ("mistral-large", 2.00, 6.00),
];

impl SignalConfig {
    /// Every problem, with its key.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.refusal_phrases.iter().any(|p| p.trim().is_empty()) {
            errors.push("refusal_phrases: a phrase is empty".to_string());
        }
        for code in &self.language.languages {
            if whatlang::Lang::from_code(code.as_str()).is_none() {
                errors.push(format!("language.languages: unknown ISO 639-3 code `{code}`"));
            }
        }
        if !(0.0..=1.0).contains(&self.language.min_confidence) {
            errors.push("language.min_confidence: expected a number from 0 to 1".into());
        }
        if !(0.0..=1.0).contains(&self.rephrase.min_similarity) {
            errors.push("rephrase.min_similarity: expected a number from 0 to 1".into());
        }
        for p in &self.prices {
            if p.input_per_million < 0.0 || p.output_per_million < 0.0 {
                errors.push(format!("prices: negative price for `{}`", p.model));
            }
        }
        if self.memory.max_conversations == 0 {
            errors.push("memory.max_conversations: expected at least 1".into());
        }
        errors
    }
}
