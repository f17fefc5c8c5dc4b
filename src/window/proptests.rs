//! Property tests: every aggregation of the binned window against a naive recomputation
//! over the raw events, with random event times, arrival shuffled within a 30 s lateness
//! bound and random evaluation times (also before the newest event).
//!
//! The naive side implements the definitions of the module docs directly: the window at
//! `now` is the events whose bin start is in `(bin_start(now) - w, bin_start(now)]`, minus
//! those the retention rule dropped (bin at or before `head - keep`, `head` being the newest
//! bin start seen by an add or evaluate). Numbers are multiples of 1/8 so that sums are exact
//! in any order; every statistic but percentile is compared for equality.

use proptest::prelude::*;

use super::*;

const LATENESS: Millis = 30_000;

#[derive(Debug, Clone)]
struct Scenario {
    bin_ms: Millis,
    bins: i64,
    created: Millis,
    p: f64,
    /// (event time, arrival jitter, observation, evaluate after it at max_t + delta)
    events: Vec<(Millis, Millis, Observation, Option<Millis>)>,
}

fn obs() -> impl Strategy<Value = Observation> {
    let num = prop_oneof![
        1 => Just(None),
        1 => Just(Some(0.0)),
        8 => (-400i64..4000, prop::sample::select(vec![1.0, 0.125, 1000.0]))
            .prop_map(|(k, s)| Some(k as f64 * s)),
    ];
    let hash = prop_oneof![1 => Just(None), 9 => (0u64..40).prop_map(Some)];
    (num, any::<bool>(), hash).prop_map(|(num, hit, hash)| Observation { num, hit, hash })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::sample::select(vec![1_000i64, 5_000, 60_000]),
        1i64..=6,
        -20_000i64..20_000,
        prop::sample::select(vec![0.5, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9]),
        prop::collection::vec(
            (
                0u32..1_000_000,
                0i64..LATENESS,
                obs(),
                prop::option::weighted(0.3, -LATENESS..20_000i64),
            ),
            0..160,
        ),
    )
        .prop_map(|(bin_ms, bins, created, p, raw)| {
            let span = bin_ms * bins * 5;
            let events = raw
                .into_iter()
                .map(|(u, jitter, o, eval)| {
                    (created + u as i64 * span / 1_000_000, jitter, o, eval)
                })
                .collect();
            Scenario {
                bin_ms,
                bins,
                created,
                p,
                events,
            }
        })
}

/// The raw-event model.
struct Naive {
    spec: WindowSpec,
    created: Millis,
    head: Option<Millis>,
    last: Option<Millis>,
    events: Vec<(Millis, Observation)>,
}

impl Naive {
    fn bs(&self, t: Millis) -> Millis {
        t.div_euclid(self.spec.bin_ms) * self.spec.bin_ms
    }

    fn see(&mut self, bs: Millis) {
        if self.head.is_none_or(|h| bs > h) {
            self.head = Some(bs);
        }
    }

    fn add(&mut self, t: Millis, o: Observation) {
        let bs = self.bs(t);
        self.see(bs);
        if bs <= self.head.unwrap() - self.spec.keep_ms() {
            return;
        }
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        self.events.push((t, o));
    }

    fn evaluate(&mut self, now: Millis) -> Evaluation {
        self.see(self.bs(now));
        let end = self.bs(now);
        let events = self.window(end).len() as u64;
        let value = self.value(&self.spec.agg.clone(), now, 0);
        let baseline_events = matches!(self.spec.agg, AggKind::Change(_)).then(|| self.window(end - self.spec.window_ms).len() as u64);
        Evaluation { value, events, baseline_events }
    }

    fn window(&self, end: Millis) -> Vec<Observation> {
        let floor = self.head.unwrap() - self.spec.keep_ms();
        let w = self.spec.window_ms;
        self.events
            .iter()
            .filter(|(t, _)| {
                let b = self.bs(*t);
                b > floor && b > end - w && b <= end
            })
            .map(|e| e.1)
            .collect()
    }

    fn value(&self, kind: &AggKind, now: Millis, depth: i64) -> Option<f64> {
        let w = self.spec.window_ms;
        let ev = self.window(self.bs(now) - depth * w);
        let nums: Vec<f64> = ev.iter().filter_map(|o| o.num).collect();
        let n = ev.len() as f64;
        let hits = ev.iter().filter(|o| o.hit).count();
        match kind {
            AggKind::Count => Some(n),
            AggKind::Rate => {
                // Over the time the bins cover: the oldest bin's start to `now` (at least a
                // bin); a previous window of `change` is whole.
                let b = self.spec.bin_ms;
                let covered = if depth == 0 { (now - (self.bs(self.bs(now) - w) + b)).max(b) } else { w };
                Some(n * 1000.0 / covered as f64)
            }
            AggKind::Sum => Some(nums.iter().sum()),
            AggKind::Avg => {
                (!nums.is_empty()).then(|| nums.iter().sum::<f64>() / nums.len() as f64)
            }
            AggKind::Min => nums.iter().copied().reduce(f64::min),
            AggKind::Max => nums.iter().copied().reduce(f64::max),
            AggKind::Percentile(p) => {
                let mut v = nums.clone();
                v.sort_by(f64::total_cmp);
                (!v.is_empty()).then(|| v[nearest_rank(*p, v.len() as u64) as usize - 1])
            }
            AggKind::Ratio => (!ev.is_empty()).then(|| hits as f64 / n),
            AggKind::WilsonLower => wilson_lower(hits as u64, ev.len() as u64),
            AggKind::Distinct => {
                let mut h: Vec<u64> = ev.iter().filter_map(|o| o.hash).collect();
                h.sort_unstable();
                h.dedup();
                Some(h.len() as f64)
            }
            AggKind::Absent => Some(if depth == 0 {
                let last = self.last.unwrap_or(self.created);
                if now - last >= w { 1.0 } else { 0.0 }
            } else if ev.is_empty() {
                1.0
            } else {
                0.0
            }),
            AggKind::Change(inner) => {
                // No comparison with a previous window that began before the window existed.
                let prev_end = self.bs(now) - (depth + 1) * w;
                let total = matches!(**inner, AggKind::Count | AggKind::Rate | AggKind::Sum | AggKind::Distinct);
                if total && self.bs(self.created) > self.bs(prev_end - w) + self.spec.bin_ms {
                    return None;
                }
                let cur = self.value(inner, now, depth)?;
                let prev = self.value(inner, now, depth + 1)?;
                (prev != 0.0).then(|| cur / prev)
            }
        }
    }
}

