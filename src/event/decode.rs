//! JSON → [`Event`], with a typed reason for every rejected message.
//!
//! A hand-written serde visitor rather than `#[derive(Deserialize)]`: the contract has dotted
//! OpenTelemetry names with deprecated aliases, a timestamp in two forms, and unknown fields
//! that must be kept; a visitor does all that in one pass without building a
//! `serde_json::Value` tree first (about twice as fast on the benchmark's events).

use std::fmt;

use serde::{Deserialize as _, Deserializer as _};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::{Event, EventKind, Outcome, Scalar, Text};
use crate::time::{Millis, event_time_range, parse_rfc3339};

/// Why a message was rejected. Each reason is counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeErrorReason {
    /// Larger than the configured limit; not parsed at all.
    Oversize,
    /// Not valid JSON (syntax error, truncated, not UTF-8).
    NotJson,
    /// Valid JSON, but not an object.
    NotObject,
    /// `event_id`, `timestamp` or `kind` (or `outcome` on an outcome event) is missing.
    MissingField,
    /// A known field has the wrong JSON type.
    WrongType,
    /// `timestamp` is neither RFC 3339 nor epoch milliseconds.
    BadTimestamp,
    /// `kind` or `outcome` is not one of the allowed words.
    BadValue,
}

impl DecodeErrorReason {
    pub const ALL: [DecodeErrorReason; 7] = [
        DecodeErrorReason::Oversize,
        DecodeErrorReason::NotJson,
        DecodeErrorReason::NotObject,
        DecodeErrorReason::MissingField,
        DecodeErrorReason::WrongType,
        DecodeErrorReason::BadTimestamp,
        DecodeErrorReason::BadValue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecodeErrorReason::Oversize => "oversize",
            DecodeErrorReason::NotJson => "not_json",
            DecodeErrorReason::NotObject => "not_object",
            DecodeErrorReason::MissingField => "missing_field",
            DecodeErrorReason::WrongType => "wrong_type",
            DecodeErrorReason::BadTimestamp => "bad_timestamp",
            DecodeErrorReason::BadValue => "bad_value",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == tag)
    }
}

impl fmt::Display for DecodeErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected message: the reason (for counting) and a message naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DecodeError {
    pub reason: DecodeErrorReason,
    pub message: String,
}

/// Decodes event messages; holds the size limit.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { max_bytes: 1 << 20 }
    }
}

