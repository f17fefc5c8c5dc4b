//! Alert transitions: what the engine emits, replay prints and notifications send.

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// The state an alert moved into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, `for` has not elapsed yet.
    Pending,
    /// Firing (also emitted as a reminder every `repeat_interval`).
    Firing,
    /// Was firing; the condition has not held for `keep_firing_for`.
    Resolved,
    /// Was pending; the condition stopped holding before `for` elapsed.
    Inactive,
}

impl AlertState {
    /// Whether this transition is one a person is told about.
    pub fn is_notifiable(self) -> bool {
        matches!(self, AlertState::Firing | AlertState::Resolved)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
            AlertState::Inactive => "inactive",
        }
    }
}

/// One alert transition: rule, group labels, new state, when, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub rule: String,
    /// The `group_by` labels and their values (in `group_by` order).
    pub group: Vec<(String, String)>,
    pub state: AlertState,
    /// Event time of the transition.
    pub at_ms: Millis,
    /// The aggregate at that time (`None` when undefined, e.g. an empty window).
    pub value: Option<f64>,
    pub threshold: f64,
    /// Events in the window at that time.
    pub events: u64,
    /// A few recent events in the window, as evidence.
    pub samples: Vec<Sample>,
    /// Set on reminders (`repeat_interval`) of an alert already firing.
    pub reminder: bool,
    /// When the alert first fired (for firing, reminders and resolved).
    pub firing_since_ms: Option<Millis>,
}

/// One sampled event: its id and a short excerpt of its text (unredacted: redaction is the
/// presentation's job, see `notify::redact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SampleRepr")]
pub struct Sample {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// Outbox entries written before excerpts existed hold bare ids.
#[derive(Deserialize)]
#[serde(untagged)]
enum SampleRepr {
    Id(String),
    Full {
        id: String,
        #[serde(default)]
        excerpt: Option<String>,
    },
}

impl From<SampleRepr> for Sample {
    fn from(r: SampleRepr) -> Sample {
        match r {
            SampleRepr::Id(id) => Sample { id, excerpt: None },
            SampleRepr::Full { id, excerpt } => Sample { id, excerpt },
        }
    }
}

impl Sample {
    /// Decodes the packed form the engine keeps (see [`pack_sample`]).
    pub fn unpack(packed: &str) -> Sample {
        match packed.split_once('\0') {
            Some((id, excerpt)) => Sample { id: id.to_string(), excerpt: Some(collapse_whitespace(excerpt)) },
            None => Sample { id: packed.to_string(), excerpt: None },
        }
    }
}

/// Every run of whitespace (and NUL) as one space: an excerpt reads as one line.
fn collapse_whitespace(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    let mut last_space = false;
    for c in text.chars() {
        let space = c.is_whitespace() || c == '\0';
        if !(space && last_space) {
            s.push(if space { ' ' } else { c });
        }
        last_space = space;
    }
    s
}

/// Longest excerpt kept per sampled event, in characters.
pub const EXCERPT_CHARS: usize = 160;

/// Packs an event id and an excerpt of its text into one string, `id NUL excerpt`: one
/// allocation per event, shared by every rule that samples it, and the same
/// `(time, string)` shape in checkpoints as bare ids had (so the layout did not change).
/// An id containing NUL keeps no excerpt rather than being split wrongly. The excerpt is
/// the text's first [`EXCERPT_CHARS`] characters as they are: whitespace is collapsed by
/// [`Sample::unpack`], because most packed samples are never read and this runs on nearly
/// every event.
pub fn pack_sample(id: &str, text: Option<&str>) -> std::sync::Arc<str> {
    let Some(text) = text.filter(|t| !t.trim().is_empty() && !id.contains('\0')) else {
        return std::sync::Arc::from(id);
    };
    let cut = crate::signals::prefix_chars(text, EXCERPT_CHARS);
    let ellipsis = if cut.len() < text.len() { "…" } else { "" };
    // Assembled in a reused buffer, then copied once into the shared string: `concat` then
    // `Arc::from` was two allocations and two copies per sampled event.
    thread_local! { static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) }; }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        buf.extend([id, "\0", cut, ellipsis]);
        let packed = std::sync::Arc::from(buf.as_str());
        // Ids have no length limit of their own: do not keep an outsized buffer around.
        if buf.capacity() > 4096 {
            *buf = String::new();
        }
        packed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_pack_and_unpack() {
        let p = pack_sample("e1", Some("Bonjour,\n\n  je voudrais"));
        assert_eq!(Sample::unpack(&p), Sample { id: "e1".into(), excerpt: Some("Bonjour, je voudrais".into()) });
        assert_eq!(Sample::unpack(&pack_sample("e2", None)), Sample { id: "e2".into(), excerpt: None });
        let long = "x".repeat(500);
        let e = Sample::unpack(&pack_sample("e3", Some(&long))).excerpt.unwrap();
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        // Non-ASCII text, whitespace of every kind, and the cut by characters, not bytes.
        let french = format!("Désolé,\t\u{a0}\u{2003}je\x0b\x0c\r\nne peux pas. {}", "é".repeat(300));
        let e = Sample::unpack(&pack_sample("e4", Some(&french))).excerpt.unwrap();
        assert!(e.starts_with("Désolé, je ne peux pas. éé"), "{e}");
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1 - 5, "five whitespace runs collapsed: {e}");
        let short = Sample::unpack(&pack_sample("e5", Some(" a\r\n\tb\0c "))).excerpt.unwrap();
        assert_eq!(short, " a b c ");
    }

    #[test]
    fn old_outbox_samples_decode_as_bare_ids() {
        let s: Vec<Sample> = serde_json::from_str(r#"["a", {"id": "b", "excerpt": "hi"}]"#).unwrap();
        assert_eq!(s[0], Sample { id: "a".into(), excerpt: None });
        assert_eq!(s[1].excerpt.as_deref(), Some("hi"));
    }
}
