//! The alert state machine of one (rule, group): inactive → pending → firing → resolved,
//! with `for`, `keep_firing_for` and `repeat_interval` (rules.md, "Semantics").

use serde::{Deserialize, Serialize};

use super::AlertState;
use crate::time::Millis;

/// Timing settings of a rule that drive the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub for_ms: Millis,
    pub keep_firing_for_ms: Millis,
    pub repeat_interval_ms: Option<Millis>,
}

/// Where an alert is. Serializable so checkpoints carry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    #[default]
    Inactive,
    Pending {
        since: Millis,
    },
    Firing {
        since: Millis,
        /// Last time a firing transition (first or reminder) was emitted.
        last_sent: Millis,
        /// When the condition stopped holding, while `keep_firing_for` runs.
        cleared_since: Option<Millis>,
    },
}

/// What a step produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub state: AlertState,
    pub reminder: bool,
    pub firing_since: Option<Millis>,
}

impl Phase {
    pub fn is_active(&self) -> bool {
        !matches!(self, Phase::Inactive)
    }

    /// The newest time the phase records (its start, last reminder, clearing), if any.
    pub fn latest_ms(&self) -> Option<Millis> {
        match *self {
            Phase::Inactive => None,
            Phase::Pending { since } => Some(since),
            Phase::Firing { since, last_sent, cleared_since } => Some(since.max(last_sent).max(cleared_since.unwrap_or(since))),
        }
    }

    /// When a firing alert's next reminder is due, if it has one.
    pub fn next_reminder_ms(&self, t: Timing) -> Option<Millis> {
        match (*self, t.repeat_interval_ms) {
            (Phase::Firing { last_sent, .. }, Some(r)) => Some(last_sent.saturating_add(r)),
            _ => None,
        }
    }

    pub fn firing_since(&self) -> Option<Millis> {
        match self {
            Phase::Firing { since, .. } => Some(*since),
            _ => None,
        }
    }

    /// Advances the machine given whether the condition holds at `now`.
    #[inline]
    pub fn step(&mut self, now: Millis, holds: bool, t: Timing) -> Option<Step> {
        let emit = |state, reminder, firing_since| Some(Step { state, reminder, firing_since });
        match *self {
            Phase::Inactive if holds => {
                if t.for_ms == 0 {
                    *self = Phase::Firing { since: now, last_sent: now, cleared_since: None };
                    emit(AlertState::Firing, false, Some(now))
                } else {
                    *self = Phase::Pending { since: now };
                    emit(AlertState::Pending, false, None)
                }
            }
            Phase::Inactive => None,
            Phase::Pending { since } if holds => {
                if now - since >= t.for_ms {
                    *self = Phase::Firing { since: now, last_sent: now, cleared_since: None };
                    emit(AlertState::Firing, false, Some(now))
                } else {
                    None
                }
            }
            Phase::Pending { .. } => {
                *self = Phase::Inactive;
                emit(AlertState::Inactive, false, None)
            }
            Phase::Firing { since, last_sent, .. } if holds => {
                let due = t.repeat_interval_ms.is_some_and(|r| now - last_sent >= r);
                *self = Phase::Firing { since, last_sent: if due { now } else { last_sent }, cleared_since: None };
                if due { emit(AlertState::Firing, true, Some(since)) } else { None }
            }
            Phase::Firing { since, last_sent, cleared_since } => {
                let cleared = cleared_since.unwrap_or(now);
                if now - cleared >= t.keep_firing_for_ms {
                    *self = Phase::Inactive;
                    emit(AlertState::Resolved, false, Some(since))
                } else {
                    // Still firing while `keep_firing_for` runs, so reminders stay due.
                    let due = t.repeat_interval_ms.is_some_and(|r| now - last_sent >= r);
                    *self = Phase::Firing { since, last_sent: if due { now } else { last_sent }, cleared_since: Some(cleared) };
                    if due { emit(AlertState::Firing, true, Some(since)) } else { None }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(for_ms: Millis, keep: Millis, repeat: Option<Millis>) -> Timing {
        Timing { for_ms, keep_firing_for_ms: keep, repeat_interval_ms: repeat }
    }

    /// Runs a sequence of (time, holds) and returns the emitted (time, state, reminder).
    fn run(t: Timing, steps: &[(Millis, bool)]) -> Vec<(Millis, &'static str, bool)> {
        let mut p = Phase::Inactive;
        steps
            .iter()
            .filter_map(|&(now, holds)| p.step(now, holds, t).map(|s| (now, s.state.as_str(), s.reminder)))
            .collect()
    }

    #[test]
    fn fires_at_once_without_for() {
        assert_eq!(run(timing(0, 0, None), &[(0, false), (10, true), (20, true), (30, false)]), vec![
            (10, "firing", false),
            (30, "resolved", false)
        ]);
    }

    #[test]
    fn pending_until_for_elapses_and_back_to_inactive_when_it_stops_holding() {
        let t = timing(100, 0, None);
        assert_eq!(run(t, &[(0, true), (50, true), (99, true), (100, true)]), vec![(0, "pending", false), (100, "firing", false)]);
        assert_eq!(run(t, &[(0, true), (50, false), (60, true)]), vec![
            (0, "pending", false),
            (50, "inactive", false),
            (60, "pending", false)
        ]);
    }

    #[test]
    fn reminders_continue_while_keep_firing_for_holds_the_alert() {
        let t = timing(0, 300, Some(100));
        assert_eq!(run(t, &[(0, true), (50, false), (100, false), (150, false), (200, false), (350, false)]), vec![
            (0, "firing", false),
            (100, "firing", true),
            (200, "firing", true),
            (350, "resolved", false)
        ]);
    }

    #[test]
    fn keep_firing_for_bridges_short_gaps() {
        let t = timing(0, 100, None);
        assert_eq!(run(t, &[(0, true), (50, false), (120, true), (130, false), (229, false), (230, false)]), vec![
            (0, "firing", false),
            (230, "resolved", false)
        ]);
    }

    #[test]
    fn repeat_interval_reminds_while_firing() {
        let t = timing(0, 0, Some(100));
        assert_eq!(run(t, &[(0, true), (50, true), (100, true), (150, true), (200, true)]), vec![
            (0, "firing", false),
            (100, "firing", true),
            (200, "firing", true)
        ]);
    }
}
