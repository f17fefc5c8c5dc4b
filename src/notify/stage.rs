//! Staging: turns the engine's transitions into per-receiver notifications — routing (the
//! rule's `notify` list plus the default route of its severity) and flap control. Pure and
//! on event time; the daemon writes what it returns to the outbox in the same checkpoint
//! batch as the state that produced it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{FlapConfig, NotifyConfig};
use super::flap::{FlapDetector, Verdict};
use super::notification::{Kind, Notification, RuleFacts};
use crate::eval::Transition;
use crate::rules::{RuleSet, Severity};
use crate::time::Millis;

/// A notification for one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staged {
    pub receiver: String,
    pub notification: Notification,
}

#[derive(Debug, Clone)]
pub struct Stager {
    default_routes: BTreeMap<Severity, Vec<String>>,
    flap_config: FlapConfig,
    flap: FlapDetector,
}

impl Stager {
    pub fn new(config: &NotifyConfig) -> Stager {
        Stager { default_routes: config.default_routes.clone(), flap_config: config.flap, flap: FlapDetector::default() }
    }

    /// The receivers of a rule: its `notify` list, then its severity's default route.
    pub fn receivers(&self, rules: &RuleSet, rule: &str) -> Vec<String> {
        let Some(r) = rules.get(rule) else { return Vec::new() };
        let mut out: Vec<String> = Vec::new();
        // Each receiver once, however often a rule names it (twice would stage the same
        // notification twice, and one message would show the alert twice).
        for name in r.notify.iter().chain(self.default_routes.get(&r.severity).into_iter().flatten()) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// The notifications for these transitions (pending and inactive ones are nobody's
    /// business; flapping alerts are announced once and then held back).
    pub fn stage(&mut self, rules: &RuleSet, transitions: &[Transition]) -> Vec<Staged> {
        let mut out = Vec::new();
        for t in transitions {
            let Some(kind) = Kind::of(t) else { continue };
            let Some(rule) = rules.get(&t.rule) else { continue };
            let n = Notification { kind, rule: RuleFacts::of(rule), transition: t.clone(), settled: false };
            let n = match self.flap.judge(n, &self.flap_config) {
                Verdict::Deliver(n) | Verdict::AnnounceFlapping(n) => n,
                Verdict::Suppress => continue,
            };
            self.route(rules, n, &mut out);
        }
        out
    }

    /// At event time `now`: alerts that stopped flapping have their settled state notified.
    pub fn tick(&mut self, rules: &RuleSet, now: Millis) -> Vec<Staged> {
        let mut out = Vec::new();
        for n in self.flap.tick(now, &self.flap_config) {
            self.route(rules, n, &mut out);
        }
        out
    }

    fn route(&self, rules: &RuleSet, n: Notification, out: &mut Vec<Staged>) {
        for receiver in self.receivers(rules, &n.transition.rule) {
            out.push(Staged { receiver, notification: n.clone() });
        }
    }

    /// The flap memory, for checkpoints.
    pub fn snapshot(&self) -> FlapDetector {
        self.flap.clone()
    }

    pub fn restore(&mut self, flap: FlapDetector) {
        self.flap = flap;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::eval::AlertState;
    use crate::rules::{LoadOptions, load_sources};
    use crate::time::Duration;

    const RULES: &str = r#"
group: g
rules:
  - name: refusals
    severity: page
    group_by: [model]
    value: ratio(signal.refusal)
    window: 5m
    condition: "> 0.2"
    notify: [team, oncall, team]
  - name: slow
    severity: info
    group_by: [model]
    value: percentile(latency_ms, 95)
    window: 5m
    condition: "> 5000"
"#;

    fn rules() -> RuleSet {
        let (set, diags) = load_sources(&[("g.yaml".into(), RULES.to_string())], &LoadOptions::default());
        assert!(diags.is_empty(), "{diags:?}");
        set
    }

    fn t(rule: &str, state: AlertState, at: Millis) -> Transition {
        Transition {
            rule: rule.into(),
            group: vec![("model".into(), "m1".into())],
            state,
            at_ms: at,
            value: Some(0.5),
            threshold: 0.2,
            events: 40,
            samples: vec![],
            reminder: false,
            firing_since_ms: Some(at),
        }
    }

    fn stager() -> Stager {
        let mut c = NotifyConfig::new(Path::new("."));
        c.default_routes.insert(Severity::Page, vec!["oncall".into(), "team".into()]);
        c.flap = FlapConfig { changes: 3, period: Duration::from_secs(600) };
        Stager::new(&c)
    }

    #[test]
    fn routes_by_notify_list_plus_severity_default_without_duplicates() {
        let rules = rules();
        let mut s = stager();
        let out = s.stage(&rules, &[t("refusals", AlertState::Firing, 0), t("slow", AlertState::Firing, 0), t("refusals", AlertState::Pending, 0)]);
        let got: Vec<(&str, &str)> = out.iter().map(|s| (s.receiver.as_str(), s.notification.transition.rule.as_str())).collect();
        assert_eq!(got, [("team", "refusals"), ("oncall", "refusals")]);
        assert_eq!(out[0].notification.rule.severity, "page");
    }

    #[test]
    fn a_flapping_alert_is_announced_once_then_settles() {
        let rules = rules();
        let mut s = stager();
        let mut kinds = Vec::new();
        let states = [AlertState::Firing, AlertState::Resolved];
        for i in 0..8 {
            for st in s.stage(&rules, &[t("refusals", states[i % 2], i as Millis * 60_000)]).iter().filter(|s| s.receiver == "team") {
                kinds.push((i, st.notification.kind));
            }
        }
        // Changes 0..=2 go out; the 4th within 10 minutes announces flapping; the rest wait.
        assert_eq!(kinds, [(0, Kind::Firing), (1, Kind::Resolved), (2, Kind::Firing), (3, Kind::Flapping)]);
        assert!(s.tick(&rules, 7 * 60_000 + 599_999).is_empty(), "not settled before a quiet period");
        let settled = s.tick(&rules, 7 * 60_000 + 600_000);
        let team: Vec<&Staged> = settled.iter().filter(|s| s.receiver == "team").collect();
        assert_eq!(team.len(), 1);
        assert_eq!(team[0].notification.kind, Kind::Resolved, "the held, newest state");
        assert!(team[0].notification.settled);
        // Afterwards changes go out again.
        assert_eq!(s.stage(&rules, &[t("refusals", AlertState::Firing, 20 * 60_000)]).len(), 2);
    }
}
