//! A deterministic generator of realistic LLM traffic with injectable incidents: the demo's
//! stream, the rule-test fixtures and the benchmark input all come from here.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::corpus::{
    ANSWERS, BROKEN_JSON_ANSWER, JSON_ANSWER, JSON_QUESTION, PII_ANSWERS, QUESTIONS, REFUSALS,
    REPHRASE_PREFIX,
};
use crate::event::{Event, EventKind, Outcome, Scalar};
use crate::time::Millis;

/// SplitMix64: tiny, fast, and — unlike `rand`'s StdRng — guaranteed to give the same
/// stream forever, so committed fixtures and demo output never drift with a crate upgrade.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn pick_weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// A model in the simulated fleet.
#[derive(Debug, Clone)]
pub struct ModelProfile {
    pub name: String,
    pub provider: String,
    /// Median latency of a call.
    pub latency_ms: f64,
    /// Share of conversations.
    pub share: f64,
}

/// What goes wrong during an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    /// French, German and Spanish users answered in English.
    WrongLanguage,
    Refusals,
    SlowLatency,
    Errors,
    RateLimits,
    Truncation,
    EmptyAnswers,
    InvalidJson,
    PiiLeak,
    ThumbsDown,
    Escalations,
    Abandonment,
    CostSpike,
    RephraseStorm,
    /// The model sends no events at all.
    Flatline,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 15] = [
        IncidentKind::WrongLanguage,
        IncidentKind::Refusals,
        IncidentKind::SlowLatency,
        IncidentKind::Errors,
        IncidentKind::RateLimits,
        IncidentKind::Truncation,
        IncidentKind::EmptyAnswers,
        IncidentKind::InvalidJson,
        IncidentKind::PiiLeak,
        IncidentKind::ThumbsDown,
        IncidentKind::Escalations,
        IncidentKind::Abandonment,
        IncidentKind::CostSpike,
        IncidentKind::RephraseStorm,
        IncidentKind::Flatline,
    ];

    /// The snake_case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            IncidentKind::WrongLanguage => "wrong_language",
            IncidentKind::Refusals => "refusals",
            IncidentKind::SlowLatency => "slow_latency",
            IncidentKind::Errors => "errors",
            IncidentKind::RateLimits => "rate_limits",
            IncidentKind::Truncation => "truncation",
            IncidentKind::EmptyAnswers => "empty_answers",
            IncidentKind::InvalidJson => "invalid_json",
            IncidentKind::PiiLeak => "pii_leak",
            IncidentKind::ThumbsDown => "thumbs_down",
            IncidentKind::Escalations => "escalations",
            IncidentKind::Abandonment => "abandonment",
            IncidentKind::CostSpike => "cost_spike",
            IncidentKind::RephraseStorm => "rephrase_storm",
            IncidentKind::Flatline => "flatline",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn describe(self) -> &'static str {
        match self {
            IncidentKind::WrongLanguage => "answers in English to French, German and Spanish users",
            IncidentKind::Refusals => "refuses a third of requests",
            IncidentKind::SlowLatency => "latency ×2.5",
            IncidentKind::Errors => "20% of calls fail with 500",
            IncidentKind::RateLimits => "25% of calls rate-limited",
            IncidentKind::Truncation => "a third of answers cut at max tokens",
            IncidentKind::EmptyAnswers => "20% empty answers",
            IncidentKind::InvalidJson => "JSON answers broken",
            IncidentKind::PiiLeak => "answers leak contact and card details",
            IncidentKind::ThumbsDown => "users unhappy: half the feedback negative",
            IncidentKind::Escalations => "30% of conversations handed to a human",
            IncidentKind::Abandonment => "40% of conversations abandoned",
            IncidentKind::CostSpike => "answers five times longer (cost)",
            IncidentKind::RephraseStorm => "users keep rephrasing their question",
            IncidentKind::Flatline => "no traffic at all",
        }
    }
}

