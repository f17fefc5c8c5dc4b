//! Rule unit tests (`llmwatch rules test FILE...`, rules.md "Rule unit tests"): load the
//! named rule files, replay each test's events, compare the transitions with expectations.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::eval::{AlertState, Engine, EngineConfig, Transition};
use crate::event::Decoder;
use crate::output::{group_text, round_value};
use crate::rules::yaml::{self, Node, Reporter};
use crate::rules::{Diagnostic, LoadOptions, load_files};
use crate::time::{Duration, Millis, format_rfc3339, parse_rfc3339};

/// Where a test's events come from.
#[derive(Debug, Clone)]
pub enum EventSource {
    File(PathBuf),
    Inline(Vec<(usize, serde_json::Value)>),
}

/// One expected transition.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub rule: String,
    /// `None` = any group.
    pub group: Option<Vec<(String, String)>>,
    pub state: AlertState,
    /// `None` = at any time.
    pub at_ms: Option<Millis>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub events: EventSource,
    pub expect: Vec<Expectation>,
    pub expect_none: Vec<String>,
    /// After the events, event time runs on to here (an extension of rules.md): alerts
    /// resolve and `absent()` fires without traffic, as under a daemon's clock.
    pub until_ms: Option<Millis>,
}

/// A parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub path: PathBuf,
    pub rule_files: Vec<PathBuf>,
    pub tests: Vec<TestCase>,
}

/// The result of one test case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    /// Empty when the test passed; otherwise one readable block per failed expectation.
    pub failures: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

const FILE_KEYS: &[&str] = &["rule_files", "tests"];
const TEST_KEYS: &[&str] = &["name", "events", "until", "expect", "expect_none"];
const EXPECT_KEYS: &[&str] = &["rule", "group", "state", "at"];

/// Parses a rule test file; every problem is reported with its position.
pub fn parse_test_file(path: &Path) -> Result<TestFile, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic { file: path.into(), line: 0, column: 0, message: format!("cannot read: {e}") }]
    })?;
    let mut r = Reporter::new(path);
    let base = path.parent().unwrap_or(Path::new("."));
    let Some(docs) = yaml::load(&src, &mut r) else { return Err(r.diagnostics) };
    let Some(root) = docs.first().map(|d| Node::new(d, &src)) else {
        r.at((1, 1), "empty file: expected `rule_files:` and `tests:`");
        return Err(r.diagnostics);
    };
    let mut file = TestFile { path: path.into(), rule_files: Vec::new(), tests: Vec::new() };
    let Some(entries) = root.entries(&src) else {
        r.node(&root, "expected a mapping with `rule_files:` and `tests:`");
        return Err(r.diagnostics);
    };
    for (key, key_node, value) in entries {
        match key.as_str() {
            "rule_files" => match value.items(&src) {
                Some(items) => {
                    for item in items {
                        match item.as_str() {
                            Some(f) => file.rule_files.push(base.join(f)),
                            None => r.node(&item, "expected a path to a rule file"),
                        }
                    }
                }
                None => r.node(&value, "expected a list of rule file paths"),
            },
            "tests" => match value.items(&src) {
                Some(items) => {
                    for item in items {
                        if let Some(case) = parse_case(&item, &src, base, &mut r) {
                            file.tests.push(case);
                        }
                    }
                }
                None => r.node(&value, "expected a list of tests"),
            },
            other => r.node(&key_node, format!("unknown key `{other}`{}; expected one of: {}", yaml::suggest(other, FILE_KEYS.iter().copied()), FILE_KEYS.join(", "))),
        }
    }
    if file.rule_files.is_empty() {
        r.node(&root, "missing `rule_files:`: the rule files under test");
    }
    if r.diagnostics.is_empty() { Ok(file) } else { Err(r.diagnostics) }
}

