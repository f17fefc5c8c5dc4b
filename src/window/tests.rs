use proptest::prelude::*;

use super::*;

const MIN: Millis = 60_000;

fn spec(agg: AggKind) -> WindowSpec {
    WindowSpec { agg, window_ms: 15 * MIN, bin_ms: MIN }
}

fn num(x: f64) -> Observation {
    Observation { num: Some(x), ..Default::default() }
}

#[test]
fn the_window_covers_the_last_bins_including_the_current_one() {
    let s = spec(AggKind::Count);
    let mut w = SlidingWindow::new(&s, 0);
    for minute in 0..20 {
        w.add(&s, minute * MIN + 30_000, Observation::default());
    }
    // At 19:30 the window holds minutes 5..=19.
    assert_eq!(w.evaluate(&s, 19 * MIN + 30_000).events, 15);
    // At 24:59 it holds minutes 10..=24, of which 10..=19 have events.
    assert_eq!(w.evaluate(&s, 25 * MIN - 1).events, 10);
    assert_eq!(w.evaluate(&s, 40 * MIN).events, 0);
    assert!(w.memory_bytes() < 2048, "{}", w.memory_bytes());
}

#[test]
fn statistics_ignore_non_numbers_but_count_the_events() {
    let mut values = [num(3.0), num(1.0), Observation::default(), num(8.0)];
    for (kind, want) in [(AggKind::Sum, 12.0), (AggKind::Avg, 4.0), (AggKind::Min, 1.0), (AggKind::Max, 8.0)] {
        let s = spec(kind);
        let mut w = SlidingWindow::new(&s, 0);
        for (i, o) in values.iter_mut().enumerate() {
            w.add(&s, i as Millis * 1000, *o);
        }
        assert_eq!(w.evaluate(&s, 5000), Evaluation { value: Some(want), events: 4 });
    }
    let s = spec(AggKind::Avg);
    assert_eq!(SlidingWindow::new(&s, 0).evaluate(&s, 0).value, None);
}

#[test]
fn wilson_lower_bound_is_conservative_for_small_samples() {
    assert!((wilson_lower(5, 10) - 0.2366).abs() < 1e-3);
    assert!((wilson_lower(500, 1000) - 0.4691).abs() < 1e-3);
    assert!(wilson_lower(2, 5) < 0.2 && 2.0 / 5.0 > 0.2);
    assert_eq!(wilson_lower(0, 0), 0.0);
}

#[test]
fn absent_counts_silence_from_the_last_event_or_creation() {
    let s = spec(AggKind::Absent);
    let mut w = SlidingWindow::new(&s, 0);
    assert_eq!(w.evaluate(&s, 14 * MIN).value, Some(0.0));
    assert_eq!(w.evaluate(&s, 15 * MIN).value, Some(1.0));
    w.add(&s, 16 * MIN, Observation::default());
    assert_eq!(w.evaluate(&s, 20 * MIN).value, Some(0.0));
    assert_eq!(w.evaluate(&s, 31 * MIN).value, Some(1.0));
}

#[test]
fn change_compares_with_the_previous_window() {
    let s = spec(AggKind::Change(Box::new(AggKind::Count)));
    let mut w = SlidingWindow::new(&s, 0);
    for minute in 0..15 {
        w.add(&s, minute * MIN, Observation::default());
    }
    for minute in 15..30 {
        for _ in 0..3 {
            w.add(&s, minute * MIN, Observation::default());
        }
    }
    let e = w.evaluate(&s, 29 * MIN);
    assert_eq!(e.value, Some(3.0));
    assert_eq!(e.events, 45);
    // Before any previous window exists, the change is undefined.
    assert_eq!(w.evaluate(&s, 14 * MIN).value, None);
}

#[test]
fn merge_equals_adding_everything_to_one_window() {
    for agg in all_kinds() {
        let s = spec(agg);
        let (mut a, mut b, mut all) = (SlidingWindow::new(&s, 0), SlidingWindow::new(&s, 0), SlidingWindow::new(&s, 0));
        for i in 0..600 {
            let o = Observation { num: Some((i % 37) as f64 * 13.0), hit: i % 3 == 0, hash: Some(i % 50) };
            let t = i as Millis * 3_000;
            if i % 2 == 0 { a.add(&s, t, o) } else { b.add(&s, t, o) }
            all.add(&s, t, o);
        }
        a.merge(&s, &b);
        assert_eq!(a.evaluate(&s, 600 * 3_000), all.evaluate(&s, 600 * 3_000), "{:?}", s.agg);
    }
}

#[test]
fn survives_serialization() {
    let s = spec(AggKind::Percentile(95.0));
    let mut w = SlidingWindow::new(&s, 0);
    for i in 0..100 {
        w.add(&s, i * 1000, num(i as f64));
    }
    let back: SlidingWindow = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert_eq!(back, w);
}

fn all_kinds() -> Vec<AggKind> {
    vec![
        AggKind::Count,
        AggKind::Rate,
        AggKind::Sum,
        AggKind::Avg,
        AggKind::Min,
        AggKind::Max,
        AggKind::Percentile(95.0),
        AggKind::Percentile(50.0),
        AggKind::Ratio,
        AggKind::WilsonLower,
        AggKind::Distinct,
        AggKind::Absent,
        AggKind::Change(Box::new(AggKind::Count)),
        AggKind::Change(Box::new(AggKind::Avg)),
        AggKind::Change(Box::new(AggKind::Percentile(90.0))),
    ]
}

