//! The durable outbox and delivery log, in the store's tree (so staging happens in the same
//! atomic batch as the checkpoint that produced the transitions).
//!
//! | key | value |
//! |---|---|
//! | `notify/seq` | last outbox sequence number, u64 big-endian |
//! | `notify/flap` | the flap detector's memory, JSON |
//! | `notify/out/<seq>` | an undelivered [`Entry`], JSON |
//! | `notify/sent/<receiver>/<idempotency key>` | when it was accepted (wall ms, u64 BE) |
//! | `notify/slack/<receiver>/<alert>` | the Slack message showing that alert (channel, ts) |
//! | `notify/slackmsg/<receiver>/<ts>` | what that message shows, to re-render it on update |
//! | `notify/log/<wall ms>/<seq>` | one [`LogRecord`] per entry done with: sent, silenced, failed |
//!
//! Invariant: an entry leaves `notify/out/` only in the batch that records its fate, and a
//! `sent` marker is written only after the receiver accepted it; so a crash re-sends at
//! most what was in flight, and the marker stops even that when the send had completed.

use serde::{Deserialize, Serialize};

use super::notification::Notification;
use super::stage::Staged;
use crate::time::Millis;

const SEQ_KEY: &[u8] = b"notify/seq";
pub const FLAP_KEY: &[u8] = b"notify/flap";
const OUT: &str = "notify/out/";
/// Sent markers and log records older than this are pruned.
pub const RETENTION_MS: Millis = 7 * 24 * 3600 * 1000;

/// One notification waiting for one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub receiver: String,
    pub notification: Notification,
    /// Wall clock when staged: `group_wait` and `give_up_after` count from here.
    pub created_ms: Millis,
    pub attempts: u32,
    /// Not retried before this wall time (backoff, Retry-After).
    pub not_before_ms: Millis,
    pub last_error: Option<String>,
}

impl Entry {
    pub fn idempotency_key(&self) -> String {
        self.notification.idempotency_key()
    }
}

/// What became of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    Sent,
    /// Matched a silence: recorded, not sent.
    Silenced,
    /// Already sent before (a crash between send and bookkeeping): not sent again.
    Duplicate,
    /// Given up after `give_up_after`, or refused for good by the receiver.
    Failed,
}

/// The delivery log: what was sent, silenced or given up, for retrospectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    pub at_ms: Millis,
    pub receiver: String,
    pub alert: String,
    pub kind: String,
    pub transition_at_ms: Millis,
    pub fate: Fate,
    pub attempts: u32,
    /// The silence id, the last error, or the message id (Slack ts).
    pub detail: Option<String>,
}

/// A Slack message that shows alerts, so their resolution can update it in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackMessage {
    pub channel: String,
    pub ts: String,
    /// The newest notification of every alert in the message.
    pub alerts: Vec<Notification>,
    /// Wall clock when posted: records (and their pointers) older than the retention go.
    #[serde(default)]
    pub posted_ms: Millis,
}

fn out_key(seq: u64) -> Vec<u8> {
    format!("{OUT}{seq:020}").into_bytes()
}

fn be_u64(v: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = v.len().min(8);
    b[..n].copy_from_slice(&v[..n]);
    u64::from_be_bytes(b)
}

/// The outbox over the store's tree. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Outbox {
    tree: sled::Tree,
}

impl Outbox {
    pub fn new(tree: sled::Tree) -> Outbox {
        Outbox { tree }
    }

    pub fn last_seq(&self) -> Result<u64, sled::Error> {
        Ok(self.tree.get(SEQ_KEY)?.map_or(0, |v| be_u64(&v)))
    }

    /// Adds `staged` to a checkpoint batch as new entries numbered after `*seq`.
    pub fn stage_into(batch: &mut sled::Batch, seq: &mut u64, staged: &[Staged], now_ms: Millis) {
        for s in staged {
            *seq += 1;
            let e = Entry {
                seq: *seq,
                receiver: s.receiver.clone(),
                notification: s.notification.clone(),
                created_ms: now_ms,
                attempts: 0,
                not_before_ms: now_ms,
                last_error: None,
            };
            batch.insert(out_key(*seq), serde_json::to_vec(&e).expect("serializable"));
        }
        batch.insert(SEQ_KEY, &seq.to_be_bytes());
    }

