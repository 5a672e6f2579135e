//! Cold start of a step Lambda: new process → first answer, the Rust `check-capacity` binary
//! against the same step in Python with boto3, both behind a local Lambda Runtime API and
//! talking to moto. Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use std::path::PathBuf;
use std::time::Duration;

use preview_e2e::runtime_api::{invoke_cold, lambda_command};
use preview_local::{local_ctx, Moto};
use preview_tasks::Config;

const RUNS: usize = 7;

/// The capacity step's input for run `n`.
fn event(n: usize) -> String {
    serde_json::json!({
        "preview_id": format!("dsp-b{n}-202611281930-{n:04x}"),
        "request": {"sources": [{"repo": "DSpace/DSpace", "pr": n}], "requester": "bench"},
        "execution": format!("arn:aws:states:us-east-1:000000000000:execution:sm:bench-{n}")
    })
    .to_string()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("target"));
    let binary = std::env::var("PREVIEW_BENCH_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| target.join("release/check-capacity"));
    if !binary.exists() {
        eprintln!("cold_start: {} missing; build it with `cargo build --release -p preview-tasks --bin check-capacity` (cargo xtask bench does)", binary.display());
        std::process::exit(1);
    }
    let endpoint = Moto::shared_endpoint().expect("moto");
    let python = preview_local::moto::venv_dir().join("bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/python_check_capacity.py");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    let (mut rust, mut py, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..RUNS {
        for lang in ["rust", "python"] {
            let stack = format!("bench-{}-{lang}-{n}", std::process::id());
            local_ctx(&endpoint, &stack, Config::default())
                .await
                .expect("seed");
            let mut cmd = if lang == "rust" {
                lambda_command(&binary, "check-capacity")
            } else {
                lambda_command(&python, "check-capacity")
            };
            if lang == "python" {
                cmd.arg(&script);
            }
            cmd.envs(env);
            cmd.env("PREVIEW_STACK", &stack);
            let run = invoke_cold(cmd, event(n + 1)).await;
            let (t, kb, answer) = (run.elapsed, run.peak_rss_kb, run.answer);
            assert!(
                answer.starts_with("response") && answer.contains("\"slot\""),
                "{lang} answered {answer:?}"
            );
            if lang == "rust" {
                rust.push(t);
                rss.push(kb);
            } else {
                py.push(t);
            }
        }
    }
    let (r, p) = (median(rust), median(py));
    let size = std::fs::read(&binary).map(|b| deflated(&b)).unwrap_or(0);
    println!("cold start, new process → first answer against moto ({RUNS} runs, median):");
    println!(
        "  rust check-capacity   {:>8.1} ms   peak RSS {:.1} MB",
        r.as_secs_f64() * 1e3,
        *rss.iter().max().unwrap_or(&0) as f64 / 1024.0
    );
    println!("  python + boto3        {:>8.1} ms", p.as_secs_f64() * 1e3);
    println!(
        "  ratio                 {:>8.1}× faster (target ≥ 20×)",
        p.as_secs_f64() / r.as_secs_f64()
    );
    println!(
        "  binary deflated       {:>8.2} MB (x86_64 host build; target zip ≤ 6 MB)",
        size as f64 / 1048576.0
    );
}

fn deflated(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = enc.write_all(bytes);
    enc.finish().map(|v| v.len()).unwrap_or(0)
}
