//! `llmwatch run` against a real Kafka-protocol broker (Tansu, started by scripts/test.sh):
//! the daemon's transitions equal an uninterrupted `llmwatch replay` of the same events —
//! with bad messages mixed in, and across kill -9 and restarts, none twice.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

fn start_daemon(config: &Path, transitions: &Path, log: &Path) -> support::Daemon {
    support::Daemon::spawn(
        Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["run", "--config"])
        .arg(config)
        .arg("--transitions")
        .arg(transitions)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap()),
    )
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
    let expected = replay(&lines, dir.path());
    assert!(expected.iter().any(|t| t["state"] == "firing"));
    // One event ten years ahead of the clock: accepted, it would have made every later
    // event of the partition late (and the transitions below would be missing).
    let mut lines = lines;
    lines.insert(150, ("bad".to_string(), r#"{"event_id":"future","timestamp":"2036-11-27T12:00:00Z","kind":"interaction"}"#.to_string()));
    let topic = support::new_topic("daemon-e2e", 1).await;
    support::produce(&topic, lines.clone()).await;

    let dead_letters = support::new_topic("daemon-dlq", 1).await;
    let config = write_config_dlq(dir.path(), &topic, &support::unique_name("g"), Some(&dead_letters));
    let (out, log) = (dir.path().join("transitions.jsonl"), dir.path().join("daemon.log"));
    let daemon = start_daemon(&config, &out, &log);
    wait_for_lines(&out, expected.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1500));
    support::sigterm_and_wait(daemon);
    assert_eq!(without_seq(read_transitions(&out)), expected);

    let log = std::fs::read_to_string(&log).unwrap();
    let skipped: Vec<&str> = log.lines().filter(|l| l.contains("Bad message skipped")).collect();
    assert_eq!(skipped.len(), 4, "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=not_json") && l.contains("offset=100")), "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=missing_field")), "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=bad_timestamp") && l.contains("not RFC 3339")), "{log}");
    assert!(skipped.iter().any(|l| l.contains("reason=bad_timestamp") && l.contains("offset=150") && l.contains("ahead of this machine's clock")), "{log}");

    // The bad messages were copied to the dead-letter topic with the reason in a header.
    {
        use rdkafka::Message;
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::message::Headers;
        let consumer: BaseConsumer = support::consumer_config(&support::unique_name("dlq")).create().unwrap();
        consumer.subscribe(&[&dead_letters]).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.len() < 4 && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let headers = m.headers().expect("headers");
                let error = headers.iter().find(|h| h.key == "llmwatch.error").and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).into_owned());
                got.push((String::from_utf8_lossy(m.payload().unwrap()).into_owned(), error.unwrap_or_default()));
            }
        }
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].0, "not json at all");
        assert!(got[0].1.starts_with("not_json:"), "{got:?}");
        assert!(got[1].1.starts_with("bad_timestamp:") && got[1].0.contains("2036"), "{got:?}");
        assert!(got[2].1.starts_with("missing_field:"), "{got:?}");
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
        daemon.kill9();
    }
    let daemon = start_daemon(&config, &out, &log);
    wait_for_lines(&out, expected.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1500));
    support::sigterm_and_wait(daemon);
    assert_eq!(without_seq(read_transitions(&out)), expected);
}

/// Rules grouped by model with clear-cut incidents: baseline values far below the
/// thresholds, incident values far above.
const GROUP_RULES: &str = r#"
group: group-test
rules:
  - name: refusals
    when: kind == "interaction" && error_type == null
    group_by: [model]
    window: 5m
    bin: 1m
    value: ratio(signal.refusal)
    condition: "> 0.15"
    min_events: 20
    for: 1m
    keep_firing_for: 1m
  - name: errors
    when: kind == "interaction"
    group_by: [model]
    window: 5m
    bin: 1m
    value: ratio(signal.error)
    condition: "> 0.1"
    min_events: 20
    for: 1m
  - name: slow
    when: kind == "interaction" && error_type == null
    group_by: [model]
    window: 5m
    bin: 1m
    value: avg(latency_ms)
    condition: "> 4000"
    min_events: 20
"#;

