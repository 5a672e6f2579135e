//! Cold start of a step Lambda: new process → first answer, the Rust `check-capacity` binary
//! against the same step in Python with boto3, both behind a local Lambda Runtime API and
//! talking to moto. Prints figures; asserts nothing about time.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use preview_tasks::local::{local_ctx, Moto};
use preview_tasks::Config;
use tokio::sync::{mpsc, Mutex};

const RUNS: usize = 7;

struct Api {
    event: String,
    answered: mpsc::Sender<String>,
    served: Mutex<bool>,
}

async fn next(State(api): State<Arc<Api>>) -> (HeaderMap, String) {
    let mut served = api.served.lock().await;
    if *served {
        // A second poll means the function is idle: hold it until the process is killed.
        drop(served);
        std::future::pending::<()>().await;
        unreachable!();
    }
    *served = true;
    let mut headers = HeaderMap::new();
    headers.insert(
        "Lambda-Runtime-Aws-Request-Id",
        "req-1".parse().expect("header"),
    );
    headers.insert(
        "Lambda-Runtime-Deadline-Ms",
        (chrono::Utc::now().timestamp_millis() + 60_000)
            .to_string()
            .parse()
            .expect("header"),
    );
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:000000000000:function:bench"
            .parse()
            .expect("header"),
    );
    (headers, api.event.clone())
}

async fn respond(
    State(api): State<Arc<Api>>,
    Path((_id, kind)): Path<(String, String)>,
    body: String,
) -> &'static str {
    let _ = api.answered.send(format!("{kind}: {body}")).await;
    "{}"
}

/// One cold start: (time to the answer, peak RSS in kB, the answer).
async fn cold_start(mut cmd: Command, stack: &str, n: usize) -> (Duration, u64, String) {
    let (tx, mut rx) = mpsc::channel(1);
    let event = serde_json::json!({
        "preview_id": format!("dsp-b{n}-202611281930-{n:04x}"),
        "request": {"sources": [{"repo": "DSpace/DSpace", "pr": n}], "requester": "bench"},
        "execution": format!("arn:aws:states:us-east-1:000000000000:execution:sm:bench-{n}")
    })
    .to_string();
    let api = Arc::new(Api {
        event,
        answered: tx,
        served: Mutex::new(false),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(respond))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let started = Instant::now();
    let mut child = cmd
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("PREVIEW_STACK", stack)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let answer = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let elapsed = started.elapsed();
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    (elapsed, rss, answer)
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
    let python = preview_tasks::local::moto::venv_dir().join("bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/python_check_capacity.py");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
    ];
    let (mut rust, mut py, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..RUNS {
        for lang in ["rust", "python"] {
            let stack = format!("bench-{}-{lang}-{n}", std::process::id());
            local_ctx(&endpoint, &stack, Config::default())
                .await
                .expect("seed");
            let mut cmd = if lang == "rust" {
                Command::new(&binary)
            } else {
                Command::new(&python)
            };
            if lang == "python" {
                cmd.arg(&script);
            }
            cmd.envs(env);
            let (t, kb, answer) = cold_start(cmd, &stack, n + 1).await;
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
