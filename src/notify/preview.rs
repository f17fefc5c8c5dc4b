//! Writes the messages a run would have sent, without sending them: the exact
//! `chat.postMessage` / `chat.update` / webhook bodies as JSON and the e-mails as `.eml`.
//! `llmwatch demo` uses it so a new user sees the messages without any account.
//!
//! Grouping follows the sender's rules on event time (a replay has no wall clock):
//! notifications for one receiver within `group_wait` of the first go out as one message,
//! and a Slack bot receiver updates the message of an alert when it resolves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::{NotifyConfig, ReceiverKind, SlackTarget};
use super::email::email_message;
use super::notification::{Kind, Notification};
use super::slack::{self, MAX_ALERTS_PER_MESSAGE, preview as slack_body};
use super::stage::Staged;
use crate::time::{Millis, format_rfc3339};

/// The endings of the files written: `NNN-<time>-<receiver>-<ending>`.
const EMAIL: &str = "email.eml";
const SLACK_UPDATE: &str = "slack-chat.update.json";
const SLACK_POST: &str = "slack-chat.postMessage.json";
const SLACK_WEBHOOK: &str = "slack-webhook.json";

/// Removes the messages an earlier run wrote into `dir`, and only those: a directory the
/// user pointed at (`demo --out .`) may hold a `messages/` of their own. Anything else
/// there is an error, before a file is removed.
pub fn clear_messages(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let written_here = |name: &str| {
        name.len() > 4
            && name.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[3] == b'-'
            && [EMAIL, SLACK_UPDATE, SLACK_POST, SLACK_WEBHOOK].iter().any(|e| name.ends_with(&format!("-{e}")))
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(entry.file_type()?.is_file() && written_here(&name)) {
            anyhow::bail!("{} holds `{name}`, which the demo did not write; choose another --out", dir.display());
        }
        files.push(entry.path());
    }
    for f in files {
        std::fs::remove_file(f)?;
    }
    Ok(())
}

/// One message written.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub receiver: String,
    pub at_ms: Millis,
    pub title: String,
}

/// Writes the messages for `staged` (in event-time order) into `dir`.
pub fn write_messages(config: &NotifyConfig, staged: &[Staged], dir: &Path) -> anyhow::Result<Vec<Written>> {
    std::fs::create_dir_all(dir)?;
    let gw = config.group_wait.as_millis();
    // Per receiver, split into groups by group_wait from each group's first notification.
    let mut groups: Vec<(Millis, String, Vec<Notification>)> = Vec::new();
    let mut by_receiver: BTreeMap<&str, Vec<&Notification>> = BTreeMap::new();
    for s in staged {
        by_receiver.entry(s.receiver.as_str()).or_default().push(&s.notification);
    }
    for (receiver, list) in by_receiver {
        let mut current: Option<(Millis, Vec<Notification>)> = None;
        for n in list {
            let t = n.transition.at_ms;
            match &mut current {
                Some((start, ns)) if t < *start + gw && ns.len() < MAX_ALERTS_PER_MESSAGE => ns.push(n.clone()),
                _ => {
                    if let Some((start, ns)) = current.take() {
                        groups.push((start, receiver.to_string(), ns));
                    }
                    current = Some((t, vec![n.clone()]));
                }
            }
        }
        if let Some((start, ns)) = current {
            groups.push((start, receiver.to_string(), ns));
        }
    }
    groups.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));

    // Slack bot messages by receiver: alert → (ts, what the message shows).
    let mut open: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut messages: BTreeMap<String, Vec<Notification>> = BTreeMap::new();
    let mut written = Vec::new();
    let mut n = 0usize;
    for (at, receiver, ns) in groups {
        let Some(r) = config.receiver(&receiver) else { continue };
        let stamp = format_rfc3339(at).replace([':', '-'], "");
        let mut emit = |suffix: &str, bytes: Vec<u8>, title: &str| -> anyhow::Result<()> {
            n += 1;
            let path = dir.join(format!("{n:03}-{}-{receiver}-{suffix}", &stamp[..15]));
            std::fs::write(&path, bytes)?;
            written.push(Written { path, receiver: receiver.clone(), at_ms: at, title: title.to_string() });
            Ok(())
        };
        match &r.kind {
            ReceiverKind::Email(e) => {
                let rendered = config.templates.message(&ns)?;
                let from = e.from.parse()?;
                let to: Vec<lettre::message::Mailbox> = e.to.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
                let m = email_message(&from, &to, &rendered).map_err(|e| anyhow::anyhow!(e.message))?;
                emit(EMAIL, m.formatted(), &rendered.title)?;
            }
            ReceiverKind::Slack(s) => {
                let channel = match &s.target {
                    SlackTarget::Bot { channel, .. } => Some(channel.clone()),
                    SlackTarget::Webhook { .. } => None,
                };
                let slack::Plan { updates, posts } = slack::plan(
                    ns,
                    |x| x,
                    |x| Ok::<_, anyhow::Error>(channel.as_ref().and_then(|_| open.get(&(receiver.clone(), x.alert_key())).cloned())),
                    |ts| ts.clone(),
                )?;
                for (ts, (_, resolved)) in updates {
                    let shown = messages.get_mut(&ts).expect("open message");
                    slack::show_resolutions(shown, &resolved);
                    for x in &resolved {
                        open.remove(&(receiver.clone(), x.alert_key()));
                    }
                    let rendered = config.templates.message(shown)?;
                    let body = slack_body(channel.as_deref().unwrap_or_default(), &rendered, Some(&ts));
                    emit(SLACK_UPDATE, serde_json::to_vec_pretty(&body)?, &rendered.title)?;
                }
                if !posts.is_empty() {
                    let rendered = config.templates.message(&posts)?;
                    let body = match &channel {
                        Some(c) => {
                            let ts = format!("{}.{:06}", at / 1000, messages.len() + 1);
                            for x in &posts {
                                if x.kind != Kind::Resolved {
                                    open.insert((receiver.clone(), x.alert_key()), ts.clone());
                                }
                            }
                            messages.insert(ts, posts.clone());
                            slack_body(c, &rendered, None)
                        }
                        None => {
                            let mut b = slack_body("", &rendered, None);
                            b.as_object_mut().map(|o| o.remove("channel"));
                            b
                        }
                    };
                    let suffix = if channel.is_some() { SLACK_POST } else { SLACK_WEBHOOK };
                    emit(suffix, serde_json::to_vec_pretty(&body)?, &rendered.title)?;
                }
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::clear_messages;

    #[test]
    fn only_the_demos_own_messages_are_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let messages = dir.path().join("messages");
        clear_messages(&messages).unwrap();
        std::fs::create_dir(&messages).unwrap();
        for name in ["001-20261127T1200-oncall-slack-slack-chat.postMessage.json", "002-20261127T1205-mail-email.eml"] {
            std::fs::write(messages.join(name), "x").unwrap();
        }
        clear_messages(&messages).unwrap();
        assert_eq!(std::fs::read_dir(&messages).unwrap().count(), 0);
        // Anything else stops it before a file is removed.
        std::fs::write(messages.join("003-20261127T1210-mail-email.eml"), "x").unwrap();
        std::fs::write(messages.join("keep.txt"), "precious").unwrap();
        let err = clear_messages(&messages).unwrap_err().to_string();
        assert!(err.contains("keep.txt") && err.contains("choose another --out"), "{err}");
        assert_eq!(std::fs::read_dir(&messages).unwrap().count(), 2);
    }
}
