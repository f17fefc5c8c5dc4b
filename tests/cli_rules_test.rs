//! `llmwatch rules test`: the shipped rules' unit tests pass, and failures are readable.

use std::process::Command;

fn rules_test(files: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["rules", "test"])
        .args(files)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run llmwatch");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_shipped_rule_has_a_passing_unit_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| format!("tests/rules/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (code, out) = rules_test(&args);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FAIL") && !out.contains("ERROR"), "{out}");
    // Every shipped rule is exercised by a test that shows it firing.
    let shipped = llmwatch::demo::shipped_rules().unwrap();
    for rule in &shipped.rules {
        assert!(out.contains(&format!("PASS  {} fires", rule.name)), "no firing test for {}\n{out}", rule.name);
    }
}

#[test]
fn a_failing_test_shows_expected_against_actual_and_exits_1() {
    let (code, out) = rules_test(&["tests/fixtures/ruletest_failing.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  wrong expectations"), "{out}");
    assert!(out.contains("expected refusal_rate {model=gpt-4o-mini} firing first at 2026-11-27T12:00:00Z (± 10s)"), "{out}");
    assert!(out.contains("actual transitions of refusal_rate:"), "{out}");
    assert!(out.contains("firing   {model=gpt-4o-mini} value="), "{out}");
    assert!(out.contains("expected refusal_rate not to fire, but it did"), "{out}");
    assert!(out.trim_end().ends_with("rules: 0 passed, 1 failed"), "{out}");
}

#[test]
fn an_invalid_test_file_is_reported_with_its_position() {
    let (code, out) = rules_test(&["tests/fixtures/ruletest_invalid.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tests/fixtures/ruletest_invalid.yaml:7:9: unknown key `stat` (did you mean `state`?)"), "{out}");
    assert!(out.contains("tests/fixtures/ruletest_invalid.yaml:6:9: missing `state:`"), "{out}");
}
