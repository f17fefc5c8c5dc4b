//! `llmwatch generate` as a user runs it: the stream is deterministic for a seed, spans the
//! requested time, carries the incident it was asked for, and bad requests are refused.

use std::process::Command;

fn generate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_llmwatch")).arg("generate").args(args).output().unwrap()
}

#[test]
fn a_seeded_stream_is_repeatable_spans_its_duration_and_holds_its_incident() {
    let args = ["--duration", "30m", "--rate", "20", "--seed", "7", "--incident", "refusals@gpt-4o-mini:10m-20m"];
    let a = generate(&args);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, generate(&args).stdout, "same seed, same bytes");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&a.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.len() > 500, "{} events", events.len());
    let start = llmwatch::time::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
    let times: Vec<i64> = events.iter().map(|e| llmwatch::time::parse_rfc3339(e["timestamp"].as_str().unwrap()).unwrap()).collect();
    assert!(times.iter().all(|t| (start..start + 40 * 60_000).contains(t)), "events within the stream (and its trailing feedback)");
    // The replayed stream fires refusal_rate for gpt-4o-mini during the incident only.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.jsonl");
    std::fs::write(&file, &a.stdout).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["replay", "-q", "--rules", "rules", "--events"])
        .arg(&file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let firing: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|t| t["state"] == "firing").collect();
    assert!(firing.iter().any(|t| t["rule"] == "refusal_rate" && t["group"]["model"] == "gpt-4o-mini"), "{firing:?}");
    // A different seed is a different stream.
    assert_ne!(a.stdout, generate(&["--duration", "30m", "--rate", "20", "--seed", "8"]).stdout);
}

#[test]
fn impossible_requests_are_refused_with_what_is_wrong() {
    for (args, says) in [
        (vec!["--incident", "refusals@gpt-4o-mini:40m-50m", "--duration", "30m"], "incident"),
        (vec!["--incident", "nonsense:1m-2m"], "nonsense"),
        (vec!["--rate", "inf"], "rate"),
    ] {
        let out = generate(&args);
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
