//! A local Lambda Runtime API serving one event: runs a Lambda binary (or any runtime client) as a
//! new process and measures it up to its first answer.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, Mutex};

/// What one cold invocation gave.
#[derive(Debug, Clone)]
pub struct ColdInvocation {
    /// From spawning the process to its answer.
    pub elapsed: Duration,
    /// Peak resident memory of the process, in kB (VmHWM).
    pub peak_rss_kb: u64,
    /// `response: <body>` or `error: <body>`; empty if it never answered.
    pub answer: String,
}

/// A Lambda-like process environment: only what Lambda itself sets (lambda_runtime refuses to
/// start without the function variables), none of this machine's, so a cold start here pays what
/// it pays on Lambda (e.g. no `SSL_CERT_DIR` making TLS set-up read every file in a folder).
pub fn lambda_command(program: impl AsRef<std::ffi::OsStr>, function: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local");
    cmd
}

/// The one event, and where the answer goes.
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

/// Starts `cmd` against a Runtime API that hands it `event`, waits for its first answer, then kills it.
pub async fn invoke_cold(mut cmd: Command, event: String) -> ColdInvocation {
    let (tx, mut rx) = mpsc::channel(1);
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
    ColdInvocation {
        elapsed,
        peak_rss_kb: rss,
        answer,
    }
}
