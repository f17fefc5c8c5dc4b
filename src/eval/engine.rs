//! The engine: event in, transitions out. Owns, per input partition, the dedup memory,
//! feedback attribution and signal memory, and, across partitions, every (rule, group)
//! series with its alert.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alert::{Phase, Timing};
use super::groups::{GroupShape, Groups, event_key};
use super::lane::MAX_MEMBERS;
use super::series::{Labels, PartitionId, Series};
use super::step::{catch_up_series, next_boundary, skip_settled, step, value_gate, watermark};
use super::{AlertState, Transition};
use super::transition::pack_sample;
use crate::event::{Attribution, AttributionConfig, Dedup, DedupConfig, Event};
use crate::field::Record;
use crate::rules::RuleSet;
use crate::signals::{SignalConfig, SignalEngine, SignalSet};
use crate::time::{Duration, Millis};
use crate::window::{AggKind, Evaluation, Observation, bin_start, counting_value, is_counting, sketch_key};

/// Engine settings (the daemon config's `[engine]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Events older than their partition's newest event time minus this are late:
    /// counted and dropped.
    pub allowed_lateness: Duration,
    /// Every rule is evaluated on this period of event time, so `absent()` fires and
    /// alerts resolve when traffic stops.
    pub tick: Duration,
    /// Sample events kept per series as evidence on transitions: the newest ones, at most
    /// `samples` per bin of the rule's window once the series has that many (so a busy
    /// series does not copy every event into its evidence).
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
    /// Its `event_id` was seen before (in its partition).
    Duplicate,
    /// Older than the allowed lateness.
    Late,
}

/// An alert pending or firing (see [`Engine::active_alerts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    pub rule: String,
    pub group: Vec<(String, String)>,
    /// Pending or firing.
    pub state: AlertState,
    /// When it became pending, or started firing.
    pub since_ms: Millis,
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

pub(super) struct Compiled {
    pub(super) timing: Timing,
    is_absent: bool,
    samples_hits_only: bool,
    /// Index of the rule's `when` among the distinct ones (rules often share a filter).
    when_slot: Option<usize>,
    /// Index of the rule's `group_by` among the distinct lists.
    group_slot: usize,
    /// Index of the rule's `value:` among the distinct ones (rules grouped differently
    /// often observe the same expression).
    value_slot: usize,
    /// Event time between two samples of a series once its ring is full: `samples` per bin.
    sample_spacing_ms: Millis,
    /// The rule's position among the rules of its `group_by` list: its member slot in a group.
    member: usize,
    /// The rule counts (count, ratio, Wilson) in bins of its list's lane width: its groups'
    /// lanes serve it (`lane.rs`).
    lane: bool,
    /// Event time after a series' last event by which it has settled: its windows are
    /// empty and its timers (`for`, `keep_firing_for`) have run out, so later ticks without
    /// events could only repeat reminders (see `run_missed_ticks`).
    pub(super) settle_ms: Millis,
}

/// Per-event memo of shared filters and group hashes, reused across events so the hot path
/// does not allocate.
#[derive(Default)]
struct Scratch {
    /// Rule index whose `when` stands for each distinct filter.
    when_rule: Vec<usize>,
    /// Whether the event passes each distinct filter, evaluated up front: every rule is
    /// visited on every event, so every filter is needed (a memo checked per rule cost
    /// more than the filters). One more entry, always true, stands for "no `when`".
    when_value: Vec<bool>,
    /// For each distinct `group_by` list, the `when_value` index of each member.
    member_when: Vec<Vec<usize>>,
    /// Rule index whose `group_by` stands for each distinct list.
    group_rule: Vec<usize>,
    /// The rules of each distinct list, in member order.
    group_members: Vec<Vec<usize>>,
    /// What a group of each distinct list holds.
    group_shape: Vec<GroupShape>,
    /// The bin width of each distinct list's lane (that of its first counting rule).
    lane_bin_ms: Vec<Millis>,
    /// The rule index of each transition this event produced, to restore rule order.
    out_rules: Vec<u32>,
    /// Rule index whose `value:` stands for each distinct one.
    value_rule: Vec<usize>,
    /// The observation of each distinct `value:` for this event and its sketch bucket
    /// (rules with one `value:` have windows of one aggregation), once computed.
    value_memo: Vec<Option<(Observation, Option<i32>)>>,
}

