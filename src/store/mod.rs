//! All daemon state in sled: per-partition engine state and next offsets, the engine-wide
//! alerts, and (from the notification module) the outbox — in one tree, so a checkpoint is
//! one atomic `sled::Batch`: state and offsets can never disagree.
//!
//! **Layout** (version [`LAYOUT_VERSION`]; the history is in `migrations/`):
//!
//! | key | value |
//! |---|---|
//! | `meta/layout` | layout version, u32 big-endian |
//! | `offset/<topic>/<partition>` | next offset to consume, i64 big-endian |
//! | `part/<topic>/<partition>` | the partition's ingest state without its logs ([`PartitionHead`]), postcard |
//! | `dlog/<topic>/<partition>/<chunk>` | a chunk of its log of remembered event ids (dedup), postcard |
//! | `alog/<topic>/<partition>/<chunk>` | a chunk of its log of remembered interactions (attribution), postcard |
//! | `win/<topic>/<partition>/<series>` | one window of the partition ([`WindowRecord`], with the alert of a series only this partition feeds), postcard |
//! | `alerts` | the engine-wide [`AlertsSnapshot`] (clock, ticks, alerts of series fed by several partitions or none), postcard |
//! | `outbox/<seq>`, `meta/seq` | transitions not yet appended to `run --transitions FILE` |
//! | `notify/…` | the notification outbox, delivery log and flap memory (`notify::outbox`) |
//!
//! Partition numbers are zero-padded to ten digits and chunk numbers to twenty so keys sort
//! numerically; `<series>` is the postcard encoding of (rule name, labels). One key per
//! window and the id and interaction memories as append-only logs in chunks make
//! checkpoints incremental: a checkpoint writes the windows changed since the previous
//! one and the log chunks that grew, deletes forgotten windows and chunks, and rewrites a
//! partition whole only after it was assigned without usable local state.
//!
//! Invariant: knows bytes, keys and snapshots; nothing of Kafka clients or rules.

mod migrate;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::eval::{AlertsSnapshot, PartitionChanges, PartitionHead, PartitionSnapshot, PartitionState, WindowRecord};

pub use migrate::LAYOUT_VERSION;

const LAYOUT_KEY: &[u8] = b"meta/layout";
const ALERTS_KEY: &[u8] = b"alerts";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the state store at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error("state store: {0}")]
    Sled(#[from] sled::Error),
    #[error("state store key {key}: cannot decode: {reason}")]
    Decode { key: String, reason: String },
    #[error("the state store at {path} has layout version {found}, newer than this llmwatch supports ({supported}); run a newer llmwatch or move the store aside")]
    NewerLayout { path: PathBuf, found: u32, supported: u32 },
    #[error("migrating the state store from layout {from} to {to}: {reason}")]
    Migration { from: u32, to: u32, reason: String },
}

/// A Kafka topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }

    fn suffix(&self) -> String {
        format!("{}/{:010}", self.topic, self.partition)
    }

    fn parse_suffix(s: &str) -> Option<Self> {
        let (topic, p) = s.rsplit_once('/')?;
        Some(TopicPartition { topic: topic.to_string(), partition: p.parse().ok()? })
    }
}

/// What one checkpoint writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    pub partitions: Vec<PartitionCheckpoint>,
    pub alerts: Option<AlertsSnapshot>,
}

/// A partition's next offset and what changed in its state since the last checkpoint.
#[derive(Debug, Clone)]
pub struct PartitionCheckpoint {
    pub tp: TopicPartition,
    pub next_offset: i64,
    /// `None`: only the offset moved (e.g. past bad messages).
    pub changes: Option<PartitionChanges>,
}

/// What `llmwatch state inspect` prints.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub layout: u32,
    pub partitions: Vec<PartitionSummary>,
    pub alerts: Option<AlertsSnapshot>,
    /// Notifications not yet delivered (`notify/out/`).
    pub outbox: usize,
    /// Transitions not yet appended to the `--transitions` file (`outbox/`).
    pub transition_log: usize,
    pub bytes_on_disk: u64,
}

#[derive(Debug, Clone)]
pub struct PartitionSummary {
    pub tp: TopicPartition,
    pub next_offset: Option<i64>,
    /// Windows per rule name.
    pub windows: Vec<(String, usize)>,
    pub clock: Option<i64>,
    pub state_bytes: usize,
}

/// The opened store.
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("in-memory serialization cannot fail")
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Decode { key: String::from_utf8_lossy(key).into_owned(), reason: e.to_string() })
}

fn offset_key(tp: &TopicPartition) -> String {
    format!("offset/{}", tp.suffix())
}

fn part_key(tp: &TopicPartition) -> String {
    format!("part/{}", tp.suffix())
}

