//! Unit tests: one per aggregation, bin edges, retention, out-of-order adds, caches,
//! serialization and memory.

use super::*;

const MIN: Millis = 60_000;
const W: Millis = 15 * MIN;

fn spec(agg: AggKind) -> WindowSpec {
    WindowSpec {
        agg,
        window_ms: W,
        bin_ms: MIN,
    }
}

fn num(x: f64) -> Observation {
    Observation {
        num: Some(x),
        ..Default::default()
    }
}

fn hit(h: bool) -> Observation {
    Observation {
        hit: h,
        ..Default::default()
    }
}

fn hash(h: u64) -> Observation {
    Observation {
        hash: Some(h),
        ..Default::default()
    }
}

/// A window of `agg` fed `events`, evaluated at `now`.
fn check(agg: AggKind, events: &[(Millis, Observation)], now: Millis) -> Evaluation {
    let s = spec(agg);
    let mut w = SlidingWindow::new(0);
    for &(t, o) in events {
        w.add(&s, t, o);
    }
    w.evaluate(&s, now)
}

/// Every aggregation, with the property tests' list (one list to keep complete).
fn all_kinds() -> Vec<AggKind> {
    super::proptests::kinds(95.0)
}

#[test]
fn window_edge_is_whole_bins() {
    let ev = [(0, Observation::default())];
    // Bin 0 is in every window ending in bins 0..=14 min.
    assert_eq!(check(AggKind::Count, &ev, 0).events, 1);
    assert_eq!(check(AggKind::Count, &ev, W - 1).events, 1);
    // At 15:00 the window is bins (0, 15min]: bin 0 has left.
    assert_eq!(check(AggKind::Count, &ev, W).events, 0);
    // An event late in its bin leaves with the bin, less than `window_ms` after it.
    let ev = [(MIN - 1, Observation::default())];
    assert_eq!(check(AggKind::Count, &ev, W - 1).events, 1);
    assert_eq!(check(AggKind::Count, &ev, W).events, 0);
    // Bins after `bin_start(now)` are not counted.
    let ev = [(MIN, Observation::default())];
    assert_eq!(check(AggKind::Count, &ev, MIN - 1).events, 0);
    assert_eq!(check(AggKind::Count, &ev, MIN).events, 1);
}

#[test]
fn count_and_rate() {
    let ev: Vec<_> = (0..90)
        .map(|i| (i * 10_000, Observation::default()))
        .collect();
    let e = check(AggKind::Count, &ev, 15 * MIN - 1);
    assert_eq!(
        e,
        Evaluation {
            value: Some(90.0),
            events: 90,
            baseline_events: None
        }
    );
    let e = check(AggKind::Rate, &ev, 15 * MIN - 1);
    // Over the time the window's bins cover: 0 to `now`.
    assert_eq!(e.value, Some(90.0 * 1000.0 / (15 * MIN - 1) as f64));
}

#[test]
fn rate_of_steady_traffic_reads_steady_at_every_phase_of_a_bin() {
    // One event a second, a one-minute window of 4 s bins: dividing by the whole window read
    // 0.93 at a bin's start (its partial bin is empty), so `rate() < 0.95` flapped.
    let s = WindowSpec { agg: AggKind::Rate, window_ms: MIN, bin_ms: 4_000 };
    let mut w = SlidingWindow::new(0);
    for t in 0..600 {
        let now = t * 1000;
        let e = w.add_and_evaluate(&s, now, Observation::default(), sketch_key(&s, &Observation::default()), now, 0);
        if now >= 2 * MIN {
            let v = e.value.unwrap();
            assert!((0.99..=1.03).contains(&v), "rate {v} at {now}");
            let v = w.evaluate(&s, now + 500).value.unwrap();
            assert!((0.99..=1.03).contains(&v), "rate {v} at {}", now + 500);
        }
    }
    // A window one bin wide, at its bin's first instant, divides by one bin, not by zero.
    let one = WindowSpec { agg: AggKind::Rate, window_ms: MIN, bin_ms: MIN };
    let mut w = SlidingWindow::new(0);
    w.add(&one, MIN, Observation::default());
    assert_eq!(w.evaluate(&one, MIN).value, Some(1.0 / 60.0));
}

