//! Where events come from: recorded JSONL files (replay, rule tests) and, in the daemon,
//! Kafka. Sources turn bytes into decoded events and account for every bad input.

pub mod jsonl;

pub use jsonl::{BadInput, BadInputSummary, JsonlEvents, open_events};