/// The prefix of a partition's window keys.
pub(crate) fn window_prefix(tp_suffix: &str) -> Vec<u8> {
    format!("win/{tp_suffix}/").into_bytes()
}

/// The key of one window of a partition: the prefix, then (rule, labels) in postcard, so
/// any label text (slashes included) keeps keys unambiguous.
pub(crate) fn window_key(tp_suffix: &str, rule: &str, labels: &[String]) -> Vec<u8> {
    let mut key = window_prefix(tp_suffix);
    key.extend(encode(&(rule, labels)));
    key
}

/// The prefix of a partition's chunks of one log (`dlog` or `alog`).
pub(crate) fn log_prefix(log: &str, tp_suffix: &str) -> Vec<u8> {
    format!("{log}/{tp_suffix}/").into_bytes()
}

pub(crate) fn log_key(log: &str, tp_suffix: &str, chunk: u64) -> Vec<u8> {
    format!("{log}/{tp_suffix}/{chunk:020}").into_bytes()
}

/// Adds a partition's whole ingest state, as head and log chunks, to `batch`.
pub(crate) fn insert_state(batch: &mut sled::Batch, tp_suffix: &str, state: &PartitionState) -> usize {
    let (head, chunks) = state.to_log();
    insert_log(batch, tp_suffix, Some(&head), &chunks)
}

fn insert_log(batch: &mut sled::Batch, tp_suffix: &str, head: Option<&PartitionHead>, chunks: &crate::eval::LogChunks) -> usize {
    let mut bytes = 0;
    if let Some(head) = head {
        let v = encode(head);
        bytes += v.len();
        batch.insert(format!("part/{tp_suffix}").into_bytes(), v);
    }
    for (k, c) in &chunks.dedup {
        let v = encode(c);
        bytes += v.len();
        batch.insert(log_key("dlog", tp_suffix, *k), v);
    }
    for (k, c) in &chunks.attribution {
        let v = encode(c);
        bytes += v.len();
        batch.insert(log_key("alog", tp_suffix, *k), v);
    }
    bytes
}

/// A stored big-endian number of `N` bytes; a value of another length (a damaged store)
/// is a decode error naming the key, not a panic.
pub fn read_be<const N: usize>(v: &[u8], key: &[u8]) -> Result<[u8; N], StoreError> {
    v.try_into().map_err(|_| StoreError::Decode { key: String::from_utf8_lossy(key).into_owned(), reason: format!("expected {N} bytes, found {}", v.len()) })
}

fn read_i64(v: &[u8], key: &[u8]) -> Result<i64, StoreError> {
    read_be::<8>(v, key).map(i64::from_be_bytes)
}

