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
    /// `error.type` values that mean the provider rate-limited the call, compared
    /// case-insensitively with the whole value and with its last dotted segment
    /// (`openai.RateLimitError` matches `RateLimitError`).
    pub rate_limit_errors: Vec<String>,
    /// E-mail addresses and phone numbers the application publishes itself (a support
    /// address, a hotline): never a `pii_leak`. Compared as detection compares them.
    pub pii_allow: Vec<String>,
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
    /// A turn with fewer words than this (each CJK character counting as a word) and
    /// fewer than `min_chars` characters is too short to be a rephrase ("yes", "ok").
    pub min_words: usize,
    /// See `min_words`.
    pub min_chars: usize,
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
            rate_limit_errors: DEFAULT_RATE_LIMIT_ERRORS.iter().map(|s| s.to_string()).collect(),
            pii_allow: Vec::new(),
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
        RephraseConfig { min_similarity: 0.6, within: Duration::from_secs(120), max_chars: 500, min_words: 3, min_chars: 12 }
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

/// `error.type` values of rate-limited calls: provider error codes, HTTP 429, and the
/// exception names OpenTelemetry instrumentations record (`openai.RateLimitError`,
/// `anthropic.RateLimitError`, Google's `ResourceExhausted` / `RESOURCE_EXHAUSTED`,
/// `TooManyRequests`, AWS `ThrottlingException`).
pub const DEFAULT_RATE_LIMIT_ERRORS: &[&str] = &[
    "rate_limit",
    "rate_limited",
    "rate_limit_exceeded",
    "rate_limit_error",
    "RateLimitError",
    "RateLimitExceeded",
    "429",
    "too_many_requests",
    "TooManyRequests",
    "RESOURCE_EXHAUSTED",
    "ResourceExhausted",
    "throttled",
    "ThrottlingException",
];

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
    "i'm sorry, i can't help",
    "i am sorry, i cannot help",
    "i cannot help you with",
    "i can't help you with",
    "i'm unable to assist",
    "i am unable to assist",
    "i can't do that",
    "i cannot do that",
    "je ne peux pas vous aider",
    "je ne peux pas t'aider",
    "je ne peux pas répondre",
    "je ne suis pas en mesure de",
    "désolé, mais je ne peux pas",
    "je ne peux pas aider",
    "ich kann ihnen dabei nicht helfen",
    "dabei kann ich ihnen nicht helfen",
    "ich kann ihnen nicht helfen",
    "ich kann dir dabei nicht helfen",
    "das kann ich nicht beantworten",
    "dabei kann ich dir nicht helfen",
    "kann ich dir nicht helfen",
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
    "não consigo ajudar",
    "ik kan je daar niet mee helpen",
    "ik kan u daar niet mee helpen",
    "daar kan ik je niet mee helpen",
    "kan ik je niet mee helpen",
    "kan ik u niet mee helpen",
    "お手伝いできません",
    "お答えできません",
    "お応えできません",
    "お答えしかねます",
    "我无法帮助",
    "我不能帮助",
    "我不能帮你",
    "我無法幫助",
];

/// USD per million tokens (input, output): the providers' list prices for standard
/// (non-batch, non-cached, shortest-context) use as of June 2025. Prices change; override
/// them with `[[engine.signals.prices]]`.
pub const DEFAULT_PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o1-mini", 1.10, 4.40),
    ("o1", 15.00, 60.00),
    ("o1-pro", 150.00, 600.00),
    ("o3-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    ("o3-pro", 20.00, 80.00),
    ("o4-mini", 1.10, 4.40),
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-3-opus", 15.00, 75.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-opus-4", 15.00, 75.00),
    ("llama-3.1-8b", 0.22, 0.22),
    ("llama-3.1-70b", 0.72, 0.72),
    ("gemini-1.5-flash-8b", 0.0375, 0.15),
    ("gemini-1.5-flash", 0.075, 0.30),
    ("gemini-1.5-pro", 1.25, 5.00),
    ("gemini-2.0-flash-lite", 0.075, 0.30),
    ("gemini-2.0-flash", 0.10, 0.40),
    ("gemini-2.5-pro", 1.25, 10.00),
    ("gemini-2.5-flash-lite", 0.10, 0.40),
    ("gemini-2.5-flash", 0.30, 2.50),
    ("mistral-large", 2.00, 6.00),
];

