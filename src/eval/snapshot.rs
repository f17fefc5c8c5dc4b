//! The engine's state as data: what a checkpoint stores and a restart restores.
//!
//! A partition's share — its ingest state, its windows, and the alerts of the series it
//! alone feeds — is separate from the engine-wide alerts (of series fed by several
//! partitions, or none), so a partition can be checkpointed on revoke, dropped, and
//! restored wherever it is assigned next. Windows and alerts are keyed by rule *name*
//! and labels, so a reload that removes a rule or changes its window simply drops them.
//!
//! Checkpoints are incremental: [`Engine::partition_changes`] returns only what changed
//! since the previous call (the dirty flags of parts, series and partition state).


use serde::{Deserialize, Serialize};

use super::alert::Phase;
use super::engine::{Engine, PartitionState};
use super::series::{Part, PartitionId, Series};
use crate::event::{Attribution, AttributionChunk, AttributionHead, Dedup, DedupChunk, DedupHead, LOG_CHUNK};
use crate::rules::Rule;
use crate::signals::SignalEngine;
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
    /// The series' alert when this partition alone feeds it (it moves with the partition).
    pub alert: Option<AlertRecord>,
}

/// Everything a partition carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionSnapshot {
    pub state: PartitionState,
    pub windows: Vec<WindowRecord>,
}

/// A partition's ingest state as a checkpoint stores it: the small part whole
/// ([`PartitionHead`]), the memories of event ids and interactions — most of its bytes —
/// as logs in chunks of [`LOG_CHUNK`] entries, of which a checkpoint writes only the ones
/// that grew.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionHead {
    pub clock: Option<Millis>,
    pub signals: SignalEngine,
    pub dedup: DedupHead,
    pub attribution: AttributionHead,
}

/// Log chunks of a partition's ingest state, by chunk number.
#[derive(Debug, Clone, Default)]
pub struct LogChunks {
    pub dedup: Vec<(u64, DedupChunk)>,
    pub attribution: Vec<(u64, AttributionChunk)>,
}

impl PartitionState {
    /// The head and every chunk of the logs (a whole rewrite, a migration).
    pub fn to_log(&self) -> (PartitionHead, LogChunks) {
        let (head, chunks, _) = self.log_since(None);
        (head, chunks)
    }

    /// The head and the chunks that grew since `since` (log bounds last stored), and the
    /// first chunk numbers still live (every chunk before them can go).
    fn log_since(&self, since: Option<((u64, u64), (u64, u64))>) -> (PartitionHead, LogChunks, (u64, u64)) {
        let (dlo, dhi) = self.dedup.log_bounds();
        let (alo, ahi) = self.attribution.log_bounds();
        let (dfrom, afrom) = match since {
            Some(((_, d), (_, a))) => (d, a),
            None => (dlo, alo),
        };
        let grown = |from: u64, lo: u64, hi: u64| (from.max(lo) / LOG_CHUNK..hi.div_ceil(LOG_CHUNK)).filter(move |_| hi > from.max(lo));
        let chunks = LogChunks {
            dedup: grown(dfrom, dlo, dhi).map(|k| (k, self.dedup.log_chunk(k))).collect(),
            attribution: grown(afrom, alo, ahi).map(|k| (k, self.attribution.log_chunk(k))).collect(),
        };
        let head = PartitionHead { clock: self.clock, signals: self.signals.clone(), dedup: self.dedup.head(), attribution: self.attribution.head() };
        (head, chunks, (dlo / LOG_CHUNK, alo / LOG_CHUNK))
    }

    /// The state from its head and its chunks (each list in chunk order).
    pub fn from_log(head: PartitionHead, dedup: Vec<DedupChunk>, attribution: Vec<AttributionChunk>) -> PartitionState {
        let mut state = PartitionState {
            clock: head.clock,
            dedup: Dedup::from_log(head.dedup, dedup),
            attribution: Attribution::from_log(head.attribution, attribution),
            signals: head.signals,
            dirty: false,
            logged: None,
        };
        state.logged = Some((state.dedup.log_bounds(), state.attribution.log_bounds()));
        state
    }
}

