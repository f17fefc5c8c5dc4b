//! `llmwatch run`: the long-running service. Consumes events from Kafka (one consumer group
//! over the configured topics), feeds the engine partition by partition, and checkpoints
//! everything — each partition's state and next offset, the alerts, and the transitions
//! not yet delivered — to sled in one atomic batch, every checkpoint interval and on
//! revoke and shutdown.
//!
//! Invariants:
//! - on assignment, a partition resumes from the offset stored *with its state*, so state
//!   and offsets never disagree; offsets are committed to Kafka only after the store flush,
//!   for lag tools, never read back;
//! - a transition is delivered only after the checkpoint holding it is durable, and marked
//!   delivered only after the sink accepted it;
//! - a bad message is counted, logged with its coordinates and skipped; it never stops the
//!   stream.

mod rebuild;
mod sink;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use crate::config::Config;
use crate::eval::{Engine, PartitionId, Transition};
use crate::notify::outbox::FLAP_KEY;
use crate::notify::{Outbox, Sender, SenderHandle, Stager};
use crate::event::{DecodeError, DecodeErrorReason, Decoder};
use crate::rules::{LoadOptions, load_files};
use crate::source::jsonl::excerpt;
use crate::time::wall_clock_ms;
use crate::store::{Checkpoint, PartitionCheckpoint, Store, TopicPartition};
use rebuild::Rebuild;

pub use sink::FileSink;

/// Options of `llmwatch run` beyond the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Append transitions to this JSONL file (until notifications are configured).
    pub transitions: Option<PathBuf>,
}

/// Everything the consumer thread and the rebalance callback share.
struct State {
    engine: Engine,
    store: Store,
    ids: BTreeMap<TopicPartition, PartitionId>,
    /// Assigned partitions and the next offset to consume.
    assigned: BTreeMap<TopicPartition, i64>,
    /// Transitions since the last checkpoint.
    pending: Vec<Transition>,
    next_seq: u64,
    sink: Option<FileSink>,
    bad: BTreeMap<DecodeErrorReason, u64>,
    /// Partitions being rebuilt by replay, up to the previous owner's commit.
    rebuilding: BTreeMap<TopicPartition, Rebuild>,
    lookback_ms: i64,
    /// Routing and flap control of notifications (state checkpointed under `notify/flap`).
    stager: Stager,
    notify_seq: u64,
    sender: Option<SenderHandle>,
    /// Consumption paused for backpressure: partitions assigned meanwhile are paused too,
    /// and event time does not follow the wall clock (the stream is not caught up).
    paused: bool,
    /// The next offset last written per partition: a partition with no new offset and no
    /// engine change is left out of a checkpoint.
    written: BTreeMap<TopicPartition, i64>,
    /// Partitions whose stored windows may be stale (rebuilt, or a write failed): the next
    /// checkpoint rewrites them whole.
    rewrite: BTreeSet<TopicPartition>,
}

impl State {
    fn id(&mut self, tp: &TopicPartition) -> PartitionId {
        let next = self.ids.len() as PartitionId;
        *self.ids.entry(tp.clone()).or_insert(next)
    }

