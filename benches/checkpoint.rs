//! The cost of one checkpoint with 100k active windows: collect the partition's changes
//! and the alerts, encode, write one sled batch and flush it (`cargo bench --bench
//! checkpoint`). `full` rewrites every window (what each checkpoint cost before layout 3,
//! and what a rebuilt partition's first checkpoint costs); `incremental` writes what one
//! second of traffic at 1 000 events/s changed.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};

use llmwatch::eval::{Engine, EngineConfig};
use llmwatch::event::{Event, EventKind};
use llmwatch::rules::{LoadOptions, load_sources};
use llmwatch::store::{Checkpoint, PartitionCheckpoint, Store, TopicPartition};

fn interaction(i: usize, keys: usize) -> Event {
    let mut e = Event::new(format!("e{i}"), (i as i64) * 10, EventKind::Interaction);
    e.user = Some(format!("u{}", i % keys).into());
    e.latency_ms = Some(1000.0 + (i % 500) as f64);
    e.output_tokens = Some(100.0);
    e.finish_reasons = vec!["stop".into()];
    e
}

fn engine_with_windows(keys: usize) -> Engine {
    let mut text = String::from("group: bench\nrules:\n");
    let values = ["count()", "ratio(signal.error)", "avg(latency_ms)", "wilson_lower(signal.truncated)", "max(latency_ms)", "sum(output_tokens)", "rate()", "min(latency_ms)", "ratio(signal.empty_response)", "avg(output_tokens)"];
    for (i, v) in values.iter().enumerate() {
        text.push_str(&format!("  - name: r{i}\n    when: 'kind == \"interaction\"'\n    group_by: [user]\n    window: 15m\n    bin: 1m\n    value: '{v}'\n    condition: '> 1e12'\n"));
    }
    let (rules, diags) = load_sources(&[("bench.yaml".into(), text)], &LoadOptions::default());
    assert!(diags.is_empty(), "{diags:?}");
    let mut engine = Engine::new(Arc::new(rules), EngineConfig::default());
    let mut out = Vec::new();
    engine.track_removed();
    for i in 0..keys * 3 {
        engine.process(interaction(i, keys), &mut out);
    }
    engine
}

fn bench(c: &mut Criterion) {
    let keys = 10_000;
    let mut engine = engine_with_windows(keys);
    println!("windows: {}", engine.series_count());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let tp = TopicPartition::new("events", 0);
    let checkpoint = |engine: &mut Engine, full: bool| {
        let changes = engine.partition_changes(0, full);
        let split = changes.as_ref().map(|c| (c.windows.len(), c.chunks.dedup.len() + c.chunks.attribution.len()));
        let cp = Checkpoint { partitions: vec![PartitionCheckpoint { tp: tp.clone(), next_offset: 1, changes }], alerts: Some(engine.snapshot_alerts()) };
        (store.checkpoint(&cp, |_| {}).unwrap(), split)
    };
    let (mut full, mut incremental, mut idle) = ((0, None), (0, None), (0, None));
    let mut g = c.benchmark_group("checkpoint");
    g.sample_size(10);
    g.bench_function("full: every window, 100k windows", |b| b.iter(|| full = checkpoint(&mut engine, true)));
    // One second of traffic between checkpoints: 1 000 events over 1 000 of the keys.
    let mut next = keys * 3;
    let mut out = Vec::new();
    g.bench_function("incremental: 1 s at 1 000 events/s, 100k windows", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..1000 {
                    engine.process(interaction(next, keys), &mut out);
                    next += 1;
                }
                out.clear();
                let t = std::time::Instant::now();
                incremental = checkpoint(&mut engine, false);
                spent += t.elapsed();
            }
            spent
        })
    });
    // No event since the last checkpoint: the partition is left out.
    g.bench_function("idle: no event since the last checkpoint, 100k windows", |b| b.iter(|| idle = checkpoint(&mut engine, false)));
    g.finish();
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    for (name, (bytes, split)) in [("full", full), ("incremental", incremental), ("idle", idle)] {
        let (windows, chunks) = split.unwrap_or((0, 0));
        println!("{name}: {:.2} MiB written ({windows} windows, {chunks} log chunks)", mib(bytes));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
