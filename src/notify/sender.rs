//! The sender: drains the outbox to the receivers. Per receiver, new entries wait
//! `group_wait` and then go out together as one message; silenced entries and ones already
//! sent are recorded and dropped; failures are retried with exponential backoff and
//! jitter (or exactly Slack's `Retry-After`) until `give_up_after`, when the failure is
//! recorded. An entry is marked sent only after the receiver accepted it.
//!
//! Runs on a tokio runtime of its own thread, beside the synchronous consumer; the two share
//! only the sled tree, a wake-up and the outbox depth (for backpressure).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration as StdDuration, SystemTime};

use super::config::NotifyConfig;
use super::notification::Notification;
use super::outbox::{Entry, Fate, Outbox, SlackMessage};
use super::render::Rendered;
use super::silence::Silences;
use super::slack::{self, MAX_ALERTS_PER_MESSAGE};
use super::transport::{DeliveryError, Transport};
use crate::time::Millis;

use crate::time::wall_clock_ms;

/// What the consumer side holds of a running sender.
#[derive(Clone)]
pub struct SenderHandle {
    pub wake: Arc<tokio::sync::Notify>,
    /// Undelivered entries, as of the sender's last pass plus what was staged since.
    pub depth: Arc<AtomicUsize>,
}

/// Silences, re-read when the file changes.
struct SilenceCache {
    path: std::path::PathBuf,
    modified: Option<SystemTime>,
    silences: Silences,
}

impl SilenceCache {
    fn current(&mut self) -> &Silences {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if modified != self.modified {
            match Silences::load(&self.path) {
                Ok(s) => {
                    tracing::info!(message = "Silences loaded.", path = %self.path.display(), count = s.silences.len());
                    self.silences = s;
                }
                // Keep the previous silences: a half-edited file must not unsilence everything.
                Err(error) => tracing::error!(message = "Cannot read the silences file; keeping the previous silences.", %error),
            }
            self.modified = modified;
        }
        &self.silences
    }
}

pub struct Sender {
    outbox: Outbox,
    config: NotifyConfig,
    transports: BTreeMap<String, Transport>,
    silences: SilenceCache,
    handle: SenderHandle,
    last_prune: Millis,
    /// Per receiver: no attempt before this wall time (after a retryable failure).
    blocked_until: BTreeMap<String, Millis>,
}

impl Sender {
    /// Builds every receiver's transport; a missing secret or unreadable CA is an error
    /// naming the receiver.
    pub fn new(outbox: Outbox, config: NotifyConfig) -> anyhow::Result<Sender> {
        let mut transports = BTreeMap::new();
        for r in &config.receivers {
            transports.insert(r.name.clone(), Transport::new(r).map_err(anyhow::Error::msg)?);
        }
        let silences = SilenceCache { path: config.silences.clone(), modified: None, silences: Silences::default() };
        let handle = SenderHandle { wake: Arc::new(tokio::sync::Notify::new()), depth: Arc::new(AtomicUsize::new(0)) };
        Ok(Sender { outbox, config, transports, silences, handle, last_prune: 0, blocked_until: BTreeMap::new() })
    }

    pub fn handle(&self) -> SenderHandle {
        self.handle.clone()
    }

