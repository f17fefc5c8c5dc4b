//! Engine behaviour through its public API: duplicates, lateness, attribution, ticks,
//! partitions, bounds, determinism.

use std::sync::Arc;

use llmwatch::eval::{Admission, AlertState, Engine, EngineConfig, Transition};
use llmwatch::event::{Event, EventKind, Outcome};
use llmwatch::rules::{LoadOptions, RuleSet, load_sources};

const MIN: i64 = 60_000;

fn rules(yaml: &str) -> Arc<RuleSet> {
    let (set, diags) = load_sources(&[("test.yaml".into(), yaml.to_string())], &LoadOptions::default());
    assert!(diags.is_empty(), "{diags:?}");
    Arc::new(set)
}

fn feedback(id: &str, t: i64, interaction: Option<&str>, conv: &str, score: f64) -> Event {
    let mut e = Event::new(id, t, EventKind::Feedback);
    e.interaction_id = interaction.map(Into::into);
    e.conversation = Some(conv.into());
    e.score = Some(score);
    e
}

fn interaction(id: &str, t: i64, model: &str, conv: &str) -> Event {
    let mut e = Event::new(id, t, EventKind::Interaction);
    e.response_model = Some(model.into());
    e.conversation = Some(conv.into());
    e.latency_ms = Some(1000.0);
    e
}

const COUNT_PER_MODEL: &str = r#"
group: t
rules:
  - name: busy
    group_by: [model]
    window: 10m
    bin: 1m
    value: count()
    condition: ">= 3"
"#;

/// A rule entry (for a `rules:` list): fires when a model has sent nothing for 5 minutes.
const SILENT_PER_MODEL: &str = r#"  - name: silent
    group_by: [model]
    window: 5m
    value: absent()
    condition: "== 1"
"#;

fn states(out: &[Transition]) -> Vec<(String, &'static str, i64)> {
    out.iter().map(|t| (t.group.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(","), t.state.as_str(), t.at_ms)).collect()
}

#[test]
fn duplicates_are_counted_once_and_late_events_dropped() {
    let mut engine = Engine::new(rules(COUNT_PER_MODEL), EngineConfig::default());
    let mut out = Vec::new();
    assert_eq!(engine.process(interaction("a", 0, "m", "c"), &mut out), Admission::Accepted);
    assert_eq!(engine.process(interaction("a", 1000, "m", "c"), &mut out), Admission::Duplicate);
    assert_eq!(engine.process(interaction("b", 2 * MIN, "m", "c"), &mut out), Admission::Accepted);
    // 31 s behind the newest event: beyond the default 30 s lateness.
    assert_eq!(engine.process(interaction("c", 2 * MIN - 31_000, "m", "c"), &mut out), Admission::Late);
    assert_eq!(engine.process(interaction("d", 2 * MIN - 29_000, "m", "c"), &mut out), Admission::Accepted);
    assert_eq!(states(&out), vec![("m".to_string(), "firing", 2 * MIN)]);
    let s = engine.stats();
    assert_eq!((s.accepted, s.duplicates, s.late), (3, 1, 1));
}

#[test]
fn feedback_is_attributed_to_its_interactions_model() {
    let yaml = r#"
group: t
rules:
  - name: unhappy
    when: kind == "feedback"
    group_by: [model]
    window: 10m
    value: ratio(signal.negative_feedback)
    condition: "> 0.5"
    min_events: 2
"#;
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    engine.process(interaction("i1", 0, "gpt-4o", "c1"), &mut out);
    engine.process(interaction("i2", 1000, "claude", "c2"), &mut out);
    engine.process(feedback("f1", 2000, Some("i1"), "c1", -1.0), &mut out);
    // No interaction id: the conversation's latest interaction.
    engine.process(feedback("f2", 3000, None, "c1", -1.0), &mut out);
    assert_eq!(states(&out), vec![("gpt-4o".to_string(), "firing", 3000)]);
}

#[test]
fn ticks_fire_absent_and_resolve_without_traffic() {
    let yaml = format!("group: t\nrules:\n{SILENT_PER_MODEL}");
    let mut engine = Engine::new(rules(&yaml), EngineConfig::default());
    let mut out = Vec::new();
    engine.process(interaction("a", 0, "m", "c"), &mut out);
    engine.advance_to(4 * MIN, &mut out);
    assert!(out.is_empty());
    engine.advance_to(6 * MIN, &mut out);
    assert_eq!(states(&out), vec![("m".to_string(), "firing", 5 * MIN)]);
    engine.process(interaction("b", 7 * MIN, "m", "c"), &mut out);
    assert_eq!(out.last().unwrap().state, AlertState::Resolved);
}

