//! The engine benchmark's input, shared with `examples/engine_profile.rs` so a profile
//! runs exactly what the benchmark times.

use llmwatch::demo::Scenario;
use llmwatch::event::{Event, Scalar};
use llmwatch::rules::{LoadOptions, RuleSet, load_sources};

/// Distinct values of `attr.account` in the benchmark.
pub const KEYS: usize = 10_000;

/// The benchmark's `group_by` lists, ten rules each: `attr.account` takes 10k values, the
/// others a handful. The account list appears twice (twenty rules share its groups).
pub const GROUPINGS: [&str; 5] = ["[model]", "[tenant]", "[attr.account]", "[model, tenant]", "[attr.account]"];

/// 50 rules in the shape of the shipped packs: a mix of ratio, wilson, percentile, avg,
/// count and distinct, grouped by model, tenant or the 10k-valued `attr.account`.
pub fn fifty_rules() -> RuleSet {
    let set = rules_for(&GROUPINGS);
    assert_eq!(set.rules.len(), 50);
    set
}

/// The ten rule templates for each of `groupings` (a subset of [`GROUPINGS`] measures what
/// each part of the benchmark costs: `engine_profile decoded 200000 10000 0 0,1,3`).
pub fn rules_for(groupings: &[&str]) -> RuleSet {
    let templates = [
        ("kind == \"interaction\"", "ratio(signal.error)", "> 0.05"),
        ("kind == \"interaction\" && error_type == null", "ratio(signal.empty_response)", "> 0.05"),
        ("kind == \"interaction\" && error_type == null", "ratio(signal.truncated)", "> 0.1"),
        ("kind == \"interaction\" && error_type == null", "ratio(signal.refusal)", "> 0.08"),
        ("kind == \"interaction\" && error_type == null", "percentile(latency_ms, 95)", "> 5000"),
        ("kind == \"interaction\"", "avg(output_tokens)", "> 4000"),
        ("kind == \"feedback\"", "wilson_lower(signal.negative_feedback)", "> 0.2"),
        ("kind == \"outcome\"", "wilson_lower(signal.escalated)", "> 0.12"),
        ("kind == \"interaction\"", "count()", "> 100000"),
        ("kind == \"interaction\" && has(signal.invalid_json)", "ratio(signal.invalid_json)", "> 0.1"),
    ];
    let mut text = String::from("group: bench\nrules:\n");
    let mut n = 0;
    for g in groupings {
        for (when, value, cond) in templates {
            n += 1;
            text.push_str(&format!(
                "  - name: r{n}\n    when: '{when}'\n    group_by: {g}\n    window: 15m\n    bin: 1m\n    value: '{value}'\n    condition: '{cond}'\n    min_events: 20\n"
            ));
        }
    }
    let (set, diags) = load_sources(&[("bench.yaml".into(), text)], &LoadOptions::default());
    assert!(diags.is_empty(), "{diags:?}");
    set
}

/// Generated traffic, with an account attribute spread over `keys` values. Event times are
/// compressed 40× so that the stream's density (≈ 45k events per second of event time)
/// matches the throughput measured: ticks — one per 10 s of event time, evaluating every
/// series — then weigh what they weigh in production at that rate.
pub fn events(n: usize, keys: usize) -> Vec<Event> {
    let start = 1_795_000_000_000;
    let mut s = Scenario::baseline(start, 6 * 3_600_000, 11);
    s.conversations_per_minute = 18_000.0;
    s.events()
        .take(n)
        .enumerate()
        .map(|(i, mut e)| {
            e.time_ms = start + (e.time_ms - start) / 40;
            e.attributes.push(("account".into(), Scalar::Str(format!("acct-{}", (i * 7919) % keys).into())));
            e
        })
        .collect()
}
