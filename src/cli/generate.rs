//! `llmwatch generate`: writes a realistic event stream, optionally with incidents, to try
//! rules on (`llmwatch replay`) or to use as a rule-test fixture.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use llmwatch::demo::{IncidentKind, Scenario, to_json};
use llmwatch::time::{Duration, parse_rfc3339};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output JSONL file (`-` for stdout; a `.gz` name is compressed).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// Start of the stream (RFC 3339).
    #[arg(long, default_value = "2026-11-27T12:00:00Z")]
    pub start: String,
    /// Length of the stream.
    #[arg(long, default_value = "3h", value_parser = parse_duration)]
    pub duration: Duration,
    /// New conversations per minute (each has 1–3 turns, feedback and an outcome), up to
    /// 100 000.
    #[arg(long, default_value_t = 40.0, value_parser = parse_rate)]
    pub rate: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// An incident: KIND[@MODEL]:FROM-TO with offsets from the start, e.g.
    /// `wrong_language@gpt-4o-mini:30m-75m`. Repeatable. Kinds: wrong_language, refusals,
    /// slow_latency, errors, rate_limits, truncation, empty_answers, invalid_json, pii_leak,
    /// thumbs_down, escalations, abandonment, cost_spike, rephrase_storm, flatline.
    #[arg(long)]
    pub incident: Vec<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    Duration::parse(s).map_err(|e| e.to_string())
}

/// A positive, finite rate: `inf` generated conversations forever before writing one.
pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 100_000.0 => Ok(r),
        _ => Err(format!("expected a number of conversations per minute above 0 and at most 100000, got {s:?}")),
    }
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let start = parse_rfc3339(&args.start).with_context(|| format!("--start {:?} is not RFC 3339", args.start))?;
    let mut scenario = Scenario::baseline(start, args.duration.as_millis(), args.seed);
    scenario.conversations_per_minute = args.rate;
    for spec in &args.incident {
        let (kind, model, from, to) = parse_incident(spec)?;
        // An incident that cannot happen is a mistake, not an empty stretch of the stream.
        if let Some(m) = &model
            && !scenario.models.iter().any(|p| &p.name == m)
        {
            let names: Vec<&str> = scenario.models.iter().map(|p| p.name.as_str()).collect();
            bail!("--incident {spec:?}: unknown model {m:?}; the stream's models are {}", names.join(", "));
        }
        if from >= args.duration {
            bail!("--incident {spec:?} starts at or after the end of the stream (--duration {})", args.duration);
        }
        scenario = scenario.with_incident(kind, model.as_deref(), start + from.as_millis(), start + to.as_millis());
    }
    let sink: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
        if args.out.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::best()))
        } else {
            Box::new(file)
        }
    };
    let mut out = BufWriter::new(sink);
    let mut n = 0u64;
    for e in scenario.events() {
        // Through a String, so a closed pipe (`| head`) surfaces as the io::Error main()
        // treats as success; serde_json's own error hides it.
        let line = to_json(&e).to_string();
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.into_inner().map_err(|e| e.into_error())?.flush()?;
    eprintln!("generated {n} events");
    Ok(ExitCode::SUCCESS)
}

fn parse_incident(spec: &str) -> anyhow::Result<(IncidentKind, Option<String>, Duration, Duration)> {
    let usage = || format!("invalid --incident {spec:?}: expected KIND[@MODEL]:FROM-TO, e.g. wrong_language@gpt-4o-mini:30m-75m");
    let (head, span) = spec.rsplit_once(':').with_context(usage)?;
    let (kind, model) = match head.split_once('@') {
        Some((k, m)) => (k, Some(m.to_string())),
        None => (head, None),
    };
    let Some(kind) = IncidentKind::from_name(kind) else {
        let names: Vec<&str> = IncidentKind::ALL.iter().map(|k| k.name()).collect();
        bail!("unknown incident kind {kind:?}; expected one of: {}", names.join(", "));
    };
    let (from, to) = span.split_once('-').with_context(usage)?;
    let from = Duration::parse(from).with_context(usage)?;
    let to = Duration::parse(to).with_context(usage)?;
    if to <= from {
        bail!("{}: the incident must end after it starts", usage());
    }
    Ok((kind, model, from, to))
}