/// What changed in a partition since its previous [`Engine::partition_changes`].
#[derive(Debug, Clone)]
pub struct PartitionChanges {
    /// The ingest state's head, when the state changed.
    pub head: Option<PartitionHead>,
    /// Log chunks that grew (all of them when `full`).
    pub chunks: LogChunks,
    /// The first live chunk numbers (dedup, attribution): older chunks are forgotten.
    pub live_chunks: (u64, u64),
    /// Windows (with their owned alerts) changed since then — every window when `full`.
    pub windows: Vec<WindowRecord>,
    /// Windows forgotten since then, as (rule, labels).
    pub removed: Vec<(String, Vec<String>)>,
    /// `windows` is everything: whatever else is stored for the partition is stale.
    pub full: bool,
}

impl PartitionChanges {
    /// Everything stored for a partition is stale and the engine holds nothing for it yet
    /// (local state older than the group's commit, before its first event): delete it all.
    pub fn cleared() -> Self {
        PartitionChanges { head: None, chunks: LogChunks::default(), live_chunks: (0, 0), windows: Vec::new(), removed: Vec::new(), full: true }
    }
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

/// The partition that alone feeds a series of a grouped rule: its alert moves with it.
fn owner(s: &Series, rule: &Rule) -> Option<PartitionId> {
    if rule.group_by.is_empty() { None } else { s.owner() }
}

fn alert_record(s: &Series, rule: &Rule) -> AlertRecord {
    AlertRecord {
        rule: rule.name.clone(),
        labels: s.labels.iter().map(|l| l.to_string()).collect(),
        created_ms: s.created_ms,
        phase: s.phase,
        samples: s.samples.iter().map(|(t, id)| (*t, id.to_string())).collect(),
    }
}

fn window_record(s: &Series, rule: &Rule, part: &Part) -> WindowRecord {
    WindowRecord {
        rule: rule.name.clone(),
        labels: s.labels.iter().map(|l| l.to_string()).collect(),
        spec: rule.window.clone(),
        window: part.window.clone(),
        alert: (owner(s, rule) == Some(part.partition)).then(|| alert_record(s, rule)),
    }
}

impl Engine {
    /// The state of one partition, or `None` when the engine has none for it. (`&mut`:
    /// the groups' lanes write their pending events to the windows first.)
    pub fn snapshot_partition(&mut self, partition: PartitionId) -> Option<PartitionSnapshot> {
        self.flush_lanes();
        let state = self.partition_state(partition)?.clone();
        let rules = &self.rules().rules;
        let windows = self
            .series_iter()
            .flat_map(|s| {
                let rule = &rules[s.rule as usize];
                s.parts.iter().filter(move |p| p.partition == partition).map(move |p| window_record(s, rule, p))
            })
            .collect();
        Some(PartitionSnapshot { state, windows })
    }

    /// What changed in a partition since the previous call — everything when `full` — and
    /// clears its dirty flags; `None` when nothing changed or the engine has no state for it.
    pub fn partition_changes(&mut self, partition: PartitionId, full: bool) -> Option<PartitionChanges> {
        let rules = self.rules().clone();
        let mut removed: Vec<(String, Vec<String>)> = self
            .take_removed(partition)
            .into_iter()
            .map(|(r, labels)| (rules.rules[r as usize].name.clone(), labels.iter().map(|l| l.to_string()).collect()))
            .collect();
        removed.extend(self.take_discarded(partition));
        let state = self.partition_state_mut(partition)?;
        let state_dirty = std::mem::replace(&mut state.dirty, false) || full;
        let (head, chunks, live_chunks) = state.log_since(if full { None } else { state.logged });
        let head = state_dirty.then_some(head);
        state.logged = Some((state.dedup.log_bounds(), state.attribution.log_bounds()));
        let mut windows = Vec::new();
        for s in self.series_iter_mut() {
            let Some(dirty) = s.parts.get_mut(partition).map(|p| p.dirty) else { continue };
            let rule = &rules.rules[s.rule as usize];
            let owned = owner(s, rule) == Some(partition);
            if !(full || dirty || (owned && s.alert_dirty)) {
                continue;
            }
            let part = s.parts.iter().find(|p| p.partition == partition).expect("present");
            windows.push(window_record(s, rule, part));
            if let Some(p) = s.parts.get_mut(partition) {
                p.dirty = false;
            }
            if owned {
                s.alert_dirty = false;
            }
        }
        if !full && !state_dirty && windows.is_empty() && removed.is_empty() {
            return None;
        }
        Some(PartitionChanges { head, chunks, live_chunks, windows, removed, full })
    }

