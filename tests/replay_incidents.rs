//! `llmwatch replay` over a multi-hour stream with injected incidents: each incident's rule
//! fires during it and resolves after it, at the right event times, and nothing fires
//! outside the incidents.

use std::io::Write;
use std::process::Command;

use llmwatch::demo::score::{AFTERMATH_MS, expected_rules};
use llmwatch::demo::{IncidentKind, Scenario, to_json};
use llmwatch::time::parse_rfc3339;
use serde_json::Value;

const MIN: i64 = 60_000;

#[test]
fn incidents_fire_and_resolve_at_the_right_times_and_nothing_else_fires() {
    let start = parse_rfc3339("2026-11-27T00:00:00Z").unwrap();
    // Eight hours; incidents on different models, well apart, each 40 minutes.
    let incidents = [
        (IncidentKind::Errors, "gpt-4o-mini", 60),
        (IncidentKind::WrongLanguage, "claude-3-5-sonnet", 150),
        (IncidentKind::SlowLatency, "gpt-4o-mini", 240),
        (IncidentKind::Refusals, "gpt-4o-mini", 330),
        (IncidentKind::Flatline, "llama-3.1-70b", 400),
    ];
    let mut scenario = Scenario::baseline(start, 8 * 60 * MIN, 2026);
    for (kind, model, at) in incidents {
        scenario = scenario.with_incident(kind, Some(model), start + at * MIN, start + (at + 40) * MIN);
    }
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
    let mut n = 0;
    for e in scenario.events() {
        writeln!(f, "{}", to_json(&e)).unwrap();
        // One event delivered twice, as a producer retry would: counted once.
        if n == 1000 {
            writeln!(f, "{}", to_json(&e)).unwrap();
        }
        n += 1;
    }
    // A few bad lines and a duplicate never stop a replay.
    writeln!(f, "not json").unwrap();
    writeln!(f, "{{\"event_id\":\"x\",\"kind\":\"feedback\"}}").unwrap();
    drop(f);
    assert!(n > 50_000, "{n} events");

    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["replay", "--rules", "rules", "--events"])
        .arg(&events)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 2 bad line(s): not_json 1 (line "), "{stderr}");
    assert!(stderr.contains("missing_field 1 (line "), "{stderr}");
    assert!(stderr.contains(" 1 duplicates, "), "{stderr}");
    let transitions: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let at = |t: &Value| parse_rfc3339(t["at"].as_str().unwrap()).unwrap();
    let times: Vec<i64> = transitions.iter().map(at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "transitions are in event-time order");

    for (kind, model, begin) in incidents {
        let (from, to) = (start + begin * MIN, start + (begin + 40) * MIN);
        let rule = expected_rules(kind)[0];
        let mine: Vec<&Value> = transitions
            .iter()
            .filter(|t| t["rule"] == rule && t["group"]["model"] == model)
            .collect();
        let fired = mine.iter().find(|t| t["state"] == "firing").unwrap_or_else(|| panic!("{rule} never fired for {model}"));
        let fired_at = at(fired);
        // model_traffic_absent needs 30 silent minutes (a quiet model's normal gaps reach 20).
        let within = if kind == IncidentKind::Flatline { 35 * MIN } else { 20 * MIN };
        assert!(fired_at >= from && fired_at <= from + within, "{rule} fired at {} for an incident from {}", fired["at"], from);
        let resolved = mine.iter().find(|t| t["state"] == "resolved" && at(t) > fired_at).unwrap_or_else(|| panic!("{rule} never resolved"));
        let resolved_at = at(resolved);
        assert!(resolved_at >= to && resolved_at <= to + 30 * MIN, "{rule} resolved at {} for an incident ending {}", resolved["at"], to);
        assert!(fired["threshold"].as_f64().is_some());
        assert!(fired["events"].as_u64().is_some());
    }

    // Every firing is explained by an incident on its model, during it or its aftermath.
    for t in transitions.iter().filter(|t| t["state"] == "firing") {
        let when = at(t);
        let explained = incidents.iter().any(|(_, model, begin)| {
            let (from, to) = (start + begin * MIN, start + (begin + 40) * MIN);
            when >= from && when <= to + AFTERMATH_MS && t["group"]["model"].as_str().is_none_or(|m| m == *model)
        });
        assert!(explained, "false firing: {t}");
    }
}
