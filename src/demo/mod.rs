//! The demo: a generated stream with a bad model update, played through the shipped rules.
//! Also the source of rule-test fixtures and benchmark input.

pub mod corpus;
pub mod generator;

pub use generator::{Incident, IncidentKind, ModelProfile, Rng, Scenario, to_json};
