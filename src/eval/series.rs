//! One (rule, group) series: its labels, window, alert phase and recent evidence.

use std::io::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alert::Phase;
use super::transition::Sample;
use super::parts::Parts;
use crate::field::{Field, Record, Value};
use crate::time::Millis;
use crate::window::{Evaluation, SlidingWindow, WindowSpec};

/// The input partition an event came from (an index the caller assigns; replay uses 0).
pub type PartitionId = u32;

/// One partition's share of a series' window. Windows are kept per partition so that a
/// partition's state can be checkpointed, dropped on revoke and restored on assignment
/// without touching the others'; evaluation merges them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[repr(C)]
pub struct Part {
    pub partition: PartitionId,
    /// Changed since the last checkpoint.
    #[serde(skip)]
    pub dirty: bool,
    pub window: SlidingWindow,
}

/// A series in the engine's table.
///
/// `repr(C)`, in the order the per-event path reads them: the tick and sample clocks, the
/// alert phase and the first part's header fill the first cache line, and its window's hot
/// fields (see [`SlidingWindow`]) the second, so adding to a counting window touches two of
/// the series' four cache lines. The evidence ring, read when a sample is taken, comes
/// after. Every byte counts: a group's series are streamed from memory whenever the group
/// is updated. In Rust's own order the fields one event reads were spread over all of a
/// series' cache lines. Aligned to a cache line, which costs no padding at 256 bytes, so
/// that "first line" and "second line" hold whatever the allocator.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Series {
    /// The next tick boundary this series has not been evaluated at. Kept per series so a
    /// series fed by a partition consumed behind the others catches up on the ticks it
    /// missed, in order, instead of skipping them (see `Engine::tick`).
    pub next_tick: Millis,
    /// Event time from which the next event is kept as a sample: `Millis::MIN` while the
    /// evidence ring has room, else its newest sample's time plus the rule's spacing. One
    /// field in the series' first cache line, so the per-event check reads neither the
    /// ring's heap header nor another line of the series.
    next_sample_ms: Millis,
    pub phase: Phase,
    pub parts: Parts,
    /// Recent events (newest last), packed id + excerpt (`transition::pack_sample`),
    /// evidence for transitions. A `ThinVec` (8 bytes, a `VecDeque` is 32): every byte of a
    /// series is streamed from memory when its group is updated, and with at most
    /// `samples` (5) entries, evicting the oldest by shifting costs nothing that matters.
    pub(super) samples: thin_vec::ThinVec<(Millis, Arc<str>)>,
    /// Alert phase or samples changed since the last checkpoint.
    pub alert_dirty: bool,
    pub rule: u32,
    /// Shared with the series' group (and its other series): no copy per series.
    pub labels: Labels,
    /// When the series was created: the start of silence for `absent()`.
    pub created_ms: Millis,
}

impl Series {
    pub fn new(rule: u32, labels: Labels, created_ms: Millis, next_tick: Millis) -> Self {
        Series { rule, labels, parts: Parts::default(), created_ms, phase: Phase::Inactive, samples: thin_vec::ThinVec::new(), next_sample_ms: Millis::MIN, alert_dirty: true, next_tick }
    }

    /// The partition that alone feeds this series, if one does: its alert then moves with
    /// that partition (checkpoint, revoke, restore).
    pub fn owner(&self) -> Option<PartitionId> {
        let mut it = self.parts.iter();
        match (it.next(), it.next()) {
            (Some(one), None) => Some(one.partition),
            _ => None,
        }
    }

    /// The newest of its creation, the event times in its windows and the times its alert
    /// phase records: from then on, only the passing of time changes its state.
    pub fn last_activity_ms(&self) -> Millis {
        let events = self.parts.iter().filter_map(|p| p.window.last_event_ms());
        events.chain(self.phase.latest_ms()).fold(self.created_ms, Millis::max)
    }

    /// Marks everything about the series changed: its set of parts changed, so its alert
    /// may have moved between a partition's record and the engine-wide one.
    pub fn touch_all(&mut self) {
        self.alert_dirty = true;
        self.parts.iter_mut().for_each(|p| p.dirty = true);
    }

    /// The window of `partition`, created empty when missing.
    #[inline]
    pub fn part_mut(&mut self, partition: PartitionId, now: Millis) -> &mut Part {
        if self.parts.get_mut(partition).is_none() {
            self.add_part(partition, now);
        }
        self.parts.get_mut(partition).expect("just added")
    }

    #[cold]
    #[inline(never)]
    fn add_part(&mut self, partition: PartitionId, now: Millis) {
        self.parts.push(Part { partition, window: SlidingWindow::new(now), dirty: true });
        self.touch_all();
    }

