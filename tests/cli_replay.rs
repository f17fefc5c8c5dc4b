//! `llmwatch replay` as a user runs it: what reaches stdout and stderr.

use std::process::Command;

#[test]
fn quiet_replay_still_reports_bad_lines_and_any_line_limit_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), "group: g\nrules:\n  - name: any\n    window: 1m\n    value: count()\n    condition: '>= 1'\n").unwrap();
    let events = dir.path().join("e.jsonl");
    std::fs::write(&events, "{\"event_id\":\"a\",\"timestamp\":0,\"kind\":\"interaction\"}\nnot json\n").unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
            .args(["replay", "--rules"])
            .arg(dir.path().join("r.yaml"))
            .arg("--events")
            .arg(&events)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (stdout, stderr) = run(&["-q"]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.contains("not_json 1 (line 2)") && stderr.contains("line 2: not_json"), "{stderr}");
    assert!(!stderr.contains("replayed"), "-q drops the progress and the totals: {stderr}");
    // The largest limit once overflowed into refusing every line as oversize.
    let (stdout, _) = run(&["-q", "--max-event-bytes", &usize::MAX.to_string()]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}