    /// Restores a partition's state; windows of unknown rules or changed specs are dropped.
    pub fn restore_partition(&mut self, partition: PartitionId, snap: PartitionSnapshot) {
        self.drop_partition(partition);
        let clock = snap.state.clock;
        let logged = Some((snap.state.dedup.log_bounds(), snap.state.attribution.log_bounds()));
        let dedup = snap.state.dedup.restore();
        self.set_partition_state(partition, PartitionState { dirty: false, logged, dedup, ..snap.state });
        // Until the first event, every series restored is at most where its slowest
        // partition's clock puts it: a later partition restored behind an earlier one lowers
        // its next tick (taken from the first alone, the ticks in between were skipped).
        let starting = self.stats().accepted == 0;
        let max_samples = self.config().samples;
        for w in snap.windows {
            let Some(i) = self.rules().rules.iter().position(|r| r.name == w.rule) else {
                // Its rule is gone: delete it from the store instead of decoding it forever.
                self.discard_stored(partition, w.rule, w.labels);
                continue;
            };
            if self.rules().rules[i].window != w.spec || self.rules().rules[i].group_by.len() != w.labels.len() {
                continue;
            }
            let next_tick = clock.map(|c| self.next_tick_after(c));
            let spacing = self.sample_spacing_ms(i);
            let series = self.series_entry(i as u32, &w.labels, w.window.last_event_ms().unwrap_or(0));
            series.parts.retain(|p| p.partition != partition);
            let fresh = series.parts.is_empty();
            series.parts.push(Part { partition, window: w.window, dirty: false });
            if let Some(a) = w.alert {
                series.created_ms = a.created_ms;
                series.phase = a.phase;
                series.restore_samples(a.samples, max_samples, spacing);
            }
            // The partition ran every tick up to its clock for the series it fed.
            if let Some(next_tick) = next_tick {
                if fresh {
                    series.next_tick = next_tick;
                } else if starting {
                    series.next_tick = series.next_tick.min(next_tick);
                }
            }
            series.alert_dirty = false;
        }
    }

    /// Clock, tick schedule and the alerts no single partition carries (the engine-wide
    /// part of a checkpoint).
    pub fn snapshot_alerts(&self) -> AlertsSnapshot {
        let rules = &self.rules().rules;
        let mut alerts: Vec<AlertRecord> = self
            .series_iter()
            .filter(|s| owner(s, &rules[s.rule as usize]).is_none() && (s.phase.is_active() || !s.samples.is_empty()))
            .map(|s| alert_record(s, &rules[s.rule as usize]))
            .collect();
        alerts.sort_by(|a, b| (&a.rule, &a.labels).cmp(&(&b.rule, &b.labels)));
        let (clock, next_tick) = self.schedule();
        AlertsSnapshot { clock, next_tick, alerts }
    }

    /// Restores clock, ticks and alerts; alerts of unknown rules are dropped.
    pub fn restore_alerts(&mut self, snap: AlertsSnapshot) {
        self.flush_lanes();
        self.set_schedule(snap.clock, snap.next_tick);
        self.merge_alerts(snap);
    }

    /// Takes over the alerts of another engine's snapshot (a rebuilt partition's), keeping
    /// this engine's clock and tick schedule.
    pub fn merge_alerts(&mut self, snap: AlertsSnapshot) {
        self.flush_lanes();
        let max_samples = self.config().samples;
        for a in snap.alerts {
            let Some(i) = self.rules().rules.iter().position(|r| r.name == a.rule) else { continue };
            if self.rules().rules[i].group_by.len() != a.labels.len() {
                continue;
            }
            let spacing = self.sample_spacing_ms(i);
            let series = self.series_entry(i as u32, &a.labels, a.created_ms);
            series.phase = a.phase;
            series.restore_samples(a.samples, max_samples, spacing);
        }
    }
}