#[test]
fn change_is_undefined_until_a_whole_previous_window_existed() {
    // A group that appears at 10:30 with steady traffic: one window later, the previous
    // window holds only its first partial bin, which is not a baseline.
    let s = spec(AggKind::Change(Box::new(AggKind::Count)));
    let start = 10 * MIN + 30_000;
    let mut w = SlidingWindow::new(start);
    let mut values = Vec::new();
    for t in (start..start + 3 * W).step_by(5_000) {
        let e = w.add_and_evaluate(&s, t, Observation::default(), sketch_key(&s, &Observation::default()), t, 0);
        values.push((t, e.value));
    }
    // Undefined while the previous window's oldest bin starts before 10:00, the creation bin ...
    let first_defined = values.iter().find(|(_, v)| v.is_some()).unwrap().0;
    assert_eq!(bin_start(first_defined, MIN), 10 * MIN + 2 * W - MIN);
    // ... and then steady traffic reads about 1, never a spike.
    for (t, v) in values.iter().filter(|(_, v)| v.is_some()) {
        let v = v.unwrap();
        assert!((0.9..=1.1).contains(&v), "change {v} at {t}");
    }
    // An average compares with whatever of the previous window there was: a smaller
    // sample, not a biased one.
    let s = spec(AggKind::Change(Box::new(AggKind::Avg)));
    let mut w = SlidingWindow::new(start);
    let mut first = None;
    for t in (start..start + 2 * W).step_by(5_000) {
        if w.add_and_evaluate(&s, t, num(2.0), sketch_key(&s, &num(2.0)), t, 0).value.is_some() && first.is_none() {
            first = Some(t);
        }
    }
    assert_eq!(bin_start(first.unwrap(), MIN), 10 * MIN + W);
}

#[test]
fn future_bins_not_counted_and_old_events_ignored() {
    let s = spec(AggKind::Count);
    let mut w = SlidingWindow::new(0);
    w.add(&s, 7 * MIN, Observation::default());
    w.add(&s, 20 * MIN, Observation::default()); // future of `now` below
    assert_eq!(w.evaluate(&s, 10 * MIN).events, 1);
    assert_eq!(w.evaluate(&s, 21 * MIN).events, 2);
    // head is now bin 21 min: bins <= 6 min are gone, an event there is ignored.
    w.add(&s, 6 * MIN + 5, Observation::default());
    assert_eq!(w.evaluate(&s, 21 * MIN).events, 2);
    assert_eq!(w.last_event_ms(), Some(20 * MIN));
    assert_eq!(w.evaluate(&s, 23 * MIN).events, 1);
}

#[test]
fn out_of_order_adds_go_to_their_bin() {
    let s = spec(AggKind::Sum);
    let mut w = SlidingWindow::new(0);
    for (t, x) in [
        (5 * MIN, 1.0),
        (2 * MIN, 10.0),
        (3 * MIN + 1, 100.0),
        (2 * MIN + 7, 1000.0),
    ] {
        w.add(&s, t, num(x));
    }
    let starts: Vec<_> = w.bins.iter().map(|b| (b.start, b.count)).collect();
    assert_eq!(starts, vec![(2 * MIN, 2), (3 * MIN, 1), (5 * MIN, 1)]);
    assert_eq!(w.evaluate(&s, 5 * MIN).value, Some(1111.0));
    // Window ending at 3 min sees bins 2 and 3 only.
    assert_eq!(w.evaluate(&s, 3 * MIN).value, Some(1110.0));
}

#[test]
fn expiry_bounds_bins() {
    let s = spec(AggKind::Count);
    let mut w = SlidingWindow::new(0);
    for i in 0..10_000 {
        w.add(&s, i * 1_000, Observation::default());
        assert!(w.bins.len() <= s.max_bins());
    }
    let e = w.evaluate(&s, 9_999_000);
    assert_eq!(e.events, 15 * 60 - 60 + 40); // 14 full minutes + the 40 s of the current one
    let before = w.memory_bytes();
    w.evaluate(&s, 100 * 3_600_000);
    assert!(w.bins.is_empty());
    assert_eq!(w.memory_bytes(), before);
}

