//! LLM interaction events (`../shared/spec/events.md`): the decoded form, the decoder,
//! duplicate suppression and feedback attribution.
//!
//! Invariant: this module knows nothing of rules, windows or where bytes came from.

mod attribution;
mod decode;
mod dedup;

pub use attribution::{Attribution, AttributionChunk, AttributionConfig, AttributionHead};
pub use decode::{DecodeError, DecodeErrorReason, Decoder};
pub use dedup::{Dedup, DedupChunk, DedupConfig, DedupHead, LOG_CHUNK};

use serde::{Deserialize, Serialize};

use crate::field::Value;

/// A string of an event. Inline up to 24 bytes (ids, names, labels: nearly all of an
/// event's strings but its input and output), so decoding an event makes two or three
/// allocations instead of ~18, and dropping it frees as few.
pub type Text = compact_str::CompactString;
use crate::time::Millis;

/// What happened: a model call, a user's judgement, or how a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Interaction,
    Feedback,
    Outcome,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Interaction => "interaction",
            EventKind::Feedback => "feedback",
            EventKind::Outcome => "outcome",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "interaction" => Some(EventKind::Interaction),
            "feedback" => Some(EventKind::Feedback),
            "outcome" => Some(EventKind::Outcome),
            _ => None,
        }
    }
}

/// How a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    Abandoned,
    Escalated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Abandoned => "abandoned",
            Outcome::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "resolved" => Some(Outcome::Resolved),
            "abandoned" => Some(Outcome::Abandoned),
            "escalated" => Some(Outcome::Escalated),
            _ => None,
        }
    }
}

/// A scalar attribute value (`attributes` holds string → scalar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Null,
    Bool(bool),
    Num(f64),
    Str(Text),
}

impl Scalar {
    pub fn as_value(&self) -> Value<'_> {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Num(n) => Value::Num(*n),
            Scalar::Str(s) => Value::Str(s),
        }
    }

    fn from_json(v: serde_json::Value) -> Option<Scalar> {
        Some(match v {
            serde_json::Value::Null => Scalar::Null,
            serde_json::Value::Bool(b) => Scalar::Bool(b),
            serde_json::Value::Number(n) => Scalar::Num(n.as_f64()?),
            serde_json::Value::String(s) => Scalar::Str(s.into()),
            _ => return None,
        })
    }
}

/// One decoded event. Optional fields are `None` when absent or `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Text,
    pub time_ms: Millis,
    pub kind: EventKind,
    pub conversation: Option<Text>,
    pub user: Option<Text>,
    pub tenant: Option<Text>,
    pub operation: Option<Text>,
    pub provider: Option<Text>,
    pub request_model: Option<Text>,
    pub response_model: Option<Text>,
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub finish_reasons: Vec<Text>,
    pub error_type: Option<Text>,
    pub prompt_name: Option<Text>,
    pub output_type: Option<Text>,
    pub latency_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub input: Option<Text>,
    pub output: Option<Text>,
    pub interaction_id: Option<Text>,
    pub score: Option<f64>,
    pub comment: Option<Text>,
    pub outcome: Option<Outcome>,
    /// `attributes`, in the order they appeared.
    pub attributes: Vec<(Text, Scalar)>,
    /// Unknown top-level fields, kept so `field("…")` can read them.
    pub extra: Vec<(Text, serde_json::Value)>,
}

impl Event {
    /// A bare event of the given kind; the other fields empty. Used by generators and tests.
    pub fn new(id: impl Into<Text>, time_ms: Millis, kind: EventKind) -> Self {
        Event {
            id: id.into(),
            time_ms,
            kind,
            conversation: None,
            user: None,
            tenant: None,
            operation: None,
            provider: None,
            request_model: None,
            response_model: None,
            input_tokens: None,
            output_tokens: None,
            finish_reasons: Vec::new(),
            error_type: None,
            prompt_name: None,
            output_type: None,
            latency_ms: None,
            ttft_ms: None,
            input: None,
            output: None,
            interaction_id: None,
            score: None,
            comment: None,
            outcome: None,
            attributes: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The response model, else the request model.
    pub fn model(&self) -> Option<&str> {
        self.response_model.as_deref().or(self.request_model.as_deref())
    }

    /// `attributes.prompt.version`, when it is a string.
    pub fn prompt_version(&self) -> Option<&str> {
        self.attribute("prompt.version").as_str()
    }

    pub fn attribute(&self, key: &str) -> Value<'_> {
        self.attributes
            .iter()
            .find(|(k, _)| &**k == key)
            .map_or(Value::Null, |(_, v)| v.as_value())
    }

    pub fn set_attribute(&mut self, key: &str, value: Scalar) {
        match self.attributes.iter_mut().find(|(k, _)| &**k == key) {
            Some(slot) => slot.1 = value,
            None => self.attributes.push((key.into(), value)),
        }
    }

    /// A top-level field by its full name: known fields through their decoded form, unknown
    /// ones from `extra` when scalar.
    pub fn raw(&self, name: &str) -> Value<'_> {
        fn s(o: &Option<Text>) -> Value<'_> {
            o.as_deref().map_or(Value::Null, Value::Str)
        }
        let n = |o: Option<f64>| o.map_or(Value::Null, Value::Num);
        match name {
            "event_id" => Value::Str(&self.id),
            "timestamp" => Value::Num(self.time_ms as f64),
            "kind" => Value::Str(self.kind.as_str()),
            "gen_ai.conversation.id" => s(&self.conversation),
            "user.id" => s(&self.user),
            "tenant.id" => s(&self.tenant),
            "gen_ai.operation.name" => s(&self.operation),
            "gen_ai.provider.name" | "gen_ai.system" => s(&self.provider),
            "gen_ai.request.model" => s(&self.request_model),
            "gen_ai.response.model" => s(&self.response_model),
            "gen_ai.usage.input_tokens" | "gen_ai.usage.prompt_tokens" => n(self.input_tokens),
            "gen_ai.usage.output_tokens" | "gen_ai.usage.completion_tokens" => {
                n(self.output_tokens)
            }
            "error.type" => s(&self.error_type),
            "gen_ai.prompt.name" => s(&self.prompt_name),
            "gen_ai.output.type" => s(&self.output_type),
            "latency_ms" => n(self.latency_ms),
            "ttft_ms" => n(self.ttft_ms),
            // Consumed into `ttft_ms` by the decoder; read back in its own unit.
            "gen_ai.response.time_to_first_chunk" => n(self.ttft_ms.map(|ms| ms / 1000.0)),
            // A list: read as its first element, as the `finish_reason` field is.
            "gen_ai.response.finish_reasons" => self.finish_reasons.first().map_or(Value::Null, |r| Value::Str(r)),
            "input" => s(&self.input),
            "output" => s(&self.output),
            "interaction_id" => s(&self.interaction_id),
            "score" => n(self.score),
            "comment" => s(&self.comment),
            "outcome" => self.outcome.map_or(Value::Null, |o| Value::Str(o.as_str())),
            _ => match self.extra.iter().find(|(k, _)| &**k == name).map(|(_, v)| v) {
                Some(serde_json::Value::String(v)) => Value::Str(v),
                Some(serde_json::Value::Number(v)) => v.as_f64().map_or(Value::Null, Value::Num),
                Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
                _ => Value::Null,
            },
        }
    }
}