/// An incident on one model (or all) during [start, end).
#[derive(Debug, Clone)]
pub struct Incident {
    pub kind: IncidentKind,
    pub model: Option<String>,
    pub start_ms: Millis,
    pub end_ms: Millis,
}

/// The stream to generate.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub start_ms: Millis,
    pub duration_ms: Millis,
    pub conversations_per_minute: f64,
    pub models: Vec<ModelProfile>,
    pub tenants: Vec<String>,
    /// Weights of en, fr, de, es users.
    pub language_weights: [f64; 4],
    pub incidents: Vec<Incident>,
    /// Share of turns asking for JSON output.
    pub json_share: f64,
    /// Share of interactions that get feedback.
    pub feedback_share: f64,
}

impl Scenario {
    /// Three models, five tenants, four languages; 40 conversations a minute.
    pub fn baseline(start_ms: Millis, duration_ms: Millis, seed: u64) -> Self {
        let model = |name: &str, provider: &str, latency_ms: f64, share: f64| ModelProfile {
            name: name.into(),
            provider: provider.into(),
            latency_ms,
            share,
        };
        Scenario {
            seed,
            start_ms,
            duration_ms,
            conversations_per_minute: 40.0,
            models: vec![
                model("gpt-4o-mini", "openai", 1400.0, 0.5),
                model("claude-3-5-sonnet", "anthropic", 2200.0, 0.3),
                model("llama-3.1-70b", "aws.bedrock", 1800.0, 0.2),
            ],
            tenants: ["acme", "globex", "initech", "umbrella", "hooli"].map(String::from).to_vec(),
            language_weights: [0.5, 0.2, 0.2, 0.1],
            incidents: Vec::new(),
            json_share: 0.1,
            feedback_share: 0.25,
        }
    }

    pub fn with_incident(mut self, kind: IncidentKind, model: Option<&str>, start_ms: Millis, end_ms: Millis) -> Self {
        self.incidents.push(Incident { kind, model: model.map(String::from), start_ms, end_ms });
        self
    }

    /// All the events, in event-time order, generated lazily in bounded memory.
    pub fn events(&self) -> Generator<'_> {
        Generator {
            scenario: self,
            rng: Rng::new(self.seed),
            minute: 0,
            heap: BinaryHeap::new(),
            queued: 0,
            next_event: 0,
            next_conversation: 0,
        }
    }
}

/// Iterator over a scenario's events.
pub struct Generator<'a> {
    scenario: &'a Scenario,
    rng: Rng,
    minute: i64,
    heap: BinaryHeap<Reverse<Queued>>,
    queued: u64,
    next_event: u64,
    next_conversation: u64,
}

/// An event waiting in the reorder heap, ordered by (time, generation order).
struct Queued(Millis, u64, Box<Event>);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

/// Conversations last at most this long, so events older than the generation front by
/// this much are final and can be emitted in order.
const HORIZON_MS: Millis = 10 * 60_000;

impl Iterator for Generator<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let end = self.scenario.start_ms + self.scenario.duration_ms;
        loop {
            let front = self.scenario.start_ms + self.minute * 60_000;
            if let Some(Reverse(Queued(t, _, _))) = self.heap.peek()
                && (*t < front - HORIZON_MS || front >= end + HORIZON_MS)
            {
                let Reverse(Queued(_, _, e)) = self.heap.pop().expect("peeked");
                return Some(*e);
            }
            if front >= end + HORIZON_MS {
                return None;
            }
            if front < end {
                self.generate_minute(front);
            }
            self.minute += 1;
        }
    }
}

struct Turn<'m> {
    model: &'m ModelProfile,
    lang: usize,
    t: Millis,
}

impl<'a> Generator<'a> {
    fn active(&self, kind: IncidentKind, model: &str, t: Millis) -> bool {
        self.scenario.incidents.iter().any(|i| {
            i.kind == kind && t >= i.start_ms && t < i.end_ms && i.model.as_deref().is_none_or(|m| m == model)
        })
    }

