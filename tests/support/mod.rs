//! Shared helpers for llmwatch's integration tests, included by each test crate with
//! `mod support;`.
//!
//! Tests talk to REAL servers on loopback — a Kafka-protocol broker (Tansu) and an SMTP server
//! (aiosmtpd) started by `scripts/services.sh start` (or `scripts/test.sh`, which does it all),
//! and an in-process Slack Web API stand-in ([`SlackStandIn`]). Nothing is mocked.
//!
//! A test whose service is missing **fails** with a message saying how to start it; it never
//! skips. Names that tests create (topics, groups, mail subjects) must be unique per test —
//! use [`unique_name`] — because all tests share one broker and one Maildir.
//!
//! Environment (written to `.services/env` by `scripts/services.sh start`):
//! `LLMWATCH_TEST_KAFKA`, `LLMWATCH_TEST_TANSU`, `LLMWATCH_TEST_SMTP`, `LLMWATCH_TEST_SMTPS`,
//! `LLMWATCH_TEST_SMTP_MAILDIR`, `LLMWATCH_TEST_SMTP_CA`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

const HOW_TO_START: &str = "start the services with `scripts/services.sh install && \
     scripts/services.sh start && . .services/env`, or run scripts/test.sh";

/// The value of a `LLMWATCH_TEST_*` variable; panics with instructions when it is unset.
pub fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!("{name} is not set: this test needs a real service; {HOW_TO_START}"),
    }
}

/// A name unique to this process and call, e.g. `unique_name("alerts")` →
/// `alerts-1a2b3c-4711-7`. Use it for topics, consumer groups and mail subjects.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}-{:x}-{}-{n}",
        nanos & 0xff_ffff_ffff,
        std::process::id()
    )
}

/// A loopback TCP port that was free a moment ago (bind to `127.0.0.1:0` instead where the
/// code under test allows it: that has no race).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// Kafka (Tansu)
// ---------------------------------------------------------------------------------------------

/// Bootstrap servers of the test broker (`LLMWATCH_TEST_KAFKA`, e.g. `127.0.0.1:40123`).
pub fn kafka_bootstrap() -> String {
    required_env("LLMWATCH_TEST_KAFKA")
}

/// Path of the `tansu` binary (`LLMWATCH_TEST_TANSU`), for its CLI (`tansu topic ...`).
pub fn tansu_bin() -> PathBuf {
    PathBuf::from(required_env("LLMWATCH_TEST_TANSU"))
}

/// Creates `name` with `partitions` partitions (replication 1) through the admin API and waits
/// until the broker's metadata shows every partition. Panics on failure.
pub async fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()
        .expect("create Kafka admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = tokio::time::timeout(
        Duration::from_secs(20),
        admin.create_topics([&topic], &opts),
    )
    .await
    .unwrap_or_else(|_| panic!("creating topic {name} timed out after 20 s"))
    .unwrap_or_else(|e| panic!("creating topic {name}: {e}"));
    for r in results {
        if let Err((t, code)) = r {
            panic!("creating topic {t}: {code}");
        }
    }
    // Wait until the metadata lists all partitions (fetch_metadata blocks: keep it off the
    // async workers).
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = admin
                .inner()
                .fetch_metadata(Some(&name), Duration::from_secs(5))
                .ok()
                .and_then(|md| {
                    md.topics()
                        .iter()
                        .find(|t| t.name() == name)
                        .map(|t| t.partitions().len())
                })
                .unwrap_or(0);
            if seen == partitions as usize {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "topic {name}: metadata shows {seen} of {partitions} partitions after 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
}

/// Creates a topic with a unique name derived from `prefix` and returns the name.
pub async fn new_topic(prefix: &str, partitions: i32) -> String {
    let name = unique_name(prefix);
    create_topic(&name, partitions).await;
    name
}

/// Producer configuration for the test broker (acks=all, short linger).
pub fn producer_config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", kafka_bootstrap())
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "20000");
    c
}

/// Produces every `(key, payload)` to `topic` (the partitioner picks the partition from the
/// key), waits for all deliveries, and returns `(partition, offset)` of each, in input order.
/// Panics if any delivery fails.
pub async fn produce<K, P>(topic: &str, messages: Vec<(K, P)>) -> Vec<(i32, i64)>
where
    K: AsRef<[u8]>,
    P: AsRef<[u8]>,
{
    let records: Vec<Record> = messages.iter().map(|(k, p)| Record { key: k.as_ref().to_vec(), payload: p.as_ref().to_vec(), ..Record::default() }).collect();
    produce_records(&producer_config(), topic, &records).await
}

