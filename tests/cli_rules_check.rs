//! `llmwatch rules check`: exit codes and the exact `file:line:column: message` lines.

use std::process::Command;

fn llmwatch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run llmwatch");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn shipped_rules_are_valid() {
    let (code, stdout, stderr) = llmwatch(&["rules", "check", "rules/"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("ok: "), "{stderr}");
}

#[test]
fn every_problem_is_reported_with_its_position_in_one_run() {
    let (code, stdout, _) = llmwatch(&["rules", "check", "tests/fixtures/bad_rules"]);
    assert_eq!(code, 1);
    let expected = [
        "tests/fixtures/bad_rules/duplicate_b.yaml:3:1: duplicate rule name `same_name`: already defined at tests/fixtures/bad_rules/duplicate_a.yaml:3",
        "tests/fixtures/bad_rules/many_mistakes.yaml:4:33: in `when`: unknown field `modle`; did you mean `model`?",
        "tests/fixtures/bad_rules/many_mistakes.yaml:10:13: `window`: invalid duration \"15 minutes\": expected a number followed by a unit (ms, s, m, h, d)",
        "tests/fixtures/bad_rules/many_mistakes.yaml:16:12: in `value`: unknown aggregation `median`; expected one of: count, rate, sum",
        "tests/fixtures/bad_rules/many_mistakes.yaml:22:16: invalid condition \"> high\": expected an operator (>, >=, <, <=, ==, !=) and a number",
        "tests/fixtures/bad_rules/many_mistakes.yaml:28:5: unknown rule field `severty` (did you mean `severity`?)",
        "tests/fixtures/bad_rules/many_mistakes.yaml:32:35: in `value`: the percentile must be a number strictly between 0 and 100",
        "tests/fixtures/bad_rules/many_mistakes.yaml:37:18: in `value`: `ratio` needs a predicate (true/false), but this is a number",
        "tests/fixtures/bad_rules/many_mistakes.yaml:41:16: unknown field `modle` in `group_by` (did you mean `model`?)",
        "tests/fixtures/bad_rules/many_mistakes.yaml:50:11: in `when`: cannot compare number `latency_ms` with string `\"slow\"`",
        "tests/fixtures/bad_rules/many_mistakes.yaml:53:11: in `when`: unknown signal `signal.refusals`; did you mean `signal.refusal`?",
        "tests/fixtures/bad_rules/many_mistakes.yaml:58:5: missing required field `condition`",
        "tests/fixtures/bad_rules/many_mistakes.yaml:63:11: in `when`: unknown function `startswith`; did you mean `startsWith`?",
        "tests/fixtures/bad_rules/many_mistakes.yaml:69:15: unknown severity `critical`: expected `page`, `ticket` or `info`",
        "tests/fixtures/bad_rules/not_yaml.yaml:5:1: invalid YAML:",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, want) in lines.iter().zip(expected) {
        assert!(line.starts_with(want), "\n got: {line}\nwant: {want}…");
    }
}

#[test]
fn a_missing_path_is_an_error() {
    let (code, stdout, _) = llmwatch(&["rules", "check", "no/such/dir"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("no/such/dir:0:0: no such file or directory"), "{stdout}");
}
