//! Window throughput: the engine adds an event and evaluates its window on every event of a
//! group, so both paths are measured together and evaluation alone, for a 15-minute window
//! of 1-minute bins pre-filled with 100 events per bin. Also prints `memory_bytes()` per kind.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmwatch::window::{AggKind, Observation, SlidingWindow, WindowSpec};

const MIN: i64 = 60_000;

fn spec(agg: AggKind) -> WindowSpec {
    WindowSpec {
        agg,
        window_ms: 15 * MIN,
        bin_ms: MIN,
    }
}

/// Deterministic observations: latencies over three decades, 20% hits, 50 distinct values a
/// minute (plus a minute-specific offset, so the window holds 750).
struct Gen(u64);

impl Gen {
    fn next(&mut self, t: i64) -> Observation {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        Observation {
            num: Some(10f64.powf(1.0 + 3.0 * u)),
            hit: self.0.is_multiple_of(5),
            hash: Some(self.0 % 50 + (t / MIN) as u64 * 1_000),
        }
    }
}

/// A window with 100 events in each of its 15 bins; returns it and the next event time.
fn filled(s: &WindowSpec) -> (SlidingWindow, i64, Gen) {
    let mut w = SlidingWindow::new(0);
    let mut g = Gen(7);
    let mut t = 0;
    while t < 15 * MIN {
        w.add(s, t, g.next(t));
        t += 600;
    }
    w.evaluate(s, t);
    (w, t, g)
}

fn kinds() -> Vec<(&'static str, AggKind)> {
    vec![
        ("count", AggKind::Count),
        ("sum", AggKind::Sum),
        ("ratio", AggKind::Ratio),
        ("wilson_lower", AggKind::WilsonLower),
        ("percentile", AggKind::Percentile(95.0)),
        ("distinct", AggKind::Distinct),
        ("change_count", AggKind::Change(Box::new(AggKind::Count))),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, agg) in kinds() {
        let s = spec(agg);
        // Evaluation alone at a fixed `now` (cache warm).
        let (mut w, t, _) = filled(&s);
        c.bench_function(&format!("evaluate/{name}"), |b| {
            b.iter(|| black_box(w.evaluate(&s, black_box(t))))
        });

        // add + evaluate, time moving 600 ms per event (100 events a minute): includes bin
        // creation, expiry and cache rebuilds at every minute boundary.
        let (mut w, mut t, mut g) = filled(&s);
        c.bench_function(&format!("add_evaluate/{name}"), |b| {
            b.iter(|| {
                let o = g.next(t);
                w.add(&s, t, o);
                let e = w.evaluate(&s, t);
                t += 600;
                black_box(e)
            })
        });
    }
}

fn memory_report(_: &mut Criterion) {
    println!("memory_bytes(), 15-minute window, 1-minute bins, 100 events per bin:");
    let mut all = kinds();
    all.extend([
        ("rate", AggKind::Rate),
        ("avg", AggKind::Avg),
        ("min", AggKind::Min),
        ("max", AggKind::Max),
        ("absent", AggKind::Absent),
        (
            "change_percentile",
            AggKind::Change(Box::new(AggKind::Percentile(95.0))),
        ),
    ]);
    for (name, agg) in all {
        let s = spec(agg);
        let (w, _, _) = filled(&s);
        println!("  {name:<18} {:>7} bytes", w.memory_bytes());
    }
}

criterion_group!(benches, memory_report, bench);
criterion_main!(benches);
