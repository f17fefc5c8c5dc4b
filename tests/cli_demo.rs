//! `llmwatch demo`: catches the bad update and writes the messages on-call would have got.

use std::process::Command;

#[test]
fn the_demo_catches_the_incident_and_writes_the_messages_it_would_have_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["demo", "--seconds", "0", "--out"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("false alarms: none"), "{stdout}");
    assert!(stdout.contains("language_mismatch_rate") && stdout.contains("refusal_rate"), "{stdout}");

    let messages = dir.path().join("messages");
    let mut names: Vec<String> = std::fs::read_dir(&messages).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let post = names.iter().find(|n| n.ends_with("oncall-slack-slack-chat.postMessage.json")).expect("a Slack post");
    let body: serde_json::Value = serde_json::from_slice(&std::fs::read(messages.join(post)).unwrap()).unwrap();
    assert_eq!(body["channel"], "C0LLMONCALL");
    assert_eq!(body["blocks"][0]["type"], "header");
    assert!(body["text"].as_str().unwrap().starts_with("[FIRING]"), "{body}");
    assert!(names.iter().any(|n| n.ends_with("slack-chat.update.json")), "resolutions update the message: {names:?}");
    assert!(names.iter().any(|n| n.ends_with("team-slack-slack-webhook.json")), "tickets go to the webhook: {names:?}");
    let eml = names.iter().find(|n| n.ends_with(".eml")).expect("an e-mail");
    let mail = std::fs::read_to_string(messages.join(eml)).unwrap();
    assert!(mail.contains("Subject: [FIRING]") && mail.contains("To: oncall@example.com"), "{mail}");
    assert!(mail.contains("multipart/alternative") && mail.contains("text/plain") && mail.contains("text/html"), "{mail}");
    assert!(stdout.contains("Messages on-call would have received"), "{stdout}");
}

#[test]
fn the_demo_prints_summaries_with_units_detections_in_time_order_and_a_replay_hint_that_works_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["demo", "--seconds", "0", "--out"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    // Alerts read as the rule's summary, with units, not as a bare number.
    assert!(!stdout.contains(" value "), "bare values: {stdout}");
    assert!(stdout.contains("ms over the last 10m") && stdout.contains("of answers from gpt-4o-mini"), "{stdout}");

    // The detections are listed in the order they fired, each with its story.
    let summary = &stdout[stdout.find("was caught by:").expect("a summary")..stdout.find("false alarms").expect("no false alarms")];
    let rows: Vec<&str> = summary.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
    let times: Vec<&str> = rows.iter().map(|l| l.split("fired ").nth(1).unwrap()).map(|rest| {
        let rest = rest.split_once("(first ").map_or(rest, |(_, r)| r);
        &rest[..8]
    }).collect();
    assert!(times.len() >= 4, "{summary}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "not in time order: {summary}");
    assert!(rows.iter().all(|l| l.contains("resolved") || l.contains("still firing")), "{summary}");

    // The hint points at the rules the demo wrote, and works from another directory.
    let rules = dir.path().join("rules");
    assert!(rules.join("crawl/answers.yaml").is_file() && rules.join("run/cost.yaml").is_file());
    let hint = format!("llmwatch replay --rules {} --events {}/events.jsonl", rules.display(), dir.path().display());
    assert!(stdout.contains(&hint), "{stdout}");
    let elsewhere = tempfile::tempdir().unwrap();
    let replay = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .current_dir(elsewhere.path())
        .args(["replay", "-q", "--rules"])
        .arg(&rules)
        .arg("--events")
        .arg(dir.path().join("events.jsonl"))
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let replayed = String::from_utf8_lossy(&replay.stdout).lines().count();
    let recorded = std::fs::read_to_string(dir.path().join("transitions.jsonl")).unwrap().lines().count();
    assert_eq!(replayed, recorded, "the replay gives the demo's transitions");
}
