//! `llmwatch run` with a Slack receiver (the local stand-in) against the real broker: the
//! daemon is killed -9 mid-stream, after several notifications went out and while one is in
//! flight; across both runs every notification is delivered, and only the one in flight
//! twice.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use llmwatch::demo::{IncidentKind, Scenario, to_json};
use llmwatch::notify::{Fate, Outbox};
use llmwatch::time::parse_rfc3339;
use serde_json::Value;

const MIN: i64 = 60_000;

/// The bot token, given to the daemon (a child process) through its environment.
const TOKEN: &str = "xoxb-from-env";

fn start_daemon(config: &Path, log: &Path) -> support::Daemon {
    support::Daemon::spawn(
        Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("LLMWATCH_TEST_SLACK_TOKEN", TOKEN)
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

/// Requests answered before the one held in flight.
const ACKED: usize = 3;

/// `(alert key, kind, at)` of each notification shown in a Slack request's blocks.
fn shown(r: &support::RecordedRequest) -> Vec<(String, String, i64)> {
    let blocks = r.json.as_ref().and_then(|j| j["blocks"].as_array().cloned()).unwrap_or_default();
    let mut out = Vec::new();
    for text in blocks.iter().filter(|b| b["type"] == "section").filter_map(|b| b["text"]["text"].as_str()) {
        // "<emoji> *rule* is *kind* · a=x, b=y" … "*At* <RFC 3339>"
        let Some((_, rest)) = text.split_once(' ') else { continue };
        let mut parts = rest.splitn(2, " is *");
        let (Some(rule), Some(rest)) = (parts.next(), parts.next()) else { continue };
        let Some((kind, rest)) = rest.split_once('*') else { continue };
        let labels = rest.trim_start_matches(" · ").lines().next().unwrap_or("").replace(", ", ",");
        let Some(at) = text.split("*At* ").nth(1).and_then(|a| a.split_whitespace().next()).and_then(parse_rfc3339) else { continue };
        out.push((format!("{}{{{labels}}}", rule.trim_matches('*')), kind.to_string(), at));
    }
    out
}

fn stored_offset(store: &Path) -> Option<i64> {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(store).output().unwrap();
    assert!(out.status.success(), "state inspect: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find_map(|l| l.split("next offset").nth(1)?.split_whitespace().next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_stream_with_a_notification_in_flight_none_is_lost_and_only_that_one_is_sent_twice() {
    let standin = support::SlackStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let start = support::stream_start_days_ago(2);
    // Incidents one after another, so notifications come before and after the kill.
    let scenario = Scenario::baseline(start, 60 * MIN, 21)
        .with_incident(IncidentKind::SlowLatency, Some("claude-3-5-sonnet"), start + 5 * MIN, start + 20 * MIN)
        .with_incident(IncidentKind::Refusals, Some("gpt-4o-mini"), start + 15 * MIN, start + 40 * MIN)
        .with_incident(IncidentKind::Errors, Some("claude-3-5-sonnet"), start + 40 * MIN, start + 50 * MIN);
    let lines: Vec<String> = scenario.events().map(|e| to_json(&e).to_string()).collect();
    let expected = expected_notifications(&lines, dir.path());
    eprintln!("{} notifications expected: {expected:?}", expected.len());
    assert!(expected.iter().any(|e| e.1 == "firing") && expected.iter().any(|e| e.1 == "resolved"), "{expected:?}");
    assert!(expected.len() > ACKED + 2, "too few notifications for a kill mid-stream: {expected:?}");

    let topic = support::new_topic("notify-kill", 1).await;
    // Small producer batches and the slow fetches below (as in tests/daemon.rs): the stream
    // takes seconds to read, checkpoints come every 50 ms, so notifications are staged, and
    // the consumer paused for them, one after another rather than all in one checkpoint.
    let mut producer = support::producer_config();
    producer.set("batch.num.messages", "30");
    let records: Vec<support::Record> = lines.iter().map(|l| support::Record { key: b"k".to_vec(), payload: l.clone().into_bytes(), ..Default::default() }).collect();
    support::produce_records(&producer, &topic, &records).await;
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let config = dir.path().join("llmwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbrokers = \"{}\"\ntopics = [\"{topic}\"]\ngroup_id = \"{}\"\n\n[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n\
             \"message.max.bytes\" = \"1000\"\n\"fetch.max.bytes\" = \"1000\"\n\"max.partition.fetch.bytes\" = \"1000\"\n\"fetch.queue.backoff.ms\" = \"20\"\n\n\
             [limits]\nprefetch_kbytes = 1\n\n\
             [store]\npath = \"store\"\ncheckpoint_interval = \"50ms\"\n\n[rules]\npaths = [\"{}\"]\n\n\
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
    let (store, log) = (dir.path().join("store"), dir.path().join("daemon.log"));

    // Run 1: the first ACKED requests are answered; the next one reaches the receiver (the
    // message is posted) but its answer is withheld, and the daemon is killed -9 waiting for
    // it. With max_outbox = 1 the consumer is paused behind that notification: mid-stream.
    standin.hold_after(ACKED);
    let mut daemon = start_daemon(&config, &log);
    let in_flight = {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(r) = standin.requests().into_iter().find(|r| r.held) {
                break r;
            }
            assert!(Instant::now() < deadline, "no request held within 90 s: {}", std::fs::read_to_string(&log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    daemon.kill9();
    standin.release();
    let run1 = standin.requests();
    assert_eq!(run1.len(), ACKED + 1, "{run1:#?}");
    assert!(run1.iter().all(|r| r.status == 200), "{run1:#?}");
    let in_flight_shown: BTreeSet<_> = shown(&in_flight).into_iter().collect();
    assert!(!in_flight_shown.is_empty(), "{in_flight:#?}");
    {
        let db = sled::open(&store).unwrap();
        let outbox = Outbox::new(db.open_tree("state").unwrap());
        let marked: BTreeSet<_> = outbox.log().unwrap().into_iter().map(|r| (r.alert, r.kind, r.transition_at_ms)).collect();
        let acked: BTreeSet<_> = run1[..ACKED].iter().flat_map(shown).filter(|n| expected.contains(n)).collect();
        assert!(acked.len() >= ACKED, "each answered request delivered a notification: {run1:#?}");
        assert!(acked.is_subset(&marked), "answered notifications are marked sent: {acked:?} vs {marked:?}");
        assert!(marked.is_disjoint(&in_flight_shown), "the one in flight is not marked sent: {marked:?}");
        assert!(outbox.depth() > 0, "the one in flight is still in the outbox");
        assert!(marked.len() + in_flight_shown.len() < expected.len(), "notifications remain for the restarted run: {marked:?}");
    }
    let stopped_at = stored_offset(&store).expect("a stored offset");
    assert!(stopped_at < lines.len() as i64, "killed mid-stream: stored offset {stopped_at} of {}", lines.len());

    // Run 2: the in-flight one goes out again, the rest of the stream follows.
    let daemon = start_daemon(&config, &log);
    let deadline = Instant::now() + Duration::from_secs(90);
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
    assert_eq!(stored_offset(&store), Some(lines.len() as i64));

    // The daemon's view: each notification marked sent exactly once, nothing pending.
    let reqs = standin.requests();
    assert!(reqs.iter().all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}") as &str)));
    {
        let db = sled::open(&store).unwrap();
        let outbox = Outbox::new(db.open_tree("state").unwrap());
        assert_eq!(outbox.depth(), 0, "{:#?}", outbox.pending().unwrap());
        let mut sent: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
        for r in outbox.log().unwrap() {
            assert_eq!(r.fate, Fate::Sent, "{r:?}");
            *sent.entry((r.alert, r.kind, r.transition_at_ms)).or_default() += 1;
        }
        assert!(sent.values().all(|n| *n == 1), "marked sent twice: {sent:#?}");
        assert_eq!(sent.keys().cloned().collect::<Vec<_>>(), expected, "every notification of the replay, marked sent once");
    }

    // The receiver's view, across both runs: every notification reached it (none lost); the
    // one in flight at the kill reached it twice, every other one once.
    assert!(reqs.iter().all(|r| r.status == 200), "{reqs:#?}");
    let bodies: Vec<&[u8]> = reqs.iter().map(|r| r.body.as_slice()).collect();
    let repeated: Vec<usize> = (0..reqs.len()).filter(|&i| bodies[..i].contains(&bodies[i])).collect();
    assert_eq!(repeated.len(), 1, "exactly one request repeated: {reqs:#?}");
    assert_eq!(bodies[repeated[0]], in_flight.body.as_slice(), "the repeated request is the one in flight at the kill");
    // Posts show each firing or reminder once (twice: the one in flight, when it was a
    // post); an update of a resolved alert shows its earlier resolutions again, so
    // resolutions are only required to be shown.
    let all_shown: BTreeSet<_> = reqs.iter().flat_map(shown).collect();
    for n in &expected {
        assert!(all_shown.contains(n), "{n:?} never reached the receiver: {reqs:#?}");
        if n.1 != "resolved" {
            let posted = reqs.iter().filter(|r| r.path == "/api/chat.postMessage").filter(|r| shown(r).contains(n)).count();
            let want = if in_flight.path == "/api/chat.postMessage" && in_flight_shown.contains(n) { 2 } else { 1 };
            assert_eq!(posted, want, "{n:?} posted {posted} times: {reqs:#?}");
        }
    }
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(TOKEN), "the token never appears in logs");
    // Backpressure: with max_outbox = 1, each staged notification paused the consumer until
    // it was delivered; that the whole stream was consumed shows it resumed every time.
    assert!(log.contains("Outbox full; consumption paused"), "never paused: {log}");
}
