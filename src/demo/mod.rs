//! The demo: a generated stream with a bad model update, played through the shipped rules.
//! Also the source of rule-test fixtures and benchmark input.

pub mod corpus;
pub mod generator;
pub mod score;
pub mod shipped;

pub use generator::{Incident, IncidentKind, ModelProfile, Rng, Scenario, to_json};
pub use shipped::{SHIPPED_RULES, shipped_rules};
