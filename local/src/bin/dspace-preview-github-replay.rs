//! Serves the recorded GitHub (pull requests, branches, permissions, comments, deployments and
//! the OAuth sign-in) as GitHub's REST API and github.com, for the local run (point
//! `PREVIEW_GITHUB_API` at it).
//!
//! `dspace-preview-github-replay [--fixtures DIR] [--addr HOST:PORT]`, or the environment
//! variables `PREVIEW_GITHUB_REPLAY_FIXTURES` (default `web/fixtures/github`, else the crate's
//! own copy) and `PREVIEW_GITHUB_REPLAY_ADDR` (default `127.0.0.1:8084`). The OAuth app it
//! accepts is `PREVIEW_GITHUB_REPLAY_CLIENT_ID` / `PREVIEW_GITHUB_REPLAY_CLIENT_SECRET` (default
//! `Iv1.replay-client` / `replay-client-secret`); its sign-in page suggests
//! `PREVIEW_GITHUB_REPLAY_LOGIN` (default `octo-reviewer`). `GET /_replay/requests` lists the
//! requests it answered.

use std::path::PathBuf;
use std::process::ExitCode;

use preview_local::github_replay::Options;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dspace-preview-github-replay: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> Result<(), String> {
    preview_tasks::lambda::init_tracing();
    let (mut fixtures, mut addr) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixtures" => fixtures = args.next().map(PathBuf::from),
            "--addr" => addr = args.next(),
            "-h" | "--help" => {
                println!("usage: dspace-preview-github-replay [--fixtures DIR] [--addr HOST:PORT]");
                return Ok(());
            }
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let fixtures = fixtures
        .or_else(|| env("PREVIEW_GITHUB_REPLAY_FIXTURES").map(PathBuf::from))
        .unwrap_or_else(|| {
            // From the workspace root (as the run command starts it), else wherever the crate is.
            let relative = PathBuf::from("web/fixtures/github");
            if relative.is_dir() {
                relative
            } else {
                PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../web/fixtures/github"
                ))
            }
        });
    let addr = addr
        .or_else(|| env("PREVIEW_GITHUB_REPLAY_ADDR"))
        .unwrap_or_else(|| "127.0.0.1:8084".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let defaults = Options::default();
    let options = Options {
        client_id: env("PREVIEW_GITHUB_REPLAY_CLIENT_ID").unwrap_or(defaults.client_id),
        client_secret: env("PREVIEW_GITHUB_REPLAY_CLIENT_SECRET").unwrap_or(defaults.client_secret),
        default_login: env("PREVIEW_GITHUB_REPLAY_LOGIN").unwrap_or(defaults.default_login),
    };
    tracing::info!(%addr, fixtures = %fixtures.display(), client_id = %options.client_id, "replaying recorded GitHub responses");
    preview_local::github_replay::serve_with(fixtures, options, listener)
        .await
        .map_err(|e| e.to_string())
}
