//! How transitions are printed: the JSONL of rules.md ("Replay output") and a table.

use serde_json::{Map, Value, json};

use crate::eval::Transition;
use crate::time::format_rfc3339;

/// Rounds to 6 significant digits so output is stable and readable (`0.3125`, `2814.2`).
pub fn round_value(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    // Through decimal text: scaling by an inexact power of ten printed 59391899999.99999
    // for 59391888524.9 and 0 for 1e-305.
    format!("{v:.5e}").parse().unwrap_or(v)
}

/// One transition as the JSON object of rules.md; with `evidence`, also sample event ids,
/// the first firing time and the reminder flag.
pub fn transition_json(t: &Transition, evidence: bool) -> Value {
    let group: Map<String, Value> = t.group.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let mut obj = json!({
        "rule": t.rule,
        "group": group,
        "state": t.state.as_str(),
        "at": format_rfc3339(t.at_ms),
        "value": t.value.map(round_value),
        "threshold": t.threshold,
        "events": t.events,
    });
    if evidence {
        let m = obj.as_object_mut().expect("object");
        m.insert("samples".into(), json!(t.samples.iter().map(|s| &s.id).collect::<Vec<_>>()));
        if let Some(since) = t.firing_since_ms {
            m.insert("firing_since".into(), json!(format_rfc3339(since)));
        }
        if t.reminder {
            m.insert("reminder".into(), json!(true));
        }
    }
    obj
}

/// The group as `model=gpt-4o,tenant=acme` (or `-` for the global series).
pub fn group_text(t: &Transition) -> String {
    if t.group.is_empty() {
        return "-".into();
    }
    t.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

pub const TABLE_HEADER: &str = "AT                        STATE     RULE                          GROUP                             VALUE        THRESHOLD  EVENTS";

/// One aligned table row.
pub fn table_row(t: &Transition) -> String {
    let value = t.value.map_or("-".to_string(), |v| round_value(v).to_string());
    let state = if t.reminder { "reminder" } else { t.state.as_str() };
    format!(
        "{:<25} {:<9} {:<29} {:<33} {:<12} {:<10} {}",
        format_rfc3339(t.at_ms),
        state,
        t.rule,
        group_text(t),
        value,
        t.threshold,
        t.events
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_to_six_significant_digits() {
        assert_eq!(round_value(0.312500001), 0.3125);
        assert_eq!(round_value(2814.234567), 2814.23);
        assert_eq!(round_value(0.0), 0.0);
        assert_eq!(round_value(1.0 / 3.0), 0.333333);
        assert_eq!(round_value(59_391_888_524.933_77).to_string(), "59391900000");
        assert_eq!(round_value(11_701_987_725.56).to_string(), "11702000000");
        assert_eq!(round_value(1.23456e-299), 1.23456e-299);
        assert_eq!(round_value(1e-305), 1e-305);
        assert_eq!(round_value(1e308), 1e308);
        assert_eq!(round_value(-2814.234567), -2814.23);
    }

    #[test]
    fn a_transition_prints_its_fields_in_the_order_of_rules_md_and_its_group_in_group_by_order() {
        let t = Transition {
            rule: "thumbs_down_rate".into(),
            group: vec![("tenant".into(), "acme".into()), ("model".into(), "gpt-4o-mini".into())],
            state: crate::eval::AlertState::Firing,
            at_ms: crate::time::parse_rfc3339("2026-11-27T14:20:00Z").unwrap(),
            value: Some(0.31),
            threshold: 0.2,
            events: 64,
            samples: Vec::new(),
            reminder: false,
            firing_since_ms: None,
        };
        assert_eq!(
            transition_json(&t, false).to_string(),
            r#"{"rule":"thumbs_down_rate","group":{"tenant":"acme","model":"gpt-4o-mini"},"state":"firing","at":"2026-11-27T14:20:00Z","value":0.31,"threshold":0.2,"events":64}"#
        );
    }
}
