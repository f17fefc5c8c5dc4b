//! Smoke test of the Kafka test infrastructure against the real broker (Tansu) started by
//! `scripts/services.sh`: topic creation, batched produce, a group consumer with the fast-join
//! settings, explicit commits, and a second member of the same group resuming exactly at the
//! committed offsets.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};

/// Receives until `want` messages arrived (or `timeout`), checking per-partition order.
/// Returns the payloads and the time until the first message.
async fn receive(
    consumer: &StreamConsumer,
    want: usize,
    timeout: Duration,
    last_offset: &mut BTreeMap<i32, i64>,
) -> (Vec<String>, Duration) {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut first = None;
    let mut got = Vec::with_capacity(want);
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match tokio::time::timeout(left, consumer.recv()).await {
            Ok(r) => r.expect("consumer error"),
            Err(_) => panic!(
                "received {} of {want} messages within {timeout:?}",
                got.len()
            ),
        };
        first.get_or_insert_with(|| start.elapsed());
        if let Some(prev) = last_offset.insert(msg.partition(), msg.offset()) {
            assert!(
                msg.offset() > prev,
                "partition {} went back from {prev} to {}",
                msg.partition(),
                msg.offset()
            );
        }
        let payload = std::str::from_utf8(msg.payload().expect("payload"))
            .unwrap()
            .to_string();
        let key = std::str::from_utf8(msg.key().expect("key")).unwrap();
        assert_eq!(
            key,
            payload.replace("payload", "key"),
            "key and payload travel together"
        );
        got.push(payload);
    }
    (got, first.unwrap_or_default())
}

fn batch(range: std::ops::Range<usize>) -> Vec<(String, String)> {
    range
        .map(|i| (format!("key-{i}"), format!("payload-{i}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_consume_commit_and_resume() {
    let t_all = Instant::now();
    let topic = support::new_topic("kafka-smoke", 4).await;
    let group = support::unique_name("kafka-smoke-group");

    let t = Instant::now();
    let delivered = support::produce(&topic, batch(0..1000)).await;
    let partitions: BTreeSet<i32> = delivered.iter().map(|(p, _)| *p).collect();
    eprintln!(
        "produced 1000 messages in {:?} to partitions {partitions:?}",
        t.elapsed()
    );
    assert_eq!(partitions.len(), 4, "keys spread over all 4 partitions");

    // First member: everything from the beginning, then a synchronous commit.
    let mut last = BTreeMap::new();
    {
        let consumer: StreamConsumer = support::consumer_config(&group)
            .create()
            .expect("create consumer");
        consumer.subscribe(&[&topic]).expect("subscribe");
        let (got, first) = receive(&consumer, 1000, Duration::from_secs(60), &mut last).await;
        eprintln!("first consumer: first message after {first:?}, 1000 messages after join");
        println!("kafka_smoke: first-message latency (join + fetch) = {first:?}");
        let unique: BTreeSet<_> = got.iter().cloned().collect();
        assert_eq!(unique.len(), 1000, "no duplicates");
        let expected: BTreeSet<_> = batch(0..1000).into_iter().map(|(_, p)| p).collect();
        assert_eq!(unique, expected);
        consumer
            .commit_consumer_state(CommitMode::Sync)
            .expect("commit");
        // Nothing else arrives.
        let extra = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
        assert!(
            extra.is_err(),
            "unexpected extra message: {:?}",
            extra.map(|m| m.map(|m| m.offset()))
        );
        // Dropping the consumer leaves the group.
    }

    // 100 more, then a new member of the same group must get exactly those.
    support::produce(&topic, batch(1000..1100)).await;
    let consumer: StreamConsumer = support::consumer_config(&group)
        .create()
        .expect("create consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let (got, first) = receive(&consumer, 100, Duration::from_secs(60), &mut last).await;
    eprintln!("second consumer: first message after {first:?}");
    println!("kafka_smoke: resume first-message latency = {first:?}");
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    let expected: BTreeSet<_> = batch(1000..1100).into_iter().map(|(_, p)| p).collect();
    assert_eq!(got.len(), 100);
    assert_eq!(unique, expected, "resumed exactly at the committed offsets");
    let extra = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await;
    assert!(extra.is_err(), "unexpected extra message after resume");
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");
    eprintln!("kafka smoke total {:?}", t_all.elapsed());
}

/// A missing service makes a test fail with instructions, never skip.
#[test]
#[should_panic(
    expected = "LLMWATCH_TEST_NO_SUCH_SERVICE is not set: this test needs a real service"
)]
fn missing_service_fails_loudly() {
    support::required_env("LLMWATCH_TEST_NO_SUCH_SERVICE");
}

/// `llmwatch produce` keys each message by the field `--key` names (the conversation by
/// default); an event without it goes without a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_keys_messages_by_the_field_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("e.jsonl");
    std::fs::write(
        &events,
        concat!(
            "{\"event_id\":\"a\",\"timestamp\":0,\"kind\":\"interaction\",\"gen_ai.conversation.id\":\"c1\",\"gen_ai.response.model\":\"gpt-4o\"}\n",
            "{\"event_id\":\"b\",\"timestamp\":1,\"kind\":\"feedback\",\"gen_ai.conversation.id\":\"c1\",\"score\":-1}\n",
        ),
    )
    .unwrap();
    for (key_arg, want) in [(None, [Some("c1"), Some("c1")]), (Some("gen_ai.response.model"), [Some("gpt-4o"), None])] {
        let topic = support::new_topic("produce-key", 1).await;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch"));
        cmd.args(["produce", "--brokers", &support::kafka_bootstrap(), "--topic", &topic, "--events"]).arg(&events);
        if let Some(k) = key_arg {
            cmd.args(["--key", k]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let consumer: StreamConsumer = support::consumer_config(&support::unique_name("produce-key")).create().unwrap();
        consumer.subscribe(&[&topic]).unwrap();
        let mut keys = Vec::new();
        while keys.len() < 2 {
            let msg = tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await.expect("two messages within 60 s").unwrap();
            keys.push(msg.key().map(|k| String::from_utf8(k.to_vec()).unwrap()));
        }
        assert_eq!(keys, want.map(|k| k.map(String::from)), "--key {key_arg:?}");
    }
}
