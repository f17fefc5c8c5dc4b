//! `llmwatch rules test FILE...`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use llmwatch::ruletest::{parse_test_file, run_test_file};

use super::EngineArgs;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Rule test files (YAML with rule_files and tests).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let config = args.engine.config()?;
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0u32, 0u32);
    for path in &args.files {
        writeln!(out, "{}", path.display())?;
        let file = match parse_test_file(path) {
            Ok(f) => f,
            Err(diags) => {
                for d in diags {
                    writeln!(out, "  ERROR {d}")?;
                }
                failed += 1;
                continue;
            }
        };
        match run_test_file(&file, &config) {
            Ok(results) => {
                for r in results {
                    if r.passed() {
                        passed += 1;
                        writeln!(out, "  PASS  {}", r.name)?;
                    } else {
                        failed += 1;
                        writeln!(out, "  FAIL  {}", r.name)?;
                        for f in &r.failures {
                            for line in f.lines() {
                                writeln!(out, "        {line}")?;
                            }
                        }
                    }
                }
            }
            Err(diags) => {
                for d in diags {
                    writeln!(out, "  ERROR {d}")?;
                }
                failed += 1;
            }
        }
    }
    writeln!(out, "rules: {passed} passed, {failed} failed")?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
