//! `llmwatch rules check [PATH...]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use llmwatch::rules::{LoadOptions, load_files};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files or directories (default: rules/).
    pub paths: Vec<PathBuf>,
    /// A daemon config: `notify:` entries must then name its receivers.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Only print problems, not the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() { vec![super::default_rules_dir()] } else { args.paths };
    let mut opts = LoadOptions::default();
    if let Some(c) = &args.config {
        let config = llmwatch::config::Config::load(c).map_err(|e| anyhow::anyhow!("{e}"))?;
        opts.receivers = Some(config.notify.receiver_names().into_iter().collect());
    }
    let (set, diags) = load_files(&paths, &opts);
    let mut out = std::io::stdout().lock();
    for d in &diags {
        writeln!(out, "{d}")?;
    }
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        if diags.is_empty() {
            writeln!(err, "ok: {} rule(s) in {} file(s)", set.rules.len(), set.groups.len())?;
        } else {
            writeln!(err, "{} problem(s); {} rule(s) in {} valid file(s)", diags.len(), set.rules.len(), set.groups.len())?;
        }
    }
    Ok(if diags.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
