//! `llmwatch replay` as a user runs it: what reaches stdout and stderr.

use std::path::Path;
use std::process::Command;

/// `llmwatch replay --rules RULES --events EVENTS EXTRA...`, which must succeed: (stdout, stderr).
fn replay(rules: &Path, events: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["replay", "--rules"]).arg(rules).arg("--events").arg(events).args(extra).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn quiet_replay_still_reports_bad_lines_and_any_line_limit_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), "group: g\nrules:\n  - name: any\n    window: 1m\n    value: count()\n    condition: '>= 1'\n").unwrap();
    let events = dir.path().join("e.jsonl");
    std::fs::write(&events, "{\"event_id\":\"a\",\"timestamp\":0,\"kind\":\"interaction\"}\nnot json\n").unwrap();
    let rules = dir.path().join("r.yaml");
    let run = |extra: &[&str]| replay(&rules, &events, extra);
    let (stdout, stderr) = run(&["-q"]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.contains("not_json 1 (line 2)") && stderr.contains("line 2: not_json"), "{stderr}");
    assert!(!stderr.contains("replayed"), "-q drops the progress and the totals: {stderr}");
    // The largest limit once overflowed into refusing every line as oversize.
    let (stdout, _) = run(&["-q", "--max-event-bytes", &usize::MAX.to_string()]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn until_runs_time_on_after_the_last_event_and_open_alerts_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), "group: g\nrules:\n  - name: busy\n    window: 1m\n    value: count()\n    condition: '>= 1'\n").unwrap();
    let events = dir.path().join("e.jsonl");
    std::fs::write(&events, "{\"event_id\":\"a\",\"timestamp\":\"2026-11-27T14:00:00Z\",\"kind\":\"interaction\"}\n").unwrap();
    let rules = dir.path().join("r.yaml");
    let run = |extra: &[&str]| replay(&rules, &events, extra);
    // The stream ends with the alert firing: the summary says so.
    let (stdout, stderr) = run(&[]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.contains("1 alert(s) still pending or firing at 2026-11-27T14:00:00Z"), "{stderr}");
    assert!(stderr.contains("busy {} firing since 2026-11-27T14:00:00Z"), "{stderr}");
    // Time runs on: the window empties and the alert resolves at 14:01.
    for until in ["+5m", "2026-11-27T14:05:00Z"] {
        let (stdout, stderr) = run(&["--until", until]);
        let states: Vec<&str> = stdout.lines().map(|l| if l.contains("\"resolved\"") { "resolved" } else { "other" }).collect();
        assert_eq!(states, ["other", "resolved"], "{stdout}");
        assert!(stdout.contains("\"at\":\"2026-11-27T14:01:00Z\""), "{stdout}");
        assert!(!stderr.contains("still pending or firing"), "{stderr}");
    }
}

#[test]
fn replay_takes_the_engine_settings_of_a_daemon_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), "group: g\nrules:\n  - name: any\n    window: 1m\n    value: count()\n    condition: '>= 1'\n").unwrap();
    let rules = dir.path().join("r.yaml");
    std::fs::write(
        dir.path().join("llmwatch.toml"),
        format!("[kafka]\nbrokers = \"k:9092\"\ntopics = [\"e\"]\n[store]\npath = \"s\"\n[rules]\npaths = [\"{}\"]\n[engine]\nallowed_lateness = \"0s\"\n", rules.display()),
    )
    .unwrap();
    let events = dir.path().join("e.jsonl");
    // The second event is 5 s behind the first: within the default 30 s, late with 0 s.
    std::fs::write(&events, "{\"event_id\":\"a\",\"timestamp\":10000,\"kind\":\"interaction\"}\n{\"event_id\":\"b\",\"timestamp\":5000,\"kind\":\"interaction\"}\n").unwrap();
    let late = |extra: &[&str]| {
        let (_, stderr) = replay(&rules, &events, extra);
        stderr.split(" late").next().and_then(|s| s.rsplit(' ').next()).unwrap().to_string()
    };
    let config = dir.path().join("llmwatch.toml");
    assert_eq!(late(&[]), "0");
    assert_eq!(late(&["--config", config.to_str().unwrap()]), "1");
    // A flag given on the command line wins over the config.
    assert_eq!(late(&["--config", config.to_str().unwrap(), "--lateness", "30s"]), "0");
}
