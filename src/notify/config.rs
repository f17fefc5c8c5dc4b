//! `[[receivers]]` and `[routing]` of the daemon config, validated while decoded: every
//! problem is reported with its key path (`receivers[1].to: expected at least one address`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{Checker, Secret};
use crate::rules::Severity;
use crate::time::Duration;

use super::render::Templates;

/// How an e-mail receiver secures its SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); refuses servers without it.
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: only for a relay on loopback.
    None,
}

/// Where a Slack receiver posts.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackTarget {
    /// A bot token: `chat.postMessage` to `channel`, and `chat.update` of that message when
    /// its alerts resolve.
    Bot { token: Secret, channel: String },
    /// An incoming webhook: each message is new (webhooks cannot edit).
    Webhook { url: Secret },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlackReceiver {
    pub target: SlackTarget,
    /// The Web API base URL (default `https://slack.com/api`); plain `http://` is allowed so
    /// a local proxy or test stand-in can answer.
    pub api_url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailReceiver {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Extra CA certificate (PEM) to trust, for a private relay.
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverKind {
    Slack(SlackReceiver),
    Email(EmailReceiver),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    pub name: String,
    pub kind: ReceiverKind,
}

/// Flap control: more than `changes` state changes within `period` mark an alert
/// flapping; it is announced once, then quiet until no change for `period`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlapConfig {
    pub changes: usize,
    pub period: Duration,
}

/// Delivery retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// After this long undelivered, an entry is dropped and the failure recorded.
    pub give_up_after: Duration,
}

/// Everything notifications need from the config.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub receivers: Vec<Receiver>,
    /// Receivers every alert of a severity goes to, besides the rule's own `notify` list.
    pub default_routes: BTreeMap<Severity, Vec<String>>,
    /// Transitions for one receiver within this span go out as one message.
    pub group_wait: Duration,
    pub flap: FlapConfig,
    pub retry: RetryConfig,
    /// The silences file (`llmwatch silence …` writes it, the daemon re-reads it).
    pub silences: PathBuf,
    /// At this many undelivered entries consumption pauses (backpressure).
    pub max_outbox: usize,
    pub templates: Templates,
}

impl NotifyConfig {
    /// The defaults: no receivers, nothing routed.
    pub fn new(base: &Path) -> NotifyConfig {
        NotifyConfig {
            receivers: Vec::new(),
            default_routes: BTreeMap::new(),
            group_wait: Duration::from_secs(10),
            flap: FlapConfig { changes: 4, period: Duration::from_secs(3600) },
            retry: RetryConfig {
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(300),
                give_up_after: Duration::from_secs(6 * 3600),
            },
            silences: base.join("silences.json"),
            max_outbox: 100_000,
            templates: Templates::default(),
        }
    }

    pub fn receiver_names(&self) -> BTreeSet<String> {
        self.receivers.iter().map(|r| r.name.clone()).collect()
    }

    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// Decodes `[[receivers]]` and `[routing]` from the config's top-level table.
    pub fn decode(table: &toml::Table, c: &mut Checker, base: &Path) -> NotifyConfig {
        let mut n = NotifyConfig::new(base);
        match table.get("receivers") {
            None => {}
            Some(toml::Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("receivers[{i}]");
                    match item {
                        toml::Value::Table(t) => {
                            if let Some(r) = receiver(t, &path, c, base) {
                                if n.receivers.iter().any(|o| o.name == r.name) {
                                    c.error(format!("{path}.name"), format!("duplicate receiver name `{}`", r.name));
                                }
                                n.receivers.push(r);
                            }
                        }
                        _ => c.error(path, "expected a table"),
                    }
                }
            }
            Some(_) => c.error("receivers", "expected an array of tables ([[receivers]])"),
        }
        let Some(t) = c.section(table, "routing", false) else { return n };
        c.known_keys(t, "routing", ROUTING_KEYS);
        if let Some(d) = c.optional_duration(t, "routing", "group_wait") {
            n.group_wait = d;
        }
        if let Some(d) = c.section_at(t, "routing", "default", false) {
            for sev in d.keys() {
                let path = format!("routing.default.{sev}");
                let Some(severity) = Severity::parse(sev) else {
                    c.error(path, "unknown severity: expected `page`, `ticket` or `info`");
                    continue;
                };
                let names: Option<Vec<String>> = c.optional(d, "routing.default", sev);
                for name in names.unwrap_or_default() {
                    if n.receiver(&name).is_none() {
                        c.error(path.clone(), format!("unknown receiver `{name}`; defined: {}", n.receiver_names().into_iter().collect::<Vec<_>>().join(", ")));
                    }
                    n.default_routes.entry(severity).or_default().push(name);
                }
            }
        }
        if let Some(k) = c.optional_positive(t, "routing", "flap_changes") {
            n.flap.changes = k;
        }
        if let Some(d) = c.optional_duration(t, "routing", "flap_period") {
            n.flap.period = d;
        }
        if let Some(d) = c.optional_duration(t, "routing", "initial_backoff") {
            n.retry.initial_backoff = d;
        }
        if let Some(d) = c.optional_duration(t, "routing", "max_backoff") {
            n.retry.max_backoff = d;
        }
        if let Some(d) = c.optional_duration(t, "routing", "give_up_after") {
            n.retry.give_up_after = d;
        }
        for (key, d) in [("flap_period", n.flap.period), ("initial_backoff", n.retry.initial_backoff), ("give_up_after", n.retry.give_up_after)] {
            if d.as_millis() <= 0 && t.contains_key(key) {
                c.error(format!("routing.{key}"), "must be longer than 0s");
            }
        }
        if n.retry.max_backoff.as_millis() < n.retry.initial_backoff.as_millis() {
            c.error("routing.max_backoff", "must be at least routing.initial_backoff");
        }
        if let Some(p) = c.optional::<PathBuf>(t, "routing", "silences") {
            n.silences = base.join(p);
        }
        if let Some(k) = c.optional_positive(t, "routing", "max_outbox") {
            n.max_outbox = k;
        }
        if let Some(dir) = c.optional::<PathBuf>(t, "routing", "templates") {
            match Templates::from_dir(&base.join(dir)) {
                Ok(t) => n.templates = t,
                Err(e) => c.error("routing.templates", e.to_string()),
            }
        }
        n
    }
}

