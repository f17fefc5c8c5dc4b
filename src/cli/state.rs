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
    if !args.store.exists() {
        anyhow::bail!("no state store at {}", args.store.display());
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
    writeln!(out, "\noutbox: {} entries", r.outbox)?;
    Ok(ExitCode::SUCCESS)
}