impl Decoder {
    pub fn new(max_bytes: usize) -> Self {
        Decoder { max_bytes }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub fn decode(&self, bytes: &[u8]) -> Result<Event, DecodeError> {
        if bytes.len() > self.max_bytes {
            return Err(DecodeError {
                reason: DecodeErrorReason::Oversize,
                message: format!("{} bytes, the limit is {}", bytes.len(), self.max_bytes),
            });
        }
        // One validation of the whole line, then a reader that trusts it: reading from bytes,
        // serde_json validated every string on its own, a fifth of the decoding time.
        // simdutf8 (vectorised, picked at run time for the CPU) validates a line of mixed
        // scripts 4-5× faster than std; std's error, on the rare bad line, says where.
        let text = match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => std::str::from_utf8(bytes).map_err(|e| DecodeError { reason: DecodeErrorReason::NotJson, message: format!("not UTF-8: {e}") })?,
        };
        // Whether the line is an object is decided from its first byte, not from serde's
        // message (which quotes the offending value: a string field holding the words
        // "expected an event object" was once counted as not an object).
        let object = text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{');
        let mut de = serde_json::Deserializer::from_str(text);
        let event = de.deserialize_map(EventVisitor).map_err(|e| classify(e, object))?;
        de.end().map_err(|e| classify(e, object))?;
        Ok(event)
    }
}

/// Custom errors carry their reason as a `tag|` prefix; serde's own type errors are wrong
/// types, or `not_object` when the line (`object` says) is not an object.
fn classify(err: serde_json::Error, object: bool) -> DecodeError {
    use serde_json::error::Category;
    let text = err.to_string();
    match err.classify() {
        Category::Io | Category::Syntax | Category::Eof => {
            DecodeError { reason: DecodeErrorReason::NotJson, message: text }
        }
        Category::Data => {
            if let Some((tag, rest)) = text.split_once('|')
                && let Some(reason) = DecodeErrorReason::from_tag(tag)
            {
                return DecodeError { reason, message: rest.to_string() };
            }
            let reason = if object { DecodeErrorReason::WrongType } else { DecodeErrorReason::NotObject };
            DecodeError { reason, message: text }
        }
    }
}

fn tagged<E: de::Error>(reason: DecodeErrorReason, msg: impl fmt::Display) -> E {
    E::custom(format_args!("{}|{}", reason.as_str(), msg))
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut id: Option<Text> = None;
        let mut time: Option<Millis> = None;
        let mut kind: Option<EventKind> = None;
        let mut ttft_seconds: Option<f64> = None;
        let mut e = Event::new("", 0, EventKind::Interaction);
        while let Some(key) = map.next_key_seed(Key)? {
            match &*key {
                "event_id" => id = map.next_value_seed(OptStr("event_id"))?,
                "timestamp" => time = map.next_value_seed(TimestampSeed)?,
                "kind" => {
                    if let Some(k) = map.next_value_seed(OptStr("kind"))? {
                        kind = Some(EventKind::parse(&k).ok_or_else(|| {
                            tagged::<A::Error>(
                                DecodeErrorReason::BadValue,
                                format_args!(
                                    "kind {k:?} is not one of interaction, feedback, outcome"
                                ),
                            )
                        })?);
                    }
                }
                "gen_ai.conversation.id" => {
                    e.conversation = map.next_value_seed(OptStr("gen_ai.conversation.id"))?
                }
                "user.id" => e.user = map.next_value_seed(OptStr("user.id"))?,
                "tenant.id" => e.tenant = map.next_value_seed(OptStr("tenant.id"))?,
                "gen_ai.operation.name" => {
                    e.operation = map.next_value_seed(OptStr("gen_ai.operation.name"))?
                }
                // A current name that is null leaves a deprecated alias's value in place.
                "gen_ai.provider.name" => {
                    if let Some(v) = map.next_value_seed(OptStr("gen_ai.provider.name"))? {
                        e.provider = Some(v);
                    }
                }
                // Deprecated alias: the current name wins when both are present.
                "gen_ai.system" => {
                    let v = map.next_value_seed(OptStr("gen_ai.system"))?;
                    if e.provider.is_none() {
                        e.provider = v;
                    }
                }
                "gen_ai.request.model" => {
                    e.request_model = map.next_value_seed(OptStr("gen_ai.request.model"))?
                }
                "gen_ai.response.model" => {
                    e.response_model = map.next_value_seed(OptStr("gen_ai.response.model"))?
                }
                "gen_ai.usage.input_tokens" => {
                    if let Some(v) = map.next_value_seed(OptNum("gen_ai.usage.input_tokens"))? {
                        e.input_tokens = Some(v);
                    }
                }
                "gen_ai.usage.prompt_tokens" => {
                    let v = map.next_value_seed(OptNum("gen_ai.usage.prompt_tokens"))?;
                    if e.input_tokens.is_none() {
                        e.input_tokens = v;
                    }
                }
                "gen_ai.usage.output_tokens" => {
                    if let Some(v) = map.next_value_seed(OptNum("gen_ai.usage.output_tokens"))? {
                        e.output_tokens = Some(v);
                    }
                }
                "gen_ai.usage.completion_tokens" => {
                    let v = map.next_value_seed(OptNum("gen_ai.usage.completion_tokens"))?;
                    if e.output_tokens.is_none() {
                        e.output_tokens = v;
                    }
                }
                "gen_ai.response.finish_reasons" => {
                    e.finish_reasons = map.next_value_seed(StrList)?
                }
                "error.type" => e.error_type = map.next_value_seed(OptLabel("error.type"))?,
                "gen_ai.prompt.name" => {
                    e.prompt_name = map.next_value_seed(OptStr("gen_ai.prompt.name"))?
                }
                "gen_ai.output.type" => {
                    e.output_type = map.next_value_seed(OptStr("gen_ai.output.type"))?
                }
                "latency_ms" => e.latency_ms = map.next_value_seed(OptNum("latency_ms"))?,
                "ttft_ms" => e.ttft_ms = map.next_value_seed(OptNum("ttft_ms"))?,
                "gen_ai.response.time_to_first_chunk" => {
                    ttft_seconds =
                        map.next_value_seed(OptNum("gen_ai.response.time_to_first_chunk"))?
                }
                "input" => e.input = map.next_value_seed(OptStr("input"))?,
                "output" => e.output = map.next_value_seed(OptStr("output"))?,
                "interaction_id" => {
                    e.interaction_id = map.next_value_seed(OptStr("interaction_id"))?
                }
                "score" => e.score = map.next_value_seed(OptNum("score"))?,
                "comment" => e.comment = map.next_value_seed(OptStr("comment"))?,
                "outcome" => {
                    if let Some(o) = map.next_value_seed(OptStr("outcome"))? {
                        e.outcome = Some(Outcome::parse(&o).ok_or_else(|| {
                            tagged::<A::Error>(
                                DecodeErrorReason::BadValue,
                                format_args!(
                                    "outcome {o:?} is not one of resolved, abandoned, escalated"
                                ),
                            )
                        })?);
                    }
                }
                "attributes" => e.attributes = map.next_value_seed(Attributes)?,
                _ => {
                    let v: serde_json::Value = map.next_value()?;
                    e.extra.push((Text::from(key), v));
                }
            }
        }
        let missing = |name: &str| {
            tagged::<A::Error>(
                DecodeErrorReason::MissingField,
                format_args!("required field `{name}` is missing"),
            )
        };
        e.id = id.ok_or_else(|| missing("event_id"))?;
        e.time_ms = time.ok_or_else(|| missing("timestamp"))?;
        e.kind = kind.ok_or_else(|| missing("kind"))?;
        if e.kind == EventKind::Outcome && e.outcome.is_none() {
            return Err(missing("outcome"));
        }
        if e.ttft_ms.is_none() {
            e.ttft_ms = ttft_seconds.map(|s| s * 1000.0);
        }
        Ok(e)
    }
}

