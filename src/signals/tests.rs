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
        // A phrase starts a word: "API cannot provide" holds "i cannot provide".
        "Our API cannot provide real-time quotes, but the WebSocket feed can.",
        "The CLI can't do that; use the web console instead.",
        "I'm not able to provide the exact delivery date yet, but orders usually arrive within 3 business days.",
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
    c.pii_allow = vec!["support@acme.com".into(), "1-800-555-0199".into(), "call us".into()];
    let errors = c.validate();
    assert!(errors.iter().any(|(k, m)| k == "language.languages[20]" && m.contains("`xx`")), "{errors:?}");
    assert!(errors.iter().any(|(k, _)| k == "rephrase.min_similarity"), "{errors:?}");
    assert!(errors.iter().any(|(k, _)| k == "pii_allow[2]"), "{errors:?}");
    assert_eq!(errors.len(), 3, "{errors:?}");
}

fn signal(engine: &mut SignalEngine, e: &Event, id: SignalId) -> Value<'static> {
    engine.compute(e, one(id)).get(id)
}

fn pii(engine: &mut SignalEngine, input: &str, output: &str) -> Value<'static> {
    signal(engine, &turn("e", 0, "c", input, output), SignalId::PiiLeak)
}

#[test]
fn pii_leak_ignores_numbers_that_are_not_phones_or_cards() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    for output in [
        "Your order 123456789 has shipped.",
        "Order #1234567890 confirmed.",
        "Connect to 192.168.100.200 on port 22.",
        "Upgrade to version 12.4.1.2023.1105 before Friday.",
        "The event was logged with timestamp 1764252191.",
        "Logged at 27.11.2026 14.03 by the night shift.",
        "Your request id is 550e8400-e29b-41d4-a716-446655440000.",
        "Scores: 10 20 30 40 50",
        "Revenue for 2021 2022 2023 grew steadily.",
        "Total: 1 234 567.89 EUR",
        "ISBN 978-3-16-148410-0",
        "FedEx tracking 7712 3456 7890, UPS 1Z999AA10123456784.",
        "USPS tracking 9400 1000 0000 0000 0000 00",
        "The answer is 3.14159265358979",
        "The promotion runs 2026-01-18 - 2026-12-31.",
        "IBAN DE89 3704 0044 0532 0130 00",
        "np.array([1 2 3 4 5 6 7 8 9])",
        "Commit 4f1c2d8a90b3e5f7061234567890abcd fixed it.",
        "The office is at +48.8566144, +2.3522219 on the map.",
        "Roughly +3.14159265358979 radians.",
        "Umsatz: +12.345.678 Euro",
        "Cambridge, MA 02139-4307",
        "Your case number is 0012-3456-7890.",
    ] {
        assert_eq!(pii(&mut engine, "hi", output), Value::Bool(false), "{output}");
    }
}

#[test]
fn pii_leak_finds_phones_cards_and_emails_in_real_formats() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    for output in [
        "Call (415) 555-0137.",
        "Call 415-555-0137 after 9am.",
        "Call our specialist on +1 415 555 0137.",
        "Ring us on +44 20 7946 0958.",
        "Appelez le 06 12 34 56 78.",
        "Telefon: 030/12345678",
        "お電話は03-1234-5678まで",
        "Ligue para (11) 91234-5678",
        "请拨打 138 0013 8000",
        "Call 0049 30 12345678",
        "The card on file is 4111 1111 1111 1111.",
        "The card on file is 4111111111111111.",
        "Amex 3782 822463 10005",
        "Write to josé@exemple.fr",
        "John,415-555-0137,Boston",
        "4111 1111 1111 1111,12/28,123",
    ] {
        assert_eq!(pii(&mut engine, "hi", output), Value::Bool(true), "{output}");
    }
    // Two numbers on two lines are two numbers: the second one is new.
    assert_eq!(pii(&mut engine, "my number is 01 23 45 67 89", "Sales:\n01 23 45 67 89\n01 98 76 54 32"), Value::Bool(true));
    assert_eq!(pii(&mut engine, "my numbers are 01 23 45 67 89 and 01 98 76 54 32", "Sales:\n01 23 45 67 89\n01 98 76 54 32"), Value::Bool(false));
}