const ROUTING_KEYS: &[&str] = &[
    "group_wait",
    "default",
    "flap_changes",
    "flap_period",
    "initial_backoff",
    "max_backoff",
    "give_up_after",
    "silences",
    "max_outbox",
    "templates",
];
const SLACK_KEYS: &[&str] = &["name", "type", "token", "channel", "webhook_url", "api_url"];
const EMAIL_KEYS: &[&str] = &["name", "type", "host", "port", "tls", "ca_file", "username", "password", "from", "to", "timeout"];

fn receiver(t: &toml::Table, path: &str, c: &mut Checker, base: &Path) -> Option<Receiver> {
    let name: Option<String> = c.required_nonempty(t, path, "name");
    let kind: Option<String> = c.required(t, path, "type");
    let kind = match kind.as_deref() {
        Some("slack") => {
            c.known_keys(t, path, SLACK_KEYS);
            slack(t, path, c, base)
        }
        Some("email") => {
            c.known_keys(t, path, EMAIL_KEYS);
            email(t, path, c, base)
        }
        Some(other) => {
            c.error(format!("{path}.type"), format!("unknown receiver type `{other}`: expected `slack` or `email`"));
            None
        }
        None => None,
    };
    Some(Receiver { name: name?, kind: kind? })
}

fn slack(t: &toml::Table, path: &str, c: &mut Checker, base: &Path) -> Option<ReceiverKind> {
    let token: Option<Secret> = c.optional::<Secret>(t, path, "token").map(|s| s.relative_to(base));
    let channel: Option<String> = c.optional(t, path, "channel");
    let webhook: Option<Secret> = c.optional::<Secret>(t, path, "webhook_url").map(|s| s.relative_to(base));
    let api_url: String = c.optional(t, path, "api_url").unwrap_or_else(|| "https://slack.com/api".into());
    if url::Url::parse(&api_url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
        c.error(format!("{path}.api_url"), format!("expected an http(s) URL, got `{api_url}`"));
    }
    let target = match (token, channel, webhook) {
        (Some(token), Some(channel), None) => SlackTarget::Bot { token, channel },
        (None, None, Some(url)) => SlackTarget::Webhook { url },
        (Some(_), None, None) => {
            c.error(format!("{path}.channel"), "missing: a bot token needs the channel to post to");
            return None;
        }
        (None, Some(_), None) => {
            c.error(format!("{path}.token"), "missing: posting to a channel needs a bot token (or use webhook_url)");
            return None;
        }
        (None, None, None) => {
            c.error(path, "expected either `token` and `channel` (chat.postMessage) or `webhook_url`");
            return None;
        }
        _ => {
            c.error(path, "`webhook_url` and `token`/`channel` exclude each other");
            return None;
        }
    };
    Some(ReceiverKind::Slack(SlackReceiver { target, api_url: api_url.trim_end_matches('/').to_string() }))
}