#[test]
fn sum_avg_min_max_skip_missing_numbers() {
    let ev = [
        (0, num(2.0)),
        (1, Observation::default()),
        (2, num(-4.0)),
        (3, num(f64::NAN)),
    ];
    assert_eq!(
        check(AggKind::Sum, &ev, 0),
        Evaluation {
            value: Some(-2.0),
            events: 4,
            baseline_events: None
        }
    );
    assert_eq!(check(AggKind::Avg, &ev, 0).value, Some(-1.0));
    assert_eq!(check(AggKind::Min, &ev, 0).value, Some(-4.0));
    assert_eq!(check(AggKind::Max, &ev, 0).value, Some(2.0));
    let none = [(0, Observation::default())];
    assert_eq!(
        check(AggKind::Sum, &none, 0),
        Evaluation {
            value: Some(0.0),
            events: 1,
            baseline_events: None
        }
    );
    assert_eq!(check(AggKind::Avg, &none, 0).value, None);
    assert_eq!(check(AggKind::Min, &none, 0).value, None);
    assert_eq!(check(AggKind::Max, &[], 0).value, None);
}

#[test]
fn ratio_and_wilson() {
    let ev: Vec<_> = (0..100).map(|i| (i * 1000, hit(i % 4 == 0))).collect();
    assert_eq!(check(AggKind::Ratio, &ev, MIN * 2).value, Some(0.25));
    let wl = check(AggKind::WilsonLower, &ev, MIN * 2).value.unwrap();
    assert!((wl - wilson_lower(25, 100).unwrap()).abs() < 1e-15);
    assert!(wl < 0.25 && wl > 0.17);
    assert_eq!(check(AggKind::Ratio, &[], 0).value, None);
    assert_eq!(check(AggKind::WilsonLower, &[], 0).value, None);
}

#[test]
fn percentile_within_one_percent() {
    let ev: Vec<_> = (1..=1000)
        .map(|i| ((i % 15) * MIN, num(i as f64 * 3.7)))
        .collect();
    for p in [1.0, 50.0, 90.0, 95.0, 99.0, 99.9] {
        let exact = nearest_rank(p, 1000) as f64 * 3.7;
        let got = check(AggKind::Percentile(p), &ev, 14 * MIN).value.unwrap();
        assert!(
            ((got - exact) / exact).abs() <= 0.01,
            "p{p} {got} vs {exact}"
        );
    }
    assert_eq!(
        check(AggKind::Percentile(50.0), &[(0, Observation::default())], 0).value,
        None
    );
}

#[test]
fn percentile_zero_and_negative() {
    let ev: Vec<_> = [-100.0, -1.0, 0.0, 0.0, 5.0]
        .iter()
        .map(|&x| (0, num(x)))
        .collect();
    let q = |p| check(AggKind::Percentile(p), &ev, 0).value.unwrap();
    assert!((q(20.0) + 100.0).abs() <= 1.0);
    assert!((q(40.0) + 1.0).abs() <= 0.01);
    assert_eq!(q(60.0), 0.0);
    assert_eq!(q(80.0), 0.0);
    assert!((q(100.0) - 5.0).abs() <= 0.05);
}

#[test]
fn percentile_cache_follows_late_events_and_slides() {
    let s = spec(AggKind::Percentile(50.0));
    let mut w = SlidingWindow::new(0);
    for i in 0..10 {
        w.add(&s, i * MIN, num(10.0));
    }
    assert!((w.evaluate(&s, 9 * MIN).value.unwrap() - 10.0).abs() <= 0.1);
    // Late events into a closed bin and the current bin both reach the cached merge.
    for _ in 0..11 {
        w.add(&s, 2 * MIN, num(1000.0));
    }
    w.add(&s, 9 * MIN, num(1000.0));
    assert!((w.evaluate(&s, 9 * MIN).value.unwrap() - 1000.0).abs() <= 10.0);
    // A future bin does not reach the cache of the window ending at 9 min.
    w.add(&s, 12 * MIN, num(1.0));
    w.add(&s, 12 * MIN, num(1.0));
    assert!((w.evaluate(&s, 9 * MIN).value.unwrap() - 1000.0).abs() <= 10.0);
    // Sliding past bin 2 drops the 1000s but one.
    assert!((w.evaluate(&s, 17 * MIN).value.unwrap() - 10.0).abs() <= 0.1);
}

