//! Signals on real text: official translations (tests/data/translations.tsv), real
//! refusal phrasings, realistic rephrasings.

use super::*;
use crate::event::{Event, EventKind, Scalar};

fn translations() -> Vec<(String, String)> {
    include_str!("../../tests/data/translations.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (code, text) = l.split_once('\t').expect("code<TAB>text");
            (code.to_string(), text.to_string())
        })
        .collect()
}

fn turn(id: &str, t: i64, conv: &str, input: &str, output: &str) -> Event {
    let mut e = Event::new(id, t, EventKind::Interaction);
    e.conversation = Some(conv.into());
    e.input = Some(input.into());
    e.output = Some(output.into());
    e
}

fn one(id: SignalId) -> SignalSet {
    [id].into_iter().collect()
}

#[test]
fn detects_every_official_translation() {
    let d = language::LanguageDetector::new(&LanguageConfig::default());
    for (code, text) in translations() {
        let got = d.detect(&text).map(|c| String::from_utf8_lossy(&c).into_owned());
        assert_eq!(got.as_deref(), Some(code.as_str()), "{text}");
    }
}

#[test]
fn language_mismatch_on_real_translations() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let texts = translations();
    let (eng, fra, deu) = (&texts[0].1, &texts[1].1, &texts[2].1);
    let mismatch = |engine: &mut SignalEngine, q: &str, a: &str| engine.compute(&turn("e", 0, "c", q, a), one(SignalId::LanguageMismatch)).get(SignalId::LanguageMismatch);
    assert_eq!(mismatch(&mut engine, fra, eng), Value::Bool(true));
    assert_eq!(mismatch(&mut engine, deu, eng), Value::Bool(true));
    for (_, text) in &texts {
        assert_eq!(mismatch(&mut engine, text, text), Value::Bool(false), "{text}");
    }
    // Too short to tell: unknown, not "no mismatch".
    assert_eq!(mismatch(&mut engine, "Merci !", eng), Value::Null);
}

#[test]
fn language_switch_against_the_conversations_earlier_answers() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let texts = translations();
    let (eng, deu) = (&texts[0].1, &texts[2].1);
    let needs = one(SignalId::LanguageSwitch);
    let first = engine.compute(&turn("1", 0, "c1", deu, deu), needs);
    assert_eq!(first.get(SignalId::LanguageSwitch), Value::Null, "no earlier answer yet");
    assert_eq!(engine.compute(&turn("2", 10, "c1", deu, deu), needs).get(SignalId::LanguageSwitch), Value::Bool(false));
    assert_eq!(engine.compute(&turn("3", 20, "c1", deu, eng), needs).get(SignalId::LanguageSwitch), Value::Bool(true));
    // Another conversation has its own history.
    assert_eq!(engine.compute(&turn("4", 30, "c2", eng, eng), needs).get(SignalId::LanguageSwitch), Value::Null);
}

#[test]
fn refusals_in_several_languages_and_helpful_answers_that_apologise() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let refusal = |engine: &mut SignalEngine, out: &str| engine.compute(&turn("e", 0, "c", "q", out), one(SignalId::Refusal)).get(SignalId::Refusal);
    for text in [
        "I'm sorry, but I can't help with that request.",
        "I’m sorry, but I can’t assist with that.",
        "Je suis désolé, mais je ne peux pas vous aider avec cette demande.",
        "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.",
        "Lo siento, pero no puedo ayudar con esa solicitud.",
        "Mi dispiace, ma non posso aiutarti con questa richiesta.",
        "Desculpe, mas não posso ajudar com isso.",
        "申し訳ありませんが、そのご依頼にはお手伝いできません。",
    ] {
        assert_eq!(refusal(&mut engine, text), Value::Bool(true), "{text}");
    }
    for text in [
        "Sorry for the wait! You can return any item within thirty days.",
        "Désolé pour l'attente : vous pouvez retourner l'article sous trente jours.",
        "I can help with that: open the login page and choose forgot password.",
    ] {
        assert_eq!(refusal(&mut engine, text), Value::Bool(false), "{text}");
    }
    // A refusal quoted deep inside a long answer is not the answer refusing.
    let long = format!("{} The assistant used to say \"I can't help with\" here.", "Here is a detailed answer. ".repeat(30));
    assert_eq!(refusal(&mut engine, &long), Value::Bool(false));
}

#[test]
fn rephrase_within_the_time_limit_and_conversation() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let needs = one(SignalId::Rephrase);
    let r = |engine: &mut SignalEngine, id: &str, t: i64, conv: &str, input: &str| engine.compute(&turn(id, t, conv, input, "ok"), needs).get(SignalId::Rephrase);
    assert_eq!(r(&mut engine, "1", 0, "c", "how do I reset my password"), Value::Null);
    assert_eq!(r(&mut engine, "2", 30_000, "c", "how can I reset my password??"), Value::Bool(true));
    assert_eq!(r(&mut engine, "3", 60_000, "c", "thanks! and how long does shipping take?"), Value::Bool(false));
    // Too late to count as asking again.
    assert_eq!(r(&mut engine, "4", 400_000, "c", "and how long does shipping take"), Value::Bool(false));
    // Another conversation starts fresh.
    assert_eq!(r(&mut engine, "5", 400_001, "other", "how long does shipping take"), Value::Null);
}