    /// The aggregate over every partition's window at `now`; the value is left `None`
    /// when fewer than `min_events` events are in the window (see
    /// [`SlidingWindow::evaluate_from`]).
    pub fn evaluate(&mut self, spec: &WindowSpec, now: Millis, min_events: u64) -> Evaluation {
        match self.parts.split_first_mut() {
            None => SlidingWindow::new(self.created_ms).evaluate(spec, now),
            Some((one, [])) => one.window.evaluate_from(spec, now, min_events),
            Some((first, rest)) => {
                let mut merged = first.window.clone();
                for p in rest.iter() {
                    merged.merge(spec, &p.window);
                }
                merged.evaluate(spec, now)
            }
        }
    }

    /// Event time from which the next event is kept as a sample (see the field).
    #[inline]
    pub fn next_sample_ms(&self) -> Millis {
        self.next_sample_ms
    }

    /// Whether an event at `t` would be kept as a sample (see [`Series::push_sample`]).
    #[inline]
    pub fn wants_sample(&self, t: Millis, max: usize) -> bool {
        max > 0 && t >= self.next_sample_ms
    }

    /// Keeps `id` as evidence when [`Series::wants_sample`] says so, evicting the oldest.
    /// At most one sample per `spacing` of event time once the ring is full: a busy series
    /// keeps recent evidence without copying every event into it (the copy was a shared
    /// pointer's atomic count on every (rule, event)).
    pub fn push_sample(&mut self, t: Millis, id: Arc<str>, max: usize, spacing: Millis) {
        if self.samples.len() >= max {
            let excess = self.samples.len() + 1 - max;
            self.samples.drain(..excess.min(self.samples.len()));
        } else if self.samples.capacity() == 0 {
            // The ring's final size at once: growing 0 → 4 → 8 was two allocations and a
            // copy for every new series, and three slots never used.
            self.samples.reserve_exact(max);
        }
        self.samples.push((t, id));
        self.next_sample_ms = next_sample_ms(&self.samples, max, spacing);
    }

    /// Replaces the evidence ring with checkpointed samples (oldest first).
    pub fn restore_samples(&mut self, samples: Vec<(Millis, String)>, max: usize, spacing: Millis) {
        self.samples = samples.into_iter().map(|(t, id)| (t, Arc::<str>::from(id))).collect();
        self.next_sample_ms = next_sample_ms(&self.samples, max, spacing);
    }

    /// Samples still inside the window ending at `now`.
    pub fn samples_since(&self, since: Millis) -> Vec<Sample> {
        self.samples.iter().filter(|(t, _)| *t > since).map(|(_, packed)| Sample::unpack(packed)).collect()
    }
}

/// See [`Series::next_sample_ms`]: any time while the ring has room, else `spacing` after
/// its newest sample.
fn next_sample_ms(samples: &[(Millis, Arc<str>)], max: usize, spacing: Millis) -> Millis {
    match samples.last() {
        Some((last, _)) if samples.len() >= max => last.saturating_add(spacing),
        _ => Millis::MIN,
    }
}

/// Whether stored labels equal an event's group values, without allocating.
pub fn labels_match(labels: &[Box<str>], group_by: &[Field], rec: &Record<'_>) -> bool {
    group_by.iter().zip(labels.iter()).all(|(f, label)| {
        let mut buf = LabelBuf::default();
        buf.render(rec.get(f)) == &**label
    })
}

/// The hash of an event's group values, and the values themselves in short form when they
/// fit ([`ShortLabels`]). Rules sharing a `group_by` list share both, so the engine computes
/// them once per list and event.
pub fn group_hash(group_by: &[Field], rec: &Record<'_>) -> (u64, Option<ShortLabels>) {
    let mut short = ShortLabels::default();
    for f in group_by {
        let mut buf = LabelBuf::default();
        if !short.push(buf.render(rec.get(f))) {
            // Rare (values over 31 bytes in all): hash each value in turn, as `labels_key`.
            let hash = group_by.iter().fold(CHAIN_SEED, |h, f| chain(h, LabelBuf::default().render(rec.get(f))));
            return (hash, None);
        }
    }
    (short.hash(), Some(short))
}

/// Label values too long for [`ShortLabels`] are hashed one after the other: `chain` folded
/// over them from `CHAIN_SEED`.
const CHAIN_SEED: u64 = 0x9e37_79b9;

fn chain(h: u64, value: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(value.as_bytes(), h)
}

/// A group's label values packed into 32 bytes (each as its length and its bytes), kept in
/// the group record itself: a probe compares them there, without following the labels'
/// two pointers — two dependent cache misses on every probe of a group not in cache. Most
/// label sets fit (a model name, a tenant, an account id); the others compare the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShortLabels {
    len: u8,
    bytes: [u8; 31],
}

impl ShortLabels {
    /// Appends `v`; false (and unchanged) when it does not fit.
    #[inline]
    fn push(&mut self, v: &str) -> bool {
        let (at, n) = (self.len as usize, v.len());
        if at + 1 + n > self.bytes.len() {
            return false;
        }
        self.bytes[at] = n as u8;
        self.bytes[at + 1..at + 1 + n].copy_from_slice(v.as_bytes());
        self.len = (at + 1 + n) as u8;
        true
    }

