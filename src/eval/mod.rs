//! The engine: routes each event through signals, rule filters and windows, runs the alert
//! state machine, and emits [`Transition`]s.
//!
//! Invariant: pure — no IO, no clocks. Time comes in with the events and
//! [`Engine::advance_to`]; the same input always gives the same transitions.

mod alert;
mod engine;
mod groups;
mod lane;
mod parts;
mod series;
mod snapshot;
mod step;
mod transition;

pub use alert::{Phase, Step, Timing};
pub use engine::{ActiveAlert, Admission, Engine, EngineConfig, EngineStats, PartitionState};
pub use series::PartitionId;
pub use snapshot::{AlertRecord, AlertsSnapshot, LogChunks, PartitionChanges, PartitionHead, PartitionSnapshot, WindowRecord};
pub use transition::{AlertState, EXCERPT_CHARS, Sample, Transition, pack_sample};