/// How long [`open_db`] waits for another handle's file lock to go.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens sled, waiting up to [`LOCK_WAIT`] while its file lock is held. sled releases the
/// lock from its background threads shortly *after* the last handle is dropped, so opening
/// again at once in the same process (a test, a store reopened after a rebuild) can find it
/// still held; another process holding it (a running daemon) still fails, after the wait.
fn open_db(path: &Path) -> Result<sled::Db, sled::Error> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl Store {
    /// Opens (creating when new) and migrates the store at `path`, one layout step at a time.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = open_db(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        let tree = db.open_tree("state")?;
        let store = Store { path: path.to_path_buf(), db, tree };
        let found = store.layout()?;
        match found {
            None => {
                store.tree.insert(LAYOUT_KEY, &LAYOUT_VERSION.to_be_bytes())?;
                store.db.flush()?;
            }
            Some(v) if v > LAYOUT_VERSION => {
                return Err(StoreError::NewerLayout { path: path.to_path_buf(), found: v, supported: LAYOUT_VERSION });
            }
            Some(v) if v < LAYOUT_VERSION => migrate::run(&store.tree, v)?,
            Some(_) => {}
        }
        store.db.flush()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tree every checkpoint writes to (the outbox lives here too, so its entries are
    /// written in the same batch as the transitions that caused them).
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    fn layout(&self) -> Result<Option<u32>, StoreError> {
        self.tree.get(LAYOUT_KEY)?.map(|v| read_be::<4>(&v, LAYOUT_KEY).map(u32::from_be_bytes)).transpose()
    }

    /// Writes a checkpoint as one atomic batch (plus whatever `extra` adds, e.g. outbox
    /// entries) and flushes it to disk. Returns the bytes written.
    pub fn checkpoint(&self, cp: &Checkpoint, extra: impl FnOnce(&mut sled::Batch)) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut bytes = 0;
        for pc in &cp.partitions {
            let suffix = pc.tp.suffix();
            bytes += 8;
            batch.insert(offset_key(&pc.tp).into_bytes(), &pc.next_offset.to_be_bytes());
            let Some(changes) = &pc.changes else { continue };
            // Later writes to a key in one batch win: removals first, then the new values.
            if changes.full {
                for prefix in [window_prefix(&suffix), log_prefix("dlog", &suffix), log_prefix("alog", &suffix)] {
                    for key in self.tree.scan_prefix(prefix).keys() {
                        batch.remove(key?);
                    }
                }
                // A whole rewrite without a head: the partition has no state any more.
                if changes.head.is_none() {
                    batch.remove(part_key(&pc.tp).into_bytes());
                }
            }
            for (rule, labels) in &changes.removed {
                batch.remove(window_key(&suffix, rule, labels));
            }
            // Log chunks wholly forgotten.
            for (log, live) in [("dlog", changes.live_chunks.0), ("alog", changes.live_chunks.1)] {
                for key in self.tree.range(log_prefix(log, &suffix)..log_key(log, &suffix, live)).keys() {
                    batch.remove(key?);
                }
            }
            bytes += insert_log(&mut batch, &suffix, changes.head.as_ref(), &changes.chunks);
            for w in &changes.windows {
                let value = encode(w);
                bytes += value.len();
                batch.insert(window_key(&suffix, &w.rule, &w.labels), value);
            }
        }
        if let Some(alerts) = &cp.alerts {
            let a = encode(alerts);
            bytes += a.len();
            batch.insert(ALERTS_KEY, a);
        }
        extra(&mut batch);
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(bytes)
    }

    /// A partition's next offset and state, if this store has them.
    pub fn partition(&self, tp: &TopicPartition) -> Result<Option<(i64, PartitionSnapshot)>, StoreError> {
        let part_key = part_key(tp);
        let (Some(off), Some(state)) = (self.tree.get(offset_key(tp))?, self.tree.get(&part_key)?) else {
            return Ok(None);
        };
        let head: PartitionHead = decode(part_key.as_bytes(), &state)?;
        let suffix = tp.suffix();
        let state = PartitionState::from_log(head, self.chunks("dlog", &suffix)?, self.chunks("alog", &suffix)?);
        let windows = self.windows(tp)?;
        Ok(Some((read_i64(&off, offset_key(tp).as_bytes())?, PartitionSnapshot { state, windows })))
    }

    /// A log's chunks, in chunk order.
    fn chunks<T: serde::de::DeserializeOwned>(&self, log: &str, suffix: &str) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(log_prefix(log, suffix)) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    fn windows(&self, tp: &TopicPartition) -> Result<Vec<WindowRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(window_prefix(&tp.suffix())) {
            let (k, v) = item?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    pub fn alerts(&self) -> Result<Option<AlertsSnapshot>, StoreError> {
        self.tree.get(ALERTS_KEY)?.map(|v| decode(ALERTS_KEY, &v)).transpose()
    }

    /// Everything the store holds, summarized.
    pub fn inspect(&self) -> Result<Inspection, StoreError> {
        let mut out = Inspection { layout: self.layout()?.unwrap_or(LAYOUT_VERSION), ..Default::default() };
        let mut owned_alerts = Vec::new();
        for item in self.tree.scan_prefix(b"part/") {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let Some(tp) = TopicPartition::parse_suffix(&key["part/".len()..]) else { continue };
            let head: PartitionHead = decode(&k, &v)?;
            let mut per_rule: Vec<(String, usize)> = Vec::new();
            let mut state_bytes = v.len();
            for log in ["dlog", "alog"] {
                for item in self.tree.scan_prefix(log_prefix(log, &tp.suffix())) {
                    state_bytes += item?.1.len();
                }
            }
            for item in self.tree.scan_prefix(window_prefix(&tp.suffix())) {
                let (wk, wv) = item?;
                state_bytes += wv.len();
                let w: WindowRecord = decode(&wk, &wv)?;
                match per_rule.iter_mut().find(|(r, _)| *r == w.rule) {
                    Some((_, n)) => *n += 1,
                    None => per_rule.push((w.rule.clone(), 1)),
                }
                owned_alerts.extend(w.alert);
            }
            per_rule.sort();
            let next_offset = self.tree.get(offset_key(&tp))?.map(|o| read_i64(&o, offset_key(&tp).as_bytes())).transpose()?;
            out.partitions.push(PartitionSummary { tp, next_offset, windows: per_rule, clock: head.clock, state_bytes });
        }
        // Every alert, wherever it is kept.
        out.alerts = self.alerts()?.map(|mut a| {
            a.alerts.append(&mut owned_alerts);
            a.alerts.sort_by(|x, y| (&x.rule, &x.labels).cmp(&(&y.rule, &y.labels)));
            a
        });
        out.outbox = self.tree.scan_prefix(b"notify/out/").count();
        out.transition_log = self.tree.scan_prefix(b"outbox/").count();
        out.bytes_on_disk = self.db.size_on_disk()?;
        Ok(out)
    }
}