    /// Every undelivered entry, oldest first. Undecodable ones (a bug or a foreign write)
    /// are logged and skipped, never fatal.
    pub fn pending(&self) -> Result<Vec<Entry>, sled::Error> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(OUT) {
            let (k, v) = kv?;
            match serde_json::from_slice::<Entry>(&v) {
                Ok(e) => out.push(e),
                Err(error) => tracing::error!(message = "Undecodable outbox entry skipped.", key = %String::from_utf8_lossy(&k), %error),
            }
        }
        Ok(out)
    }

    pub fn depth(&self) -> usize {
        self.tree.scan_prefix(OUT).count()
    }

    /// Saves retry bookkeeping (attempts, next attempt, last error).
    pub fn reschedule(&self, entries: &[Entry]) -> Result<(), sled::Error> {
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.insert(out_key(e.seq), serde_json::to_vec(e).expect("serializable"));
        }
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    fn sent_key(receiver: &str, idem: &str) -> Vec<u8> {
        format!("notify/sent/{receiver}/{idem}").into_bytes()
    }

    pub fn was_sent(&self, e: &Entry) -> Result<bool, sled::Error> {
        self.tree.contains_key(Self::sent_key(&e.receiver, &e.idempotency_key()))
    }

    /// Records the fate of `entries` and removes them from the outbox, in one batch, then
    /// flushes: after this returns, a restart never sends them again.
    pub fn finish(&self, entries: &[Entry], fate: Fate, detail: Option<&str>, now_ms: Millis, extra: impl FnOnce(&mut sled::Batch)) -> Result<(), sled::Error> {
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.remove(out_key(e.seq));
            if fate == Fate::Sent {
                batch.insert(Self::sent_key(&e.receiver, &e.idempotency_key()), &(now_ms as u64).to_be_bytes());
            }
            let record = LogRecord {
                at_ms: now_ms,
                receiver: e.receiver.clone(),
                alert: e.notification.alert_key(),
                kind: e.notification.kind.as_str().into(),
                transition_at_ms: e.notification.transition.at_ms,
                fate,
                attempts: e.attempts,
                detail: detail.map(str::to_string).or_else(|| e.last_error.clone()),
            };
            batch.insert(format!("notify/log/{:020}/{:020}", now_ms, e.seq).into_bytes(), serde_json::to_vec(&record).expect("serializable"));
        }
        extra(&mut batch);
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    /// The delivery log, oldest first.
    pub fn log(&self) -> Result<Vec<LogRecord>, sled::Error> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix("notify/log/") {
            let (_, v) = kv?;
            if let Ok(r) = serde_json::from_slice(&v) {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn slack_alert_key(receiver: &str, alert: &str) -> String {
        format!("notify/slack/{receiver}/{alert}")
    }

    fn slack_msg_key(receiver: &str, ts: &str) -> String {
        format!("notify/slackmsg/{receiver}/{ts}")
    }

    /// The message currently showing `alert` for this receiver.
    pub fn slack_message_for(&self, receiver: &str, alert: &str) -> Result<Option<SlackMessage>, sled::Error> {
        let Some(ts) = self.tree.get(Self::slack_alert_key(receiver, alert))? else { return Ok(None) };
        let ts = String::from_utf8_lossy(&ts).into_owned();
        Ok(self.tree.get(Self::slack_msg_key(receiver, &ts))?.and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Adds to `batch` the record of a posted or updated message: the alerts `sent` in it
    /// now point at it (resolved ones at nothing); alerts of the message not in this send
    /// keep pointing wherever they point (a newer message, after a reminder). Once every
    /// alert the message shows is resolved, its record goes.
    pub fn record_slack_message(batch: &mut sled::Batch, receiver: &str, msg: &SlackMessage, sent: &[Notification]) {
        for n in sent {
            let key = Self::slack_alert_key(receiver, &n.alert_key());
            if n.kind == super::notification::Kind::Resolved {
                batch.remove(key.as_bytes());
            } else {
                batch.insert(key.as_bytes(), msg.ts.as_bytes());
            }
        }
        let open = msg.alerts.iter().any(|n| n.kind != super::notification::Kind::Resolved);
        let key = Self::slack_msg_key(receiver, &msg.ts);
        if open {
            batch.insert(key.as_bytes(), serde_json::to_vec(msg).expect("serializable"));
        } else {
            batch.remove(key.as_bytes());
        }
    }

    /// Drops sent markers and log records older than [`RETENTION_MS`].
    pub fn prune(&self, now_ms: Millis) -> Result<usize, sled::Error> {
        let cutoff = now_ms - RETENTION_MS;
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for kv in self.tree.scan_prefix("notify/sent/") {
            let (k, v) = kv?;
            if (be_u64(&v) as Millis) < cutoff {
                batch.remove(k);
                n += 1;
            }
        }
        // Messages of alerts that never resolved (or whose resolution went elsewhere):
        // forgotten after the retention, pointers included, so the records (which hold
        // sample excerpts) do not grow without bound.
        let mut stale_ts = std::collections::HashSet::new();
        for kv in self.tree.scan_prefix("notify/slackmsg/") {
            let (k, v) = kv?;
            let msg = serde_json::from_slice::<SlackMessage>(&v).ok();
            if msg.as_ref().is_none_or(|m| m.posted_ms < cutoff) {
                stale_ts.extend(msg.map(|m| m.ts));
                batch.remove(k);
                n += 1;
            }
        }
        for kv in self.tree.scan_prefix("notify/slack/") {
            let (k, v) = kv?;
            if stale_ts.contains(String::from_utf8_lossy(&v).as_ref()) {
                batch.remove(k);
                n += 1;
            }
        }
        let end = format!("notify/log/{cutoff:020}");
        for kv in self.tree.range("notify/log/".as_bytes()..end.as_bytes()) {
            let (k, _) = kv?;
            batch.remove(k);
            n += 1;
        }
        self.tree.apply_batch(batch)?;
        Ok(n)
    }
}
