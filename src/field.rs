//! The fields a rule expression can read, and the borrowed values they yield.
//!
//! Names are resolved to a [`Field`] once, when a rule loads; reading a field of an event
//! is then a `match`, with no string lookups or allocation on the hot path.

use std::fmt;

use crate::event::{Event, EventKind};
use crate::signals::{SignalId, Signals};

/// A value read from an event or computed by an expression. Borrowed, so reading fields
/// never allocates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a str),
}

impl<'a> Value<'a> {
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Truthiness for predicates: only `true` holds; null and everything else do not.
    pub fn is_true(self) -> bool {
        matches!(self, Value::Bool(true))
    }

    pub fn is_null(self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{s}"),
        }
    }
}

/// The static type of a field, used by the expression type checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Str,
    Num,
    Bool,
    /// Attributes and raw fields: the type is only known per event.
    Any,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::Str => "string",
            FieldType::Num => "number",
            FieldType::Bool => "bool",
            FieldType::Any => "any",
        })
    }
}

/// A readable field, resolved from its name when a rule loads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    EventId,
    Kind,
    Model,
    Provider,
    Operation,
    Conversation,
    User,
    Tenant,
    LatencyMs,
    TtftMs,
    InputTokens,
    OutputTokens,
    FinishReason,
    ErrorType,
    PromptName,
    PromptVersion,
    OutputType,
    Score,
    Comment,
    Outcome,
    Input,
    Output,
    /// `attr.<key>`: a key of the event's `attributes` object.
    Attr(Box<str>),
    /// `field("<name>")`: any top-level field by its full name, known or not.
    Raw(Box<str>),
    /// `signal.<name>`: a derived per-event signal.
    Signal(SignalId),
}

/// The friendly names, in the order the documentation lists them.
pub const FRIENDLY_NAMES: &[&str] = &[
    "event_id",
    "kind",
    "model",
    "provider",
    "operation",
    "conversation",
    "user",
    "tenant",
    "latency_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "finish_reason",
    "error_type",
    "prompt",
    "prompt_version",
    "output_type",
    "score",
    "comment",
    "outcome",
    "input",
    "output",
];

impl Field {
    /// Resolves a friendly name, `attr.<key>` or `signal.<name>`. `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "event_id" => Field::EventId,
            "kind" => Field::Kind,
            "model" => Field::Model,
            "provider" => Field::Provider,
            "operation" => Field::Operation,
            "conversation" => Field::Conversation,
            "user" => Field::User,
            "tenant" => Field::Tenant,
            "latency_ms" => Field::LatencyMs,
            "ttft_ms" => Field::TtftMs,
            "input_tokens" => Field::InputTokens,
            "output_tokens" => Field::OutputTokens,
            "finish_reason" => Field::FinishReason,
            "error_type" => Field::ErrorType,
            "prompt" => Field::PromptName,
            "prompt_version" => Field::PromptVersion,
            "output_type" => Field::OutputType,
            "score" => Field::Score,
            "comment" => Field::Comment,
            "outcome" => Field::Outcome,
            "input" => Field::Input,
            "output" => Field::Output,
            _ => {
                if let Some(key) = name.strip_prefix("attr.") {
                    if key.is_empty() {
                        return None;
                    }
                    Field::Attr(key.into())
                } else if let Some(sig) = name.strip_prefix("signal.") {
                    Field::Signal(SignalId::from_name(sig)?)
                } else {
                    return None;
                }
            }
        })
    }

    pub fn ty(&self) -> FieldType {
        match self {
            Field::LatencyMs
            | Field::TtftMs
            | Field::InputTokens
            | Field::OutputTokens
            | Field::Score => FieldType::Num,
            Field::Attr(_) | Field::Raw(_) => FieldType::Any,
            Field::Signal(s) => s.ty(),
            _ => FieldType::Str,
        }
    }

    /// The name as written in a rule, for messages and alert labels.
    pub fn name(&self) -> String {
        match self {
            Field::Attr(k) => format!("attr.{k}"),
            Field::Raw(k) => format!("field(\"{k}\")"),
            Field::Signal(s) => format!("signal.{}", s.name()),
            other => {
                let i = FIELD_ORDER.iter().position(|f| f == other).expect("friendly field");
                FRIENDLY_NAMES[i].to_string()
            }
        }
    }

    /// The label a `group_by` entry puts on an alert (`model`, `attr.region`, …).
    pub fn label(&self) -> String {
        match self {
            Field::Raw(k) => k.to_string(),
            _ => self.name(),
        }
    }
}

const FIELD_ORDER: &[Field] = &[
    Field::EventId,
    Field::Kind,
    Field::Model,
    Field::Provider,
    Field::Operation,
    Field::Conversation,
    Field::User,
    Field::Tenant,
    Field::LatencyMs,
    Field::TtftMs,
    Field::InputTokens,
    Field::OutputTokens,
    Field::FinishReason,
    Field::ErrorType,
    Field::PromptName,
    Field::PromptVersion,
    Field::OutputType,
    Field::Score,
    Field::Comment,
    Field::Outcome,
    Field::Input,
    Field::Output,
];

/// One event together with its computed signals: what expressions and aggregations read.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    pub event: &'a Event,
    pub signals: &'a Signals,
}

impl<'a> Record<'a> {
    pub fn new(event: &'a Event, signals: &'a Signals) -> Self {
        Record { event, signals }
    }

    pub fn get(&self, field: &Field) -> Value<'a> {
        let e = self.event;
        let s = |o: &'a Option<crate::event::Text>| o.as_deref().map_or(Value::Null, Value::Str);
        let n = |o: Option<f64>| o.map_or(Value::Null, Value::Num);
        match field {
            Field::EventId => Value::Str(&e.id),
            Field::Kind => Value::Str(e.kind.as_str()),
            Field::Model => e.model().map_or(Value::Null, Value::Str),
            Field::Provider => s(&e.provider),
            Field::Operation => s(&e.operation),
            Field::Conversation => s(&e.conversation),
            Field::User => s(&e.user),
            Field::Tenant => s(&e.tenant),
            Field::LatencyMs => n(e.latency_ms),
            Field::TtftMs => n(e.ttft_ms),
            Field::InputTokens => n(e.input_tokens),
            Field::OutputTokens => n(e.output_tokens),
            Field::FinishReason => e.finish_reasons.first().map_or(Value::Null, |r| Value::Str(r)),
            Field::ErrorType => s(&e.error_type),
            Field::PromptName => s(&e.prompt_name),
            Field::PromptVersion => e.prompt_version().map_or(Value::Null, Value::Str),
            Field::OutputType => s(&e.output_type),
            Field::Score => n(e.score),
            Field::Comment => s(&e.comment),
            Field::Outcome => e.outcome.map_or(Value::Null, |o| Value::Str(o.as_str())),
            Field::Input => s(&e.input),
            Field::Output => s(&e.output),
            Field::Attr(k) => e.attribute(k),
            Field::Raw(k) => e.raw(k),
            Field::Signal(id) => self.signals.get(*id),
        }
    }

    pub fn kind(&self) -> EventKind {
        self.event.kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_friendly_name_resolves_and_prints_back() {
        for name in FRIENDLY_NAMES {
            let f = Field::from_name(name).unwrap();
            assert_eq!(&f.name(), name);
        }
        assert_eq!(Field::from_name("attr.region"), Some(Field::Attr("region".into())));
        assert_eq!(Field::from_name("attr."), None);
        assert_eq!(Field::from_name("modle"), None);
        assert_eq!(Field::from_name("signal.nope"), None);
    }
}
