//! Flap control: an alert that changes state more than `changes` times within `period` is
//! announced once as flapping, then held back until it has not changed for a whole
//! `period`, when its settled state is notified. Runs on event time, so it is deterministic
//! and its state is checkpointed with the rest.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::config::FlapConfig;
use super::notification::{Kind, Notification};
use crate::time::Millis;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct History {
    /// Times of recent firing/resolved changes, oldest first, within `period`.
    changes: VecDeque<Millis>,
    flapping: bool,
    /// While flapping: the newest change held back, notified when the alert settles.
    held: Option<Notification>,
}

/// What to do with one notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Deliver(Notification),
    /// The alert just started flapping: this replaces the change.
    AnnounceFlapping(Notification),
    /// Held back while flapping.
    Suppress,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlapDetector {
    alerts: BTreeMap<String, History>,
}

impl FlapDetector {
    pub fn judge(&mut self, n: Notification, cfg: &FlapConfig) -> Verdict {
        let now = n.transition.at_ms;
        let h = self.alerts.entry(n.alert_key()).or_default();
        if n.kind == Kind::Reminder {
            return if h.flapping { Verdict::Suppress } else { Verdict::Deliver(n) };
        }
        h.changes.push_back(now);
        while h.changes.front().is_some_and(|&t| t <= now - cfg.period.as_millis()) {
            h.changes.pop_front();
        }
        if h.flapping {
            h.held = Some(n);
            return Verdict::Suppress;
        }
        if h.changes.len() > cfg.changes {
            h.flapping = true;
            let mut announce = n.clone();
            announce.kind = Kind::Flapping;
            h.held = Some(n);
            return Verdict::AnnounceFlapping(announce);
        }
        Verdict::Deliver(n)
    }

    /// At event time `now`: alerts flapping but unchanged for a whole period settle; their
    /// held state is returned (marked `settled`). Quiet histories are forgotten.
    pub fn tick(&mut self, now: Millis, cfg: &FlapConfig) -> Vec<Notification> {
        let mut settled = Vec::new();
        self.alerts.retain(|_, h| {
            let last = h.changes.back().copied().unwrap_or(Millis::MIN);
            let quiet = now.saturating_sub(last) >= cfg.period.as_millis();
            if quiet {
                if h.flapping
                    && let Some(mut n) = h.held.take()
                {
                    n.settled = true;
                    settled.push(n);
                }
                return false;
            }
            true
        });
        settled
    }

    pub fn is_flapping(&self, alert_key: &str) -> bool {
        self.alerts.get(alert_key).is_some_and(|h| h.flapping)
    }
}