    fn push(&mut self, e: Event) {
        self.queued += 1;
        self.heap.push(Reverse(Queued(e.time_ms, self.queued, Box::new(e))));
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.next_event += 1;
        format!("{prefix}-{}", self.next_event)
    }

    fn generate_minute(&mut self, minute_start: Millis) {
        let s = self.scenario;
        let n = (s.conversations_per_minute * (0.8 + 0.4 * self.rng.f64())).round() as usize;
        for _ in 0..n {
            let start = minute_start + self.rng.range(0, 59_999);
            if start >= s.start_ms + s.duration_ms {
                continue;
            }
            let shares: Vec<f64> = s.models.iter().map(|m| m.share).collect();
            let model = &s.models[self.rng.pick_weighted(&shares)];
            if self.active(IncidentKind::Flatline, &model.name, start) {
                continue;
            }
            let lang = self.rng.pick_weighted(&s.language_weights);
            self.conversation(Turn { model, lang, t: start });
        }
    }

    fn conversation(&mut self, first: Turn<'a>) {
        let s = self.scenario;
        self.next_conversation += 1;
        let conv = format!("c-{}", self.next_conversation);
        let user = format!("u-{}", self.rng.below(2000));
        let tenant = s.tenants[self.rng.below(s.tenants.len())].clone();
        let model = first.model;
        let lang = first.lang;
        let storm = self.active(IncidentKind::RephraseStorm, &model.name, first.t);
        let turns = if storm { 3 } else { 1 + self.rng.below(3) };
        let mut t = first.t;
        let mut unhappy = false;
        let mut question = self.rng.below(QUESTIONS.len());
                for turn in 0..turns {
            let rephrase = turn > 0 && (storm && self.rng.chance(0.7) || self.rng.chance(0.03));
            if !rephrase && turn > 0 {
                question = (question + 1 + self.rng.below(QUESTIONS.len() - 1)) % QUESTIONS.len();
            }
            let (e, bad) = self.interaction(&conv, &user, &tenant, model, lang, question, rephrase, t);
            unhappy |= bad;
            let last_interaction = e.id.to_string();
            let t_done = t + e.latency_ms.unwrap_or(0.0) as Millis;
            self.push(e);
            if self.rng.chance(s.feedback_share) {
                let negative_p = if self.active(IncidentKind::ThumbsDown, &model.name, t) {
                    0.5
                } else if bad {
                    0.6
                } else {
                    0.08
                };
                let mut f = Event::new(self.next_id("f"), t_done + self.rng.range(3_000, 30_000), EventKind::Feedback);
                f.conversation = Some(conv.clone().into());
                f.user = Some(user.clone().into());
                f.tenant = Some(tenant.clone().into());
                f.interaction_id = Some(last_interaction.clone().into());
                let negative = self.rng.chance(negative_p);
                f.score = Some(if negative { -1.0 } else { 1.0 });
                if negative {
                    f.comment = Some("not helpful".into());
                }
                self.push(f);
            }
            t = t_done + self.rng.range(15_000, 50_000);
        }
        let escalate_p = if self.active(IncidentKind::Escalations, &model.name, t) {
            0.3
        } else if unhappy {
            0.25
        } else {
            0.04
        };
        let abandon_p = if self.active(IncidentKind::Abandonment, &model.name, t) { 0.4 } else { 0.08 };
        let outcome = if self.rng.chance(escalate_p) {
            Outcome::Escalated
        } else if self.rng.chance(abandon_p) {
            Outcome::Abandoned
        } else {
            Outcome::Resolved
        };
        let mut o = Event::new(self.next_id("o"), t + self.rng.range(5_000, 40_000), EventKind::Outcome);
        o.conversation = Some(conv.into());
        o.user = Some(user.into());
        o.tenant = Some(tenant.into());
        o.outcome = Some(outcome);
        self.push(o);
    }