fn parse_case(node: &Node<'_>, src: &str, base: &Path, r: &mut Reporter) -> Option<TestCase> {
    let Some(entries) = node.entries(src) else {
        r.node(node, "expected a test: a mapping with name, events, expect");
        return None;
    };
    let mut case = TestCase { name: String::new(), events: EventSource::Inline(Vec::new()), expect: Vec::new(), expect_none: Vec::new(), until_ms: None };
    let mut have_events = false;
    for (key, key_node, value) in entries {
        match key.as_str() {
            "name" => case.name = value.scalar_text().unwrap_or_default(),
            "events" => {
                have_events = true;
                if let Some(p) = value.as_str() {
                    case.events = EventSource::File(base.join(p));
                } else if let Some(items) = value.items(src) {
                    case.events = EventSource::Inline(items.iter().map(|n| (n.pos.line, n.to_json(src))).collect());
                } else {
                    r.node(&value, "expected a JSONL file path or a list of event objects");
                }
            }
            "until" => {
                let text = value.scalar_text().unwrap_or_default();
                case.until_ms = parse_rfc3339(&text);
                if case.until_ms.is_none() {
                    r.node(&value, format!("invalid time {text:?}: expected RFC 3339, e.g. \"2026-11-27T16:00:00Z\""));
                }
            }
            "expect" => match value.items(src) {
                Some(items) => {
                    for item in items {
                        if let Some(e) = parse_expectation(&item, src, r) {
                            case.expect.push(e);
                        }
                    }
                }
                None => r.node(&value, "expected a list of expected transitions"),
            },
            "expect_none" => match value.items(src) {
                Some(items) => {
                    for item in items {
                        match item.as_str() {
                            Some(rule) => case.expect_none.push(rule.to_string()),
                            // Dropping it would let the test pass with nothing checked.
                            None => r.node(&item, format!("expected a rule name, found {}", item.kind_name())),
                        }
                    }
                }
                None => r.node(&value, "expected a list of rule names"),
            },
            other => r.node(&key_node, format!("unknown key `{other}`{}; expected one of: {}", yaml::suggest(other, TEST_KEYS.iter().copied()), TEST_KEYS.join(", "))),
        }
    }
    if case.name.is_empty() {
        r.node(node, "missing `name:`");
    }
    if !have_events {
        r.node(node, "missing `events:`");
    }
    Some(case)
}

fn parse_expectation(node: &Node<'_>, src: &str, r: &mut Reporter) -> Option<Expectation> {
    let entries = node.entries(src).or_else(|| {
        r.node(node, "expected a mapping with rule, state and optionally group and at");
        None
    })?;
    let mut rule = None;
    let mut group = None;
    let mut state = None;
    let mut at_ms = None;
    for (key, key_node, value) in entries {
        match key.as_str() {
            "rule" => rule = value.as_str().map(String::from),
            "group" => match value.entries(src) {
                Some(es) => group = Some(es.into_iter().map(|(k, _, v)| (k, v.scalar_text().unwrap_or_default())).collect()),
                None => r.node(&value, "expected a mapping of labels, e.g. {model: gpt-4o-mini}"),
            },
            "state" => {
                state = match value.as_str() {
                    Some("pending") => Some(AlertState::Pending),
                    Some("firing") => Some(AlertState::Firing),
                    Some("resolved") => Some(AlertState::Resolved),
                    Some("inactive") => Some(AlertState::Inactive),
                    _ => {
                        r.node(&value, "expected `pending`, `firing`, `resolved` or `inactive`");
                        None
                    }
                }
            }
            "at" => {
                let text = value.scalar_text().unwrap_or_default();
                at_ms = parse_rfc3339(&text);
                if at_ms.is_none() {
                    r.node(&value, format!("invalid time {text:?}: expected RFC 3339, e.g. \"2026-11-27T14:20:00Z\""));
                }
            }
            other => r.node(&key_node, format!("unknown key `{other}`{}; expected one of: {}", yaml::suggest(other, EXPECT_KEYS.iter().copied()), EXPECT_KEYS.join(", "))),
        }
    }
    if rule.is_none() {
        r.node(node, "missing `rule:`");
    }
    if state.is_none() {
        r.node(node, "missing `state:`");
    }
    Some(Expectation { rule: rule?, group, state: state?, at_ms, line: node.pos.line })
}

/// Runs every case of a file. Errors (bad rule files, unreadable events) are diagnostics.
pub fn run_test_file(file: &TestFile, config: &EngineConfig) -> Result<Vec<CaseResult>, Vec<Diagnostic>> {
    let (rules, diags) = load_files(&file.rule_files, &LoadOptions::default());
    if !diags.is_empty() {
        return Err(diags);
    }
    let rules = Arc::new(rules);
    let mut results = Vec::new();
    for case in &file.tests {
        let mut errors = Vec::new();
        for name in case.expect.iter().map(|e| &e.rule).chain(&case.expect_none) {
            if rules.get(name).is_none() {
                errors.push(format!("unknown rule `{name}`: not defined in the rule files under test"));
            }
        }
        if !errors.is_empty() {
            results.push(CaseResult { name: case.name.clone(), failures: errors });
            continue;
        }
        let mut engine = Engine::new(rules.clone(), config.clone());
        let transitions = match run_events(&mut engine, &case.events, &file.path) {
            Ok(mut t) => {
                if let Some(until) = case.until_ms {
                    engine.advance_to(until, &mut t);
                }
                t
            }
            Err(e) => {
                results.push(CaseResult { name: case.name.clone(), failures: vec![e] });
                continue;
            }
        };
        results.push(CaseResult { name: case.name.clone(), failures: check(case, &transitions, config.tick.as_millis()) });
    }
    Ok(results)
}

