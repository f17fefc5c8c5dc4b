//! `llmwatch run` with a Slack receiver (the local stand-in) against the real broker: the
//! daemon is killed -9 while the receiver is down and the outbox holds notifications; after
//! the restart every notification is delivered, none twice.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use llmwatch::demo::{IncidentKind, Scenario, to_json};
use llmwatch::notify::{Fate, Outbox};
use llmwatch::time::parse_rfc3339;
use serde_json::Value;

const MIN: i64 = 60_000;

fn start_daemon(config: &Path, log: &Path) -> support::Daemon {
    support::Daemon::spawn(
        Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap()),
    )
}

/// The notifiable transitions of an uninterrupted replay: (alert key, kind, at).
fn expected_notifications(lines: &[String], dir: &Path) -> Vec<(String, String, i64)> {
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["replay", "--evidence", "-q", "--rules"]).arg(&rules).arg("--events").arg(&events).output().unwrap();
    assert!(out.status.success());
    let (set, _) = llmwatch::rules::load_files(&[rules], &Default::default());
    let mut expected = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let t: Value = serde_json::from_str(line).unwrap();
        let kind = match (t["state"].as_str().unwrap(), t["reminder"].as_bool().unwrap_or(false)) {
            ("firing", true) => "reminder",
            ("firing", false) => "firing",
            ("resolved", _) => "resolved",
            _ => continue,
        };
        let rule = t["rule"].as_str().unwrap();
        // The alert key lists labels in group_by order; the JSON object does not keep it.
        let labels: Vec<String> = set.get(rule).unwrap().group_labels.iter().map(|l| format!("{l}={}", t["group"][l].as_str().unwrap())).collect();
        let at = parse_rfc3339(t["at"].as_str().unwrap()).unwrap();
        expected.push((format!("{rule}{{{}}}", labels.join(",")), kind.to_string(), at));
    }
    expected.sort();
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_with_a_non_empty_outbox_the_rest_is_delivered_after_restart_none_twice() {
    let standin = support::SlackStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let start = parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
    let scenario = Scenario::baseline(start, 60 * MIN, 21).with_incident(IncidentKind::Refusals, Some("gpt-4o-mini"), start + 15 * MIN, start + 40 * MIN);
    let lines: Vec<String> = scenario.events().map(|e| to_json(&e).to_string()).collect();
    let expected = expected_notifications(&lines, dir.path());
    assert!(expected.iter().any(|e| e.1 == "firing") && expected.iter().any(|e| e.1 == "resolved"), "{expected:?}");

    let topic = support::new_topic("notify-kill", 1).await;
    support::produce(&topic, lines.iter().map(|l| ("k".to_string(), l.clone())).collect()).await;
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let config = dir.path().join("llmwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbrokers = \"{}\"\ntopics = [\"{topic}\"]\ngroup_id = \"{}\"\n\n[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n\n\
             [store]\npath = \"store\"\ncheckpoint_interval = \"300ms\"\n\n[rules]\npaths = [\"{}\"]\n\n\
             [[receivers]]\nname = \"oncall\"\ntype = \"slack\"\ntoken = {{ env = \"LLMWATCH_TEST_SLACK_TOKEN\" }}\nchannel = \"C0ALERTS\"\napi_url = \"{}\"\n\n\
             [routing]\ngroup_wait = \"0s\"\ninitial_backoff = \"100ms\"\nmax_backoff = \"300ms\"\nflap_changes = 1000\nmax_outbox = 1\n\
             default = {{ page = [\"oncall\"], ticket = [\"oncall\"], info = [\"oncall\"] }}\n",
            support::kafka_bootstrap(),
            support::unique_name("g"),
            rules.display(),
            standin.api_url()
        ),
    )
    .unwrap();
    // SAFETY: set before the daemons (child processes) start; no other thread reads it.
    unsafe { std::env::set_var("LLMWATCH_TEST_SLACK_TOKEN", "xoxb-from-env") };
    let log = dir.path().join("daemon.log");

    // The receiver is down: the daemon consumes, stages notifications and keeps failing.
    standin.fail_next(1_000_000, support::SlackFailure::ServerError);
    let daemon = start_daemon(&config, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    while standin.requests().len() < 3 {
        assert!(Instant::now() < deadline, "no delivery attempts: {}", std::fs::read_to_string(&log).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut daemon = daemon;
    daemon.kill9();
    assert!(standin.requests().iter().all(|r| r.status == 500));
    {
        let db = sled::open(dir.path().join("store")).unwrap();
        let depth = Outbox::new(db.open_tree("state").unwrap()).depth();
        assert!(depth > 0, "the kill left undelivered notifications in the outbox");
    }

    // Back up, restarted: everything goes out.
    standin.recover();
    let daemon = start_daemon(&config, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let sent: usize = text
            .lines()
            .filter(|l| l.contains("Notification sent."))
            .filter_map(|l| l.split("alerts=").nth(1)?.split_whitespace().next()?.parse::<usize>().ok())
            .sum();
        if sent >= expected.len() {
            break;
        }
        assert!(Instant::now() < deadline, "sent {sent} of {} notifications: {text}", expected.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    support::sigterm_and_wait(daemon);

    let reqs = standin.requests();
    assert!(reqs.iter().all(|r| r.header("authorization") == Some("Bearer xoxb-from-env")));
    let db = sled::open(dir.path().join("store")).unwrap();
    let outbox = Outbox::new(db.open_tree("state").unwrap());
    assert_eq!(outbox.depth(), 0, "{:#?}", outbox.pending().unwrap());
    let mut sent: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for r in outbox.log().unwrap() {
        assert_eq!(r.fate, Fate::Sent, "{r:?}");
        *sent.entry((r.alert, r.kind, r.transition_at_ms)).or_default() += 1;
    }
    assert!(sent.values().all(|n| *n == 1), "sent twice: {sent:#?}");
    assert_eq!(sent.keys().cloned().collect::<Vec<_>>(), expected, "every notification of the replay, exactly once");
    // Each firing notification is in exactly one successful chat.postMessage.
    let sections: Vec<String> = reqs
        .iter()
        .filter(|r| r.status == 200 && r.path == "/api/chat.postMessage")
        .flat_map(|r| r.json.as_ref().unwrap()["blocks"].as_array().unwrap().iter().filter(|b| b["type"] == "section").map(|b| b["text"]["text"].as_str().unwrap().to_string()).collect::<Vec<_>>())
        .collect();
    for (alert, kind, at) in expected.iter().filter(|e| e.1 != "resolved") {
        let (rule, labels) = alert.trim_end_matches('}').split_once('{').unwrap();
        let head = format!("*{rule}* is *{kind}* · {}", labels.replace(',', ", "));
        let when = format!("*At* {}", llmwatch::time::format_rfc3339(*at));
        let n = sections.iter().filter(|s| s.contains(&head) && s.contains(&when)).count();
        assert_eq!(n, 1, "{head} {when} posted {n} times: {sections:#?}");
    }
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains("xoxb-from-env"), "the token never appears in logs");
    // Backpressure: with max_outbox = 1, the first undelivered notification paused the
    // consumer while the receiver was down; that every notification of the stream was
    // delivered in the end shows it resumed once they drained.
    assert!(log.contains("Outbox full; consumption paused"), "not paused while the receiver was down: {log}");
}
