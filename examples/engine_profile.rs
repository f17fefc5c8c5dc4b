//! Runs the engine benchmark's workload once, without criterion, for profilers
//! (`valgrind --tool=callgrind`, `perf record`) and quick repeated timings:
//!
//! `cargo run --release --example engine_profile -- [json|decoded] [events] [keys] [warm]`
//!
//! With `warm` > 0, that many earlier events are fed first, untimed, so the series exist
//! (steady state) when the timed events arrive. Only the processing loop is timed;
//! building the input and dropping the engine are not.

use std::sync::Arc;
use std::time::Instant;

use llmwatch::demo::to_json;
use llmwatch::eval::{Engine, EngineConfig};
use llmwatch::event::Decoder;

#[path = "../benches/support/input.rs"]
mod input;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.first().is_none_or(|m| m == "json");
    let n: usize = args.get(1).map_or(200_000, |s| s.parse().expect("event count"));
    let keys: usize = args.get(2).map_or(input::KEYS, |s| s.parse().expect("key count"));

    let warm: usize = args.get(3).map_or(0, |s| s.parse().expect("warm-up event count"));

    let rules = Arc::new(input::fifty_rules());
    let mut events = input::events(warm + n, keys);
    let timed = events.split_off(warm);
    let mut engine = Engine::new(rules, EngineConfig::default());
    let mut out = Vec::new();
    for e in events {
        engine.process(e, &mut out);
    }
    out.clear();
    let events = timed;
    let lines: Vec<String> = events.iter().map(|e| to_json(e).to_string()).collect();
    let decoder = Decoder::default();

    let start = Instant::now();
    if json {
        drop(events);
        for line in &lines {
            engine.process(decoder.decode(line.as_bytes()).expect("valid"), &mut out);
            out.clear();
        }
    } else {
        for e in events {
            engine.process(e, &mut out);
            out.clear();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} {n} events after {warm}, {keys} keys: {:.3} s, {:.0} events/s, {} series",
        if json { "json" } else { "decoded" },
        secs,
        n as f64 / secs,
        engine.series_count()
    );
    // Dropping 200k series is not what is measured: leave it to process exit.
    std::mem::forget(engine);
}
