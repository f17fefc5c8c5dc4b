//! Evaluating a series over time: at the ticks it is due (catching up on the ones it missed,
//! skipping those a settled series cannot change), and stepping its alert with what an
//! evaluation gives. Shared by the per-event path and the engine's ticks.

use std::collections::BTreeMap;

use super::Transition;
use super::alert::Phase;
use super::engine::{Compiled, PartitionState};
use super::series::{PartitionId, Series};
use crate::rules::Rule;
use crate::time::Millis;
use crate::window::Evaluation;

/// The event time up to which every partition feeding the series has delivered (the
/// oldest of their clocks): a series is evaluated there, so a partition consumed later
/// than another — a backlog, a rebuild — never sees its windows judged before its events
/// arrived. With one partition this is simply the newest event time.
pub(super) fn watermark(series: &Series, partitions: &BTreeMap<PartitionId, PartitionState>, fallback: Millis) -> Millis {
    series.parts.iter().filter_map(|p| partitions.get(&p.partition).and_then(|s| s.clock)).min().unwrap_or(fallback)
}

/// The first tick boundary after `t`.
pub(super) fn next_boundary(t: Millis, tick: Millis) -> Millis {
    (t.div_euclid(tick) + 1) * tick
}

/// Evaluates a series at every tick boundary up to `upto` it has not been evaluated at.
#[inline(always)]
pub(super) fn catch_up_series(rule: &Rule, c: &Compiled, series: &mut Series, upto: Millis, tick: Millis, out: &mut Vec<Transition>) {
    // Nearly always up to date: the check is inline, the catching up is not.
    if series.next_tick <= upto {
        run_missed_ticks(rule, c, series, upto, tick, out);
    }
}

/// Once the series has settled (`Compiled::settle_ms` after its last event), the ticks up
/// to `upto` can only repeat reminders; the others are skipped, so a gap of years in event
/// time costs a few evaluations, not one per tick. The ticks a reminder falls due at still
/// run, as they would for a daemon whose clock passes them one by one.
#[inline(never)]
fn run_missed_ticks(rule: &Rule, c: &Compiled, series: &mut Series, upto: Millis, tick: Millis, out: &mut Vec<Transition>) {
    // Reminders sent in the loop do not unsettle the series: only reminders can follow them.
    let settled = series.last_activity_ms().saturating_add(c.settle_ms);
    while series.next_tick <= upto {
        let mut next = skip_settled(series.next_tick, settled, upto, tick);
        if let Some(due) = series.phase.next_reminder_ms(c.timing) {
            // The first tick at or after `due`.
            next = next.min(next_boundary(due.saturating_sub(1), tick).max(series.next_tick));
        }
        series.next_tick = next;
        let at = series.next_tick;
        series.next_tick += tick;
        if let Some(tr) = evaluate(rule, c, series, at) {
            out.push(tr);
        }
    }
}

/// The next tick to run: `next` itself, or once past `settled` (nothing but reminders can
/// happen any more) the last tick boundary at or before `upto`.
#[inline]
pub(super) fn skip_settled(next: Millis, settled: Millis, upto: Millis, tick: Millis) -> Millis {
    if next > settled { next.max(upto - upto.rem_euclid(tick)) } else { next }
}

/// Evaluates one series at `now` and steps its alert.
fn evaluate(rule: &Rule, c: &Compiled, series: &mut Series, now: Millis) -> Option<Transition> {
    let ev = series.evaluate(&rule.window, now, value_gate(rule, series));
    step(rule, c, series, now, ev)
}

/// The event count below which a series' value need not be computed: an inactive alert
/// with fewer than `min_events` cannot change state; an active one needs its value for the
/// transition record even then.
#[inline]
pub(super) fn value_gate(rule: &Rule, series: &Series) -> u64 {
    if series.phase.is_active() { 0 } else { rule.min_events }
}

/// Steps the alert of a series evaluated at `now` to `ev`.
#[inline(always)]
pub(super) fn step(rule: &Rule, c: &Compiled, series: &mut Series, now: Millis, ev: Evaluation) -> Option<Transition> {
    let holds = ev.events >= rule.min_events && ev.baseline_events.is_none_or(|b| b >= rule.min_events) && ev.value.is_some_and(|v| rule.condition.holds(v));
    if !holds && series.phase == Phase::Inactive {
        // Nearly every (rule, event): nothing to step, and no copy of the phase to compare.
        return None;
    }
    let before = series.phase;
    let step = series.phase.step(now, holds, c.timing);
    // Some changes emit nothing (a firing alert's condition stops holding while
    // `keep_firing_for` runs, or holds again): they must reach the checkpoint all the same.
    if series.phase != before {
        series.alert_dirty = true;
    }
    Some(transition(rule, series, now, ev, step?))
}

/// The record of a transition (rare: kept out of the per-event path).
#[cold]
#[inline(never)]
fn transition(rule: &Rule, series: &mut Series, now: Millis, ev: Evaluation, step: super::alert::Step) -> Transition {
    series.alert_dirty = true;
    Transition {
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
    }
}
