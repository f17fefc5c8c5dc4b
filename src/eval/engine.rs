//! The engine: event in, transitions out. Owns the dedup memory, feedback attribution, the
//! signal engine and every (rule, group) series.

use std::sync::Arc;

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

use super::alert::{Phase, Timing};
use super::series::{Series, label_values, labels_hash, series_hash};
use super::{AlertState, Transition};
use crate::event::{Attribution, AttributionConfig, Dedup, DedupConfig, Event};
use crate::field::Record;
use crate::rules::{Rule, RuleSet};
use crate::signals::{SignalConfig, SignalEngine, SignalSet};
use crate::time::{Duration, Millis};
use crate::window::{AggKind, SlidingWindow};

/// Engine settings (the daemon config's `[engine]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Events older than the newest event time minus this are late: counted and dropped.
    pub allowed_lateness: Duration,
    /// Every rule is evaluated on this period of event time, so `absent()` fires and
    /// alerts resolve when traffic stops.
    pub tick: Duration,
    /// Sample event ids kept per series as evidence on transitions.
    pub samples: usize,
    /// At most this many (rule, group) series; events that would create more are counted
    /// and not tracked, so a runaway `group_by` cannot exhaust memory.
    pub max_series: usize,
    pub dedup: DedupConfig,
    pub attribution: AttributionConfig,
    pub signals: SignalConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allowed_lateness: Duration::from_secs(30),
            tick: Duration::from_secs(10),
            samples: 5,
            max_series: 1_000_000,
            dedup: DedupConfig::default(),
            attribution: AttributionConfig::default(),
            signals: SignalConfig::default(),
        }
    }
}

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Accepted,
    /// Its `event_id` was seen before.
    Duplicate,
    /// Older than the allowed lateness.
    Late,
}

/// Counters, for summaries and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    pub accepted: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Events not tracked for a rule because `max_series` was reached.
    pub series_overflow: u64,
    pub transitions: u64,
}

struct Compiled {
    timing: Timing,
    is_absent: bool,
    samples_hits_only: bool,
}

/// The rule engine. Pure: time comes from events and [`Engine::advance_to`].
pub struct Engine {
    rules: Arc<RuleSet>,
    compiled: Vec<Compiled>,
    needs: SignalSet,
    config: EngineConfig,
    dedup: Dedup,
    attribution: Attribution,
    signals: SignalEngine,
    series: HashTable<Series>,
    clock: Option<Millis>,
    next_tick: Millis,
    stats: EngineStats,
}