/// One record to produce with [`produce_records`].
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    /// The partition; `None` lets the partitioner pick it from the key.
    pub partition: Option<i32>,
    /// The Kafka (CreateTime) timestamp in ms since the epoch; `None` means the producer's
    /// wall clock, as [`produce`] does.
    pub timestamp_ms: Option<i64>,
}

/// Produces `records` to `topic` with `config` (start from [`producer_config`], e.g. with a
/// small `batch.num.messages`), waits for every delivery and returns `(partition, offset)`
/// of each, in input order. Panics if any delivery fails.
pub async fn produce_records(config: &ClientConfig, topic: &str, records: &[Record]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = config.create().expect("create Kafka producer");
    let mut pending = Vec::with_capacity(records.len());
    for r in records {
        let mut record = FutureRecord::to(topic).key(r.key.as_slice()).payload(r.payload.as_slice());
        if let Some(p) = r.partition {
            record = record.partition(p);
        }
        if let Some(t) = r.timestamp_ms {
            record = record.timestamp(t);
        }
        loop {
            match producer.send_result(record) {
                Ok(fut) => {
                    pending.push(fut);
                    break;
                }
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => panic!("producing to {topic}: {e}"),
            }
        }
    }
    let mut out = Vec::with_capacity(pending.len());
    for fut in pending {
        match tokio::time::timeout(Duration::from_secs(60), fut).await {
            Ok(Ok(Ok(d))) => out.push((d.partition, d.offset)),
            Ok(Ok(Err((e, _)))) => panic!("delivery to {topic} failed: {e}"),
            Ok(Err(_)) => panic!("delivery to {topic} canceled"),
            Err(_) => panic!("delivery to {topic} timed out after 60 s"),
        }
    }
    out
}

/// A client of `group` for [`committed_offset`]; it never subscribes, so it does not join
/// the group and moves no partition.
pub fn offset_reader(group: &str) -> rdkafka::consumer::BaseConsumer {
    consumer_config(group).create().expect("create Kafka consumer")
}