    /// One hash of the packed values: one call per group probe instead of one per value.
    fn hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.bytes[..self.len as usize])
    }

    /// The short form of stored labels, equal to [`group_hash`]'s for the same values.
    pub fn of(labels: &[Box<str>]) -> Option<Self> {
        let mut short = ShortLabels::default();
        labels.iter().all(|l| short.push(l)).then_some(short)
    }
}

/// A table key: a group hash mixed with a small index (the `group_by` list).
pub fn series_hash(index: u32, group_hash: u64) -> u64 {
    group_hash ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Table key and short form of stored labels: equal to those of the event they came from
/// ([`series_hash`] of [`group_hash`]).
pub fn labels_key(index: u32, labels: &[Box<str>]) -> (u64, Option<ShortLabels>) {
    let short = ShortLabels::of(labels);
    let h = short.map_or_else(|| labels.iter().fold(CHAIN_SEED, |h, l| chain(h, l)), |s| s.hash());
    (series_hash(index, h), short)
}

/// Owned label values of an event (only when a new group is created).
pub fn label_values(group_by: &[Field], rec: &Record<'_>) -> Labels {
    let values: Box<[Box<str>]> = group_by
        .iter()
        .map(|f| {
            let mut buf = LabelBuf::default();
            Box::<str>::from(buf.render(rec.get(f)))
        })
        .collect();
    Arc::new(values)
}

/// A group's label values, shared by its series. A thin pointer (8 bytes; `Arc<[_]>` is
/// 16): every byte of a series is streamed from memory when its group is updated, and the
/// labels are read only for transitions and checkpoints.
pub type Labels = Arc<Box<[Box<str>]>>;

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
                // -0 and 0 are one group.
                let n = if n == 0.0 { 0.0 } else { n };
                let mut cursor = std::io::Cursor::new(&mut self.bytes[..]);
                // Numbers whose plain form does not fit (1e40 is 41 digits) are written in
                // exponent form, which always does: cut to 32 bytes, 1e40 and 1e41 once
                // shared a label and a group.
                if write!(cursor, "{n}").is_err() {
                    cursor.set_position(0);
                    let _ = write!(cursor, "{n:e}");
                }
                let len = cursor.position() as usize;
                std::str::from_utf8(&self.bytes[..len]).unwrap_or("")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series::new(0, Labels::default(), 0, 0)
    }

    /// Every event is a sample until the ring is full, then one per `spacing` of event
    /// time, evicting the oldest; a ring restored from a checkpoint continues the same way.
    #[test]
    fn keeps_every_event_until_full_then_one_per_spacing() {
        let (max, spacing) = (3, 100);
        let mut s = series();
        for t in [0, 1, 2] {
            assert!(s.wants_sample(t, max), "room left at {t}");
            s.push_sample(t, Arc::from(format!("e{t}")), max, spacing);
        }
        assert!(!s.wants_sample(3, max));
        assert!(!s.wants_sample(101, max));
        assert!(s.wants_sample(102, max), "spacing after the newest sample");
        s.push_sample(102, Arc::from("e102"), max, spacing);
        let ids: Vec<String> = s.samples_since(Millis::MIN).into_iter().map(|x| x.id).collect();
        assert_eq!(ids, ["e1", "e2", "e102"]);

        let mut restored = series();
        restored.restore_samples(s.samples.iter().map(|(t, id)| (*t, id.to_string())).collect(), max, spacing);
        assert!(!restored.wants_sample(201, max) && restored.wants_sample(202, max));
        // A larger ring configured since the checkpoint has room again.
        restored.restore_samples(vec![(5, "e5".into())], 2, spacing);
        assert!(restored.wants_sample(6, 2));
        assert!(!series().wants_sample(0, 0), "no samples configured");
    }

    /// A group's member series are streamed from memory on every event of the group, so
    /// their size is throughput (docs/performance.md): four cache lines, no more.
    #[test]
    fn a_series_fits_in_four_cache_lines() {
        assert_eq!(std::mem::size_of::<Series>(), 256);
        assert_eq!(std::mem::align_of::<Series>(), 64, "each series starts a cache line");
        assert_eq!(std::mem::size_of::<Option<Series>>(), std::mem::size_of::<Series>());
    }

    /// What every update reads (tick and sample clocks, alert phase, the first part's
    /// partition and dirty flag) fills the first cache line, and the window begins the
    /// second, whose first 64 bytes hold what a counting update touches (the window's own
    /// layout test): two cache lines per (rule, event), not four.
    #[test]
    fn an_update_reads_the_first_two_cache_lines() {
        use std::mem::offset_of;
        let first_part = offset_of!(Series, parts) + Parts::FIRST_OFFSET;
        assert_eq!(first_part + offset_of!(Part, window), 64);
        for hot in [offset_of!(Series, next_tick), offset_of!(Series, next_sample_ms), offset_of!(Series, phase), offset_of!(Series, parts)] {
            assert!(hot < 64, "{hot}");
        }
        assert!(offset_of!(Series, samples) >= 128, "read only when a sample is taken");
    }
}
