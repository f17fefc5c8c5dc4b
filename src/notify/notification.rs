//! What the outbox holds: one alert's change, with everything a message needs about its
//! rule copied in, so delivery never depends on the rule files loaded at send time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::eval::{AlertState, Transition};
use crate::rules::Rule;

/// What a message says about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Firing,
    /// Still firing after `repeat_interval`.
    Reminder,
    Resolved,
    /// Changed state too often; further changes are held back until it settles.
    Flapping,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Firing => "firing",
            Kind::Reminder => "reminder",
            Kind::Resolved => "resolved",
            Kind::Flapping => "flapping",
        }
    }

    /// The kind a transition is notified as; `None` for pending/inactive, which nobody is
    /// told about.
    pub fn of(t: &Transition) -> Option<Kind> {
        match t.state {
            AlertState::Firing if t.reminder => Some(Kind::Reminder),
            AlertState::Firing => Some(Kind::Firing),
            AlertState::Resolved => Some(Kind::Resolved),
            AlertState::Pending | AlertState::Inactive => None,
        }
    }
}

/// The rule facts a message shows, copied at staging time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFacts {
    pub severity: String,
    pub description: Option<String>,
    pub business_value: Option<String>,
    /// `> 0.2`
    pub condition: String,
    /// `15m`
    pub window: String,
    pub labels: BTreeMap<String, String>,
    /// Including `runbook`, `summary` and template overrides.
    pub annotations: BTreeMap<String, String>,
}

impl RuleFacts {
    pub fn of(rule: &Rule) -> RuleFacts {
        RuleFacts {
            severity: rule.severity.as_str().to_string(),
            description: rule.description.clone(),
            business_value: rule.business_value.clone(),
            condition: rule.condition.to_string(),
            window: rule.window_duration().to_string(),
            labels: rule.labels.clone(),
            annotations: rule.annotations.clone(),
        }
    }
}

/// One alert change on its way to one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: Kind,
    pub rule: RuleFacts,
    pub transition: Transition,
    /// The state an alert settled in after flapping.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settled: bool,
}

impl Notification {
    /// The alert this is about: rule plus group labels, e.g. `refusal_rate{model=gpt-4o}`.
    pub fn alert_key(&self) -> String {
        alert_key(&self.transition)
    }

    /// Unique per (alert, transition): the same change staged twice has the same key, so a
    /// receiver is never sent it twice.
    pub fn idempotency_key(&self) -> String {
        let t = &self.transition;
        let h = xxhash_rust::xxh3::xxh3_64(format!("{}|{}|{}|{}|{}", self.alert_key(), self.kind.as_str(), t.at_ms, t.state.as_str(), self.settled).as_bytes());
        format!("{h:016x}")
    }

    /// The labels a silence matches: `rule`, `severity`, the group labels and the rule's
    /// static labels.
    pub fn matchable_labels(&self) -> BTreeMap<String, String> {
        let mut m = self.rule.labels.clone();
        m.extend(self.transition.group.iter().cloned());
        m.insert("rule".into(), self.transition.rule.clone());
        m.insert("severity".into(), self.rule.severity.clone());
        m
    }
}

/// `rule{k=v,…}`. Label names are field names (no `,` or `=`); in values `\` and `,` are
/// escaped with `\`, so two label sets never share a key. Values without them read as
/// before, so keys already stored (Slack messages to update) are found after an upgrade.
pub fn alert_key(t: &Transition) -> String {
    let mut key = format!("{}{{", t.rule);
    for (i, (k, v)) in t.group.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(k);
        key.push('=');
        for c in v.chars() {
            if matches!(c, '\\' | ',') {
                key.push('\\');
            }
            key.push(c);
        }
    }
    key.push('}');
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::AlertState;

    fn transition(group: &[(&str, &str)]) -> Transition {
        Transition {
            rule: "refusal_rate".into(),
            group: group.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            state: AlertState::Firing,
            at_ms: 0,
            value: Some(0.2),
            threshold: 0.1,
            events: 40,
            samples: Vec::new(),
            reminder: false,
            firing_since_ms: Some(0),
        }
    }

    #[test]
    fn alert_keys_are_unchanged_for_plain_values_and_distinct_for_tricky_ones() {
        assert_eq!(alert_key(&transition(&[("model", "gpt-4o"), ("tenant", "acme")])), "refusal_rate{model=gpt-4o,tenant=acme}");
        assert_eq!(alert_key(&transition(&[])), "refusal_rate{}");
        // Without escaping, these two label sets had the same key (and shared flap history
        // and Slack message).
        let one = alert_key(&transition(&[("model", "a,tenant=b")]));
        let two = alert_key(&transition(&[("model", "a"), ("tenant", "b")]));
        assert_ne!(one, two);
        assert_eq!(one, r"refusal_rate{model=a\,tenant=b}");
        assert_ne!(alert_key(&transition(&[("model", r"a\"), ("tenant", "b")])), alert_key(&transition(&[("model", r"a\,tenant=b")])));
    }
}