    /// One model call; returns it and whether the answer was visibly bad.
    #[allow(clippy::too_many_arguments)]
    fn interaction(&mut self, conv: &str, user: &str, tenant: &str, model: &ModelProfile, lang: usize, question: usize, rephrase: bool, t: Millis) -> (Event, bool) {
        let active = |g: &Self, k| g.active(k, &model.name, t);
        let mut e = Event::new(self.next_id("e"), t, EventKind::Interaction);
        e.conversation = Some(conv.into());
        e.user = Some(user.into());
        e.tenant = Some(tenant.into());
        e.operation = Some("chat".into());
        e.provider = Some(model.provider.clone().into());
        e.request_model = Some(model.name.clone().into());
        e.response_model = Some(model.name.clone().into());
        e.attributes.push(("prompt.version".into(), Scalar::Str("v7".into())));
        e.attributes.push(("channel".into(), Scalar::Str(if self.rng.chance(0.7) { "web" } else { "mobile" }.into())));

        let json = self.rng.chance(self.scenario.json_share);
        let mut bad = false;
        let (input, mut output): (String, String) = if json {
            e.output_type = Some("json".into());
            let broken = self.rng.chance(if active(self, IncidentKind::InvalidJson) { 0.6 } else { 0.01 });
            bad |= broken;
            (JSON_QUESTION.into(), if broken { BROKEN_JSON_ANSWER } else { JSON_ANSWER }.into())
        } else {
            let q = QUESTIONS[question][lang];
            let input = if rephrase { format!("{}{}", REPHRASE_PREFIX[lang], q) } else { q.to_string() };
            // A broken update answers in English most of the time, not always: conversations
            // then switch language midway, as they do in production.
            let answer_lang = if lang != 0 && active(self, IncidentKind::WrongLanguage) && self.rng.chance(0.6) {
                bad = true;
                0
            } else {
                lang
            };
            (input, ANSWERS[question][answer_lang].to_string())
        };
        if !json && self.rng.chance(if active(self, IncidentKind::Refusals) { 0.33 } else { 0.01 }) {
            output = REFUSALS[lang].to_string();
            bad = true;
        }
        if self.rng.chance(if active(self, IncidentKind::PiiLeak) { 0.05 } else { 0.0 }) {
            output = PII_ANSWERS[self.rng.below(PII_ANSWERS.len())].to_string();
        }
        let mut out_tokens = (output.len() as f64 / 4.0 * (0.8 + 0.4 * self.rng.f64())).round();
        if active(self, IncidentKind::CostSpike) {
            out_tokens *= 5.0;
            if !json {
                output = format!("{output} {output} {output}");
            }
        }
        let mut finish = "stop";
        if self.rng.chance(if active(self, IncidentKind::Truncation) { 0.35 } else { 0.01 }) {
            finish = "length";
            let cut = output.char_indices().nth(output.chars().count() / 2).map_or(0, |(i, _)| i);
            output.truncate(cut);
            bad = true;
        }
        if self.rng.chance(if active(self, IncidentKind::EmptyAnswers) { 0.2 } else { 0.004 }) {
            output.clear();
            bad = true;
        }
        let mut latency = model.latency_ms * (0.35 * self.rng.normal()).exp();
        if active(self, IncidentKind::SlowLatency) {
            latency *= 2.5;
        }
        let error = if self.rng.chance(if active(self, IncidentKind::Errors) { 0.2 } else { 0.005 }) {
            Some("500")
        } else if self.rng.chance(if active(self, IncidentKind::RateLimits) { 0.25 } else { 0.003 }) {
            Some("rate_limit")
        } else {
            None
        };
        e.input_tokens = Some((input.len() as f64 / 4.0).round() + 600.0 + self.rng.range(0, 400) as f64);
        e.input = Some(input.into());
        if let Some(err) = error {
            e.error_type = Some(err.into());
            e.latency_ms = Some((latency / 4.0).round());
            e.finish_reasons = vec!["error".into()];
            bad = true;
        } else {
            e.output_tokens = Some(out_tokens);
            e.output = Some(output.into());
            e.finish_reasons = vec![finish.into()];
            e.latency_ms = Some(latency.round());
            e.ttft_ms = Some((latency * 0.25).round());
        }
        (e, bad)
    }
}

