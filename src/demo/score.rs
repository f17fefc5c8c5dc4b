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

/// One rule's response to one incident.
#[derive(Debug, Clone)]
pub struct Detection {
    pub rule: String,
    pub group: String,
    pub fired_at: Millis,
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
            match t.state {
                AlertState::Firing if !t.reminder && !detections.iter().any(|d| d.rule == t.rule && d.group == group) => {
                    detections.push(Detection { rule: t.rule.clone(), group, fired_at: t.at_ms, resolved_at: None });
                }
                AlertState::Resolved => {
                    if let Some(d) = detections.iter_mut().find(|d| d.rule == t.rule && d.group == group && d.resolved_at.is_none()) {
                        d.resolved_at = Some(t.at_ms);
                    }
                }
                _ => {}
            }
        }
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
