//! Messages from templates (minijinja). One message carries the notifications grouped for
//! one receiver; each alert in it shows rule, severity, group labels, value against
//! threshold, window and event count, business value, runbook, first firing time and a few
//! sample events with redacted excerpts.
//!
//! Defaults are embedded; a `[routing] templates` directory may replace any of them by
//! file name (`title`, `alert.md`, `email.txt`, `email.html`). Per rule, the `summary` and
//! `description` annotations are templates too (`{{ value }} of answers from {{ model }}`),
//! rendered with the alert's values and group labels.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::notification::{Kind, Notification};
use crate::time::format_rfc3339;

/// Template names and their embedded defaults.
const DEFAULTS: &[(&str, &str)] = &[
    ("title", include_str!("templates/title.j2")),
    ("alert.md", include_str!("templates/alert.md.j2")),
    ("email.txt", include_str!("templates/email.txt.j2")),
    ("email.html", include_str!("templates/email.html.j2")),
];

/// A template that does not compile or render.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {reason}")]
pub struct TemplateError {
    pub name: String,
    pub reason: String,
}

/// The compiled templates. Cheap to clone.
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::build(&BTreeMap::new()).expect("embedded templates compile")
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // `.html` templates escape; the rest (Slack mrkdwn, plain text) do not.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
    });
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_syntax(minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().expect("default delimiters"));
    // Slack mrkdwn gives `<`, `>` and `&` meaning (links, mentions); user text must not.
    env.add_filter("mrkdwn", |s: String| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"));
    // `{{ value | percent }}`: a share as a percentage ("0.1916" → "19.2%"). `value` reaches
    // annotations as text (already rounded), so text that reads as a number is accepted.
    env.add_filter("percent", |v: minijinja::Value, decimals: Option<u32>| -> String {
        let x = match v.as_str() {
            Some(s) => s.trim().parse::<f64>().ok(),
            None => f64::try_from(v.clone()).ok(),
        };
        match x {
            Some(x) => format!("{:.*}%", decimals.unwrap_or(1) as usize, x * 100.0),
            None => v.to_string(),
        }
    });
    env
}

impl Templates {
    /// The defaults with `overrides` (name → source) replacing some of them.
    pub fn build(overrides: &BTreeMap<String, String>) -> Result<Templates, TemplateError> {
        let mut env = environment();
        for (name, source) in DEFAULTS {
            let source = overrides.get(*name).cloned().unwrap_or_else(|| source.to_string());
            env.add_template_owned(name.to_string(), source).map_err(|e| TemplateError { name: name.to_string(), reason: e.to_string() })?;
        }
        let templates = Templates { env: Arc::new(env) };
        // minijinja finds an unknown filter or a missing include only when rendering: render
        // a sample message now, so such a template is a config error, not a failed delivery
        // of every notification.
        templates.message(&sample_notifications()).map_err(|e| TemplateError { reason: format!("does not render a sample message: {}", e.reason), ..e })?;
        Ok(templates)
    }

