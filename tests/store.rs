//! The sled store: checkpoints round-trip, the previous layout migrates, a newer one is
//! refused.

use std::sync::Arc;

use llmwatch::eval::{Engine, EngineConfig};
use llmwatch::store::{Checkpoint, LAYOUT_VERSION, PartitionCheckpoint, Store, StoreError, TopicPartition};

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
fn a_store_in_layout_1_is_migrated_on_open() {
    check_migrated("tests/fixtures/store_v1");
}

/// Layout 2 (one value per partition) → 3 (one key per window): the fixture is the v1
/// one as llmwatch of layout 2 migrated it.
#[test]
fn a_store_in_layout_2_is_migrated_on_open() {
    check_migrated("tests/fixtures/store_v2");
}

fn check_migrated(fixture: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture), &path);
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
    assert_eq!(snap.windows.len(), 61);
    assert!(store.tree().scan_prefix(b"win/llm-events/0000000001/").count() == 61);
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
    assert!(err.to_string().contains(&format!("layout version 99, newer than this llmwatch supports ({LAYOUT_VERSION})")), "{err}");
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
    let changes = engine.partition_changes(3, true);
    let cp = Checkpoint { partitions: vec![PartitionCheckpoint { tp: tp.clone(), next_offset: 4242, changes }], alerts: Some(engine.snapshot_alerts()) };
    {
        let store = Store::open(dir.path()).unwrap();
        let bytes = store.checkpoint(&cp, |_| {}).unwrap();
        assert!(bytes > 1000);
    }
    let store = Store::open(dir.path()).unwrap();
    let (offset, snap) = store.partition(&tp).unwrap().unwrap();
    assert_eq!(offset, 4242);
    let sorted = |mut w: Vec<llmwatch::eval::WindowRecord>| {
        w.sort_by(|a, b| (&a.rule, &a.labels).cmp(&(&b.rule, &b.labels)));
        w
    };
    assert_eq!(sorted(snap.windows), sorted(engine.snapshot_partition(3).unwrap().windows));
    assert_eq!(store.alerts().unwrap().unwrap(), engine.snapshot_alerts());
    assert!(store.partition(&TopicPartition::new("events", 4)).unwrap().is_none());
    // Stale state cleared (another member moved the partition on) under a newer offset:
    // nothing of it is left to be restored as valid.
    let cleared = Checkpoint { partitions: vec![PartitionCheckpoint { tp: tp.clone(), next_offset: 9000, changes: Some(llmwatch::eval::PartitionChanges::cleared()) }], alerts: None };
    store.checkpoint(&cleared, |_| {}).unwrap();
    assert!(store.partition(&tp).unwrap().is_none());
    let keys: Vec<String> = store.tree().iter().keys().map(|k| String::from_utf8_lossy(&k.unwrap()).into_owned()).filter(|k| k.contains("events/0000000003")).collect();
    assert_eq!(keys, ["offset/events/0000000003"], "{keys:?}");
}

