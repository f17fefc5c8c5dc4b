//! Layout 2 → 3.
//!
//! Layout 2 kept each partition's state as one value (`part/…`: ingest state and every
//! window) and every alert in the engine-wide `alerts`, so each checkpoint rewrote all of
//! it — about 250 ms for 100 000 windows.
//!
//! Layout 3 keeps one key per window (`win/<topic>/<partition>/<rule, labels>`), so a
//! checkpoint writes only the windows changed since the previous one; the ingest state is
//! split into `part/…` (clock, settings, conversation memory) and its id and interaction
//! memories as append-only logs in chunks (`dlog/…`, `alog/…`), of which a checkpoint
//! writes only the chunks that grew. The alert of a series fed by one partition only is stored with
//! that partition's window (it moves with the partition on a rebalance); `alerts` keeps
//! the clock, the tick schedule and the alerts of series fed by several partitions.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::eval::{AlertRecord, AlertsSnapshot, PartitionState, WindowRecord};
use crate::store::{insert_state, window_key};
use crate::window::{SlidingWindow, WindowSpec};

/// A partition's state as layout 2 stored it (frozen: the current types may change).
#[derive(Serialize, Deserialize)]
pub struct V2PartitionSnapshot {
    pub state: PartitionState,
    pub windows: Vec<V2WindowRecord>,
}

#[derive(Serialize, Deserialize)]
pub struct V2WindowRecord {
    pub rule: String,
    pub labels: Vec<String>,
    pub spec: WindowSpec,
    pub window: SlidingWindow,
}

pub fn migrate(tree: &sled::Tree, batch: &mut sled::Batch) -> Result<(), String> {
    let mut parts: Vec<(String, V2PartitionSnapshot)> = Vec::new();
    for item in tree.scan_prefix(b"part/") {
        let (key, value) = item.map_err(|e| e.to_string())?;
        let suffix = String::from_utf8_lossy(&key["part/".len()..]).into_owned();
        let snap: V2PartitionSnapshot = postcard::from_bytes(&value).map_err(|e| format!("key part/{suffix}: {e}"))?;
        parts.push((suffix, snap));
    }
    let mut alerts: AlertsSnapshot = match tree.get(b"alerts").map_err(|e| e.to_string())? {
        Some(v) => postcard::from_bytes(&v).map_err(|e| format!("key alerts: {e}"))?,
        None => AlertsSnapshot::default(),
    };
    // A series of a grouped rule with a window in exactly one partition is that
    // partition's: its alert moves into the window record.
    let mut feeders: HashMap<(&str, &[String]), usize> = HashMap::new();
    for (_, snap) in &parts {
        for w in &snap.windows {
            *feeders.entry((w.rule.as_str(), w.labels.as_slice())).or_default() += 1;
        }
    }
    let owned: Vec<(String, Vec<String>)> = feeders.iter().filter(|((_, l), n)| **n == 1 && !l.is_empty()).map(|((r, l), _)| (r.to_string(), l.to_vec())).collect();
    let mut moved: HashMap<(String, Vec<String>), AlertRecord> = HashMap::new();
    alerts.alerts.retain(|a| {
        let key = (a.rule.clone(), a.labels.clone());
        if owned.contains(&key) {
            moved.insert(key, a.clone());
            return false;
        }
        true
    });
    for (suffix, snap) in parts {
        insert_state(batch, &suffix, &snap.state);
        for w in snap.windows {
            let alert = moved.remove(&(w.rule.clone(), w.labels.clone()));
            let record = WindowRecord { rule: w.rule, labels: w.labels, spec: w.spec, window: w.window, alert };
            batch.insert(window_key(&suffix, &record.rule, &record.labels), postcard::to_allocvec(&record).map_err(|e| e.to_string())?);
        }
    }
    batch.insert(b"alerts".as_slice(), postcard::to_allocvec(&alerts).map_err(|e| e.to_string())?);
    Ok(())
}