#[test]
fn pending_goes_back_to_inactive_when_the_condition_stops_before_for() {
    let yaml = r#"
group: t
rules:
  - name: slow
    group_by: [model]
    window: 2m
    bin: 1m
    value: max(latency_ms)
    condition: "> 5000"
    for: 3m
"#;
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    let mut slow = interaction("a", 0, "m", "c");
    slow.latency_ms = Some(9000.0);
    engine.process(slow, &mut out);
    engine.advance_to(10 * MIN, &mut out);
    let got: Vec<&str> = out.iter().map(|t| t.state.as_str()).collect();
    assert_eq!(got, ["pending", "inactive"]);
}

#[test]
fn windows_of_several_partitions_are_merged_at_their_watermark_and_dropping_one_forgets_its_share() {
    let mut engine = Engine::new(rules(COUNT_PER_MODEL), EngineConfig::default());
    let mut out = Vec::new();
    engine.process_from(0, interaction("a", 0, "m", "c"), &mut out);
    engine.process_from(1, interaction("b", 1000, "m", "c"), &mut out);
    assert!(out.is_empty());
    engine.process_from(2, interaction("c", 2000, "m", "c"), &mut out);
    // Evaluated at the series' watermark: the oldest clock of the partitions feeding it.
    assert_eq!(states(&out), vec![("m".to_string(), "firing", 0)]);
    // Partition 2 moves away: its event no longer counts, the alert resolves on the next tick.
    engine.drop_partition(2);
    engine.advance_to(20_000, &mut out);
    assert_eq!(out.last().unwrap().state, AlertState::Resolved);
    // Dedup is per partition: the same id in another partition is another message.
    assert_eq!(engine.process_from(3, interaction("a", 21_000, "m", "c"), &mut out), Admission::Accepted);
}

#[test]
fn the_series_table_is_bounded() {
    let config = EngineConfig { max_series: 10, ..EngineConfig::default() };
    let mut engine = Engine::new(rules(COUNT_PER_MODEL), config);
    let mut out = Vec::new();
    for i in 0..100 {
        engine.process(interaction(&format!("e{i}"), i, &format!("model-{i}"), "c"), &mut out);
    }
    assert_eq!(engine.series_count(), 10);
    assert_eq!(engine.stats().series_overflow, 90);
}

#[test]
fn same_events_same_transitions() {
    let scenario = llmwatch::demo::Scenario::baseline(0, 90 * MIN, 5).with_incident(
        llmwatch::demo::IncidentKind::Refusals,
        Some("gpt-4o-mini"),
        20 * MIN,
        60 * MIN,
    );
    let run = || {
        let mut engine = Engine::new(Arc::new(llmwatch::demo::shipped_rules().unwrap()), EngineConfig::default());
        let mut out = Vec::new();
        for e in scenario.events() {
            engine.process(e, &mut out);
        }
        out
    };
    let (a, b) = (run(), run());
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert!(a.iter().any(|t| t.rule == "refusal_rate" && t.state == AlertState::Firing && !t.samples.is_empty()));
}

#[test]
fn outcome_signals_group_by_attributed_model() {
    let yaml = r#"
group: t
rules:
  - name: escalations
    when: kind == "outcome"
    group_by: [model]
    window: 10m
    value: count()
    condition: ">= 1"
"#;
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    engine.process(interaction("i", 0, "gpt-4o", "c9"), &mut out);
    let mut o = Event::new("o", 1000, EventKind::Outcome);
    o.conversation = Some("c9".into());
    o.outcome = Some(Outcome::Escalated);
    engine.process(o, &mut out);
    assert_eq!(states(&out), vec![("gpt-4o".to_string(), "firing", 1000)]);
}

