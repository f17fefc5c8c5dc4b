//! The engine's state as data: what a checkpoint stores and a restart restores.
//!
//! A partition's share — its ingest state and its windows — is separate from the alerts
//! (which span partitions), so a partition can be checkpointed on revoke, dropped, and
//! restored wherever it is assigned next. Windows and alerts are keyed by rule *name*
//! and labels, so a reload that removes a rule or changes its window simply drops them.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alert::Phase;
use super::engine::{Engine, PartitionState};
use super::series::{Part, PartitionId, Series};
use crate::time::Millis;
use crate::window::{SlidingWindow, WindowSpec};

/// One partition's window of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    pub rule: String,
    pub labels: Vec<String>,
    /// The spec the window was built for; a changed rule drops it on restore.
    pub spec: WindowSpec,
    pub window: SlidingWindow,
}

/// Everything a partition carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionSnapshot {
    pub state: PartitionState,
    pub windows: Vec<WindowRecord>,
}

/// One series' alert and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub rule: String,
    pub labels: Vec<String>,
    pub created_ms: Millis,
    pub phase: Phase,
    pub samples: Vec<(Millis, String)>,
}

/// The engine-wide part: clock, tick schedule and every alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsSnapshot {
    pub clock: Option<Millis>,
    pub next_tick: Millis,
    pub alerts: Vec<AlertRecord>,
}

impl Engine {
    /// The state of one partition, or `None` when the engine has none for it.
    pub fn snapshot_partition(&self, partition: PartitionId) -> Option<PartitionSnapshot> {
        let state = self.partition_state(partition)?.clone();
        let rules = &self.rules().rules;
        let windows = self
            .series_iter()
            .flat_map(|s| {
                let rule = &rules[s.rule as usize];
                s.parts.iter().filter(move |p| p.partition == partition).map(move |p| WindowRecord {
                    rule: rule.name.clone(),
                    labels: s.labels.iter().map(|l| l.to_string()).collect(),
                    spec: rule.window.clone(),
                    window: p.window.clone(),
                })
            })
            .collect();
        Some(PartitionSnapshot { state, windows })
    }

    /// Restores a partition's state; windows of unknown rules or changed specs are dropped.
    pub fn restore_partition(&mut self, partition: PartitionId, snap: PartitionSnapshot) {
        self.drop_partition(partition);
        self.set_partition_state(partition, snap.state);
        for w in snap.windows {
            let Some(i) = self.rules().rules.iter().position(|r| r.name == w.rule) else { continue };
            if self.rules().rules[i].window != w.spec || self.rules().rules[i].group_by.len() != w.labels.len() {
                continue;
            }
            let series = self.series_entry(i as u32, &w.labels, w.window.last_event_ms().unwrap_or(0));
            series.parts.retain(|p| p.partition != partition);
            series.parts.push(Part { partition, window: w.window, dirty: false });
        }
    }

    /// Clock, tick schedule and alerts (the engine-wide part of a checkpoint).
    pub fn snapshot_alerts(&self) -> AlertsSnapshot {
        let rules = &self.rules().rules;
        let mut alerts: Vec<AlertRecord> = self
            .series_iter()
            .filter(|s| s.phase.is_active() || !s.samples.is_empty())
            .map(|s| AlertRecord {
                rule: rules[s.rule as usize].name.clone(),
                labels: s.labels.iter().map(|l| l.to_string()).collect(),
                created_ms: s.created_ms,
                phase: s.phase,
                samples: s.samples.iter().map(|(t, id)| (*t, id.to_string())).collect(),
            })
            .collect();
        alerts.sort_by(|a, b| (&a.rule, &a.labels).cmp(&(&b.rule, &b.labels)));
        let (clock, next_tick) = self.schedule();
        AlertsSnapshot { clock, next_tick, alerts }
    }

    /// Restores clock, ticks and alerts; alerts of unknown rules are dropped.
    pub fn restore_alerts(&mut self, snap: AlertsSnapshot) {
        self.set_schedule(snap.clock, snap.next_tick);
        self.merge_alerts(snap);
    }

    /// Takes over the alerts of another engine's snapshot (a rebuilt partition's), keeping
    /// this engine's clock and tick schedule.
    pub fn merge_alerts(&mut self, snap: AlertsSnapshot) {
        for a in snap.alerts {
            let Some(i) = self.rules().rules.iter().position(|r| r.name == a.rule) else { continue };
            if self.rules().rules[i].group_by.len() != a.labels.len() {
                continue;
            }
            let series = self.series_entry(i as u32, &a.labels, a.created_ms);
            series.phase = a.phase;
            series.samples = a.samples.into_iter().map(|(t, id)| (t, Arc::<str>::from(id))).collect::<VecDeque<_>>();
        }
    }
}

/// A series for restored labels, created when missing.
pub(super) fn new_series(rule: u32, labels: &[String], created_ms: Millis) -> Series {
    let labels: Box<[Box<str>]> = labels.iter().map(|l| Box::<str>::from(l.as_str())).collect();
    Series::new(rule, labels, created_ms)
}
