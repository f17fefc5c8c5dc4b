//! `llmwatch silence add|list|expire`: mute notifications matching labels for a while.
//! Works while the daemon runs: silences live in a file the daemon re-reads.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use llmwatch::config::Config;
use llmwatch::time::wall_clock_ms;
use llmwatch::notify::silence::{Matcher, Silence, Silences, new_id};
use llmwatch::time::{Duration, format_rfc3339};

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Silence notifications whose labels match, for a while. Labels: rule, severity, the
    /// rule's group_by labels (model, tenant, …) and its static labels.
    Add(AddArgs),
    /// List silences (active and pending; --all adds expired ones).
    List(ListArgs),
    /// End a silence now.
    Expire(ExpireArgs),
}

/// Where the silences file is: the config's `[routing] silences`, or a path.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The daemon config; its `[routing] silences` path is used.
    #[arg(long, conflicts_with = "file")]
    pub config: Option<PathBuf>,
    /// The silences file itself.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

impl FileArgs {
    fn path(&self) -> anyhow::Result<PathBuf> {
        match (&self.config, &self.file) {
            (_, Some(f)) => Ok(f.clone()),
            (Some(c), None) => Ok(Config::load(c).map_err(|e| anyhow::anyhow!("{e}"))?.notify.silences),
            (None, None) => anyhow::bail!("say where the silences are: --config FILE or --file PATH"),
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Matchers: `rule=refusal_rate,model=gpt-4o` (also `label!=value`, `label=~regex`, `label!~regex`).
    #[arg(long = "match")]
    pub matchers: String,
    /// How long, e.g. 2h.
    #[arg(long = "for", value_parser = super::parse_duration)]
    pub duration: Duration,
    /// Why (shown in `silence list`).
    #[arg(long)]
    pub comment: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    #[command(flatten)]
    pub file: FileArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also list expired silences.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub file: FileArgs,
}

#[derive(Debug, Args)]
pub struct ExpireArgs {
    pub id: String,
    #[command(flatten)]
    pub file: FileArgs,
}

/// Expired silences are kept this long for `list --all`, then dropped from the file.
const KEEP_EXPIRED_MS: i64 = 7 * 24 * 3600 * 1000;

pub fn run(cmd: SilenceCommand) -> anyhow::Result<ExitCode> {
    let now = wall_clock_ms();
    match cmd {
        SilenceCommand::Add(a) => {
            if a.duration.as_millis() <= 0 {
                anyhow::bail!("--for must be positive");
            }
            let matchers = Matcher::parse_list(&a.matchers)?;
            let path = a.file.path()?;
            let author = a.author.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
            // A duration beyond the year 9999 once wrapped around into a silence that had
            // already ended.
            let ends_at = now
                .checked_add(a.duration.as_millis())
                .filter(|end| llmwatch::time::event_time_range().contains(end))
                .ok_or_else(|| anyhow::anyhow!("--for {} reaches beyond the year 9999", a.duration))?;
            let silence = Silence { id: new_id(), matchers, starts_at: now, ends_at, comment: a.comment, created_by: author };
            let (id, text, ends) = (silence.id.clone(), silence.matchers_text(), silence.ends_at);
            Silences::update(&path, |s| {
                s.prune(now, KEEP_EXPIRED_MS);
                s.silences.push(silence);
                Ok(())
            })?;
            println!("{id}");
            eprintln!("silenced {text} until {}", format_rfc3339(ends));
        }
        SilenceCommand::List(a) => {
            let s = Silences::load(&a.file.path()?)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<16}  {:<8}  {:<20}  {:<20}  {:<10}  {:<40}  comment", "id", "state", "starts", "ends", "by", "matchers")?;
            for x in s.silences.iter().filter(|x| a.all || x.ends_at > now) {
                let state = if x.is_active(now) { "active" } else if x.starts_at > now { "pending" } else { "expired" };
                writeln!(out, "{:<16}  {:<8}  {:<20}  {:<20}  {:<10}  {:<40}  {}", x.id, state, format_rfc3339(x.starts_at), format_rfc3339(x.ends_at), x.created_by, x.matchers_text(), x.comment)?;
            }
        }
        SilenceCommand::Expire(a) => {
            let path = a.file.path()?;
            Silences::update(&path, |s| s.expire(&a.id, now))?;
            eprintln!("expired {}", a.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