    /// Defaults, replaced by the files of `dir` named like a template (`title`, `alert.md`,
    /// `email.txt`, `email.html`, each optionally ending in `.j2`).
    pub fn from_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let mut overrides = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| TemplateError { name: dir.display().to_string(), reason: e.to_string() })?;
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".j2").unwrap_or(&file);
            if DEFAULTS.iter().any(|(n, _)| *n == name) {
                let text = std::fs::read_to_string(entry.path()).map_err(|e| TemplateError { name: file.clone(), reason: e.to_string() })?;
                overrides.insert(name.to_string(), text);
            }
        }
        Templates::build(&overrides)
    }

    fn render(&self, name: &str, ctx: &impl Serialize) -> Result<String, TemplateError> {
        let t = self.env.get_template(name).map_err(|e| TemplateError { name: name.into(), reason: e.to_string() })?;
        t.render(Serde(ctx)).map_err(|e| TemplateError { name: name.into(), reason: e.to_string() })
    }

    /// Renders the message for `notifications` (one receiver's group, in order).
    pub fn message(&self, notifications: &[Notification]) -> Result<Rendered, TemplateError> {
        let alerts: Vec<AlertView> = notifications.iter().map(|n| self.alert_view(n)).collect();
        let ctx = MessageView::new(&alerts);
        let alerts_md = alerts.iter().map(|a| self.render("alert.md", &a).map(|s| s.trim().to_string())).collect::<Result<Vec<_>, _>>()?;
        Ok(Rendered {
            title: self.render("title", &ctx)?.trim().replace('\n', " "),
            alerts_md,
            email_text: self.render("email.txt", &ctx)?,
            email_html: self.render("email.html", &ctx)?,
            status: ctx.status.to_string(),
        })
    }

    /// The rule's `summary` annotation rendered for one alert (it carries the units the
    /// bare value lacks), `None` when the rule has none.
    pub fn summary(&self, n: &Notification) -> Option<String> {
        self.alert_view(n).summary
    }

    fn alert_view(&self, n: &Notification) -> AlertView {
        let t = &n.transition;
        let group: BTreeMap<String, String> = t.group.iter().cloned().collect();
        let mut a = AlertView {
            kind: n.kind.as_str(),
            settled: n.settled,
            rule: t.rule.clone(),
            severity: n.rule.severity.clone(),
            group_text: if t.group.is_empty() { "all traffic".into() } else { t.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ") },
            group,
            value: t.value,
            value_text: t.value.map_or_else(|| "no value".into(), format_number),
            threshold: t.threshold,
            condition: n.rule.condition.clone(),
            window: n.rule.window.clone(),
            events: t.events,
            business_value: n.rule.business_value.clone(),
            runbook: n.rule.annotations.get("runbook").cloned(),
            first_firing: t.firing_since_ms.map(format_rfc3339),
            at: format_rfc3339(t.at_ms),
            samples: t
                .samples
                .iter()
                .map(|s| SampleView { id: s.id.clone(), excerpt: s.excerpt.as_deref().map(super::redact::redact) })
                .collect(),
            summary: None,
            description: n.rule.description.clone(),
        };
        // Annotation templates see the alert's fields and its group labels at top level.
        let mut ctx = serde_json::to_value(&a).unwrap_or_default();
        if let Some(obj) = ctx.as_object_mut() {
            for (k, v) in &t.group {
                obj.entry(k.clone()).or_insert_with(|| v.clone().into());
            }
            obj.insert("value".into(), a.value_text.clone().into());
        }
        let render_annotation = |src: &str| self.env.render_str(src, Serde(&ctx)).unwrap_or_else(|_| src.to_string());
        a.summary = n.rule.annotations.get("summary").map(|s| render_annotation(s));
        if let Some(d) = n.rule.annotations.get("description") {
            a.description = Some(render_annotation(d));
        }
        a
    }
}

/// An alert with every field set — an annotation template, a sample with personal data to
/// redact — for the check render when templates load (and for tests).
pub(crate) fn sample_notification(kind: Kind, state: crate::eval::AlertState) -> Notification {
    use super::notification::RuleFacts;
    use crate::eval::{Sample, Transition};
    Notification {
        kind,
        settled: false,
        rule: RuleFacts {
            severity: "page".into(),
            description: Some("Share of answers that refuse".into()),
            business_value: Some("Over-refusal blocks customers".into()),
            condition: "> 0.08".into(),
            window: "10m".into(),
            labels: BTreeMap::new(),
            annotations: [
                ("runbook".to_string(), "https://runbooks.example.com/refusals".to_string()),
                ("summary".to_string(), "{{ value }} of answers from {{ model }} are refusals".to_string()),
            ]
            .into(),
        },
        transition: Transition {
            rule: "refusal_rate".into(),
            group: vec![("model".into(), "gpt-4o".into())],
            state,
            at_ms: 1_767_225_600_000,
            value: Some(0.123456),
            threshold: 0.08,
            events: 812,
            samples: vec![Sample { id: "ev-1".into(), excerpt: Some("Call me at +33 6 12 34 56 78 or jean@example.fr <b>".into()) }],
            reminder: false,
            firing_since_ms: Some(1_767_225_000_000),
        },
    }
}

fn sample_notifications() -> Vec<Notification> {
    use crate::eval::AlertState;
    vec![sample_notification(Kind::Firing, AlertState::Firing), sample_notification(Kind::Resolved, AlertState::Resolved)]
}

/// A rendered message: the pieces each transport assembles.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// One line: e-mail subject, Slack header and notification text.
    pub title: String,
    /// Per alert, Slack mrkdwn.
    pub alerts_md: Vec<String>,
    pub email_text: String,
    pub email_html: String,
    /// `firing`, `resolved`, `flapping` or `mixed`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
struct SampleView {
    id: String,
    excerpt: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct AlertView {
    kind: &'static str,
    settled: bool,
    rule: String,
    severity: String,
    group: BTreeMap<String, String>,
    group_text: String,
    value: Option<f64>,
    value_text: String,
    threshold: f64,
    condition: String,
    window: String,
    events: u64,
    business_value: Option<String>,
    runbook: Option<String>,
    first_firing: Option<String>,
    at: String,
    samples: Vec<SampleView>,
    summary: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Serialize)]
struct MessageView<'a> {
    status: &'static str,
    alerts: &'a [AlertView],
    firing: usize,
    resolved: usize,
    flapping: usize,
}