impl Engine {
    pub fn new(rules: Arc<RuleSet>, config: EngineConfig) -> Self {
        let compiled = rules
            .rules
            .iter()
            .map(|r| Compiled {
                timing: Timing {
                    for_ms: r.for_.as_millis(),
                    keep_firing_for_ms: r.keep_firing_for.as_millis(),
                    repeat_interval_ms: r.repeat_interval.map(|d| d.as_millis()),
                },
                is_absent: matches!(r.window.agg, AggKind::Absent),
                samples_hits_only: is_hit_based(&r.window.agg),
            })
            .collect();
        Engine {
            needs: rules.signals(),
            compiled,
            dedup: Dedup::new(config.dedup),
            attribution: Attribution::new(config.attribution),
            signals: SignalEngine::new(config.signals.clone()),
            series: HashTable::new(),
            clock: None,
            next_tick: 0,
            stats: EngineStats::default(),
            rules,
            config,
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// The newest event time seen (or advanced to).
    pub fn clock(&self) -> Option<Millis> {
        self.clock
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Approximate bytes held by series (windows, labels, samples).
    pub fn series_memory_bytes(&self) -> usize {
        self.series
            .iter()
            .map(|s| {
                std::mem::size_of::<Series>()
                    + s.window.memory_bytes()
                    + s.labels.iter().map(|l| l.len() + 16).sum::<usize>()
                    + s.samples.len() * 24
            })
            .sum()
    }

    /// Feeds one event; transitions it causes are appended to `out`.
    pub fn process(&mut self, mut event: Event, out: &mut Vec<Transition>) -> Admission {
        let t = event.time_ms;
        if let Some(clock) = self.clock
            && t < clock - self.config.allowed_lateness.as_millis()
        {
            self.stats.late += 1;
            return Admission::Late;
        }
        if !self.dedup.first_sighting(&event.id, t, self.clock.unwrap_or(t).max(t)) {
            self.stats.duplicates += 1;
            return Admission::Duplicate;
        }
        self.advance_to(t, out);
        let now = self.clock.unwrap_or(t);
        self.stats.accepted += 1;

        self.attribution.apply(&mut event, now);
        let signals = self.signals.compute(&event, self.needs);
        let rec = Record::new(&event, &signals);
        let id: Arc<str> = Arc::from(&*event.id);
        let rules = self.rules.clone();
        for (i, rule) in rules.rules.iter().enumerate() {
            if let Some(when) = &rule.when
                && !when.eval(&rec).is_true()
            {
                continue;
            }
            let hash = series_hash(i as u32, &rule.group_by, &rec);
            let found = self.series.find_mut(hash, |s| s.rule == i as u32 && s.labels_match(&rule.group_by, &rec));
            let series = match found {
                Some(s) => s,
                None => {
                    if self.series.len() >= self.config.max_series {
                        self.stats.series_overflow += 1;
                        continue;
                    }
                    let s = Series {
                        hash,
                        rule: i as u32,
                        labels: label_values(&rule.group_by, &rec),
                        window: SlidingWindow::new(&rule.window, now),
                        phase: Phase::Inactive,
                        samples: Default::default(),
                    };
                    self.series.insert_unique(hash, s, |s| s.hash).into_mut()
                }
            };
            let obs = rule.value.observe(&rec);
            series.window.add(&rule.window, t, obs);
            let c = &self.compiled[i];
            if !c.samples_hits_only || obs.hit {
                series.push_sample(t, &id, self.config.samples);
            }
            if let Some(tr) = evaluate(rule, c, series, now) {
                self.stats.transitions += 1;
                out.push(tr);
            }
        }
        Admission::Accepted
    }

    /// Moves event time forward to `now`, evaluating every series on each tick boundary
    /// passed (so `absent()` fires and alerts resolve without traffic).
    pub fn advance_to(&mut self, now: Millis, out: &mut Vec<Transition>) {
        let tick = self.config.tick.as_millis().max(1);
        let Some(clock) = self.clock else {
            self.start(now, tick);
            return;
        };
        if now <= clock {
            return;
        }
        while self.next_tick <= now {
            let at = self.next_tick;
            self.clock = Some(at);
            self.tick(at, out);
            self.next_tick += tick;
        }
        self.clock = Some(now);
    }

    /// First time seen: global series (empty `group_by`) exist from here, so `absent()`
    /// can fire for them even if no event ever matches.
    fn start(&mut self, now: Millis, tick: Millis) {
        self.clock = Some(now);
        self.next_tick = (now.div_euclid(tick) + 1) * tick;
        let rules = self.rules.clone();
        for (i, rule) in rules.rules.iter().enumerate() {
            if rule.group_by.is_empty() {
                let hash = labels_hash(i as u32, &[]);
                let s = Series {
                    hash,
                    rule: i as u32,
                    labels: Box::new([]),
                    window: SlidingWindow::new(&rule.window, now),
                    phase: Phase::Inactive,
                    samples: Default::default(),
                };
                self.series.insert_unique(hash, s, |s| s.hash);
            }
        }
    }

    fn tick(&mut self, at: Millis, out: &mut Vec<Transition>) {
        let rules = self.rules.clone();
        let before = out.len();
        for series in self.series.iter_mut() {
            let i = series.rule as usize;
            if let Some(tr) = evaluate(&rules.rules[i], &self.compiled[i], series, at) {
                out.push(tr);
            }
        }
        // Ticks visit series in table order; transitions at one instant are sorted so
        // output is deterministic.
        out[before..].sort_by(|a, b| (&a.rule, &a.group).cmp(&(&b.rule, &b.group)));
        self.stats.transitions += (out.len() - before) as u64;
        self.forget_idle(at);
    }

    /// Drops series that hold no events and no active alert: they would be recreated by
    /// their next event with identical results. Absent-type series are kept: their silence
    /// is the signal.
    fn forget_idle(&mut self, now: Millis) {
        let rules = &self.rules.rules;
        let compiled = &self.compiled;
        self.series.retain(|s| {
            let i = s.rule as usize;
            if compiled[i].is_absent || s.phase.is_active() || rules[i].group_by.is_empty() {
                return true;
            }
            let span = rules[i].window.window_ms * if rules[i].value.is_change() { 2 } else { 1 };
            s.window.last_event_ms().is_some_and(|last| now - last <= span + rules[i].window.bin_ms)
        });
    }
}

fn is_hit_based(kind: &AggKind) -> bool {
    match kind {
        AggKind::Ratio | AggKind::WilsonLower => true,
        AggKind::Change(inner) => is_hit_based(inner),
        _ => false,
    }
}

/// Evaluates one series at `now` and steps its alert.
fn evaluate(rule: &Rule, c: &Compiled, series: &mut Series, now: Millis) -> Option<Transition> {
    let ev = series.window.evaluate(&rule.window, now);
    let holds = ev.events >= rule.min_events && ev.value.is_some_and(|v| rule.condition.holds(v));
    let step = series.phase.step(now, holds, c.timing)?;
    Some(Transition {
        rule: rule.name.clone(),
        group: rule.group_labels.iter().cloned().zip(series.labels.iter().map(|l| l.to_string())).collect(),
        state: step.state,
        at_ms: now,
        value: ev.value,
        threshold: rule.condition.threshold,
        events: ev.events,
        samples: series.samples_since(now - rule.window.window_ms),
        reminder: step.reminder,
        firing_since_ms: step.firing_since,
    })
}

impl AlertState {
    /// Whether this transition is one a person is told about.
    pub fn is_notifiable(self) -> bool {
        matches!(self, AlertState::Firing | AlertState::Resolved)
    }
}
