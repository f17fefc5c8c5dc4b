//! Layout migrations, one version step at a time. Each step lives in `migrations/` at the
//! repository root (one file per step, `vN_to_vM.rs`) and is compiled in here.

use super::StoreError;

/// The layout this build writes.
pub const LAYOUT_VERSION: u32 = 3;

#[path = "../../migrations/v1_to_v2.rs"]
mod v1_to_v2;
#[path = "../../migrations/v2_to_v3.rs"]
mod v2_to_v3;

/// Applies every step from `from` up to [`LAYOUT_VERSION`], each in its own batch that
/// also records the new version, so a crash mid-way resumes at the last finished step.
pub fn run(tree: &sled::Tree, from: u32) -> Result<(), StoreError> {
    let mut version = from;
    while version < LAYOUT_VERSION {
        let mut batch = sled::Batch::default();
        match version {
            1 => v1_to_v2::migrate(tree, &mut batch).map_err(|reason| StoreError::Migration { from: 1, to: 2, reason })?,
            2 => v2_to_v3::migrate(tree, &mut batch).map_err(|reason| StoreError::Migration { from: 2, to: 3, reason })?,
            v => {
                return Err(StoreError::Migration { from: v, to: v + 1, reason: "no migration from this version (it was never released)".into() });
            }
        }
        version += 1;
        batch.insert(b"meta/layout".as_slice(), &version.to_be_bytes());
        tree.apply_batch(batch)?;
        tracing::info!(message = "Migrated the state store layout.", to = version);
    }
    Ok(())
}