/// Allowed relative error of `kind` against the naive value.
fn tolerance(kind: &AggKind) -> f64 {
    let a = PERCENTILE_RELATIVE_ACCURACY;
    match kind {
        AggKind::Percentile(_) => a + 1e-12,
        AggKind::Change(inner) if matches!(**inner, AggKind::Percentile(_)) => {
            (1.0 + a) / (1.0 - a) - 1.0 + 1e-12
        }
        AggKind::WilsonLower => 1e-12,
        _ => 0.0,
    }
}

pub(super) fn kinds(p: f64) -> Vec<AggKind> {
    use AggKind::*;
    vec![
        Count,
        Rate,
        Sum,
        Avg,
        Min,
        Max,
        Percentile(p),
        Ratio,
        WilsonLower,
        Distinct,
        Absent,
        Change(Box::new(Count)),
        Change(Box::new(Sum)),
        Change(Box::new(Avg)),
        Change(Box::new(Percentile(p))),
        Change(Box::new(Distinct)),
        Change(Box::new(Absent)),
    ]
}

fn run(sc: &Scenario) -> Result<(), TestCaseError> {
    let mut arrivals = sc.events.clone();
    arrivals.sort_by_key(|e| e.0 + e.1);
    for agg in kinds(sc.p) {
        let spec = WindowSpec {
            agg: agg.clone(),
            window_ms: sc.bin_ms * sc.bins,
            bin_ms: sc.bin_ms,
        };
        let mut win = SlidingWindow::new(sc.created);
        let mut naive = Naive {
            spec: spec.clone(),
            created: sc.created,
            head: None,
            last: None,
            events: vec![],
        };
        let mut max_t = sc.created;
        let mut evals: Vec<Millis> = Vec::new();
        for &(t, _, o, eval) in &arrivals {
            win.add(&spec, t, o);
            naive.add(t, o);
            max_t = max_t.max(t);
            if let Some(d) = eval {
                evals.push(max_t + d);
            }
            if let Some(now) = evals.last().copied().filter(|_| eval.is_some()) {
                compare(&agg, win.evaluate(&spec, now), naive.evaluate(now), now)?;
            }
            prop_assert!(win.bins.len() <= spec.max_bins());
            prop_assert_eq!(win.last_event_ms(), naive.last);
        }
        // The engine's fused step (add, then evaluate at the newest time, the value only
        // from `min_events` on) against the naive model evaluated the same way.
        let mut fused = SlidingWindow::new(sc.created);
        let mut model = Naive { spec: spec.clone(), created: sc.created, head: None, last: None, events: vec![] };
        let mut newest = sc.created;
        for (k, &(t, _, o, _)) in arrivals.iter().enumerate() {
            newest = newest.max(t);
            let min_events = (k % 4) as u64 * 3;
            model.add(t, o);
            let want = model.evaluate(newest);
            let got = fused.add_and_evaluate(&spec, t, o, sketch_key(&spec, &o), newest, min_events);
            if want.events >= min_events && want.baseline_events.is_none_or(|b| b >= min_events) {
                compare(&agg, got, want, newest)?;
            } else {
                prop_assert_eq!((got.events, got.baseline_events, got.value), (want.events, want.baseline_events, None), "{:?} gated at {}", agg, newest);
            }
        }
        // Round trip mid-stream, then let the window slide out completely.
        let json = serde_json::to_string(&win).unwrap();
        let mut win: SlidingWindow = serde_json::from_str(&json).unwrap();
        for k in 0..=3 {
            let now = max_t + k * spec.window_ms / 2;
            compare(&agg, win.evaluate(&spec, now), naive.evaluate(now), now)?;
        }
    }
    Ok(())
}

fn compare(
    agg: &AggKind,
    got: Evaluation,
    want: Evaluation,
    now: Millis,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.events, want.events, "{:?} events at {}", agg, now);
    prop_assert_eq!(got.baseline_events, want.baseline_events, "{:?} baseline events at {}", agg, now);
    match (got.value, want.value) {
        (Some(g), Some(w)) => {
            let tol = tolerance(agg) * w.abs();
            prop_assert!(
                (g - w).abs() <= tol,
                "{:?} at {}: got {} want {}",
                agg,
                now,
                g,
                w
            );
        }
        (g, w) => prop_assert_eq!(g, w, "{:?} at {}", agg, now),
    }
    Ok(())
}

proptest! {
    // PROPTEST_CASES overrides the count for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn binned_window_matches_naive_recomputation(sc in scenario()) {
        run(&sc)?;
    }
}
