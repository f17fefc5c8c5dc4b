//! Slack delivery through slack-morphism: `chat.postMessage` with Block Kit, `chat.update`
//! of the same message when its alerts resolve, or an incoming webhook.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::config::{SlackReceiver, SlackTarget};
use super::notification::{Kind, Notification};
use super::render::Rendered;
use super::transport::DeliveryError;

/// Slack's limits: header text 150 characters, section text 3000, 50 blocks per message.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
/// Alerts per message, so header + alert sections + dividers stay within 50 blocks.
pub const MAX_ALERTS_PER_MESSAGE: usize = 20;

enum Target {
    Bot { token: SlackApiToken, channel: SlackChannelId },
    Webhook { url: url::Url },
}

pub struct SlackTransport {
    client: SlackClient<SlackClientHyperHttpsConnector>,
    target: Target,
}

impl SlackTransport {
    /// Resolves secrets and builds the client; errors name what is wrong, never the secret.
    pub fn new(r: &SlackReceiver) -> Result<SlackTransport, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector = SlackClientHyperConnector::with_connector(https).with_slack_api_url(&r.api_url);
        let target = match &r.target {
            SlackTarget::Bot { token, channel } => Target::Bot {
                token: SlackApiToken::new(token.resolve().map_err(|e| format!("token: {e}"))?.into()),
                channel: channel.clone().into(),
            },
            SlackTarget::Webhook { url } => {
                let raw = url.resolve().map_err(|e| format!("webhook_url: {e}"))?;
                Target::Webhook { url: raw.parse().map_err(|_| "webhook_url: not a URL".to_string())? }
            }
        };
        Ok(SlackTransport { client: SlackClient::new(connector), target })
    }

    /// Whether this receiver can edit its messages (bot tokens can, webhooks cannot).
    pub fn can_update(&self) -> bool {
        matches!(self.target, Target::Bot { .. })
    }

    /// Posts a new message; returns its (channel, ts) when the receiver has them.
    pub async fn post(&self, r: &Rendered) -> Result<Option<(String, String)>, DeliveryError> {
        match &self.target {
            Target::Bot { token, channel } => {
                let req = SlackApiChatPostMessageRequest::new(channel.clone(), content(r));
                let resp = timed(self.client.open_session(token).chat_post_message(&req)).await?;
                Ok(Some((resp.channel.0, resp.ts.0)))
            }
            Target::Webhook { url } => {
                let req = SlackApiPostWebhookMessageRequest::new(content(r));
                timed(self.client.post_webhook_message(url, &req)).await?;
                Ok(None)
            }
        }
    }

    /// Replaces an earlier message's content.
    pub async fn update(&self, channel: &str, ts: &str, r: &Rendered) -> Result<(), DeliveryError> {
        let Target::Bot { token, .. } = &self.target else {
            return Err(DeliveryError::permanent("webhooks cannot update messages"));
        };
        let req = SlackApiChatUpdateRequest::new(channel.to_string().into(), content(r), ts.to_string().into());
        timed(self.client.open_session(token).chat_update(&req)).await?;
        Ok(())
    }
}

/// Neither slack-morphism nor hyper's client bounds a request's time; a hung connection
/// would stall the only sender task, so every call gets this bound (then it is retried).
const REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(30);

async fn timed<T>(call: impl std::future::Future<Output = Result<T, SlackClientError>>) -> Result<T, DeliveryError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
        Ok(r) => r.map_err(classify),
        Err(_) => Err(DeliveryError::transient(format!("Slack did not answer within {}s", REQUEST_TIMEOUT.as_secs()))),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// `<`, `>` and `&` mean links and mentions in mrkdwn; label values come from events, so
/// a model named `<!channel>` must not ping anyone.
fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The Block Kit message: a header, then one section per alert, dividers between.
pub fn blocks(r: &Rendered) -> Vec<SlackBlock> {
    let mut blocks: Vec<SlackBlock> = vec![SlackHeaderBlock::new(pt!(truncate(&r.title, HEADER_MAX))).into()];
    for (i, md) in r.alerts_md.iter().take(MAX_ALERTS_PER_MESSAGE).enumerate() {
        if i > 0 {
            blocks.push(SlackDividerBlock::new().into());
        }
        blocks.push(SlackSectionBlock::new().with_text(md!(truncate(md, SECTION_MAX))).into());
    }
    blocks
}

fn content(r: &Rendered) -> SlackMessageContent {
    // `text` is the notification and screen-reader fallback.
    SlackMessageContent::new().with_text(escape_mrkdwn(&r.title)).with_blocks(blocks(r))
}

/// The JSON body `chat.postMessage` would get, for previews (`llmwatch demo`).
pub fn preview(channel: &str, r: &Rendered, update_ts: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::to_value(content(r)).unwrap_or_default();
    v["channel"] = channel.into();
    if let Some(ts) = update_ts {
        v["ts"] = ts.into();
    }
    v
}