/// The heart of crash recovery: stop anywhere, checkpoint (through the compact binary
/// encoding the store uses), restore into a fresh engine, continue — the transitions are
/// exactly those of an uninterrupted run.
#[test]
fn snapshot_and_restore_anywhere_gives_the_uninterrupted_transitions() {
    use llmwatch::eval::{AlertsSnapshot, PartitionSnapshot};
    let scenario = llmwatch::demo::Scenario::baseline(0, 120 * MIN, 9)
        .with_incident(llmwatch::demo::IncidentKind::WrongLanguage, Some("gpt-4o-mini"), 30 * MIN, 70 * MIN)
        .with_incident(llmwatch::demo::IncidentKind::Refusals, Some("claude-3-5-sonnet"), 40 * MIN, 80 * MIN);
    let events: Vec<Event> = scenario.events().collect();
    let rules = Arc::new(llmwatch::demo::shipped_rules().unwrap());
    let uninterrupted = {
        let mut engine = Engine::new(rules.clone(), EngineConfig::default());
        let mut out = Vec::new();
        for e in events.iter().cloned() {
            engine.process(e, &mut out);
        }
        out
    };
    assert!(uninterrupted.iter().any(|t| t.state == AlertState::Firing));
    for cut in [1, events.len() / 3, events.len() / 2 + 7, events.len() - 1] {
        let mut out = Vec::new();
        let mut engine = Engine::new(rules.clone(), EngineConfig::default());
        for e in events[..cut].iter().cloned() {
            engine.process(e, &mut out);
        }
        let part = postcard::to_allocvec(&engine.snapshot_partition(0).unwrap()).unwrap();
        let alerts = postcard::to_allocvec(&engine.snapshot_alerts()).unwrap();
        drop(engine);
        let mut engine = Engine::new(rules.clone(), EngineConfig::default());
        engine.restore_alerts(postcard::from_bytes::<AlertsSnapshot>(&alerts).unwrap());
        engine.restore_partition(0, postcard::from_bytes::<PartitionSnapshot>(&part).unwrap());
        for e in events[cut..].iter().cloned() {
            engine.process(e, &mut out);
        }
        assert_eq!(out.len(), uninterrupted.len(), "cut at {cut}");
        assert_eq!(out, uninterrupted, "cut at {cut}");
    }
}

#[test]
fn a_partition_consumed_late_does_not_lose_its_events_to_a_faster_one() {
    // Partition 1 delivers an hour of traffic before partition 0 delivers its own: the
    // series fed only by partition 0 must still see all of its events.
    let mut engine = Engine::new(rules(COUNT_PER_MODEL), EngineConfig::default());
    let mut out = Vec::new();
    for i in 0..60 {
        engine.process_from(1, interaction(&format!("x{i}"), i * MIN, "other", "c"), &mut out);
    }
    for i in 0..3 {
        engine.process_from(0, interaction(&format!("y{i}"), i * 1000, "m", "c"), &mut out);
    }
    assert!(out.iter().any(|t| t.group[0].1 == "m" && t.state == AlertState::Firing), "{out:?}");
}

#[test]
fn a_gap_of_millennia_in_event_time_is_crossed_without_running_every_tick() {
    let yaml = format!("{COUNT_PER_MODEL}    for: 2m\n    keep_firing_for: 3m\n{SILENT_PER_MODEL}");
    let start = move |out: &mut Vec<Transition>| {
        let mut engine = Engine::new(rules(&yaml), EngineConfig::default());
        for (i, t) in [0, 1000, 2000].into_iter().enumerate() {
            engine.process(interaction(&format!("e{i}"), t, "m", "c"), out);
        }
        engine
    };
    // The reference ticks through the hour after the burst one tick at a time.
    let mut reference = Vec::new();
    start(&mut reference).advance_to(60 * MIN, &mut reference);
    assert_eq!(
        states(&reference),
        [("m".to_string(), "pending", 2000), ("m".to_string(), "firing", 130_000), ("m".to_string(), "firing", 310_000), ("m".to_string(), "resolved", 780_000)]
    );
    // The same burst, then an event in the year 9000: 2 × 10^10 ticks away. (Run on its
    // own thread so that a regression fails here instead of hanging the suite.)
    let far = llmwatch::time::parse_rfc3339("9000-01-01T00:00:00Z").unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut engine = start(&mut out);
        engine.process(interaction("late", far, "other", "c"), &mut out);
        done.send(out).unwrap();
    });
    let out = finished.recv_timeout(std::time::Duration::from_secs(60)).expect("the gap is crossed");
    // Everything the reference saw happens at the same times; the silent alert of "m"
    // stays firing (no event of "m" since), and nothing else happens in between.
    let before: Vec<_> = out.iter().filter(|t| t.at_ms < 60 * MIN).cloned().collect();
    assert_eq!(states(&before), states(&reference));
    assert!(out.iter().all(|t| t.at_ms < 60 * MIN || t.at_ms >= far - 10_000), "{:?}", states(&out));
}