#[test]
fn distinct_exact_and_approximate() {
    let ev: Vec<_> = (0..300)
        .map(|i| ((i % 15) * MIN, hash(i as u64 % 120)))
        .collect();
    assert_eq!(
        check(AggKind::Distinct, &ev, 14 * MIN),
        Evaluation {
            value: Some(120.0),
            events: 300,
            baseline_events: None
        }
    );
    let ev = [(0, Observation::default()), (0, hash(7)), (1, hash(7))];
    assert_eq!(
        check(AggKind::Distinct, &ev, 0),
        Evaluation {
            value: Some(1.0),
            events: 3,
            baseline_events: None
        }
    );

    let s = spec(AggKind::Distinct);
    let mut w = SlidingWindow::new(0);
    for i in 0..60_000u64 {
        w.add(
            &s,
            (i as Millis % 15) * MIN,
            hash(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        );
        if i == 9_999 {
            assert_eq!(w.evaluate(&s, 14 * MIN).value, Some(10_000.0));
        }
    }
    let got = w.evaluate(&s, 14 * MIN).value.unwrap();
    assert!((got - 60_000.0).abs() / 60_000.0 <= 0.02, "{got}");
    // Bins are still exact (4 000 values each); only the union is a sketch.
    assert!(w.bins.iter().all(|b| !b.distinct().unwrap().is_hll()));
}

#[test]
fn absent_from_last_event_or_creation() {
    let s = spec(AggKind::Absent);
    let mut w = SlidingWindow::new(1_000);
    assert_eq!(w.evaluate(&s, 1_000 + W - 1).value, Some(0.0));
    assert_eq!(w.evaluate(&s, 1_000 + W).value, Some(1.0));
    w.add(&s, 2 * W + 500, Observation::default());
    assert_eq!(
        w.evaluate(&s, 2 * W + 500),
        Evaluation {
            value: Some(0.0),
            events: 1,
            baseline_events: None
        }
    );
    assert_eq!(w.evaluate(&s, 3 * W + 499).value, Some(0.0));
    assert_eq!(w.evaluate(&s, 3 * W + 500).value, Some(1.0));
}

#[test]
fn change_compares_with_previous_window() {
    let mut ev: Vec<_> = (0..10).map(|i| (i * MIN, num(1.0))).collect();
    ev.extend((0..20).map(|i| (W + (i % 15) * MIN, num(4.0))));
    let now = 2 * W - 1;
    let e = check(AggKind::Change(Box::new(AggKind::Count)), &ev, now);
    assert_eq!(
        e,
        Evaluation {
            value: Some(2.0),
            events: 20,
            baseline_events: Some(10)
        }
    );
    let e = check(AggKind::Change(Box::new(AggKind::Avg)), &ev, now);
    assert_eq!(e.value, Some(4.0));
    let e = check(
        AggKind::Change(Box::new(AggKind::Percentile(50.0))),
        &ev,
        now,
    );
    assert!((e.value.unwrap() - 4.0).abs() < 0.08);
    // Previous window empty -> None; previous None (avg of nothing) -> None.
    let e = check(AggKind::Change(Box::new(AggKind::Count)), &ev[10..], now);
    assert_eq!(
        e,
        Evaluation {
            value: None,
            events: 20,
            baseline_events: Some(0)
        }
    );
    // `min_events` applies to the previous window too: 10 events there are too few for 11.
    let s = spec(AggKind::Change(Box::new(AggKind::Count)));
    let mut w = SlidingWindow::new(0);
    for &(t, o) in &ev {
        w.add(&s, t, o);
    }
    assert_eq!(w.evaluate_from(&s, now, 10).value, Some(2.0));
    assert_eq!(w.evaluate_from(&s, now, 11), Evaluation { value: None, events: 20, baseline_events: Some(10) });
    // change keeps two windows: the previous window's bins survive one window of sliding.
    let s = spec(AggKind::Change(Box::new(AggKind::Count)));
    assert_eq!(s.max_bins(), 30);
}

#[test]
fn serialization_round_trip() {
    for agg in all_kinds() {
        let s = spec(agg.clone());
        let mut w = SlidingWindow::new(0);
        for i in 0..500i64 {
            let o = Observation {
                num: Some(i as f64 - 100.0),
                hit: i % 3 == 0,
                hash: Some(i as u64 % 77),
            };
            w.add(&s, i * 3_700, o);
        }
        let now = 30 * MIN;
        let before = w.evaluate(&s, now);
        let json = serde_json::to_string(&w).unwrap();
        let mut back: SlidingWindow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w, "{agg:?}");
        assert_eq!(back.evaluate(&s, now), before, "{agg:?}");
        // Keeps working after a restore (caches rebuilt).
        back.add(
            &s,
            now,
            Observation {
                num: Some(1.0),
                hit: true,
                hash: Some(1_000),
            },
        );
        w.add(
            &s,
            now,
            Observation {
                num: Some(1.0),
                hit: true,
                hash: Some(1_000),
            },
        );
        assert_eq!(back.evaluate(&s, now), w.evaluate(&s, now), "{agg:?}");
    }
}