/// `prices` from a config file merged over the defaults: an entry for a default model
/// (compared case-insensitively) replaces its price, others are added.
pub fn merge_prices(configured: Vec<Price>) -> Vec<Price> {
    let mut merged: Vec<Price> = SignalConfig::default().prices;
    for p in configured {
        // Compared as the table compares them: `openai/gpt-4o` replaces `gpt-4o`.
        let name = super::cost::model_name(&p.model);
        match merged.iter_mut().find(|d| super::cost::model_name(&d.model).eq_ignore_ascii_case(name)) {
            Some(d) => *d = p,
            None => merged.push(p),
        }
    }
    merged
}

impl SignalConfig {
    /// Every problem, as (key path under `[engine.signals]`, message).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut error = |key: String, message: String| errors.push((key, message));
        for (i, p) in self.refusal_phrases.iter().enumerate() {
            if p.trim().is_empty() {
                error(format!("refusal_phrases[{i}]"), "a phrase must not be empty".into());
            }
        }
        if self.refusal_scan_chars == 0 {
            error("refusal_scan_chars".into(), "expected at least 1".into());
        }
        if let Err(e) = super::refusal::RefusalMatcher::new(&self.refusal_phrases, self.refusal_scan_chars) {
            error("refusal_phrases".into(), format!("too many or too long phrases: {e}"));
        }
        for (i, code) in self.language.languages.iter().enumerate() {
            if whatlang::Lang::from_code(code.as_str()).is_none() {
                error(format!("language.languages[{i}]"), format!("unknown ISO 639-3 code `{code}`"));
            }
        }
        if !(0.0..=1.0).contains(&self.language.min_confidence) {
            error("language.min_confidence".into(), format!("expected a number from 0 to 1, found {}", self.language.min_confidence));
        }
        if self.language.max_chars == 0 {
            error("language.max_chars".into(), "expected at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.rephrase.min_similarity) {
            error("rephrase.min_similarity".into(), format!("expected a number from 0 to 1, found {}", self.rephrase.min_similarity));
        }
        if self.rephrase.max_chars == 0 {
            error("rephrase.max_chars".into(), "expected at least 1".into());
        }
        if self.rephrase.within.as_millis() <= 0 {
            error("rephrase.within".into(), "expected a duration longer than 0".into());
        }
        for (i, r) in self.rate_limit_errors.iter().enumerate() {
            if r.trim().is_empty() {
                error(format!("rate_limit_errors[{i}]"), "must not be empty".into());
            }
        }
        for (i, a) in self.pii_allow.iter().enumerate() {
            if super::pii::allow_key(a).is_none() {
                error(format!("pii_allow[{i}]"), format!("`{a}` is neither an e-mail address nor a phone number (7 to 15 digits)"));
            }
        }
        if !self.feedback.rating_negative_at_most.is_finite() {
            error("feedback.rating_negative_at_most".into(), "expected a number".into());
        }
        for (i, p) in self.prices.iter().enumerate() {
            if super::cost::model_name(&p.model).is_empty() {
                // `openai/` alone would be a prefix of every model name.
                error(format!("prices[{i}].model"), format!("expected a model name, found {:?} (provider prefixes such as `openai/` are cut off)", p.model));
            }
            for (key, v) in [("input_per_million", p.input_per_million), ("output_per_million", p.output_per_million)] {
                if !(v >= 0.0 && v.is_finite()) {
                    error(format!("prices[{i}].{key}"), format!("expected a price of 0 or more for `{}`, found {v}", p.model));
                }
            }
        }
        if self.memory.max_conversations == 0 {
            error("memory.max_conversations".into(), "expected at least 1".into());
        }
        if self.memory.idle_ttl.as_millis() <= 0 {
            error("memory.idle_ttl".into(), "expected a duration longer than 0".into());
        }
        errors
    }
}
