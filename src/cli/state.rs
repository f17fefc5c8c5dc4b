//! `llmwatch state inspect --store PATH`: what the state store holds.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use llmwatch::store::Store;
use llmwatch::time::format_rfc3339;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Print partitions and offsets, windows per rule, active alerts and outbox depth.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The store directory (the config's `store.path`).
    #[arg(long)]
    pub store: PathBuf,
}

pub fn run(cmd: StateCommand) -> anyhow::Result<ExitCode> {
    let StateCommand::Inspect(args) = cmd;
    // Opening creates a store: a mistyped path must not become an empty one (sled even
    // overwrote a stray `conf` file there).
    if !(args.store.join("conf").is_file() && args.store.join("db").is_file()) {
        anyhow::bail!("no state store at {} (a store directory holds sled's `conf` and `db`)", args.store.display());
    }
    let store = Store::open(&args.store)?;
    let r = store.inspect()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "store {} (layout {}, {} bytes on disk)", args.store.display(), r.layout, r.bytes_on_disk)?;
    writeln!(out, "\npartitions: {}", r.partitions.len())?;
    for p in &r.partitions {
        let offset = p.next_offset.map_or("-".to_string(), |o| o.to_string());
        let clock = p.clock.map_or("-".to_string(), format_rfc3339);
        let total: usize = p.windows.iter().map(|(_, n)| n).sum();
        writeln!(out, "  {:<24} next offset {:<10} event time {}  {} windows, {} bytes", p.tp.to_string(), offset, clock, total, p.state_bytes)?;
        for (rule, n) in &p.windows {
            writeln!(out, "      {rule:<32} {n}")?;
        }
    }
    match &r.alerts {
        Some(a) => {
            let active: Vec<_> = a.alerts.iter().filter(|x| x.phase != llmwatch::eval::Phase::Inactive).collect();
            writeln!(out, "\nalerts: {} active (engine clock {})", active.len(), a.clock.map_or("-".to_string(), format_rfc3339))?;
            for x in active {
                writeln!(out, "  {:<32} {:<40} {:?}", x.rule, x.labels.join(","), x.phase)?;
            }
        }
        None => writeln!(out, "\nalerts: none recorded")?,
    }
    let outbox = llmwatch::notify::Outbox::new(store.tree().clone());
    let pending = outbox.pending()?;
    writeln!(out, "\noutbox: {} notification(s) undelivered", r.outbox)?;
    for e in &pending {
        let err = e.last_error.as_deref().map(|e| format!(", last error: {e}")).unwrap_or_default();
        writeln!(out, "  #{:<6} {:<20} {:<9} {} (attempts {}{err})", e.seq, e.receiver, e.notification.kind.as_str(), e.notification.alert_key(), e.attempts)?;
    }
    let log = outbox.log()?;
    writeln!(out, "\ndelivery log: {} record(s); newest:", log.len())?;
    for l in log.iter().rev().take(20) {
        let detail = l.detail.as_deref().unwrap_or("");
        writeln!(out, "  {} {:<20} {:<9} {:<9} {} {detail}", format_rfc3339(l.at_ms), l.receiver, format!("{:?}", l.fate).to_lowercase(), l.kind, l.alert)?;
    }
    if r.transition_log > 0 {
        writeln!(out, "\ntransitions not yet written to the --transitions file: {}", r.transition_log)?;
    }
    Ok(ExitCode::SUCCESS)
}
