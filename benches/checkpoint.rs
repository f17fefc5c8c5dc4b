//! The cost of one checkpoint with 100k active windows: snapshot the partition and the
//! alerts, encode, write one sled batch and flush it (`cargo bench --bench checkpoint`).

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};

use llmwatch::eval::{Engine, EngineConfig};
use llmwatch::event::{Event, EventKind};
use llmwatch::rules::{LoadOptions, load_sources};
use llmwatch::store::{Checkpoint, Store, TopicPartition};

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
    for i in 0..keys * 3 {
        let mut e = Event::new(format!("e{i}"), (i as i64) * 10, EventKind::Interaction);
        e.user = Some(format!("u{}", i % keys).into());
        e.latency_ms = Some(1000.0 + (i % 500) as f64);
        e.output_tokens = Some(100.0);
        e.finish_reasons = vec!["stop".into()];
        engine.process(e, &mut out);
    }
    engine
}

fn bench(c: &mut Criterion) {
    let engine = engine_with_windows(10_000);
    println!("windows: {}", engine.series_count());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let tp = TopicPartition::new("events", 0);
    let mut bytes = 0;
    let mut g = c.benchmark_group("checkpoint");
    g.sample_size(10);
    g.bench_function("snapshot + encode + sled batch + flush, 100k windows", |b| {
        b.iter(|| {
            let cp = Checkpoint { partitions: vec![(tp.clone(), 1, engine.snapshot_partition(0).unwrap())], alerts: Some(engine.snapshot_alerts()) };
            bytes = store.checkpoint(&cp, |_| {}).unwrap();
        })
    });
    g.finish();
    println!("checkpoint size: {:.1} MiB", bytes as f64 / (1 << 20) as f64);
}

criterion_group!(benches, bench);
criterion_main!(benches);