/// Memory per kind for a 15-minute window of 1-minute bins, every bin populated with
/// 100 events (values spread over 3 decades, 50 distinct hashes per bin).
fn memory_table() -> Vec<(String, usize)> {
    all_kinds()
        .into_iter()
        .map(|agg| {
            let s = spec(agg.clone());
            let mut w = SlidingWindow::new(0);
            let mut x = 1u64;
            for i in 0..(100 * 30) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = 10f64.powf(1.0 + 3.0 * (x >> 11) as f64 / (1u64 << 53) as f64);
                let o = Observation {
                    num: Some(v),
                    hit: x.is_multiple_of(5),
                    hash: Some(x % 50 + i / 100 * 1000),
                };
                w.add(&s, i as Millis * 600, o);
            }
            w.evaluate(&s, 30 * MIN - 1);
            (format!("{agg:?}"), w.memory_bytes())
        })
        .collect()
}

#[test]
fn memory_per_kind() {
    for (kind, bytes) in memory_table() {
        println!("{kind:<32} {bytes:>8} bytes");
        let counter =
            !kind.contains("Percentile") && !kind.contains("Distinct") && !kind.contains("Change");
        if counter {
            assert!(bytes <= 2048, "{kind}: {bytes}");
        }
    }
}

#[test]
fn serialized_form_is_small() {
    let s = spec(AggKind::Count);
    let mut w = SlidingWindow::new(0);
    for i in 0..100_000 {
        w.add(&s, i * 9, Observation::default());
    }
    let json = serde_json::to_string(&w).unwrap();
    assert!(json.len() < 600, "{} bytes: {json}", json.len());
}

/// The engine keeps one window per input partition and merges them: merging must equal
/// adding every event to one window, for every aggregation.
#[test]
fn merge_equals_adding_everything_to_one_window() {
    for agg in all_kinds() {
        let s = WindowSpec { agg, window_ms: 15 * 60_000, bin_ms: 60_000 };
        let (mut a, mut b, mut all) = (SlidingWindow::new(0), SlidingWindow::new(0), SlidingWindow::new(0));
        for i in 0..600u64 {
            let o = Observation { num: Some((i % 37) as f64 * 13.0), hit: i % 3 == 0, hash: Some(i % 50) };
            let t = i as Millis * 3_000;
            if i % 2 == 0 { a.add(&s, t, o) } else { b.add(&s, t, o) }
            all.add(&s, t, o);
        }
        a.merge(&s, &b);
        assert_eq!(a.evaluate(&s, 600 * 3_000), all.evaluate(&s, 600 * 3_000), "{:?}", s.agg);
    }
}

/// The stored form is the layout-3 one, whatever the fields' order and types in memory:
/// created, last event, head (both optional), then the bins as a plain sequence.
#[test]
fn stored_form_keeps_the_layout_3_field_order() {
    #[derive(serde::Deserialize)]
    struct Layout3 {
        c: Millis,
        l: Option<Millis>,
        h: Option<Millis>,
        b: std::collections::VecDeque<super::bins::Bin>,
    }
    let spec = WindowSpec { agg: AggKind::Ratio, window_ms: 60_000, bin_ms: 10_000 };
    let mut w = SlidingWindow::new(5);
    for t in [12_000, 31_000, 33_000] {
        w.add(&spec, t, Observation { hit: t > 30_000, ..Default::default() });
    }
    let bytes = postcard::to_allocvec(&w).unwrap();
    let old: Layout3 = postcard::from_bytes(&bytes).unwrap();
    assert_eq!((old.c, old.l, old.h), (5, Some(33_000), Some(30_000)));
    assert_eq!(old.b.iter().map(|b| (b.start, b.count)).collect::<Vec<_>>(), [(10_000, 1), (30_000, 2)]);
    let empty: Layout3 = postcard::from_bytes(&postcard::to_allocvec(&SlidingWindow::new(7)).unwrap()).unwrap();
    assert_eq!((empty.c, empty.l, empty.h, empty.b.len()), (7, None, None, 0));
    assert_eq!(postcard::from_bytes::<SlidingWindow>(&bytes).unwrap(), w);
}