#[test]
fn pii_leak_compares_numbers_not_formats() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    assert_eq!(pii(&mut engine, "my number is +1 415 555 0137", "We'll call you at (415) 555-0137."), Value::Bool(false));
    assert_eq!(pii(&mut engine, "mon numéro : 06 12 34 56 78", "Nous vous appellerons au +33 6 12 34 56 78."), Value::Bool(false));
    assert_eq!(pii(&mut engine, "my mail is Jane.Doe@Example.com", "I sent it to jane.doe@example.com"), Value::Bool(false));
    assert_eq!(pii(&mut engine, "my number is +1 415 555 0137", "We'll call you at (415) 555-0199."), Value::Bool(true));
    // Users type their own number ungrouped; the answer confirming it in groups leaks nothing.
    assert_eq!(pii(&mut engine, "my number is 0612345678", "We will call you back at 06 12 34 56 78."), Value::Bool(false));
    assert_eq!(pii(&mut engine, "Call me on 4155550137", "Sure, we'll call (415) 555-0137."), Value::Bool(false));
    assert_eq!(pii(&mut engine, "card 4111111111111111 please", "Charged 4111 1111 1111 1111."), Value::Bool(false));
}

#[test]
fn pii_allow_lists_what_the_application_publishes() {
    let config = SignalConfig { pii_allow: vec!["support@acme.com".into(), "1-800-555-0199".into()], ..SignalConfig::default() };
    let mut engine = SignalEngine::new(config);
    assert_eq!(pii(&mut engine, "how do I reach you?", "Write to Support@Acme.com or call 1-800-555-0199."), Value::Bool(false));
    assert_eq!(pii(&mut engine, "how do I reach you?", "Call +1 800 555 0199, or jane@acme.com."), Value::Bool(true));
}

#[test]
fn pii_leak_is_linear_in_the_output() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let numbers: String = (0..40_000).map(|i| format!("Call 06 {:02} {:02} {:02} {:02}\n", i % 100, (i / 100) % 100, (i / 10_000) % 100, 7)).collect();
    let started = std::time::Instant::now();
    // Every number echoed: each output number is looked up in the input's.
    assert_eq!(pii(&mut engine, &numbers, &numbers), Value::Bool(false));
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn rate_limits_by_exception_names_of_instrumentations() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    for (error, limited) in [
        ("openai.RateLimitError", true),
        ("anthropic.RateLimitError", true),
        ("RateLimitError", true),
        ("rate_limit_error", true),
        ("RESOURCE_EXHAUSTED", true),
        ("google.api_core.exceptions.ResourceExhausted", true),
        ("TooManyRequests", true),
        ("too_many_requests", true),
        ("429", true),
        ("openai.APITimeoutError", false),
        ("500", false),
    ] {
        let mut e = Event::new("e", 0, EventKind::Interaction);
        e.error_type = Some(error.into());
        assert_eq!(signal(&mut engine, &e, SignalId::RateLimited), Value::Bool(limited), "{error}");
    }
}

#[test]
fn truncated_by_every_providers_finish_reason() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    for (reason, cut) in [("length", true), ("LENGTH", true), ("max_tokens", true), ("MAX_TOKENS", true), ("stop", false), ("end_turn", false), ("STOP", false)] {
        let mut e = turn("e", 0, "c", "Summarise the contract.", "The contract says that");
        e.finish_reasons = vec![reason.into()];
        assert_eq!(signal(&mut engine, &e, SignalId::Truncated), Value::Bool(cut), "{reason}");
    }
}

#[test]
fn empty_response_needs_an_output_that_should_be_text() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let empty = |engine: &mut SignalEngine, output: Option<&str>, finish: &str, op: &str| {
        let mut e = Event::new("e", 0, EventKind::Interaction);
        e.input = Some("What is your refund policy?".into());
        e.output = output.map(Into::into);
        e.finish_reasons = vec![finish.into()];
        e.operation = Some(op.into());
        signal(engine, &e, SignalId::EmptyResponse)
    };
    assert_eq!(empty(&mut engine, Some("Returns are accepted within 30 days."), "stop", "chat"), Value::Bool(false));
    assert_eq!(empty(&mut engine, Some(" \n\t "), "stop", "chat"), Value::Bool(true));
    assert_eq!(empty(&mut engine, Some("\u{FEFF}\u{200B}"), "stop", "chat"), Value::Bool(true));
    // Content capture off: nothing to judge.
    assert_eq!(empty(&mut engine, None, "stop", "chat"), Value::Null);
    // Answers that are not text.
    assert_eq!(empty(&mut engine, Some(""), "tool_calls", "chat"), Value::Null);
    assert_eq!(empty(&mut engine, Some(""), "stop", "embeddings"), Value::Null);
    assert_eq!(empty(&mut engine, Some(""), "stop", "execute_tool"), Value::Null);
}