/// The definition, computed directly over the raw events.
fn naive(kind: &AggKind, s: &WindowSpec, events: &[(Millis, Observation)], created: Millis, now: Millis) -> Evaluation {
    let hi = now.div_euclid(s.bin_ms) * s.bin_ms;
    let lo = hi - s.window_ms;
    let in_range = |lo: Millis, hi: Millis| -> Vec<Observation> {
        events.iter().filter(|(t, _)| {
            let b = t.div_euclid(s.bin_ms) * s.bin_ms;
            b > lo && b <= hi
        }).map(|(_, o)| *o).collect()
    };
    let value_of = |k: &AggKind, obs: &[Observation]| -> Option<f64> {
        let nums: Vec<f64> = obs.iter().filter_map(|o| o.num).collect();
        let n = obs.len() as f64;
        match k {
            AggKind::Count => Some(n),
            AggKind::Rate => Some(n / (s.window_ms as f64 / 1000.0)),
            AggKind::Sum => Some(nums.iter().sum()),
            AggKind::Avg => (!nums.is_empty()).then(|| nums.iter().sum::<f64>() / nums.len() as f64),
            AggKind::Min => nums.iter().copied().reduce(f64::min),
            AggKind::Max => nums.iter().copied().reduce(f64::max),
            AggKind::Percentile(p) => {
                let mut v = nums.clone();
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                (!v.is_empty()).then(|| v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1])
            }
            AggKind::Ratio => (n > 0.0).then(|| obs.iter().filter(|o| o.hit).count() as f64 / n),
            AggKind::WilsonLower => (n > 0.0).then(|| wilson_lower(obs.iter().filter(|o| o.hit).count() as u64, obs.len() as u64)),
            AggKind::Distinct => {
                let set: std::collections::HashSet<u64> = obs.iter().filter_map(|o| o.hash).collect();
                Some(set.len() as f64)
            }
            _ => unreachable!(),
        }
    };
    let current = in_range(lo, hi);
    let value = match kind {
        AggKind::Absent => {
            let last = events.iter().map(|(t, _)| *t).filter(|t| *t <= now).max().unwrap_or(created);
            Some(if now - last >= s.window_ms { 1.0 } else { 0.0 })
        }
        AggKind::Change(inner) => match (value_of(inner, &current), value_of(inner, &in_range(lo - s.window_ms, lo))) {
            (Some(a), Some(b)) if b != 0.0 => Some(a / b),
            _ => None,
        },
        k => value_of(k, &current),
    };
    Evaluation { value, events: current.len() as u64 }
}

fn close(kind: &AggKind, got: Option<f64>, want: Option<f64>) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(g), Some(w)) => {
            let tol = match kind {
                AggKind::Percentile(_) | AggKind::Change(_) => 0.021 * w.abs(),
                _ => 1e-9 * w.abs().max(1.0),
            };
            (g - w).abs() <= tol
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random event times, arrival shuffled within 30 s of lateness, evaluation at the
    /// newest time seen after every event: the windowed value equals the naive one.
    #[test]
    fn windowed_equals_naive_recomputation(
        kind_index in 0usize..15,
        raw in prop::collection::vec((0i64..3_600_000, 0u32..2000, any::<bool>(), 0u64..40, any::<bool>()), 1..300),
        jitter in prop::collection::vec(0i64..30_000, 300),
    ) {
        let kind = all_kinds().swap_remove(kind_index);
        let s = WindowSpec { agg: kind.clone(), window_ms: 10 * MIN, bin_ms: MIN };
        // Arrival order: sorted by time, then each event delayed by up to 30 s.
        let mut events: Vec<(Millis, Observation)> = raw.iter().map(|&(t, x, hit, h, has_num)| {
            (t, Observation { num: has_num.then_some(x as f64 + 0.5), hit, hash: Some(h) })
        }).collect();
        events.sort_by_key(|(t, _)| *t);
        let mut arrival: Vec<(Millis, usize)> = events.iter().enumerate().map(|(i, (t, _))| (t + jitter[i % jitter.len()], i)).collect();
        arrival.sort();
        let mut w = SlidingWindow::new(&s, 0);
        let mut seen: Vec<(Millis, Observation)> = Vec::new();
        let mut now = 0;
        for (_, i) in arrival {
            let (t, o) = events[i];
            now = now.max(t);
            // The engine drops events later than the lateness; do the same on both sides.
            if t < now - 30_000 { continue; }
            w.add(&s, t, o);
            seen.push((t, o));
            let got = w.evaluate(&s, now);
            let want = naive(&kind, &s, &seen, 0, now);
            prop_assert_eq!(got.events, want.events);
            prop_assert!(close(&kind, got.value, want.value), "{:?} at {}: got {:?} want {:?}", kind, now, got.value, want.value);
        }
        // And later, when time has moved on without events.
        for later in [now + MIN, now + 9 * MIN, now + 25 * MIN] {
            let got = w.evaluate(&s, later);
            let want = naive(&kind, &s, &seen, 0, later);
            prop_assert_eq!(got.events, want.events);
            prop_assert!(close(&kind, got.value, want.value), "{:?} at {}: got {:?} want {:?}", kind, later, got.value, want.value);
        }
    }
}