impl<'a> MessageView<'a> {
    fn new(alerts: &'a [AlertView]) -> Self {
        let count = |k: &[&str]| alerts.iter().filter(|a| k.contains(&a.kind)).count();
        let (firing, resolved, flapping) = (count(&["firing", "reminder"]), count(&["resolved"]), count(&["flapping"]));
        let status = match (firing, resolved, flapping) {
            (_, 0, 0) => "firing",
            (0, _, 0) => "resolved",
            (0, 0, _) => "flapping",
            _ => "mixed",
        };
        MessageView { status, alerts, firing, resolved, flapping }
    }
}

/// Four significant digits, no exponent for everyday magnitudes: `0.1234`, `12.5`, `4210`.
pub fn format_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (4 - 1 - v.abs().log10().floor() as i32).clamp(0, 10) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Whether a kind counts as a problem in the message's colour and emoji.
pub fn is_problem(kind: Kind) -> bool {
    matches!(kind, Kind::Firing | Kind::Reminder | Kind::Flapping)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::eval::AlertState;

    pub(crate) fn notification(kind: Kind, state: AlertState) -> Notification {
        sample_notification(kind, state)
    }

    #[test]
    fn a_message_shows_what_on_call_needs_with_redacted_samples() {
        let r = Templates::default().message(&[notification(Kind::Firing, AlertState::Firing)]).unwrap();
        assert_eq!(r.title, "[FIRING] refusal_rate (model=gpt-4o): 0.1235 > 0.08");
        let md = &r.alerts_md[0];
        for want in ["refusal_rate", "page", "model=gpt-4o", "0.1235", "> 0.08", "10m", "812", "Over-refusal blocks customers", "https://runbooks.example.com/refusals", "2026-01-01T00:00:00Z", "ev-1", "0.1235 of answers from gpt-4o are refusals"] {
            assert!(md.contains(want), "{want:?} missing from:\n{md}");
        }
        for text in [md, &r.email_text, &r.email_html] {
            assert!(!text.contains("jean@example.fr") && !text.contains("12 34 56 78"), "not redacted:\n{text}");
            assert!(text.contains("[email]") && text.contains("[phone]"), "{text}");
        }
        assert!(r.email_html.contains("&lt;b&gt;"), "HTML is escaped: {}", r.email_html);
        assert!(r.email_text.contains("Runbook: https://runbooks.example.com/refusals"), "{}", r.email_text);
    }

    #[test]
    fn resolved_and_reminder_and_grouped_titles() {
        let t = Templates::default();
        assert!(t.message(&[notification(Kind::Resolved, AlertState::Resolved)]).unwrap().title.starts_with("[RESOLVED] refusal_rate"));
        assert!(t.message(&[notification(Kind::Reminder, AlertState::Firing)]).unwrap().title.starts_with("[FIRING, reminder] refusal_rate"));
        let two = t.message(&[notification(Kind::Firing, AlertState::Firing), notification(Kind::Resolved, AlertState::Resolved)]).unwrap();
        assert_eq!(two.title, "[FIRING:1, RESOLVED:1] refusal_rate (model=gpt-4o) and 1 more");
        assert_eq!(two.alerts_md.len(), 2);
    }

    #[test]
    fn templates_are_overridable_and_bad_ones_are_reported() {
        let t = Templates::build(&[("title".to_string(), "{{ alerts | length }} alert(s)".to_string())].into()).unwrap();
        assert_eq!(t.message(&[notification(Kind::Firing, AlertState::Firing)]).unwrap().title, "1 alert(s)");
        let e = Templates::build(&[("title".to_string(), "{% if %}".to_string())].into()).unwrap_err();
        assert_eq!(e.name, "title");
        // These compile and fail only when rendered: found when the templates load.
        let e = Templates::build(&[("title".to_string(), "{{ alerts[0].rule | nosuchfilter }}".to_string())].into()).unwrap_err();
        assert_eq!(e.name, "title");
        assert!(e.reason.contains("does not render a sample message") && e.reason.contains("nosuchfilter"), "{}", e.reason);
        let e = Templates::build(&[("email.txt".to_string(), "{% include \"x\" %}".to_string())].into()).unwrap_err();
        assert_eq!(e.name, "email.txt");
    }

    #[test]
    fn annotations_can_show_a_share_as_a_percentage() {
        let mut n = notification(Kind::Firing, AlertState::Firing);
        n.rule.annotations.insert("summary".into(), "{{ value | percent }} of answers refused ({{ value | percent(0) }}, {{ model | percent }})".into());
        let r = Templates::default().message(&[n]).unwrap();
        assert!(r.alerts_md[0].contains("12.3% of answers refused (12%, gpt-4o)"), "{}", r.alerts_md[0]);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_number(0.123456), "0.1235");
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(4210.7), "4211");
        assert_eq!(format_number(0.0), "0");
    }
}
