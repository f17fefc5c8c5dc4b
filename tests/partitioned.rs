//! The engine over several input partitions, consumed the way a Kafka consumer delivers them
//! (a chunk of one partition, then a chunk of another), gives exactly the transitions of a
//! single-stream replay — when every alert group lives in one partition (events keyed by
//! the `group_by` label) and the stream is in event-time order. Also when the partitions
//! are split between two engines (two daemons in one consumer group), and when a
//! partition is handed over mid-stream by snapshot and restore.
//!
//! This pins the root cause of a flaky two-daemon test: a partition consumed behind
//! another missed the ticks the faster one had already run, so an alert near its
//! threshold resolved (or fired) at a different evaluation than in replay.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use llmwatch::demo::{IncidentKind, ModelProfile, Scenario, shipped_rules};
use llmwatch::eval::{AlertState, Engine, EngineConfig, Transition};
use llmwatch::event::{Event, EventKind};
use llmwatch::rules::RuleSet;

const MIN: i64 = 60_000;

/// The shipped rules that group by model (each group lives in one partition when events
/// are keyed by model).
fn per_model_rules() -> Arc<RuleSet> {
    let mut set = shipped_rules().unwrap();
    set.rules.retain(|r| r.group_labels.iter().any(|l| l == "model"));
    assert!(set.rules.len() >= 10, "{}", set.rules.len());
    Arc::new(set)
}

/// Four models, each keyed to its own partition, with incidents on two of them.
fn events(minutes: i64, seed: u64) -> Vec<(u32, Event)> {
    let start = 1_800_000_000_000;
    let mut scenario = Scenario::baseline(start, minutes * MIN, seed)
        .with_incident(IncidentKind::Refusals, Some("gpt-4o-mini"), start + 15 * MIN, start + 45 * MIN)
        .with_incident(IncidentKind::SlowLatency, Some("claude-3-5-sonnet"), start + 20 * MIN, start + 50 * MIN)
        .with_incident(IncidentKind::Errors, Some("mistral-large"), start + 30 * MIN, start + 40 * MIN);
    scenario.models.push(ModelProfile { name: "mistral-large".into(), provider: "mistral".into(), latency_ms: 1600.0, share: 0.2 });
    let partition_of: HashMap<&str, u32> = [("gpt-4o-mini", 0), ("claude-3-5-sonnet", 1), ("llama-3.1-70b", 2), ("mistral-large", 3)].into();
    // Feedback and outcomes carry no model: they follow their conversation's.
    let mut conversation_partition: HashMap<String, u32> = HashMap::new();
    scenario
        .events()
        .map(|e| {
            let conv = e.conversation.as_deref().unwrap_or("-").to_string();
            let p = match e.response_model.as_deref().and_then(|m| partition_of.get(m)) {
                Some(&p) if e.kind == EventKind::Interaction => *conversation_partition.entry(conv).or_insert(p),
                _ => conversation_partition.get(&conv).copied().unwrap_or(0),
            };
            (p, e)
        })
        .collect()
}

fn replay(rules: &Arc<RuleSet>, events: &[(u32, Event)]) -> Vec<Transition> {
    let mut engine = Engine::new(rules.clone(), EngineConfig::default());
    let mut out = Vec::new();
    for (_, e) in events {
        engine.process(e.clone(), &mut out);
    }
    out
}

/// Splits the stream per partition and interleaves chunks of pseudo-random length, like
/// fetches from several partitions.
fn interleave(events: &[(u32, Event)], partitions: &[u32], seed: u64) -> Vec<(u32, Event)> {
    let mut queues: BTreeMap<u32, std::collections::VecDeque<Event>> = partitions.iter().map(|p| (*p, Default::default())).collect();
    for (p, e) in events {
        if let Some(q) = queues.get_mut(p) {
            q.push_back(e.clone());
        }
    }
    let mut rng = llmwatch::demo::Rng::new(seed);
    let mut out = Vec::new();
    while queues.values().any(|q| !q.is_empty()) {
        for (p, q) in queues.iter_mut() {
            let n = 1 + rng.below(3000);
            for e in q.drain(..n.min(q.len())) {
                out.push((*p, e));
            }
        }
    }
    out
}

