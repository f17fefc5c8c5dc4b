//! `llmwatch demo`: the embedded default. A generated support-assistant stream with a bad
//! model update, played through the shipped rules in accelerated time — no Kafka, no network.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use clap::Args;

use llmwatch::demo::score::score;
use llmwatch::demo::{IncidentKind, SHIPPED_RULES, Scenario, shipped_rules, to_json};
use llmwatch::eval::{AlertState, Engine, EngineConfig, Transition};
use llmwatch::event::Decoder;
use llmwatch::notify::notification::{Kind, Notification, RuleFacts};
use llmwatch::notify::Templates;
use llmwatch::output::{group_text, round_value, transition_json};
use llmwatch::rules::Rule;
use llmwatch::time::{Millis, format_rfc3339, parse_rfc3339};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the generated events, the transitions and the messages that would
    /// have been sent.
    #[arg(long, default_value = "llmwatch-demo")]
    pub out: PathBuf,
    /// Real seconds the 3 hours of simulated traffic take (0 = as fast as possible; at
    /// most 3 hours, real time).
    #[arg(long, default_value_t = 20.0, value_parser = parse_seconds)]
    pub seconds: f64,
    /// Seed of the generator (same seed, same stream).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

const MINUTE: Millis = 60_000;

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let rules = shipped_rules().map_err(|d| anyhow::anyhow!("the embedded rules do not load: {}", d[0]))?;
    let start = parse_rfc3339("2026-11-27T12:00:00Z").expect("valid time");
    let (bad_from, bad_to) = (start + 90 * MINUTE, start + 135 * MINUTE);
    let mut scenario = Scenario::baseline(start, 180 * MINUTE, args.seed);
    for kind in [IncidentKind::WrongLanguage, IncidentKind::Refusals, IncidentKind::SlowLatency] {
        scenario = scenario.with_incident(kind, Some("gpt-4o-mini"), bad_from, bad_to);
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut events_file = BufWriter::new(std::fs::File::create(args.out.join("events.jsonl"))?);
    let mut transitions_file = BufWriter::new(std::fs::File::create(args.out.join("transitions.jsonl"))?);
    // The rules the demo ran, so the replay hint at the end works from any directory.
    let rules_dir = args.out.join("rules");
    write_rules(&rules_dir)?;
    let templates = Templates::default();

    let mut out = std::io::stdout().lock();
    writeln!(out, "llmwatch demo — a simulated LLM support assistant: 3 hours of traffic, played in about {:.0} s\n", args.seconds)?;
    writeln!(out, "  models   gpt-4o-mini (openai), claude-3-5-sonnet (anthropic), llama-3.1-70b (aws.bedrock)")?;
    writeln!(out, "  users    5 tenants; questions in English, French, German and Spanish; feedback and outcomes")?;
    writeln!(out, "  rules    {} rules from the shipped packs (crawl, walk, run), e.g. language_mismatch_rate, refusal_rate, latency_p95", rules.rules.len())?;
    writeln!(out, "  incident {} a bad model update reaches gpt-4o-mini: French, German and Spanish users are", hhmm(bad_from))?;
    writeln!(out, "           answered in English, a third of requests refused, latency ×2.5. Rolled back at {}.\n", hhmm(bad_to))?;
    out.flush()?;

    let notify = llmwatch::demo::demo_notify_config();
    let mut stager = llmwatch::notify::Stager::new(&notify);
    let mut staged = Vec::new();
    let mut engine = Engine::new(Arc::new(rules), EngineConfig::default());
    let decoder = Decoder::default();
    let mut transitions: Vec<Transition> = Vec::new();
    let mut fresh = Vec::new();
    let mut line = String::new();
    let started = Instant::now();
    let mut busy = StdDuration::ZERO;
    let pace = args.seconds / 180.0;
    let mut next_progress = start + 15 * MINUTE;
    let mut events = 0u64;
    for event in scenario.events() {
        // The generated event goes through the same JSON contract as a real one.
        line.clear();
        line.push_str(&to_json(&event).to_string());
        writeln!(events_file, "{line}")?;
        let t0 = Instant::now();
        let decoded = decoder.decode(line.as_bytes()).context("generated event does not decode")?;
        let t = decoded.time_ms;
        engine.process(decoded, &mut fresh);
        busy += t0.elapsed();
        events += 1;
        staged.extend(stager.stage(engine.rules(), &fresh));
        for tr in fresh.drain(..) {
            writeln!(transitions_file, "{}", transition_json(&tr, true))?;
            if tr.state.is_notifiable() {
                print_transition(&mut out, &tr, engine.rules().get(&tr.rule), &templates)?;
            }
            transitions.push(tr);
        }
        if t >= next_progress {
            let firing = firing_now(&transitions);
            writeln!(out, "{}  {:>6} events  {}", hhmm(next_progress), events, if firing.is_empty() { "all quiet".to_string() } else { format!("firing: {}", firing.join(", ")) })?;
            out.flush()?;
            next_progress += 15 * MINUTE;
        }
        if pace > 0.0 {
            let due = StdDuration::from_secs_f64((t - start).max(0) as f64 / MINUTE as f64 * pace);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    events_file.flush()?;
    transitions_file.flush()?;
    if let Some(clock) = engine.clock() {
        staged.extend(stager.tick(engine.rules(), clock + notify.flap.period.as_millis()));
    }
    let messages_dir = args.out.join("messages");
    llmwatch::notify::preview::clear_messages(&messages_dir)?;
    let written = llmwatch::notify::preview::write_messages(&notify, &staged, &messages_dir)?;

    let card = score(&scenario, &transitions);
    writeln!(out, "\nSummary")?;
    writeln!(out, "  {} events, {} alert transitions; the engine spent {:.2} s ({:.0} events/s, JSON decode included)", events, transitions.len(), busy.as_secs_f64(), events as f64 / busy.as_secs_f64().max(1e-9))?;
    for inc in card.incidents.iter().take(1) {
        writeln!(out, "  the bad update on gpt-4o-mini ({}–{}) was caught by:", hhmm(inc.incident.start_ms), hhmm(inc.incident.end_ms))?;
    }
    // One line per alert, in the order they first fired; an alert that fired more than once
    // says so (it flapped), with its last resolution.
    let mut caught: Vec<(&llmwatch::demo::score::Detection, Millis)> = Vec::new();
    for inc in &card.incidents {
        for d in &inc.detections {
            if !caught.iter().any(|(c, _)| c.rule == d.rule && c.group == d.group) {
                caught.push((d, inc.incident.start_ms));
            }
        }
    }
    caught.sort_by_key(|(d, _)| d.fired_at);
    for (d, start) in caught {
        writeln!(out, "    {:<28} {:<24} {}", d.rule, d.group, detection_text(d, start))?;
    }
    if card.false_firings.is_empty() {
        writeln!(out, "  false alarms: none — the normal stretches stayed quiet")?;
    } else {
        writeln!(out, "  alerts no incident explains: {}", card.false_firings.len())?;
        for t in &card.false_firings {
            writeln!(out, "    {} {} {{{}}}", hhmmss(t.at_ms), t.rule, group_text(t))?;
        }
    }
    writeln!(out, "\nMessages on-call would have received ({} Slack and e-mail messages, grouped per receiver within {}):", written.len(), notify.group_wait)?;
    for w in written.iter().take(8) {
        writeln!(out, "  {}  {:<13} {}", hhmmss(w.at_ms), w.receiver, w.title)?;
    }
    if written.len() > 8 {
        writeln!(out, "  … and {} more", written.len() - 8)?;
    }
    writeln!(out, "  rendered in {}/ (Slack Block Kit request bodies as .json, e-mails as .eml)", messages_dir.display())?;
    writeln!(out, "\n  wrote {0}/events.jsonl and {0}/transitions.jsonl; replay them with:", args.out.display())?;
    writeln!(out, "    llmwatch replay --rules {} --events {}/events.jsonl --output table", rules_dir.display(), args.out.display())?;
    Ok(ExitCode::SUCCESS)
}

/// One alert's story during the incident: first firing, how many times it fired, and its
/// last resolution.
fn detection_text(d: &llmwatch::demo::score::Detection, incident_start: Millis) -> String {
    let first = format!("{} ({} after the update)", hhmmss(d.fired_at), minutes(d.fired_at - incident_start));
    let end = d.resolved_at.map_or("still firing".to_string(), |r| format!("resolved {}", hhmmss(r)));
    if d.firings > 1 {
        format!("fired {}× (first {first}), last {end}", d.firings)
    } else {
        format!("fired {first}, {end}")
    }
}

/// Writes the embedded rule packs under `dir` (`crawl/…`, `walk/…`, `run/…`).
fn write_rules(dir: &std::path::Path) -> anyhow::Result<()> {
    for (path, text) in SHIPPED_RULES {
        let target = dir.join(path.strip_prefix("rules/").unwrap_or(path));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(())
}

/// A transition as on-call would read it: the rule's rendered `summary` (which carries the
/// units), else the bare value; then the condition and the window's event count.
fn print_transition(out: &mut impl Write, t: &Transition, rule: Option<&Rule>, templates: &Templates) -> std::io::Result<()> {
    let label = match t.state {
        AlertState::Firing if t.reminder => "REMINDER",
        AlertState::Firing => "FIRING  ",
        _ => "RESOLVED",
    };
    let summary = rule.zip(Kind::of(t)).and_then(|(r, kind)| {
        templates.summary(&Notification { kind, rule: RuleFacts::of(r), transition: t.clone(), settled: false })
    });
    // The condition, unless the summary already states the threshold.
    let condition = match (&summary, rule) {
        (Some(s), _) if s.contains("threshold") => String::new(),
        (_, Some(r)) => format!("condition {}, ", r.condition),
        (_, None) => format!("threshold {}, ", t.threshold),
    };
    let text = summary.unwrap_or_else(|| format!("value {}", t.value.map_or("-".into(), |v| round_value(v).to_string())));
    writeln!(out, "{}  {} {:<26} {:<24} {} ({}{} events)", hhmmss(t.at_ms), label, t.rule, group_text(t), text, condition, t.events)?;
    if t.state == AlertState::Firing
        && !t.reminder
        && let Some(why) = rule.and_then(|r| r.business_value.as_deref())
    {
        writeln!(out, "          why it matters: {why}")?;
    }
    out.flush()
}

fn firing_now(transitions: &[Transition]) -> Vec<String> {
    let mut firing: Vec<String> = Vec::new();
    for t in transitions {
        let key = format!("{}{{{}}}", t.rule, group_text(t));
        match t.state {
            AlertState::Firing if !firing.contains(&key) => firing.push(key),
            AlertState::Resolved => firing.retain(|k| k != &key),
            _ => {}
        }
    }
    firing
}

fn hhmm(ms: Millis) -> String {
    format_rfc3339(ms)[11..16].to_string()
}

fn hhmmss(ms: Millis) -> String {
    format_rfc3339(ms)[11..19].to_string()
}

fn minutes(ms: Millis) -> String {
    format!("{}m{:02}s", ms / MINUTE, (ms % MINUTE) / 1000)
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=10_800.0).contains(&x) => Ok(x),
        _ => Err(format!("expected seconds from 0 to 10800, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pace_is_a_finite_number_of_seconds() {
        assert_eq!(super::parse_seconds("20"), Ok(20.0));
        for bad in ["inf", "NaN", "-5", "1e300", "soon"] {
            assert!(super::parse_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(crate::cli::generate::parse_rate("40"), Ok(40.0));
        for bad in ["inf", "NaN", "-5", "0", "1e12"] {
            assert!(crate::cli::generate::parse_rate(bad).is_err(), "{bad}");
        }
    }
}
