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