const MODELS: [&str; 4] = ["gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "mistral-large"];

/// Events of four models, each in its own partition (feedback and outcomes follow their
/// conversation's model), in event-time order and long past (so never "live"). Each part
/// ends with one event per partition at the same instant, so every partition's event time
/// reaches the end of the part, as a replay's does.
/// (partition, JSON line) of each event.
type Lines = Vec<(i32, String)>;

fn group_stream(minutes: i64, cut_minute: i64) -> (Lines, Lines, i64) {
    use llmwatch::demo::ModelProfile;
    let start = parse_rfc3339("2026-01-05T08:00:00Z").unwrap();
    let mut scenario = Scenario::baseline(start, minutes * MIN, 31)
        .with_incident(IncidentKind::Refusals, Some("gpt-4o-mini"), start + 10 * MIN, start + 30 * MIN)
        .with_incident(IncidentKind::SlowLatency, Some("claude-3-5-sonnet"), start + 15 * MIN, start + 40 * MIN)
        .with_incident(IncidentKind::Errors, Some("mistral-large"), start + 20 * MIN, start + 50 * MIN)
        .with_incident(IncidentKind::Refusals, Some("llama-3.1-70b"), start + 35 * MIN, start + 52 * MIN);
    scenario.models.push(ModelProfile { name: "mistral-large".into(), provider: "mistral".into(), latency_ms: 1600.0, share: 0.2 });
    let mut conversation: std::collections::HashMap<String, i32> = Default::default();
    let cut = start + cut_minute * MIN + 5_000;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let sync = |t: i64, tag: &str| -> Vec<(i32, String)> {
        MODELS
            .iter()
            .enumerate()
            .map(|(p, m)| {
                let mut e = llmwatch::event::Event::new(format!("sync-{tag}-{p}"), t, llmwatch::event::EventKind::Interaction);
                e.response_model = Some((*m).into());
                e.latency_ms = Some(1000.0);
                (p as i32, to_json(&e).to_string())
            })
            .collect()
    };
    for e in scenario.events() {
        let conv = e.conversation.as_deref().unwrap_or("-").to_string();
        let p = match e.response_model.as_deref().and_then(|m| MODELS.iter().position(|x| *x == m)) {
            Some(p) => *conversation.entry(conv).or_insert(p as i32),
            None => conversation.get(&conv).copied().unwrap_or(0),
        };
        let line = (p, to_json(&e).to_string());
        if e.time_ms < cut { first.push(line) } else { second.push(line) }
    }
    first.extend(sync(cut, "cut"));
    second.extend(sync(start + minutes * MIN + 60_000, "end"));
    (first, second, cut)
}

async fn produce_to_partitions(topic: &str, lines: &[(i32, String)]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = support::producer_config().create().unwrap();
    let mut pending = Vec::new();
    for (p, line) in lines {
        let key = MODELS[*p as usize];
        let record = FutureRecord::to(topic).partition(*p).key(key).payload(line.as_str());
        pending.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
        if pending.len() >= 5000 {
            for f in pending.drain(..) {
                f.await.unwrap().map_err(|(e, _)| e).unwrap();
            }
        }
    }
    for f in pending {
        f.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
}

/// Transitions in one canonical order (by time, rule, group, state), without `seq`.
fn canonical(mut items: Vec<Value>) -> Vec<Value> {
    for v in &mut items {
        v.as_object_mut().unwrap().remove("seq");
    }
    let key = |v: &Value| (v["at"].as_str().unwrap().to_string(), v["rule"].to_string(), v["group"].to_string(), v["state"].to_string());
    items.sort_by_key(key);
    items
}

fn at_ms(v: &Value) -> i64 {
    parse_rfc3339(v["at"].as_str().unwrap()).unwrap()
}

fn wait_for_log(path: &Path, needle: &str, count: usize, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.matches(needle).count() >= count {
            return text;
        }
        assert!(Instant::now() < deadline, "waiting for {count}× {needle:?} in {}:\n{text}", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two daemons in one consumer group split a 4-partition topic and together emit exactly
/// the transitions of one replay; when one stops (SIGTERM), the other takes its
/// partitions over, rebuilds them from an empty store with the transitions the first one
/// already delivered suppressed, and continues exactly as the replay does. Events are keyed
/// by model and every rule groups by model: the documented condition for several
/// instances to equal one.
#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::await_holding_lock)] // the lock serializes these tests on purpose
async fn two_daemons_in_one_group_equal_one_replay_and_hand_over_without_loss() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (first, second, cut) = group_stream(60, 33);
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("group.yaml"), GROUP_RULES).unwrap();

    // The reference: one replay of everything.
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, first.iter().chain(&second).map(|(_, l)| format!("{l}\n")).collect::<String>()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["replay", "--evidence", "-q", "--rules"]).arg(&rules).arg("--events").arg(&events).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<Value> = canonical(String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect());
    let firing: std::collections::BTreeSet<String> = expected.iter().filter(|t| t["state"] == "firing").map(|t| t["group"].to_string()).collect();
    assert_eq!(firing.len(), 4, "every model has an incident that fires: {expected:#?}");
    let (before, after): (Vec<Value>, Vec<Value>) = expected.iter().cloned().partition(|t| at_ms(t) <= cut);
    assert!(before.iter().any(|t| t["state"] == "firing") && after.iter().any(|t| t["state"] == "firing"), "incidents on both sides of the cut");

    let topic = support::new_topic("daemon-group", 4).await;
    let group = support::unique_name("pair");
    let member = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let c = write_config(&d, &topic, &group);
        let text = std::fs::read_to_string(&c).unwrap().replace(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").display().to_string(), &rules.display().to_string());
        std::fs::write(&c, text).unwrap();
        (c, d.join("transitions.jsonl"), d.join("daemon.log"))
    };
    let (ca, oa, la) = member("a");
    let (cb, ob, lb) = member("b");
    // Both members join before any event exists, so the split is settled first.
    let a = start_daemon(&ca, &oa, &la);
    wait_for_log(&la, "Partition assigned", 1, Duration::from_secs(30));
    let b = start_daemon(&cb, &ob, &lb);
    wait_for_log(&lb, "Partition assigned", 2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));

    // Part one: the pair together equals the replay up to the cut.
    produce_to_partitions(&topic, &first).await;
    let pair = |paths: &[&Path]| canonical(paths.iter().flat_map(|p| read_transitions(p)).collect());
    let deadline = Instant::now() + Duration::from_secs(60);
    while pair(&[&oa, &ob]).len() < before.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let (got_a, got_b) = (read_transitions(&oa), read_transitions(&ob));
    assert!(!got_a.is_empty() && !got_b.is_empty(), "both members alert on their own partitions");
    assert_eq!(pair(&[&oa, &ob]), before, "two members = one replay, up to the cut");

    // B leaves: A takes its partitions over with no local state for them and rebuilds them.
    support::sigterm_and_wait(b);
    let log_a = wait_for_log(&la, "Partition rebuilt.", 2, Duration::from_secs(60));
    produce_to_partitions(&topic, &second).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while pair(&[&oa, &ob]).len() < expected.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    support::sigterm_and_wait(a);
    // Rebuilt from the start of each partition, B's transitions suppressed up to B's commit.
    let rebuilds: Vec<&str> = log_a.lines().filter(|l| l.contains("rebuilding it by replay") && l.contains("from=Some(0)")).collect();
    assert_eq!(rebuilds.len(), 2, "{log_a}");
    assert!(rebuilds.iter().all(|l| !l.contains("suppressed_until=Some(0)") && l.contains("suppressed_until=Some(")), "{log_a}");

    // Nothing lost, nothing twice; the survivor alone continues exactly like the replay.
    without_seq(read_transitions(&oa));
    without_seq(read_transitions(&ob));
    assert_eq!(pair(&[&oa, &ob]), expected, "the pair, then the survivor, = one replay");
    let survivor_after: Vec<Value> = canonical(read_transitions(&oa)).into_iter().filter(|t| at_ms(t) > cut).collect();
    assert_eq!(survivor_after, after, "after the hand-over, the survivor alone gives the replay's transitions");
    // The rebuilt partitions' transitions up to the cut were B's to deliver, not A's.
    let b_groups: std::collections::BTreeSet<String> = got_b.iter().map(|t| t["group"].to_string()).collect();
    assert!(
        canonical(read_transitions(&oa)).iter().all(|t| at_ms(t) > cut || !b_groups.contains(&t["group"].to_string())),
        "A repeated none of B's transitions"
    );
}