fn run_events(engine: &mut Engine, source: &EventSource, test_file: &Path) -> Result<Vec<Transition>, String> {
    let mut transitions = Vec::new();
    match source {
        EventSource::File(path) => {
            let f = crate::source::open_events(path).map_err(|e| format!("cannot open events {}: {e}", path.display()))?;
            let report = crate::replay::replay_jsonl(engine, f, Decoder::default(), |t| transitions.push(t.clone()), |_| {}, 0)
                .map_err(|e| format!("cannot read events {}: {e}", path.display()))?;
            if report.bad.total() > 0 {
                return Err(format!("{}: {}", path.display(), report.bad.describe()));
            }
        }
        EventSource::Inline(events) => {
            let decoder = Decoder::default();
            for (line, json) in events {
                let event = decoder
                    .decode(json.to_string().as_bytes())
                    .map_err(|e| format!("{}:{line}: inline event: {e}", test_file.display()))?;
                engine.process(event, &mut transitions);
            }
        }
    }
    Ok(transitions)
}

/// Compares transitions with the expectations; one message per failed expectation.
pub fn check(case: &TestCase, transitions: &[Transition], tolerance_ms: Millis) -> Vec<String> {
    let mut failures = Vec::new();
    for e in &case.expect {
        let candidates: Vec<&Transition> = transitions
            .iter()
            .filter(|t| t.rule == e.rule && t.state == e.state && !t.reminder)
            .filter(|t| e.group.as_ref().is_none_or(|g| same_group(g, &t.group)))
            .collect();
        // `at` is the first time the alert is in that state (rules.md): a later firing at
        // the expected time does not make up for an earlier one.
        let first = candidates.iter().map(|t| t.at_ms).min();
        let ok = match e.at_ms {
            None => first.is_some(),
            Some(at) => first.is_some_and(|first| (first - at).abs() <= tolerance_ms),
        };
        if !ok {
            let group = e.group.as_ref().map_or("any group".to_string(), |g| {
                g.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
            });
            let when = e.at_ms.map_or("at any time".to_string(), |at| format!("first at {} (± {}s)", format_rfc3339(at), tolerance_ms / 1000));
            let mut msg = format!("line {}: expected {} {{{}}} {} {}", e.line, e.rule, group, e.state.as_str(), when);
            if let (Some(first), Some(at)) = (first, e.at_ms) {
                let (off, side) = if first > at { (first - at, "late") } else { (at - first, "early") };
                msg.push_str(&format!("\n  it was first {} at {}: {} {side}", e.state.as_str(), format_rfc3339(first), Duration::from_millis(off)));
            }
            msg.push_str(&format!("\n  actual transitions of {}:", e.rule));
            msg.push_str(&describe_transitions(transitions, &e.rule, e.group.as_deref()));
            failures.push(msg);
        }
    }
    for rule in &case.expect_none {
        if transitions.iter().any(|t| &t.rule == rule && t.state == AlertState::Firing) {
            let mut msg = format!("expected {rule} not to fire, but it did:");
            msg.push_str(&describe_transitions(transitions, rule, None));
            failures.push(msg);
        }
    }
    failures
}

fn same_group(expected: &[(String, String)], actual: &[(String, String)]) -> bool {
    expected.len() == actual.len() && expected.iter().all(|e| actual.contains(e))
}

