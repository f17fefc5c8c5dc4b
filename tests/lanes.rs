//! The groups' lanes (`src/eval/lane.rs`) are a cache: an engine with them and one without
//! must give the same transitions and the same stored state for any stream, whatever the
//! arrival order, partitions, ticks, checkpoints and revocations.

use std::sync::Arc;

use proptest::prelude::*;

use llmwatch::eval::{Engine, EngineConfig, Transition};
use llmwatch::event::{Event, EventKind, Scalar};
use llmwatch::rules::{LoadOptions, RuleSet, load_sources};

/// Counting rules of two bin widths (the lane serves the first width), a percentile beside
/// them in the same groups, a rate and an absent (never in a lane), alert timers of every
/// kind, and a second `group_by` list.
const RULES: &str = r#"
group: lanes
rules:
  - name: errors
    when: kind == "interaction"
    group_by: [attr.account]
    window: 5m
    bin: 1m
    value: ratio(signal.error)
    condition: "> 0.3"
    min_events: 3
    for: 1m
  - name: busy
    group_by: [attr.account]
    window: 3m
    bin: 1m
    value: count()
    condition: ">= 6"
    keep_firing_for: 1m
    repeat_interval: 2m
  - name: unhappy
    when: kind == "feedback"
    group_by: [attr.account]
    window: 5m
    bin: 1m
    value: wilson_lower(signal.negative_feedback)
    condition: "> 0.1"
    min_events: 2
  - name: slow
    when: kind == "interaction"
    group_by: [attr.account]
    window: 5m
    bin: 1m
    value: percentile(latency_ms, 90)
    condition: "> 2000"
  - name: coarse
    group_by: [attr.account]
    window: 10m
    bin: 2m
    value: count()
    condition: "> 8"
  - name: steady
    group_by: [attr.account]
    window: 2m
    bin: 1m
    value: rate()
    condition: "> 0.05"
  - name: quiet
    group_by: [attr.account]
    window: 4m
    bin: 1m
    value: absent()
    condition: "== 1"
  - name: model_errors
    when: kind == "interaction"
    group_by: [model]
    window: 4m
    bin: 30s
    value: ratio(signal.error)
    condition: "> 0.5"
    min_events: 4
    for: 30s
    keep_firing_for: 1m
"#;

fn rules() -> Arc<RuleSet> {
    let (set, diags) = load_sources(&[("lanes.yaml".into(), RULES.to_string())], &LoadOptions::default());
    assert!(diags.is_empty(), "{diags:?}");
    Arc::new(set)
}

#[derive(Debug, Clone)]
enum Op {
    /// An event `ahead` ms after the previous op's time, stamped `back` ms earlier than that.
    Event { ahead: i64, back: i64, partition: u32, account: u8, model: u8, feedback: bool, error: bool, latency: f64, negative: bool },
    /// Time passes without traffic.
    Advance { ahead: i64 },
    /// Checkpoint every partition and the alerts, restore into a fresh engine, go on there.
    Checkpoint,
    /// A partition is revoked.
    Drop { partition: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (0i64..15_000, prop_oneof![4 => Just(0i64), 1 => 0i64..45_000], 0u32..2, 0u8..4, 0u8..2, any::<bool>(), any::<bool>(), 100.0f64..4_000.0, any::<bool>())
            .prop_map(|(ahead, back, partition, account, model, feedback, error, latency, negative)| Op::Event { ahead, back, partition, account, model, feedback, error, latency, negative }),
        1 => (0i64..400_000).prop_map(|ahead| Op::Advance { ahead }),
        1 => Just(Op::Checkpoint),
        1 => (0u32..2).prop_map(|partition| Op::Drop { partition }),
    ]
}

/// The event of an `Op::Event`, numbered `n`, stamped `t`.
fn event(n: usize, t: i64, op: &Op) -> Event {
    let Op::Event { account, model, feedback, error, latency, negative, .. } = *op else { unreachable!("an event op") };
    let kind = if feedback { EventKind::Feedback } else { EventKind::Interaction };
    let mut e = Event::new(format!("e{n}"), t, kind);
    e.response_model = Some(format!("m{model}").into());
    e.set_attribute("account", Scalar::Str(format!("a{account}").into()));
    if feedback {
        e.score = Some(if negative { -1.0 } else { 1.0 });
    } else {
        e.latency_ms = Some(latency);
        e.output = Some("fine".into());
        if error {
            e.error_type = Some("timeout".into());
        }
    }
    e
}

fn checkpointed(engine: &mut Engine, lanes: bool) -> Engine {
    let parts: Vec<_> = (0..2).filter_map(|p| engine.snapshot_partition(p).map(|s| (p, s))).collect();
    let alerts = engine.snapshot_alerts();
    let mut fresh = Engine::new(engine.rules().clone(), EngineConfig::default());
    fresh.set_lanes(lanes);
    fresh.restore_alerts(alerts);
    for (p, s) in parts {
        fresh.restore_partition(p, s);
    }
    fresh
}

/// Runs `ops` with lanes on or off: every op's transitions, then the final stored state.
fn run(ops: &[Op], lanes: bool) -> (Vec<Vec<Transition>>, String) {
    let mut engine = Engine::new(rules(), EngineConfig::default());
    engine.set_lanes(lanes);
    let mut now = 1_800_000_000_000i64;
    let mut steps = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        let mut out = Vec::new();
        match *op {
            Op::Event { ahead, back, partition, .. } => {
                now += ahead;
                engine.process_from(partition, event(n, now - back, op), &mut out);
            }
            Op::Advance { ahead } => {
                now += ahead;
                engine.advance_to(now, &mut out);
            }
            Op::Checkpoint => engine = checkpointed(&mut engine, lanes),
            Op::Drop { partition } => engine.drop_partition(partition),
        }
        steps.push(out);
    }
    let parts: Vec<_> = (0..2).map(|p| engine.snapshot_partition(p).map(|s| s.windows)).collect();
    (steps, format!("{parts:?}\n{:?}", engine.snapshot_alerts()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lanes_change_no_transition_and_no_stored_state(ops in prop::collection::vec(op(), 1..300)) {
        let (with, stored_with) = run(&ops, true);
        let (without, stored_without) = run(&ops, false);
        for (i, (a, b)) in with.iter().zip(&without).enumerate() {
            prop_assert_eq!(a, b, "transitions of op {} ({:?})", i, ops[i]);
        }
        prop_assert_eq!(stored_with, stored_without);
    }
}

/// The property above only means something if the streams it draws make alerts fire and
/// go through lanes: a fixed stream that does.
#[test]
fn the_compared_streams_fire_alerts_through_lanes() {
    let ops: Vec<Op> = (0..400)
        .map(|i| Op::Event { ahead: 2_000, back: 0, partition: 0, account: (i % 2) as u8, model: 0, feedback: i % 5 == 0, error: i % 3 != 0, latency: 500.0, negative: true })
        .collect();
    let (with, _) = run(&ops, true);
    let fired: Vec<&str> = with.iter().flatten().filter(|t| t.state.as_str() == "firing").map(|t| t.rule.as_str()).collect();
    for rule in ["errors", "busy", "unhappy", "model_errors"] {
        assert!(fired.contains(&rule), "{rule} fired: {fired:?}");
    }
}
