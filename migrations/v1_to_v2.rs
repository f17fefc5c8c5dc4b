//! Layout 1 → 2.
//!
//! Layout 1 (the first daemon prototype) kept one JSON document per partition under
//! `p/<topic>:<partition>`: `{"next_offset": N, "state": <PartitionSnapshot>}`, and the
//! alerts as JSON under `alerts`.
//!
//! Layout 2 splits the offset out (`offset/<topic>/<partition, 10 digits>`, i64 big-endian),
//! so offsets can be read — by `state inspect` or lag tooling — without decoding state, and
//! encodes state compactly with postcard (`part/…`, `alerts`) instead of JSON, which was
//! several times larger and slower to write for stores holding many windows.

use serde::Deserialize;

use super::v2_to_v3::V2PartitionSnapshot;
use crate::eval::AlertsSnapshot;

#[derive(Deserialize)]
struct V1Partition {
    next_offset: i64,
    state: V2PartitionSnapshot,
}

pub fn migrate(tree: &sled::Tree, batch: &mut sled::Batch) -> Result<(), String> {
    for item in tree.scan_prefix(b"p/") {
        let (key, value) = item.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&key[2..]).into_owned();
        let (topic, partition) = name.rsplit_once(':').ok_or_else(|| format!("key p/{name}: expected p/<topic>:<partition>"))?;
        let partition: i32 = partition.parse().map_err(|_| format!("key p/{name}: partition is not a number"))?;
        let old: V1Partition = serde_json::from_slice(&value).map_err(|e| format!("key p/{name}: {e}"))?;
        let suffix = format!("{topic}/{partition:010}");
        batch.insert(format!("offset/{suffix}").into_bytes(), &old.next_offset.to_be_bytes());
        batch.insert(format!("part/{suffix}").into_bytes(), postcard::to_allocvec(&old.state).map_err(|e| e.to_string())?);
        batch.remove(key);
    }
    if let Some(alerts) = tree.get(b"alerts").map_err(|e| e.to_string())? {
        let old: AlertsSnapshot = serde_json::from_slice(&alerts).map_err(|e| format!("key alerts: {e}"))?;
        batch.insert(b"alerts".as_slice(), postcard::to_allocvec(&old).map_err(|e| e.to_string())?);
    }
    Ok(())
}
