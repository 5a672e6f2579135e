//! `sfn-local FILE.asl.json [--port N] [--dir DIR] [--name NAME] [--sub KEY=VALUE ...]`: serves
//! one ASL file on 127.0.0.1 for trying the API with the AWS CLI. Every task fails with a clear
//! message: the project wires its real Lambda handlers elsewhere.

use futures::future::BoxFuture;
use futures::FutureExt;
use preview_statemachine::{serve, Engine, SystemClock, TaskFailure, TaskInvoker};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

struct NoLambdas;

impl TaskInvoker for NoLambdas {
    fn invoke(
        &self,
        function: &str,
        _payload: Value,
    ) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let msg = format!(
            "sfn-local has no Lambda functions: '{function}' was not invoked (embed the engine with a real TaskInvoker)"
        );
        async move { Err(TaskFailure::new("SfnLocal.NoInvoker", msg)) }.boxed()
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: sfn-local FILE.asl.json [--port N] [--dir DIR] [--name NAME] [--sub KEY=VALUE ...]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut port = 8083u16;
    let mut dir = std::env::temp_dir().join("sfn-local");
    let mut name = None;
    let mut subs = HashMap::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--dir" => dir = args.next().map(Into::into).unwrap_or_else(|| usage()),
            "--name" => name = Some(args.next().unwrap_or_else(|| usage())),
            "--sub" => {
                let kv = args.next().unwrap_or_else(|| usage());
                let (k, v) = kv.split_once('=').unwrap_or_else(|| usage());
                subs.insert(k.to_string(), v.to_string());
            }
            _ if file.is_none() => file = Some(a),
            _ => usage(),
        }
    }
    let file = file.unwrap_or_else(|| usage());
    let definition = match std::fs::read_to_string(&file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("sfn-local: cannot read {file}: {e}");
            std::process::exit(1)
        }
    };
    let engine = match Engine::open(&dir, Arc::new(SystemClock), Arc::new(NoLambdas), subs).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sfn-local: cannot open {}: {e}", dir.display());
            std::process::exit(1)
        }
    };
    let name = name.unwrap_or_else(|| "local".to_string());
    match engine.create_state_machine(&name, &definition) {
        Ok(arn) => println!("state machine: {arn}"),
        Err(e) => {
            eprintln!("sfn-local: {e}");
            std::process::exit(1)
        }
    }
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sfn-local: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        }
    };
    println!("endpoint: http://127.0.0.1:{port} (AWS_ENDPOINT_URL_SFN)");
    if let Err(e) = serve(engine, listener).await {
        eprintln!("sfn-local: {e}");
        std::process::exit(1)
    }
}