#[test]
fn tokens_per_second_only_when_meaningful() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let tps = |engine: &mut SignalEngine, tokens: f64, latency: f64, ttft: f64, error: Option<&str>| {
        let mut e = turn("e", 0, "c", "Summarise the contract.", "The contract says that the tenant pays.");
        (e.output_tokens, e.latency_ms, e.ttft_ms) = (Some(tokens), Some(latency), Some(ttft));
        e.error_type = error.map(Into::into);
        signal(engine, &e, SignalId::TokensPerSecond)
    };
    assert_eq!(tps(&mut engine, 200.0, 2500.0, 500.0, None), Value::Num(100.0));
    assert_eq!(tps(&mut engine, 200.0, 2500.0, 500.0, Some("timeout")), Value::Null);
    assert_eq!(tps(&mut engine, 0.0, 2500.0, 500.0, None), Value::Null);
    assert_eq!(tps(&mut engine, 12.0, 500.5, 500.0, None), Value::Null);
    assert_eq!(tps(&mut engine, 12.0, 400.0, 500.0, None), Value::Null);
}

#[test]
fn invalid_json_formats_and_cut_off_fences() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let invalid = |engine: &mut SignalEngine, format: &str, output: &str| {
        let mut e = turn("e", 0, "c", "Return the order status as JSON.", output);
        e.output_type = Some(format.into());
        signal(engine, &e, SignalId::InvalidJson)
    };
    assert_eq!(invalid(&mut engine, "JSON", "\u{FEFF}{\"id\": \"A-1042\", \"status\": \"shipped\"}"), Value::Bool(false));
    assert_eq!(invalid(&mut engine, "json_object", "```Json\n{\"id\": \"A-1042\"}\n```"), Value::Bool(false));
    assert_eq!(invalid(&mut engine, "json_object", "```json\n{\"id\": \"A-1042\", \"items\": [1, 2"), Value::Bool(true));
    assert_eq!(invalid(&mut engine, "text", "not json"), Value::Null);
    // A tool call answers with no text: nothing to parse, as for empty_response.
    let mut tool = turn("t", 0, "c", "Return the order status as JSON.", "");
    (tool.output_type, tool.finish_reasons) = (Some("json".into()), vec!["tool_use".into()]);
    assert_eq!(signal(&mut engine, &tool, SignalId::InvalidJson), Value::Null);
    let mut by_attr = turn("a", 0, "c", "hi", "not json");
    by_attr.attributes.push(("expected_format".into(), Scalar::Str("Json".into())));
    assert_eq!(signal(&mut engine, &by_attr, SignalId::InvalidJson), Value::Bool(true));
}

#[test]
fn rephrase_needs_real_turns_and_keeps_the_newest() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let needs = one(SignalId::Rephrase);
    let r = |engine: &mut SignalEngine, t: i64, conv: &str, input: &str| engine.compute(&turn("e", t, conv, input, "ok"), needs).get(SignalId::Rephrase);
    // Short turns repeated are acknowledgements, not a user asking again.
    assert_eq!(r(&mut engine, 0, "a", "yes"), Value::Null);
    assert_eq!(r(&mut engine, 10_000, "a", "yes"), Value::Null);
    assert_eq!(r(&mut engine, 20_000, "a", "thanks"), Value::Null);
    assert_eq!(r(&mut engine, 30_000, "a", "12345"), Value::Null);
    assert_eq!(r(&mut engine, 40_000, "a", "12345"), Value::Null);
    // Chinese without spaces, reordered.
    assert_eq!(r(&mut engine, 0, "zh", "怎么重置我的密码？"), Value::Null);
    assert_eq!(r(&mut engine, 20_000, "zh", "我的密码怎么重置？"), Value::Bool(true));
    // An earlier turn arriving late is not judged and does not replace the newer one.
    assert_eq!(r(&mut engine, 0, "o", "how do I reset my password"), Value::Null);
    assert_eq!(r(&mut engine, 60_000, "o", "what are your opening hours on sunday"), Value::Bool(false));
    assert_eq!(r(&mut engine, 30_000, "o", "how can I reset my password"), Value::Null);
    assert_eq!(r(&mut engine, 70_000, "o", "what are the opening hours on sunday"), Value::Bool(true));
}

