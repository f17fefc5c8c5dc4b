//! Rule files: YAML → validated, compiled [`Rule`]s, with every problem reported as
//! `file:line:column: message` (rules.md).
//!
//! Invariant: loading does no evaluation and keeps no per-event state; a [`RuleSet`] is
//! immutable once built, so the engine can share it and a reload can swap it whole.

mod aggregation;
mod diagnostic;
mod load;
pub(crate) mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use aggregation::Aggregation;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use load::{LoadOptions, load_files, load_sources, load_str, rule_files_in};

use crate::expr::Expr;
use crate::field::Field;
use crate::signals::SignalSet;
use crate::time::Duration;
use crate::window::WindowSpec;

/// How urgent an alert is; also the key of the default route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Page,
    Ticket,
    Info,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "page" => Some(Severity::Page),
            "ticket" => Some(Severity::Ticket),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
            Severity::Info => "info",
        }
    }
}

/// Maturity stage of a rule pack: crawl, walk, run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Crawl,
    Walk,
    Run,
}

impl Stage {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "crawl" => Some(Stage::Crawl),
            "walk" => Some(Stage::Walk),
            "run" => Some(Stage::Run),
            _ => None,
        }
    }
}

/// A comparison operator of `condition:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// `condition: "> 0.2"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub op: CmpOp,
    pub threshold: f64,
}

impl Condition {
    pub fn holds(&self, value: f64) -> bool {
        match self.op {
            CmpOp::Gt => value > self.threshold,
            CmpOp::Ge => value >= self.threshold,
            CmpOp::Lt => value < self.threshold,
            CmpOp::Le => value <= self.threshold,
            CmpOp::Eq => value == self.threshold,
            CmpOp::Ne => value != self.threshold,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.threshold)
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub group: String,
    pub description: Option<String>,
    pub business_value: Option<String>,
    pub stage: Option<Stage>,
    pub severity: Severity,
    /// Which events count; `None` = every event.
    pub when: Option<Expr>,
    pub when_src: Option<String>,
    pub group_by: Vec<Field>,
    /// The label names of `group_by`, in order.
    pub group_labels: Vec<String>,
    pub value: Aggregation,
    pub window: WindowSpec,
    pub condition: Condition,
    pub min_events: u64,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub repeat_interval: Option<Duration>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub notify: Vec<String>,
    /// Where the rule was defined.
    pub file: PathBuf,
    pub line: usize,
}

impl Rule {
    /// The signals this rule reads (in `when`, `group_by` or `value`).
    pub fn signals(&self) -> SignalSet {
        let mut set = self.when.as_ref().map_or(SignalSet::EMPTY, |w| w.signals());
        set = set.union(self.value.signals());
        for f in &self.group_by {
            if let Field::Signal(s) = f {
                set.insert(*s);
            }
        }
        set
    }

    pub fn window_duration(&self) -> Duration {
        Duration(self.window.window_ms)
    }
}

/// Every loaded rule, in file then definition order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Group name → file it came from.
    pub groups: Vec<(String, PathBuf)>,
}

impl RuleSet {
    /// The union of the signals every rule reads: only these are computed.
    pub fn signals(&self) -> SignalSet {
        self.rules.iter().fold(SignalSet::EMPTY, |acc, r| acc.union(r.signals()))
    }

    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The longest window (twice the window for `change`), for rebuilding state by replay.
    pub fn longest_lookback(&self) -> Duration {
        Duration(
            self.rules
                .iter()
                .map(|r| r.window.window_ms * if r.value.is_change() { 2 } else { 1 })
                .max()
                .unwrap_or(0),
        )
    }
}