    /// One atomic checkpoint of every assigned partition, the alerts and the pending
    /// transitions (as outbox entries); then delivery; then the Kafka commit.
    fn checkpoint(&mut self, consumer: Option<&BaseConsumer<Ctx>>, mode: CommitMode) -> anyhow::Result<()> {
        // A partition being rebuilt has no state here yet, and the previous owner's offset
        // must stand (the next owner would otherwise suppress too little).
        let assigned: Vec<(TopicPartition, i64)> =
            self.assigned.iter().filter(|(tp, _)| !self.rebuilding.contains_key(*tp)).map(|(tp, o)| (tp.clone(), *o)).collect();
        let cp = Checkpoint { partitions: self.partition_changes(&assigned), alerts: Some(self.engine.snapshot_alerts()) };
        let items: Vec<(u64, Transition)> = self.pending.drain(..).map(|t| {
            self.next_seq += 1;
            (self.next_seq, t)
        }).collect();
        let next_seq = self.next_seq;
        // Notifications are staged in the same batch as the state that produced them.
        let transitions: Vec<Transition> = items.iter().map(|(_, t)| t.clone()).collect();
        let rules = self.engine.rules().clone();
        let mut staged = self.stager.stage(&rules, &transitions);
        if let Some(clock) = self.engine.clock() {
            staged.extend(self.stager.tick(&rules, clock));
        }
        let flap = serde_json::to_vec(&self.stager.snapshot()).expect("serializable");
        let mut notify_seq = self.notify_seq;
        let written = self.store.checkpoint(&cp, |batch| {
            for (seq, t) in &items {
                batch.insert(format!("outbox/{seq:020}").into_bytes(), serde_json::to_vec(t).expect("serializable"));
            }
            batch.insert(b"meta/seq".as_slice(), &next_seq.to_be_bytes());
            if !staged.is_empty() {
                Outbox::stage_into(batch, &mut notify_seq, &staged, wall_clock_ms());
            }
            batch.insert(FLAP_KEY, flap);
        });
        self.partitions_written(&cp, written.is_ok());
        written?;
        self.notify_seq = notify_seq;
        if let Some(h) = &self.sender
            && !staged.is_empty()
        {
            h.depth.fetch_add(staged.len(), std::sync::atomic::Ordering::Relaxed);
            h.wake.notify_one();
        }
        self.deliver_outbox()?;
        if let Some(c) = consumer {
            let mut tpl = TopicPartitionList::new();
            for (tp, offset) in &assigned {
                if *offset >= 0 {
                    tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))?;
                }
            }
            if tpl.count() > 0 {
                // For lag tools only: the daemon never reads committed offsets back.
                let _ = c.commit(&tpl, mode);
            }
        }
        Ok(())
    }

    /// Each assigned partition's offset and engine changes since the last checkpoint; a
    /// partition with neither is left out.
    fn partition_changes(&mut self, assigned: &[(TopicPartition, i64)]) -> Vec<PartitionCheckpoint> {
        let mut out = Vec::new();
        for (tp, offset) in assigned {
            if *offset < 0 {
                continue;
            }
            let id = self.id(tp);
            let rewrite = self.rewrite.contains(tp);
            let mut changes = self.engine.partition_changes(id, rewrite);
            // To be rewritten but no state yet (its stored state was stale): the stale keys
            // go, or they would be stored under this newer offset and restored as valid.
            if rewrite && changes.is_none() {
                changes = Some(crate::eval::PartitionChanges::cleared());
            }
            if changes.is_none() && self.written.get(tp) == Some(offset) {
                continue;
            }
            out.push(PartitionCheckpoint { tp: tp.clone(), next_offset: *offset, changes });
        }
        out
    }

    /// Bookkeeping after a checkpoint write: what is stored now, or — when the write
    /// failed after the engine's dirty flags were cleared — a whole rewrite next time.
    fn partitions_written(&mut self, cp: &Checkpoint, ok: bool) {
        for pc in &cp.partitions {
            if !ok {
                self.rewrite.insert(pc.tp.clone());
                self.written.remove(&pc.tp);
                continue;
            }
            self.written.insert(pc.tp.clone(), pc.next_offset);
            if pc.changes.as_ref().is_some_and(|c| c.full) {
                self.rewrite.remove(&pc.tp);
            }
        }
    }

    /// Ends a partition's rebuild: its windows and alerts move into the main engine.
    fn finish_rebuild(&mut self, tp: &TopicPartition, offset: i64) {
        let Some(mut r) = self.rebuilding.remove(tp) else { return };
        let id = self.id(tp);
        if let Some(snap) = r.engine.snapshot_partition(0) {
            self.engine.restore_partition(id, snap);
        }
        self.rewrite.insert(tp.clone());
        tracing::info!(message = "Partition rebuilt.", partition = %tp, offset);
    }

    /// Delivers every outbox entry to the sink, then removes it.
    fn deliver_outbox(&mut self) -> anyhow::Result<()> {
        let mut items = Vec::new();
        for kv in self.store.tree().scan_prefix(b"outbox/") {
            let (k, v) = kv?;
            let seq: u64 = String::from_utf8_lossy(&k["outbox/".len()..]).parse().unwrap_or(0);
            items.push((seq, serde_json::from_slice::<Transition>(&v)?, k));
        }
        if items.is_empty() {
            return Ok(());
        }
        if let Some(sink) = &mut self.sink {
            let list: Vec<(u64, Transition)> = items.iter().map(|(s, t, _)| (*s, t.clone())).collect();
            sink.deliver(&list)?;
        }
        let mut batch = sled::Batch::default();
        for (_, _, k) in items {
            batch.remove(k);
        }
        self.store.tree().apply_batch(batch)?;
        Ok(())
    }
}

