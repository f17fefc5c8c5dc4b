//! The series table, keyed by group: every rule sharing a `group_by` list keeps its series
//! for one set of label values in one record, so an event costs one table probe and one
//! label comparison per distinct `group_by` list instead of one per rule. (Probes and
//! label comparisons were cache misses on every (rule, event) and dominated the profile.)

use hashbrown::HashTable;

use std::sync::Arc;

use super::lane::Lane;
use super::series::{Labels, Part, Series, ShortLabels, group_hash, label_values, labels_key, labels_match, series_hash};
use crate::field::{Field, Record};
use crate::window::SlidingWindow;

/// Index of a group in the table's slab; stable while the group lives.
pub type GroupIx = u32;

/// The series of one (`group_by` list, label values), one slot per rule with that list.
pub struct Group {
    /// Hash of (list, label values): the index's key.
    hash: u64,
    /// The distinct `group_by` list (the engine's group slot).
    slot: u32,
    labels: Labels,
    /// `labels` in short form, when they fit: what a probe compares.
    short: Option<ShortLabels>,
    /// Indexed by the rule's position among the rules of its list; `None` until the rule
    /// routes an event here (series are created lazily: `absent()` counts from creation).
    pub members: Box<[Option<Series>]>,
    /// The write-back cache of the counting members' newest bin (`lane.rs`); empty when
    /// the list has no counting rules.
    lane: Lane,
}

/// Groups in a slab (so the engine can hold an index across inserts), found through a
/// hash table of slab indices.
#[derive(Default)]
pub struct Groups {
    index: HashTable<GroupIx>,
    slab: Vec<Option<Group>>,
    free: Vec<GroupIx>,
    series: usize,
    /// A lane may hold events its series do not have yet (see [`Groups::flush_lanes`]).
    lanes_used: bool,
}

/// An event's values for one `group_by` list as the table sees them: their hash (the
/// index key) and their short form.
#[derive(Debug, Clone, Copy)]
pub struct EventKey {
    hash: u64,
    short: Option<ShortLabels>,
}

/// The index key of a group from an event's values.
pub fn event_key(slot: u32, group_by: &[Field], rec: &Record<'_>) -> EventKey {
    let (h, short) = group_hash(group_by, rec);
    EventKey { hash: series_hash(slot, h), short }
}

impl Groups {
    /// Live series across all groups.
    pub fn series_count(&self) -> usize {
        self.series
    }

    /// The group of an event's values for `slot`, if it exists; `key` from [`event_key`].
    pub fn find(&self, slot: u32, key: &EventKey, group_by: &[Field], rec: &Record<'_>) -> Option<GroupIx> {
        let slab = &self.slab;
        self.index
            .find(key.hash, |&ix| {
                let g = slab[ix as usize].as_ref().expect("indexed groups live");
                g.slot == slot
                    && match (&key.short, &g.short) {
                        (Some(a), Some(b)) => a == b,
                        // Equal values have equal short forms: one fitting and not the other means different values.
                        (None, None) => labels_match(&g.labels, group_by, rec),
                        _ => false,
                    }
            })
            .copied()
    }

    /// A new group for an event's values (the caller found none).
    pub fn insert_from_event(&mut self, slot: u32, key: &EventKey, group_by: &[Field], rec: &Record<'_>, shape: GroupShape) -> GroupIx {
        self.insert(Group { hash: key.hash, slot, labels: label_values(group_by, rec), short: key.short, members: empty(shape.members), lane: shape.lane() })
    }

    /// The group of stored label values (restore), created when missing.
    pub fn entry_for_labels(&mut self, slot: u32, labels: &[String], shape: GroupShape) -> GroupIx {
        let labels: Labels = Arc::new(labels.iter().map(|l| Box::<str>::from(l.as_str())).collect());
        let (key, short) = labels_key(slot, &labels);
        let slab = &self.slab;
        let found = self.index.find(key, |&ix| {
            let g = slab[ix as usize].as_ref().expect("indexed groups live");
            g.slot == slot && *g.labels == *labels
        });
        match found {
            Some(&ix) => ix,
            None => self.insert(Group { hash: key, slot, short, labels, members: empty(shape.members), lane: shape.lane() }),
        }
    }

    fn insert(&mut self, group: Group) -> GroupIx {
        let key = group.hash;
        let ix = match self.free.pop() {
            Some(ix) => {
                self.slab[ix as usize] = Some(group);
                ix
            }
            None => {
                self.slab.push(Some(group));
                (self.slab.len() - 1) as GroupIx
            }
        };
        let slab = &self.slab;
        self.index.insert_unique(key, ix, |&i| slab[i as usize].as_ref().expect("indexed groups live").hash);
        ix
    }

    pub fn get_mut(&mut self, ix: GroupIx) -> &mut Group {
        self.slab[ix as usize].as_mut().expect("live group index")
    }

    /// The member slots of group `ix`, its labels, and the live-series count to bump when
    /// a slot is filled.
    #[inline]
    pub fn members_mut(&mut self, ix: GroupIx) -> (&mut [Option<Series>], &Labels, &mut usize, &mut Lane) {
        let g = self.slab[ix as usize].as_mut().expect("live group index");
        self.lanes_used |= !g.lane.is_empty();
        (&mut g.members, &g.labels, &mut self.series, &mut g.lane)
    }

    /// The label values of group `ix`.
    pub fn labels(&self, ix: GroupIx) -> &Labels {
        &self.slab[ix as usize].as_ref().expect("live group index").labels
    }