/// How a bot receiver's batch goes out: the resolution of an alert shown in a message we
/// posted updates that message; everything else is posted anew. `message_of` finds the
/// message (`M`, keyed by its `ts`) showing an alert; it is asked for resolutions only.
/// One plan for the sender and the demo's preview, so the preview shows what is sent.
pub struct Plan<M, T> {
    /// By message `ts`: the message and the resolutions it gets, in batch order.
    pub updates: BTreeMap<String, (M, Vec<T>)>,
    pub posts: Vec<T>,
}

pub fn plan<M, T, E>(
    batch: Vec<T>,
    notification: impl Fn(&T) -> &Notification,
    mut message_of: impl FnMut(&Notification) -> Result<Option<M>, E>,
    ts: impl Fn(&M) -> String,
) -> Result<Plan<M, T>, E> {
    let mut plan = Plan { updates: BTreeMap::new(), posts: Vec::new() };
    for item in batch {
        let n = notification(&item);
        let shown_in = if n.kind == Kind::Resolved { message_of(n)? } else { None };
        match shown_in {
            Some(m) => plan.updates.entry(ts(&m)).or_insert_with(|| (m, Vec::new())).1.push(item),
            None => plan.posts.push(item),
        }
    }
    Ok(plan)
}

/// The alerts an updated message shows: each resolved alert in place of what it showed.
pub fn show_resolutions<'a>(shown: &mut [Notification], resolved: impl IntoIterator<Item = &'a Notification>) {
    for r in resolved {
        let key = r.alert_key();
        if let Some(slot) = shown.iter_mut().find(|n| n.alert_key() == key) {
            *slot = r.clone();
        }
    }
}

/// Which failures are worth retrying: rate limits (after Retry-After), 5xx, network
/// errors and Slack's transient API codes; not bad tokens, unknown channels or bad requests.
fn classify(e: SlackClientError) -> DeliveryError {
    match e {
        SlackClientError::RateLimitError(r) => {
            DeliveryError { retryable: true, retry_after: r.retry_after.or(Some(StdDuration::from_secs(1))), message: "Slack rate limit (429)".into() }
        }
        SlackClientError::HttpError(h) => {
            let code = h.status_code.as_u16();
            let message = format!("Slack answered HTTP {code}");
            if code >= 500 || code == 408 { DeliveryError::transient(message) } else { DeliveryError::permanent(message) }
        }
        SlackClientError::ApiError(a) => {
            let transient = matches!(a.code.as_str(), "ratelimited" | "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout");
            let message = format!("Slack API error: {}", a.code);
            if transient { DeliveryError::transient(message) } else { DeliveryError::permanent(message) }
        }
        other => DeliveryError::transient(format!("Slack unreachable: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::AlertState;
    use crate::notify::render::tests::notification;

    fn of_model(kind: Kind, state: AlertState, model: &str) -> Notification {
        let mut n = notification(kind, state);
        n.transition.group = vec![("model".into(), model.into())];
        n
    }

    #[test]
    fn a_resolution_updates_the_message_showing_its_alert_and_the_rest_is_posted() {
        let batch = vec![
            of_model(Kind::Resolved, AlertState::Resolved, "a"),
            of_model(Kind::Firing, AlertState::Firing, "b"),
            // Resolved, but no message of ours shows it: posted.
            of_model(Kind::Resolved, AlertState::Resolved, "c"),
            of_model(Kind::Resolved, AlertState::Resolved, "d"),
        ];
        let mut asked = Vec::new();
        let plan = plan(
            batch,
            |n| n,
            |n| {
                asked.push(n.alert_key());
                Ok::<_, ()>(match n.transition.group[0].1.as_str() {
                    "a" | "d" => Some("111.000001".to_string()),
                    _ => None,
                })
            },
            |ts| ts.clone(),
        )
        .unwrap();
        let models = |ns: &[Notification]| ns.iter().map(|n| n.transition.group[0].1.clone()).collect::<Vec<_>>();
        assert_eq!(plan.updates.len(), 1);
        assert_eq!(models(&plan.updates["111.000001"].1), ["a", "d"]);
        assert_eq!(models(&plan.posts), ["b", "c"]);
        // Only resolutions look for a message.
        assert_eq!(asked.len(), 3);

        let mut shown = vec![of_model(Kind::Firing, AlertState::Firing, "a"), of_model(Kind::Firing, AlertState::Firing, "x"), of_model(Kind::Firing, AlertState::Firing, "d")];
        show_resolutions(&mut shown, &plan.updates["111.000001"].1);
        let states: Vec<AlertState> = shown.iter().map(|n| n.transition.state).collect();
        assert_eq!(states, [AlertState::Resolved, AlertState::Firing, AlertState::Resolved]);
    }
}
