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
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let (code, out) = check(&format!("[kafka]\nbrokers = \"k:9092\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"{rules}\"]\n"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn receivers_are_checked_and_rules_must_name_configured_receivers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.yaml"),
        "group: g\nrules:\n  - name: refusals\n    value: ratio(signal.refusal)\n    window: 5m\n    condition: \"> 0.1\"\n    notify: [oncall-slak]\n",
    )
    .unwrap();
    let config = dir.path().join("llmwatch.toml");
    std::fs::write(
        &config,
        "[kafka]\nbrokers = \"k:9092\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"r.yaml\"]\n\n[[receivers]]\nname = \"oncall-slack\"\ntype = \"slack\"\ntoken = { env = \"SLACK_BOT_TOKEN\" }\nchannel = \"C0\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["config", "check"]).arg(&config).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("r.yaml:7:14: unknown receiver `oncall-slak` (did you mean `oncall-slack`?)"), "{text}");
    // The same check from `rules check --config`.
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["rules", "check", "--config"]).arg(&config).arg(dir.path().join("r.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unknown receiver `oncall-slak`"));

    let (code, out) = check("[kafka]\nbrokers = \"k\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"r\"]\n[[receivers]]\nname = \"m\"\ntype = \"email\"\nhost = \"smtp\"\nfrom = \"x\"\nto = [\"a@b.c\"]\ntls = \"ssl\"\n[routing]\ndefault = { page = [\"nobody\"] }\n");
    assert_eq!(code, 1);
    for want in ["receivers[0].tls: unknown `ssl`", "receivers[0].from: not an e-mail address: `x`", "routing.default.page: unknown receiver `nobody`"] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
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

#[test]
fn kafka_settings_librdkafka_refuses_are_reported_and_secrets_are_not_read() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let base = format!("[kafka]\nbrokers = \"k:9092\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"{rules}\"]\n[kafka.properties]\n");
    // A property librdkafka does not know: found by the check, not by the daemon's start.
    let (code, out) = check(&format!("{base}\"fetch.wait.maxx.ms\" = 5\n"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[kafka]: librdkafka refuses these settings") && out.contains("fetch.wait.maxx.ms"), "{out}");
    // A password from an unset variable is not read by the check.
    let (code, out) = check(&format!("{base}\"sasl.mechanism\" = \"PLAIN\"\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.username\" = \"u\"\n\"sasl.password\" = {{ env = \"LLMWATCH_TEST_UNSET_PASSWORD\" }}\n"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn signal_settings_are_checked_with_their_key_paths() {
    let (code, out) = check(
        "[kafka]\nbrokers = \"k:9092\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"r\"]\n[engine.signals]\nrefusal_phrases = [\"\"]\nlanguage = { languages = [\"klingon\"], min_confidence = 7 }\nrephrase = { min_similarity = -3 }\nmemory = { max_conversations = 0 }\n[[engine.signals.prices]]\nmodel = \"gpt-4o\"\ninput_per_million = -2.5\noutput_per_million = 10.0\n",
    );
    assert_eq!(code, 1, "{out}");
    for want in [
        "llmwatch.toml: engine.signals.refusal_phrases[0]: a phrase must not be empty",
        "llmwatch.toml: engine.signals.language.languages[0]: unknown ISO 639-3 code `klingon`",
        "llmwatch.toml: engine.signals.language.min_confidence: expected a number from 0 to 1",
        "llmwatch.toml: engine.signals.rephrase.min_similarity: expected a number from 0 to 1",
        "llmwatch.toml: engine.signals.memory.max_conversations: expected at least 1",
        "engine.signals.prices[0].input_per_million: expected a price of 0 or more for `gpt-4o`",
    ] {
        assert!(out.lines().any(|l| l.contains(want)), "missing {want:?} in\n{out}");
    }
}
