//! The demo: a generated stream with a bad model update, played through the shipped rules.
//! Also the source of rule-test fixtures and benchmark input.

pub mod corpus;
pub mod generator;
pub mod score;
pub mod shipped;

pub use generator::{Incident, IncidentKind, ModelProfile, Rng, Scenario, to_json};
pub use shipped::{SHIPPED_RULES, shipped_rules};

/// The receivers and routing of the demo (see `receivers.toml`).
pub fn demo_notify_config() -> crate::notify::NotifyConfig {
    let table: toml::Table = include_str!("receivers.toml").parse().expect("embedded TOML");
    let mut c = crate::config::Checker::default();
    let n = crate::notify::NotifyConfig::decode(&table, &mut c, std::path::Path::new("."));
    assert!(c.errors.is_empty(), "embedded receivers: {:?}", c.errors);
    n
}