/// The ingest state of one input partition: it moves with the partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionState {
    pub clock: Option<Millis>,
    pub dedup: Dedup,
    pub attribution: Attribution,
    pub signals: SignalEngine,
    /// Changed since the last checkpoint.
    #[serde(skip)]
    pub dirty: bool,
    /// Log bounds (dedup, attribution) the last checkpoint stored, if any.
    #[serde(skip)]
    pub logged: Option<((u64, u64), (u64, u64))>,
}

/// A window forgotten in a partition: (partition, rule index, labels).
type Forgotten = (PartitionId, u32, Labels);

/// The rule engine. Pure: time comes from events and [`Engine::advance_to`].
pub struct Engine {
    rules: Arc<RuleSet>,
    compiled: Vec<Compiled>,
    needs: SignalSet,
    config: EngineConfig,
    partitions: BTreeMap<PartitionId, PartitionState>,
    series: Groups,
    clock: Option<Millis>,
    next_tick: Millis,
    last_forget: Millis,
    stats: EngineStats,
    scratch: Scratch,
    /// Windows forgotten since the last checkpoint (partition, rule, labels), so an
    /// incremental checkpoint can delete them; only kept once a checkpointing caller asks.
    removed: Option<Vec<Forgotten>>,
    /// Stored windows of rules no longer loaded, met while restoring: (partition, rule
    /// name, labels), for the next checkpoint to delete (kept only when `removed` is).
    discarded: Vec<(PartitionId, String, Vec<String>)>,
    /// The longest `Compiled::settle_ms`: after that much event time without events, every
    /// series has settled.
    settle_ms: Millis,
    /// Counting members go through their group's lane (`lane.rs`); off only to check that
    /// lanes change nothing.
    lanes: bool,
}