/// The offset the reader's group has committed for `topic`/`partition`, if any.
pub fn committed_offset(reader: &rdkafka::consumer::BaseConsumer, topic: &str, partition: i32) -> Option<i64> {
    use rdkafka::consumer::Consumer;
    let consumer = reader;
    let mut q = rdkafka::TopicPartitionList::new();
    q.add_partition(topic, partition);
    let list = consumer.committed_offsets(q, Duration::from_secs(10)).ok()?;
    match list.find_partition(topic, partition)?.offset() {
        rdkafka::Offset::Offset(o) => Some(o),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Event time
// ---------------------------------------------------------------------------------------------

/// `days` before the wall clock, truncated to the hour (ms since the epoch): a start for
/// generated streams that is always in the past — the daemon refuses events more than
/// `limits.max_future` ahead of the clock and lets event time follow the wall clock for
/// streams within 10 minutes of it — and that does not depend on the machine's date.
pub fn stream_start_days_ago(days: i64) -> i64 {
    const HOUR: i64 = 3_600_000;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    (now - days * 24 * HOUR).div_euclid(HOUR) * HOUR
}

/// Consumer configuration for `group` with the fast-join settings measured in
/// shared/INFRA.md: joins and rebalances take about session.timeout.ms / 2, so 6000 (the
/// smallest real Kafka accepts) gets the first message in ~3 s instead of ~23 s.
/// Also: earliest offsets for new groups, no auto-commit (tests commit explicitly), the
/// classic group protocol (Tansu has no `group.protocol=consumer`).
pub fn consumer_config(group: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", kafka_bootstrap())
        .set("group.id", group)
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("max.poll.interval.ms", "60000")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "100")
        .set("topic.metadata.refresh.interval.ms", "2000");
    c
}

// ---------------------------------------------------------------------------------------------
// SMTP (aiosmtpd) and the Maildir it delivers into
// ---------------------------------------------------------------------------------------------

fn parse_addr(var: &str) -> SocketAddr {
    let v = required_env(var);
    v.parse()
        .unwrap_or_else(|e| panic!("{var}={v} is not HOST:PORT: {e}"))
}

/// SMTP server offering STARTTLS and AUTH (any credentials): `LLMWATCH_TEST_SMTP`.
pub fn smtp_addr() -> SocketAddr {
    parse_addr("LLMWATCH_TEST_SMTP")
}

/// SMTP server speaking implicit TLS (SMTPS) with AUTH: `LLMWATCH_TEST_SMTPS`.
pub fn smtps_addr() -> SocketAddr {
    parse_addr("LLMWATCH_TEST_SMTPS")
}

/// Path of the PEM CA that signed the SMTP server's certificate (`LLMWATCH_TEST_SMTP_CA`);
/// the certificate is valid for `127.0.0.1` and `localhost`.
pub fn smtp_ca_path() -> PathBuf {
    PathBuf::from(required_env("LLMWATCH_TEST_SMTP_CA"))
}

/// The CA certificate in PEM, for lettre's `Certificate::from_pem`.
pub fn smtp_ca_pem() -> Vec<u8> {
    let p = smtp_ca_path();
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The Maildir every message accepted by the SMTP server lands in.
pub fn smtp_maildir() -> PathBuf {
    PathBuf::from(required_env("LLMWATCH_TEST_SMTP_MAILDIR"))
}

/// One message read back from the Maildir.
#[derive(Debug, Clone)]
pub struct MailMessage {
    pub path: PathBuf,
    pub subject: Option<String>,
    /// Addresses of the `From:` header.
    pub from: Vec<String>,
    /// Addresses of the `To:` header.
    pub to: Vec<String>,
    /// Addresses of the `Cc:` header.
    pub cc: Vec<String>,
    /// Envelope sender (MAIL FROM), recorded by the server.
    pub envelope_from: Option<String>,
    /// Envelope recipients (RCPT TO), recorded by the server.
    pub envelope_to: Vec<String>,
    /// TLS version the message came over ("TLSv1.3"), or "none".
    pub tls: Option<String>,
    /// "MECHANISM login" of the SMTP AUTH, or "none".
    pub auth: Option<String>,
    /// `text/plain` body parts (not synthesized from HTML).
    pub text: Vec<String>,
    /// `text/html` body parts (not synthesized from text).
    pub html: Vec<String>,
    pub message_id: Option<String>,
    /// Every header, name and raw value (trimmed), in order.
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
}

impl MailMessage {
    /// The raw value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an RFC 5322 message as stored by the test SMTP server.
pub fn parse_mail(raw: Vec<u8>, path: PathBuf) -> MailMessage {
    use mail_parser::{MessageParser, PartType};
    let msg = MessageParser::default()
        .parse(&raw)
        .unwrap_or_else(|| panic!("{} is not a parseable message", path.display()));
    let addrs = |a: Option<&mail_parser::Address>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    };
    let raw_header = |n: &str| msg.header_raw(n).map(|v| v.trim().to_string());
    let text = msg
        .text_bodies()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    let html = msg
        .html_bodies()
        .filter_map(|p| match &p.body {
            PartType::Html(h) => Some(h.to_string()),
            _ => None,
        })
        .collect();
    let headers = msg
        .headers_raw()
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    MailMessage {
        subject: msg.subject().map(str::to_string),
        from: addrs(msg.from()),
        to: addrs(msg.to()),
        cc: addrs(msg.cc()),
        envelope_from: raw_header("X-MailFrom"),
        envelope_to: raw_header("X-RcptTo")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        tls: raw_header("X-LLMWatch-TLS"),
        auth: raw_header("X-LLMWatch-Auth"),
        text,
        html,
        message_id: msg.message_id().map(str::to_string),
        headers,
        path,
        raw: raw.clone(),
    }
}

/// Every message in the Maildir (`new/` and `cur/`), oldest file first. The Maildir is shared
/// by all tests: filter on something unique, such as a subject made with [`unique_name`].
pub fn maildir_messages() -> Vec<MailMessage> {
    let dir = smtp_maildir();
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let d = dir.join(sub);
        let entries = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("reading Maildir {}: {e}; {HOW_TO_START}", d.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() {
                let mtime = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(UNIX_EPOCH);
                files.push((mtime, p));
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, p)| std::fs::read(&p).ok().map(|raw| parse_mail(raw, p)))
        .collect()
}

/// Waits up to `timeout` until at least `count` messages match `pred`; returns them.
/// Panics with what the Maildir holds when they do not arrive.
pub async fn wait_for_mail(
    count: usize,
    timeout: Duration,
    pred: impl Fn(&MailMessage) -> bool,
) -> Vec<MailMessage> {
    let deadline = Instant::now() + timeout;
    loop {
        let found: Vec<_> = maildir_messages().into_iter().filter(|m| pred(m)).collect();
        if found.len() >= count {
            return found;
        }
        if Instant::now() >= deadline {
            let subjects: Vec<_> = maildir_messages().into_iter().map(|m| m.subject).collect();
            panic!(
                "expected {count} matching message(s) within {timeout:?}, found {}; \
                 subjects in the Maildir: {subjects:?}",
                found.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the one message whose subject is exactly `subject`.
pub async fn wait_for_mail_with_subject(subject: &str, timeout: Duration) -> MailMessage {
    let mut found = wait_for_mail(1, timeout, |m| m.subject.as_deref() == Some(subject)).await;
    assert_eq!(
        found.len(),
        1,
        "more than one message with subject {subject:?}"
    );
    found.remove(0)
}

// ---------------------------------------------------------------------------------------------
// Slack Web API stand-in
// ---------------------------------------------------------------------------------------------

/// One HTTP request received by [`SlackStandIn`].
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query, e.g. `/api/chat.postMessage`.
    pub path: String,
    pub query: Option<String>,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// The body parsed as `application/x-www-form-urlencoded`, when it is a form.
    pub form: Option<Vec<(String, String)>>,
    /// How the stand-in answered (HTTP status).
    pub status: u16,
    /// Accepted (recorded with its status) but the answer withheld: see
    /// [`SlackStandIn::hold_after`].
    pub held: bool,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted failure for the next requests.
#[derive(Debug, Clone)]
pub enum SlackFailure {
    /// HTTP 429 with `Retry-After: secs` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 500 with a plain-text body.
    ServerError,
    /// HTTP 200 with `{"ok":false,"error":<code>}` (e.g. "channel_not_found").
    ApiError(String),
}

#[derive(Default)]
struct StandInState {
    requests: Vec<RecordedRequest>,
    failures: VecDeque<SlackFailure>,
    ts_counter: u64,
    /// Answers to requests after this many are withheld until `release`.
    hold_after: Option<usize>,
    release: Option<tokio::sync::watch::Receiver<bool>>,
}

/// An in-process HTTP server standing in for the Slack Web API and incoming webhooks.
///
/// * `POST {api_url}/chat.postMessage` answers `{"ok":true,"channel":..,"ts":..,"message":..}`
///   echoing the request (a new `ts` each time); `chat.update` answers the same with the
///   request's `ts`; any other `{api_url}/METHOD` answers `{"ok":true}`.
/// * Any path outside `/api/` (use [`SlackStandIn::webhook_url`]) answers `ok` as text, like
///   Slack's incoming webhooks.
/// * [`SlackStandIn::fail_next`] makes the next N requests fail (429, 500 or an API error).
/// * [`SlackStandIn::hold_after`] accepts requests but withholds the answers: the receiver
///   acted on them, the client still waits (a request in flight when the client dies).
///
/// Every request is recorded, failed ones included. The server stops when dropped.
pub struct SlackStandIn {
    addr: SocketAddr,
    state: Arc<Mutex<StandInState>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    release: tokio::sync::watch::Sender<bool>,
}

impl SlackStandIn {
    /// Starts the stand-in on `127.0.0.1:0`; must be called inside a tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(StandInState::default()));
        let (release, release_rx) = tokio::sync::watch::channel(false);
        state.lock().unwrap().release = Some(release_rx);
        let app = axum::Router::new()
            .fallback(slack_handler)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stand-in");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .expect("Slack stand-in server");
        });
        SlackStandIn {
            addr,
            state,
            shutdown: Some(tx),
            release,
        }
    }

    /// From now on, requests after the first `n` recorded ones are handled as usual (and
    /// recorded with their status: the receiver acted on them) but their answers are
    /// withheld until [`SlackStandIn::release`]: to the client they stay in flight.
    pub fn hold_after(&self, n: usize) {
        self.state.lock().unwrap().hold_after = Some(n);
    }

    /// Stops holding and sends the withheld answers (to clients still listening).
    pub fn release(&self) {
        self.state.lock().unwrap().hold_after = None;
        let _ = self.release.send(true);
    }

    /// `http://127.0.0.1:P`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:P/api` — pass to slack-morphism's `with_slack_api_url`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// An incoming-webhook URL on the stand-in: `http://127.0.0.1:P/services/{id}`.
    pub fn webhook_url(&self, id: &str) -> String {
        format!("{}/services/{id}", self.base_url())
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forget the recorded requests.
    pub fn clear(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// The next `n` requests fail with `failure`; afterwards requests succeed again.
    pub fn fail_next(&self, n: usize, failure: SlackFailure) {
        let mut s = self.state.lock().unwrap();
        for _ in 0..n {
            s.failures.push_back(failure.clone());
        }
    }

    /// Drops the scripted failures not used yet: the receiver is back.
    pub fn recover(&self) {
        self.state.lock().unwrap().failures.clear();
    }

    /// Waits up to `timeout` until at least `n` requests were recorded; returns all of them.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let reqs = self.requests();
            if reqs.len() >= n {
                return reqs;
            }
            assert!(
                Instant::now() < deadline,
                "Slack stand-in: expected {n} request(s) within {timeout:?}, got {}: {reqs:#?}",
                reqs.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SlackStandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn slack_handler(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<StandInState>>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;

    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default()
        .to_vec();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let form = content_type
        .starts_with("application/x-www-form-urlencoded")
        .then(|| {
            form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        });
    let path = parts.uri.path().to_string();
    let is_api = path.starts_with("/api/");

    // The lock is taken and released in this block: no guard may live across the await.
    let (response, hold) = {
    let mut s = state.lock().unwrap();
    let held = s.hold_after.is_some_and(|n| s.requests.len() >= n);
    let (status, response) = match s.failures.pop_front() {
        Some(SlackFailure::RateLimited { retry_after_secs }) => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            (429, r)
        }
        Some(SlackFailure::ServerError) => (
            500,
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        ),
        Some(SlackFailure::ApiError(code)) if is_api => (
            200,
            axum::Json(serde_json::json!({"ok": false, "error": code})).into_response(),
        ),
        Some(SlackFailure::ApiError(code)) => {
            // Webhooks report errors as a 4xx text body.
            (400, (StatusCode::BAD_REQUEST, code).into_response())
        }
        None if path == "/api/chat.postMessage" || path == "/api/chat.update" => {
            // chat.update keeps the message's ts; chat.postMessage mints a new one.
            let update = path == "/api/chat.update";
            if !update {
                s.ts_counter += 1;
            }
            let minted = format!("1700000000.{:06}", s.ts_counter);
            let req_json = json.clone().or_else(|| {
                form.as_ref().map(|f: &Vec<(String, String)>| {
                    serde_json::Value::Object(
                        f.iter()
                            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                            .collect(),
                    )
                })
            });
            let field = |k: &str| req_json.as_ref().and_then(|j| j.get(k)).cloned();
            let channel = field("channel").unwrap_or(serde_json::Value::String("C000".into()));
            let ts = match field("ts") {
                Some(serde_json::Value::String(ts)) if update => ts,
                _ => minted,
            };
            let mut message = serde_json::json!({"ts": ts, "type": "message"});
            for k in ["text", "blocks", "attachments"] {
                if let Some(v) = field(k) {
                    message[k] = v;
                }
            }
            let body =
                serde_json::json!({"ok": true, "channel": channel, "ts": ts, "message": message});
            (200, axum::Json(body).into_response())
        }
        None if is_api => (
            200,
            axum::Json(serde_json::json!({"ok": true})).into_response(),
        ),
        None => (200, (StatusCode::OK, "ok").into_response()),
    };
    s.requests.push(RecordedRequest {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_string),
        headers,
        body,
        json,
        form,
        status,
        held,
    });
    (response, s.release.clone().filter(|_| held))
    };
    if let Some(mut release) = hold {
        // Dropped unanswered when the client goes away first.
        let _ = release.wait_for(|released| *released).await;
    }
    response
}

/// A running `llmwatch run`, killed and reaped when dropped: a test that fails while its
/// daemon runs must not leave it behind, loading the machine for the tests after it.
pub struct Daemon(std::process::Child);

impl Daemon {
    pub fn spawn(cmd: &mut std::process::Command) -> Daemon {
        Daemon(cmd.spawn().expect("start llmwatch run"))
    }

    /// `kill -9`: no shutdown, no final checkpoint.
    pub fn kill9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Already reaped after a clean stop: then this signals nothing.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends SIGTERM to a daemon and waits (at most 20 s) for it to exit successfully; on
/// failure the daemon is killed (by `Daemon`'s drop) before the panic unwinds further.
pub fn sigterm_and_wait(mut daemon: Daemon) {
    let pid = daemon.0.id() as libc::pid_t;
    // SAFETY: signalling a child this test started and has not reaped, so the pid is its.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM to {pid}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            assert!(status.success(), "llmwatch run exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "llmwatch run did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
