//! The `llmwatch` command. Thin: parses arguments, calls the library, maps errors to exit
//! codes (0 ok, 1 failures found, 2 usage or IO error; a closed stdout pipe is success).

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: each event frees a dozen small strings, and
/// glibc malloc pays for them in `malloc_consolidate` at the next large allocation (a
/// window, a growing table); in the engine benchmark that was a quarter of the time, and
/// mimalloc roughly halves the time per event (docs/performance.md). The benchmarks wrap
/// the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