#[test]
fn distinct_of_a_lowercased_field_counts_every_value_once_lowercased() {
    let yaml = r#"
group: t
rules:
  - name: people
    window: 10m
    value: distinct(lower(user))
    condition: ">= 3"
"#;
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    for (i, user) in ["Alice", "ALICE", "alice", "Bob", "carol"].into_iter().enumerate() {
        let mut e = interaction(&format!("e{i}"), i as i64 * 1000, "m", "c");
        e.user = Some(user.into());
        engine.process(e, &mut out);
    }
    // Alice, ALICE and alice are one person: three only with carol (values with capitals
    // were once not counted at all).
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!((out[0].state, out[0].at_ms, out[0].value), (AlertState::Firing, 4000, Some(3.0)));
}

#[test]
fn a_repeat_within_a_lateness_longer_than_the_dedup_horizon_is_still_a_duplicate() {
    let config = EngineConfig { allowed_lateness: llmwatch::time::Duration(120 * MIN), ..EngineConfig::default() };
    assert!(config.allowed_lateness > config.dedup.horizon);
    let mut engine = Engine::new(rules(COUNT_PER_MODEL), config);
    let mut out = Vec::new();
    assert_eq!(engine.process(interaction("d1", 0, "m", "c"), &mut out), Admission::Accepted);
    assert_eq!(engine.process(interaction("x", 90 * MIN, "m", "c"), &mut out), Admission::Accepted);
    // 90 minutes behind the newest event: within the lateness, so admitted — and the id
    // must still be remembered.
    assert_eq!(engine.process(interaction("d1", 0, "m", "c"), &mut out), Admission::Duplicate);
    assert_eq!(engine.stats().duplicates, 1);
}

#[test]
fn numbers_too_long_for_a_plain_label_keep_their_groups_apart() {
    let yaml = r#"
group: t
rules:
  - name: per_x
    group_by: [attr.x]
    window: 10m
    value: count()
    condition: ">= 1"
"#;
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    // -0 and 0 are one group, "0".
    for (i, x) in [1e40, 1e41, 12.5, -0.0, 0.0].into_iter().enumerate() {
        let mut e = interaction(&format!("e{i}"), i as i64 * 1000, "m", "c");
        e.attributes.push(("x".into(), llmwatch::event::Scalar::Num(x)));
        engine.process(e, &mut out);
    }
    assert_eq!(states(&out), [("1e40".to_string(), "firing", 0), ("1e41".to_string(), "firing", 1000), ("12.5".to_string(), "firing", 2000), ("0".to_string(), "firing", 3000)]);
}

/// The store as a map of window records, kept by applying incremental checkpoints.
#[derive(Default)]
struct StoredWindows(std::collections::BTreeMap<(String, Vec<String>), llmwatch::eval::WindowRecord>);

impl StoredWindows {
    fn checkpoint(&mut self, engine: &mut Engine, partition: u32) {
        if let Some(c) = engine.partition_changes(partition, false) {
            for r in c.removed {
                self.0.remove(&r);
            }
            for w in c.windows {
                self.0.insert((w.rule.clone(), w.labels.clone()), w);
            }
        }
    }
}

#[test]
fn an_alert_held_by_keep_firing_for_is_checkpointed_when_its_condition_stops() {
    use llmwatch::eval::PartitionSnapshot;
    let yaml = "group: g\nrules:\n  - name: busy\n    group_by: [model]\n    window: 1m\n    value: count()\n    condition: '> 0'\n    keep_firing_for: 5m\n";
    let mut a = Engine::new(rules(yaml), EngineConfig::default());
    a.track_removed();
    let mut stored = StoredWindows::default();
    let mut out = Vec::new();
    for i in 0..5 {
        a.process_from(0, interaction(&format!("e{i}"), 1_000 + i * 1000, "m", "c"), &mut out);
    }
    stored.checkpoint(&mut a, 0);
    // The window empties without an event: keep_firing_for starts, and nothing is emitted.
    a.advance_to(80_000, &mut out);
    stored.checkpoint(&mut a, 0);
    let mut b = Engine::new(rules(yaml), EngineConfig::default());
    b.restore_alerts(a.snapshot_alerts());
    let state = a.snapshot_partition(0).unwrap().state;
    b.restore_partition(0, PartitionSnapshot { state, windows: stored.0.values().cloned().collect() });
    let (mut oa, mut ob) = (Vec::new(), Vec::new());
    for t in (90_000..=900_000).step_by(10_000) {
        a.advance_to(t, &mut oa);
        b.advance_to(t, &mut ob);
    }
    assert_eq!(states(&oa), states(&ob), "the restored alert resolves when the uninterrupted one does");
    assert_eq!(states(&oa).len(), 1);
}