/// The consumer context: rebalances checkpoint, drop and restore partition state.
struct Ctx {
    state: Arc<Mutex<State>>,
}

impl ClientContext for Ctx {}

impl ConsumerContext for Ctx {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let mut st = self.state.lock().expect("state lock");
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let elems: Vec<(String, i32)> = tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
                for (topic, partition) in elems {
                    let tp = TopicPartition::new(topic.clone(), partition);
                    let id = st.id(&tp);
                    let committed = rebuild::committed_offset(consumer, &topic, partition);
                    match st.store.partition(&tp) {
                        // Local state is usable unless another member has moved the
                        // partition on since it was written.
                        Ok(Some((offset, snap))) if committed.is_none_or(|c| c <= offset) => {
                            st.engine.restore_partition(id, snap);
                            let _ = tpl.set_partition_offset(&topic, partition, Offset::Offset(offset));
                            st.assigned.insert(tp.clone(), offset);
                            st.written.insert(tp.clone(), offset);
                            tracing::info!(message = "Partition assigned; resuming from the checkpoint.", partition = %tp, offset);
                        }
                        Ok(local) => {
                            if let Some((offset, _)) = local {
                                tracing::info!(message = "Local partition state is older than the group's commit; discarding it.", partition = %tp, offset, committed = ?committed);
                            }
                            st.engine.drop_partition(id);
                            st.rewrite.insert(tp.clone());
                            st.written.remove(&tp);
                            // No commit: a new partition, read from the start, nothing suppressed.
                            let start = committed.map(|c| rebuild::start_offset(consumer, &topic, partition, c, wall_clock_ms(), st.lookback_ms));
                            if let Some(start) = start {
                                let _ = tpl.set_partition_offset(&topic, partition, Offset::Offset(start));
                            }
                            if let (Some(start), Some(until)) = (start, committed)
                                && start < until
                            {
                                let engine = Engine::new(st.engine.rules().clone(), st.engine.config().clone());
                                st.rebuilding.insert(tp.clone(), Rebuild { until, engine });
                            }
                            st.assigned.insert(tp.clone(), start.unwrap_or(-1));
                            tracing::info!(message = "Partition assigned with no local state; rebuilding it by replay, notifications suppressed up to the previous owner's offset.", partition = %tp, from = ?start, suppressed_until = ?committed);
                        }
                        Err(error) => tracing::error!(message = "Cannot read partition state.", partition = %tp, %error),
                    }
                }
                if let Err(error) = consumer.assign(tpl) {
                    tracing::error!(message = "Assign failed.", %error);
                }
                if st.paused
                    && let Err(error) = consumer.pause(tpl)
                {
                    tracing::error!(message = "Pausing newly assigned partitions failed.", %error);
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                // Synchronous: the next owner starts its rebuild from this commit.
                if let Err(error) = st.checkpoint(Some(consumer), CommitMode::Sync) {
                    tracing::error!(message = "Checkpoint on revoke failed.", %error);
                }
                let revoked: Vec<TopicPartition> = tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect();
                for tp in revoked {
                    let id = st.id(&tp);
                    st.engine.drop_partition(id);
                    st.assigned.remove(&tp);
                    st.rebuilding.remove(&tp);
                    tracing::info!(message = "Partition revoked; state checkpointed and dropped.", partition = %tp);
                }
                let _ = consumer.unassign();
            }
            other => tracing::error!(message = "Rebalance error.", error = ?other),
        }
    }
}

