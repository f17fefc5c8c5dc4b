//! `llmwatch run --config FILE` and `llmwatch config check FILE`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand};

use llmwatch::config::Config;
use llmwatch::daemon::{RunOptions, run as run_daemon};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The daemon config (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// Append every alert transition to this JSONL file (exactly once, even across crashes).
    #[arg(long)]
    pub transitions: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file; every problem is printed with its key path.
    Check { file: PathBuf },
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, shutdown.clone())?;
    }
    run_daemon(config, RunOptions { transitions: args.transitions }, shutdown)?;
    Ok(ExitCode::SUCCESS)
}

pub fn check(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check { file } = cmd;
    match Config::load(&file) {
        Ok(config) => {
            // The rules the config names must load, and name only its receivers.
            let opts = llmwatch::rules::LoadOptions { receivers: Some(config.notify.receiver_names().into_iter().collect()) };
            let (set, diags) = llmwatch::rules::load_files(&config.rules, &opts);
            for d in &diags {
                println!("{d}");
            }
            if !diags.is_empty() {
                return Ok(ExitCode::from(1));
            }
            if let Err(e) = llmwatch::daemon::check_kafka_settings(&config) {
                println!("{}: [kafka]: {e}", file.display());
                return Ok(ExitCode::from(1));
            }
            eprintln!("ok: {} ({} rules, {} receivers)", file.display(), set.rules.len(), config.notify.receivers.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            println!("{errors}");
            Ok(ExitCode::from(1))
        }
    }
}
