//! Developer commands: `cargo xtask run` (the whole service locally) and `cargo xtask test` (every test).
//!
//! Each installs what it needs first (virtualenv with moto, Debian and npm packages), idempotently.

mod crate_lines;
mod setup;
mod shell;
mod suite;
mod unused_deps;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

  run      run the whole service locally (emulated AWS, local Step Functions engine, web page)
  test     run every test (installs what is missing first)
  setup    only install what the other commands need
  bench    run the benchmarks and print their figures
  deps     fail on dependencies no member's code names, or that cross the crate lines (part of test)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => suite::run_local(&args[1..]),
        Some("test") => suite::test(&args[1..]),
        Some("setup") => setup::all(),
        Some("bench") => suite::bench(&args[1..]),
        Some("deps") => unused_deps::check().and_then(|()| crate_lines::check()),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
