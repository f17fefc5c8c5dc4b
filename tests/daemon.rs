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
/// Per (rule, group): the sequence of states, with times.
fn by_alert(items: &[Value]) -> std::collections::BTreeMap<String, Vec<(String, i64)>> {
    let mut m: std::collections::BTreeMap<String, Vec<(String, i64)>> = Default::default();
    for t in items {
        let key = format!("{} {}", t["rule"], t["group"]);
        let at = parse_rfc3339(t["at"].as_str().unwrap()).unwrap();
        m.entry(key).or_default().push((t["state"].as_str().unwrap().to_string(), at));
    }
    m
}

fn assert_same_alerts(got: &[Value], want: &[Value]) {
    let (g, w) = (by_alert(got), by_alert(want));
    assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "the same alerts");
    for (k, states) in &w {
        let mine = &g[k];
        let names = |v: &Vec<(String, i64)>| v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
        assert_eq!(names(mine), names(states), "{k}");
        for ((_, a), (_, b)) in mine.iter().zip(states) {
            // Partitions interleave differently between instances; ticks may see one more
            // or one fewer event: allow two ticks of difference.
            assert!((a - b).abs() <= 20_000, "{k}: {a} vs {b}");
        }
    }
}

fn wait_until_stable(paths: &[&Path], timeout: Duration) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    let mut last = (0, Instant::now());
    loop {
        let all: Vec<Value> = paths.iter().flat_map(|p| read_transitions(p)).collect();
        if all.len() != last.0 {
            last = (all.len(), Instant::now());
        }
        if (all.len() > 0 && last.1.elapsed() > Duration::from_secs(5)) || Instant::now() > deadline {
            return all;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two daemons in one group split the partitions and together emit the alerts one daemon
/// emits; stopping one hands its partitions to the other, which rebuilds them without
/// notifying twice. Events are keyed by model, as the deployment notes recommend.
#[tokio::test(flavor = "multi_thread")]
async fn two_daemons_in_one_group_emit_what_one_emits_and_hand_over_without_loss() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let lines = stream(90, 13);
    // Key every event by its conversation's model.
    let mut model_of: std::collections::HashMap<String, String> = Default::default();
    let keyed: Vec<(String, String)> = lines
        .iter()
        .filter(|(k, _)| k != "bad")
        .map(|(conv, line)| {
            let v: Value = serde_json::from_str(line).unwrap();
            if let Some(m) = v["gen_ai.response.model"].as_str() {
                model_of.insert(conv.clone(), m.to_string());
            }
            (model_of.get(conv).cloned().unwrap_or_else(|| conv.clone()), line.clone())
        })
        .collect();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for f in ["walk/refusals.yaml", "crawl/latency.yaml", "walk/feedback.yaml", "crawl/errors.yaml"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(f);
        std::fs::copy(src, rules.join(f.replace('/', "_"))).unwrap();
    }
    let topic = support::new_topic("daemon-group", 4).await;
    let half = keyed.len() / 2;
    support::produce(&topic, keyed[..half].to_vec()).await;

    let config = |name: &str, group: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let c = write_config(&d, &topic, group);
        let text = std::fs::read_to_string(&c).unwrap().replace(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").display().to_string(), &rules.display().to_string());
        std::fs::write(&c, text).unwrap();
        (c, d.join("transitions.jsonl"), d.join("daemon.log"))
    };
    // One daemon alone: the reference.
    let (c1, o1, l1) = config("solo", &support::unique_name("solo"));
    let solo = start_daemon(&c1, &o1, &l1);
    // Two daemons in another group.
    let group = support::unique_name("pair");
    let (ca, oa, la) = config("a", &group);
    let (cb, ob, lb) = config("b", &group);
    let a = start_daemon(&ca, &oa, &la);
    let b = start_daemon(&cb, &ob, &lb);
    wait_until_stable(&[&o1, &oa, &ob], Duration::from_secs(60));
    let la_text = std::fs::read_to_string(&la).unwrap();
    let lb_text = std::fs::read_to_string(&lb).unwrap();
    assert!(la_text.contains("Partition assigned") && lb_text.contains("Partition assigned"), "both members got partitions\n{la_text}\n{lb_text}");
    // B leaves: A takes its partitions over and rebuilds them.
    stop(b);
    support::produce(&topic, keyed[half..].to_vec()).await;
    let reference = wait_until_stable(&[&o1], Duration::from_secs(60));
    // The pair needs a rebalance and a rebuild first: wait for it to catch up.
    let deadline = Instant::now() + Duration::from_secs(60);
    while read_transitions(&oa).len() + read_transitions(&ob).len() < reference.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let pair = wait_until_stable(&[&oa, &ob], Duration::from_secs(30));
    stop(solo);
    stop(a);
    assert!(reference.iter().any(|t| t["state"] == "firing"), "the incidents fire");
    let la_text = std::fs::read_to_string(&la).unwrap();
    assert!(la_text.contains("rebuilding it by replay"), "{la_text}");
    let mut pair_sorted = pair;
    pair_sorted.sort_by_key(|t| parse_rfc3339(t["at"].as_str().unwrap()).unwrap());
    if by_alert(&pair_sorted) != by_alert(&reference) {
        eprintln!("A:\n{}\nB:\n{}", std::fs::read_to_string(&la).unwrap(), std::fs::read_to_string(&lb).unwrap());
        eprintln!("pair:\n{}\nreference:\n{}", serde_json::to_string(&pair_sorted).unwrap(), serde_json::to_string(&reference).unwrap());
    }
    assert_same_alerts(&pair_sorted, &reference);
}
