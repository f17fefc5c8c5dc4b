//! The engine: routes each event through signals, rule filters and windows, runs the alert
//! state machine, and emits [`Transition`]s. Pure: no IO, no clocks — time comes in with
//! the events and ticks.

mod transition;

pub use transition::{AlertState, Transition};
