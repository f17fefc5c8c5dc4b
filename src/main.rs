//! The `llmwatch` command. Thin: parses arguments, calls the library, maps errors to exit
//! codes (0 ok, 1 failures found, 2 usage or IO error; a closed stdout pipe is success).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
                return ExitCode::SUCCESS;
            }
            eprintln!("llmwatch: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
