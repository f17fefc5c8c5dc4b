//! `llmwatch replay --rules DIR --events FILE [--output jsonl|table]`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use llmwatch::event::Decoder;
use llmwatch::output::{TABLE_HEADER, table_row, transition_json};
use llmwatch::replay::replay_jsonl;
use llmwatch::rules::{LoadOptions, load_files};
use llmwatch::eval::{ActiveAlert, Transition};
use llmwatch::time::{Duration, Millis, format_rfc3339, parse_rfc3339};

use super::{EngineArgs, OutputFormat};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Rule files or directories.
    #[arg(long, required = true, num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// The recorded events, one JSON object per line (`-` for stdin; `.gz` is decompressed).
    #[arg(long)]
    pub events: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub output: OutputFormat,
    /// Add evidence to each JSONL line: sample event ids, first firing time, reminders.
    #[arg(long)]
    pub evidence: bool,
    /// Largest accepted line, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_event_bytes: usize,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// After the last event, let event time run on to this instant (RFC 3339) or for this
    /// long after the last event (`+2h`), as a daemon's clock would: alerts resolve and
    /// `absent()` fires without traffic. Without it the replay stops at the last event.
    #[arg(long, value_parser = parse_until, value_name = "TIME|+DURATION")]
    pub until: Option<Until>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Where `--until` ends a replay.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    At(Millis),
    AfterLast(Duration),
}

fn parse_until(s: &str) -> Result<Until, String> {
    match s.strip_prefix('+') {
        Some(d) => Duration::parse(d).map(Until::AfterLast).map_err(|e| e.to_string()),
        None => parse_rfc3339(s).map(Until::At).ok_or_else(|| format!("`{s}` is neither an RFC 3339 time nor `+DURATION` (e.g. +2h)")),
    }
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let (rules, diags) = load_files(&args.rules, &LoadOptions::default());
    if !diags.is_empty() {
        for d in &diags {
            eprintln!("{d}");
        }
        anyhow::bail!("{} problem(s) in the rule files; fix them or check with `llmwatch rules check`", diags.len());
    }
    let reader = llmwatch::source::open_events(&args.events).with_context(|| format!("cannot open {}", args.events.display()))?;
    let mut engine = llmwatch::eval::Engine::new(Arc::new(rules), args.engine.config()?);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.output == OutputFormat::Table {
        writeln!(out, "{TABLE_HEADER}")?;
    }
    let started = Instant::now();
    let mut write_error = None;
    let quiet = args.quiet;
    let mut write = |t: &Transition| {
        if write_error.is_some() {
            return;
        }
        let r = match args.output {
            OutputFormat::Jsonl => writeln!(out, "{}", transition_json(t, args.evidence)),
            OutputFormat::Table => writeln!(out, "{}", table_row(t)),
        };
        if let Err(e) = r {
            write_error = Some(e);
        }
    };
    let mut report = replay_jsonl(
        &mut engine,
        reader,
        Decoder::new(args.max_event_bytes),
        &mut write,
        |p| {
            if !quiet {
                eprint!("\r{} events, {} transitions, at {}   ", p.lines_with_events, p.stats.transitions, p.last_event_ms.map(format_rfc3339).unwrap_or_default());
            }
        },
        100_000,
    )
    .with_context(|| format!("cannot read {}", args.events.display()))?;
    let end = match (args.until, report.last_event_ms) {
        (Some(Until::At(t)), _) => Some(t),
        (Some(Until::AfterLast(d)), Some(last)) => Some(last.saturating_add(d.as_millis())),
        _ => None,
    };
    if let Some(end) = end {
        let mut tail = Vec::new();
        engine.advance_to(end, &mut tail);
        tail.iter().for_each(&mut write);
        report.stats = engine.stats();
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    // Bad lines are reported even with -q: quiet means no progress, not unreported input.
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        let s = report.stats;
        eprintln!(
            "\rreplayed {} events in {:.1}s ({:.0}/s): {} transitions, {} duplicates, {} late; {}",
            report.lines_with_events,
            secs,
            report.lines_with_events as f64 / secs.max(1e-9),
            s.transitions,
            s.duplicates,
            s.late,
            report.bad.describe()
        );
    } else if !report.bad.counts.is_empty() {
        eprintln!("{}", report.bad.describe());
    }
    for bad in &report.bad.examples {
        eprintln!("  line {}: {} — {}", bad.line, bad.error, bad.excerpt);
    }
    if !args.quiet {
        report_open_alerts(&engine.active_alerts(), end.or(report.last_event_ms));
    }
    Ok(ExitCode::SUCCESS)
}

/// The alerts a replay leaves pending or firing: its output ends without their resolution,
/// which a reader of the transitions alone could not tell from a resolution never needed.
fn report_open_alerts(open: &[ActiveAlert], at: Option<Millis>) {
    const SHOWN: usize = 10;
    if open.is_empty() {
        return;
    }
    let at = at.map(|t| format!(" at {}", format_rfc3339(t))).unwrap_or_default();
    eprintln!("{} alert(s) still pending or firing{at} (`--until` lets time run on):", open.len());
    for a in open.iter().take(SHOWN) {
        let group: Vec<String> = a.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("  {} {{{}}} {} since {}", a.rule, group.join(", "), a.state.as_str(), format_rfc3339(a.since_ms));
    }
    if open.len() > SHOWN {
        eprintln!("  … and {} more", open.len() - SHOWN);
    }
}