/// Serializes an event in the contract's JSON form (events.md).
pub fn to_json(e: &Event) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut m = Map::new();
    m.insert("event_id".into(), json!(e.id));
    m.insert("timestamp".into(), json!(crate::time::format_rfc3339(e.time_ms)));
    m.insert("kind".into(), json!(e.kind.as_str()));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    put("gen_ai.conversation.id", e.conversation.as_deref().map(|s| json!(s)));
    put("user.id", e.user.as_deref().map(|s| json!(s)));
    put("tenant.id", e.tenant.as_deref().map(|s| json!(s)));
    put("gen_ai.operation.name", e.operation.as_deref().map(|s| json!(s)));
    put("gen_ai.provider.name", e.provider.as_deref().map(|s| json!(s)));
    put("gen_ai.request.model", e.request_model.as_deref().map(|s| json!(s)));
    put("gen_ai.response.model", e.response_model.as_deref().map(|s| json!(s)));
    put("gen_ai.usage.input_tokens", e.input_tokens.map(|n| json!(n as i64)));
    put("gen_ai.usage.output_tokens", e.output_tokens.map(|n| json!(n as i64)));
    if !e.finish_reasons.is_empty() {
        put("gen_ai.response.finish_reasons", Some(json!(e.finish_reasons)));
    }
    put("error.type", e.error_type.as_deref().map(|s| json!(s)));
    put("gen_ai.output.type", e.output_type.as_deref().map(|s| json!(s)));
    put("latency_ms", e.latency_ms.map(|n| json!(n as i64)));
    put("ttft_ms", e.ttft_ms.map(|n| json!(n as i64)));
    put("input", e.input.as_deref().map(|s| json!(s)));
    put("output", e.output.as_deref().map(|s| json!(s)));
    put("interaction_id", e.interaction_id.as_deref().map(|s| json!(s)));
    put("score", e.score.map(|n| json!(n as i64)));
    put("comment", e.comment.as_deref().map(|s| json!(s)));
    put("outcome", e.outcome.map(|o| json!(o.as_str())));
    if !e.attributes.is_empty() {
        let attrs: Map<String, Value> = e
            .attributes
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Scalar::Null => Value::Null,
                    Scalar::Bool(b) => json!(b),
                    Scalar::Num(n) => json!(n),
                    Scalar::Str(s) => json!(s),
                };
                (k.to_string(), v)
            })
            .collect();
        m.insert("attributes".into(), Value::Object(attrs));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_time_ordered() {
        let s = Scenario::baseline(0, 30 * 60_000, 7);
        let a: Vec<Event> = s.events().collect();
        let b: Vec<Event> = s.events().collect();
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| x.id == y.id && x.time_ms == y.time_ms));
        assert!(a.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        assert!(a.len() > 1000, "{}", a.len());
    }

    #[test]
    fn serialized_events_decode_back() {
        let s = Scenario::baseline(1_795_000_000_000, 5 * 60_000, 1);
        let d = crate::event::Decoder::default();
        for e in s.events().take(300) {
            let back = d.decode(to_json(&e).to_string().as_bytes()).unwrap();
            assert_eq!(back.id, e.id);
            assert_eq!(back.model(), e.model());
            assert_eq!(back.output, e.output);
        }
    }

    #[test]
    fn flatline_removes_the_model() {
        let s = Scenario::baseline(0, 20 * 60_000, 3).with_incident(IncidentKind::Flatline, Some("gpt-4o-mini"), 0, 20 * 60_000);
        assert!(s.events().all(|e| e.model() != Some("gpt-4o-mini")));
    }
}
