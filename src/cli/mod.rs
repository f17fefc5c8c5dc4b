//! Command-line definitions (clap) and dispatch to one module per command.

mod check;
mod demo;
mod generate;
mod produce;
mod replay;
mod run;
mod silence;
mod state;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use llmwatch::eval::EngineConfig;
use llmwatch::time::Duration;

/// Watches LLM applications through many small micro metrics and sliding-window alerts.
#[derive(Debug, Parser)]
#[command(name = "llmwatch", version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded default: a simulated LLM app with a bad model update, watched by the
    /// shipped rules. No Kafka or network needed.
    Demo(demo::DemoArgs),
    /// Write a realistic generated event stream, optionally with incidents.
    Generate(generate::GenerateArgs),
    /// Load a recorded JSONL stream into a Kafka topic.
    Produce(produce::ProduceArgs),
    /// Replay a recorded JSONL stream through the rules and print alert transitions.
    Replay(replay::ReplayArgs),
    /// Run the daemon: consume events from Kafka, keep state in sled.
    Run(run::RunArgs),
    /// Validate a daemon config file.
    #[command(subcommand)]
    Config(run::ConfigCommand),
    /// Look into the daemon's state store.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Mute notifications matching labels for a while.
    #[command(subcommand)]
    Silence(silence::SilenceCommand),
    /// Validate and test rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files; print every problem as file:line:column: message.
    Check(check::CheckArgs),
    /// Run rule unit tests (see rules.md, "Rule unit tests").
    Test(test::TestArgs),
}

/// Engine settings shared by replay-like commands.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Take the engine settings ([engine]: lateness, tick, signals, dedup, samples, ...) from
    /// a daemon config, so a backtest computes what that daemon does.
    #[arg(long = "config", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Events older than the newest event minus this are late and dropped [default: 30s,
    /// or the config's].
    #[arg(long, value_parser = parse_duration)]
    pub lateness: Option<Duration>,
    /// Evaluation period (event time) for absent() and resolution without traffic
    /// [default: 10s, or the config's].
    #[arg(long, value_parser = parse_duration)]
    pub tick: Option<Duration>,
}

impl EngineArgs {
    /// The config file's `[engine]` (or the defaults), with the flags given on top.
    pub fn config(&self) -> anyhow::Result<EngineConfig> {
        let mut c = match &self.config_file {
            Some(path) => llmwatch::config::Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?.engine,
            None => EngineConfig::default(),
        };
        if let Some(l) = self.lateness {
            c.allowed_lateness = l;
        }
        if let Some(t) = self.tick {
            c.tick = t;
        }
        Ok(c)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Jsonl,
    Table,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    Duration::parse(s).map_err(|e| e.to_string())
}

pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        // Our debug only: the HTTP and Slack clients log request URLs at debug, and a
        // webhook URL is a secret.
        _ => "llmwatch=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal; logs in files stay greppable.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Produce(a) => produce::run(a),
        Command::Replay(a) => replay::run(a),
        Command::State(c) => state::run(c),
        Command::Run(a) => run::run(a),
        Command::Config(c) => run::check(c),
        Command::Silence(c) => silence::run(c),
        Command::Rules(RulesCommand::Check(a)) => check::run(a),
        Command::Rules(RulesCommand::Test(a)) => test::run(a),
    }
}

/// Default rules directory when none is given.
pub fn default_rules_dir() -> PathBuf {
    PathBuf::from("rules")
}
