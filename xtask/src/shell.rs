//! Running commands with a visible heading, and the workspace's paths.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (xtask lives one level below it). `cargo run` sets CARGO_MANIFEST_DIR for
/// the running process too; that one wins over the compile-time path, because with a target dir
/// shared between checkouts cargo may run a binary that another checkout built.
pub fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest.join("..");
    root.canonicalize().unwrap_or(root)
}

/// Runs a command in the workspace root, failing with its description.
pub fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("==> {what}");
    // Commands that name their own folder (npm in tests/, cdk/) keep it.
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// True when a program is on PATH.
pub fn has(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo` as the outer cargo was invoked.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}