#[test]
fn restoring_partitions_behind_one_another_keeps_every_tick_of_their_shared_series() {
    let any = "group: g\nrules:\n  - name: busy\n    group_by: [model]\n    window: 1m\n    value: count()\n    condition: '> 0'\n";
    let mut a = Engine::new(rules(any), EngineConfig::default());
    let mut out = Vec::new();
    // Series "m" fed by partitions 0 and 1; partition 0 runs ahead.
    for (p, id, t) in [(0, "a1", 1_000), (1, "b1", 2_000), (1, "b2", 20_000), (0, "a2", 100_000)] {
        a.process_from(p, interaction(id, t, "m", "c"), &mut out);
    }
    let (s0, s1) = (a.snapshot_partition(0).unwrap(), a.snapshot_partition(1).unwrap());
    let mut b = Engine::new(rules(any), EngineConfig::default());
    b.restore_alerts(a.snapshot_alerts());
    b.restore_partition(0, s0);
    b.restore_partition(1, s1);
    let (mut oa, mut ob) = (Vec::new(), Vec::new());
    for (i, t) in (30_000..=700_000).step_by(10_000).enumerate() {
        a.process_from(1, interaction(&format!("b{}", i + 3), t, "n", "c"), &mut oa);
        b.process_from(1, interaction(&format!("b{}", i + 3), t, "n", "c"), &mut ob);
    }
    assert!(!oa.is_empty());
    assert_eq!(states(&oa), states(&ob));
}

#[test]
fn stored_windows_of_a_rule_no_longer_loaded_are_deleted_by_the_next_checkpoint() {
    let old = "group: g\nrules:\n  - name: gone\n    group_by: [model]\n    window: 1m\n    value: count()\n    condition: '> 99'\n";
    let mut a = Engine::new(rules(old), EngineConfig::default());
    let mut out = Vec::new();
    a.process_from(0, interaction("e", 1_000, "m", "c"), &mut out);
    let snap = a.snapshot_partition(0).unwrap();
    assert_eq!(snap.windows.len(), 1);
    let mut b = Engine::new(rules(COUNT_PER_MODEL), EngineConfig::default());
    b.track_removed();
    b.restore_partition(0, snap);
    let changes = b.partition_changes(0, false).expect("a deletion to write");
    assert_eq!(changes.removed, [("gone".to_string(), vec!["m".to_string()])]);
    assert!(b.partition_changes(0, false).is_none_or(|c| c.removed.is_empty()), "deleted once");
}

#[test]
fn a_tick_at_an_events_own_time_counts_that_event() {
    // A heartbeat exactly on the minute, watched by a one-minute `absent()`: every minute
    // the model did send something, so nothing may fire (the tick at 1:00 used to run
    // before the event stamped 1:00, fire, and resolve at once).
    let yaml = "group: t\nrules:\n  - name: flat\n    group_by: [model]\n    window: 1m\n    value: absent()\n    condition: \"== 1\"\n";
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    for m in 0..10 {
        engine.process(interaction(&format!("h{m}"), m * MIN, "m", "c"), &mut out);
    }
    assert!(out.is_empty(), "{:?}", states(&out));
    // The tick at 10:00 runs once time passes it, and counts the event stamped 9:00 as the
    // last: silence has lasted a whole window exactly then.
    engine.advance_to(10 * MIN, &mut out);
    assert_eq!(states(&out), vec![("m".to_string(), "firing", 10 * MIN)]);
}

#[test]
fn reminders_fall_due_across_a_quiet_gap_as_they_would_tick_by_tick() {
    // A model silent for three hours: its `absent()` alert reminds every 10 minutes all
    // along, in a replay that jumps the gap as in a daemon whose clock passes every tick.
    let yaml = format!("group: t\nrules:\n{SILENT_PER_MODEL}    repeat_interval: 10m\n");
    let mut engine = Engine::new(rules(&yaml), EngineConfig::default());
    let mut out = Vec::new();
    engine.process(interaction("a", 0, "m", "c"), &mut out);
    engine.process(interaction("b", 180 * MIN + 1000, "other", "c"), &mut out);
    let m: Vec<_> = states(&out).into_iter().filter(|(g, _, _)| g == "m").collect();
    let mut expected = vec![("m".to_string(), "firing", 5 * MIN)];
    expected.extend((1..=17).map(|k| ("m".to_string(), "firing", 5 * MIN + k * 10 * MIN)));
    assert_eq!(m, expected);
    assert_eq!(out.iter().filter(|t| t.reminder).count(), 17);
}

