//! Scores alert transitions against the incidents a scenario injected: which rules caught
//! each incident and how fast, which firings no incident explains, and what was missed.

use crate::eval::{AlertState, Transition};
use crate::time::Millis;

use super::generator::{Incident, IncidentKind, Scenario};

/// The rules that must catch an incident of this kind (the first is the primary).
pub fn expected_rules(kind: IncidentKind) -> &'static [&'static str] {
    match kind {
        IncidentKind::WrongLanguage => &["language_mismatch_rate"],
        IncidentKind::Refusals => &["refusal_rate"],
        IncidentKind::SlowLatency => &["latency_p95"],
        IncidentKind::Errors => &["error_rate"],
        IncidentKind::RateLimits => &["rate_limited_rate"],
        IncidentKind::Truncation => &["truncation_rate"],
        IncidentKind::EmptyAnswers => &["empty_response_rate"],
        IncidentKind::InvalidJson => &["invalid_json_rate"],
        IncidentKind::PiiLeak => &["pii_leak"],
        IncidentKind::ThumbsDown => &["thumbs_down_rate"],
        IncidentKind::Escalations => &["escalation_rate"],
        IncidentKind::Abandonment => &["abandonment_rate"],
        IncidentKind::CostSpike => &["cost_per_call_jump"],
        IncidentKind::RephraseStorm => &["rephrase_storm"],
        IncidentKind::Flatline => &["model_traffic_absent"],
    }
}

/// Rules that may also fire as a consequence of any incident (users react to bad answers).
pub const CONSEQUENCE_RULES: &[&str] = &[
    "thumbs_down_rate",
    "thumbs_down_by_prompt_version",
    "escalation_rate",
    "abandonment_rate",
    "language_switch_rate",
    "latency_p95_jump",
    "rephrase_storm",
    "conversations_per_tenant_drop",
    // Cut or empty answers are broken JSON too; rate-limited calls are failed calls.
    "invalid_json_rate",
    "error_rate",
];

/// How long after an incident ends its alerts may still fire (windows drain slowly).
pub const AFTERMATH_MS: Millis = 75 * 60_000;

/// One rule's response to one incident: every firing counts, so a flapping alert shows as
/// such instead of as its first firing and first resolution.
#[derive(Debug, Clone)]
pub struct Detection {
    pub rule: String,
    pub group: String,
    /// The first firing.
    pub fired_at: Millis,
    /// How many times the alert went to firing (reminders excluded); above 1 it flapped.
    pub firings: u32,
    /// The last resolution, when the alert is not firing again since; `None` while it
    /// still fires at the end.
    pub resolved_at: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct IncidentScore {
    pub incident: Incident,
    pub detections: Vec<Detection>,
    /// Expected rules that never fired during the incident.
    pub missed: Vec<&'static str>,
}

#[derive(Debug, Clone, Default)]
pub struct Scorecard {
    pub incidents: Vec<IncidentScore>,
    /// Firings no incident explains.
    pub false_firings: Vec<Transition>,
}

fn group_matches(incident: &Incident, t: &Transition) -> bool {
    match &incident.model {
        None => true,
        Some(m) => t.group.iter().all(|(k, v)| k != "model" || v == m),
    }
}

fn explains(incident: &Incident, t: &Transition) -> bool {
    let rule = t.rule.as_str();
    let in_time = t.at_ms >= incident.start_ms && t.at_ms <= incident.end_ms + AFTERMATH_MS;
    in_time && group_matches(incident, t) && (expected_rules(incident.kind).contains(&rule) || CONSEQUENCE_RULES.contains(&rule))
}

/// Scores the transitions of a run over `scenario`.
pub fn score(scenario: &Scenario, transitions: &[Transition]) -> Scorecard {
    let mut card = Scorecard::default();
    for incident in &scenario.incidents {
        let mut detections: Vec<Detection> = Vec::new();
        for t in transitions.iter().filter(|t| explains(incident, t)) {
            let group = crate::output::group_text(t);
            let known = detections.iter_mut().find(|d| d.rule == t.rule && d.group == group);
            match (t.state, known) {
                (AlertState::Firing, None) if !t.reminder => {
                    detections.push(Detection { rule: t.rule.clone(), group, fired_at: t.at_ms, firings: 1, resolved_at: None });
                }
                (AlertState::Firing, Some(d)) if !t.reminder => {
                    d.firings += 1;
                    d.resolved_at = None;
                }
                (AlertState::Resolved, Some(d)) => d.resolved_at = Some(t.at_ms),
                _ => {}
            }
        }
        // In the order on-call saw them.
        detections.sort_by_key(|d| d.fired_at);
        let missed = expected_rules(incident.kind).iter().copied().filter(|r| !detections.iter().any(|d| d.rule == *r)).collect();
        card.incidents.push(IncidentScore { incident: incident.clone(), detections, missed });
    }
    card.false_firings = transitions
        .iter()
        .filter(|t| t.state == AlertState::Firing && !t.reminder)
        .filter(|t| !scenario.incidents.iter().any(|i| explains(i, t)))
        .cloned()
        .collect();
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{IncidentKind, Scenario};

    fn tr(rule: &str, state: AlertState, at_ms: Millis) -> Transition {
        Transition {
            rule: rule.into(),
            group: vec![("model".into(), "gpt-4o-mini".into())],
            state,
            at_ms,
            value: Some(1.0),
            threshold: 0.5,
            events: 100,
            samples: vec![],
            reminder: false,
            firing_since_ms: None,
        }
    }

    #[test]
    fn a_flapping_alert_counts_every_firing_and_keeps_its_last_resolution_in_time_order() {
        let start = 0;
        let scenario = Scenario::baseline(start, 180 * 60_000, 1).with_incident(IncidentKind::WrongLanguage, Some("gpt-4o-mini"), 90 * 60_000, 135 * 60_000);
        let m = 60_000;
        let transitions = vec![
            tr("language_switch_rate", AlertState::Firing, 94 * m),
            tr("language_mismatch_rate", AlertState::Firing, 95 * m),
            tr("language_switch_rate", AlertState::Resolved, 101 * m),
            tr("language_switch_rate", AlertState::Firing, 109 * m),
            tr("language_switch_rate", AlertState::Resolved, 137 * m),
            tr("language_mismatch_rate", AlertState::Resolved, 140 * m),
        ];
        let card = score(&scenario, &transitions);
        let d = &card.incidents[0].detections;
        assert_eq!(d.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>(), ["language_switch_rate", "language_mismatch_rate"]);
        assert_eq!((d[0].fired_at, d[0].firings, d[0].resolved_at), (94 * m, 2, Some(137 * m)));
        assert_eq!((d[1].firings, d[1].resolved_at), (1, Some(140 * m)));

        let still = score(&scenario, &transitions[..4]);
        assert_eq!(still.incidents[0].detections[0].resolved_at, None, "fired again after its resolution");
    }
}
