//! One (rule, group) series: its labels, window, alert phase and recent evidence.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alert::Phase;
use crate::field::{Field, Record, Value};
use crate::time::Millis;
use crate::window::SlidingWindow;

/// A series in the engine's table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// Hash of (rule index, label values); the table's key.
    #[serde(skip)]
    pub hash: u64,
    pub rule: u32,
    pub labels: Box<[Box<str>]>,
    pub window: SlidingWindow,
    pub phase: Phase,
    /// Recent event ids (newest last), evidence for transitions.
    pub samples: VecDeque<(Millis, Arc<str>)>,
}

impl Series {
    pub fn push_sample(&mut self, t: Millis, id: &Arc<str>, max: usize) {
        if max == 0 {
            return;
        }
        if self.samples.len() == max {
            self.samples.pop_front();
        }
        self.samples.push_back((t, id.clone()));
    }

    /// Sample ids still inside the window ending at `now`.
    pub fn samples_since(&self, since: Millis) -> Vec<String> {
        self.samples.iter().filter(|(t, _)| *t > since).map(|(_, id)| id.to_string()).collect()
    }

    /// Whether the stored labels equal the event's group values, without allocating.
    pub fn labels_match(&self, group_by: &[Field], rec: &Record<'_>) -> bool {
        group_by.iter().zip(self.labels.iter()).all(|(f, label)| {
            let mut buf = LabelBuf::default();
            buf.render(rec.get(f)) == &**label
        })
    }
}

/// The hash of a series key, from the rule index and the event's group values.
pub fn series_hash(rule: u32, group_by: &[Field], rec: &Record<'_>) -> u64 {
    use xxhash_rust::xxh3::xxh3_64_with_seed;
    let mut h = xxh3_64_with_seed(&rule.to_le_bytes(), 0x9e37_79b9);
    for f in group_by {
        let mut buf = LabelBuf::default();
        h = xxh3_64_with_seed(buf.render(rec.get(f)).as_bytes(), h);
    }
    h
}

/// Hash of stored labels; equal to [`series_hash`] for the event they came from.
pub fn labels_hash(rule: u32, labels: &[Box<str>]) -> u64 {
    use xxhash_rust::xxh3::xxh3_64_with_seed;
    let mut h = xxh3_64_with_seed(&rule.to_le_bytes(), 0x9e37_79b9);
    for l in labels {
        h = xxh3_64_with_seed(l.as_bytes(), h);
    }
    h
}

/// Owned label values of an event (only when a new series is created).
pub fn label_values(group_by: &[Field], rec: &Record<'_>) -> Box<[Box<str>]> {
    group_by
        .iter()
        .map(|f| {
            let mut buf = LabelBuf::default();
            Box::<str>::from(buf.render(rec.get(f)))
        })
        .collect()
}

/// Renders a group value as label text on the stack: strings as they are, null as "",
/// numbers and booleans in their shortest form.
#[derive(Default)]
struct LabelBuf {
    bytes: [u8; 32],
}

impl LabelBuf {
    fn render<'a>(&'a mut self, v: Value<'a>) -> &'a str {
        match v {
            Value::Str(s) => s,
            Value::Null => "",
            Value::Bool(true) => "true",
            Value::Bool(false) => "false",
            Value::Num(n) => {
                let mut cursor = std::io::Cursor::new(&mut self.bytes[..]);
                let _ = write!(cursor, "{n}");
                let len = cursor.position() as usize;
                std::str::from_utf8(&self.bytes[..len]).unwrap_or("")
            }
        }
    }
}