fn client_config(config: &Config) -> anyhow::Result<ClientConfig> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.kafka.brokers);
    for (k, v) in &config.kafka.properties {
        c.set(k, v.resolve().map_err(|e| anyhow::anyhow!("kafka.properties.{k}: {e}"))?);
    }
    Ok(c)
}

/// Whether this build's librdkafka accepts `[kafka]` (`config check`): it refuses some
/// settings only when a client is created (`security.protocol = "SASL_SSL"` without TLS
/// support in the build, a SASL mechanism it has no provider for), and the daemon should
/// not be the first to find out. Secrets are not read: a stand-in value is checked, so the
/// check runs where the secrets are not. Creating a consumer connects to nothing.
pub fn check_kafka_settings(config: &Config) -> Result<(), String> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.kafka.brokers).set("group.id", &config.kafka.group_id);
    for (k, v) in &config.kafka.properties {
        let value = match v {
            crate::config::Secret::Inline(v) => v.as_str(),
            _ => "secret",
        };
        c.set(k, value);
    }
    c.create::<BaseConsumer>().map(drop).map_err(|e| format!("librdkafka refuses these settings: {e}"))
}

/// A stream whose newest event is at most this far behind the wall clock is live.
const LIVE_WITHIN_MS: i64 = 10 * 60_000;