#[test]
fn a_jump_needs_min_events_in_the_previous_window_too() {
    // Traffic ramps from one call in the first half hour to sixty in the next: the p95 of one
    // call is no baseline, so the jump rule must not fire however large the ratio.
    let yaml = "group: t\nrules:\n  - name: jump\n    group_by: [model]\n    window: 30m\n    value: change(percentile(latency_ms, 95))\n    condition: '> 1.5'\n    min_events: 20\n";
    let run = |baseline_calls: i64| {
        let mut engine = Engine::new(rules(yaml), EngineConfig::default());
        let mut out = Vec::new();
        for i in 0..baseline_calls {
            engine.process(interaction(&format!("b{i}"), i * 30 * MIN / baseline_calls, "m", "c"), &mut out);
        }
        for i in 0..60 {
            let mut e = interaction(&format!("n{i}"), 30 * MIN + i * 30_000, "m", "c");
            e.latency_ms = Some(3000.0);
            engine.process(e, &mut out);
        }
        out
    };
    assert!(run(1).is_empty(), "{:?}", states(&run(1)));
    // With a baseline of 30 calls at 1000 ms the same jump fires.
    assert_eq!(states(&run(30)).first().map(|s| s.1), Some("firing"));
}

#[test]
fn a_restored_partition_computes_signals_with_the_settings_the_engine_runs_with_now() {
    use llmwatch::eval::PartitionSnapshot;
    let yaml = "group: t\nrules:\n  - name: refusals\n    group_by: [model]\n    window: 10m\n    value: ratio(signal.refusal)\n    condition: '> 0'\n";
    let refusal = |id: &str, t: i64| {
        let mut e = interaction(id, t, "m", "c");
        e.output = Some("Computer says no.".into());
        e
    };
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    engine.process(refusal("a", 0), &mut out);
    assert!(out.is_empty(), "not a refusal phrase by default");
    let stored = postcard::to_allocvec(&engine.snapshot_partition(0).unwrap()).unwrap();
    // Restarted with the phrase added to the config: the restored partition uses it.
    let mut config = EngineConfig::default();
    config.signals.refusal_phrases = vec!["computer says no".into()];
    let mut engine = Engine::new(rules(yaml), config);
    engine.restore_partition(0, postcard::from_bytes::<PartitionSnapshot>(&stored).unwrap());
    engine.process(refusal("b", 1000), &mut out);
    assert_eq!(states(&out), [("m".to_string(), "firing", 1000)]);
}

#[test]
fn groups_stay_apart_whether_their_values_are_short_or_long() {
    // ("ab", "c") and ("a", "bc") read alike once concatenated; a model name past the
    // groups' 31-byte short form meets the same name with another tenant, and a short one.
    let yaml = r#"
group: t
rules:
  - name: pair
    group_by: [model, tenant]
    window: 10m
    bin: 1m
    value: count()
    condition: '>= 2'
"#;
    let long = "a-model-name-well-past-thirty-one-bytes";
    let mut engine = Engine::new(rules(yaml), EngineConfig::default());
    let mut out = Vec::new();
    let sends = [("ab", "c"), ("a", "bc"), ("ab", "c"), (long, "x"), (long, "y"), (long, "x"), ("a-model-name", "x")];
    for (i, (model, tenant)) in sends.iter().enumerate() {
        let mut e = interaction(&format!("e{i}"), i as i64 * 1000, model, "c");
        e.tenant = Some((*tenant).into());
        engine.process(e, &mut out);
    }
    let firing: Vec<Vec<(String, String)>> = out.iter().filter(|t| t.state == AlertState::Firing).map(|t| t.group.clone()).collect();
    let pair = |m: &str, t: &str| vec![("model".to_string(), m.to_string()), ("tenant".to_string(), t.to_string())];
    assert_eq!(firing, [pair("ab", "c"), pair(long, "x")]);
    assert_eq!(engine.series_count(), 5);
}
