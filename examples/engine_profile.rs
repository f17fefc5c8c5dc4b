//! Runs the engine benchmark's workload once, without criterion, for profilers
//! (`valgrind --tool=callgrind`, `perf record`) and quick repeated timings:
//!
//! `cargo run --release --example engine_profile -- [json|decoded] [events] [keys] [warm] [groupings]`
//!
//! With `warm` > 0, that many earlier events are fed first, untimed, so the series exist
//! (steady state) when the timed events arrive. `groupings` (e.g. `0,1,3`) keeps the ten
//! rules of those entries of `input::GROUPINGS` only, to see what each part of the
//! benchmark costs; all fifty by default. Only the processing loop is timed;
//! building the input and dropping the engine are not.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use llmwatch::demo::to_json;
use llmwatch::eval::{Engine, EngineConfig};
use llmwatch::event::Decoder;

#[path = "../benches/support/input.rs"]
mod input;

/// Counts allocation calls (allocations and reallocations), to spot allocation in the hot
/// path, on top of the allocator the `llmwatch` binary uses (mimalloc).
struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.first().is_none_or(|m| m == "json");
    let n: usize = args.get(1).map_or(200_000, |s| s.parse().expect("event count"));
    let keys: usize = args.get(2).map_or(input::KEYS, |s| s.parse().expect("key count"));

    let warm: usize = args.get(3).map_or(0, |s| s.parse().expect("warm-up event count"));

    let rules = Arc::new(match args.get(4) {
        None => input::fifty_rules(),
        Some(list) => {
            let picked: Vec<&str> = list.split(',').map(|i| i.parse::<usize>().ok().and_then(|i| input::GROUPINGS.get(i).copied()).expect("groupings: indices 0 to 4, comma-separated")).collect();
            input::rules_for(&picked)
        }
    });
    let mut events = input::events(warm + n, keys);
    let timed = events.split_off(warm);
    let mut engine = Engine::new(rules, EngineConfig::default());
    // `LANES=0` turns the groups' lanes off, to measure what they save.
    engine.set_lanes(std::env::var("LANES").map_or(true, |v| v != "0"));
    let mut out = Vec::new();
    for e in events {
        engine.process(e, &mut out);
    }
    out.clear();
    let events = timed;
    let lines: Vec<String> = events.iter().map(|e| to_json(e).to_string()).collect();
    let decoder = Decoder::default();

    // With `json`, the decoded events are not needed.
    let events = if json { Vec::new() } else { events };
    let calls = CALLS.load(Ordering::Relaxed);
    let (cpu, user) = (cpu_seconds(), user_seconds());
    let start = Instant::now();
    if json {
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
    let (cpu, user) = (cpu_seconds() - cpu, user_seconds() - user);
    let calls = CALLS.load(Ordering::Relaxed) - calls;
    println!(
        "{} {n} events after {warm}, {keys} keys, {} rules: {:.3} s, {:.0} events/s ({:.0}/s of CPU time, {:.0}/s of user time), {} series, {:.1} allocations/event",
        if json { "json" } else { "decoded" },
        engine.rules().rules.len(),
        secs,
        n as f64 / secs,
        n as f64 / cpu,
        n as f64 / user,
        engine.series_count(),
        calls as f64 / n as f64
    );
    // Dropping 200k series is not what is measured: leave it to process exit.
    std::mem::forget(engine);
}

/// User + system CPU time of this process (from /proc, 10 ms resolution): on a machine
/// shared with compilers it varies much less than wall time.
fn cpu_seconds() -> f64 {
    let (user, system) = times();
    user + system
}

/// User CPU time alone: system time here is the kernel zeroing fresh pages, which varies
/// by a factor of five between runs on a VM and hides changes in the engine.
fn user_seconds() -> f64 {
    times().0
}

/// (user, system) CPU seconds of this process.
fn times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    (f.get(11).copied().unwrap_or(0.0) / 100.0, f.get(12).copied().unwrap_or(0.0) / 100.0)
}
