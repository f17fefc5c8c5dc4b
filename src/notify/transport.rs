//! What a delivery attempt can report, and the receivers' transports built from config.

use std::time::Duration as StdDuration;

use super::config::{Receiver, ReceiverKind};
use super::email::EmailTransport;
use super::slack::SlackTransport;

/// A failed delivery: whether to retry, and not before when.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryError {
    pub retryable: bool,
    /// The receiver asked to wait this long (Slack's `Retry-After`).
    pub retry_after: Option<StdDuration>,
    pub message: String,
}

impl DeliveryError {
    pub fn transient(message: impl Into<String>) -> Self {
        DeliveryError { retryable: true, retry_after: None, message: message.into() }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError { retryable: false, retry_after: None, message: message.into() }
    }
}

pub enum Transport {
    Slack(SlackTransport),
    Email(EmailTransport),
}

impl Transport {
    /// Builds the transport of a receiver, resolving its secrets.
    pub fn new(r: &Receiver) -> Result<Transport, String> {
        match &r.kind {
            ReceiverKind::Slack(s) => SlackTransport::new(s).map(Transport::Slack),
            ReceiverKind::Email(e) => EmailTransport::new(e).map(Transport::Email),
        }
        .map_err(|e| format!("receiver `{}`: {e}", r.name))
    }
}
