//! Notifications: alert transitions reach people through Slack and e-mail.
//!
//! The pipeline, each stage one file:
//! 1. [`stage`] — routing (the rule's `notify` list plus its severity's default route) and
//!    flap control ([`flap`]), on event time, in the consumer thread;
//! 2. [`outbox`] — entries written to sled in the *same batch* as the checkpoint holding the
//!    transitions that caused them, each with an idempotency key (alert, transition);
//! 3. [`sender`] — on its own thread and tokio runtime: `group_wait` grouping per receiver,
//!    silences ([`silence`]), rendering ([`render`], minijinja, with [`redact`]ed samples),
//!    delivery ([`slack`], [`email`]) with backoff, jitter and `Retry-After`, give-up; an
//!    entry is marked sent only after the receiver accepted it.
//!
//! Invariant: knows transitions, rule facts and receivers; nothing of Kafka or windows.

pub mod config;
pub mod email;
pub mod flap;
pub mod notification;
pub mod outbox;
pub mod preview;
pub mod redact;
pub mod render;
pub mod sender;
pub mod silence;
pub mod slack;
pub mod stage;
pub mod transport;

pub use config::NotifyConfig;
pub use notification::{Kind, Notification};
pub use outbox::{Fate, LogRecord, Outbox};
pub use render::{Rendered, Templates};
pub use sender::{Sender, SenderHandle};
pub use stage::{Staged, Stager};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Starts the sender on a thread of its own with a single-threaded tokio runtime.
pub fn spawn_sender(sender: Sender, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("llmwatch-notify".into()).spawn(move || rt.block_on(sender.run(stop)))
}