#[test]
fn structural_signals_and_their_null_cases() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let all = SignalSet::all();
    let mut e = turn("e", 0, "c", "Return the order status as JSON.", "```json\n{\"id\": 1}\n```");
    e.output_type = Some("json".into());
    e.finish_reasons = vec!["length".into()];
    e.response_model = Some("gpt-4o-mini-2024-07-18".into());
    e.input_tokens = Some(1000.0);
    e.output_tokens = Some(200.0);
    e.latency_ms = Some(2500.0);
    e.ttft_ms = Some(500.0);
    let s = engine.compute(&e, all);
    assert_eq!(s.get(SignalId::InvalidJson), Value::Bool(false));
    assert_eq!(s.get(SignalId::Truncated), Value::Bool(true));
    assert_eq!(s.get(SignalId::EmptyResponse), Value::Bool(false));
    assert_eq!(s.get(SignalId::Error), Value::Bool(false));
    assert_eq!(s.get(SignalId::TokensPerSecond), Value::Num(100.0));
    let cost = s.get(SignalId::CostUsd).as_f64().unwrap();
    assert!((cost - (1000.0 * 0.15 + 200.0 * 0.60) / 1e6).abs() < 1e-12);
    assert_eq!(s.get(SignalId::OutputChars), Value::Num(21.0));
    // Not asked for JSON: invalid_json does not apply.
    let plain = turn("p", 0, "c", "hi", "not json");
    assert_eq!(engine.compute(&plain, all).get(SignalId::InvalidJson), Value::Null);
    let mut by_attr = turn("a", 0, "c", "hi", "not json");
    by_attr.attributes.push(("expected_format".into(), Scalar::Str("json".into())));
    assert_eq!(engine.compute(&by_attr, all).get(SignalId::InvalidJson), Value::Bool(true));
    // Asked for JSON: an empty output is invalid, no output at all (capture off) is unknown.
    by_attr.output = Some("".into());
    assert_eq!(engine.compute(&by_attr, all).get(SignalId::InvalidJson), Value::Bool(true));
    by_attr.output = None;
    assert_eq!(engine.compute(&by_attr, all).get(SignalId::InvalidJson), Value::Null);
    // A failed call: error and rate limit, no empty-response verdict.
    let mut failed = Event::new("f", 0, EventKind::Interaction);
    failed.error_type = Some("429".into());
    let s = engine.compute(&failed, all);
    assert_eq!(s.get(SignalId::Error), Value::Bool(true));
    assert_eq!(s.get(SignalId::RateLimited), Value::Bool(true));
    assert_eq!(s.get(SignalId::EmptyResponse), Value::Null);
    assert_eq!(s.get(SignalId::CostUsd), Value::Null);
}

#[test]
fn feedback_and_outcomes() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let all = SignalSet::all();
    let score = |engine: &mut SignalEngine, x: f64| {
        let mut f = Event::new("f", 0, EventKind::Feedback);
        f.score = Some(x);
        engine.compute(&f, all).get(SignalId::NegativeFeedback)
    };
    assert_eq!(score(&mut engine, -1.0), Value::Bool(true));
    assert_eq!(score(&mut engine, 1.0), Value::Bool(false));
    assert_eq!(score(&mut engine, 2.0), Value::Bool(true));
    assert_eq!(score(&mut engine, 4.0), Value::Bool(false));
    let mut o = Event::new("o", 0, EventKind::Outcome);
    o.outcome = Some(crate::event::Outcome::Escalated);
    let s = engine.compute(&o, all);
    assert_eq!(s.get(SignalId::Escalated), Value::Bool(true));
    assert_eq!(s.get(SignalId::Abandoned), Value::Bool(false));
    assert_eq!(s.get(SignalId::Refusal), Value::Null);
}

#[test]
fn computes_only_what_is_needed_and_leaves_memory_alone_otherwise() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let e = turn("e", 0, "c", "how do I reset my password", "I can't help with that.");
    let s = engine.compute(&e, one(SignalId::Truncated));
    assert_eq!(s.get(SignalId::Refusal), Value::Null);
    assert_eq!(engine.conversations(), 0);
    engine.compute(&e, one(SignalId::Rephrase));
    assert_eq!(engine.conversations(), 1);
}

#[test]
fn engine_state_round_trips() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    engine.compute(&turn("1", 0, "c", "how do I reset my password", "ok"), one(SignalId::Rephrase));
    let json = serde_json::to_string(&engine).unwrap();
    let mut back: SignalEngine = serde_json::from_str(&json).unwrap();
    let s = back.compute(&turn("2", 1000, "c", "how can I reset my password", "ok"), one(SignalId::Rephrase));
    assert_eq!(s.get(SignalId::Rephrase), Value::Bool(true));
}

#[test]
fn default_config_is_valid_and_bad_values_are_named() {
    assert!(SignalConfig::default().validate().is_empty());
    let mut c = SignalConfig::default();
    c.language.languages.push("xx".into());
    c.rephrase.min_similarity = 2.0;
    let errors = c.validate();
    assert!(errors.iter().any(|e| e.contains("`xx`")), "{errors:?}");
    assert!(errors.iter().any(|e| e.starts_with("rephrase.min_similarity")), "{errors:?}");
}