fn run(rules: &Arc<RuleSet>, input: &[(u32, Event)]) -> Vec<Transition> {
    let mut engine = Engine::new(rules.clone(), EngineConfig::default());
    let mut out = Vec::new();
    for (p, e) in input {
        engine.process_from(*p, e.clone(), &mut out);
    }
    out
}

/// Per (rule, group), in order: what one alert went through.
type AlertKey = (String, Vec<(String, String)>);

fn by_alert(items: Vec<Transition>) -> BTreeMap<AlertKey, Vec<Transition>> {
    let mut m: BTreeMap<_, Vec<Transition>> = BTreeMap::new();
    for t in items {
        m.entry((t.rule.clone(), t.group.clone())).or_default().push(t);
    }
    m
}

fn assert_same(got: Vec<Transition>, want: &[Transition], what: &str) {
    let (got, want) = (by_alert(got), by_alert(want.to_vec()));
    for (k, w) in &want {
        assert_eq!(got.get(k), Some(w), "{what}: {k:?}");
    }
    assert_eq!(got.len(), want.len(), "{what}: the same alerts");
}

#[test]
fn partitions_consumed_in_chunks_give_the_transitions_of_a_replay() {
    let rules = per_model_rules();
    let events = events(90, 21);
    let expected = replay(&rules, &events);
    assert!(expected.iter().filter(|t| t.state == AlertState::Firing).count() >= 3, "{expected:#?}");
    for seed in [1, 2, 3] {
        assert_same(run(&rules, &interleave(&events, &[0, 1, 2, 3], seed)), &expected, &format!("one engine, seed {seed}"));
    }
}

#[test]
fn two_engines_sharing_the_partitions_give_the_transitions_of_a_replay() {
    let rules = per_model_rules();
    let events = events(90, 22);
    let expected = replay(&rules, &events);
    let mut both = run(&rules, &interleave(&events, &[0, 1], 7));
    both.extend(run(&rules, &interleave(&events, &[2, 3], 8)));
    assert_same(both, &expected, "two engines");
}

#[test]
fn partitions_rebuilt_by_another_engine_continue_exactly_and_the_old_owner_goes_quiet() {
    // Engine A consumes partitions 0-3 for a while; then 2 and 3 move to engine B, which
    // (like a daemon with no local state for them) rebuilds each by replaying it from the
    // start in an engine of its own with the transitions discarded, then merges it and
    // continues. A keeps 0 and 1 and must say nothing more about 2 and 3.
    let rules = per_model_rules();
    let events = events(90, 23);
    let expected = replay(&rules, &events);
    let input = interleave(&events, &[0, 1, 2, 3], 9);
    let cut = input.len() / 2;
    let mut a = Engine::new(rules.clone(), EngineConfig::default());
    let mut out = Vec::new();
    for (p, e) in &input[..cut] {
        a.process_from(*p, e.clone(), &mut out);
    }
    let mut b = Engine::new(rules.clone(), EngineConfig::default());
    for p in [2, 3] {
        a.drop_partition(p);
        let mut rebuild = Engine::new(rules.clone(), EngineConfig::default());
        let mut discarded = Vec::new();
        for (_, e) in input[..cut].iter().filter(|(q, _)| *q == p) {
            rebuild.process(e.clone(), &mut discarded);
        }
        b.restore_partition(p, rebuild.snapshot_partition(0).unwrap());
        b.merge_alerts(rebuild.snapshot_alerts());
    }
    for (p, e) in &input[cut..] {
        let engine = if *p >= 2 { &mut b } else { &mut a };
        engine.process_from(*p, e.clone(), &mut out);
    }
    assert_same(out, &expected, "handover");
}