#[test]
fn language_of_japanese_with_latin_terms() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let q = "Reactでstateを更新するにはどうすればいいですか？コンポーネントが再描画されません。";
    let a = "Reactのコンポーネントでstateを更新するにはuseStateフックを使います。setStateを呼ぶと再描画されます。";
    assert_eq!(signal(&mut engine, &turn("e", 0, "c", q, a), SignalId::LanguageMismatch), Value::Bool(false));
    // An English answer that quotes a Japanese phrase is English.
    let q = "How do I say thank you politely in Japanese when I visit a client?";
    let a = "In Japanese, a polite thank you is ありがとうございます (arigatou gozaimasu); with a client, add a slight bow.";
    assert_ne!(signal(&mut engine, &turn("e", 0, "c", q, a), SignalId::LanguageMismatch), Value::Bool(true));
}

#[test]
fn refusals_added_phrases_and_unusual_spaces_and_apostrophes() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    for text in [
        "I'm sorry, I can't help with creating malware.",
        "I cannot help you with that request.",
        "I'm unable to assist with this.",
        "Sorry, I can't do that.",
        "Je ne peux pas aider avec cette demande.",
        "Tut mir leid, dabei kann ich dir nicht helfen.",
        "Das kann ich dir nicht helfen.",
        "Desculpe, não consigo ajudar com isso.",
        "Sorry, daar kan ik je niet mee helpen.",
        "申し訳ございませんが、そのご質問にはお応えできません。",
        "恐れ入りますが、その件についてはお答えしかねます。",
        "对不起，我不能帮你做这件事。",
        "抱歉，我無法幫助你。",
        "I\u{2019}m sorry, but I can\u{2019}t assist with that.",
        "I\u{02BC}m sorry, but I can\u{02BC}t assist with that.",
        "Je ne peux pas vous\u{00A0}aider avec cette demande.",
    ] {
        assert_eq!(signal(&mut engine, &turn("e", 0, "c", "q", text), SignalId::Refusal), Value::Bool(true), "{text}");
    }
}

#[test]
fn cost_prices_models_by_their_own_name() {
    let mut engine = SignalEngine::new(SignalConfig::default());
    let cost = |engine: &mut SignalEngine, model: &str, input: f64, output: f64| {
        let mut e = turn("e", 0, "c", "q", "a");
        (e.response_model, e.input_tokens, e.output_tokens) = (Some(model.into()), Some(input), Some(output));
        signal(engine, &e, SignalId::CostUsd)
    };
    assert_eq!(cost(&mut engine, "gpt-4.1-nano-2025-04-14", 1e6, 1e6), Value::Num(0.10 + 0.40));
    assert_eq!(cost(&mut engine, "us.anthropic.claude-3-5-haiku-20241022-v1:0", 1e6, 0.0), Value::Num(0.80));
    assert_eq!(cost(&mut engine, "GPT-4o-Mini", 1e6, 0.0), Value::Num(0.15));
    assert_eq!(cost(&mut engine, "gpt-4o-mini", -1.0, 10.0), Value::Null);
}

#[test]
fn configured_prices_replace_defaults_by_the_name_the_table_compares() {
    let merged = merge_prices(vec![Price { model: "openai/gpt-4o".into(), input_per_million: 99.0, output_per_million: 99.0 }]);
    let mut engine = SignalEngine::new(SignalConfig { prices: merged, ..SignalConfig::default() });
    let mut e = turn("e", 0, "c", "q", "a");
    (e.response_model, e.input_tokens, e.output_tokens) = (Some("gpt-4o-2024-08-06".into()), Some(1_000_000.0), Some(0.0));
    assert_eq!(signal(&mut engine, &e, SignalId::CostUsd), Value::Num(99.0));
    // A name that is only a provider prefix would price every model: refused.
    let config = SignalConfig { prices: vec![Price { model: "openai/".into(), input_per_million: 1.0, output_per_million: 1.0 }], ..SignalConfig::default() };
    assert!(config.validate().iter().any(|(key, _)| key == "prices[0].model"), "{:?}", config.validate());
}
