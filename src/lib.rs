//! llmwatch: watches LLM applications through many small micro metrics.
//!
//! The pipeline: [`event`] decodes one JSON event, [`signals`] derives per-event micro
//! metrics, [`rules`] loads rule files into compiled [`rules::Rule`]s whose expressions
//! ([`expr`]) read [`field::Record`]s, [`window`] keeps sliding-window aggregates, and
//! [`eval`] runs the alert state machine and emits [`eval::Transition`]s. None of these
//! modules does IO except `rules`, which reads the rule files it is given; the
//! command-line tools and the daemon live at the edges.

pub mod event;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod eval;
pub mod expr;
pub mod field;
pub mod notify;
pub mod rules;
pub mod signals;
pub mod output;
pub mod replay;
pub mod ruletest;
pub mod source;
pub mod store;
pub mod time;
pub mod window;
