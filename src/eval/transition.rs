//! Alert transitions: what the engine emits, replay prints and notifications send.

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// The state an alert moved into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, `for` has not elapsed yet.
    Pending,
    /// Firing (also emitted as a reminder every `repeat_interval`).
    Firing,
    /// Was firing; the condition has not held for `keep_firing_for`.
    Resolved,
    /// Was pending; the condition stopped holding before `for` elapsed.
    Inactive,
}

impl AlertState {
    /// Whether this transition is one a person is told about.
    pub fn is_notifiable(self) -> bool {
        matches!(self, AlertState::Firing | AlertState::Resolved)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
            AlertState::Inactive => "inactive",
        }
    }
}

/// One alert transition: rule, group labels, new state, when, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub rule: String,
    /// The `group_by` labels and their values (in `group_by` order).
    pub group: Vec<(String, String)>,
    pub state: AlertState,
    /// Event time of the transition.
    pub at_ms: Millis,
    /// The aggregate at that time (`None` when undefined, e.g. an empty window).
    pub value: Option<f64>,
    pub threshold: f64,
    /// Events in the window at that time.
    pub events: u64,
    /// A few ids of recent events in the window, as evidence.
    pub samples: Vec<String>,
    /// Set on reminders (`repeat_interval`) of an alert already firing.
    pub reminder: bool,
    /// When the alert first fired (for firing, reminders and resolved).
    pub firing_since_ms: Option<Millis>,
}
