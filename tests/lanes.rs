//! The groups' lanes (`src/eval/lane.rs`) are a cache: an engine with them and one without
//! must give the same transitions and the same stored state for any stream, whatever the
//! arrival order, partitions, ticks, checkpoints and revocations.

use std::sync::Arc;

use proptest::prelude::*;

use llmwatch::eval::{Engine, EngineConfig, Transition};
use llmwatch::event::{Event, EventKind, Scalar};
use llmwatch::rules::{LoadOptions, RuleSet, load_sources};
use llmwatch::time::Duration;

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
    /// Restore a partition's own snapshot and the alerts into the running engine (as a
    /// daemon does when a rebuilt partition is handed over).
    Reload { partition: u32 },
    /// A partition is revoked.
    Drop { partition: u32 },
}

/// Ops over `partitions` input partitions, events at most `max_ahead` ms apart.
fn op(partitions: u32, max_ahead: i64) -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (0..max_ahead, prop_oneof![4 => Just(0i64), 1 => 0i64..45_000], 0..partitions, 0u8..4, 0u8..2, any::<bool>(), any::<bool>(), 100.0f64..4_000.0, any::<bool>())
            .prop_map(|(ahead, back, partition, account, model, feedback, error, latency, negative)| Op::Event { ahead, back, partition, account, model, feedback, error, latency, negative }),
        1 => (0i64..400_000).prop_map(|ahead| Op::Advance { ahead }),
        1 => Just(Op::Checkpoint),
        1 => (0..partitions).prop_map(|partition| Op::Reload { partition }),
        1 => (0..partitions).prop_map(|partition| Op::Drop { partition }),
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
    let mut fresh = Engine::new(engine.rules().clone(), engine.config().clone());
    fresh.set_lanes(lanes);
    fresh.restore_alerts(alerts);
    for (p, s) in parts {
        fresh.restore_partition(p, s);
    }
    fresh
}

/// Runs `ops` with lanes on or off: every op's transitions (and, at a checkpoint, what
/// an incremental checkpoint would write), then the final stored state.
fn run(ops: &[Op], lanes: bool, config: &EngineConfig) -> (Vec<Vec<Transition>>, Vec<String>, String) {
    let mut engine = Engine::new(rules(), config.clone());
    engine.set_lanes(lanes);
    let mut changes = Vec::new();
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
            Op::Checkpoint => {
                changes.extend((0..2).map(|p| format!("{:?}", engine.partition_changes(p, false))));
                engine = checkpointed(&mut engine, lanes);
            }
            Op::Reload { partition } => {
                if let Some(snap) = engine.snapshot_partition(partition) {
                    let alerts = engine.snapshot_alerts();
                    engine.restore_partition(partition, snap);
                    engine.merge_alerts(alerts);
                }
            }
            Op::Drop { partition } => engine.drop_partition(partition),
        }
        steps.push(out);
    }
    let parts: Vec<_> = (0..2).map(|p| engine.snapshot_partition(p).map(|s| s.windows)).collect();
    (steps, changes, format!("{parts:?}\n{:?}", engine.snapshot_alerts()))
}

/// Both runs of `ops` agree op by op and in the end.
fn same_with_and_without_lanes(ops: &[Op], config: &EngineConfig) -> Result<(), TestCaseError> {
    let (with, changes_with, stored_with) = run(ops, true, config);
    let (without, changes_without, stored_without) = run(ops, false, config);
    for (i, (a, b)) in with.iter().zip(&without).enumerate() {
        prop_assert_eq!(a, b, "transitions of op {} ({:?})", i, ops[i]);
    }
    prop_assert_eq!(changes_with, changes_without, "incremental checkpoints");
    prop_assert_eq!(stored_with, stored_without);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    /// Two partitions, events seconds apart: lanes start over often (another partition,
    /// a tick), series are fed by both partitions, restores and revocations interleave.
    #[test]
    fn lanes_change_no_transition_and_no_stored_state(ops in prop::collection::vec(op(2, 15_000), 1..300)) {
        same_with_and_without_lanes(&ops, &EngineConfig::default())?;
    }

    /// One partition, dense events, a tick a minute and two samples per series: lanes hold
    /// many events between writes, evidence rings fill, and alerts stay active below
    /// `min_events`.
    #[test]
    fn lanes_holding_many_events_change_nothing(ops in prop::collection::vec(op(1, 2_000), 1..300)) {
        let config = EngineConfig { tick: Duration(60_000), samples: 2, ..EngineConfig::default() };
        same_with_and_without_lanes(&ops, &config)?;
    }
}

/// The property above only means something if the streams it draws make alerts fire and
/// go through lanes: a fixed stream that does.
#[test]
fn the_compared_streams_fire_alerts_through_lanes() {
    let ops: Vec<Op> = (0..400)
        .map(|i| Op::Event { ahead: 2_000, back: 0, partition: 0, account: (i % 2) as u8, model: 0, feedback: i % 5 == 0, error: i % 3 != 0, latency: 500.0, negative: true })
        .collect();
    let (with, _, stored) = run(&ops, true, &EngineConfig::default());
    let fired: Vec<&str> = with.iter().flatten().filter(|t| t.state.as_str() == "firing").map(|t| t.rule.as_str()).collect();
    for rule in ["errors", "busy", "unhappy", "model_errors"] {
        assert!(fired.contains(&rule), "{rule} fired: {fired:?}");
    }
    let (without, _, stored_without) = run(&ops, false, &EngineConfig::default());
    assert_eq!(with, without);
    assert_eq!(stored, stored_without);
}
