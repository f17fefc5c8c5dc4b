//! Replay: a recorded stream through the engine, transitions out in event-time order.
//! Used by `llmwatch replay`, rule unit tests and the demo.

use std::io::BufRead;

use crate::eval::{Admission, Engine, EngineStats, Transition};
use crate::event::Decoder;
use crate::source::{BadInputSummary, JsonlEvents};
use crate::time::Millis;

/// What a replay read and did.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    pub lines_with_events: u64,
    pub bad: BadInputSummary,
    pub stats: EngineStats,
    pub first_event_ms: Option<Millis>,
    pub last_event_ms: Option<Millis>,
}

/// Feeds every event of a JSONL stream to `engine`, calling `on_transition` for each
/// transition as it happens, and `on_progress` every `progress_every` lines.
pub fn replay_jsonl<R: BufRead>(
    engine: &mut Engine,
    reader: R,
    decoder: Decoder,
    mut on_transition: impl FnMut(&Transition),
    mut on_progress: impl FnMut(&ReplayReport),
    progress_every: u64,
) -> std::io::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let mut out = Vec::new();
    for item in JsonlEvents::new(reader, decoder) {
        match item? {
            Ok(event) => {
                report.lines_with_events += 1;
                let t = event.time_ms;
                if engine.process(event, &mut out) == Admission::Accepted {
                    report.first_event_ms = Some(report.first_event_ms.map_or(t, |f| f.min(t)));
                    report.last_event_ms = Some(report.last_event_ms.map_or(t, |l| l.max(t)));
                }
                for tr in out.drain(..) {
                    on_transition(&tr);
                }
                if progress_every > 0 && report.lines_with_events % progress_every == 0 {
                    report.stats = engine.stats();
                    on_progress(&report);
                }
            }
            Err(bad) => report.bad.record(bad),
        }
    }
    report.stats = engine.stats();
    Ok(report)
}