    /// Writes every lane's pending events to its series' windows and invalidates it (see
    /// `lane.rs`): done before anything but the per-event path reads or changes series.
    pub fn flush_lanes(&mut self) {
        if !std::mem::take(&mut self.lanes_used) {
            return;
        }
        for g in self.slab.iter_mut().flatten() {
            if !g.lane.is_flushed() {
                g.lane.flush_all(&mut g.members);
            }
        }
    }

    /// Whether no lane holds events its series lack.
    pub fn lanes_flushed(&self) -> bool {
        !self.lanes_used || self.slab.iter().flatten().all(|g| g.lane.is_flushed())
    }

    /// The series of member `m` of group `ix`, if it exists.
    #[inline]
    pub fn series_mut(&mut self, ix: GroupIx, m: usize) -> Option<&mut Series> {
        self.get_mut(ix).members[m].as_mut()
    }

    /// Stores a new series as member `m` of group `ix` (which must not have one).
    pub fn insert_series(&mut self, ix: GroupIx, m: usize, series: Series) -> &mut Series {
        self.series += 1;
        let slot = &mut self.get_mut(ix).members[m];
        debug_assert!(slot.is_none());
        slot.insert(series)
    }

    /// Approximate bytes held: the index, the groups with their member slots (empty ones
    /// included), and each series' labels, windows and evidence ring.
    pub fn memory_bytes(&self) -> usize {
        let labels = |l: &[Box<str>]| l.iter().map(|s| s.len() + 16).sum::<usize>();
        let index = self.index.capacity() * (std::mem::size_of::<GroupIx>() + 1);
        let slab = self.slab.capacity() * std::mem::size_of::<Option<Group>>();
        let groups: usize = self
            .slab
            .iter()
            .flatten()
            .map(|g| {
                let series: usize = g
                    .members
                    .iter()
                    .flatten()
                    .map(|s| {
                        // The first window is inline (counted in the slot); others are not.
                        let windows: usize = s.parts.iter().map(|p| p.window.memory_bytes() - std::mem::size_of::<SlidingWindow>()).sum::<usize>()
                            + s.parts.iter().skip(1).count() * std::mem::size_of::<Part>();
                        windows + crate::window::thin_vec_bytes(&s.samples)
                    })
                    .sum();
                labels(&g.labels) + g.members.len() * std::mem::size_of::<Option<Series>>() + g.lane.heap_bytes() + series
            })
            .sum();
        index + slab + groups
    }

    pub fn iter(&self) -> impl Iterator<Item = &Series> {
        self.slab.iter().flatten().flat_map(|g| g.members.iter().flatten())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Series> {
        debug_assert!(self.lanes_flushed(), "series read past an unflushed lane");
        self.slab.iter_mut().flatten().flat_map(|g| g.members.iter_mut().flatten())
    }

    /// Keeps the series for which `keep` is true; groups left empty are removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Series) -> bool) {
        debug_assert!(self.lanes_flushed(), "series changed past an unflushed lane");
        for ix in 0..self.slab.len() {
            let Some(g) = self.slab[ix].as_mut() else { continue };
            for m in g.members.iter_mut() {
                if m.as_mut().is_some_and(|s| !keep(s)) {
                    *m = None;
                    self.series -= 1;
                }
            }
            if g.members.iter().all(Option::is_none) {
                let hash = g.hash;
                self.slab[ix] = None;
                self.free.push(ix as GroupIx);
                if let Ok(e) = self.index.find_entry(hash, |&i| i as usize == ix) {
                    e.remove();
                }
            }
        }
    }
}

/// What a new group of one `group_by` list holds.
#[derive(Debug, Clone, Copy)]
pub struct GroupShape {
    /// A slot per rule with the list.
    pub members: usize,
    /// Whether some of those rules count (count, ratio, Wilson) in bins of the same width,
    /// and so share a lane.
    pub lane: bool,
}

impl GroupShape {
    fn lane(self) -> Lane {
        Lane::new(self.members, self.lane)
    }
}

fn empty(members: usize) -> Box<[Option<Series>]> {
    (0..members).map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind};
    use crate::signals::Signals;

    /// A group restored from stored labels is the one an event with those values finds,
    /// whether its values fit the packed short form or not (the two are hashed differently).
    #[test]
    fn restored_groups_are_found_by_their_events() {
        let group_by = [Field::User, Field::Model, Field::LatencyMs];
        let cases = [("u1", "gpt-4o", Some(2500.0)), ("a-user-id-far-too-long-for-the-packed-form", "gpt-4o", None)];
        let mut groups = Groups::default();
        for (user, model, latency) in cases {
            let mut e = Event::new("e1", 0, EventKind::Interaction);
            (e.user, e.request_model, e.latency_ms) = (Some(user.into()), Some(model.into()), latency);
            let signals = Signals::default();
            let rec = Record::new(&e, &signals);
            let labels = [user.to_string(), model.to_string(), latency.map_or(String::new(), |l| l.to_string())];
            let restored = groups.entry_for_labels(3, &labels, GroupShape { members: 2, lane: false });
            let key = event_key(3, &group_by, &rec);
            assert_eq!(key.short.is_some(), user.len() < 20, "{user}");
            assert_eq!(groups.find(3, &key, &group_by, &rec), Some(restored), "{user}");
            assert_eq!(groups.find(4, &event_key(4, &group_by, &rec), &group_by, &rec), None, "another list's group");
        }
    }
}