/// Runs until `shutdown` is set; then checkpoints, flushes and returns.
pub fn run(config: Config, opts: RunOptions, shutdown: Arc<AtomicBool>) -> anyhow::Result<()> {
    let load = LoadOptions { receivers: Some(config.notify.receiver_names().into_iter().collect()) };
    let (rules, diags) = load_files(&config.rules, &load);
    if !diags.is_empty() {
        for d in &diags {
            tracing::error!(message = "Rule file problem.", problem = %d);
        }
        anyhow::bail!("{} problem(s) in the rule files", diags.len());
    }
    let store = Store::open(&config.store.path)?;
    let lookback_ms = rules.longest_lookback().as_millis() + config.engine.allowed_lateness.as_millis();
    let mut engine = Engine::new(Arc::new(rules), config.engine.clone());
    engine.track_removed();
    if let Some(alerts) = store.alerts()? {
        engine.restore_alerts(alerts);
    }
    let next_seq = store.tree().get(b"meta/seq")?.map(|v| crate::store::read_be::<8>(&v, b"meta/seq").map(u64::from_be_bytes)).transpose()?.unwrap_or(0);
    let sink = opts.transitions.as_deref().map(FileSink::open).transpose()?;
    let outbox = Outbox::new(store.tree().clone());
    let mut stager = Stager::new(&config.notify);
    if let Some(v) = store.tree().get(FLAP_KEY)? {
        match serde_json::from_slice(&v) {
            Ok(flap) => stager.restore(flap),
            Err(error) => tracing::warn!(message = "Flap memory unreadable; starting without it.", %error),
        }
    }
    let notify_seq = outbox.last_seq()?;
    // The sender starts before consuming, so a crash's leftover outbox drains first.
    let stop_sender = Arc::new(AtomicBool::new(false));
    let (sender, sender_thread) = if config.notify.receivers.is_empty() {
        (None, None)
    } else {
        let sender = Sender::new(outbox.clone(), config.notify.clone())?;
        let handle = sender.handle();
        handle.depth.store(outbox.depth(), Ordering::Relaxed);
        let thread = crate::notify::spawn_sender(sender, stop_sender.clone())?;
        tracing::info!(message = "Notifications on.", receivers = ?config.notify.receiver_names(), pending = outbox.depth());
        (Some(handle), Some(thread))
    };
    let state = Arc::new(Mutex::new(State {
        engine,
        store,
        ids: BTreeMap::new(),
        assigned: BTreeMap::new(),
        pending: Vec::new(),
        next_seq,
        sink,
        bad: BTreeMap::new(),
        rebuilding: BTreeMap::new(),
        lookback_ms,
        stager,
        notify_seq,
        sender: sender.clone(),
        paused: false,
        written: BTreeMap::new(),
        rewrite: BTreeSet::new(),
    }));
    // A crash may have left checkpointed transitions undelivered.
    state.lock().expect("state lock").deliver_outbox()?;

    let mut cc = client_config(&config)?;
    cc.set("group.id", &config.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // The consumer thread processes inline, so memory is bounded by librdkafka's
        // prefetch queue: cap it (a stalled disk then pauses fetching, not memory).
        .set("queued.max.messages.kbytes", (config.limits.prefetch_kbytes).to_string());
    let consumer: BaseConsumer<Ctx> = cc.create_with_context(Ctx { state: state.clone() })?;
    let topics: Vec<&str> = config.kafka.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    let dlq: Option<BaseProducer> = match &config.kafka.dead_letter_topic {
        Some(_) => Some(client_config(&config)?.create()?),
        None => None,
    };
    let decoder = Decoder::new(config.kafka.max_message_bytes);
    let interval = StdDuration::from_millis(config.store.checkpoint_interval.as_millis().max(1) as u64);
    let mut last_checkpoint = Instant::now();
    let (mut consumed, mut last_report, mut consumed_at_report) = (0u64, Instant::now(), 0u64);
    // When the first message of a backlog arrived, until the consumer catches up.
    let mut busy_since: Option<(Instant, u64)> = None;
    tracing::info!(message = "Consuming.", topics = ?config.kafka.topics, group = %config.kafka.group_id);

    let mut paused = false;
    while !shutdown.load(Ordering::Relaxed) {
        // Backpressure: a stalled receiver grows the outbox, not memory; at the limit
        // the consumer pauses (still polling, so rebalances are served) until it drains.
        if let Some(h) = &sender {
            let depth = h.depth.load(Ordering::Relaxed);
            let over = depth >= config.notify.max_outbox;
            if over != paused {
                if let Ok(assignment) = consumer.assignment() {
                    let r = if over { consumer.pause(&assignment) } else { consumer.resume(&assignment) };
                    if let Err(error) = r {
                        tracing::error!(message = "Pause/resume failed.", %error);
                    }
                }
                paused = over;
                state.lock().expect("state lock").paused = over;
                if over {
                    tracing::warn!(message = "Outbox full; consumption paused until notifications drain.", depth, limit = config.notify.max_outbox);
                } else {
                    tracing::info!(message = "Outbox drained; consumption resumed.", depth);
                }
            }
        }
        let polled = consumer.poll(StdDuration::from_millis(100));
        let mut st = state.lock().expect("state lock");
        match polled {
            Some(Ok(msg)) => {
                let tp = TopicPartition::new(msg.topic(), msg.partition());
                let id = st.id(&tp);
                let payload = msg.payload().unwrap_or_default();
                let offset = msg.offset();
                // The previous owner's offset may fall on a bad message or a gap: the
                // rebuild ends at the first message at or after it, whatever it is.
                if st.rebuilding.get(&tp).is_some_and(|r| offset >= r.until) {
                    st.finish_rebuild(&tp, offset);
                }
                let replaying = st.rebuilding.contains_key(&tp);
                let max_ahead = config.limits.max_future.as_millis();
                let decoded = decoder.decode(payload).and_then(|event| {
                    let ahead = event.time_ms.saturating_sub(wall_clock_ms());
                    if ahead > max_ahead {
                        Err(DecodeError {
                            reason: DecodeErrorReason::BadTimestamp,
                            message: format!("timestamp {} is {} ahead of this machine's clock (limits.max_future is {})", crate::time::format_rfc3339(event.time_ms), crate::time::Duration(ahead), config.limits.max_future),
                        })
                    } else {
                        Ok(event)
                    }
                });
                match decoded {
                    Ok(event) => {
                        let State { engine, pending, rebuilding, .. } = &mut *st;
                        match rebuilding.get_mut(&tp) {
                            // Transitions already delivered by the previous owner.
                            Some(r) => {
                                r.engine.process(event, &mut Vec::new());
                            }
                            None => {
                                engine.process_from(id, event, pending);
                            }
                        }
                    }
                    Err(error) => {
                        *st.bad.entry(error.reason).or_default() += 1;
                        tracing::warn!(message = "Bad message skipped.", topic = msg.topic(), partition = msg.partition(), offset = msg.offset(), reason = %error.reason, %error, excerpt = %excerpt(payload, 80));
                        // While replaying, the previous owner already copied it.
                        if let (false, Some(p), Some(topic)) = (replaying, &dlq, &config.kafka.dead_letter_topic) {
                            let headers = OwnedHeaders::new()
                                .insert(Header { key: "llmwatch.error", value: Some(error.to_string().as_bytes()) })
                                .insert(Header { key: "llmwatch.source", value: Some(format!("{}/{}/{}", msg.topic(), msg.partition(), msg.offset()).as_bytes()) });
                            let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(payload).headers(headers);
                            if let Some(k) = msg.key() {
                                record = record.key(k);
                            }
                            if let Err((e, _)) = p.send(record) {
                                tracing::error!(message = "Dead-letter send failed.", error = %e);
                            }
                        }
                    }
                }
                if st.rebuilding.get(&tp).is_some_and(|r| offset + 1 >= r.until) {
                    st.finish_rebuild(&tp, offset);
                }
                st.assigned.insert(tp, offset + 1);
                consumed += 1;
                busy_since.get_or_insert((Instant::now(), consumed - 1));
            }
            Some(Err(error)) => tracing::warn!(message = "Kafka error.", %error),
            None => {
                if let Some((since, from)) = busy_since.take() {
                    let secs = since.elapsed().as_secs_f64();
                    tracing::info!(message = "Caught up.", messages = consumed, backlog = consumed - from, seconds = format!("{secs:.3}"), per_second = ((consumed - from) as f64 / secs.max(1e-9)).round() as u64);
                }
                // Caught up: let event time follow the wall clock (minus the lateness), so
                // absent() fires and alerts resolve when traffic stops. Only for a live
                // stream: a backlog of old events must not be declared late, nor events
                // waiting in Kafka while consumption is paused.
                let State { engine, pending, paused, .. } = &mut *st;
                if let Some(clock) = engine.clock().filter(|_| !*paused) {
                    let now = wall_clock_ms();
                    let target = now - config.engine.allowed_lateness.as_millis();
                    if target > clock && now - clock < LIVE_WITHIN_MS {
                        engine.advance_to(target, pending);
                    }
                }
            }
        }
        if last_report.elapsed() >= StdDuration::from_secs(10) {
            let rate = (consumed - consumed_at_report) as f64 / last_report.elapsed().as_secs_f64();
            tracing::info!(message = "Progress.", messages = consumed, per_second = rate.round() as u64, series = st.engine.series_count());
            (last_report, consumed_at_report) = (Instant::now(), consumed);
        }
        if last_checkpoint.elapsed() >= interval {
            st.checkpoint(Some(&consumer), CommitMode::Async)?;
            if let Some(p) = &dlq {
                p.poll(StdDuration::ZERO);
            }
            last_checkpoint = Instant::now();
        }
    }
    tracing::info!(message = "Shutting down: final checkpoint.");
    // Bound the shutdown: a stuck broker or disk must not keep the process alive forever.
    let grace = StdDuration::from_millis(config.limits.shutdown_timeout.as_millis().max(1) as u64);
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        tracing::error!(message = "Shutdown took longer than limits.shutdown_timeout; exiting.");
        std::process::exit(3);
    });
    state.lock().expect("state lock").checkpoint(Some(&consumer), CommitMode::Sync)?;
    if let Some(p) = &dlq {
        let _ = p.flush(StdDuration::from_secs(5));
    }
    stop_sender.store(true, Ordering::Relaxed);
    if let Some(h) = &sender {
        h.wake.notify_one();
    }
    if let Some(t) = sender_thread {
        // A send in flight may take up to its timeout; don't wait that long. Its entry
        // stays in the outbox and goes out (once) after the restart.
        let deadline = Instant::now() + StdDuration::from_secs(3);
        while !t.is_finished() && Instant::now() < deadline {
            std::thread::sleep(StdDuration::from_millis(20));
        }
    }
    tracing::info!(message = "Stopped.", messages = consumed);
    let bad = state.lock().expect("state lock").bad.clone();
    if !bad.is_empty() {
        tracing::info!(message = "Bad messages skipped.", counts = ?bad);
    }
    consumer.unsubscribe();
    Ok(())
}