impl Engine {
    pub fn new(rules: Arc<RuleSet>, config: EngineConfig) -> Self {
        let mut scratch = Scratch::default();
        let mut compiled: Vec<Compiled> = rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let when_slot = r.when_src.as_ref().map(|src| {
                    let same = scratch.when_rule.iter().position(|&j| rules.rules[j].when_src.as_ref() == Some(src));
                    same.unwrap_or_else(|| {
                        scratch.when_rule.push(i);
                        scratch.when_rule.len() - 1
                    })
                });
                let group_slot = scratch.group_rule.iter().position(|&j| rules.rules[j].group_by == r.group_by).unwrap_or_else(|| {
                    scratch.group_rule.push(i);
                    scratch.group_members.push(Vec::new());
                    scratch.group_rule.len() - 1
                });
                let value_slot = scratch.value_rule.iter().position(|&j| rules.rules[j].value.src == r.value.src).unwrap_or_else(|| {
                    scratch.value_rule.push(i);
                    scratch.value_rule.len() - 1
                });
                let member = scratch.group_members[group_slot].len();
                scratch.group_members[group_slot].push(i);
                Compiled {
                    timing: Timing {
                        for_ms: r.for_.as_millis(),
                        keep_firing_for_ms: r.keep_firing_for.as_millis(),
                        repeat_interval_ms: r.repeat_interval.map(|d| d.as_millis()),
                    },
                    is_absent: matches!(r.window.agg, AggKind::Absent),
                    samples_hits_only: is_hit_based(&r.window.agg),
                    when_slot,
                    group_slot,
                    value_slot,
                    sample_spacing_ms: r.window.bin_ms / config.samples.max(1) as Millis,
                    member,
                    lane: false,
                    settle_ms: r
                        .window
                        .keep_ms()
                        .saturating_add(r.window.bin_ms)
                        .saturating_add(r.for_.as_millis())
                        .saturating_add(r.keep_firing_for.as_millis())
                        .saturating_add(2 * config.tick.as_millis().max(1)),
                }
            })
            .collect();
        // Each list's lane serves its counting rules of one bin width (its first one's).
        for members in &scratch.group_members {
            let lane_bin = members.iter().map(|&i| &rules.rules[i].window).find(|w| is_counting(&w.agg)).map_or(0, |w| w.bin_ms);
            let mut lane = false;
            for (m, &i) in members.iter().enumerate() {
                let w = &rules.rules[i].window;
                compiled[i].lane = is_counting(&w.agg) && w.bin_ms == lane_bin && m < MAX_MEMBERS && members.len() <= MAX_MEMBERS;
                lane |= compiled[i].lane;
            }
            scratch.group_shape.push(GroupShape { members: members.len(), lane });
            scratch.lane_bin_ms.push(lane_bin.max(1));
        }
        scratch.when_value = vec![true; scratch.when_rule.len() + 1];
        let always = scratch.when_rule.len();
        scratch.member_when = scratch.group_members.iter().map(|m| m.iter().map(|&i| compiled[i].when_slot.unwrap_or(always)).collect()).collect();
        scratch.value_memo = vec![None; scratch.value_rule.len()];
        let settle_ms = compiled.iter().map(|c: &Compiled| c.settle_ms).max().unwrap_or(0);
        Engine {
            needs: rules.signals(),
            compiled,
            partitions: BTreeMap::new(),
            series: Groups::default(),
            clock: None,
            next_tick: 0,
            last_forget: 0,
            stats: EngineStats::default(),
            scratch,
            removed: None,
            discarded: Vec::new(),
            settle_ms,
            lanes: true,
            rules,
            config,
        }
    }

    /// Turns the groups' lanes off or on (see `eval/lane.rs`). They change no result, only
    /// speed: this is for tests and benchmarks that show both.
    #[doc(hidden)]
    pub fn set_lanes(&mut self, on: bool) {
        self.series.flush_lanes();
        self.lanes = on;
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// The newest event time seen in any partition (or advanced to): evaluation time.
    pub fn clock(&self) -> Option<Millis> {
        self.clock
    }

    pub fn series_count(&self) -> usize {
        self.series.series_count()
    }

    /// Approximate bytes held by series (windows, labels, samples).
    pub fn series_memory_bytes(&self) -> usize {
        self.series.memory_bytes()
    }

    /// The alerts pending or firing now, by rule and group: what a replay leaves open.
    pub fn active_alerts(&self) -> Vec<ActiveAlert> {
        let mut active: Vec<ActiveAlert> = self
            .series
            .iter()
            .filter_map(|s| {
                let (state, since) = match s.phase {
                    Phase::Inactive => return None,
                    Phase::Pending { since } => (AlertState::Pending, since),
                    Phase::Firing { since, .. } => (AlertState::Firing, since),
                };
                let rule = &self.rules.rules[s.rule as usize];
                let group = rule.group_labels.iter().cloned().zip(s.labels.iter().map(|l| l.to_string())).collect();
                Some(ActiveAlert { rule: rule.name.clone(), group, state, since_ms: since })
            })
            .collect();
        active.sort_by(|a, b| (&a.rule, &a.group).cmp(&(&b.rule, &b.group)));
        active
    }

    fn partition(&mut self, p: PartitionId) -> &mut PartitionState {
        let config = &self.config;
        // An id must be remembered at least as long as a repeat of it could still be
        // admitted (not late): with lateness beyond the dedup horizon, a repeat was counted.
        let dedup = DedupConfig { horizon: config.dedup.horizon.max(config.allowed_lateness), ..config.dedup };
        self.partitions.entry(p).or_insert_with(|| PartitionState {
            clock: None,
            dedup: Dedup::new(dedup),
            attribution: Attribution::new(config.attribution),
            signals: SignalEngine::new(config.signals.clone()),
            dirty: true,
            logged: None,
        })
    }

    /// Feeds one event of the single-stream case (replay, rule tests): partition 0.
    pub fn process(&mut self, event: Event, out: &mut Vec<Transition>) -> Admission {
        self.process_from(0, event, out)
    }

    /// Feeds one event from `partition`; transitions it causes are appended to `out`.
    pub fn process_from(&mut self, partition: PartitionId, mut event: Event, out: &mut Vec<Transition>) -> Admission {
        let t = event.time_ms;
        let lateness = self.config.allowed_lateness.as_millis();
        let needs = self.needs;
        let part = self.partition(partition);
        if let Some(clock) = part.clock
            && t < clock - lateness
        {
            self.stats.late += 1;
            return Admission::Late;
        }
        if !part.dedup.first_sighting(&event.id, t, part.clock.unwrap_or(t).max(t)) {
            self.stats.duplicates += 1;
            return Admission::Duplicate;
        }
        part.dirty = true;
        let behind = part.clock;
        part.clock = Some(part.clock.map_or(t, |c| c.max(t)));
        let part_now = part.clock.unwrap_or(t);
        part.attribution.apply(&mut event, part_now);
        let signals = part.signals.compute(&event, needs);

        let tick = self.config.tick.as_millis().max(1);
        let ticked = self.next_tick;
        // Ticks before this event run first; the tick at its very time runs after it (and
        // after every other event stamped then), so it counts them: a heartbeat exactly on
        // the minute must not look absent at that minute.
        self.run_ticks(t, t.saturating_sub(1), out);
        // This partition, consumed behind another, crossed ticks the engine already ran:
        // its series evaluate them now, before this event counts.
        if let Some(c0) = behind
            && next_boundary(c0, tick) < t
            && next_boundary(c0, tick) < ticked
        {
            self.catch_up(Some(partition), t.saturating_sub(1), out);
        }
        let now = self.clock.unwrap_or(t);
        self.stats.accepted += 1;
        // A series fed by this partition alone (nearly all) is evaluated at the partition's
        // clock, and ticks up to `upto_alone` are due for it first; one at the event's own
        // time waits for it, as for the engine's ticks.
        let at_alone = part_now.min(now);
        let upto_alone = if t == at_alone { at_alone - 1 } else { at_alone };

        let rec = Record::new(&event, &signals);
        // Built when the first series keeps this event as a sample.
        let mut sample: Option<Arc<str>> = None;
        let pack = || pack_sample(&event.id, event.output.as_deref().or(event.comment.as_deref()).or(event.input.as_deref()));
        let rules = self.rules.clone();
        let scratch = &mut self.scratch;
        for (slot, &r) in scratch.when_rule.iter().enumerate() {
            scratch.when_value[slot] = rules.rules[r].when.as_ref().is_none_or(|w| w.eval(&rec).is_true());
        }
        scratch.value_memo.iter_mut().for_each(|v| *v = None);
        let first = out.len();
        scratch.out_rules.clear();
        // Group by group: one table probe per `group_by` list, then its member series, which
        // sit side by side. Transitions are put back in rule order below.
        for slot in 0..scratch.group_members.len() {
            let (members, member_when, when_value) = (&scratch.group_members[slot], &scratch.member_when[slot], &scratch.when_value);
            let wanted = member_when.iter().filter(|&&w| when_value[w]).count();
            if wanted == 0 {
                continue;
            }
            let group_by = &rules.rules[members[0]].group_by;
            let key = event_key(slot as u32, group_by, &rec);
            let g = match self.series.find(slot as u32, &key, group_by, &rec) {
                Some(g) => g,
                None if self.series.series_count() >= self.config.max_series => {
                    self.stats.series_overflow += wanted as u64;
                    continue;
                }
                None => self.series.insert_from_event(slot as u32, &key, group_by, &rec, scratch.group_shape[slot]),
            };
            let (group_series, labels, series_count, lane) = self.series.members_mut(g);
            // The lane serves this event's counting members when the event falls in the bin
            // its evaluation time does (nearly always); see `lane.rs`.
            let lane_on = self.lanes && !lane.is_empty();
            let lane_bin_ms = scratch.lane_bin_ms[slot];
            let bin = bin_start(at_alone, lane_bin_ms);
            if lane_on {
                lane.prepare(partition, bin, upto_alone, group_series);
            }
            let in_lane_bin = lane_on && t >= bin && t - bin < lane_bin_ms;
            for ((&i, &w), (m, slot_series)) in members.iter().zip(member_when).zip(group_series.iter_mut().enumerate()) {
                if !when_value[w] {
                    continue;
                }
                let (rule, c) = (&rules.rules[i], &self.compiled[i]);
                if c.lane && lane_on {
                    let active = lane.is_active(m);
                    if let Some(lm) = lane.valid_member(m) {
                        if in_lane_bin && lm.has_room() {
                            // The lane's path: what the series' short path below computes,
                            // from the lane's counts; the series is read only when a sample
                            // is due or the alert may step.
                            // The memo the series' path below reads too; written out twice
                            // because a shared helper compiled to 150 more instructions per event.
                            let (obs, _) = *scratch.value_memo[c.value_slot].get_or_insert_with(|| {
                                let obs = rule.value.observe(&rec);
                                (obs, sketch_key(&rule.window, &obs))
                            });
                            lm.add(t, obs.hit);
                            let (count, hits) = (lm.count(), lm.hits());
                            if (!c.samples_hits_only || obs.hit) && self.config.samples > 0 && t >= lm.next_sample_ms {
                                let series = slot_series.as_mut().expect("a valid lane member has a series");
                                let id = sample.get_or_insert_with(pack);
                                series.push_sample(t, id.clone(), self.config.samples, c.sample_spacing_ms);
                                series.alert_dirty = true;
                                lm.next_sample_ms = series.next_sample_ms();
                            }
                            if !active && count < rule.min_events {
                                continue;
                            }
                            let value = counting_value(&rule.window.agg, count, hits);
                            // One condition, not a `holds` binding tested with `active`: that
                            // compiled to 260 more instructions per event.
                            if !(active || count >= rule.min_events && value.is_some_and(|v| rule.condition.holds(v))) {
                                continue;
                            }
                            // The alert may step: its series gets the lane's events first.
                            let series = slot_series.as_mut().expect("a valid lane member has a series");
                            lane.write_back(m, series);
                            let before = out.len();
                            if let Some(tr) = step(rule, c, series, at_alone, Evaluation { value, events: count, baseline_events: None }) {
                                out.push(tr);
                            }
                            lane.set_active(m, series.phase.is_active());
                            if out.len() > before {
                                scratch.out_rules.resize(scratch.out_rules.len() + out.len() - before, i as u32);
                            }
                            continue;
                        }
                        lane.release(m, slot_series.as_mut().expect("a valid lane member has a series"));
                    }
                }
                let series = match slot_series {
                    Some(series) => series,
                    empty => {
                        if *series_count >= self.config.max_series {
                            self.stats.series_overflow += 1;
                            continue;
                        }
                        *series_count += 1;
                        empty.insert(Series::new(i as u32, labels.clone(), part_now, next_boundary(part_now, tick)))
                    }
                };
                let before = out.len();
                let (obs, key) = *scratch.value_memo[c.value_slot].get_or_insert_with(|| {
                    let obs = rule.value.observe(&rec);
                    (obs, sketch_key(&rule.window, &obs))
                });
                // Two whole branches, not one path with `if alone` inside: the shared form
                // compiled to ~370 more instructions per event.
                let ev = if series.parts.fed_only_by(partition) {
                    // Fed by this partition alone (nearly always): the series' watermark is its clock.
                    catch_up_series(rule, c, series, upto_alone, tick, out);
                    let gate = value_gate(rule, series);
                    let part = series.part_mut(partition, part_now);
                    part.dirty = true;
                    (at_alone, part.window.add_and_evaluate(&rule.window, t, obs, key, at_alone, gate))
                } else {
                    let at = watermark(series, &self.partitions, part_now).min(part_now).min(now);
                    catch_up_series(rule, c, series, if t == at { at - 1 } else { at }, tick, out);
                    let gate = value_gate(rule, series);
                    let part = series.part_mut(partition, part_now);
                    part.dirty = true;
                    part.window.add(&rule.window, t, obs);
                    (at, series.evaluate(&rule.window, at, gate))
                };
                if (!c.samples_hits_only || obs.hit) && series.wants_sample(t, self.config.samples) {
                    let id = sample.get_or_insert_with(pack);
                    series.push_sample(t, id.clone(), self.config.samples, c.sample_spacing_ms);
                    series.alert_dirty = true;
                }
                if let Some(tr) = step(rule, c, series, ev.0, ev.1) {
                    out.push(tr);
                }
                if out.len() > before {
                    scratch.out_rules.resize(scratch.out_rules.len() + out.len() - before, i as u32);
                }
                if c.lane && lane_on {
                    lane.adopt(m, series, partition);
                }
            }
        }
        self.stats.transitions += (out.len() - first) as u64;
        in_rule_order(&mut out[first..], &scratch.out_rules);
        Admission::Accepted
    }

    /// Moves event time forward to `now` for every partition (time passes without traffic:
    /// the end of a replay, the wall clock of a caught-up daemon), evaluating every series
    /// on each tick boundary passed, so `absent()` fires and alerts resolve.
    pub fn advance_to(&mut self, now: Millis, out: &mut Vec<Transition>) {
        let tick = self.config.tick.as_millis().max(1);
        let mut behind = false;
        for p in self.partitions.values_mut() {
            if p.clock.is_none_or(|c| c < now) {
                behind |= p.clock.is_some_and(|c| next_boundary(c, tick) < self.next_tick);
                p.clock = Some(now);
                p.dirty = true;
            }
        }
        self.run_ticks(now, now, out);
        if behind {
            self.catch_up(None, Millis::MAX, out);
        }
    }

    /// Evaluates every series (fed by `partition`, or all) at the ticks the engine already
    /// ran but the series missed because a partition feeding it had not reached them yet;
    /// none after `limit`.
    fn catch_up(&mut self, partition: Option<PartitionId>, limit: Millis, out: &mut Vec<Transition>) {
        self.series.flush_lanes();
        let tick = self.config.tick.as_millis().max(1);
        let ran = (self.next_tick - tick).min(limit);
        let before = out.len();
        for series in self.series.iter_mut() {
            if partition.is_some_and(|p| !series.parts.iter().any(|x| x.partition == p)) || series.next_tick > ran {
                continue;
            }
            let upto = watermark(series, &self.partitions, ran).min(ran);
            let i = series.rule as usize;
            catch_up_series(&self.rules.rules[i], &self.compiled[i], series, upto, tick, out);
        }
        sort_instant(&mut out[before..]);
        self.stats.transitions += (out.len() - before) as u64;
    }

    /// Moves the clock to `now`, running the engine's ticks up to `upto` first.
    fn run_ticks(&mut self, now: Millis, upto: Millis, out: &mut Vec<Transition>) {
        let tick = self.config.tick.as_millis().max(1);
        let Some(clock) = self.clock else {
            self.start(now, tick);
            return;
        };
        if now <= clock {
            return;
        }
        // Over a long gap in event time, once every series has settled, the ticks in between
        // change nothing: jump to the last one (each series catches up on what it still
        // needed, see `run_missed_ticks`). A gap of years would otherwise run every tick.
        let settled = clock.saturating_add(self.settle_ms);
        while self.next_tick <= upto {
            self.next_tick = skip_settled(self.next_tick, settled, upto, tick);
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
                self.series_entry(i as u32, &[], now);
            }
        }
    }

    fn tick(&mut self, at: Millis, out: &mut Vec<Transition>) {
        self.series.flush_lanes();
        let rules = self.rules.clone();
        let tick = self.config.tick.as_millis().max(1);
        let before = out.len();
        for series in self.series.iter_mut() {
            // A series fed by a partition that has not reached this time yet waits for it;
            // once the partition gets there, the series evaluates the ticks it missed.
            if watermark(series, &self.partitions, at) < at {
                continue;
            }
            let i = series.rule as usize;
            catch_up_series(&rules.rules[i], &self.compiled[i], series, at, tick, out);
        }
        sort_instant(&mut out[before..]);
        self.stats.transitions += (out.len() - before) as u64;
        // Forgetting is housekeeping: once a minute of event time is plenty.
        if at - self.last_forget >= 60_000 {
            self.last_forget = at;
            self.forget_idle(at);
        }
    }

    /// Drops partition windows that hold no event any evaluation could still see, and
    /// series left with no window and no active alert: their next event recreates them
    /// with identical results. Absent-type and global series are kept: their silence is
    /// the signal.
    fn forget_idle(&mut self, now: Millis) {
        let rules = &self.rules.rules;
        let compiled = &self.compiled;
        let partitions = &self.partitions;
        let removed = &mut self.removed;
        self.series.retain(|s| {
            let i = s.rule as usize;
            let rule = &rules[i];
            if compiled[i].is_absent {
                return true;
            }
            let span = rule.window.window_ms * if rule.value.is_change() { 2 } else { 1 } + rule.window.bin_ms;
            // Judged in the series' own time: a partition behind the others keeps its windows.
            let now = watermark(s, partitions, now).min(now);
            let count = s.parts.len();
            s.parts.retain(|p| {
                let keep = p.window.last_event_ms().is_some_and(|last| now - last <= span);
                if !keep && let Some(r) = removed.as_mut() {
                    r.push((p.partition, s.rule, s.labels.clone()));
                }
                keep
            });
            if s.parts.len() != count {
                s.touch_all();
            }
            !s.parts.is_empty() || s.phase.is_active() || rule.group_by.is_empty()
        });
    }

    /// Forgets a partition (revoked): its ingest state and its share of every window.
    /// A series this partition alone fed goes with it, alert included (the partition's
    /// snapshot carries that alert): its next owner evaluates it, not this engine.
    pub fn drop_partition(&mut self, partition: PartitionId) {
        self.series.flush_lanes();
        self.partitions.remove(&partition);
        self.discarded.retain(|(p, ..)| *p != partition);
        if let Some(r) = self.removed.as_mut() {
            r.retain(|(p, ..)| *p != partition);
        }
        let rules = &self.rules.rules;
        let compiled = &self.compiled;
        self.series.retain(|s| {
            let i = s.rule as usize;
            if s.owner() == Some(partition) && !rules[i].group_by.is_empty() {
                return false;
            }
            let count = s.parts.len();
            s.parts.retain(|p| p.partition != partition);
            if s.parts.len() != count {
                s.touch_all();
            }
            !s.parts.is_empty() || s.phase.is_active() || compiled[i].is_absent || rules[i].group_by.is_empty()
        });
    }

    /// From now on, remember forgotten windows until [`Engine::take_removed`], so
    /// incremental checkpoints can delete them.
    pub fn track_removed(&mut self) {
        self.removed.get_or_insert_with(Vec::new);
    }

    /// Notes a stored window of a rule no longer loaded, so a checkpoint deletes it.
    pub(super) fn discard_stored(&mut self, partition: PartitionId, rule: String, labels: Vec<String>) {
        if self.removed.is_some() {
            self.discarded.push((partition, rule, labels));
        }
    }

    /// The stored windows of `partition` to delete because their rule is gone.
    pub(super) fn take_discarded(&mut self, partition: PartitionId) -> Vec<(String, Vec<String>)> {
        let (mine, rest) = std::mem::take(&mut self.discarded).into_iter().partition(|(p, ..)| *p == partition);
        self.discarded = rest;
        mine.into_iter().map(|(_, rule, labels)| (rule, labels)).collect()
    }

    /// The windows forgotten in `partition` since the last call, as (rule index, labels).
    pub(super) fn take_removed(&mut self, partition: PartitionId) -> Vec<(u32, Labels)> {
        let Some(r) = self.removed.as_mut() else { return Vec::new() };
        let mut out = Vec::new();
        r.retain(|(p, rule, labels)| {
            if *p == partition {
                out.push((*rule, labels.clone()));
            }
            *p != partition
        });
        out
    }

    pub(super) fn partition_state(&self, p: PartitionId) -> Option<&PartitionState> {
        self.partitions.get(&p)
    }

    /// A restored partition's state, under the engine's current signal settings.
    pub(super) fn set_partition_state(&mut self, p: PartitionId, mut state: PartitionState) {
        state.signals.reconfigure(self.config.signals.clone());
        self.partitions.insert(p, state);
    }

    /// Writes what the groups' lanes hold to their series' windows (see `lane.rs`).
    pub(super) fn flush_lanes(&mut self) {
        self.series.flush_lanes();
    }

    /// Every series, for reading its alert and evidence, which lanes never hold back; a
    /// reader of windows takes [`Engine::series_iter_mut`], which flushes them.
    pub(super) fn series_iter(&self) -> impl Iterator<Item = &Series> {
        self.series.iter()
    }

    pub(super) fn series_iter_mut(&mut self) -> impl Iterator<Item = &mut Series> {
        self.series.flush_lanes();
        self.series.iter_mut()
    }

    pub(super) fn partition_state_mut(&mut self, p: PartitionId) -> Option<&mut PartitionState> {
        self.partitions.get_mut(&p)
    }

    /// Event time between two samples of a series of rule `rule` once its evidence ring
    /// is full (see [`Series::push_sample`]).
    pub(super) fn sample_spacing_ms(&self, rule: usize) -> Millis {
        self.compiled[rule].sample_spacing_ms
    }

    /// The first tick boundary after `t`.
    pub(super) fn next_tick_after(&self, t: Millis) -> Millis {
        next_boundary(t, self.config.tick.as_millis().max(1))
    }

    pub(super) fn schedule(&self) -> (Option<Millis>, Millis) {
        (self.clock, self.next_tick)
    }

    pub(super) fn set_schedule(&mut self, clock: Option<Millis>, next_tick: Millis) {
        self.clock = clock;
        self.next_tick = next_tick;
    }

    /// The series of `rule` with these labels, created when missing.
    pub(super) fn series_entry(&mut self, rule: u32, labels: &[String], created_ms: Millis) -> &mut Series {
        let c = &self.compiled[rule as usize];
        let (member, slot) = (c.member, c.group_slot);
        self.series.flush_lanes();
        let g = self.series.entry_for_labels(slot as u32, labels, self.scratch.group_shape[slot]);
        if self.series.series_mut(g, member).is_some() {
            return self.series.series_mut(g, member).expect("just checked");
        }
        // Not `members_mut`, which marks the lanes used: restoring calls this per window,
        // and each call would then scan every group to flush them.
        let labels = self.series.labels(g).clone();
        self.series.insert_series(g, member, Series::new(rule, labels, created_ms, self.next_tick))
    }

    /// The partitions this engine holds state for.
    pub fn partitions(&self) -> impl Iterator<Item = (PartitionId, &PartitionState)> {
        self.partitions.iter().map(|(p, s)| (*p, s))
    }
}

fn is_hit_based(kind: &AggKind) -> bool {
    match kind {
        AggKind::Ratio | AggKind::WilsonLower => true,
        AggKind::Change(inner) => is_hit_based(inner),
        _ => false,
    }
}

/// Puts the transitions of one event (produced group by group) back in rule order,
/// keeping the order within a rule; `rules[k]` is the rule index of `out[k]`.
fn in_rule_order(out: &mut [Transition], rules: &[u32]) {
    if rules.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&k| rules[k]);
    let sorted: Vec<Transition> = order.iter().map(|&k| out[k].clone()).collect();
    out.clone_from_slice(&sorted);
}

/// Ticks visit series in table order; transitions are sorted by time, rule and group so
/// output is deterministic.
fn sort_instant(out: &mut [Transition]) {
    out.sort_by(|a, b| (a.at_ms, &a.rule, &a.group).cmp(&(b.at_ms, &b.rule, &b.group)));
}
