//! The sled store: checkpoints round-trip, the previous layout migrates, a newer one is
//! refused.

use std::sync::Arc;

use llmwatch::eval::{Engine, EngineConfig};
use llmwatch::store::{Checkpoint, LAYOUT_VERSION, Store, StoreError, TopicPartition};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_store_in_the_previous_layout_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store_v1"), &path);
    let store = Store::open(&path).unwrap();
    let report = store.inspect().unwrap();
    assert_eq!(report.layout, LAYOUT_VERSION);
    let offsets: Vec<(String, Option<i64>)> = report.partitions.iter().map(|p| (p.tp.to_string(), p.next_offset)).collect();
    assert_eq!(offsets, [("llm-events/0".to_string(), Some(1234)), ("llm-events/1".to_string(), Some(987))]);
    assert!(report.partitions.iter().all(|p| p.windows.iter().map(|(_, n)| n).sum::<usize>() > 10));
    let alerts = report.alerts.expect("alerts migrated");
    assert!(alerts.alerts.iter().any(|a| a.rule == "refusal_rate" && a.phase != llmwatch::eval::Phase::Inactive));
    // The old keys are gone; the migrated state restores into an engine.
    assert!(store.tree().scan_prefix(b"p/").next().is_none());
    let (offset, snap) = store.partition(&TopicPartition::new("llm-events", 0)).unwrap().unwrap();
    assert_eq!(offset, 1234);
    let mut engine = Engine::new(Arc::new(llmwatch::demo::shipped_rules().unwrap()), EngineConfig::default());
    engine.restore_alerts(alerts);
    engine.restore_partition(0, snap);
    assert!(engine.series_count() > 10);
    drop(store);
    // Opening again is a no-op.
    assert_eq!(Store::open(&path).unwrap().inspect().unwrap().layout, LAYOUT_VERSION);
}

#[test]
fn a_newer_layout_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.tree().insert(b"meta/layout", &99u32.to_be_bytes()).unwrap();
        store.tree().flush().unwrap();
    }
    let err = Store::open(dir.path()).err().expect("refused");
    assert!(matches!(err, StoreError::NewerLayout { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("layout version 99, newer than this llmwatch supports (2)"), "{err}");
}

#[test]
fn a_checkpoint_is_read_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Arc::new(llmwatch::demo::shipped_rules().unwrap());
    let mut engine = Engine::new(rules, EngineConfig::default());
    let mut out = Vec::new();
    for e in llmwatch::demo::Scenario::baseline(0, 20 * 60_000, 1).events() {
        engine.process_from(3, e, &mut out);
    }
    let tp = TopicPartition::new("events", 3);
    let cp = Checkpoint { partitions: vec![(tp.clone(), 4242, engine.snapshot_partition(3).unwrap())], alerts: Some(engine.snapshot_alerts()) };
    {
        let store = Store::open(dir.path()).unwrap();
        let bytes = store.checkpoint(&cp, |_| {}).unwrap();
        assert!(bytes > 1000);
    }
    let store = Store::open(dir.path()).unwrap();
    let (offset, snap) = store.partition(&tp).unwrap().unwrap();
    assert_eq!(offset, 4242);
    assert_eq!(snap.windows, cp.partitions[0].2.windows);
    assert_eq!(store.alerts().unwrap().unwrap(), engine.snapshot_alerts());
    assert!(store.partition(&TopicPartition::new("events", 4)).unwrap().is_none());
}

#[test]
fn state_inspect_prints_partitions_offsets_windows_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store_v1"), &path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(layout 2,"), "{text}");
    assert!(text.contains("partitions: 2"), "{text}");
    assert!(text.contains("llm-events/0             next offset 1234"), "{text}");
    assert!(text.contains("      refusal_rate                     "), "{text}");
    assert!(text.contains("refusal_rate                     gpt-4o-mini"), "{text}");
    assert!(text.contains("outbox: 0 notification(s) undelivered"), "{text}");
}
