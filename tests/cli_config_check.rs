//! `llmwatch config check`: every problem with its key path, exit 1; a good file, exit 0.

use std::process::Command;

fn check(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("llmwatch.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["config", "check"]).arg(&path).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_good_config_passes() {
    let (code, out) = check("[kafka]\nbrokers = \"k:9092\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"rules\"]\n");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn every_problem_is_printed_with_its_key_path() {
    let (code, out) = check("[kafka]\nbrokers = \"\"\ntopics = []\ngroupid = \"x\"\n[store]\ncheckpoint_interval = \"often\"\n[engine]\ntick = \"1ms\"\n");
    assert_eq!(code, 1);
    for want in [
        "llmwatch.toml: kafka: unknown key `groupid` (did you mean `group_id`?)",
        "llmwatch.toml: kafka.topics: expected at least one topic",
        "llmwatch.toml: kafka.brokers: must not be empty",
        "llmwatch.toml: store.path: missing",
        "llmwatch.toml: store.checkpoint_interval: invalid duration \"often\"",
        "llmwatch.toml: rules: missing section [rules]",
        "llmwatch.toml: engine.tick: expected at least 1s",
    ] {
        assert!(out.lines().any(|l| l.contains(want)), "missing {want:?} in\n{out}");
    }
}