    /// Delivers until `stop` is set (and `wake` notified, or within 5 s).
    pub async fn run(mut self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::Relaxed) {
            let next = match self.pass().await {
                Ok(next) => next,
                Err(error) => {
                    tracing::error!(message = "Delivery pass failed.", %error);
                    None
                }
            };
            // Sleep until the next entry is due; staging and shutdown wake us earlier. The
            // cap only bounds the cost of a missed wake-up: each pass reads the whole outbox.
            let now = wall_clock_ms();
            let wait = next.map_or(5_000, |t| (t - now).clamp(5, 5_000));
            tokio::select! {
                _ = tokio::time::sleep(StdDuration::from_millis(wait as u64)) => {}
                _ = self.handle.wake.notified() => {}
            }
        }
    }

    /// One pass over the outbox. Returns when the next entry becomes due, if any waits.
    pub async fn pass(&mut self) -> anyhow::Result<Option<Millis>> {
        let now = wall_clock_ms();
        if now - self.last_prune > 3_600_000 {
            self.outbox.prune(now)?;
            self.last_prune = now;
        }
        let pending = self.outbox.pending()?;
        self.handle.depth.store(pending.len(), Ordering::Relaxed);
        let mut by_receiver: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for e in pending {
            by_receiver.entry(e.receiver.clone()).or_default().push(e);
        }
        let mut next: Option<Millis> = None;
        let mut wake_at = |t: Millis| next = Some(next.map_or(t, |n: Millis| n.min(t)));
        let gw = self.config.group_wait.as_millis();
        let give_up = self.config.retry.give_up_after.as_millis();
        for (receiver, entries) in by_receiver {
            // One receiver's trouble (a template that fails, a disk error) must not hold
            // the others back: it is logged and the next receiver goes on.
            match self.receiver_pass(&receiver, entries, now, gw, give_up).await {
                Ok(Some(t)) => wake_at(t),
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(message = "Delivery to a receiver failed; retrying later.", receiver, %error);
                    wake_at(now + self.config.retry.initial_backoff.as_millis().max(1000));
                }
            }
        }
        // What is left (counting keys only), so the consumer resumes as soon as it drained.
        self.handle.depth.store(self.outbox.depth(), Ordering::Relaxed);
        Ok(next)
    }

    /// One receiver's share of a pass. Returns when it wants the next pass.
    async fn receiver_pass(&mut self, receiver: &str, entries: Vec<Entry>, now: Millis, gw: Millis, give_up: Millis) -> anyhow::Result<Option<Millis>> {
        let mut next: Option<Millis> = None;
        let mut wake_at = |t: Millis| next = Some(next.map_or(t, |n: Millis| n.min(t)));
        if !self.transports.contains_key(receiver) {
            tracing::error!(message = "Outbox entries for a receiver no longer configured; dropped.", receiver, count = entries.len());
            self.outbox.finish(&entries, Fate::Failed, Some("receiver no longer configured"), now, |_| {})?;
            return Ok(None);
        }
        let (expired, live): (Vec<Entry>, Vec<Entry>) = entries.into_iter().partition(|e| now - e.created_ms >= give_up);
        if !expired.is_empty() {
            tracing::error!(message = "Giving up on notifications.", receiver, count = expired.len(), last_error = ?expired[0].last_error);
            self.outbox.finish(&expired, Fate::Failed, None, now, |_| {})?;
        }
        // The receiver asked us to wait (Slack's Retry-After) or just failed: nothing goes
        // to it before then, new entries included.
        if let Some(&until) = self.blocked_until.get(receiver)
            && until > now
        {
            return Ok(Some(until));
        }
        // New entries wait group_wait from the oldest of them, then go together with
        // any retries that are due.
        let oldest_new = live.iter().filter(|e| e.attempts == 0).map(|e| e.created_ms).min();
        let new_ready = oldest_new.is_some_and(|t| t + gw <= now);
        if let Some(t) = oldest_new.filter(|_| !new_ready) {
            wake_at(t + gw);
        }
        // One alert's notifications go out in order: while one waits (group_wait or
        // backoff), the later ones for the same alert wait behind it.
        let mut blocked: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut due = Vec::new();
        for e in live {
            let key = e.notification.alert_key();
            let ready = if e.attempts == 0 { new_ready } else { e.not_before_ms <= now };
            if ready && !blocked.contains(&key) {
                due.push(e);
            } else {
                if e.attempts > 0 {
                    wake_at(e.not_before_ms);
                }
                blocked.insert(key);
            }
        }
        let due = self.drop_silenced_and_sent(due, now)?;
        for chunk in due.chunks(MAX_ALERTS_PER_MESSAGE) {
            if let Some(t) = self.deliver(receiver, chunk.to_vec()).await? {
                // Failed: the rest of this receiver's entries wait with it.
                self.blocked_until.insert(receiver.to_string(), t);
                wake_at(t);
                break;
            }
        }
        Ok(next)
    }

    /// Records and drops silenced entries and ones a previous run already sent.
    fn drop_silenced_and_sent(&mut self, due: Vec<Entry>, now: Millis) -> anyhow::Result<Vec<Entry>> {
        let mut keep = Vec::new();
        for e in due {
            if self.outbox.was_sent(&e)? {
                self.outbox.finish(std::slice::from_ref(&e), Fate::Duplicate, None, now, |_| {})?;
                continue;
            }
            let labels = e.notification.matchable_labels();
            if let Some(s) = self.silences.current().matching(&labels, now) {
                let id = s.id.clone();
                tracing::info!(message = "Notification silenced.", receiver = %e.receiver, alert = %e.notification.alert_key(), silence = %id);
                self.outbox.finish(std::slice::from_ref(&e), Fate::Silenced, Some(&id), now, |_| {})?;
                continue;
            }
            keep.push(e);
        }
        Ok(keep)
    }

    /// Sends one group. Returns when to retry, on a retryable failure.
    async fn deliver(&mut self, receiver: &str, entries: Vec<Entry>) -> anyhow::Result<Option<Millis>> {
        let transport = &self.transports[receiver];
        match transport {
            Transport::Email(t) => {
                let result = match self.render(&entries) {
                    Ok(rendered) => t.send(&rendered).await,
                    Err(e) => Err(e),
                };
                self.settle(receiver, &entries, result.map(|_| None), |_| {})
            }
            Transport::Slack(t) if t.can_update() => {
                // Resolutions of alerts whose message we posted update that message.
                let outbox = &self.outbox;
                let slack::Plan { updates, mut posts } =
                    slack::plan(entries, |e| &e.notification, |n| outbox.slack_message_for(receiver, &n.alert_key()), |m| m.ts.clone())?;
                let mut retry = None;
                for (_, (mut msg, group)) in updates {
                    slack::show_resolutions(&mut msg.alerts, group.iter().map(|e| &e.notification));
                    let Transport::Slack(t) = &self.transports[receiver] else { unreachable!() };
                    let result = match self.render_notifications(&msg.alerts) {
                        Ok(rendered) => t.update(&msg.channel, &msg.ts, &rendered).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = &result
                        && !e.retryable
                    {
                        // The message is gone or can no longer be edited: say it anew.
                        tracing::warn!(message = "Cannot update the Slack message; posting the resolution as a new one.", receiver, ts = %msg.ts, error = %e.message);
                        posts.extend(group);
                        continue;
                    }
                    let ts = msg.ts.clone();
                    let sent: Vec<Notification> = group.iter().map(|e| e.notification.clone()).collect();
                    let r = self.settle(receiver, &group, result.map(|_| Some(ts)), |b| Outbox::record_slack_message(b, receiver, &msg, &sent))?;
                    retry = retry.or(r);
                }
                if !posts.is_empty() {
                    let Transport::Slack(t) = &self.transports[receiver] else { unreachable!() };
                    let result = match self.render(&posts) {
                        Ok(rendered) => t.post(&rendered).await,
                        Err(e) => Err(e),
                    };
                    let posted = result.as_ref().ok().cloned().flatten();
                    let sent: Vec<Notification> = posts.iter().map(|e| e.notification.clone()).collect();
                    let msg = posted.as_ref().map(|(channel, ts)| SlackMessage {
                        channel: channel.clone(),
                        ts: ts.clone(),
                        alerts: sent.clone(),
                        posted_ms: wall_clock_ms(),
                    });
                    let r = self.settle(receiver, &posts, result.map(|p| p.map(|(_, ts)| ts)), |b| {
                        if let Some(m) = &msg {
                            Outbox::record_slack_message(b, receiver, m, &sent);
                        }
                    })?;
                    retry = retry.or(r);
                }
                Ok(retry)
            }
            Transport::Slack(t) => {
                let result = match self.render(&entries) {
                    Ok(rendered) => t.post(&rendered).await.map(|_| None),
                    Err(e) => Err(e),
                };
                self.settle(receiver, &entries, result, |_| {})
            }
        }
    }

    fn render(&self, entries: &[Entry]) -> Result<Rendered, DeliveryError> {
        let ns: Vec<Notification> = entries.iter().map(|e| e.notification.clone()).collect();
        self.render_notifications(&ns)
    }

    /// A template that fails is the operator's to fix: retrying would fail the same way.
    fn render_notifications(&self, ns: &[Notification]) -> Result<Rendered, DeliveryError> {
        self.config.templates.message(ns).map_err(|e| DeliveryError::permanent(e.to_string()))
    }

    /// Books the outcome of one send: sent (with `extra` in the same batch), rescheduled,
    /// or failed for good.
    fn settle(
        &self,
        receiver: &str,
        entries: &[Entry],
        result: Result<Option<String>, DeliveryError>,
        extra: impl FnOnce(&mut sled::Batch),
    ) -> anyhow::Result<Option<Millis>> {
        let now = wall_clock_ms();
        match result {
            Ok(message_id) => {
                tracing::info!(message = "Notification sent.", receiver, alerts = entries.len(), first = %entries[0].notification.alert_key(), kind = entries[0].notification.kind.as_str());
                self.outbox.finish(entries, Fate::Sent, message_id.as_deref(), now, extra)?;
                Ok(None)
            }
            Err(e) if !e.retryable => {
                tracing::error!(message = "Receiver refused the notification for good; recorded as failed.", receiver, error = %e.message);
                let failed: Vec<Entry> = entries.iter().cloned().map(|mut x| {
                    x.attempts += 1;
                    x.last_error = Some(e.message.clone());
                    x
                }).collect();
                self.outbox.finish(&failed, Fate::Failed, None, now, |_| {})?;
                Ok(None)
            }
            Err(e) => {
                let attempts = entries.iter().map(|x| x.attempts).max().unwrap_or(0) + 1;
                let delay = match e.retry_after {
                    Some(d) => d.as_millis() as Millis,
                    None => backoff(attempts, self.config.retry.initial_backoff.as_millis(), self.config.retry.max_backoff.as_millis(), rand::random::<f64>()),
                };
                tracing::warn!(message = "Delivery failed; will retry.", receiver, error = %e.message, attempt = attempts, retry_in_ms = delay);
                let next = now + delay;
                let updated: Vec<Entry> = entries.iter().cloned().map(|mut x| {
                    x.attempts = attempts;
                    x.not_before_ms = next;
                    x.last_error = Some(e.message.clone());
                    x
                }).collect();
                self.outbox.reschedule(&updated)?;
                Ok(Some(next))
            }
        }
    }
}

/// Exponential backoff with "equal jitter": half the doubled delay is fixed, half random
/// (`unit` in [0, 1)), so retries of many entries spread out but never come early.
pub fn backoff(attempts: u32, initial_ms: Millis, max_ms: Millis, unit: f64) -> Millis {
    let exp = initial_ms.saturating_mul(1i64 << (attempts.saturating_sub(1)).min(30)).min(max_ms);
    exp / 2 + ((exp / 2) as f64 * unit) as Millis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        assert_eq!(backoff(1, 1000, 60_000, 0.0), 500);
        assert_eq!(backoff(1, 1000, 60_000, 0.999), 999);
        assert_eq!(backoff(3, 1000, 60_000, 0.0), 2000);
        assert_eq!(backoff(40, 1000, 60_000, 0.0), 30_000);
        assert!(backoff(40, 1000, 60_000, 0.999) < 60_000);
    }
}