/// An object key, borrowed from the input unless it has escapes. (Deserializing a
/// `Cow<str>` directly always copies: one allocation per key, ~20 per event.)
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v))
    }
}

/// A string field that may be absent or null.
struct OptStr(&'static str);

impl<'de> DeserializeSeed<'de> for OptStr {
    type Value = Option<Text>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OptStr {
    type Value = Option<Text>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string or null for `{}`", self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.into()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Text::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A label that producers send as a string or a number (`error.type: 500`).
struct OptLabel(&'static str);

impl<'de> DeserializeSeed<'de> for OptLabel {
    type Value = Option<Text>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OptLabel {
    type Value = Option<Text>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string, number or null for `{}`", self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A number field that may be absent or null.
struct OptNum(&'static str);

impl<'de> DeserializeSeed<'de> for OptNum {
    type Value = Option<f64>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OptNum {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a number or null for `{}`", self.0)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct TimestampSeed;

impl<'de> DeserializeSeed<'de> for TimestampSeed {
    type Value = Option<Millis>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TimestampSeed {
    type Value = Option<Millis>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 string or epoch milliseconds for `timestamp`")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_rfc3339(v).map(Some).ok_or_else(|| {
            tagged(
                DecodeErrorReason::BadTimestamp,
                format_args!("timestamp {v:?} is not RFC 3339 (e.g. 2026-11-27T14:03:11Z)"),
            )
        })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        epoch_millis(Some(v), v)
    }
    /// Null is absent, as for every field: then `timestamp` is missing.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        epoch_millis(i64::try_from(v).ok(), v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        epoch_millis((v.is_finite() && v.abs() < 1e17).then_some(v as Millis), v)
    }
}

/// An epoch-milliseconds timestamp, if it is within the range an RFC 3339 string can name:
/// a timestamp in microseconds or nanoseconds by mistake is rejected, not placed thousands
/// of years ahead (where every tick in between would have to run).
fn epoch_millis<E: de::Error>(ms: Option<Millis>, shown: impl fmt::Display) -> Result<Option<Millis>, E> {
    let range = event_time_range();
    match ms.filter(|ms| range.contains(ms)) {
        Some(ms) => Ok(Some(ms)),
        None => Err(tagged(
            DecodeErrorReason::BadTimestamp,
            format_args!("timestamp {shown} is out of range: epoch milliseconds from {} to {} expected", range.start(), range.end()),
        )),
    }
}

/// `gen_ai.response.finish_reasons`: an array of strings (a lone string is accepted).
struct StrList;

impl<'de> DeserializeSeed<'de> for StrList {
    type Value = Vec<Text>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrList {
    type Value = Vec<Text>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of strings for `gen_ai.response.finish_reasons`")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(OptStr("gen_ai.response.finish_reasons"))? {
            if let Some(v) = v {
                out.push(v);
            }
        }
        Ok(out)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(vec![v.into()])
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

const PROMPT_VERSION: &str = "prompt.version";

/// `attributes`: string → scalar. A nested array or object is kept as its JSON text rather
/// than rejecting the whole event for a free-form label.
struct Attributes;

/// An attribute value as a scalar; arrays and objects are kept as their JSON text.
fn attribute_scalar(v: serde_json::Value) -> Scalar {
    use serde_json::Value;
    match v {
        Value::Array(_) | Value::Object(_) => Scalar::Str(v.to_string().into()),
        Value::Number(n) => n.as_f64().map_or_else(|| Scalar::Str(n.to_string().into()), Scalar::Num),
        other => Scalar::from_json(other).unwrap_or(Scalar::Null),
    }
}

/// An attribute's value decoded straight into a [`Scalar`], as [`attribute_scalar`] reads a
/// `serde_json::Value`: a string becomes the label text without first being a `String` in a
/// `Value` (an allocation and a copy more per string; 390 instructions less per event on the
/// benchmark's events). Arrays and objects still go through a `Value` for their JSON text.
struct AttributeValue;

impl<'de> DeserializeSeed<'de> for AttributeValue {
    type Value = Scalar;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttributeValue {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an attribute value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(n as f64))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(n as f64))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Scalar, E> {
        Ok(Scalar::Num(n))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(Text::from(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(attribute_scalar(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(attribute_scalar(v))
    }
}

impl<'de> DeserializeSeed<'de> for Attributes {
    type Value = Vec<(Text, Scalar)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Attributes {
    type Value = Vec<(Text, Scalar)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of string to scalar for `attributes`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(Text, Scalar)> = Vec::new();
        while let Some(k) = map.next_key_seed(Key)? {
            let scalar = if &*k == PROMPT_VERSION {
                match map.next_value()? {
                    // A label, like `error.type`: `"prompt.version": 7` is version "7" (as a
                    // number it was no prompt version at all, and attribution replaced it).
                    serde_json::Value::Number(n) => Scalar::Str(n.to_string().into()),
                    v => attribute_scalar(v),
                }
            } else {
                map.next_value_seed(AttributeValue)?
            };
            out.push((Text::from(k), scalar));
        }
        Ok(out)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLES: &str = r#"{"event_id":"e-1","timestamp":"2026-11-27T14:03:11.250Z","kind":"interaction","gen_ai.conversation.id":"c-81","user.id":"u-42","tenant.id":"acme","gen_ai.operation.name":"chat","gen_ai.provider.name":"openai","gen_ai.request.model":"gpt-4o-mini","gen_ai.response.model":"gpt-4o-mini-2024-07-18","gen_ai.usage.input_tokens":812,"gen_ai.usage.output_tokens":145,"gen_ai.response.finish_reasons":["stop"],"error.type":null,"latency_ms":1830,"ttft_ms":420,"input":"Quelle est votre politique de remboursement ?","output":"Our refund policy allows returns within 30 days.","attributes":{"prompt.version":"v7","channel":"web"}}
{"event_id":"f-9","timestamp":1795836195000,"kind":"feedback","gen_ai.conversation.id":"c-81","user.id":"u-42","tenant.id":"acme","interaction_id":"e-1","score":-1,"comment":"answered in English"}
{"event_id":"o-3","timestamp":"2026-11-27T14:05:00Z","kind":"outcome","gen_ai.conversation.id":"c-81","user.id":"u-42","tenant.id":"acme","outcome":"escalated"}"#;

    fn decode(s: &str) -> Result<Event, DecodeError> {
        Decoder::default().decode(s.as_bytes())
    }

    #[test]
    fn decodes_the_spec_examples() {
        let events: Vec<Event> = SPEC_EXAMPLES.lines().map(|l| decode(l).unwrap()).collect();
        let e = &events[0];
        assert_eq!(&*e.id, "e-1");
        assert_eq!(e.time_ms, parse_rfc3339("2026-11-27T14:03:11.250Z").unwrap());
        assert_eq!(e.model(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(e.input_tokens, Some(812.0));
        assert_eq!(e.finish_reasons, vec![Text::from("stop")]);
        assert_eq!(e.error_type, None);
        assert_eq!(e.prompt_version(), Some("v7"));
        assert_eq!(events[1].kind, EventKind::Feedback);
        assert_eq!(events[1].time_ms, 1795836195000);
        assert_eq!(events[1].score, Some(-1.0));
        assert_eq!(events[2].outcome, Some(Outcome::Escalated));
    }

    #[test]
    fn keeps_unknown_fields_and_accepts_deprecated_aliases() {
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"interaction","gen_ai.system":"anthropic","gen_ai.usage.prompt_tokens":5,"gen_ai.usage.completion_tokens":7,"gen_ai.response.time_to_first_chunk":0.25,"custom.flag":true,"deploy":"blue"}"#).unwrap();
        assert_eq!(e.provider.as_deref(), Some("anthropic"));
        assert_eq!(e.input_tokens, Some(5.0));
        assert_eq!(e.output_tokens, Some(7.0));
        assert_eq!(e.ttft_ms, Some(250.0));
        assert_eq!(e.raw("deploy"), crate::field::Value::Str("blue"));
        assert_eq!(e.raw("custom.flag"), crate::field::Value::Bool(true));
        // Keys with escapes (not borrowable from the input) are read too.
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"interaction","de\u0070loy":"blue","latency\u005fms":12}"#).unwrap();
        assert_eq!(e.raw("deploy"), crate::field::Value::Str("blue"));
        assert_eq!(e.latency_ms, Some(12.0));
    }

    #[test]
    fn current_names_win_over_deprecated_aliases_in_any_order() {
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"interaction","gen_ai.provider.name":"openai","gen_ai.system":"old"}"#).unwrap();
        assert_eq!(e.provider.as_deref(), Some("openai"));
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"interaction","gen_ai.system":"old","gen_ai.provider.name":"openai"}"#).unwrap();
        assert_eq!(e.provider.as_deref(), Some("openai"));
    }

    #[test]
    fn a_null_current_name_leaves_the_alias_value_in_either_order() {
        let before = r#"{"event_id":"x","timestamp":0,"kind":"interaction","gen_ai.provider.name":null,"gen_ai.system":"anthropic","gen_ai.usage.input_tokens":null,"gen_ai.usage.prompt_tokens":5,"gen_ai.usage.output_tokens":null,"gen_ai.usage.completion_tokens":7}"#;
        let after = r#"{"event_id":"x","timestamp":0,"kind":"interaction","gen_ai.system":"anthropic","gen_ai.provider.name":null,"gen_ai.usage.prompt_tokens":5,"gen_ai.usage.input_tokens":null,"gen_ai.usage.completion_tokens":7,"gen_ai.usage.output_tokens":null}"#;
        for line in [before, after] {
            let e = decode(line).unwrap();
            assert_eq!((e.provider.as_deref(), e.input_tokens, e.output_tokens), (Some("anthropic"), Some(5.0), Some(7.0)), "{line}");
        }
    }

    #[test]
    fn invalid_utf8_is_not_json_and_says_where() {
        let err = Decoder::default().decode(b"{\"event_id\":\"a\xffb\",\"timestamp\":0,\"kind\":\"feedback\"}").unwrap_err();
        assert_eq!(err.reason, DecodeErrorReason::NotJson);
        assert!(err.message.contains("UTF-8") && err.message.contains("index 14"), "{}", err.message);
    }

    #[test]
    fn attribute_values_are_scalars_and_structures_their_json_text() {
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"interaction","attributes":{"s":"web","e":"a\"b\u00e9","n":2.5,"i":-3,"u":18446744073709551615,"b":false,"z":null,"a":[1,"x"],"o":{"k":1}}}"#).unwrap();
        assert_eq!(e.attributes, vec![
            ("s".into(), Scalar::Str("web".into())),
            ("e".into(), Scalar::Str("a\"bé".into())),
            ("n".into(), Scalar::Num(2.5)),
            ("i".into(), Scalar::Num(-3.0)),
            ("u".into(), Scalar::Num(u64::MAX as f64)),
            ("b".into(), Scalar::Bool(false)),
            ("z".into(), Scalar::Null),
            ("a".into(), Scalar::Str(r#"[1,"x"]"#.into())),
            ("o".into(), Scalar::Str(r#"{"k":1}"#.into())),
        ]);
    }

    #[test]
    fn every_bad_input_has_its_reason_and_names_the_field() {
        let cases = [
            ("not json", DecodeErrorReason::NotJson, "expected"),
            (r#"{"event_id":"x","#, DecodeErrorReason::NotJson, "EOF"),
            ("[1,2]", DecodeErrorReason::NotObject, "event object"),
            (r#"{"timestamp":0,"kind":"feedback"}"#, DecodeErrorReason::MissingField, "event_id"),
            (r#"{"event_id":"x","kind":"feedback"}"#, DecodeErrorReason::MissingField, "timestamp"),
            (r#"{"event_id":"x","timestamp":null,"kind":"feedback"}"#, DecodeErrorReason::MissingField, "timestamp"),
            (r#"{"event_id":"x","timestamp":0}"#, DecodeErrorReason::MissingField, "kind"),
            (r#"{"event_id":"x","timestamp":0,"kind":"outcome"}"#, DecodeErrorReason::MissingField, "outcome"),
            (r#"{"event_id":7,"timestamp":0,"kind":"feedback"}"#, DecodeErrorReason::WrongType, "event_id"),
            (r#"{"event_id":"x","timestamp":0,"kind":"interaction","latency_ms":"fast"}"#, DecodeErrorReason::WrongType, "latency_ms"),
            (r#"{"event_id":"x","timestamp":0,"kind":"interaction","latency_ms":"expected an event object"}"#, DecodeErrorReason::WrongType, "latency_ms"),
            (r#" "an event" "#, DecodeErrorReason::NotObject, "event object"),
            (r#"{"event_id":"x","timestamp":"yesterday","kind":"feedback"}"#, DecodeErrorReason::BadTimestamp, "yesterday"),
            // Epoch microseconds and nanoseconds by mistake, and the ends of i64.
            (r#"{"event_id":"x","timestamp":1795788001000000,"kind":"feedback"}"#, DecodeErrorReason::BadTimestamp, "1795788001000000 is out of range"),
            (r#"{"event_id":"x","timestamp":1767225620000000000,"kind":"feedback"}"#, DecodeErrorReason::BadTimestamp, "out of range"),
            (r#"{"event_id":"x","timestamp":9223372036854775807,"kind":"feedback"}"#, DecodeErrorReason::BadTimestamp, "9223372036854775807 is out of range"),
            (r#"{"event_id":"x","timestamp":-9223372036854775808,"kind":"feedback"}"#, DecodeErrorReason::BadTimestamp, "out of range"),
            (r#"{"event_id":"x","timestamp":1e20,"kind":"feedback"}"#, DecodeErrorReason::BadTimestamp, "out of range"),
            (r#"{"event_id":"x","timestamp":0,"kind":"click"}"#, DecodeErrorReason::BadValue, "click"),
            (r#"{"event_id":"x","timestamp":0,"kind":"outcome","outcome":"won"}"#, DecodeErrorReason::BadValue, "won"),
        ];
        for (input, reason, needle) in cases {
            let err = decode(input).unwrap_err();
            assert_eq!(err.reason, reason, "{input}: {err}");
            assert!(err.message.contains(needle), "{input}: {err}");
        }
        let err = Decoder::new(10).decode(br#"{"event_id":"x","timestamp":0,"kind":"feedback"}"#).unwrap_err();
        assert_eq!(err.reason, DecodeErrorReason::Oversize);
    }

    #[test]
    fn every_field_the_decoder_reads_can_be_read_back_by_its_full_name() {
        let line = r#"{"event_id":"x","timestamp":0,"kind":"outcome","gen_ai.conversation.id":"c","user.id":"u","tenant.id":"t","gen_ai.operation.name":"chat","gen_ai.system":"p","gen_ai.request.model":"m","gen_ai.response.model":"m2","gen_ai.usage.prompt_tokens":1,"gen_ai.usage.completion_tokens":2,"gen_ai.response.finish_reasons":["length","stop"],"error.type":"e","gen_ai.prompt.name":"n","gen_ai.output.type":"json","latency_ms":3,"gen_ai.response.time_to_first_chunk":0.5,"input":"i","output":"o","interaction_id":"i1","score":1,"comment":"c","outcome":"resolved"}"#;
        let e = decode(line).unwrap();
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        for name in object.keys().map(String::as_str).chain(["gen_ai.provider.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "ttft_ms"]) {
            assert_ne!(e.raw(name), crate::field::Value::Null, "field({name:?})");
        }
        assert_eq!(e.raw("gen_ai.response.time_to_first_chunk"), crate::field::Value::Num(0.5));
        assert_eq!(e.raw("ttft_ms"), crate::field::Value::Num(500.0));
        assert_eq!(e.raw("gen_ai.response.finish_reasons"), crate::field::Value::Str("length"));
    }

    #[test]
    fn a_numeric_prompt_version_is_its_text() {
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"feedback","attributes":{"prompt.version":7,"other":7}}"#).unwrap();
        assert_eq!(e.prompt_version(), Some("7"));
        assert_eq!(e.attribute("other"), crate::field::Value::Num(7.0));
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"feedback","attributes":{"prompt.version":2.5}}"#).unwrap();
        assert_eq!(e.prompt_version(), Some("2.5"));
    }

    #[test]
    fn non_scalar_attributes_are_kept_as_json_text() {
        let e = decode(r#"{"event_id":"x","timestamp":0,"kind":"feedback","attributes":{"tags":["a","b"],"n":3}}"#).unwrap();
        assert_eq!(e.attribute("tags"), crate::field::Value::Str(r#"["a","b"]"#));
        assert_eq!(e.attribute("n"), crate::field::Value::Num(3.0));
    }
}