/// Incremental checkpoints: only what changed is written, forgotten windows are deleted,
/// and what the store holds afterwards always equals a full snapshot.
#[test]
fn incremental_checkpoints_write_only_changes_and_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut engine = Engine::new(Arc::new(llmwatch::demo::shipped_rules().unwrap()), EngineConfig::default());
    engine.track_removed();
    let tp = TopicPartition::new("events", 0);
    let mut out = Vec::new();
    let scenario = llmwatch::demo::Scenario::baseline(0, 150 * 60_000, 2).with_incident(llmwatch::demo::IncidentKind::Refusals, Some("gpt-4o-mini"), 125 * 60_000, 145 * 60_000);
    let all: Vec<_> = scenario.events().collect();
    let (events, later) = all.split_at(all.len() * 4 / 5);
    let mut full = true;
    let sorted = |mut w: Vec<llmwatch::eval::WindowRecord>| {
        w.sort_by(|a, b| (&a.rule, &a.labels).cmp(&(&b.rule, &b.labels)));
        w
    };
    let mut sizes = Vec::new();
    // Big steps and small ones (a small step leaves most windows untouched).
    let mut chunks = Vec::new();
    let mut rest = events;
    while !rest.is_empty() {
        let n = [997, 5, 2][chunks.len() % 3].min(rest.len());
        chunks.push(&rest[..n]);
        rest = &rest[n..];
    }
    for (i, chunk) in chunks.into_iter().enumerate() {
        for e in chunk {
            engine.process_from(0, e.clone(), &mut out);
        }
        let changes = engine.partition_changes(0, full);
        full = false;
        let cp = Checkpoint { partitions: vec![PartitionCheckpoint { tp: tp.clone(), next_offset: i as i64, changes }], alerts: Some(engine.snapshot_alerts()) };
        sizes.push(cp.partitions[0].changes.as_ref().map_or(0, |c| c.windows.len()));
        store.checkpoint(&cp, |_| {}).unwrap();
        let (offset, snap) = store.partition(&tp).unwrap().unwrap();
        assert_eq!(offset, i as i64);
        // Evaluation moves a window's retention head without marking it changed (that
        // never changes a result); compare both as an evaluation at the clock sees them.
        let clock = snap.state.clock.unwrap();
        let at_clock = |w: Vec<llmwatch::eval::WindowRecord>| {
            let mut w = sorted(w);
            for r in w.iter_mut() {
                let _ = r.window.evaluate(&r.spec, clock);
            }
            w
        };
        assert_eq!(at_clock(snap.windows), at_clock(engine.snapshot_partition(0).unwrap().windows), "after checkpoint {i}");
    }
    // Nothing happened: nothing to write.
    assert!(engine.partition_changes(0, false).is_none());
    // What the store holds continues exactly like the engine it came from (windows,
    // alerts, the memories of ids and interactions), duplicates of old ids included.
    let mut restored = Engine::new(Arc::new(llmwatch::demo::shipped_rules().unwrap()), EngineConfig::default());
    restored.restore_alerts(store.alerts().unwrap().unwrap());
    restored.restore_partition(0, store.partition(&tp).unwrap().unwrap().1);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for e in events[events.len() - 50..].iter().chain(later) {
        let (x, y) = (engine.process_from(0, e.clone(), &mut a), restored.process_from(0, e.clone(), &mut b));
        assert_eq!(x, y, "{}", e.id);
    }
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert!(sizes[1..].iter().any(|n| *n < sizes[0]), "{sizes:?}");
}

#[test]
fn state_inspect_prints_partitions_offsets_windows_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store_v1"), &path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("(layout {LAYOUT_VERSION},")), "{text}");
    assert!(text.contains("partitions: 2"), "{text}");
    assert!(text.contains("llm-events/0             next offset 1234"), "{text}");
    assert!(text.contains("      refusal_rate                     "), "{text}");
    assert!(text.contains("refusal_rate                     gpt-4o-mini"), "{text}");
    assert!(text.contains("outbox: 0 notification(s) undelivered"), "{text}");
    // A directory that holds no store is refused, and left as it was.
    let empty = dir.path().join("not-a-store");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("conf"), "garbage").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch")).args(["state", "inspect", "--store"]).arg(&empty).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no state store at"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(empty.join("conf")).unwrap(), "garbage");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 1);
}

#[test]
fn a_store_held_open_elsewhere_is_refused_after_a_wait_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::open(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let err = Store::open(dir.path()).err().expect("the lock is held");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "waited {:?}", started.elapsed());
    let text = err.to_string();
    assert!(text.contains(&dir.path().display().to_string()) && text.contains("could not acquire lock"), "{text}");
}

#[test]
fn a_damaged_number_in_the_store_is_a_decode_error_naming_its_key_not_a_panic() {
    let err = llmwatch::store::read_be::<8>(&[1, 2, 3], b"offset/events/0").unwrap_err().to_string();
    assert!(err.contains("offset/events/0") && err.contains("expected 8 bytes, found 3"), "{err}");
    assert_eq!(llmwatch::store::read_be::<4>(&[0, 0, 0, 3], b"meta/layout").unwrap(), [0, 0, 0, 3]);
}