fn email(t: &toml::Table, path: &str, c: &mut Checker, base: &Path) -> Option<ReceiverKind> {
    let host = c.required_nonempty(t, path, "host");
    let tls = match c.optional::<String>(t, path, "tls").as_deref() {
        None | Some("starttls") => SmtpTls::Starttls,
        Some("implicit") => SmtpTls::Implicit,
        Some("none") => SmtpTls::None,
        Some(other) => {
            c.error(format!("{path}.tls"), format!("unknown `{other}`: expected `starttls`, `implicit` or `none`"));
            SmtpTls::Starttls
        }
    };
    let port: u16 = match t.get("port") {
        None => match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        },
        Some(toml::Value::Integer(p)) if (1..=65535).contains(p) => *p as u16,
        Some(_) => {
            c.error(format!("{path}.port"), "expected a port number 1-65535");
            0
        }
    };
    let username: Option<String> = c.optional(t, path, "username");
    let password: Option<Secret> = c.optional::<Secret>(t, path, "password").map(|s| s.relative_to(base));
    if username.is_some() != password.is_some() {
        c.error(path, "`username` and `password` go together");
    }
    let loopback = host.as_deref().is_some_and(|h| matches!(h, "localhost" | "127.0.0.1" | "::1"));
    if tls == SmtpTls::None && username.is_some() && !loopback {
        c.error(format!("{path}.tls"), "`none` would send the password in clear text: use `starttls` or `implicit` (plain SMTP only to a relay on loopback)");
    }
    let from: Option<String> = c.required_nonempty(t, path, "from");
    if let Some(f) = &from
        && f.parse::<lettre::message::Mailbox>().is_err()
    {
        c.error(format!("{path}.from"), format!("not an e-mail address: `{f}`"));
    }
    let to: Vec<String> = c.required(t, path, "to").unwrap_or_default();
    if t.contains_key("to") && to.is_empty() {
        c.error(format!("{path}.to"), "expected at least one address");
    }
    for (i, a) in to.iter().enumerate() {
        if a.parse::<lettre::message::Mailbox>().is_err() {
            c.error(format!("{path}.to[{i}]"), format!("not an e-mail address: `{a}`"));
        }
    }
    let ca_file = c.optional::<PathBuf>(t, path, "ca_file").map(|p| base.join(p));
    if let Some(p) = &ca_file
        && !p.is_file()
    {
        c.error(format!("{path}.ca_file"), format!("no such file: {}", p.display()));
    }
    let timeout = c.optional_duration(t, path, "timeout").unwrap_or(Duration::from_secs(30));
    if timeout.as_millis() <= 0 {
        c.error(format!("{path}.timeout"), "must be longer than 0s");
    }
    Some(ReceiverKind::Email(EmailReceiver { host: host?, port, tls, ca_file, username, password, from: from?, to, timeout }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> (NotifyConfig, Vec<String>) {
        let table: toml::Table = text.parse().unwrap();
        let mut c = Checker::default();
        let n = NotifyConfig::decode(&table, &mut c, Path::new("/etc/llmwatch"));
        (n, c.errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn receivers_and_routing_decode() {
        let (n, errors) = decode(
            r#"
[[receivers]]
name = "oncall-slack"
type = "slack"
token = { env = "SLACK_BOT_TOKEN" }
channel = "C0ALERTS"

[[receivers]]
name = "team-webhook"
type = "slack"
webhook_url = { file = "hook" }

[[receivers]]
name = "oncall-email"
type = "email"
host = "smtp.example.com"
tls = "implicit"
username = "llmwatch"
password = { env = "SMTP_PASSWORD" }
from = "llmwatch <alerts@example.com>"
to = ["oncall@example.com"]

[routing]
group_wait = "30s"
default = { page = ["oncall-slack", "oncall-email"], ticket = ["team-webhook"] }
flap_changes = 6
"#,
        );
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(n.receivers.len(), 3);
        assert_eq!(n.group_wait, Duration::from_secs(30));
        assert_eq!(n.flap.changes, 6);
        assert_eq!(n.default_routes[&Severity::Page], ["oncall-slack", "oncall-email"]);
        let ReceiverKind::Email(e) = &n.receivers[2].kind else { panic!() };
        assert_eq!((e.port, e.tls), (465, SmtpTls::Implicit));
        assert_eq!(n.silences, PathBuf::from("/etc/llmwatch/silences.json"));
    }

    #[test]
    fn every_receiver_problem_has_its_key_path() {
        let (_, errors) = decode(
            r#"
[[receivers]]
name = "a"
type = "slak"

[[receivers]]
name = "b"
type = "slack"
token = "xoxb"

[[receivers]]
name = "c"
type = "email"
host = "smtp"
port = 70000
from = "not an address"
to = []
username = "u"

[[receivers]]
name = "c"
type = "slack"
webhook_url = "https://hooks.slack.com/x"

[routing]
default = { urgent = ["a"], page = ["nope"] }
group_wiat = "1s"
"#,
        );
        let expect = [
            "receivers[0].type: unknown receiver type `slak`",
            "receivers[1].channel: missing",
            "receivers[2].port: expected a port number",
            "receivers[2]: `username` and `password` go together",
            "receivers[2].from: not an e-mail address",
            "receivers[2].to: expected at least one address",
            "receivers[3].name: duplicate receiver name `c`",
            "routing: unknown key `group_wiat` (did you mean `group_wait`?)",
            "routing.default.urgent: unknown severity",
            "routing.default.page: unknown receiver `nope`",
        ];
        for want in expect {
            assert!(errors.iter().any(|e| e.starts_with(want)), "missing {want:?} in {errors:#?}");
        }
        assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    }
}