/// Adding to a counting window (count, ratio, Wilson) reads and writes its first 64 bytes
/// only — the start of the window, the cached counts, the last event time, and the newest
/// bin's start, count and hit count — so the update touches one cache line of it (docs/performance.md,
/// the eighth session: the series' second line).
#[test]
fn a_counting_update_stays_in_the_windows_first_64_bytes() {
    use std::mem::{offset_of, size_of};
    let newest = offset_of!(SlidingWindow, bins) + ring::Bins::NEWEST_OFFSET;
    for hot in [offset_of!(SlidingWindow, head), offset_of!(SlidingWindow, closed), offset_of!(SlidingWindow, last_ms)] {
        assert!(hot < newest);
    }
    assert!(offset_of!(SlidingWindow, closed) + size_of::<ClosedCounts>() <= newest);
    assert_eq!((offset_of!(Bin, start), offset_of!(Bin, count), offset_of!(Bin, stat)), (0, 8, 16));
    // The hit count follows the stat's tag within its first 8 bytes.
    let bin = Bin { start: 0, count: 0, stat: BinStat::Hits(7) };
    let BinStat::Hits(hits) = &bin.stat else { unreachable!() };
    let hits_at = (hits as *const u32 as usize) - (&bin.stat as *const BinStat as usize);
    assert!(hits_at + 4 <= 8, "hit count at {hits_at} in the stat");
    // The newest bin is an `Option<Bin>` whose bin starts where the option does.
    assert_eq!(size_of::<Option<Bin>>(), size_of::<Bin>());
    let newest_bin = Some(bin);
    let Some(inner) = &newest_bin else { unreachable!() };
    assert_eq!(inner as *const Bin as usize, &newest_bin as *const Option<Bin> as usize);
    assert!(newest + 16 + 8 <= 64, "newest bin at {newest}");
}

/// Adding counts in bulk at the newest bin (the engine's lanes) is adding them one by one:
/// same window, same value, and `counting_base` reports what the window holds.
#[test]
fn counts_added_in_bulk_equal_counts_added_one_by_one() {
    for agg in [AggKind::Count, AggKind::Ratio, AggKind::WilsonLower] {
        let s = spec(agg.clone());
        let (h, now) = (10 * MIN, 10 * MIN + 30_000);
        let mut one_by_one = SlidingWindow::new(0);
        for (t, o) in [(3 * MIN, hit(true)), (7 * MIN, hit(false)), (h + 1_000, hit(true))] {
            one_by_one.add_and_evaluate(&s, t, o, None, now, 0);
        }
        let mut bulk = one_by_one.clone();
        let hits = if agg == AggKind::Count { 0 } else { 2 };
        assert_eq!(bulk.counting_base(h), Some(CountingBase { count: 3, hits, room: u32::MAX - 1 }), "{agg:?}");
        assert_eq!(bulk.counting_base(h - MIN), None, "another bin");
        for (t, o) in [(h + 5_000, hit(true)), (h + 9_000, hit(false)), (h + 7_000, hit(true))] {
            one_by_one.add_and_evaluate(&s, t, o, None, now, 0);
        }
        bulk.add_counts(h, 3, 2, h + 9_000);
        assert_eq!(bulk, one_by_one, "{agg:?}");
        assert_eq!(bulk.last_event_ms(), Some(h + 9_000));
        let (a, b) = (bulk.evaluate(&s, now), one_by_one.evaluate(&s, now));
        assert_eq!(a, b, "{agg:?}");
        let base = bulk.counting_base(h).expect("still at its newest bin");
        assert_eq!(counting_value(&agg, base.count, base.hits), a.value, "{agg:?}");
    }
    // Percentile and sum windows are not counting windows.
    let mut w = SlidingWindow::new(0);
    w.add_and_evaluate(&spec(AggKind::Sum), MIN, num(1.0), None, MIN, 0);
    assert_eq!(w.counting_base(MIN), None);
}