/// The transitions of `rule`; with `group`, only that group's (a busy rule's other groups
/// would push the one that matters out of the list), and a count of the others.
fn describe_transitions(transitions: &[Transition], rule: &str, group: Option<&[(String, String)]>) -> String {
    let all: Vec<&Transition> = transitions.iter().filter(|t| t.rule == rule).collect();
    let mine: Vec<&Transition> = all.iter().copied().filter(|t| group.is_none_or(|g| same_group(g, &t.group))).collect();
    let others = all.len() - mine.len();
    let mut out = String::new();
    if let (Some(g), Some(t)) = (group, all.first())
        && (g.len() != t.group.len() || g.iter().any(|(k, _)| !t.group.iter().any(|(l, _)| l == k)))
    {
        let labels: Vec<&str> = t.group.iter().map(|(k, _)| k.as_str()).collect();
        out.push_str(&format!("\n    (the expected group must name every `group_by` label: {})", labels.join(", ")));
    }
    if mine.is_empty() {
        out.push_str(if group.is_some() { "\n    (none in this group)" } else { "\n    (none)" });
    }
    for t in mine.iter().take(20) {
        let value = t.value.map_or("-".into(), |v| round_value(v).to_string());
        out.push_str(&format!(
            "\n    {} {:<8} {{{}}} value={} threshold={} events={}",
            format_rfc3339(t.at_ms),
            if t.reminder { "reminder" } else { t.state.as_str() },
            group_text(t),
            value,
            t.threshold,
            t.events
        ));
    }
    if mine.len() > 20 {
        out.push_str(&format!("\n    … and {} more", mine.len() - 20));
    }
    if others > 0 && group.is_some() {
        out.push_str(&format!("\n    ({others} transition(s) of other groups)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firing(at_ms: Millis, model: &str) -> Transition {
        Transition {
            rule: "burst".into(),
            group: vec![("model".into(), model.into())],
            state: AlertState::Firing,
            at_ms,
            value: Some(3.0),
            threshold: 2.0,
            events: 3,
            samples: Vec::new(),
            reminder: false,
            firing_since_ms: Some(at_ms),
        }
    }

    fn expecting(at_ms: Option<Millis>, group: Option<&str>) -> TestCase {
        TestCase {
            name: "t".into(),
            events: EventSource::Inline(Vec::new()),
            expect: vec![Expectation {
                rule: "burst".into(),
                group: group.map(|m| vec![("model".into(), m.into())]),
                state: AlertState::Firing,
                at_ms,
                line: 7,
            }],
            expect_none: Vec::new(),
            until_ms: None,
        }
    }

    #[test]
    fn an_expect_none_entry_that_is_not_a_rule_name_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yaml");
        std::fs::write(&path, "rule_files: [r.yaml]\ntests:\n  - name: quiet\n    events: []\n    expect_none:\n      - rule: burst\n      - burst\n").unwrap();
        let errors = parse_test_file(&path).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].line, errors[0].column), (6, 9), "{errors:?}");
        assert!(errors[0].message.starts_with("expected a rule name"), "{errors:?}");
    }

    #[test]
    fn at_is_the_first_time_the_alert_is_in_that_state() {
        // Fires at 10 s, resolves (not shown), fires again at 310 s.
        let transitions = [firing(10_000, "a"), firing(310_000, "a")];
        assert!(check(&expecting(Some(10_000), None), &transitions, 10_000).is_empty());
        assert!(check(&expecting(Some(15_000), Some("a")), &transitions, 10_000).is_empty());
        assert!(check(&expecting(None, Some("a")), &transitions, 10_000).is_empty());
        // The second firing is not the first: this used to pass.
        let failures = check(&expecting(Some(310_000), Some("a")), &transitions, 10_000);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].contains("line 7: expected burst {model=a} firing first at 1970-01-01T00:05:10Z (± 10s)"), "{}", failures[0]);
        // Another group's earlier firing does not count for this one.
        let transitions = [firing(10_000, "b"), firing(310_000, "a")];
        assert!(check(&expecting(Some(310_000), Some("a")), &transitions, 10_000).is_empty());
        assert!(!check(&expecting(Some(310_000), Some("b")), &transitions, 10_000).is_empty());
    }

    #[test]
    fn a_failure_lists_the_expected_groups_transitions_before_any_cap_and_says_how_far_off() {
        // 30 other groups fire first: the expected group's firing used to be cut off
        // behind the first 20 of them.
        let mut transitions: Vec<Transition> = (0..30).map(|i| firing(i * 1000, &format!("m{i}"))).collect();
        transitions.push(firing(100_000, "wanted"));
        let failures = check(&expecting(Some(40_000), Some("wanted")), &transitions, 10_000);
        assert_eq!(failures.len(), 1);
        let f = &failures[0];
        assert!(f.contains("it was first firing at 1970-01-01T00:01:40Z: 1m late"), "{f}");
        assert!(f.contains("{model=wanted}") && !f.contains("{model=m0}"), "{f}");
        assert!(f.contains("(30 transition(s) of other groups)"), "{f}");
        // A group naming too few labels says what it must name.
        let mut partial = expecting(None, None);
        partial.expect[0].group = Some(vec![]);
        let f = &check(&partial, &transitions, 10_000)[0];
        assert!(f.contains("must name every `group_by` label: model"), "{f}");
    }

    #[test]
    fn until_lets_time_run_on_after_the_events() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.yaml"), "group: g\nrules:\n  - name: silent\n    window: 5m\n    value: absent()\n    condition: '== 1'\n").unwrap();
        let test = |until: &str| {
            let path = dir.path().join("t.yaml");
            std::fs::write(
                &path,
                format!(
                    "rule_files: [r.yaml]\ntests:\n  - name: silence after the last event\n    events: [{{event_id: a, timestamp: \"2026-11-27T14:00:00Z\", kind: interaction}}]\n{until}    expect:\n      - rule: silent\n        state: firing\n        at: \"2026-11-27T14:05:00Z\"\n"
                ),
            )
            .unwrap();
            let file = parse_test_file(&path).unwrap();
            run_test_file(&file, &EngineConfig::default()).unwrap().remove(0)
        };
        assert!(!test("").passed(), "without `until` the replay stops at the event");
        let r = test("    until: \"2026-11-27T14:10:00Z\"\n");
        assert!(r.passed(), "{:?}", r.failures);
    }
}
