//! `llmwatch run` against a real Kafka-protocol broker (Tansu, started by scripts/test.sh):
//! the daemon's transitions equal an uninterrupted `llmwatch replay` of the same events —
//! with bad messages mixed in, and across kill -9 and restarts, none twice.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use llmwatch::demo::{IncidentKind, Scenario, to_json};
use llmwatch::time::parse_rfc3339;
use serde_json::Value;

const MIN: i64 = 60_000;

/// The daemon tests share one broker and two cores: running them one at a time keeps
/// group joins and timings predictable.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Generated events (as JSON lines, keyed by conversation) with bad messages mixed in.
fn stream(minutes: i64, seed: u64) -> Vec<(String, String)> {
    let start = parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
    let scenario = Scenario::baseline(start, minutes * MIN, seed)
        .with_incident(IncidentKind::Refusals, Some("gpt-4o-mini"), start + 15 * MIN, start + 45 * MIN)
        .with_incident(IncidentKind::SlowLatency, Some("claude-3-5-sonnet"), start + 20 * MIN, start + 50 * MIN);
    let mut out: Vec<(String, String)> = scenario
        .events()
        .map(|e| (e.conversation.as_deref().unwrap_or("-").to_string(), to_json(&e).to_string()))
        .collect();
    for (i, bad) in ["not json at all", r#"{"kind":"feedback"}"#, r#"{"event_id":"x","timestamp":"yesterday","kind":"feedback"}"#].iter().enumerate() {
        out.insert(100 + i * 997, ("bad".to_string(), bad.to_string()));
    }
    out
}

fn write_config(dir: &Path, topic: &str, group: &str) -> PathBuf {
    write_config_dlq(dir, topic, group, None)
}

fn write_config_dlq(dir: &Path, topic: &str, group: &str, dlq: Option<&str>) -> PathBuf {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let dlq = dlq.map(|d| format!("dead_letter_topic = \"{d}\"\n")).unwrap_or_default();
    let config = format!(
        "[kafka]\nbrokers = \"{}\"\ntopics = [\"{topic}\"]\ngroup_id = \"{group}\"\n{dlq}\n[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n\n[store]\npath = \"{}\"\ncheckpoint_interval = \"300ms\"\n\n[rules]\npaths = [\"{}\"]\n",
        support::kafka_bootstrap(),
        dir.join("store").display(),
        rules.display()
    );
    let path = dir.join("llmwatch.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn start_daemon(config: &Path, transitions: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["run", "--config"])
        .arg(config)
        .arg("--transitions")
        .arg(transitions)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap())
        .spawn()
        .expect("start llmwatch run")
}

/// The transitions an uninterrupted replay of the same events gives (with evidence).
fn replay(lines: &[(String, String)], dir: &Path) -> Vec<Value> {
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines.iter().map(|(_, l)| format!("{l}\n")).collect::<String>()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["replay", "--evidence", "-q", "--rules"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn read_transitions(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn wait_for_lines(path: &Path, n: usize, timeout: Duration) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = read_transitions(path);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "llmwatch run exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "llmwatch run did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Transitions without the delivery sequence number, which replay does not have.
fn without_seq(mut items: Vec<Value>) -> Vec<Value> {
    let seqs: Vec<u64> = items.iter().map(|v| v["seq"].as_u64().expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "sequence numbers are consecutive, none twice: {seqs:?}");
    for v in &mut items {
        v.as_object_mut().unwrap().remove("seq");
    }
    items
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::await_holding_lock)] // the lock serializes these tests on purpose
async fn transitions_equal_replay_and_bad_messages_are_skipped() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let lines = stream(60, 11);
    let topic = support::new_topic("daemon-e2e", 1).await;
    support::produce(&topic, lines.clone()).await;
    let expected = replay(&lines, dir.path());
    assert!(expected.iter().any(|t| t["state"] == "firing"));

    let dead_letters = support::new_topic("daemon-dlq", 1).await;
    let config = write_config_dlq(dir.path(), &topic, &support::unique_name("g"), Some(&dead_letters));
    let (out, log) = (dir.path().join("transitions.jsonl"), dir.path().join("daemon.log"));
    let daemon = start_daemon(&config, &out, &log);
    wait_for_lines(&out, expected.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1500));
    stop(daemon);
    assert_eq!(without_seq(read_transitions(&out)), expected);

    let log = std::fs::read_to_string(&log).unwrap();
    let skipped: Vec<&str> = log.lines().filter(|l| l.contains("Bad message skipped")).collect();
    assert_eq!(skipped.len(), 3, "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=not_json") && l.contains("offset=100")), "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=missing_field")), "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=bad_timestamp")), "{log}");

    // The bad messages were copied to the dead-letter topic with the reason in a header.
    {
        use rdkafka::Message;
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::message::Headers;
        let consumer: BaseConsumer = support::consumer_config(&support::unique_name("dlq")).create().unwrap();
        consumer.subscribe(&[&dead_letters]).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.len() < 3 && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let headers = m.headers().expect("headers");
                let error = headers.iter().find(|h| h.key == "llmwatch.error").and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).into_owned());
                got.push((String::from_utf8_lossy(m.payload().unwrap()).into_owned(), error.unwrap_or_default()));
            }
        }
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, "not json at all");
        assert!(got[0].1.starts_with("not_json:"), "{got:?}");
        assert!(got[1].1.starts_with("missing_field:"), "{got:?}");
    }

    // What the store holds afterwards: the partition's next offset is the end of the topic.
    let inspect = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(dir.path().join("store")).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains(&format!("{topic}/0")) && text.contains(&format!("next offset {}", lines.len())), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::await_holding_lock)] // the lock serializes these tests on purpose
async fn kill_9_and_restart_neither_loses_nor_doubles_anything() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let lines = stream(90, 12);
    let topic = support::new_topic("daemon-kill", 1).await;
    let expected = replay(&lines, dir.path());
    let config = write_config(dir.path(), &topic, &support::unique_name("g"));
    let (out, log) = (dir.path().join("transitions.jsonl"), dir.path().join("daemon.log"));

    // The stream arrives in three parts; the daemon is killed -9 at a different moment
    // after each (right away, after a short while, after a checkpoint or two).
    let third = lines.len() / 3;
    for (part, kill_after_ms) in [(0, 200u64), (1, 3500), (2, 4200)] {
        let chunk = lines[part * third..if part == 2 { lines.len() } else { (part + 1) * third }].to_vec();
        support::produce(&topic, chunk).await;
        let mut daemon = start_daemon(&config, &out, &log);
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }
    let daemon = start_daemon(&config, &out, &log);
    wait_for_lines(&out, expected.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1500));
    stop(daemon);
    assert_eq!(without_seq(read_transitions(&out)), expected);
}
